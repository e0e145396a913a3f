package vault

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
		if err != nil {
			t.Fatalf("Import(%s): %v", cat, err)
		}
		if res.Lines <= 0 {
			t.Fatalf("Import(%s): %d lines", cat, res.Lines)
		}
		if res.Inserted != res.Lines {
			t.Errorf("Import(%s): %d inserted of %d lines", cat, res.Inserted, res.Lines)
		}
		if res.Anchored != len(res.Batches) {
			t.Errorf("Import(%s): %d anchored of %d batches", cat, res.Anchored, len(res.Batches))
		}
		lines += res.Lines
	}
	open, err := st.UnanchoredBatches(ctx, 10)
	if err != nil {
		t.Fatalf("UnanchoredBatches: %v", err)
	}
	if len(open) != 0 {
		t.Errorf("%d batches not anchored, want every batch anchored", len(open))
	}

	// Every record of every citizen proves against its anchored batch.
	v := New(st)
	seen := 0
	for _, c := range citizens {
		recs, err := st.RecordsFor(ctx, mustRef(t, im, c.IDNumber), nil, "", "")
		if err != nil {
			t.Fatalf("RecordsFor: %v", err)
		}
		proofs, err := v.Proofs(ctx, recs)
		if err != nil {
			t.Fatalf("Proofs: %v", err)
		}
		for i, r := range recs {
			if !bytes.Contains(r.Body, []byte(c.IDNumber)) {
				t.Errorf("record %d: the body is not the provider's record: %s", r.ID, r.Body)
			}
			proof := proofs[i]
			root, count, err := anchorer.lookup(ctx, proof.BatchID)
			if err != nil {
				t.Fatalf("lookup(%s): %v", proof.BatchID, err)
			}
			if got := proof.Root.String(); got != root {
				t.Fatalf("record %d: proof root %s, anchored %s", r.ID, got, root)
			}
			if proof.LeafCount != uint64(count) {
				t.Fatalf("record %d: proof leaf count %d, anchored %d", r.ID, proof.LeafCount, count)
			}
			if want := anchorer.batches[proof.BatchID].txID; proof.AnchorTxID != want {
				t.Fatalf("record %d: anchor transaction %q, want %q", r.ID, proof.AnchorTxID, want)
			}
			if err := proof.Verify(RecordHash(r.Body)); err != nil {
				t.Fatalf("record %d: Verify: %v", r.ID, err)
			}
			seen++
		}
	}
	if seen != lines {
		t.Errorf("%d records proved, want %d", seen, lines)
	}
	t.Logf("%d records in %d batches", seen, len(anchorer.batches))

	// A tampered record does not verify.
	recs, err := st.RecordsFor(ctx, mustRef(t, im, citizens[0].IDNumber), []string{synth.HousingFund}, "", "")
	if err != nil {
		t.Fatalf("RecordsFor: %v", err)
	}
	if len(recs) == 0 {
		t.Fatalf("no housing-fund records for the first citizen")
	}
	proof, err := v.Proof(ctx, recs[0].Hash)
	if err != nil {
		t.Fatalf("Proof: %v", err)
	}
	if err := proof.Verify(RecordHash(recs[0].Body)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	tampered := bytes.Replace(recs[0].Body, []byte(`"amount_fen":`), []byte(`"amount_fen":9`), 1)
	if bytes.Equal(tampered, recs[0].Body) {
		t.Fatalf("the record has no amount_fen to tamper with: %s", recs[0].Body)
	}
	if err := proof.Verify(RecordHash(tampered)); !errors.Is(err, merkle.ErrRootMismatch) {
		t.Fatalf("Verify of a tampered record: %v, want %v", err, merkle.ErrRootMismatch)
	}

	// Importing again is a no-op.
	calls := anchorer.calls
	for _, cat := range synth.Categories() {
		res, err := im.Import(ctx, cat, bytes.NewReader(datasets[cat]))
		if err != nil {
			t.Fatalf("Import(%s) again: %v", cat, err)
		}
		if res.Inserted != 0 || res.Duplicates != res.Lines || len(res.Batches) != 0 || res.Anchored != 0 {
			t.Errorf("Import(%s) again = %+v, want every line a duplicate and nothing batched or anchored", cat, res)
		}
	}
	if anchorer.calls != calls {
		t.Errorf("%d anchor calls on the second import, want none", anchorer.calls-calls)
	}

	if _, err := v.Proof(ctx, strings.Repeat("0", 64)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Proof of an unknown hash: %v, want %v", err, store.ErrNotFound)
	}
}

func mustRef(t *testing.T, im *Importer, id string) string {
	t.Helper()
	ref, err := im.Pseudonymiser.Ref(id)
	if err != nil {
		t.Fatalf("Ref: %v", err)
	}
	return ref
}

func TestImportRetriesFailedAnchor(t *testing.T) {
	dsn := sqliteDSN(t)
	st := openStore(t, dsn)
	anchorer := newFakeAnchorer()
	anchorer.failOn[2] = true // the second batch fails outright
	anchorer.lose[3] = true   // the third commits, but the answer is lost
	im := newImporter(t, st, anchorer)
	im.AnchorParallelism = 1 // one anchor at a time, so the failing calls are known batches
	data := dataset(t, 5, synth.Citizens(5, 40), synth.SocialSecurity)

	res, err := im.Import(ctx, synth.SocialSecurity, bytes.NewReader(data))
	if err == nil || !strings.Contains(err.Error(), "endorsement failed") {
		t.Fatalf("Import: %v, want the endorsement failure", err)
	}
	if len(res.Batches) <= 4 {
		t.Fatalf("%d batches, want more than 4", len(res.Batches))
	}
	if res.Anchored != 1 {
		t.Errorf("%d batches anchored, want 1", res.Anchored)
	}
	if res.Inserted != res.Lines {
		t.Errorf("%d records stored of %d lines: records are stored even though anchoring failed", res.Inserted, res.Lines)
	}

	// Restart: a new store handle and importer over the same database.
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st = openStore(t, dsn)
	im = newImporter(t, st, anchorer)
	im.AnchorParallelism = 1
	if _, err := im.AnchorPending(ctx); err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("AnchorPending: %v, want batch 3's answer lost once", err)
	}
	n, err := im.AnchorPending(ctx)
	if err != nil {
		t.Fatalf("AnchorPending: %v", err)
	}
	if want := len(res.Batches) - 1; n != want {
		t.Errorf("AnchorPending anchored %d batches, want %d", n, want)
	}
	open, err := st.UnanchoredBatches(ctx, 100)
	if err != nil {
		t.Fatalf("UnanchoredBatches: %v", err)
	}
	if len(open) != 0 {
		t.Errorf("%d batches not anchored, want none", len(open))
	}
	if len(anchorer.batches) != len(res.Batches) {
		t.Errorf("%d batches on the ledger, want %d: the lost batch was not anchored twice", len(anchorer.batches), len(res.Batches))
	}

	// Every batch's stored anchor is the ledger's.
	for _, b := range res.Batches {
		got, err := st.GetBatch(ctx, b.ID)
		if err != nil {
			t.Fatalf("GetBatch(%s): %v", b.ID, err)
		}
		if want := anchorer.batches[b.ID].txID; got.AnchoredTxID != want {
			t.Errorf("batch %s: stored anchor %q, the ledger's %q", b.ID, got.AnchoredTxID, want)
		}
	}

	// Importing again finds nothing to do.
	again, err := im.Import(ctx, synth.SocialSecurity, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Import again: %v", err)
	}
	if again.Inserted != 0 || again.Anchored != 0 {
		t.Errorf("Import again: %d inserted, %d anchored, want nothing", again.Inserted, again.Anchored)
	}
}

func TestImportWithoutAnchorer(t *testing.T) {
	st := openStore(t, sqliteDSN(t))
	im := newImporter(t, st, nil)
	res, err := im.Import(ctx, synth.Tax, bytes.NewReader(dataset(t, 2, synth.Citizens(2, 10), synth.Tax)))
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if len(res.Batches) == 0 {
		t.Fatalf("Import made no batches")
	}
	if res.Anchored != 0 {
		t.Errorf("%d batches anchored without an anchorer", res.Anchored)
	}
	im.Anchorer = newFakeAnchorer()
	n, err := im.AnchorPending(ctx)
	if err != nil {
		t.Fatalf("AnchorPending: %v", err)
	}
	if n != len(res.Batches) {
		t.Errorf("AnchorPending anchored %d batches, want %d", n, len(res.Batches))
	}
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
			if !errors.As(err, &le) {
				t.Fatalf("Import: %v, want a *LineError", err)
			}
			if le.Line != tt.line {
				t.Errorf("line %d, want %d", le.Line, tt.line)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Import: %v, want %v", err, tt.want)
			}
			if prefix := fmt.Sprintf("line %d: ", tt.line); !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("Import: %q, want it to start with %q", err, prefix)
			}
			// No content in the error: neither the ID number nor values.
			for _, content := range []string{"110105", "2026-"} {
				if strings.Contains(err.Error(), content) {
					t.Errorf("Import: %q contains %q from the line", err, content)
				}
			}
			// Nothing of the failed chunk was stored.
			open, err := st.UnanchoredRecords(ctx, synth.Tax, 10)
			if err != nil {
				t.Fatalf("UnanchoredRecords: %v", err)
			}
			if len(open) != 0 {
				t.Errorf("%d records of the failed chunk stored", len(open))
			}
		})
	}

	st := openStore(t, sqliteDSN(t))
	im := newImporter(t, st, nil)
	if _, err := im.Import(ctx, "passport", strings.NewReader(good)); err == nil || !strings.Contains(err.Error(), "not served") {
		t.Fatalf("Import(passport): %v, want the category not served", err)
	}

	// White space inside a record is kept: the record is stored, hashed
	// and later delivered byte for byte as given.
	spaced := `{"category": "tax", "citizen_id": "` + id + `", "record_date": "2026-01-25"}`
	res, err := im.Import(ctx, synth.Tax, strings.NewReader("  "+spaced+"\r\n"))
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if res.Inserted != 1 {
		t.Fatalf("%d records inserted, want 1", res.Inserted)
	}
	sum := RecordHash([]byte(spaced))
	rec, err := st.RecordByHash(ctx, hex.EncodeToString(sum[:]))
	if err != nil {
		t.Fatalf("RecordByHash: %v", err)
	}
	if string(rec.Body) != spaced {
		t.Errorf("stored body %q, want %q", rec.Body, spaced)
	}
}

// slowAnchorer anchors after a pause, counting the calls in flight.
type slowAnchorer struct {
	*fakeAnchorer
	inFlight, most atomic.Int32
}

func (s *slowAnchorer) AnchorBatch(ctx context.Context, batchID, category, root string, leafCount int) (string, error) {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.most.Load()
		if n <= m || s.most.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(20 * time.Millisecond)
	return s.fakeAnchorer.AnchorBatch(ctx, batchID, category, root, leafCount)
}

func TestImportAnchorsConcurrently(t *testing.T) {
	st := openStore(t, sqliteDSN(t))
	anchorer := &slowAnchorer{fakeAnchorer: newFakeAnchorer()}
	im := newImporter(t, st, anchorer)
	im.BatchSize, im.AnchorParallelism = 16, 4
	data := dataset(t, 9, synth.Citizens(9, 30), synth.Tax)

	res, err := im.Import(ctx, synth.Tax, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if len(res.Batches) < 8 || res.Anchored != len(res.Batches) {
		t.Fatalf("%d batches, %d anchored; want at least 8, all anchored", len(res.Batches), res.Anchored)
	}
	if most := anchorer.most.Load(); most < 2 || most > 4 {
		t.Errorf("at most %d anchor calls in flight, want 2 to 4", most)
	}
	for i, b := range res.Batches {
		if b.LeafCount > 16 {
			t.Errorf("batch %d has %d leaves, want at most 16", i, b.LeafCount)
		}
		got, err := st.GetBatch(ctx, b.ID)
		if err != nil || got.AnchoredTxID != anchorer.batches[b.ID].txID {
			t.Errorf("batch %s: stored anchor %q (%v), want the ledger's", b.ID, got.AnchoredTxID, err)
		}
	}

	// Again: every record is a duplicate, nothing new is batched.
	again, err := im.Import(ctx, synth.Tax, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Import again: %v", err)
	}
	if again.Inserted != 0 || again.Duplicates != res.Lines || len(again.Batches) != 0 {
		t.Errorf("import again: %+v, want every line a duplicate and no batch", again)
	}
}

func TestImportRepeatedLineStoredOnce(t *testing.T) {
	st := openStore(t, sqliteDSN(t))
	im := newImporter(t, st, newFakeAnchorer())
	data := dataset(t, 4, synth.Citizens(4, 3), synth.Tax)
	first, _, _ := bytes.Cut(data, []byte("\n"))
	data = append(append(data, first...), '\n')

	res, err := im.Import(ctx, synth.Tax, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if res.Duplicates != 1 || res.Inserted != res.Lines-1 {
		t.Errorf("%d inserted, %d duplicates of %d lines; want the repeated line skipped once", res.Inserted, res.Duplicates, res.Lines)
	}
}
