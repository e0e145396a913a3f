package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/vault"
	"github.com/quanchain/quanchain/ledger"
)

// VerificationLedger is what verifications need from the chaincode, read
// from this gateway's own peer; *ledger.Ledger implements it.
type VerificationLedger interface {
	VerifyRecord(ctx context.Context, recordHash string) (*model.Verification, error)
	VerifyProof(ctx context.Context, proof model.ProofRequest) (*model.Verification, error)
}

// RecordProofs finds the Merkle proof of a record this gateway holds (the
// provider's digital safe); *vault.Vault implements it.
type RecordProofs interface {
	Proof(ctx context.Context, recordHash string) (vault.Proof, error)
}

// VerificationConfig are the collaborators of verifications.
type VerificationConfig struct {
	Ledger VerificationLedger
	// Proofs, if set, finds the proof of a batched record the caller gave
	// without one.
	Proofs RecordProofs
}

// VerificationAPI checks records and documents against their anchors.
type VerificationAPI struct {
	cfg VerificationConfig
}

// NewVerificationAPI checks c and returns the verification API.
func NewVerificationAPI(c VerificationConfig) (*VerificationAPI, error) {
	if c.Ledger == nil {
		return nil, errors.New("httpapi: verifications need a Ledger")
	}
	return &VerificationAPI{cfg: c}, nil
}

func (s *Server) verificationAPI() (*VerificationAPI, error) {
	if s.Verifications == nil {
		return nil, apiErr(http.StatusServiceUnavailable, codeVerificationsUnset, "verifications are not configured on this gateway")
	}
	return s.Verifications, nil
}

// verificationRequest is the body of POST /v1/verifications: a record
// (with its category) or a document's SHA-256, and optionally the batch
// proof the caller holds, with the record's salt delivered with it.
type verificationRequest struct {
	Category       string          `json:"category"`
	Record         json.RawMessage `json:"record"`
	DocumentSHA256 string          `json:"document_sha256"`
	BatchID        string          `json:"batch_id"`
	LeafIndex      *uint64         `json:"leaf_index"`
	Proof          []string        `json:"proof"`
	Salt           string          `json:"salt"`
}

// Validate checks the request's form and returns the candidate hashes: a
// document's digest, or a record's hash over its canonical bytes (members
// sorted, no white space: the form the provider stores) and, if they
// differ, over its bytes exactly as sent.
func (q *verificationRequest) Validate() ([]string, error) {
	bad := func(format string, args ...any) error {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, format, args...)
	}
	record := bytes.TrimSpace(q.Record)
	if bytes.Equal(record, []byte("null")) {
		record = nil
	}
	hasProof := q.BatchID != "" || q.LeafIndex != nil || q.Proof != nil || q.Salt != ""
	if hasProof {
		if !model.ValidID(q.BatchID) || q.LeafIndex == nil || q.Proof == nil {
			return nil, bad("batch_id, leaf_index and proof go together, with the record's salt")
		}
		if q.Salt = strings.ToLower(q.Salt); q.Salt != "" && !model.ValidHash(q.Salt) {
			return nil, bad("salt must be 64 hex digits")
		}
		if len(q.Proof) > merkle.MaxProofLength {
			return nil, bad("proof has more than %d hashes", merkle.MaxProofLength)
		}
		for i, h := range q.Proof {
			q.Proof[i] = strings.ToLower(h)
			if !model.ValidHash(q.Proof[i]) {
				return nil, bad("proof[%d] is not a hex SHA-256 digest", i)
			}
		}
	}
	switch {
	case record != nil && q.DocumentSHA256 != "":
		return nil, bad("give either record (with category) or document_sha256, not both")
	case q.DocumentSHA256 != "":
		q.DocumentSHA256 = strings.ToLower(q.DocumentSHA256)
		if !model.ValidHash(q.DocumentSHA256) {
			return nil, bad("document_sha256 must be 64 hex digits")
		}
		if q.Category != "" && !model.ValidCategoryCode(q.Category) {
			return nil, bad("category is not a category code")
		}
		return []string{q.DocumentSHA256}, nil
	case record == nil:
		return nil, bad("record (with category) or document_sha256 is required")
	}
	if !model.ValidCategoryCode(q.Category) {
		return nil, bad("category is required with a record, as a category code")
	}
	if record[0] != '{' {
		return nil, bad("record must be a JSON object")
	}
	canonical, err := vault.CanonicalJSON(record)
	if err != nil {
		return nil, bad("record is not a JSON object with unique members")
	}
	hashes := []string{vault.RecordHashHex(canonical)}
	if !bytes.Equal(canonical, record) {
		hashes = append(hashes, vault.RecordHashHex(record))
	}
	return hashes, nil
}

// verificationProof is a batch inclusion proof, as given or as found.
type verificationProof struct {
	BatchID   string   `json:"batch_id"`
	LeafIndex uint64   `json:"leaf_index"`
	Proof     []string `json:"proof"`
	Salt      string   `json:"salt,omitempty"`
}

// verificationResult is the answer of POST /v1/verifications: whether the
// hash is anchored (alone or in a batch), whether it is revoked, and the
// anchor and proof. "Not anchored" is an answer, not an error.
type verificationResult struct {
	RecordHash string              `json:"record_hash"`
	Category   string              `json:"category,omitempty"`
	Valid      bool                `json:"valid"`
	Anchored   bool                `json:"anchored"`
	Revoked    bool                `json:"revoked"`
	Reason     string              `json:"reason,omitempty"`
	Anchor     *model.RecordAnchor `json:"anchor,omitempty"`
	Batch      *model.BatchAnchor  `json:"batch,omitempty"`
	Revocation *model.Revocation   `json:"revocation,omitempty"`
	Proof      *verificationProof  `json:"proof,omitempty"`
}

// createVerification verifies a record or a document against the ledger.
func (s *Server) createVerification(w http.ResponseWriter, r *http.Request) error {
	v, err := s.verificationAPI()
	if err != nil {
		return err
	}
	var q verificationRequest
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	hashes, err := q.Validate()
	if err != nil {
		return err
	}
	var first *verificationResult
	for _, h := range hashes {
		res, err := v.check(r.Context(), h, q)
		if err != nil {
			return err
		}
		if res.Anchored {
			first = res
			break
		}
		if first == nil {
			first = res
		}
	}
	if first.Anchored && q.Category != "" && anchoredCategory(first) != q.Category {
		first.Valid, first.Reason = false, "CATEGORY_MISMATCH"
	}
	first.Category = q.Category
	writeJSON(w, http.StatusOK, first)
	return nil
}

// check verifies one hash: with the caller's proof if given; else as a
// single anchor; else, if this gateway holds the record, with its batch
// proof.
func (v *VerificationAPI) check(ctx context.Context, hash string, q verificationRequest) (*verificationResult, error) {
	if q.LeafIndex != nil {
		p := &verificationProof{BatchID: q.BatchID, LeafIndex: *q.LeafIndex, Proof: q.Proof, Salt: q.Salt}
		return v.checkProof(ctx, hash, p)
	}
	ver, err := v.cfg.Ledger.VerifyRecord(ctx, hash)
	if err != nil {
		return nil, err
	}
	if ver.Anchored || v.cfg.Proofs == nil {
		return result(hash, ver, nil), nil
	}
	proof, err := v.cfg.Proofs.Proof(ctx, hash)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, vault.ErrNotBatched), err == nil && proof.AnchorTxID == "":
		return result(hash, ver, nil), nil
	case err != nil:
		return nil, err
	}
	path := make([]string, len(proof.Path))
	for i, h := range proof.Path {
		path[i] = h.String()
	}
	return v.checkProof(ctx, hash, &verificationProof{BatchID: proof.BatchID, LeafIndex: proof.LeafIndex, Proof: path, Salt: proof.Salt})
}

func (v *VerificationAPI) checkProof(ctx context.Context, hash string, p *verificationProof) (*verificationResult, error) {
	ver, err := v.cfg.Ledger.VerifyProof(ctx, model.ProofRequest{BatchID: p.BatchID, RecordHash: hash, Salt: p.Salt,
		LeafIndex: p.LeafIndex, Proof: p.Proof})
	if ledger.CodeOf(err) == model.CodeBatchNotFound {
		return &verificationResult{RecordHash: hash, Reason: string(model.CodeBatchNotFound), Proof: p}, nil
	}
	if err != nil {
		return nil, err
	}
	return result(hash, ver, p), nil
}

func result(hash string, v *model.Verification, p *verificationProof) *verificationResult {
	return &verificationResult{RecordHash: hash, Valid: v.Valid, Anchored: v.Anchored, Revoked: v.Revoked,
		Reason: v.Reason, Anchor: v.Anchor, Batch: v.Batch, Revocation: v.Revocation, Proof: p}
}

func anchoredCategory(r *verificationResult) string {
	switch {
	case r.Anchor != nil:
		return r.Anchor.Category
	case r.Batch != nil:
		return r.Batch.Category
	}
	return ""
}
