package vault

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/synth"
)

func TestImportSynthData(t *testing.T) {
	st := openStore(t, sqliteDSN(t))
	anchorer := newFakeAnchorer()
	im := newImporter(t, st, anchorer)
	citizens := synth.Citizens(11, 50)

	datasets := map[string][]byte{}
	lines := 0
	for _, cat := range synth.Categories() {
		datasets[cat] = dataset(t, 11, citizens, cat)
		res, err := im.Import(ctx, cat, bytes.NewReader(datasets[cat]))
		require.NoError(t, err, cat)
		require.Positive(t, res.Lines, cat)
		assert.Equal(t, res.Lines, res.Inserted, cat)
		assert.Equal(t, len(res.Batches), res.Anchored, cat)
		lines += res.Lines
	}
	open, err := st.UnanchoredBatches(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, open, "every batch is anchored")

	// Every record of every citizen proves against its anchored batch.
	v := New(st)
	seen := 0
	for _, c := range citizens {
		ref, err := im.Pseudonymiser.Ref(c.IDNumber)
		require.NoError(t, err)
		recs, err := st.RecordsFor(ctx, ref, nil, "", "")
		require.NoError(t, err)
		proofs, err := v.Proofs(ctx, recs)
		require.NoError(t, err)
		for i, r := range recs {
			assert.Contains(t, string(r.Body), c.IDNumber, "the body is the provider's record")
			proof := proofs[i]
			root, count, err := anchorer.lookup(ctx, proof.BatchID)
			require.NoError(t, err)
			require.Equal(t, root, proof.Root.String())
			require.EqualValues(t, count, proof.LeafCount)
			require.Equal(t, anchorer.batches[proof.BatchID].txID, proof.AnchorTxID)
			require.NoError(t, proof.Verify(RecordHash(r.Body)))
			seen++
		}
	}
	assert.Equal(t, lines, seen)
	t.Logf("%d records in %d batches", seen, len(anchorer.batches))

	// A tampered record does not verify.
	recs, err := st.RecordsFor(ctx, mustRef(t, im, citizens[0].IDNumber), []string{synth.HousingFund}, "", "")
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	proof, err := v.Proof(ctx, recs[0].Hash)
	require.NoError(t, err)
	require.NoError(t, proof.Verify(RecordHash(recs[0].Body)))
	tampered := bytes.Replace(recs[0].Body, []byte(`"amount_fen":`), []byte(`"amount_fen":9`), 1)
	require.NotEqual(t, recs[0].Body, tampered)
	require.ErrorIs(t, proof.Verify(RecordHash(tampered)), merkle.ErrRootMismatch)

	// Importing again is a no-op.
	calls := anchorer.calls
	for _, cat := range synth.Categories() {
		res, err := im.Import(ctx, cat, bytes.NewReader(datasets[cat]))
		require.NoError(t, err)
		assert.Zero(t, res.Inserted, cat)
		assert.Equal(t, res.Lines, res.Duplicates, cat)
		assert.Empty(t, res.Batches, cat)
		assert.Zero(t, res.Anchored, cat)
	}
	assert.Equal(t, calls, anchorer.calls, "nothing anchored twice")

	_, err = v.Proof(ctx, strings.Repeat("0", 64))
	require.ErrorIs(t, err, store.ErrNotFound)
}

func mustRef(t *testing.T, im *Importer, id string) string {
	t.Helper()
	ref, err := im.Pseudonymiser.Ref(id)
	require.NoError(t, err)
	return ref
}

func TestImportRetriesFailedAnchor(t *testing.T) {
	dsn := sqliteDSN(t)
	st := openStore(t, dsn)
	anchorer := newFakeAnchorer()
	anchorer.failOn[2] = true // the second batch fails outright
	anchorer.lose[3] = true   // the third commits, but the answer is lost
	im := newImporter(t, st, anchorer)
	data := dataset(t, 5, synth.Citizens(5, 40), synth.SocialSecurity)

	res, err := im.Import(ctx, synth.SocialSecurity, bytes.NewReader(data))
	require.ErrorContains(t, err, "endorsement failed")
	require.Greater(t, len(res.Batches), 4)
	assert.Equal(t, 1, res.Anchored)
	assert.Equal(t, res.Lines, res.Inserted, "records are stored even though anchoring failed")

	// Restart: a new store handle and importer over the same database.
	require.NoError(t, st.Close())
	st = openStore(t, dsn)
	im = newImporter(t, st, anchorer)
	_, err = im.AnchorPending(ctx)
	require.ErrorContains(t, err, "deadline exceeded", "batch 3's answer is lost once")
	n, err := im.AnchorPending(ctx)
	require.NoError(t, err)
	assert.Equal(t, len(res.Batches)-1, n)
	open, err := st.UnanchoredBatches(ctx, 100)
	require.NoError(t, err)
	assert.Empty(t, open)
	assert.Len(t, anchorer.batches, len(res.Batches), "the lost batch was not anchored twice")

	// Every batch's stored anchor is the ledger's.
	for _, b := range res.Batches {
		got, err := st.GetBatch(ctx, b.ID)
		require.NoError(t, err)
		assert.Equal(t, anchorer.batches[b.ID].txID, got.AnchoredTxID)
	}

	// Importing again finds nothing to do.
	again, err := im.Import(ctx, synth.SocialSecurity, bytes.NewReader(data))
	require.NoError(t, err)
	assert.Zero(t, again.Inserted)
	assert.Zero(t, again.Anchored)
}

func TestImportWithoutAnchorer(t *testing.T) {
	st := openStore(t, sqliteDSN(t))
	im := newImporter(t, st, nil)
	res, err := im.Import(ctx, synth.Tax, bytes.NewReader(dataset(t, 2, synth.Citizens(2, 10), synth.Tax)))
	require.NoError(t, err)
	require.NotEmpty(t, res.Batches)
	assert.Zero(t, res.Anchored)
	im.Anchorer = newFakeAnchorer()
	n, err := im.AnchorPending(ctx)
	require.NoError(t, err)
	assert.Equal(t, len(res.Batches), n)
}

func TestImportLineErrors(t *testing.T) {
	const id = "11010519491231002X"
	good := `{"category":"tax","citizen_id":"` + id + `","record_date":"2026-01-25","tax_fen":1}`
	long := `{"category":"tax","citizen_id":"` + id + `","record_date":"2026-01-25","pad":"` + strings.Repeat("x", 300) + `"}`
	tests := []struct {
		name  string
		input string
		line  int
		want  error
	}{
		{"malformed JSON", good + "\n{\"category\":", 2, ErrMalformed},
		{"array", "[1,2]", 1, ErrMalformed},
		{"duplicate member", `{"category":"tax","category":"tax","citizen_id":"` + id + `","record_date":"2026-01-25"}`, 1, ErrMalformed},
		{"missing citizen", `{"category":"tax","record_date":"2026-01-25"}`, 1, ErrMalformed},
		{"citizen is a number", `{"category":"tax","citizen_id":110105,"record_date":"2026-01-25"}`, 1, ErrMalformed},
		{"trailing data", good + ` {}`, 1, ErrMalformed},
		{"wrong category", strings.Replace(good, `"tax"`, `"real_estate"`, 1), 1, ErrWrongCategory},
		{"bad date", strings.Replace(good, "2026-01-25", "2026-02-30", 1), 1, ErrBadDate},
		{"date with time", strings.Replace(good, "2026-01-25", "2026-01-25T00:00:00Z", 1), 1, ErrBadDate},
		{"bad check character", "\n\n" + strings.Replace(good, id, "110105194912310021", 1), 3, ErrBadCitizenID},
		{"line too long", good + "\n" + long, 2, ErrLineTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t, sqliteDSN(t))
			im := newImporter(t, st, newFakeAnchorer())
			im.MaxLineBytes = 200
			_, err := im.Import(ctx, synth.Tax, strings.NewReader(tt.input))
			var le *LineError
			require.True(t, errors.As(err, &le), "got %v", err)
			assert.Equal(t, tt.line, le.Line)
			require.ErrorIs(t, err, tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), fmt.Sprintf("line %d: ", tt.line)), err.Error())
			// No content in the error: neither the ID number nor values.
			assert.NotContains(t, err.Error(), "110105")
			assert.NotContains(t, err.Error(), "2026-")
			// Nothing of the failed chunk was stored.
			open, err := st.UnanchoredRecords(ctx, synth.Tax, 10)
			require.NoError(t, err)
			assert.Empty(t, open)
		})
	}

	st := openStore(t, sqliteDSN(t))
	im := newImporter(t, st, nil)
	_, err := im.Import(ctx, "passport", strings.NewReader(good))
	require.ErrorContains(t, err, "not served")

	// White space inside a record is kept: the record is stored, hashed
	// and later delivered byte for byte as given.
	spaced := `{"category": "tax", "citizen_id": "` + id + `", "record_date": "2026-01-25"}`
	res, err := im.Import(ctx, synth.Tax, strings.NewReader("  "+spaced+"\r\n"))
	require.NoError(t, err)
	require.Equal(t, 1, res.Inserted)
	sum := RecordHash([]byte(spaced))
	rec, err := st.RecordByHash(ctx, hex.EncodeToString(sum[:]))
	require.NoError(t, err)
	assert.Equal(t, spaced, string(rec.Body))
}
