package contract_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/chaincode/model"
)

// TestVerifyProofNeedsTheSalt: a batch of two guessable records (a death
// date in a month) behind per-record salts. A member holding a record's
// proof but not its salt tries every candidate through VerifyProof and
// confirms none; the holder of the record and its salt verifies it.
func TestVerifyProofNeedsTheSalt(t *testing.T) {
	e := newEnv(t)
	e.bootstrap()
	candidates := make([]merkle.Hash, 30)
	for d := range candidates {
		candidates[d] = sha256.Sum256(fmt.Appendf(nil, `{"category":"death_registration","death_date":"2026-09-%02d"}`, d+1))
	}
	held := []int{3, 17}
	salts := make([][]byte, len(held))
	leaves := make([]merkle.Hash, len(held))
	for i, c := range held {
		salts[i] = make([]byte, merkle.SaltSize)
		rand.Read(salts[i])
		leaves[i] = merkle.RecordLeafHash(salts[i], candidates[c])
	}
	tree := merkle.NewFromLeafHashes(leaves)
	batch := model.BatchAnchorRequest{BatchID: "death_registration-2026-09", Category: "death_registration",
		Root: tree.Root().String(), LeafCount: len(leaves)}
	e.must(opMSP, "anchor:AnchorBatch", mustJSON(batch))
	path, _ := tree.Proof(0)
	proof := []string{path[0].String()}
	verify := func(req model.ProofRequest) model.Verification {
		t.Helper()
		return decode[model.Verification](t, e.must(bankMSP, "anchor:VerifyProof", mustJSON(req)))
	}

	for d, c := range candidates {
		for idx := range uint64(2) {
			v := verify(model.ProofRequest{BatchID: batch.BatchID, RecordHash: c.String(), LeafIndex: idx, Proof: proof})
			if v.Valid || v.Anchored {
				t.Fatalf("candidate %d at leaf %d confirmed without its salt: %+v", d, idx, v)
			}
		}
	}
	v := verify(model.ProofRequest{BatchID: batch.BatchID, RecordHash: candidates[held[0]].String(),
		Salt: hex.EncodeToString(salts[0]), LeafIndex: 0, Proof: proof})
	if !v.Valid || !v.Anchored {
		t.Fatalf("the record with its salt: %+v", v)
	}
	v = verify(model.ProofRequest{BatchID: batch.BatchID, RecordHash: candidates[held[0]].String(),
		Salt: hex.EncodeToString(salts[1]), LeafIndex: 0, Proof: proof})
	if v.Valid || v.Reason != string(model.CodeProofInvalid) {
		t.Fatalf("the record with another record's salt: %+v", v)
	}
	// Revoked by its leaf hash, which confirms no guess of the record.
	e.must(opMSP, "anchor:RevokeRecord", "death_registration", leaves[0].String(), "WITHDRAWN")
	v = verify(model.ProofRequest{BatchID: batch.BatchID, RecordHash: candidates[held[0]].String(),
		Salt: hex.EncodeToString(salts[0]), LeafIndex: 0, Proof: proof})
	if v.Valid || !v.Anchored || !v.Revoked || v.Reason != string(model.CodeRecordRevoked) {
		t.Fatalf("the record revoked by its leaf hash: %+v", v)
	}
	for _, bad := range []string{"00", hex.EncodeToString(salts[0]) + "00", "zz" + hex.EncodeToString(salts[0])[2:]} {
		_, err := e.query(bankMSP, "anchor:VerifyProof", mustJSON(model.ProofRequest{BatchID: batch.BatchID,
			RecordHash: candidates[held[0]].String(), Salt: bad, Proof: proof}))
		wantCode(t, err, model.CodeInvalidArgument)
	}
}
