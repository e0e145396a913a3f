package vault

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/gateway/internal/synth"
)

// TestCheckAgreesWithImport: Check stops exactly where Import stops and
// writes nothing; on a good dataset it counts what Import imports.
func TestCheckAgreesWithImport(t *testing.T) {
	const id = "11010519491231002X"
	good := `{"category":"tax","citizen_id":"` + id + `","record_date":"2026-01-25","tax_fen":1}`
	inputs := map[string]string{
		"good":           good + "\n\n" + strings.Replace(good, `"tax_fen":1`, `"tax_fen":2`, 1) + "\n",
		"malformed":      good + "\n{\"category\":",
		"wrong category": good + "\n" + strings.Replace(good, `"tax"`, `"real_estate"`, 1),
		"bad date":       strings.Replace(good, "2026-01-25", "2026-02-30", 1),
		"bad ID":         "\n\n" + strings.Replace(good, id, "110105194912310021", 1),
		"too long":       good + "\n" + strings.Replace(good, `"tax_fen":1`, `"pad":"`+strings.Repeat("x", 300)+`"`, 1),
	}
	for name, input := range inputs {
		t.Run(name, func(t *testing.T) {
			st := openStore(t, sqliteDSN(t))
			im := newImporter(t, st, newFakeAnchorer())
			im.MaxLineBytes = 200
			n, checkErr := im.Check(ctx, synth.Tax, strings.NewReader(input))
			open, err := st.UnanchoredRecords(ctx, synth.Tax, 10)
			if err != nil {
				t.Fatalf("UnanchoredRecords: %v", err)
			}
			if len(open) != 0 {
				t.Fatalf("Check wrote %d records", len(open))
			}

			res, importErr := im.Import(ctx, synth.Tax, strings.NewReader(input))
			var cle, ile *LineError
			if errors.As(importErr, &ile) {
				if !errors.As(checkErr, &cle) {
					t.Fatalf("Import stopped at line %d, Check: %v", ile.Line, checkErr)
				}
				if cle.Line != ile.Line {
					t.Errorf("Check stopped at line %d, Import at line %d", cle.Line, ile.Line)
				}
				if got, want := errors.Unwrap(cle), errors.Unwrap(ile); !reflect.DeepEqual(got, want) {
					t.Errorf("Check: %v, Import: %v", got, want)
				}
				return
			}
			if importErr != nil {
				t.Fatalf("Import: %v", importErr)
			}
			if checkErr != nil {
				t.Fatalf("Check: %v", checkErr)
			}
			if n != res.Lines {
				t.Errorf("Check counted %d lines, Import %d", n, res.Lines)
			}
		})
	}

	st := openStore(t, sqliteDSN(t))
	im := newImporter(t, st, nil)
	if _, err := im.Check(ctx, "passport", strings.NewReader(good)); !errors.Is(err, ErrCategoryNotServed) {
		t.Fatalf("Check(passport): %v, want %v", err, ErrCategoryNotServed)
	}

	// A whole synthetic dataset checks.
	citizens := synth.Citizens(3, 20)
	data := dataset(t, 3, citizens, synth.HousingFund)
	n, err := im.Check(ctx, synth.HousingFund, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if want := bytes.Count(data, []byte("\n")); n != want {
		t.Errorf("Check counted %d lines, want %d", n, want)
	}
}
