package fabconn

import (
	"context"
	"fmt"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
)

// WaitForCommit waits until the transaction txID, submitted by anyone, has
// committed on the connected organisation's peer, and returns the number
// of its block. It asks the peer's Fabric Gateway CommitStatus service,
// which answers as soon as the peer commits the block (at once if it
// already has): no polling. The request is signed with the connection's
// identity; any reader of the channel may ask about any transaction.
//
// A transaction that committed invalid is an error that unwraps to a
// *client.CommitError with its validation code. A transaction the peer has
// not seen waits until ctx ends, and the error is then ctx's (or the
// gRPC status DeadlineExceeded).
func (c *Connection) WaitForCommit(ctx context.Context, txID string) (uint64, error) {
	commit, err := newCommit(c.Gateway, c.Channel, txID)
	if err != nil {
		return 0, err
	}
	st, err := commit.StatusWithContext(ctx)
	if err != nil {
		return 0, err
	}
	if !st.Successful {
		return st.BlockNumber, &commitFailure{id: txID, code: st.Code}
	}
	return st.BlockNumber, nil
}

// newCommit builds the commit-status request for transaction txID on
// channel, as the fabric-gateway client builds one for a transaction it
// submitted itself: the identity is gw's, and the request is signed with
// gw's signer when its status is asked for.
func newCommit(gw *client.Gateway, channel, txID string) (*client.Commit, error) {
	id := gw.Identity()
	creator, err := proto.Marshal(&msp.SerializedIdentity{Mspid: id.MspID(), IdBytes: id.Credentials()})
	if err != nil {
		return nil, fmt.Errorf("serialise the identity: %w", err)
	}
	req, err := proto.Marshal(&gateway.CommitStatusRequest{ChannelId: channel, TransactionId: txID, Identity: creator})
	if err != nil {
		return nil, fmt.Errorf("encode the commit status request: %w", err)
	}
	signed, err := proto.Marshal(&gateway.SignedCommitStatusRequest{Request: req})
	if err != nil {
		return nil, fmt.Errorf("encode the commit status request: %w", err)
	}
	return gw.NewCommit(signed)
}
