package vault

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/synth"
)

// deliveryFixture imports two categories for a few citizens and returns the
// vault, the fake ledger and one citizen's records of both categories.
func deliveryFixture(t *testing.T) (*Vault, *fakeAnchorer, DeliveryHeader, []store.Record) {
	t.Helper()
	st := openStore(t, sqliteDSN(t))
	anchorer := newFakeAnchorer()
	im := newImporter(t, st, anchorer)
	citizens := synth.Citizens(21, 8)
	cats := []string{synth.HousingFund, synth.Tax}
	for _, cat := range cats {
		if _, err := im.Import(ctx, cat, bytes.NewReader(dataset(t, 21, citizens, cat))); err != nil {
			t.Fatalf("Import(%s): %v", cat, err)
		}
	}
	h := DeliveryHeader{
		AccessID: "acc-1", AuthorizationID: "auth-1", Requester: "BankMSP",
		Categories: []string{synth.Tax, synth.HousingFund}, DataFrom: "2025-11-01", DataTo: "2026-10-31",
	}
	for _, c := range citizens {
		recs, err := st.RecordsFor(ctx, mustRef(t, im, c.IDNumber), cats, h.DataFrom, h.DataTo)
		if err != nil {
			t.Fatalf("RecordsFor: %v", err)
		}
		if len(recs) > 10 {
			return New(st), anchorer, h, recs
		}
	}
	t.Fatal("no employed citizen in the fixture")
	return nil, nil, h, nil
}

func TestDeliveryRoundTrip(t *testing.T) {
	v, anchorer, h, recs := deliveryFixture(t)
	salt := NewDigestSalt()
	d, err := v.BuildDelivery(ctx, h, salt, recs)
	if err != nil {
		t.Fatalf("BuildDelivery: %v", err)
	}
	if d.Digest != sha256.Sum256(append(bytes.Clone(salt), d.Body...)) || d.Digest != sha256.Sum256(d.Plaintext()) {
		t.Errorf("Digest is not the SHA-256 of the salt and the body")
	}
	if gotSalt, body, err := SplitPlaintext(d.Plaintext()); err != nil || !bytes.Equal(gotSalt, salt) || !bytes.Equal(body, d.Body) {
		t.Errorf("SplitPlaintext: %x %v, want the salt and the body", gotSalt, err)
	}
	if got := len(d.DigestHex()); got != 64 {
		t.Errorf("len(DigestHex()) = %d, want 64", got)
	}
	if d.RecordCount != len(recs) {
		t.Errorf("RecordCount = %d, want %d", d.RecordCount, len(recs))
	}
	if !json.Valid(d.Body) {
		t.Errorf("the body is not JSON: %s", d.Body)
	}

	// Deterministic: a retry delivers the same bytes.
	again, err := v.BuildDelivery(ctx, h, salt, recs)
	if err != nil {
		t.Fatalf("BuildDelivery again: %v", err)
	}
	if !bytes.Equal(again.Body, d.Body) || again.Digest != d.Digest {
		t.Errorf("a retry delivers other bytes:\n%s\n%s", again.Body, d.Body)
	}
	if _, err := v.BuildDelivery(ctx, h, salt[1:], recs); !errors.Is(err, ErrDigestSalt) {
		t.Errorf("BuildDelivery with a 31-byte salt: %v, want %v", err, ErrDigestSalt)
	}

	got, err := VerifyDelivery(ctx, d.Body, anchorer.lookup)
	if err != nil {
		t.Fatalf("VerifyDelivery: %v", err)
	}
	if got.AccessID != "acc-1" {
		t.Errorf("AccessID = %q, want %q", got.AccessID, "acc-1")
	}
	if want := []string{synth.HousingFund, synth.Tax}; !slices.Equal(got.Categories, want) {
		t.Errorf("Categories = %q, want %q (sorted)", got.Categories, want)
	}
	if len(got.Records) != len(recs) {
		t.Fatalf("%d records delivered, want %d", len(got.Records), len(recs))
	}
	for i, r := range got.Records {
		if !bytes.Equal([]byte(r.Record), recs[i].Body) {
			t.Errorf("record %d = %s, want the bytes exactly as stored: %s", i, r.Record, recs[i].Body)
		}
		if r.Proof.AnchorTxID == "" {
			t.Errorf("record %d: no anchor transaction id", i)
		}
		if r.Proof.Salt != hex.EncodeToString(recs[i].Salt) || len(recs[i].Salt) != merkle.SaltSize {
			t.Errorf("record %d: proof salt %q, want the record's salt %x", i, r.Proof.Salt, recs[i].Salt)
		}
	}
}

func TestDeliveryTampering(t *testing.T) {
	v, anchorer, h, recs := deliveryFixture(t)
	d, err := v.BuildDelivery(ctx, h, NewDigestSalt(), recs)
	if err != nil {
		t.Fatalf("BuildDelivery: %v", err)
	}
	reencode := func(t *testing.T, edit func(b *DeliveryBody)) []byte {
		t.Helper()
		var b DeliveryBody
		if err := json.Unmarshal(d.Body, &b); err != nil {
			t.Fatalf("decode the delivery: %v", err)
		}
		edit(&b)
		out, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode the delivery: %v", err)
		}
		return out
	}
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"a figure in a record", bytes.Replace(d.Body, []byte(`"tax_fen":`), []byte(`"tax_fen":1`), 1), "record hash"},
		{"a record and its hash", reencode(t, func(b *DeliveryBody) {
			setRecord(b, 0, strings.Replace(string(b.Records[0].Record), `"month":"`, `"month":"1`, 1))
		}), "root does not match"},
		{"a record's date", reencode(t, func(b *DeliveryBody) {
			setRecord(b, 0, strings.Replace(string(b.Records[0].Record), `"record_date":"2`, `"record_date":"1`, 1))
		}), "does not match its category or date"},
		{"a forged proof root", reencode(t, func(b *DeliveryBody) { b.Records[0].Proof.Root[0] ^= 1 }), "anchored"},
		{"a forged leaf count", reencode(t, func(b *DeliveryBody) { b.Records[1].Proof.LeafCount++ }), "anchored"},
		{"a wrong index", reencode(t, func(b *DeliveryBody) { b.Records[0].Proof.LeafIndex ^= 1 }), "merkle"},
		{"no salt", reencode(t, func(b *DeliveryBody) { b.Records[0].Proof.Salt = "" }), "root does not match"},
		{"another record's salt", reencode(t, func(b *DeliveryBody) { b.Records[0].Proof.Salt = b.Records[1].Proof.Salt }), "root does not match"},
		{"a malformed salt", reencode(t, func(b *DeliveryBody) { b.Records[0].Proof.Salt = "00" }), "salt"},
		{"an unknown batch", reencode(t, func(b *DeliveryBody) { b.Records[0].Proof.BatchID = "tax-000000000000000000000000" }), "BATCH_NOT_FOUND"},
		{"narrower terms", reencode(t, func(b *DeliveryBody) { b.Categories = []string{synth.Tax} }), "outside"},
		{"another type", reencode(t, func(b *DeliveryBody) { b.Type = "other" }), "type"},
		{"an unknown member", bytes.Replace(d.Body, []byte(`{"type"`), []byte(`{"x":1,"type"`), 1), "decode"},
		{"trailing data", append(bytes.Clone(d.Body), []byte(` {}`)...), "decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := VerifyDelivery(ctx, tt.body, anchorer.lookup)
			if !errors.Is(err, ErrDeliveryInvalid) {
				t.Fatalf("VerifyDelivery: %v, want %v", err, ErrDeliveryInvalid)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("VerifyDelivery: %q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "citizen_id") {
				t.Errorf("VerifyDelivery: %q names a record's content", err)
			}
		})
	}
}

// setRecord replaces record i and its hash, as a forger would.
func setRecord(b *DeliveryBody, i int, record string) {
	sum := RecordHash([]byte(record))
	b.Records[i].Record = json.RawMessage(record)
	b.Records[i].RecordHash = hex.EncodeToString(sum[:])
}

func TestDeliveryNeedsAnchors(t *testing.T) {
	st := openStore(t, sqliteDSN(t))
	im := newImporter(t, st, nil) // batches made, not anchored
	c := synth.Citizens(3, 1)[0]
	line := `{"category":"tax","citizen_id":"` + c.IDNumber + `","record_date":"2026-01-25"}`
	if _, err := im.Import(ctx, synth.Tax, strings.NewReader(line)); err != nil {
		t.Fatalf("Import: %v", err)
	}
	recs, err := st.RecordsFor(ctx, mustRef(t, im, c.IDNumber), nil, "", "")
	if err != nil {
		t.Fatalf("RecordsFor: %v", err)
	}
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	_, err = New(st).BuildDelivery(ctx, DeliveryHeader{Categories: []string{synth.Tax}}, NewDigestSalt(), recs)
	if !errors.Is(err, ErrNotAnchored) {
		t.Fatalf("BuildDelivery before anchoring: %v, want %v", err, ErrNotAnchored)
	}

	recs[0].Body = []byte(`{"category":"tax"}`) // not the stored bytes
	_, err = New(st).BuildDelivery(ctx, DeliveryHeader{}, NewDigestSalt(), recs)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("BuildDelivery of altered bytes: %v, want %v", err, ErrCorrupt)
	}
}

func TestPredicateDelivery(t *testing.T) {
	h := DeliveryHeader{AccessID: "acc-2", AuthorizationID: "auth-9", Requester: "InsurerMSP"}
	salt := NewDigestSalt()
	d, err := BuildPredicateDelivery(h, salt, PredicateDeceasedBefore, map[string]string{"date": "2026-06-01"}, true)
	if err != nil {
		t.Fatalf("BuildPredicateDelivery: %v", err)
	}
	const want = `{"type":"quanchain.predicate.v1","access_id":"acc-2","authorization_id":"auth-9","requester":"InsurerMSP","predicate":"DECEASED_BEFORE","params":{"date":"2026-06-01"},"answer":true}`
	if string(d.Body) != want {
		t.Errorf("body:\n got %s\nwant %s", d.Body, want)
	}
	if d.Digest != sha256.Sum256(append(bytes.Clone(salt), d.Body...)) {
		t.Errorf("Digest is not the SHA-256 of the salt and the body")
	}
	if d.RecordCount != 0 {
		t.Errorf("RecordCount = %d, want 0", d.RecordCount)
	}
}
