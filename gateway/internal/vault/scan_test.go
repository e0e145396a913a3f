package vault

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/synth"
)

// scanDataset returns n tax records of one citizen as JSON Lines, a blank
// line after every seventh, each with its serial: input line numbers and
// record order are known.
func scanDataset(n int) []string {
	var lines []string
	for i := range n {
		lines = append(lines, fmt.Sprintf(`{"category":"tax","citizen_id":"11010519491231002X","record_date":"2026-01-25","serial":%d}`, i))
		if i%7 == 6 {
			lines = append(lines, "  ")
		}
	}
	return lines
}

// TestScanKeepsInputOrder reads datasets of many pieces on several workers:
// records come out in input order, and the first invalid line is the one
// reported, with its input line number, even when later pieces (parsed
// concurrently) hold invalid lines too.
func TestScanKeepsInputOrder(t *testing.T) {
	st := openStore(t, sqliteDSN(t))
	im := newImporter(t, st, newFakeAnchorer())
	for _, workers := range []int{1, 2, 5} {
		im.ParseWorkers = workers
		lines := scanDataset(5 * pieceLines)
		var got []store.Record
		n, err := im.scan(ctx, synth.Tax, strings.NewReader(strings.Join(lines, "\n")), func(r store.Record) error {
			got = append(got, r)
			return nil
		})
		if err != nil || n != 5*pieceLines || len(got) != n {
			t.Fatalf("%d workers: %d lines, %d records, %v; want %d, no error", workers, n, len(got), err, 5*pieceLines)
		}
		for i, r := range got {
			if want := fmt.Sprintf(`"serial":%d}`, i); !strings.HasSuffix(string(r.Body), want) {
				t.Fatalf("%d workers: record %d is %s", workers, i, r.Body)
			}
		}

		bad := scanDataset(5 * pieceLines)
		first := 3*pieceLines + 17 // in the fourth piece
		bad[first] = `{"category":"tax"}`
		bad[first+pieceLines] = `[]`
		bad[len(bad)-1] = `{`
		got = got[:0]
		n, err = im.scan(ctx, synth.Tax, strings.NewReader(strings.Join(bad, "\n")), func(r store.Record) error {
			got = append(got, r)
			return nil
		})
		var le *LineError
		if !errors.As(err, &le) || le.Line != first+1 || !errors.Is(err, ErrMalformed) {
			t.Fatalf("%d workers: %v, want ErrMalformed at line %d", workers, err, first+1)
		}
		blanks := first / 8 // one blank line after every seven records
		if want := first - blanks; len(got) != want || n != want+1 {
			t.Fatalf("%d workers: %d records emitted, %d lines counted; want %d and %d", workers, len(got), n, want, want+1)
		}
	}
}

// TestScanStopsAtEmitsError: an error from emit ends the scan at once
// with that error, however much input is left.
func TestScanStopsAtEmitsError(t *testing.T) {
	st := openStore(t, sqliteDSN(t))
	im := newImporter(t, st, newFakeAnchorer())
	stop := errors.New("stop")
	seen := 0
	_, err := im.scan(ctx, synth.Tax, strings.NewReader(strings.Join(scanDataset(20*pieceLines), "\n")), func(store.Record) error {
		seen++
		if seen == pieceLines+3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != pieceLines+3 {
		t.Fatalf("scan: %v after %d records, want the emit error after %d", err, seen, pieceLines+3)
	}
}

// TestImportConcurrentWritersSkipRecordsInProgress imports on PostgreSQL,
// where batches are written concurrently, a dataset whose lines come back
// in the next chunk, while the chunk that first held them may still be
// writing: each is stored once and counted as a duplicate after, instead
// of failing the import with the unique index's conflict.
func TestImportConcurrentWritersSkipRecordsInProgress(t *testing.T) {
	dsn := postgresDSN(t)
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("PostgreSQL does not answer in CI")
		}
		t.Skip("PostgreSQL does not answer")
	}
	for _, writers := range []int{2, 4} {
		st := openStore(t, dsn)
		im := newImporter(t, st, newFakeAnchorer())
		im.BatchSize, im.StoreParallelism = 8, writers
		var lines []string
		repeats := 0
		for i, l := range scanDataset(400) {
			lines = append(lines, l)
			if i >= 8 && i%3 == 0 && strings.TrimSpace(lines[i-8]) != "" {
				lines = append(lines, lines[i-8]) // from the chunk before
				repeats++
			}
		}
		res, err := im.Import(ctx, synth.Tax, strings.NewReader(fmt.Sprintf("%s\n", strings.Join(lines, "\n"))))
		if err != nil {
			t.Fatalf("%d writers: Import: %v", writers, err)
		}
		if res.Inserted != 400 || res.Duplicates != repeats || res.Anchored != len(res.Batches) {
			t.Fatalf("%d writers: %d inserted, %d duplicates, %d of %d batches anchored; want 400, %d, all",
				writers, res.Inserted, res.Duplicates, res.Anchored, len(res.Batches), repeats)
		}
		again, err := im.Import(ctx, synth.Tax, strings.NewReader(strings.Join(lines, "\n")))
		if err != nil || again.Inserted != 0 || again.Duplicates != res.Lines {
			t.Fatalf("%d writers: import again: %d inserted, %d duplicates, %v; want none, %d, no error",
				writers, again.Inserted, again.Duplicates, err, res.Lines)
		}
		// The next round starts from an empty safe.
		st.Close()
		dsn = postgresDSN(t)
	}
}
