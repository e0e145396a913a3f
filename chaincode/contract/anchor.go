package contract

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/chaincode/model"
)

// AnchorContract anchors the hashes of records held at their source
// (数据源不上链): single record or document hashes, Merkle batches (RFC 6962),
// and revocations.
type AnchorContract struct {
	contractapi.Contract
}

// GetEvaluateTransactions lists the read-only transactions of the contract.
func (c *AnchorContract) GetEvaluateTransactions() []string {
	return []string{"VerifyRecord", "GetBatch", "VerifyProof", "VerifyProofs"}
}

// AnchorRecord anchors the SHA-256 of one record or document of a category.
// The category's provider only.
func (c *AnchorContract) AnchorRecord(ctx contractapi.TransactionContextInterface, category string, recordHash string) (string, error) {
	provider, err := requireProviderOf(ctx, category)
	if err != nil {
		return "", err
	}
	h, err := normaliseHash("record_hash", recordHash)
	if err != nil {
		return "", err
	}
	k, err := anchors.newKey(ctx, h)
	if err != nil {
		return "", err
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	a := model.RecordAnchor{RecordHash: h, Category: category, Provider: provider,
		AnchoredAt: model.FormatTime(now), TxID: ctx.GetStub().GetTxID()}
	if err := putJSON(ctx, k, a); err != nil {
		return "", err
	}
	if err := emit(ctx, model.Event{Name: model.EventRecordAnchored, RecordHash: h, Category: category, Provider: provider}); err != nil {
		return "", err
	}
	return marshalString(a)
}

// AnchorBatch anchors the RFC 6962 tree head of a batch of records of one
// category. The category's provider only.
func (c *AnchorContract) AnchorBatch(ctx contractapi.TransactionContextInterface, batchJSON string) (string, error) {
	inst, err := requireActiveCaller(ctx)
	if err != nil {
		return "", err
	}
	var req model.BatchAnchorRequest
	if err := decodeStrict(batchJSON, &req); err != nil {
		return "", err
	}
	if err := checkProviderOf(ctx, inst, req.Category); err != nil {
		return "", err
	}
	provider := inst.MSPID
	if !model.ValidID(req.BatchID) {
		return "", model.Errf(model.CodeInvalidArgument, "batch_id must be 3-64 letters, digits, '_', '.' or '-'")
	}
	root, err := normaliseHash("root", req.Root)
	if err != nil {
		return "", err
	}
	if req.LeafCount < 1 || req.LeafCount > maxLeafCount {
		return "", model.Errf(model.CodeInvalidArgument, "leaf_count must be between 1 and %d", maxLeafCount)
	}
	k, err := batches.newKey(ctx, req.BatchID)
	if err != nil {
		return "", err
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	b := model.BatchAnchor{BatchID: req.BatchID, Category: req.Category, Provider: provider, Root: root,
		LeafCount: req.LeafCount, AnchoredAt: model.FormatTime(now), TxID: ctx.GetStub().GetTxID()}
	if err := putJSON(ctx, k, b); err != nil {
		return "", err
	}
	if err := emit(ctx, model.Event{Name: model.EventBatchAnchored, BatchID: b.BatchID, Category: b.Category, Provider: provider}); err != nil {
		return "", err
	}
	return marshalString(b)
}

// RevokeRecord marks a record of a category as revoked (an e-licence
// withdrawn, a record superseded) with a reason code. The category's
// provider only.
func (c *AnchorContract) RevokeRecord(ctx contractapi.TransactionContextInterface, category string, recordHash string, reason string) (string, error) {
	provider, err := requireProviderOf(ctx, category)
	if err != nil {
		return "", err
	}
	h, err := normaliseHash("record_hash", recordHash)
	if err != nil {
		return "", err
	}
	if !model.ValidPurposeCode(reason) {
		return "", model.Errf(model.CodeInvalidArgument, "reason must be a code such as SUPERSEDED or WITHDRAWN")
	}
	k, err := revocations.newKey(ctx, h)
	if err != nil {
		return "", err
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	r := model.Revocation{RecordHash: h, Category: category, Provider: provider, Reason: reason,
		RevokedAt: model.FormatTime(now), TxID: ctx.GetStub().GetTxID()}
	if err := putJSON(ctx, k, r); err != nil {
		return "", err
	}
	if err := emit(ctx, model.Event{Name: model.EventRecordRevoked, RecordHash: h, Category: category, Provider: provider}); err != nil {
		return "", err
	}
	return marshalString(r)
}

// VerifyRecord reports whether a record or document hash is anchored on its
// own and whether it is revoked.
func (c *AnchorContract) VerifyRecord(ctx contractapi.TransactionContextInterface, recordHash string) (string, error) {
	h, err := normaliseHash("record_hash", recordHash)
	if err != nil {
		return "", err
	}
	v := model.Verification{}
	if v.Anchor, v.Anchored, err = anchors.get(ctx, h); err != nil {
		return "", err
	}
	if err := checkRevoked(ctx, h, &v); err != nil {
		return "", err
	}
	switch {
	case !v.Anchored:
		v.Reason = string(model.CodeAnchorNotFound)
	case v.Revoked:
		v.Reason = string(model.CodeRecordRevoked)
	default:
		v.Valid = true
	}
	return marshalString(v)
}

// GetBatch returns one batch anchor.
func (c *AnchorContract) GetBatch(ctx contractapi.TransactionContextInterface, batchID string) (string, error) {
	b, err := batches.load(ctx, batchID)
	if err != nil {
		return "", err
	}
	return marshalString(b)
}

// VerifyProof checks an RFC 6962 inclusion proof of a record hash against a
// stored batch root, and the record's revocation status (under its record
// hash, or under its leaf hash). The leaf is merkle.RecordLeafHash of the
// request's salt and the record hash, so only whoever received the record
// with its salt can confirm it.
func (c *AnchorContract) VerifyProof(ctx contractapi.TransactionContextInterface, proofJSON string) (string, error) {
	var req model.ProofRequest
	if err := decodeStrict(proofJSON, &req); err != nil {
		return "", err
	}
	v, err := verifyProof(ctx, req, map[string]*model.BatchAnchor{})
	if err != nil {
		return "", err
	}
	return marshalString(v)
}

// VerifyProofs checks a list of inclusion proofs, at most model.MaxProofs, as
// VerifyProof checks each, and answers one verification per proof in the
// order asked: a requester verifies a whole delivery in one evaluation.
// A proof VerifyProof would refuse (a malformed hash, an unknown batch)
// refuses the list, the message naming the proof by its index.
func (c *AnchorContract) VerifyProofs(ctx contractapi.TransactionContextInterface, proofsJSON string) (string, error) {
	var reqs []model.ProofRequest
	if err := decodeStrictLimit(proofsJSON, maxProofsInput, &reqs); err != nil {
		return "", err
	}
	if len(reqs) > model.MaxProofs {
		return "", model.Errf(model.CodeInputTooLarge, "%d proofs, limit %d", len(reqs), model.MaxProofs)
	}
	read := make(map[string]*model.BatchAnchor)
	out := make([]model.Verification, len(reqs))
	for i, req := range reqs {
		v, err := verifyProof(ctx, req, read)
		if err != nil {
			var me *model.Error
			if errors.As(err, &me) {
				return "", model.Errf(me.Code, "proof %d: %s", i, me.Message)
			}
			return "", fmt.Errorf("proof %d: %w", i, err)
		}
		out[i] = *v
	}
	return marshalString(out)
}

// verifyProof is VerifyProof's check of one proof; read keeps the batches
// the transaction has read so far.
func verifyProof(ctx contractapi.TransactionContextInterface, req model.ProofRequest, read map[string]*model.BatchAnchor) (*model.Verification, error) {
	h, err := normaliseHash("record_hash", req.RecordHash)
	if err != nil {
		return nil, err
	}
	var salt []byte
	if req.Salt != "" {
		s := strings.ToLower(req.Salt)
		if !model.ValidHash(s) {
			return nil, model.Errf(model.CodeInvalidArgument, "salt must be %d hex digits", 2*merkle.SaltSize)
		}
		salt, _ = hex.DecodeString(s)
	}
	if len(req.Proof) > maxProofLen {
		return nil, model.Errf(model.CodeInputTooLarge, "proof has more than %d nodes", maxProofLen)
	}
	proof := make([]merkle.Hash, len(req.Proof))
	for i, s := range req.Proof {
		if proof[i], err = merkle.ParseHash(s); err != nil {
			return nil, model.Errf(model.CodeInvalidArgument, "proof node %d is not a hex SHA-256 digest", i)
		}
	}
	b := read[req.BatchID]
	if b == nil {
		if b, err = batches.load(ctx, req.BatchID); err != nil {
			return nil, err
		}
		read[req.BatchID] = b
	}
	root, err := merkle.ParseHash(b.Root)
	if err != nil {
		return nil, model.Errf(model.CodeInternal, "stored root of batch %s is malformed", b.BatchID)
	}
	rh, _ := merkle.ParseHash(h) // h is validated above
	v := model.Verification{Batch: b}
	if err := merkle.VerifyRecordInclusion(salt, rh, req.LeafIndex, uint64(b.LeafCount), proof, root); err != nil {
		v.Reason = string(model.CodeProofInvalid)
	} else {
		v.Anchored = true
	}
	if err := checkRevoked(ctx, h, &v); err != nil {
		return nil, err
	}
	if !v.Revoked && salt != nil {
		// A batched record is revoked by its leaf hash: its record hash on
		// the ledger would confirm a guess of the record, as the leaf does
		// not.
		if err := checkRevoked(ctx, merkle.RecordLeafHash(salt, rh).String(), &v); err != nil {
			return nil, err
		}
	}
	if v.Anchored && v.Revoked {
		v.Reason = string(model.CodeRecordRevoked)
	}
	v.Valid = v.Anchored && !v.Revoked
	return &v, nil
}

func checkRevoked(ctx contractapi.TransactionContextInterface, h string, v *model.Verification) error {
	var err error
	v.Revocation, v.Revoked, err = revocations.get(ctx, h)
	return err
}
