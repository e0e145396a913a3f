package contract

import (
	"fmt"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Contract names, the prefix of each transaction name ("consent:Decide").
const (
	RegistryName = "registry"
	ConsentName  = "consent"
	AnchorName   = "anchor"
	AccessName   = "access"
)

// New builds the quanchain chaincode from its four contracts.
func New() (*contractapi.ContractChaincode, error) {
	registry := &RegistryContract{}
	registry.Name = RegistryName
	consent := &ConsentContract{}
	consent.Name = ConsentName
	anchor := &AnchorContract{}
	anchor.Name = AnchorName
	access := &AccessContract{}
	access.Name = AccessName

	cc, err := contractapi.NewChaincode(registry, consent, anchor, access)
	if err != nil {
		return nil, fmt.Errorf("building chaincode: %w", err)
	}
	cc.DefaultContract = RegistryName
	cc.Info.Title = "quanchain"
	cc.Info.Version = "1.0.0"
	return cc, nil
}
