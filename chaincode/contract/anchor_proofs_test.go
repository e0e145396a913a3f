package contract_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/chaincode/model"
)

// TestVerifyProofs: a list of proofs gets, in order, exactly the
// verification VerifyProof gives each (valid, revoked by its leaf hash,
// a bad proof, a record batched without a salt); an empty list an empty
// answer; a list over the limit, or with a proof VerifyProof refuses, is
// refused with VerifyProof's code and the proof's index.
func TestVerifyProofs(t *testing.T) {
	e := newEnv(t)
	e.bootstrap()
	const n = 6
	records := make([]merkle.Hash, n)
	salts := make([][]byte, n)
	leaves := make([]merkle.Hash, n)
	for i := range n {
		records[i] = sha256.Sum256(fmt.Appendf(nil, `{"record":%d}`, i))
		if i != 5 { // record 5 was batched before salts
			s := sha256.Sum256(fmt.Appendf(nil, "salt-%d", i))
			salts[i] = s[:merkle.SaltSize]
		}
		leaves[i] = merkle.RecordLeafHash(salts[i], records[i])
	}
	tree := merkle.NewFromLeafHashes(leaves)
	batch := model.BatchAnchorRequest{BatchID: "tax-2026-11-02-001", Category: "tax", Root: tree.Root().String(), LeafCount: n}
	e.must(opMSP, "anchor:AnchorBatch", mustJSON(batch))
	// Record 2 is revoked by its leaf hash, as the safe revokes a batched
	// record.
	e.must(opMSP, "anchor:RevokeRecord", "tax", leaves[2].String(), "WITHDRAWN")

	proof := func(i int) model.ProofRequest {
		path, err := tree.Proof(uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		p := make([]string, len(path))
		for j := range path {
			p[j] = path[j].String()
		}
		return model.ProofRequest{BatchID: batch.BatchID, RecordHash: records[i].String(), Salt: hex.EncodeToString(salts[i]),
			LeafIndex: uint64(i), Proof: p}
	}
	badProof := proof(3)
	badProof.Proof[0] = hash("tampered")
	reqs := []model.ProofRequest{proof(0), proof(2), badProof, proof(5), proof(4), proof(0)}

	got := decode[[]model.Verification](t, e.must(bankMSP, "anchor:VerifyProofs", mustJSON(reqs)))
	if len(got) != len(reqs) {
		t.Fatalf("%d verifications for %d proofs", len(got), len(reqs))
	}
	for i, req := range reqs {
		one := decode[model.Verification](t, e.must(bankMSP, "anchor:VerifyProof", mustJSON(req)))
		if !reflect.DeepEqual(got[i], one) {
			t.Errorf("proof %d: VerifyProofs says %+v, VerifyProof %+v", i, got[i], one)
		}
	}
	want := []struct {
		valid, anchored, revoked bool
		reason                   model.Code
	}{
		{true, true, false, ""},
		{false, true, true, model.CodeRecordRevoked},
		{false, false, false, model.CodeProofInvalid},
		{true, true, false, ""},
		{true, true, false, ""},
		{true, true, false, ""},
	}
	for i, w := range want {
		v := got[i]
		if v.Valid != w.valid || v.Anchored != w.anchored || v.Revoked != w.revoked || v.Reason != string(w.reason) ||
			v.Batch == nil || v.Batch.BatchID != batch.BatchID {
			t.Errorf("proof %d: %+v, want %+v", i, v, w)
		}
	}

	if out := e.must(bankMSP, "anchor:VerifyProofs", "[]"); out != "[]" {
		t.Fatalf("empty list: %s", out)
	}
	if out := e.must(bankMSP, "anchor:VerifyProofs", "null"); out != "[]" {
		t.Fatalf("null list: %s", out)
	}

	tooMany := make([]model.ProofRequest, 1025)
	for i := range tooMany {
		tooMany[i] = model.ProofRequest{BatchID: batch.BatchID, RecordHash: records[0].String()}
	}
	atLimit := decode[[]model.Verification](t, e.must(bankMSP, "anchor:VerifyProofs", mustJSON(tooMany[:1024])))
	if len(atLimit) != 1024 {
		t.Fatalf("1024 proofs: %d verifications", len(atLimit))
	}
	unknown := proof(1)
	unknown.BatchID = "tax-no-such-batch"
	refusals := []struct {
		name  string
		input string
		want  model.Code
		index string
	}{
		{"too many", mustJSON(tooMany), model.CodeInputTooLarge, ""},
		{"too long", "[" + strings.Repeat(" ", 4<<20) + "]", model.CodeInputTooLarge, ""},
		{"unknown batch", mustJSON([]model.ProofRequest{proof(0), unknown}), model.CodeBatchNotFound, "proof 1: "},
		{"bad record hash", mustJSON([]model.ProofRequest{{BatchID: batch.BatchID, RecordHash: "zz"}}), model.CodeInvalidArgument, "proof 0: "},
		{"bad salt", mustJSON([]model.ProofRequest{proof(0), proof(1), {BatchID: batch.BatchID, RecordHash: records[0].String(), Salt: "00"}}),
			model.CodeInvalidArgument, "proof 2: "},
		{"a proof too long", mustJSON([]model.ProofRequest{{BatchID: batch.BatchID, RecordHash: records[0].String(), Proof: make([]string, 65)}}),
			model.CodeInputTooLarge, "proof 0: "},
		{"one proof, not a list", mustJSON(proof(0)), model.CodeMalformedJSON, ""},
		{"unknown field", `[{"batch_id":"x","extra":1}]`, model.CodeMalformedJSON, ""},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.query(bankMSP, "anchor:VerifyProofs", tc.input)
			wantCode(t, err, tc.want)
			if me, _ := model.ParseError(err.Error()); !strings.HasPrefix(me.Message, tc.index) {
				t.Fatalf("message %q does not name the proof (%q)", me.Message, tc.index)
			}
		})
	}
}
