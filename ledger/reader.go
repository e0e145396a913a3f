package ledger

import (
	"context"

	"github.com/quanchain/quanchain/chaincode/model"
)

// Evaluator evaluates a transaction of any chaincode on the channel on the
// peer of one organisation (an MSP ID; empty: the organisation it is
// connected as), and on no other peer. *fabconn.Connection is one; the
// tests of read-only clients fake it.
type Evaluator interface {
	Evaluate(ctx context.Context, org, chaincode, name string, args ...string) ([]byte, error)
}

// NewReader returns a read-only Ledger over ev: the connected
// organisation's own peer evaluates every transaction, never another
// member's, for clients that trust only their own peer (the auditor's
// qc). Its submitting methods fail with an INTERNAL *Error, and it has no
// events.
func NewReader(ev Evaluator, chaincode string) *Ledger {
	return &Ledger{tx: readerTransactor{ev: ev, chaincode: chaincode}, chaincode: chaincode}
}

// readerTransactor evaluates on the connected organisation's peer and
// submits nothing.
type readerTransactor struct {
	ev        Evaluator
	chaincode string
}

func (t readerTransactor) evaluate(ctx context.Context, c Call) ([]byte, error) {
	return t.ev.Evaluate(ctx, "", t.chaincode, c.Name, c.Args...)
}

func (t readerTransactor) submit(_ context.Context, c Call) ([]byte, error) {
	return nil, &Error{Code: model.CodeInternal, Message: c.Name + ": this ledger client only reads"}
}
