package fabnet

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/internal/demo"
)

// Private data collections of the chaincode definition (docs/privacy.md):
// one per requesting institution, whose members are the operator, that
// requester and the auditors. A requester's authorisations, deliveries
// and citizens' device keys live in its collection; no other requester's
// peer receives them. Writes to a collection must be endorsed by the
// operator and the requester (its endorsement policy), so neither the
// operator with another requester nor two requesters can write it.

// collection is one entry of the peer CLI's collections configuration.
type collection struct {
	Name              string `json:"name"`
	Policy            string `json:"policy"`
	RequiredPeerCount int    `json:"requiredPeerCount"`
	MaxPeerCount      int    `json:"maxPeerCount"`
	BlockToLive       uint64 `json:"blockToLive"`
	MemberOnlyRead    bool   `json:"memberOnlyRead"`
	MemberOnlyWrite   bool   `json:"memberOnlyWrite"`
	EndorsementPolicy struct {
		SignaturePolicy string `json:"signaturePolicy"`
	} `json:"endorsementPolicy"`
}

// Collections returns the collections configuration of the chaincode
// definition for a registry: one collection per institution that may
// request authorisations.
//
// An endorsing peer hands the private data to at least one other member's
// peer before it endorses (requiredPeerCount 1), so a write survives the
// loss of one peer; the auditor's peer also pulls what it missed from the
// others when it comes back. Nothing expires (blockToLive 0): the
// auditor's record is kept for good.
func Collections(reg *demo.Registry) []collection {
	var auditors []string
	for _, inst := range reg.Institutions {
		if inst.Kind == model.KindAuditor {
			auditors = append(auditors, inst.MSPID)
		}
	}
	var out []collection
	for _, inst := range reg.Institutions {
		if !inst.Kind.MayRequest() {
			continue
		}
		members := append([]string{reg.Operator.MSPID, inst.MSPID}, auditors...)
		quoted := make([]string, len(members))
		for i, m := range members {
			quoted[i] = fmt.Sprintf("'%s.member'", m)
		}
		c := collection{Name: model.CollectionOf(inst.MSPID), Policy: "OR(" + strings.Join(quoted, ", ") + ")",
			RequiredPeerCount: 1, MaxPeerCount: len(members) - 1, MemberOnlyRead: true, MemberOnlyWrite: true}
		c.EndorsementPolicy.SignaturePolicy = fmt.Sprintf("AND('%s.peer', '%s.peer')", reg.Operator.MSPID, inst.MSPID)
		out = append(out, c)
	}
	return out
}

// writeCollections writes the collections configuration of the demo
// registry where the peer CLI reads it, and returns its path.
func (l Layout) writeCollections() (string, error) {
	reg, err := demo.LoadRegistry()
	if err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(Collections(reg), "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(l.ChaincodeDir(), "collections.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("write collections configuration: %w", err)
	}
	return path, nil
}
