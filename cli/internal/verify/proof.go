package verify

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
)

// batchProof is an inclusion proof of one record or document in a Merkle
// batch, as given on the command line or in a file.
type batchProof struct {
	BatchID  string
	Index    uint64
	HasIndex bool
	Path     []merkle.Hash
	PathHex  []string
	// What the proof claims about its batch, if it says (the provider's
	// proof object does): checked against the ledger's anchor.
	Root       string
	LeafCount  uint64
	AnchorTxID string
	// Salt is the record's salt (hex), which the provider delivers with a
	// record of the digital safe: its leaf is SHA-256(0x00 ‖ salt ‖
	// record hash). Empty for a document anchored without one.
	Salt string
}

// proofObject is the proof as a provider's gateway serves it with each
// record (gateway/internal/vault.Proof) or as the verification API takes
// it: the audit path is "path", or "proof" when that is a list.
type proofObject struct {
	BatchID    string          `json:"batch_id"`
	LeafIndex  *uint64         `json:"leaf_index"`
	LeafCount  uint64          `json:"leaf_count"`
	Path       []string        `json:"path"`
	Proof      json.RawMessage `json:"proof"`
	Root       string          `json:"root"`
	AnchorTxID string          `json:"anchor_tx_id"`
	Salt       string          `json:"salt"`
}

// parseProof reads a proof file: a JSON list of hex hashes (the audit path
// from the leaf up; the batch and index come from flags), or a proof
// object, or an object whose "proof" is a proof object (a record as a data
// request returns it).
func parseProof(name string, b []byte) (*batchProof, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var hexes []string
		if err := json.Unmarshal(b, &hexes); err != nil {
			return nil, fmt.Errorf("%s: want a JSON list of hex hashes or a proof object: %w", name, err)
		}
		return pathOf(name, &batchProof{}, hexes)
	}
	var o proofObject
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("%s: want a JSON list of hex hashes or a proof object: %w", name, err)
	}
	proof := bytes.TrimSpace(o.Proof)
	if o.BatchID == "" && len(proof) > 0 && proof[0] == '{' {
		return parseProof(name, proof)
	}
	hexes := o.Path
	if len(proof) > 0 && proof[0] == '[' {
		if hexes != nil {
			return nil, fmt.Errorf("%s: give the audit path as path or as proof, not both", name)
		}
		if err := json.Unmarshal(proof, &hexes); err != nil {
			return nil, fmt.Errorf("%s: proof: want a list of hex hashes: %w", name, err)
		}
	}
	if o.BatchID == "" || o.LeafIndex == nil || hexes == nil {
		return nil, fmt.Errorf("%s: a proof object needs batch_id, leaf_index and path", name)
	}
	p := &batchProof{BatchID: o.BatchID, Index: *o.LeafIndex, HasIndex: true, Root: o.Root, LeafCount: o.LeafCount, AnchorTxID: o.AnchorTxID}
	if err := p.withSalt(o.Salt); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return pathOf(name, p, hexes)
}

func pathOf(name string, p *batchProof, hexes []string) (*batchProof, error) {
	if len(hexes) > merkle.MaxProofLength {
		return nil, fmt.Errorf("%s: %d hashes, more than any proof has (%d)", name, len(hexes), merkle.MaxProofLength)
	}
	path, err := merkle.ParseProof(hexes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p.Path, p.PathHex = path, make([]string, len(path))
	for i, h := range path {
		p.PathHex[i] = h.String() // lower case, as the chaincode wants
	}
	return p, nil
}

// with completes the proof with the batch and index given as flags, which
// must agree with what the proof says.
func (p *batchProof) with(batchID string, index uint64, indexSet bool) (*batchProof, error) {
	if batchID != "" {
		if p.BatchID != "" && p.BatchID != batchID {
			return nil, cmdutil.UsageErrorf("--batch %s, but the proof is for batch %s", batchID, p.BatchID)
		}
		p.BatchID = batchID
	}
	if indexSet {
		if p.HasIndex && p.Index != index {
			return nil, cmdutil.UsageErrorf("--index %d, but the proof is for leaf %d", index, p.Index)
		}
		p.Index, p.HasIndex = index, true
	}
	if p.BatchID == "" || !p.HasIndex {
		return nil, cmdutil.UsageErrorf("a list of hashes needs --batch and --index")
	}
	if !model.ValidID(p.BatchID) {
		return nil, cmdutil.UsageErrorf("the proof's batch %q is not a valid batch id", p.BatchID)
	}
	return p, nil
}

// withSalt sets the record's salt (hex, 32 bytes), if given; a salt given
// twice must agree.
func (p *batchProof) withSalt(salt string) error {
	if salt == "" {
		return nil
	}
	b, err := hex.DecodeString(salt)
	if err != nil || len(b) != merkle.SaltSize {
		return cmdutil.UsageErrorf("the salt must be %d bytes in hex", merkle.SaltSize)
	}
	salt = hex.EncodeToString(b)
	if p.Salt != "" && p.Salt != salt {
		return cmdutil.UsageErrorf("--salt differs from the proof's salt")
	}
	p.Salt = salt
	return nil
}

func readProofFile(path string) (*batchProof, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, cmdutil.UsageErrorf("--proof-file: %v", err)
	}
	p, err := parseProof("--proof-file "+path, b)
	if err != nil {
		return nil, cmdutil.UsageErrorf("%v", err)
	}
	return p, nil
}

// inBatch is the outcome of checking a leaf against its batch.
type inBatch struct {
	Batch  *model.BatchAnchor
	Local  *LocalProof
	Ledger *model.Verification
	Notes  []string
}

// checkInBatch reads the batch's root and leaf count from the ledger
// (anchor:GetBatch), recomputes the RFC 6962 inclusion proof of the leaf
// (the record or document hash) against them, and asks the chaincode too
// (anchor:VerifyProof), which also says whether the hash is revoked. A
// batch that is not on the ledger is an error for which
// cmdutil.IsNotFound is true.
func checkInBatch(ctx context.Context, lc *cmdutil.Ledger, leaf [32]byte, leafHex string, p *batchProof) (*inBatch, error) {
	batch, err := lc.GetBatch(ctx, p.BatchID)
	if err != nil {
		if cmdutil.IsNotFound(err) {
			return nil, cmdutil.NotFoundf("batch %s is not anchored on the ledger", p.BatchID)
		}
		return nil, err
	}
	res := &inBatch{Batch: batch, Local: &LocalProof{BatchID: batch.BatchID, LeafIndex: p.Index, LeafCount: batch.LeafCount, Root: batch.Root}}
	root, err := merkle.ParseHash(batch.Root)
	if err != nil {
		return nil, fmt.Errorf("batch %s: the ledger's root is malformed: %w", batch.BatchID, err)
	}
	if p.Root != "" && p.Root != batch.Root {
		res.Notes = append(res.Notes, fmt.Sprintf("the proof was made for root %s; the ledger's batch has root %s", p.Root, batch.Root))
	}
	if p.LeafCount != 0 && p.LeafCount != uint64(batch.LeafCount) {
		res.Notes = append(res.Notes, fmt.Sprintf("the proof was made for %d leaves; the ledger's batch has %d", p.LeafCount, batch.LeafCount))
	}
	if p.AnchorTxID != "" && p.AnchorTxID != batch.TxID {
		res.Notes = append(res.Notes, fmt.Sprintf("the proof names anchoring transaction %s; the ledger's batch was anchored by %s", p.AnchorTxID, batch.TxID))
	}
	var incl error
	if p.Salt != "" {
		salt, _ := hex.DecodeString(p.Salt)
		incl = merkle.VerifyRecordInclusion(salt, leaf, p.Index, uint64(batch.LeafCount), p.Path, root)
	} else {
		incl = merkle.VerifyInclusion(leaf[:], p.Index, uint64(batch.LeafCount), p.Path, root)
	}
	if incl != nil {
		res.Local.Error = incl.Error()
	} else {
		res.Local.Included = true
	}
	res.Ledger, err = lc.VerifyProof(ctx, model.ProofRequest{BatchID: p.BatchID, RecordHash: leafHex, Salt: p.Salt, LeafIndex: p.Index, Proof: p.PathHex})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// verdictOf decides a batch check: the chaincode's answer, unless the
// local recomputation disagrees with it.
func (b *inBatch) verdict() (bool, string) {
	valid, reason := b.Ledger.Valid, b.Ledger.Reason
	if valid && !b.Local.Included {
		valid, reason = false, string(model.CodeProofInvalid)
	}
	// The chaincode reports anchored = the proof leads to the stored root.
	if b.Local.Included != b.Ledger.Anchored {
		valid, reason = false, ReasonDisagreement
	}
	return valid, reason
}
