package vault

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/internal/resident"
)

// Anchorer anchors a Merkle batch on the ledger (anchor:AnchorBatch) and
// returns the transaction id. The Fabric wrapper implements it.
//
// Batch ids are derived from the batch's category and root, so a batch
// whose anchoring committed but whose answer was lost is retried with the
// same id: an implementation should treat the ledger's ALREADY_EXISTS for
// a batch with the same root and leaf count as success, returning the
// existing anchor's transaction id.
type Anchorer interface {
	AnchorBatch(ctx context.Context, batchID, category, root string, leafCount int) (txID string, err error)
}

// AnchorerFunc adapts a function to the Anchorer interface.
type AnchorerFunc func(ctx context.Context, batchID, category, root string, leafCount int) (string, error)

// AnchorBatch calls f.
func (f AnchorerFunc) AnchorBatch(ctx context.Context, batchID, category, root string, leafCount int) (string, error) {
	return f(ctx, batchID, category, root, leafCount)
}

// Import errors, wrapped in a *LineError.
var (
	ErrLineTooLong   = errors.New("vault: line too long")
	ErrMalformed     = errors.New("vault: not a JSON object with unique members and string category, citizen_id and record_date")
	ErrWrongCategory = errors.New("vault: record category differs from the dataset's")
	ErrBadDate       = errors.New("vault: record_date is not a YYYY-MM-DD date")
	ErrBadCitizenID  = errors.New("vault: citizen_id is not a valid ID number")
)

// LineError reports the line of the input an import stopped at. Its text
// names the line number and the problem, never the line's content.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Defaults and limits of the Importer.
const (
	DefaultBatchSize = 1024
	// MaxBatchSize bounds BatchSize. The anchor contract accepts up to 2²⁴
	// leaves, but an import holds one batch of records in memory while it
	// writes the one before, and a delivery rebuilds the tree of each
	// batch its records are in: 65,536 leaves keep both bounded (about 20
	// MB of records of 300 bytes, a 16-node proof).
	MaxBatchSize             = 1 << 16
	DefaultAnchorParallelism = 8
	DefaultStoreParallelism  = 2
	DefaultMaxLineBytes      = 64 << 10
)

// Importer loads records from JSON Lines into the digital safe, groups them
// into Merkle batches and anchors the batches.
//
// Import streams: it reads, checks and hashes lines (on ParseWorkers
// goroutines) while the batches before are written (StoreParallelism at
// once) and earlier batches are anchored, so its memory is bounded by a
// few batches of records — the one being read, the one waiting and those
// being written — whatever the size of the input. Each batch is stored
// with its records in one transaction, and up to AnchorParallelism anchor
// transactions are in flight at once.
//
// Import is restartable: records already stored (same hash) are skipped,
// records an earlier version left unbatched are batched by the next run, and
// batches whose anchoring failed are anchored by the next run (or by
// AnchorPending). An Importer serialises its own imports, batching and
// anchoring; run one Importer per store.
type Importer struct {
	Store         *store.Store
	Pseudonymiser *Pseudonymiser
	// Anchorer anchors the batches; if nil, batches are created but left
	// for a later AnchorPending.
	Anchorer Anchorer
	// Categories the provider serves; empty means model.StandardCategories().
	Categories []string
	// BatchSize is the number of leaves per batch, at most MaxBatchSize
	// (DefaultBatchSize if 0).
	BatchSize int
	// AnchorParallelism is how many anchor transactions may be in flight
	// at once (DefaultAnchorParallelism if 0). Each waits for its commit,
	// so the ledger part of an import takes about the commit latency
	// times batches ÷ AnchorParallelism.
	AnchorParallelism int
	// MaxLineBytes bounds one line (DefaultMaxLineBytes if 0).
	MaxLineBytes int
	// ParseWorkers is how many goroutines check and hash lines at once
	// (GOMAXPROCS if 0).
	ParseWorkers int
	// StoreParallelism is how many batches are written to a PostgreSQL
	// store at once (DefaultStoreParallelism if 0). SQLite has a single
	// writer: on SQLite batches are written one at a time.
	StoreParallelism int
	// Now is the clock (time.Now if nil): the reference date for ID
	// numbers and the anchoring time.
	Now func() time.Time

	mu sync.Mutex // serialises imports, batching and anchoring
}

// ImportResult summarises an import.
type ImportResult struct {
	Lines      int           // non-blank lines read
	Inserted   int           // new records stored
	Duplicates int           // records already stored, skipped
	Batches    []store.Batch // batches created by this run
	Anchored   int           // batches anchored by this run (new or retried)
}

func (im *Importer) now() time.Time {
	if im.Now != nil {
		return im.Now()
	}
	return time.Now()
}

func (im *Importer) batchSize() int {
	if im.BatchSize <= 0 {
		return DefaultBatchSize
	}
	return min(im.BatchSize, MaxBatchSize)
}

// Import reads one dataset of the given category from r — one JSON record
// per line, with string members "category" (equal to category),
// "citizen_id" and "record_date" — and stores each line's bytes (without
// surrounding white space) as the record body, BatchSize records to a
// Merkle batch, in input order, skipping records already stored. Each
// batch is anchored as soon as it is stored. At the end it batches any
// unbatched records of the category and anchors every unanchored batch.
//
// It stops at the first invalid line with a *LineError; the batches
// completed before it may be stored (and anchored), and a corrected input
// can simply be imported again. If anchoring fails, Import still stores
// the whole dataset, then returns the counts and the first anchoring
// error; the batches left are retried by the next run.
func (im *Importer) Import(ctx context.Context, category string, r io.Reader) (ImportResult, error) {
	var res ImportResult
	if !slices.Contains(im.categories(), category) {
		return res, fmt.Errorf("vault: category %q is not served here", category)
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Three stages: reading and hashing (a goroutine and ParseWorkers),
	// storing (StoreParallelism batches at once) and anchoring (a pool).
	// Channels of a few elements bound what is in memory.
	chunks := make(chan []store.Record, 1)
	var readErr error
	go func() {
		defer close(chunks)
		readErr = im.read(ctx, category, r, chunks, &res.Lines)
	}()
	anchors := im.startAnchoring(ctx)
	var storeErr error
	for w := range im.storeChunks(ctx, category, chunks) {
		<-w.done
		if storeErr != nil {
			continue // drain, so the reader and the writers end
		}
		if w.err != nil {
			storeErr = w.err
			cancel()
			continue
		}
		res.Inserted += w.inserted
		res.Duplicates += w.total - w.inserted
		if w.inserted > 0 {
			res.Batches = append(res.Batches, w.batch)
			anchors.add(w.batch)
		}
	}
	anchored, anchorErr := anchors.wait()
	res.Anchored = anchored
	if storeErr != nil {
		return res, storeErr
	}
	if readErr != nil {
		return res, readErr
	}
	// Records left unbatched by an earlier version of the importer.
	batches, err := im.seal(ctx, category)
	res.Batches = append(res.Batches, batches...)
	if err != nil {
		return res, err
	}
	if anchorErr != nil {
		return res, anchorErr
	}
	n, err := im.anchorPending(ctx)
	res.Anchored += n
	return res, err
}

// read scans the dataset and sends its records, hashed and salted, in
// chunks of the batch size. It sets lines to the non-blank lines read.
func (im *Importer) read(ctx context.Context, category string, r io.Reader, out chan<- []store.Record, lines *int) error {
	size := im.batchSize()
	chunk := make([]store.Record, 0, min(size, 4096))
	send := func() error {
		select {
		case out <- chunk:
			chunk = make([]store.Record, 0, min(size, 4096))
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	n, err := im.scan(ctx, category, r, func(rec store.Record) error {
		chunk = append(chunk, rec)
		if len(chunk) == size {
			return send()
		}
		return nil
	})
	*lines = n
	if err != nil {
		return err
	}
	if len(chunk) > 0 {
		return send()
	}
	return nil
}

// write is one chunk of records being stored as a batch.
type write struct {
	done     chan struct{} // closed when the fields below are set
	total    int           // records in the chunk
	inserted int           // records stored (the rest were stored before)
	batch    store.Batch
	err      error
}

// storeChunks stores each chunk's new records as one batch, up to
// StoreParallelism batches at once, and returns the writes in chunk order.
//
// Which records are new is decided one chunk after another: a record is
// skipped if a write in progress holds it, or else if the store has it.
// That order matters: a write removes its records from those in progress
// only once it has committed, so a record is seen either in progress or in
// the store, never in neither.
func (im *Importer) storeChunks(ctx context.Context, category string, chunks <-chan []store.Record) <-chan *write {
	writers := im.StoreParallelism
	if writers <= 0 {
		writers = DefaultStoreParallelism
	}
	if im.Store.Backend() != "postgres" {
		writers = 1
	}
	out := make(chan *write, writers)
	go func() {
		defer close(out)
		var mu sync.Mutex
		inProgress := map[string]bool{}
		slots := make(chan struct{}, writers)
		for chunk := range chunks {
			w := &write{done: make(chan struct{}), total: len(chunk)}
			out <- w
			if ctx.Err() != nil {
				w.err = ctx.Err()
				close(w.done)
				continue
			}
			mu.Lock()
			fresh := make([]store.Record, 0, len(chunk))
			for _, r := range chunk {
				if !inProgress[r.Hash] {
					fresh = append(fresh, r)
				}
			}
			mu.Unlock()
			fresh, err := im.unstored(ctx, fresh)
			if err != nil || len(fresh) == 0 {
				w.err = err
				close(w.done)
				continue
			}
			mu.Lock()
			for _, r := range fresh {
				inProgress[r.Hash] = true
			}
			mu.Unlock()
			slots <- struct{}{}
			go func() {
				defer func() { <-slots }()
				w.batch, w.err = im.Store.InsertBatch(ctx, category, fresh, func(root string) string { return BatchID(category, root) })
				if w.err != nil {
					w.err = fmt.Errorf("vault: store batch: %w", w.err)
				} else {
					w.inserted = len(fresh)
				}
				mu.Lock()
				for _, r := range fresh {
					delete(inProgress, r.Hash)
				}
				mu.Unlock()
				close(w.done)
			}()
		}
	}()
	return out
}

// unstored returns the records the store does not have, each once.
func (im *Importer) unstored(ctx context.Context, recs []store.Record) ([]store.Record, error) {
	hashes := make([]string, len(recs))
	for i, r := range recs {
		hashes[i] = r.Hash
	}
	stored, err := im.Store.StoredHashes(ctx, hashes)
	if err != nil {
		return nil, err
	}
	fresh := recs[:0]
	for _, r := range recs {
		if !stored[r.Hash] {
			stored[r.Hash] = true // a line repeated in the chunk is stored once
			fresh = append(fresh, r)
		}
	}
	return fresh, nil
}

func (im *Importer) categories() []string {
	if len(im.Categories) > 0 {
		return im.Categories
	}
	return model.StandardCategories()
}

// parseLine validates one line and returns the record to store.
func (im *Importer) parseLine(body []byte, category string, ref time.Time) (store.Record, error) {
	fields, err := objectFields(body, "category", "citizen_id", "record_date")
	if err != nil {
		return store.Record{}, ErrMalformed
	}
	cat, ok1 := stringField(fields[0])
	citizen, ok2 := stringField(fields[1])
	date, ok3 := stringField(fields[2])
	if !ok1 || !ok2 || !ok3 {
		return store.Record{}, ErrMalformed
	}
	if cat != category {
		return store.Record{}, ErrWrongCategory
	}
	if d, err := time.Parse(time.DateOnly, date); err != nil || d.Format(time.DateOnly) != date {
		return store.Record{}, ErrBadDate
	}
	id := resident.Normalise(citizen)
	if err := resident.Valid(id, ref); err != nil {
		return store.Record{}, fmt.Errorf("%w (%w)", ErrBadCitizenID, err)
	}
	citizenRef := im.Pseudonymiser.ref(id)
	sum := RecordHash(body)
	return store.Record{CitizenRef: citizenRef, Category: cat, RecordDate: date, Body: body[:len(body):len(body)],
		Hash: hex.EncodeToString(sum[:])}, nil
}

// SealBatches groups the unbatched records of a category into batches of
// BatchSize leaves (the last one smaller), in insertion order, and returns
// the batches created. They still need anchoring.
func (im *Importer) SealBatches(ctx context.Context, category string) ([]store.Batch, error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.seal(ctx, category)
}

func (im *Importer) seal(ctx context.Context, category string) ([]store.Batch, error) {
	size := im.batchSize()
	var created []store.Batch
	for {
		recs, err := im.Store.UnanchoredRecords(ctx, category, size)
		if err != nil || len(recs) == 0 {
			return created, err
		}
		hashes := make([]string, len(recs))
		leaves := make([]merkle.Hash, len(recs))
		for i, r := range recs {
			h, err := merkle.ParseHash(r.Hash)
			if err != nil {
				return created, fmt.Errorf("%w: record %d has a malformed hash", ErrCorrupt, r.ID)
			}
			hashes[i], leaves[i] = r.Hash, merkle.RecordLeafHash(r.Salt, h)
		}
		root := merkle.NewFromLeafHashes(leaves).Root().String()
		b, err := im.Store.CreateBatch(ctx, store.Batch{
			ID: BatchID(category, root), Category: category, Root: root, LeafCount: len(recs),
		}, hashes)
		if err != nil {
			return created, fmt.Errorf("vault: create batch: %w", err)
		}
		created = append(created, b)
	}
}

// BatchID names the batch of a category with the given hex root: the
// category, a dash and the first 24 hex digits (96 bits) of the root in two
// groups of 12 joined by a dash. It is a valid ledger id (at most 58
// characters): the groups keep it from ever holding 17 decimal digits in a
// row, which model.ValidID refuses as the form of an ID number. It is the
// same whenever the same records are batched again, which makes anchoring
// retries idempotent.
func BatchID(category, root string) string {
	head := root[:min(24, len(root))]
	if len(head) <= 12 {
		return category + "-" + head
	}
	return category + "-" + head[:12] + "-" + head[12:]
}

// AnchorPending anchors every batch not yet anchored, up to
// AnchorParallelism at a time, and returns how many it anchored. After the
// first failure it starts no more; the next call retries what is left.
func (im *Importer) AnchorPending(ctx context.Context) (int, error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.anchorPending(ctx)
}

func (im *Importer) anchorPending(ctx context.Context) (int, error) {
	if im.Anchorer == nil {
		return 0, nil
	}
	anchored := 0
	for {
		batches, err := im.Store.UnanchoredBatches(ctx, 100)
		if err != nil || len(batches) == 0 {
			return anchored, err
		}
		a := im.startAnchoring(ctx)
		for _, b := range batches {
			a.add(b)
		}
		n, err := a.wait()
		anchored += n
		if err != nil {
			return anchored, err
		}
	}
}

// anchoring anchors batches in a pool of AnchorParallelism goroutines.
type anchoring struct {
	im    *Importer
	ctx   context.Context
	queue chan store.Batch
	wg    sync.WaitGroup

	mu       sync.Mutex
	anchored int
	err      error // the first failure; no batch is anchored after it
}

// startAnchoring starts the pool; add queues a batch (blocking while every
// goroutine is busy), wait ends the pool. Without an Anchorer, batches are
// left for a later AnchorPending.
func (im *Importer) startAnchoring(ctx context.Context) *anchoring {
	a := &anchoring{im: im, ctx: ctx, queue: make(chan store.Batch)}
	if im.Anchorer == nil {
		return a
	}
	n := im.AnchorParallelism
	if n <= 0 {
		n = DefaultAnchorParallelism
	}
	for range n {
		a.wg.Go(func() {
			for b := range a.queue {
				a.anchor(b)
			}
		})
	}
	return a
}

func (a *anchoring) add(b store.Batch) {
	if a.im.Anchorer != nil {
		a.queue <- b
	}
}

func (a *anchoring) wait() (int, error) {
	close(a.queue)
	a.wg.Wait()
	return a.anchored, a.err
}

func (a *anchoring) anchor(b store.Batch) {
	a.mu.Lock()
	failed := a.err != nil
	a.mu.Unlock()
	if failed {
		return
	}
	err := a.im.anchorOne(a.ctx, b)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		if a.err == nil {
			a.err = err
		}
		return
	}
	a.anchored++
}

// anchorOne anchors one batch and records its transaction.
func (im *Importer) anchorOne(ctx context.Context, b store.Batch) error {
	txID, err := im.Anchorer.AnchorBatch(ctx, b.ID, b.Category, b.Root, b.LeafCount)
	if err == nil && txID == "" {
		err = errors.New("anchorer returned no transaction id")
	}
	if err != nil {
		return fmt.Errorf("vault: anchor batch %s: %w", b.ID, err)
	}
	if err := im.Store.MarkBatchAnchored(ctx, b.ID, txID, im.now()); err != nil {
		return fmt.Errorf("vault: anchor batch %s: %w", b.ID, err)
	}
	return nil
}
