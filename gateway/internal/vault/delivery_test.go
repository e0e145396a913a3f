package vault

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
		_, err := im.Import(ctx, cat, bytes.NewReader(dataset(t, 21, citizens, cat)))
		require.NoError(t, err)
	}
	h := DeliveryHeader{
		AccessID: "acc-1", AuthorizationID: "auth-1", Requester: "BankMSP",
		Categories: []string{synth.Tax, synth.HousingFund}, DataFrom: "2025-11-01", DataTo: "2026-10-31",
	}
	for _, c := range citizens {
		recs, err := st.RecordsFor(ctx, mustRef(t, im, c.IDNumber), cats, h.DataFrom, h.DataTo)
		require.NoError(t, err)
		if len(recs) > 10 {
			return New(st), anchorer, h, recs
		}
	}
	t.Fatal("no employed citizen in the fixture")
	return nil, nil, h, nil
}

func TestDeliveryRoundTrip(t *testing.T) {
	v, anchorer, h, recs := deliveryFixture(t)
	d, err := v.BuildDelivery(ctx, h, recs)
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(d.Body), d.Digest)
	assert.Len(t, d.DigestHex(), 64)
	assert.Equal(t, len(recs), d.RecordCount)
	assert.True(t, json.Valid(d.Body))

	// Deterministic: a retry delivers the same bytes.
	again, err := v.BuildDelivery(ctx, h, recs)
	require.NoError(t, err)
	assert.Equal(t, d.Body, again.Body)

	got, err := VerifyDelivery(ctx, d.Body, anchorer.lookup)
	require.NoError(t, err)
	assert.Equal(t, "acc-1", got.AccessID)
	assert.Equal(t, []string{synth.HousingFund, synth.Tax}, got.Categories, "sorted")
	require.Len(t, got.Records, len(recs))
	for i, r := range got.Records {
		assert.Equal(t, recs[i].Body, []byte(r.Record), "bytes exactly as stored")
		assert.NotEmpty(t, r.Proof.AnchorTxID)
	}
}

func TestDeliveryTampering(t *testing.T) {
	v, anchorer, h, recs := deliveryFixture(t)
	d, err := v.BuildDelivery(ctx, h, recs)
	require.NoError(t, err)
	reencode := func(t *testing.T, edit func(b *DeliveryBody)) []byte {
		var b DeliveryBody
		require.NoError(t, json.Unmarshal(d.Body, &b))
		edit(&b)
		out, err := json.Marshal(b)
		require.NoError(t, err)
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
		{"an unknown batch", reencode(t, func(b *DeliveryBody) { b.Records[0].Proof.BatchID = "tax-000000000000000000000000" }), "BATCH_NOT_FOUND"},
		{"narrower terms", reencode(t, func(b *DeliveryBody) { b.Categories = []string{synth.Tax} }), "outside"},
		{"another type", reencode(t, func(b *DeliveryBody) { b.Type = "other" }), "type"},
		{"an unknown member", bytes.Replace(d.Body, []byte(`{"type"`), []byte(`{"x":1,"type"`), 1), "decode"},
		{"trailing data", append(bytes.Clone(d.Body), []byte(` {}`)...), "decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := VerifyDelivery(ctx, tt.body, anchorer.lookup)
			require.ErrorIs(t, err, ErrDeliveryInvalid)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "citizen_id")
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
	_, err := im.Import(ctx, synth.Tax, strings.NewReader(line))
	require.NoError(t, err)
	recs, err := st.RecordsFor(ctx, mustRef(t, im, c.IDNumber), nil, "", "")
	require.NoError(t, err)
	require.Len(t, recs, 1)
	_, err = New(st).BuildDelivery(ctx, DeliveryHeader{Categories: []string{synth.Tax}}, recs)
	require.ErrorIs(t, err, ErrNotAnchored)

	recs[0].Body = []byte(`{"category":"tax"}`) // not the stored bytes
	_, err = New(st).BuildDelivery(ctx, DeliveryHeader{}, recs)
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestPredicateDelivery(t *testing.T) {
	h := DeliveryHeader{AccessID: "acc-2", AuthorizationID: "auth-9", Requester: "InsurerMSP"}
	d, err := BuildPredicateDelivery(h, PredicateDeceasedBefore, map[string]string{"date": "2026-06-01"}, true)
	require.NoError(t, err)
	assert.Equal(t, `{"type":"quanchain.predicate.v1","access_id":"acc-2","authorization_id":"auth-9","requester":"InsurerMSP","predicate":"DECEASED_BEFORE","params":{"date":"2026-06-01"},"answer":true}`, string(d.Body))
	assert.Equal(t, sha256.Sum256(d.Body), d.Digest)
	assert.Zero(t, d.RecordCount)
}
