package contract

import (
	"fmt"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Contract names, the prefix of each transaction name ("consent:Decide").
const (
	RegistryName = "registry"
	ConsentName  = "consent"
	AnchorName   = "anchor"
	AccessName   = "access"
	// CeilingName is the measuring contract registered only WithCeiling.
	CeilingName = "ceiling"
)

// New builds the quanchain chaincode from its four contracts. Every
// transaction first checks its timestamp against the peer's clock
// (WithClock; by default time.Now and DefaultMaxClockSkew). WithCeiling adds
// the load test's CeilingContract.
func New(opts ...Option) (*contractapi.ContractChaincode, error) {
	o := options{now: time.Now, maxSkew: DefaultMaxClockSkew}
	for _, opt := range opts {
		opt(&o)
	}
	check := clockCheck(o.now, o.maxSkew)
	registry := &RegistryContract{}
	registry.Name = RegistryName
	consent := &ConsentContract{}
	consent.Name = ConsentName
	anchor := &AnchorContract{}
	anchor.Name = AnchorName
	access := &AccessContract{}
	access.Name = AccessName
	for _, c := range []*contractapi.Contract{&registry.Contract, &consent.Contract, &anchor.Contract, &access.Contract} {
		c.BeforeTransaction = check
	}

	contracts := []contractapi.ContractInterface{registry, consent, anchor, access}
	if o.ceiling {
		ceiling := &CeilingContract{}
		ceiling.Name = CeilingName
		contracts = append(contracts, ceiling)
	}
	cc, err := contractapi.NewChaincode(contracts...)
	if err != nil {
		return nil, fmt.Errorf("building chaincode: %w", err)
	}
	cc.DefaultContract = RegistryName
	cc.Info.Title = "quanchain"
	cc.Info.Version = "1.0.0"
	return cc, nil
}
