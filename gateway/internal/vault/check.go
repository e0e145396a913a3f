package vault

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
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
	maxLine := im.MaxLineBytes
	if maxLine <= 0 {
		maxLine = DefaultMaxLineBytes
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, min(maxLine, 64<<10)), maxLine)
	ref := im.now()
	line := 0
	for sc.Scan() {
		line++
		if line%1024 == 0 && ctx.Err() != nil {
			return lines, ctx.Err()
		}
		body := bytes.TrimSpace(sc.Bytes())
		if len(body) == 0 {
			continue
		}
		lines++
		if _, err := im.parseLine(body, category, ref); err != nil {
			return lines, &LineError{Line: line, Err: err}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return lines, &LineError{Line: line + 1, Err: fmt.Errorf("%w: over %d bytes", ErrLineTooLong, maxLine)}
		}
		return lines, fmt.Errorf("vault: read dataset: %w", err)
	}
	return lines, nil
}
