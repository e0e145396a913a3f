package contract_test

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/chaincode/model"
)

func TestAnchorRecord(t *testing.T) {
	e := newEnv(t)
	e.bootstrap()
	h := hash("e-licence 0001")

	tests := []struct {
		name     string
		msp      string
		category string
		hash     string
		want     model.Code
	}{
		{"bank cannot anchor", bankMSP, "tax", h, model.CodeForbiddenMSP},
		{"auditor cannot anchor", auditMSP, "tax", h, model.CodeForbiddenMSP},
		{"unregistered org cannot anchor", rogueMSP, "tax", h, model.CodeForbiddenMSP},
		{"not the provider of that category", opMSP, "court_judgement", h, model.CodeForbiddenMSP},
		{"unknown category", opMSP, "dna", h, model.CodeCategoryNotFound},
		{"not a hash", opMSP, "tax", "370102199003071234", model.CodeInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.call(tc.msp, "anchor:AnchorRecord", tc.category, tc.hash)
			wantCode(t, err, tc.want)
		})
	}

	a := decode[model.RecordAnchor](t, e.must(opMSP, "anchor:AnchorRecord", "tax", h))
	if a.Provider != opMSP || a.Category != "tax" || a.TxID == "" {
		t.Fatalf("anchor %+v", a)
	}
	if ev := e.lastEvent(); ev.Name != model.EventRecordAnchored || ev.RecordHash != h {
		t.Fatalf("event %+v", ev)
	}
	_, err := e.call(opMSP, "anchor:AnchorRecord", "tax", h)
	wantCode(t, err, model.CodeAlreadyExists)
	// Upper-case hex names the same record.
	_, err = e.call(opMSP, "anchor:AnchorRecord", "tax", fmt.Sprintf("%X", sha256.Sum256([]byte("e-licence 0001"))))
	wantCode(t, err, model.CodeAlreadyExists)

	v := decode[model.Verification](t, e.must(bankMSP, "anchor:VerifyRecord", h))
	if !v.Valid || !v.Anchored || v.Revoked || v.Anchor == nil {
		t.Fatalf("verification %+v", v)
	}
	v = decode[model.Verification](t, e.must(bankMSP, "anchor:VerifyRecord", hash("forged")))
	if v.Valid || v.Anchored || v.Reason != string(model.CodeAnchorNotFound) {
		t.Fatalf("verification of an unknown record %+v", v)
	}

	_, err = e.call(bankMSP, "anchor:RevokeRecord", "tax", h, "WITHDRAWN")
	wantCode(t, err, model.CodeForbiddenMSP)
	_, err = e.call(opMSP, "anchor:RevokeRecord", "tax", h, "cancelled because 张三 asked")
	wantCode(t, err, model.CodeInvalidArgument)
	_, err = e.call(opMSP, "anchor:RevokeRecord", "tax", "xyz", "WITHDRAWN")
	wantCode(t, err, model.CodeInvalidArgument)
	e.must(opMSP, "anchor:RevokeRecord", "tax", h, "WITHDRAWN")
	if ev := e.lastEvent(); ev.Name != model.EventRecordRevoked {
		t.Fatalf("event %+v", ev)
	}
	_, err = e.call(opMSP, "anchor:RevokeRecord", "tax", h, "WITHDRAWN")
	wantCode(t, err, model.CodeRecordRevoked)
	v = decode[model.Verification](t, e.must(bankMSP, "anchor:VerifyRecord", h))
	if v.Valid || !v.Anchored || !v.Revoked || v.Revocation.Reason != "WITHDRAWN" || v.Reason != string(model.CodeRecordRevoked) {
		t.Fatalf("verification after revocation %+v", v)
	}
	_, err = e.query(bankMSP, "anchor:VerifyRecord", "nothex")
	wantCode(t, err, model.CodeInvalidArgument)
}

func TestAnchorBatchAndProofs(t *testing.T) {
	e := newEnv(t)
	e.bootstrap()
	var leaves [][]byte
	var hexes []string
	for i := 0; i < 13; i++ {
		sum := sha256.Sum256([]byte(fmt.Sprintf(`{"record":%d}`, i)))
		leaves = append(leaves, sum[:])
		hexes = append(hexes, fmt.Sprintf("%x", sum))
	}
	tree := merkle.New(leaves)
	batch := model.BatchAnchorRequest{BatchID: "housing_fund-2026-11-02-001", Category: "housing_fund", Root: tree.Root().String(), LeafCount: 13}
	mod := func(f func(b *model.BatchAnchorRequest)) string {
		b := batch
		f(&b)
		return mustJSON(b)
	}
	refusals := []struct {
		name  string
		msp   string
		input string
		want  model.Code
	}{
		{"bank cannot anchor a batch", bankMSP, mustJSON(batch), model.CodeForbiddenMSP},
		{"auditor cannot anchor a batch", auditMSP, mustJSON(batch), model.CodeForbiddenMSP},
		{"other provider's category", otherMSP, mustJSON(batch), model.CodeForbiddenMSP},
		{"zero leaves", opMSP, mod(func(b *model.BatchAnchorRequest) { b.LeafCount = 0 }), model.CodeInvalidArgument},
		{"bad root", opMSP, mod(func(b *model.BatchAnchorRequest) { b.Root = "00" }), model.CodeInvalidArgument},
		{"bad id", opMSP, mod(func(b *model.BatchAnchorRequest) { b.BatchID = "x" }), model.CodeInvalidArgument},
		{"malformed", opMSP, `[1,2]`, model.CodeMalformedJSON},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.call(tc.msp, "anchor:AnchorBatch", tc.input)
			wantCode(t, err, tc.want)
		})
	}
	b := decode[model.BatchAnchor](t, e.must(opMSP, "anchor:AnchorBatch", mustJSON(batch)))
	if b.Provider != opMSP || b.LeafCount != 13 || b.Root != tree.Root().String() {
		t.Fatalf("batch %+v", b)
	}
	if ev := e.lastEvent(); ev.Name != model.EventBatchAnchored || ev.BatchID != batch.BatchID {
		t.Fatalf("event %+v", ev)
	}
	_, err := e.call(opMSP, "anchor:AnchorBatch", mustJSON(batch))
	wantCode(t, err, model.CodeAlreadyExists)
	got := decode[model.BatchAnchor](t, e.must(auditMSP, "anchor:GetBatch", batch.BatchID))
	if got != b {
		t.Fatalf("GetBatch %+v, want %+v", got, b)
	}
	_, err = e.query(auditMSP, "anchor:GetBatch", "no-such-batch")
	wantCode(t, err, model.CodeBatchNotFound)

	proofOf := func(i int) []string {
		p, err := tree.Proof(uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		out := make([]string, len(p))
		for j := range p {
			out[j] = p[j].String()
		}
		return out
	}
	verify := func(req model.ProofRequest) (model.Verification, error) {
		out, err := e.query(bankMSP, "anchor:VerifyProof", mustJSON(req))
		if err != nil {
			return model.Verification{}, err
		}
		return decode[model.Verification](t, out), nil
	}
	for i := range leaves {
		v, err := verify(model.ProofRequest{BatchID: batch.BatchID, RecordHash: hexes[i], LeafIndex: uint64(i), Proof: proofOf(i)})
		if err != nil || !v.Valid || !v.Anchored {
			t.Fatalf("leaf %d: %+v %v", i, v, err)
		}
	}
	bad := proofOf(4)
	bad[0] = hash("tampered")
	invalid := []struct {
		name string
		req  model.ProofRequest
	}{
		{"tampered record", model.ProofRequest{BatchID: batch.BatchID, RecordHash: hash("tampered"), LeafIndex: 4, Proof: proofOf(4)}},
		{"tampered proof", model.ProofRequest{BatchID: batch.BatchID, RecordHash: hexes[4], LeafIndex: 4, Proof: bad}},
		{"wrong index", model.ProofRequest{BatchID: batch.BatchID, RecordHash: hexes[4], LeafIndex: 5, Proof: proofOf(4)}},
		{"index past the batch", model.ProofRequest{BatchID: batch.BatchID, RecordHash: hexes[4], LeafIndex: 13, Proof: proofOf(4)}},
		{"short proof", model.ProofRequest{BatchID: batch.BatchID, RecordHash: hexes[4], LeafIndex: 4, Proof: proofOf(4)[1:]}},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			v, err := verify(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if v.Valid || v.Anchored || v.Reason != string(model.CodeProofInvalid) {
				t.Fatalf("verification %+v", v)
			}
		})
	}
	errs := []struct {
		name string
		req  string
		want model.Code
	}{
		{"unknown batch", mustJSON(model.ProofRequest{BatchID: "nope-batch", RecordHash: hexes[0]}), model.CodeBatchNotFound},
		{"bad node", mustJSON(model.ProofRequest{BatchID: batch.BatchID, RecordHash: hexes[0], Proof: []string{"zz"}}), model.CodeInvalidArgument},
		{"bad record hash", mustJSON(model.ProofRequest{BatchID: batch.BatchID, RecordHash: "zz"}), model.CodeInvalidArgument},
		{"too long", mustJSON(model.ProofRequest{BatchID: batch.BatchID, RecordHash: hexes[0], Proof: make([]string, 65)}), model.CodeInputTooLarge},
		{"malformed", `{"batch_id":1}`, model.CodeMalformedJSON},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.query(bankMSP, "anchor:VerifyProof", tc.req)
			wantCode(t, err, tc.want)
		})
	}

	e.must(opMSP, "anchor:RevokeRecord", "housing_fund", hexes[7], "SUPERSEDED")
	v, err := verify(model.ProofRequest{BatchID: batch.BatchID, RecordHash: hexes[7], LeafIndex: 7, Proof: proofOf(7)})
	if err != nil || v.Valid || !v.Anchored || !v.Revoked || v.Reason != string(model.CodeRecordRevoked) {
		t.Fatalf("revoked leaf: %+v %v", v, err)
	}
}
