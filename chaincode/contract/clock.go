package contract

import (
	"fmt"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/quanchain/quanchain/chaincode/model"
)

// DefaultMaxClockSkew is how far a proposal's timestamp may be from the
// endorsing peer's clock (docs/ledger.md, trusted time).
const DefaultMaxClockSkew = 5 * time.Minute

// Option configures the chaincode New builds.
type Option func(*options)

type options struct {
	now     func() time.Time
	maxSkew time.Duration
	ceiling bool // register CeilingContract (WithCeiling)
}

// WithClock sets the clock a proposal's timestamp is checked against and
// the largest skew accepted (0: DefaultMaxClockSkew). Tests that run the
// contracts at a chosen time give that time's clock.
func WithClock(now func() time.Time, maxSkew time.Duration) Option {
	return func(o *options) {
		o.now = now
		if maxSkew > 0 {
			o.maxSkew = maxSkew
		}
	}
}

// clockCheck refuses a proposal whose timestamp is more than maxSkew from
// now, before any contract runs.
//
// The transaction timestamp is the one clock the chaincode writes with, and
// the client chooses it: a proposal dated weeks ahead would pass a
// purpose's validity ceiling and record a false request time. This check is
// the one place the chaincode reads the peer's clock. It only refuses: it
// never changes what a transaction writes, so every endorser that accepts a
// proposal computes the same write set, and a proposal near the bound that
// one endorser refuses simply fails to gather its endorsements. Committing
// peers do not run the chaincode, so the check cannot make them disagree.
func clockCheck(now func() time.Time, maxSkew time.Duration) func(contractapi.TransactionContextInterface) error {
	return func(ctx contractapi.TransactionContextInterface) error {
		ts, err := ctx.GetStub().GetTxTimestamp()
		if err != nil {
			return fmt.Errorf("reading transaction timestamp: %w", err)
		}
		skew := ts.AsTime().Sub(now())
		if skew > maxSkew || skew < -maxSkew {
			return model.Errf(model.CodeClockSkew,
				"the proposal's timestamp is %s from the endorsing peer's clock; at most %s is accepted",
				skew.Round(time.Second), maxSkew)
		}
		return nil
	}
}
