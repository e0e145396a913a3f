package ledger

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/quanchain/quanchain/chaincode/model"
)

// statusErr builds a gRPC status error with per-peer error details, as the
// Fabric Gateway returns them.
func statusErr(t *testing.T, c codes.Code, msg string, details ...string) error {
	t.Helper()
	st := status.New(c, msg)
	for _, d := range details {
		var err error
		st, err = st.WithDetails(&gateway.ErrorDetail{Address: "peer0.bank:7051", MspId: "BankMSP", Message: d})
		if err != nil {
			t.Fatal(err)
		}
	}
	return st.Err()
}

func TestMapError(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		code        model.Code
		msg, tx     string
		unavailable bool
	}{
		{name: "code in text",
			err:  errors.New("rpc error: code = Unknown desc = evaluate call to endorser returned error: chaincode response 500, AUTH_NOT_FOUND: authorisation a-1 not found"),
			code: model.CodeAuthNotFound, msg: "authorisation a-1 not found"},
		{name: "code in details only",
			err:  statusErr(t, codes.Aborted, "failed to endorse transaction, see attached details for more info", "chaincode response 500, FORBIDDEN_MSP: InsurerMSP did not request authorisation a-1"),
			code: model.CodeForbiddenMSP, msg: "InsurerMSP did not request authorisation a-1"},
		{name: "second detail carries the code",
			err:  statusErr(t, codes.Aborted, "failed", "connection refused", "chaincode response 500, PURPOSE_LIMIT_EXCEEDED: max_uses 9 is over 3"),
			code: model.CodePurposeLimitExceeded, msg: "max_uses 9 is over 3"},
		{name: "unknown code is not a chaincode error",
			err:  errors.New("FOO_BAR: something"),
			code: model.CodeInternal},
		{name: "commit MVCC conflict",
			err:  &client.CommitError{TransactionID: "tx-9", Code: peer.TxValidationCode_MVCC_READ_CONFLICT},
			code: CodeTxConflict, tx: "tx-9"},
		{name: "commit phantom read",
			err:  fmt.Errorf("wrapped: %w", &client.CommitError{TransactionID: "tx-8", Code: peer.TxValidationCode_PHANTOM_READ_CONFLICT}),
			code: CodeTxConflict, tx: "tx-8"},
		{name: "commit other invalid",
			err:  &client.CommitError{TransactionID: "tx-7", Code: peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE},
			code: CodeTxInvalid, tx: "tx-7"},
		{name: "endorsers answered from different states",
			err:  statusErr(t, codes.Aborted, "failed to collect enough transaction endorsements, see attached details for more info", "ProposalResponsePayloads do not match"),
			code: CodeTxConflict},
		{name: "peer unreachable", err: statusErr(t, codes.Unavailable, "connection refused"),
			code: CodeUnavailable, unavailable: true},
		{name: "gRPC deadline", err: statusErr(t, codes.DeadlineExceeded, "deadline"),
			code: CodeUnavailable, unavailable: true},
		{name: "context deadline", err: fmt.Errorf("x: %w", context.DeadlineExceeded),
			code: CodeUnavailable, unavailable: true},
		{name: "anything else", err: errors.New("boom"), code: model.CodeInternal},
		{name: "permission denied status without code", err: statusErr(t, codes.PermissionDenied, "access denied"),
			code: model.CodeInternal},
		{name: "qscc unknown block, in another peer's detail",
			err:  statusErr(t, codes.Unknown, "evaluate call to endorser returned error", "chaincode response 500, Failed to get block number 9, error no such block number [9] in index"),
			code: CodeBlockNotFound, msg: "consent:Test: the peer holds no such block"},
		{name: "qscc unknown transaction, in the text",
			err:  errors.New("chaincode response 500, Failed to get transaction with id x, error no such transaction ID [x] in index"),
			code: CodeTxNotFound, msg: "consent:Test: the peer holds no such transaction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := MapError("consent:Test", tt.err)
			var le *Error
			if !errors.As(err, &le) {
				t.Fatalf("not a *ledger.Error: %T", err)
			}
			if le.Code != tt.code {
				t.Errorf("code = %s, want %s (%v)", le.Code, tt.code, err)
			}
			if tt.msg != "" && le.Message != tt.msg {
				t.Errorf("message = %q, want %q", le.Message, tt.msg)
			}
			if le.TxID != tt.tx {
				t.Errorf("tx = %q, want %q", le.TxID, tt.tx)
			}
			if errors.Is(err, ErrUnavailable) != tt.unavailable {
				t.Errorf("errors.Is(ErrUnavailable) = %v", !tt.unavailable)
			}
			if !errors.Is(err, tt.err) {
				t.Error("the fabric-gateway error must stay in the chain")
			}
			if tt.code.Known() && !errors.Is(err, &model.Error{Code: tt.code}) {
				t.Errorf("errors.Is(&model.Error{%s}) = false", tt.code)
			}
		})
	}
	if MapError("x", nil) != nil {
		t.Error("nil must map to nil")
	}
}

func TestErrorDetailsAndNotFound(t *testing.T) {
	err := MapError("qscc GetChainInfo on BankMSP's peer",
		statusErr(t, codes.Unknown, "evaluate call to endorser returned error", "access denied: channel [quanchain] creator org unknown"))
	var le *Error
	if !errors.As(err, &le) || le.Code != model.CodeInternal || le.NotFound() {
		t.Fatalf("err %v", err)
	}
	if len(le.Details) != 1 || le.Details[0] != "BankMSP (peer0.bank:7051): access denied: channel [quanchain] creator org unknown" {
		t.Errorf("details %q", le.Details)
	}
	if MapError("again", err) != err {
		t.Error("an *Error must map to itself")
	}
	for code, want := range map[model.Code]bool{model.CodeAuthNotFound: true, CodeBlockNotFound: true, CodeTxNotFound: true,
		model.CodeAuthRevoked: false, CodeUnavailable: false} {
		if got := (&Error{Code: code}).NotFound(); got != want {
			t.Errorf("%s: NotFound %v", code, got)
		}
	}
}

// fakeGateway is an in-process Fabric Gateway service that refuses every
// call, so the client produces its real error types.
type fakeGateway struct {
	gateway.UnimplementedGatewayServer
	endorseErr, evaluateErr error
	lastTxID                string
}

func (f *fakeGateway) Endorse(_ context.Context, in *gateway.EndorseRequest) (*gateway.EndorseResponse, error) {
	f.lastTxID = in.GetTransactionId()
	return nil, f.endorseErr
}

func (f *fakeGateway) Evaluate(context.Context, *gateway.EvaluateRequest) (*gateway.EvaluateResponse, error) {
	return nil, f.evaluateErr
}

// dialFake serves f over an in-memory listener and returns a Ledger
// connected to it through the real fabric-gateway client.
func dialFake(t *testing.T, f *fakeGateway) *Ledger {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	gateway.RegisterGatewayServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "User1@bank"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	id, err := identity.NewX509Identity("BankMSP", cert)
	if err != nil {
		t.Fatal(err)
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := client.Connect(id, client.WithSign(sign), client.WithClientConnection(cc))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gw.Close() })
	nw := gw.GetNetwork("quanchain")
	return New(nw.GetContract("quanchain"), nw, "quanchain", "BureauMSP")
}

func TestErrorsFromRealClient(t *testing.T) {
	f := &fakeGateway{
		endorseErr: statusErr(t, codes.Aborted, "failed to endorse transaction, see attached details for more info",
			"chaincode response 500, AUTH_REVOKED: the citizen revoked this authorisation"),
		evaluateErr: statusErr(t, codes.Unknown, "evaluate call to endorser returned error: chaincode response 500, CATEGORY_NOT_FOUND: category x not found"),
	}
	l := dialFake(t, f)
	ctx := context.Background()

	_, err := l.Withdraw(ctx, "auth-1")
	var le *Error
	if !errors.As(err, &le) || le.Code != model.CodeAuthRevoked {
		t.Fatalf("Withdraw: %v", err)
	}
	var ee *client.EndorseError
	if !errors.As(err, &ee) {
		t.Errorf("the EndorseError must stay in the chain: %T", le.Err)
	}
	if le.TxID == "" || le.TxID != f.lastTxID {
		t.Errorf("tx id = %q, want the endorsed one %q", le.TxID, f.lastTxID)
	}

	_, err = l.GetCategory(ctx, "x")
	if CodeOf(err) != model.CodeCategoryNotFound {
		t.Fatalf("GetCategory: %v", err)
	}

	f.evaluateErr = status.Error(codes.Unavailable, "no peers available")
	if err := l.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ping: %v", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.GetAuthorization(cctx, "auth-1"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("cancelled call: %v", err)
	}
}
