package ledger

import "context"

// Transactor runs one transaction of the quanchain chaincode as one
// organisation: a Call names the transaction ("consent:Decide"), its
// string arguments, its private inputs (transient data) and the
// organisations that must endorse it; the result is the chaincode's answer
// as it returned it. Evaluate reads and commits nothing; Submit commits,
// or fails.
//
// It is the seam under the typed methods, and the only one: a Ledger
// turns arguments into strings and answers into chaincode/model types,
// reads every error with MapError (so an error may be anything MapError
// reads: a fabric-gateway error, a gRPC status carrying the peers'
// messages, or an *Error, which is kept as it is), and endorses a
// transaction again after a write conflict where that is safe. New wraps
// a fabric-gateway contract; ledger/ledgertest runs the chaincode's own
// contracts in process behind one, so the tests of the ledger's clients
// meet the real chaincode rather than an imitation of it.
type Transactor interface {
	Evaluate(ctx context.Context, c Call) ([]byte, error)
	Submit(ctx context.Context, c Call) ([]byte, error)
}

// CommitWaiter waits until a transaction known by its id (submitted by
// anyone) has committed on the connected organisation's peer, and returns
// its block number. A transaction that committed invalid is an error
// MapError reads as TX_CONFLICT or TX_INVALID (a *client.CommitError in
// its chain); one not committed waits until ctx ends. *fabconn.Connection
// is one (the Fabric Gateway's CommitStatus service); ledgertest's
// Ledgers have one.
type CommitWaiter interface {
	WaitForCommit(ctx context.Context, txID string) (uint64, error)
}

// NewWithTransactor returns a Ledger whose transactions tx runs as a
// client of organisation mspID. events and chaincode are as for New:
// events may be nil if Events is never called. If tx is also a
// CommitWaiter, the Ledger's WaitForCommit uses it.
func NewWithTransactor(tx Transactor, events EventSource, chaincode, mspID string) *Ledger {
	l := &Ledger{tx: exportedTransactor{tx}, events: events, chaincode: chaincode, msp: mspID}
	if cw, ok := tx.(CommitWaiter); ok {
		l.commits = cw
	}
	return l
}

// exportedTransactor is a Transactor as the Ledger's transactor.
type exportedTransactor struct{ t Transactor }

func (e exportedTransactor) evaluate(ctx context.Context, c Call) ([]byte, error) {
	return e.t.Evaluate(ctx, c)
}

func (e exportedTransactor) submit(ctx context.Context, c Call) ([]byte, error) {
	return e.t.Submit(ctx, c)
}
