package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/quanchain/quanchain/gateway/internal/store"
)

// ErrCategoryNotServed reports a dataset of a category the Importer does
// not serve.
var ErrCategoryNotServed = errors.New("vault: category not served here")

// Check reads a dataset exactly as Import would and writes nothing: it
// returns the number of non-blank lines, or a *LineError for the first
// line Import would stop at. Import stops at the first invalid line after
// storing the batches completed before it, so a caller that must store all
// or nothing checks the whole dataset first and imports it only if Check
// passes.
func (im *Importer) Check(ctx context.Context, category string, r io.Reader) (lines int, err error) {
	if !slices.Contains(im.categories(), category) {
		return 0, fmt.Errorf("%w: %q", ErrCategoryNotServed, category)
	}
	return im.scan(ctx, category, r, func(store.Record) error { return nil })
}
