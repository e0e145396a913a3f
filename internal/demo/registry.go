// Package demo is the demo network's registry (registry.json): the
// operator, the other member institutions, the data categories and the
// purpose templates. The network tool's bootstrap writes it to the ledger
// of a network it starts; ledger/ledgertest bootstraps its in-process
// ledger with it, so the gateway's tests run against the same registry.
package demo

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/quanchain/quanchain/chaincode/model"
)

//go:embed registry.json
var registryJSON []byte

// Registry is the content of registry.json.
type Registry struct {
	// Operator is the organisation that runs the network; registry:Bootstrap
	// registers it as the first institution.
	Operator     model.Institution   `json:"operator"`
	Institutions []model.Institution `json:"institutions"`
	Categories   []model.Category    `json:"categories"`
	Purposes     []model.Purpose     `json:"purposes"`
}

// LoadRegistry decodes registry.json. A field the model does not know
// fails here instead of being dropped on its way to the chaincode.
func LoadRegistry() (*Registry, error) {
	var r Registry
	dec := json.NewDecoder(bytes.NewReader(registryJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("demo registry: %w", err)
	}
	return &r, nil
}
