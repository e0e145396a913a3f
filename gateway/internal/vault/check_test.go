package vault

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
			require.NoError(t, err)
			require.Empty(t, open, "Check wrote records")

			res, importErr := im.Import(ctx, synth.Tax, strings.NewReader(input))
			var cle, ile *LineError
			if errors.As(importErr, &ile) {
				require.True(t, errors.As(checkErr, &cle), "Import stopped at line %d, Check passed", ile.Line)
				assert.Equal(t, ile.Line, cle.Line)
				assert.Equal(t, errors.Unwrap(ile), errors.Unwrap(cle))
				return
			}
			require.NoError(t, importErr)
			require.NoError(t, checkErr)
			assert.Equal(t, res.Lines, n)
		})
	}

	st := openStore(t, sqliteDSN(t))
	im := newImporter(t, st, nil)
	_, err := im.Check(ctx, "passport", strings.NewReader(good))
	require.ErrorIs(t, err, ErrCategoryNotServed)

	// A whole synthetic dataset checks.
	citizens := synth.Citizens(3, 20)
	data := dataset(t, 3, citizens, synth.HousingFund)
	n, err := im.Check(ctx, synth.HousingFund, bytes.NewReader(data))
	require.NoError(t, err)
	assert.Equal(t, bytes.Count(data, []byte("\n")), n)
}
