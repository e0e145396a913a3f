package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/quanchain/quanchain/chaincode/merkle"
)

// Bulk writes of the digital safe: a dataset import stores each Merkle
// batch together with its records, in one transaction, so that a record is
// written once (never stored unbatched and then updated) and the batch's
// leaves are computed once.

// StoredHashes returns which of the given hex record hashes are already
// stored, for an importer that skips them before it builds a batch.
func (s *Store) StoredHashes(ctx context.Context, hashes []string) (map[string]bool, error) {
	stored := map[string]bool{}
	// On PostgreSQL one query, the hashes as one array parameter; on
	// SQLite IN lists of lookupRows.
	step := lookupRows
	if s.d == postgresDialect {
		step = max(len(hashes), 1)
	}
	for start := 0; start < len(hashes); start += step {
		chunk := hashes[start:min(start+step, len(hashes))]
		query, args := `SELECT record_hash FROM records WHERE record_hash = ANY($1)`, []any{chunk}
		if s.d != postgresDialect {
			args = make([]any, len(chunk))
			for i, h := range chunk {
				args[i] = h
			}
			query = `SELECT record_hash FROM records WHERE record_hash IN (` + placeholders(1, len(chunk)) + `)`
		}
		if err := s.collectHashes(ctx, stored, query, args); err != nil {
			return nil, fmt.Errorf("store: stored hashes: %w", err)
		}
	}
	return stored, nil
}

// collectHashes adds the record hashes query returns to stored.
func (s *Store) collectHashes(ctx context.Context, stored map[string]bool, query string, args []any) error {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return err
		}
		stored[h] = true
	}
	return rows.Err()
}

// lookupRows is how many hashes one IN list of StoredHashes holds.
const lookupRows = 500

// LeafBlockSize is the number of leaves in a block of a batch's leaves
// (see LeafBlocks); a power of two, so blocks are subtrees of the batch.
const LeafBlockSize = 256

// InsertBatch stores new records of one category as one Merkle batch, in
// one transaction: the records in leaf order, each with its batch and leaf
// index, the leaf hashes SHA-256(0x00 ‖ salt ‖ record hash) in blocks of
// LeafBlockSize with their subtree hashes, and the batch.
// It computes the leaves and the root itself and names the batch with
// name(root). Records are read as by InsertRecords, and every one must be
// new: a record already stored fails the whole batch with ErrExists (the
// caller skips stored records first, see StoredHashes). The batch is
// returned unanchored, with CreatedAt set.
func (s *Store) InsertBatch(ctx context.Context, category string, records []Record, name func(root string) string) (Batch, error) {
	if category == "" || len(records) == 0 {
		return Batch{}, fmt.Errorf("%w: a batch needs a category and records", ErrInvalidArgument)
	}
	leaves := make([]merkle.Hash, len(records))
	for i, r := range records {
		if len(r.CitizenRef) != 64 || r.Category != category || !validDate(r.RecordDate) || len(r.Body) == 0 {
			return Batch{}, fmt.Errorf("%w: record %d lacks a citizenRef, date or body, or is of another category", ErrInvalidArgument, i)
		}
		if r.Salt != nil && len(r.Salt) != merkle.SaltSize {
			return Batch{}, fmt.Errorf("%w: record %d has a salt of %d bytes, not %d", ErrInvalidArgument, i, len(r.Salt), merkle.SaltSize)
		}
		h, err := merkle.ParseHash(r.Hash)
		if err != nil || len(r.Hash) != 64 {
			return Batch{}, fmt.Errorf("%w: record %d has no hex hash", ErrInvalidArgument, i)
		}
		leaves[i] = merkle.RecordLeafHash(r.Salt, h)
	}
	// The blocks are the tree's subtrees: their hashes give the root.
	blocks := make([]merkle.Hash, 0, (len(leaves)+LeafBlockSize-1)/LeafBlockSize)
	for start := 0; start < len(leaves); start += LeafBlockSize {
		blocks = append(blocks, merkle.NewFromLeafHashes(leaves[start:min(start+LeafBlockSize, len(leaves))]).Root())
	}
	root := merkle.NewFromLeafHashes(blocks).Root().String()
	b := Batch{ID: name(root), Category: category, Root: root, LeafCount: len(records),
		CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
	var err error
	if s.d == postgresDialect {
		err = s.copyBatch(ctx, b, records, blocks, leaves)
	} else {
		err = s.insertBatchRows(ctx, b, records, blocks, leaves)
	}
	if err != nil {
		if errors.Is(err, ErrExists) {
			return Batch{}, err
		}
		return Batch{}, fmt.Errorf("store: insert batch: %w", err)
	}
	return b, nil
}

// insertBatchRows writes a batch, its records and its leaf blocks in one
// transaction through multi-row INSERTs (SQLite).
func (s *Store) insertBatchRows(ctx context.Context, b Batch, records []Record, blocks, leaves []merkle.Hash) error {
	now := s.d.ts(b.CreatedAt)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO batches (id, category, root, leaf_count, created_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`, b.ID, b.Category, b.Root, b.LeafCount, now)
		if err := affectedOne(res, err); err != nil {
			if errors.Is(err, ErrNotFound) {
				return fmt.Errorf("%w: batch %s", ErrExists, b.ID)
			}
			return err
		}
		recs := s.newBulkInsert(tx, `INSERT INTO records
			(citizen_ref, category, record_date, body, record_hash, salt, batch_id, leaf_index, created_at) VALUES `,
			` ON CONFLICT (record_hash) DO NOTHING`, 9)
		defer recs.close()
		for i, r := range records {
			var salt any
			if r.Salt != nil {
				salt = r.Salt
			}
			if err := recs.add(ctx, r.CitizenRef, b.Category, r.RecordDate, r.Body, r.Hash, salt, b.ID, i, now); err != nil {
				return err
			}
		}
		if err := recs.flush(ctx); err != nil {
			return err
		}
		for k, h := range blocks {
			if _, err := tx.ExecContext(ctx, `INSERT INTO batch_leaf_blocks (batch_id, block, block_hash, leaves)
				VALUES ($1, $2, $3, $4)`, b.ID, k, h.String(), leafBlob(leaves, k)); err != nil {
				return err
			}
		}
		if recs.affected != int64(len(records)) {
			return fmt.Errorf("%w: a record of the batch is already stored", ErrExists)
		}
		return nil
	})
}

// copyBatch writes a batch, its records and its leaf blocks in one
// transaction on PostgreSQL, the records and blocks through COPY: the
// server parses no statement and plans nothing per row, which makes a
// large import several times faster than multi-row INSERTs. COPY has no
// ON CONFLICT: a record already stored aborts the transaction with a
// unique violation, reported as ErrExists, as InsertBatch promises.
func (s *Store) copyBatch(ctx context.Context, b Batch, records []Record, blocks, leaves []merkle.Hash) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	err = conn.Raw(func(driverConn any) error {
		dc, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: PostgreSQL connection is a %T", driverConn)
		}
		tx, err := dc.Conn().Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		tag, err := tx.Exec(ctx, `INSERT INTO batches (id, category, root, leaf_count, created_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`, b.ID, b.Category, b.Root, b.LeafCount, b.CreatedAt)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("%w: batch %s", ErrExists, b.ID)
		}
		n, err := tx.CopyFrom(ctx, pgx.Identifier{"records"},
			[]string{"citizen_ref", "category", "record_date", "body", "record_hash", "salt", "batch_id", "leaf_index", "created_at"},
			pgx.CopyFromSlice(len(records), func(i int) ([]any, error) {
				r := records[i]
				var salt []byte
				if r.Salt != nil {
					salt = r.Salt
				}
				return []any{r.CitizenRef, b.Category, r.RecordDate, r.Body, r.Hash, salt, b.ID, int32(i), b.CreatedAt}, nil
			}))
		if err != nil {
			return err
		}
		if n != int64(len(records)) {
			return fmt.Errorf("store: copied %d records of %d", n, len(records))
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"batch_leaf_blocks"}, []string{"batch_id", "block", "block_hash", "leaves"},
			pgx.CopyFromSlice(len(blocks), func(k int) ([]any, error) {
				return []any{b.ID, int32(k), blocks[k].String(), leafBlob(leaves, k)}, nil
			})); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "23505" {
		return fmt.Errorf("%w: a record of the batch is already stored", ErrExists)
	}
	return err
}

// leafBlob is block k of leaves as stored: its leaf hashes end to end.
func leafBlob(leaves []merkle.Hash, k int) []byte {
	part := leaves[k*LeafBlockSize : min((k+1)*LeafBlockSize, len(leaves))]
	blob := make([]byte, 0, 32*len(part))
	for _, l := range part {
		blob = append(blob, l[:]...)
	}
	return blob
}

// bulkInsert writes rows, many to a statement, through one statement
// prepared for the transaction (a full chunk), and the last, shorter chunk
// through a statement of its own.
//
// On SQLite the parameters are anonymous (?), which the driver binds by
// position: with numbered ones ($N) it formats and compares every name
// against the arguments, which cost more than the insert itself.
type bulkInsert struct {
	tx             *sql.Tx
	d              dialect
	prefix, suffix string
	rows, cols     int
	full           *sql.Stmt
	args           []any
	affected       int64
}

func (s *Store) newBulkInsert(tx *sql.Tx, prefix, suffix string, cols int) *bulkInsert {
	return &bulkInsert{tx: tx, d: s.d, prefix: prefix, suffix: suffix, rows: bulkRows, cols: cols, args: make([]any, 0, bulkRows*cols)}
}

// values returns the VALUES list of n rows.
func (b *bulkInsert) values(n int) string {
	if b.d == postgresDialect {
		return valuesList(1, n, b.cols)
	}
	row := "(?" + strings.Repeat(", ?", b.cols-1) + ")"
	return row + strings.Repeat(", "+row, n-1)
}

// add queues one row, writing the chunk when it is full.
func (b *bulkInsert) add(ctx context.Context, row ...any) error {
	b.args = append(b.args, row...)
	if len(b.args) < b.rows*b.cols {
		return nil
	}
	if b.full == nil {
		st, err := b.tx.PrepareContext(ctx, b.prefix+b.values(b.rows)+b.suffix)
		if err != nil {
			return err
		}
		b.full = st
	}
	res, err := b.full.ExecContext(ctx, b.args...)
	b.args = b.args[:0]
	return b.count(res, err)
}

// flush writes the rows queued.
func (b *bulkInsert) flush(ctx context.Context) error {
	if len(b.args) == 0 {
		return nil
	}
	res, err := b.tx.ExecContext(ctx, b.prefix+b.values(len(b.args)/b.cols)+b.suffix, b.args...)
	b.args = b.args[:0]
	return b.count(res, err)
}

func (b *bulkInsert) count(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	b.affected += n
	return err
}

func (b *bulkInsert) close() {
	if b.full != nil {
		b.full.Close()
	}
}

// LeafBlocks returns the hashes of a batch's leaf blocks, in order, and the
// leaves of block k: what a record's proof in a large batch needs (its path
// in its block, then the block's path among the blocks). It returns
// ErrNotFound for a batch without blocks (sealed before them: see
// BatchLeaves) and for a block it does not have.
func (s *Store) LeafBlocks(ctx context.Context, batchID string, k int) (blocks, leaves []merkle.Hash, err error) {
	// One query: every block's hash, and the leaves of block k only.
	rows, err := s.db.QueryContext(ctx, `SELECT block, block_hash, CASE WHEN block = $2 THEN leaves END
		FROM batch_leaf_blocks WHERE batch_id = $1 ORDER BY block`, batchID, k)
	if err != nil {
		return nil, nil, fmt.Errorf("store: leaf blocks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		var text string
		var blob []byte
		if err := rows.Scan(&i, &text, &blob); err != nil {
			return nil, nil, fmt.Errorf("store: leaf blocks: %w", err)
		}
		h, err := merkle.ParseHash(text)
		if err != nil || i != len(blocks) {
			return nil, nil, errors.New("store: leaf blocks are corrupt")
		}
		blocks = append(blocks, h)
		if i == k {
			leaves = splitLeaves(blob)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("store: leaf blocks: %w", err)
	}
	if k < 0 || k >= len(blocks) {
		return nil, nil, ErrNotFound
	}
	if len(leaves) == 0 {
		return nil, nil, errors.New("store: leaf blocks are corrupt")
	}
	return blocks, leaves, nil
}

// splitLeaves cuts a block's bytes into its 32-byte leaf hashes.
func splitLeaves(blob []byte) []merkle.Hash {
	leaves := make([]merkle.Hash, len(blob)/32)
	for i := range leaves {
		copy(leaves[i][:], blob[32*i:])
	}
	return leaves
}

// blockLeaves returns every leaf of a batch stored in blocks, in order, or
// nil if it has none.
func (s *Store) blockLeaves(ctx context.Context, batchID string) ([]merkle.Hash, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT leaves FROM batch_leaf_blocks WHERE batch_id = $1 ORDER BY block`, batchID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var leaves []merkle.Hash
	for rows.Next() {
		var blob []byte
		if err := rows.Scan(&blob); err != nil {
			return nil, err
		}
		leaves = append(leaves, splitLeaves(blob)...)
	}
	return leaves, rows.Err()
}
