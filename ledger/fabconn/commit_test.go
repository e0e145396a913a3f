package fabconn

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// committing is a Fabric Gateway service that knows the commit status of
// some transactions and, like a peer, holds the request of any other
// until it commits (here: until the caller gives up). It checks each
// request's signature against the identity in it, as the peer's access
// check does.
type committing struct {
	gateway.UnimplementedGatewayServer
	status map[string]*gateway.CommitStatusResponse
}

func (g *committing) CommitStatus(ctx context.Context, in *gateway.SignedCommitStatusRequest) (*gateway.CommitStatusResponse, error) {
	var req gateway.CommitStatusRequest
	var id msp.SerializedIdentity
	if proto.Unmarshal(in.GetRequest(), &req) != nil || proto.Unmarshal(req.GetIdentity(), &id) != nil {
		return nil, status.Error(codes.InvalidArgument, "malformed request")
	}
	block, _ := pem.Decode(id.GetIdBytes())
	if block == nil {
		return nil, status.Error(codes.PermissionDenied, "no certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, status.Error(codes.PermissionDenied, "bad certificate")
	}
	digest := sha256.Sum256(in.GetRequest())
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || !ecdsa.VerifyASN1(pub, digest[:], in.GetSignature()) {
		return nil, status.Error(codes.PermissionDenied, "signature does not verify")
	}
	if req.GetChannelId() != "quanchain" || id.GetMspid() != "AuditMSP" {
		return nil, status.Errorf(codes.PermissionDenied, "channel %q, MSP %q", req.GetChannelId(), id.GetMspid())
	}
	if st, ok := g.status[req.GetTransactionId()]; ok {
		return st, nil
	}
	<-ctx.Done()
	return nil, status.FromContextError(ctx.Err()).Err()
}

// TestWaitForCommit: the status of a transaction the connection did not
// submit, asked with a request signed by the connection's identity: a
// valid commit gives its block, an invalid one a *client.CommitError with
// its code, one not committed waits until the context ends.
func TestWaitForCommit(t *testing.T) {
	conn := connect(t, &committing{status: map[string]*gateway.CommitStatusResponse{
		"tx-valid":    {Result: peer.TxValidationCode_VALID, BlockNumber: 7},
		"tx-conflict": {Result: peer.TxValidationCode_MVCC_READ_CONFLICT, BlockNumber: 8},
	}})
	ctx := t.Context()
	if block, err := conn.WaitForCommit(ctx, "tx-valid"); err != nil || block != 7 {
		t.Fatalf("valid: block %d, %v", block, err)
	}
	_, err := conn.WaitForCommit(ctx, "tx-conflict")
	var ce *client.CommitError
	if !errors.As(err, &ce) || ce.TransactionID != "tx-conflict" || ce.Code != peer.TxValidationCode_MVCC_READ_CONFLICT {
		t.Fatalf("invalid: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = conn.WaitForCommit(wctx, "tx-pending")
	if status.Code(err) != codes.DeadlineExceeded && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("not committed: %v", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 5*time.Second {
		t.Fatalf("not committed: gave up after %s, want the context's 200ms", d)
	}
}
