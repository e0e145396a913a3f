package cmdutil

import (
	"errors"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/ledger"
	"github.com/quanchain/quanchain/ledger/qscc"
)

// PageSize is the page size qc asks for when it follows a listing's
// bookmarks to its end (ledger.All).
const PageSize = 100

// Ledger is how qc reads the ledger, with the identity of the organisation
// --profile selects and through that organisation's own peer only: the
// chaincode's evaluate transactions (a read-only *ledger.Ledger) and the
// channel's blocks (Blocks, from the query system chaincode, which may
// name another organisation's peer to compare chains).
type Ledger struct {
	*ledger.Ledger
	Blocks *qscc.Client

	// Writer submits transactions as the same organisation; nil where
	// the connection cannot (a test's evaluator).
	Writer *ledger.Ledger

	Channel   string // the channel read
	Chaincode string // the network's chaincode, whose transactions qc decodes
	MSPID     string // the organisation connected as; its peer answers
}

// NewLedger returns qc's view of the ledger over an evaluator connected as
// mspID (a *fabconn.Connection, or a test's fake).
func NewLedger(ev ledger.Evaluator, channel, chaincode, mspID string) *Ledger {
	return &Ledger{Ledger: ledger.NewReader(ev, chaincode), Blocks: qscc.New(ev, channel),
		Channel: channel, Chaincode: chaincode, MSPID: mspID}
}

// PeerDetails returns the peers' own messages of a failed ledger call that
// carries no refusal of the chaincode (an access denied, an unreachable
// peer): the only clue qc can show to its operator.
func PeerDetails(err error) []string {
	var le *ledger.Error
	if !errors.As(err, &le) || (le.Code.Known() && le.Code != model.CodeInternal) {
		return nil
	}
	return le.Details
}
