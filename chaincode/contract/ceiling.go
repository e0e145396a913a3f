package contract

import (
	"fmt"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/quanchain/quanchain/chaincode/model"
)

// CeilingContract is a measuring instrument, not part of the service: the
// cheapest write the network can endorse, order and commit under the
// chaincode's own endorsement policy, so that a load test can put each
// quanchain transaction next to the ceiling Fabric sets on this network
// (docs/benchmarks.md, "Under load").
//
// It is registered only when New is given WithCeiling, which the chaincode
// service does only when started with QUANCHAIN_CEILING_CONTRACT=1 (the
// development network sets it; a deployment does not). Its keys live under
// their own object type, which no other contract reads: whatever a client
// writes through it cannot reach an authorisation, a key or an access.
type CeilingContract struct {
	contractapi.Contract
}

// WithCeiling registers the CeilingContract, the trivial write a load test
// measures the network's own ceiling with. Only a development network asks
// for it.
func WithCeiling() Option {
	return func(o *options) { o.ceiling = true }
}

// maxCeilingValue bounds the value Put writes.
const maxCeilingValue = 256

// Put writes value under the key id in the ceiling's key space. It checks
// the id and the value's size and nothing else: no access check, no read,
// no event.
func (c *CeilingContract) Put(ctx contractapi.TransactionContextInterface, id string, value string) error {
	if !model.ValidID(id) {
		return model.Errf(model.CodeInvalidArgument, "key must be 3-64 letters, digits, '_', '.' or '-'")
	}
	if len(value) > maxCeilingValue {
		return model.Errf(model.CodeInputTooLarge, "value is %d bytes, limit %d", len(value), maxCeilingValue)
	}
	k, err := key(ctx, keyCeiling, id)
	if err != nil {
		return err
	}
	if err := ctx.GetStub().PutState(k, []byte(value)); err != nil {
		return fmt.Errorf("writing state: %w", err)
	}
	return nil
}
