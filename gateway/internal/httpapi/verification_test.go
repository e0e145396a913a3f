package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/gateway/internal/synth"
)

type verificationOut struct {
	RecordHash string `json:"record_hash"`
	Category   string `json:"category"`
	Valid      bool   `json:"valid"`
	Anchored   bool   `json:"anchored"`
	Revoked    bool   `json:"revoked"`
	Reason     string `json:"reason"`
	Anchor     *struct {
		TxID string `json:"tx_id"`
	} `json:"anchor"`
	Batch *struct {
		BatchID string `json:"batch_id"`
		Root    string `json:"root"`
	} `json:"batch"`
	Proof *verificationProof `json:"proof"`
}

func TestVerifications(t *testing.T) {
	x := newXnet(t)
	// The bank received records with proofs.
	w := x.bank.do(t, "POST", "/v1/data-requests", recordsRequest(authBank, synth.HousingFund))
	if w.Code != 200 {
		t.Fatalf("data request: %d %s", w.Code, w.Body)
	}
	got := decodeBody[dataResult](t, w)
	rec := got.Records[3]
	path := make([]string, len(rec.Proof.Path))
	for i, h := range rec.Proof.Path {
		path[i] = h.String()
	}
	proofJSON, _ := json.Marshal(path)

	// The same record re-ordered and indented, as another system may hold it.
	var m map[string]any
	json.Unmarshal(rec.Record, &m)
	pretty, _ := json.MarshalIndent(m, "", "  ")
	reordered := []byte(strings.Replace(string(rec.Record), `{"amount_fen":120000,`, `{`, 1))
	reordered = append(reordered[:len(reordered)-1], []byte(`,"amount_fen":120000}`)...)

	// A document anchored on its own, and a revoked one.
	doc := sha256.Sum256([]byte("e-licence PDF"))
	docHash := hex.EncodeToString(doc[:])
	x.submit("BureauMSP", "anchor:AnchorRecord", synth.ELicence, docHash)
	gone := sha256.Sum256([]byte("withdrawn licence"))
	goneHash := hex.EncodeToString(gone[:])
	x.submit("BureauMSP", "anchor:AnchorRecord", synth.ELicence, goneHash)
	x.revoke(goneHash, synth.ELicence)
	unknown := strings.Repeat("0", 64)

	withSaltedProof := func(record []byte, batch string, index int, proof []byte, salt string) string {
		return `{"category":"housing_fund","record":` + string(record) + `,"batch_id":"` + batch + `","leaf_index":` +
			jsonNumber(index) + `,"proof":` + string(proof) + `,"salt":"` + salt + `"}`
	}
	withProof := func(record []byte, batch string, index int, proof []byte) string {
		return withSaltedProof(record, batch, index, proof, rec.Proof.Salt)
	}
	for _, tc := range []struct {
		name     string
		gw       *requesterGateway
		body     string
		anchored bool
		valid    bool
		reason   string
		hash     string
	}{
		{"record with its proof", x.bank, withProof(rec.Record, rec.Proof.BatchID, int(rec.Proof.LeafIndex), proofJSON), true, true, "", rec.RecordHash},
		{"record re-ordered, with its proof", x.bank, withProof(reordered, rec.Proof.BatchID, int(rec.Proof.LeafIndex), proofJSON), true, true, "", rec.RecordHash},
		{"record indented, with its proof", x.bank, withProof(pretty, rec.Proof.BatchID, int(rec.Proof.LeafIndex), proofJSON), true, true, "", rec.RecordHash},
		{"altered record", x.bank, withProof(bytes.Replace(rec.Record, []byte("120000"), []byte("990000"), 1), rec.Proof.BatchID, int(rec.Proof.LeafIndex), proofJSON), false, false, "PROOF_INVALID", ""},
		{"record with its proof, without its salt", x.bank, withSaltedProof(rec.Record, rec.Proof.BatchID, int(rec.Proof.LeafIndex), proofJSON, ""), false, false, "PROOF_INVALID", rec.RecordHash},
		{"record with its proof, another record's salt", x.bank, withSaltedProof(rec.Record, rec.Proof.BatchID, int(rec.Proof.LeafIndex), proofJSON, got.Records[2].Proof.Salt), false, false, "PROOF_INVALID", rec.RecordHash},
		{"wrong leaf index", x.bank, withProof(rec.Record, rec.Proof.BatchID, int(rec.Proof.LeafIndex)+1, proofJSON), false, false, "PROOF_INVALID", rec.RecordHash},
		{"unknown batch", x.bank, withProof(rec.Record, "housing_fund-000000000000", 0, []byte("[]")), false, false, "BATCH_NOT_FOUND", rec.RecordHash},
		{"batch member without proof, bank holds no safe", x.bank, `{"category":"housing_fund","record":` + string(rec.Record) + `}`, false, false, "ANCHOR_NOT_FOUND", rec.RecordHash},
		{"document anchored alone", x.bank, `{"document_sha256":"` + strings.ToUpper(docHash) + `"}`, true, true, "", docHash},
		{"document under its category", x.bank, `{"category":"e_licence","document_sha256":"` + docHash + `"}`, true, true, "", docHash},
		{"document under another category", x.bank, `{"category":"tax","document_sha256":"` + docHash + `"}`, true, false, "CATEGORY_MISMATCH", docHash},
		{"revoked document", x.bank, `{"document_sha256":"` + goneHash + `"}`, true, false, "RECORD_REVOKED", goneHash},
		{"unknown document", x.bank, `{"document_sha256":"` + unknown + `"}`, false, false, "ANCHOR_NOT_FOUND", unknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.gw.do(t, "POST", "/v1/verifications", tc.body)
			if w.Code != 200 {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			v := decodeBody[verificationOut](t, w)
			if v.Anchored != tc.anchored || v.Valid != tc.valid || v.Reason != tc.reason || (tc.hash != "" && v.RecordHash != tc.hash) {
				t.Fatalf("got %s", w.Body)
			}
		})
	}

	// A gateway holding the safe finds the proof of a batch member itself.
	vr, err := NewVerificationAPI(VerificationConfig{Ledger: x.bank.ledger, Proofs: x.vault})
	if err != nil {
		t.Fatal(err)
	}
	x.bank.srv.Verifications = vr
	w = x.bank.do(t, "POST", "/v1/verifications", `{"category":"housing_fund","record":`+string(pretty)+`}`)
	v := decodeBody[verificationOut](t, w)
	if w.Code != 200 || !v.Valid || v.Proof == nil || v.Proof.BatchID != rec.Proof.BatchID || v.Batch == nil || v.Batch.Root != rec.Proof.Root.String() {
		t.Fatalf("found proof: %d %s", w.Code, w.Body)
	}
	// Revoked on the ledger: anchored, not valid.
	x.revoke(rec.RecordHash, synth.HousingFund)
	w = x.bank.do(t, "POST", "/v1/verifications", `{"category":"housing_fund","record":`+string(rec.Record)+`}`)
	v = decodeBody[verificationOut](t, w)
	if w.Code != 200 || !v.Anchored || v.Valid || !v.Revoked || v.Reason != "RECORD_REVOKED" {
		t.Fatalf("revoked: %d %s", w.Code, w.Body)
	}
	if got := x.accessSubmits(); len(got) != 1 {
		t.Fatalf("verifications submitted %v", got)
	}
}

func jsonNumber(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
