package ledger

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/ledger/fabconn"
)

// FromConnection wraps the quanchain chaincode of an open fabconn
// connection; its WaitForCommit asks the connection's peer.
func FromConnection(conn *fabconn.Connection) *Ledger {
	l := New(conn.Contract(""), conn.Network(), conn.Chaincode, conn.Org.MSPID)
	l.commits = conn
	return l
}

// ChainEvent is one chaincode event of a committed transaction.
type ChainEvent struct {
	BlockNumber uint64
	TxID        string
	Name        string
	// Event is the decoded payload, Raw the payload as emitted; Event is
	// nil if Raw did not decode as a model.Event.
	Event *model.Event
	Raw   []byte
}

// Events subscribes to the chaincode's events, in block order. With a nil
// checkpoint the stream starts at the next block; with a checkpoint (for
// example a client.FileCheckpointer, or one kept in the store) it resumes
// after the last event the checkpoint recorded, so nothing is lost over a
// restart — the consumer calls checkpoint.CheckpointChaincodeEvent once it
// has handled an event. The channel is closed when ctx ends or the stream
// fails; subscribe again to go on.
func (l *Ledger) Events(ctx context.Context, checkpoint client.Checkpoint) (<-chan ChainEvent, error) {
	if l.events == nil {
		return nil, errors.New("ledger: no event source configured")
	}
	var opts []client.ChaincodeEventsOption
	if checkpoint != nil {
		opts = append(opts, client.WithCheckpoint(checkpoint))
	}
	in, err := l.events.ChaincodeEvents(ctx, l.chaincode, opts...)
	if err != nil {
		return nil, MapError("chaincode events", err)
	}
	out := make(chan ChainEvent)
	go func() {
		defer close(out)
		for ev := range in {
			ce := ChainEvent{BlockNumber: ev.BlockNumber, TxID: ev.TransactionID, Name: ev.EventName, Raw: ev.Payload}
			var m model.Event
			if json.Unmarshal(ev.Payload, &m) == nil {
				ce.Event = &m
			}
			select {
			case out <- ce:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
