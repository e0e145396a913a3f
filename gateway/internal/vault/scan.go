package vault

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/gateway/internal/store"
)

// A dataset is read in pieces of piecelines lines: one goroutine cuts the
// input into pieces, ParseWorkers goroutines check and hash the pieces'
// lines (the import's CPU work outside the database: JSON, ID numbers,
// pseudonyms, SHA-256) and the caller receives the records in input order.
const pieceLines = 512

// piece is a run of input lines and, once parsed, their records.
type piece struct {
	data  []byte // the lines' bytes, end to end
	lines []int  // each line's end in data
	nums  []int  // each line's input line number
	end   error  // the reader's error after the last line, if any
	done  chan struct{}
	recs  []store.Record
	err   error // the first line that failed, as a *LineError
}

// scan reads a dataset of category from r, checks and hashes every
// non-blank line on ParseWorkers goroutines, and calls emit with each
// record in input order. It returns the number of non-blank lines read,
// up to and including the first invalid one, and the first error: a
// *LineError for an invalid or overlong line, emit's error, or ctx's.
func (im *Importer) scan(ctx context.Context, category string, r io.Reader, emit func(store.Record) error) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := im.ParseWorkers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ref := im.now()
	work := make(chan *piece)
	ordered := make(chan *piece, 2*workers) // bounds the pieces in memory
	go func() {
		defer close(work)
		defer close(ordered)
		im.cut(ctx, r, func(p *piece) bool {
			select {
			case ordered <- p:
			case <-ctx.Done():
				return false
			}
			select {
			case work <- p:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for p := range work {
				im.parsePiece(p, category, ref)
				close(p.done)
			}
		})
	}
	defer wg.Wait()
	defer cancel() // stop the reader and the workers first

	lines := 0
	for p := range ordered {
		select {
		case <-p.done:
		case <-ctx.Done():
			return lines, ctx.Err()
		}
		for _, rec := range p.recs {
			lines++
			if err := emit(rec); err != nil {
				return lines, err
			}
		}
		if p.err != nil {
			return lines + 1, p.err
		}
		if p.end != nil {
			return lines, p.end
		}
	}
	return lines, ctx.Err()
}

// cut reads r into pieces of non-blank lines and hands each to send, in
// order, until send returns false or the input ends. A read error or an
// overlong line ends the input with a last piece whose end is the error.
func (im *Importer) cut(ctx context.Context, r io.Reader, send func(*piece) bool) {
	maxLine := im.MaxLineBytes
	if maxLine <= 0 {
		maxLine = DefaultMaxLineBytes
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, min(maxLine, 64<<10)), maxLine)
	newPiece := func() *piece {
		return &piece{done: make(chan struct{}), lines: make([]int, 0, pieceLines), nums: make([]int, 0, pieceLines)}
	}
	p := newPiece()
	line := 0
	for sc.Scan() {
		line++
		body := bytes.TrimSpace(sc.Bytes())
		if len(body) == 0 {
			continue
		}
		p.data = append(p.data, body...)
		p.lines = append(p.lines, len(p.data))
		p.nums = append(p.nums, line)
		if len(p.lines) == pieceLines {
			if !send(p) {
				return
			}
			p = newPiece()
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			p.end = &LineError{Line: line + 1, Err: fmt.Errorf("%w: over %d bytes", ErrLineTooLong, maxLine)}
		} else {
			p.end = fmt.Errorf("vault: read dataset: %w", err)
		}
	} else if ctx.Err() != nil {
		p.end = ctx.Err()
	}
	if len(p.lines) > 0 || p.end != nil {
		send(p)
	}
}

// parsePiece checks and hashes a piece's lines, stopping at the first
// invalid one. Each record gets a fresh random salt: its Merkle leaf is
// SHA-256(0x00 ‖ salt ‖ record hash). (A record already stored keeps the
// salt it was first stored with: the importer skips it.)
func (im *Importer) parsePiece(p *piece, category string, ref time.Time) {
	salts := make([]byte, len(p.lines)*merkle.SaltSize)
	rand.Read(salts)
	p.recs = make([]store.Record, 0, len(p.lines))
	start := 0
	for i, end := range p.lines {
		rec, err := im.parseLine(p.data[start:end], category, ref)
		if err != nil {
			p.err = &LineError{Line: p.nums[i], Err: err}
			return
		}
		rec.Salt = salts[i*merkle.SaltSize : (i+1)*merkle.SaltSize : (i+1)*merkle.SaltSize]
		p.recs = append(p.recs, rec)
		start = end
	}
}
