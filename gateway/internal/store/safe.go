package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quanchain/quanchain/chaincode/merkle"
)

// The digital safe (数字保险箱): the provider's records, kept at their source
// and anchored on the ledger in Merkle batches.
//
// A batch keeps its leaf hashes, in leaf order, in blocks of LeafBlockSize
// leaves, each with the hash of its subtree (batch_leaf_blocks); batches
// sealed before blocks, and those CreateBatch seals, keep one row a leaf
// (batch_leaves). Proofs are recomputed from them on demand rather than
// stored: leaves take n·32 bytes where stored proofs would take n·log₂ n
// hashes, and the tree stays intact if records are later deleted (a
// retention limit or an erasure request under PIPL), since the leaves are
// hashes, not records. A record's proof needs only its block and the block
// hashes (LeafBlocks): a few rows and about 500 SHA-256 computations,
// however large the batch. A delivery reads the batches and blocks of all
// its records in two queries (ProofSources), however many batches they lie
// in.
//
// Each record keeps its salt, 32 random bytes drawn at import, and its leaf
// is SHA-256(0x00 ‖ salt ‖ record hash) (merkle.RecordLeafHash): the salt is
// delivered with the record, and without it nobody can confirm a guessed
// record against an anchored root. Records stored before salts have none,
// and their leaves are SHA-256(0x00 ‖ record hash).

// Record is one record of the digital safe.
type Record struct {
	ID         int64
	CitizenRef string // keyed hash of the citizen's ID number, 64 hex
	Category   string
	RecordDate string // YYYY-MM-DD
	Body       []byte // the record's JSON bytes, exactly as hashed
	Hash       string // hex SHA-256 of Body
	Salt       []byte // merkle.SaltSize random bytes of the record's leaf; nil for records stored before salts
	BatchID    string // "" until batched
	LeafIndex  int    // position in the batch; meaningful only with BatchID
	Revoked    bool
	CreatedAt  time.Time
}

// Batch is a Merkle batch of records of one category.
type Batch struct {
	ID           string
	Category     string
	Root         string // hex RFC 6962 tree head
	LeafCount    int
	CreatedAt    time.Time
	AnchoredTxID string    // "" until anchored
	AnchoredAt   time.Time // zero until anchored
}

const recordColumns = `id, citizen_ref, category, record_date, body, record_hash, salt, batch_id, leaf_index, revoked, created_at`

func scanRecord(row interface{ Scan(...any) error }) (Record, error) {
	var r Record
	var batch sql.NullString
	var idx sql.NullInt64
	err := row.Scan(&r.ID, &r.CitizenRef, &r.Category, &r.RecordDate, &r.Body, &r.Hash, &r.Salt,
		&batch, &idx, &r.Revoked, scanTime(&r.CreatedAt))
	r.BatchID, r.LeafIndex = batch.String, int(idx.Int64)
	return r, err
}

func (s *Store) queryRecords(ctx context.Context, query string, args ...any) ([]Record, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, r)
	}
	return list, rows.Err()
}

// validDate reports whether s is a calendar date written YYYY-MM-DD.
func validDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil && len(s) == len(time.DateOnly)
}

// InsertRecords stores records in one transaction, skipping any whose hash
// is already stored (a stored record keeps its salt), and returns how many
// were new. Only CitizenRef, Category, RecordDate, Body, Hash and Salt are
// read; Hash must be the hex SHA-256 of Body and Salt merkle.SaltSize random
// bytes (the vault draws them; nil stores a record without a salt, whose
// leaf anyone who guesses the record can confirm).
func (s *Store) InsertRecords(ctx context.Context, records []Record) (inserted int, err error) {
	for i, r := range records {
		if len(r.CitizenRef) != 64 || r.Category == "" || !validDate(r.RecordDate) || len(r.Body) == 0 || len(r.Hash) != 64 {
			return 0, fmt.Errorf("%w: record %d lacks a citizenRef, category, date, body or hash", ErrInvalidArgument, i)
		}
		if r.Salt != nil && len(r.Salt) != merkle.SaltSize {
			return 0, fmt.Errorf("%w: record %d has a salt of %d bytes, not %d", ErrInvalidArgument, i, len(r.Salt), merkle.SaltSize)
		}
	}
	now := s.d.ts(s.now())
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		for chunk := range slices.Chunk(records, bulkRows) {
			args := make([]any, 0, 7*len(chunk))
			for _, r := range chunk {
				var salt any
				if r.Salt != nil {
					salt = r.Salt
				}
				args = append(args, r.CitizenRef, r.Category, r.RecordDate, r.Body, r.Hash, salt, now)
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO records
				(citizen_ref, category, record_date, body, record_hash, salt, created_at)
				VALUES `+valuesList(1, len(chunk), 7)+` ON CONFLICT (record_hash) DO NOTHING`, args...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			inserted += int(n)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: insert records: %w", err)
	}
	return inserted, nil
}

// RecordsFor returns a citizen's records in the given categories (all if
// none) with from ≤ record date ≤ to (YYYY-MM-DD, either may be empty for
// no bound), ordered by category, date and id.
func (s *Store) RecordsFor(ctx context.Context, citizenRef string, categories []string, from, to string) ([]Record, error) {
	if (from != "" && !validDate(from)) || (to != "" && !validDate(to)) {
		return nil, fmt.Errorf("%w: dates must be YYYY-MM-DD", ErrInvalidArgument)
	}
	query := `SELECT ` + recordColumns + ` FROM records WHERE citizen_ref = $1`
	args := []any{citizenRef}
	if from != "" {
		args = append(args, from)
		query += fmt.Sprintf(` AND record_date >= $%d`, len(args))
	}
	if to != "" {
		args = append(args, to)
		query += fmt.Sprintf(` AND record_date <= $%d`, len(args))
	}
	if len(categories) > 0 {
		query += ` AND category IN (` + placeholders(len(args)+1, len(categories)) + `)`
		for _, c := range categories {
			args = append(args, c)
		}
	}
	query += ` ORDER BY category, record_date, id`
	list, err := s.queryRecords(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: records for citizen: %w", err)
	}
	return list, nil
}

// RecordByHash returns the record with the given hex hash, or ErrNotFound.
func (s *Store) RecordByHash(ctx context.Context, hash string) (Record, error) {
	r, err := scanRecord(s.db.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM records WHERE record_hash = $1`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("store: record by hash: %w", err)
	}
	return r, nil
}

// SetRecordRevoked marks a record revoked (or not), as its anchor's
// revocation on the ledger is recorded or undone.
func (s *Store) SetRecordRevoked(ctx context.Context, hash string, revoked bool) error {
	res, err := s.db.ExecContext(ctx, `UPDATE records SET revoked = $2 WHERE record_hash = $1`, hash, revoked)
	if err := affectedOne(res, err); err != nil {
		if errors.Is(err, ErrNotFound) {
			return err
		}
		return fmt.Errorf("store: revoke record: %w", err)
	}
	return nil
}

// UnanchoredRecords returns up to limit records of a category not yet in a
// batch, oldest first: the next batch's leaves, in leaf order.
func (s *Store) UnanchoredRecords(ctx context.Context, category string, limit int) ([]Record, error) {
	list, err := s.queryRecords(ctx, `SELECT `+recordColumns+` FROM records
		WHERE category = $1 AND batch_id IS NULL ORDER BY id LIMIT $2`, category, limit)
	if err != nil {
		return nil, fmt.Errorf("store: unanchored records: %w", err)
	}
	return list, nil
}

// CreateBatch stores batch b over the records whose hex hashes are given in
// leaf order, in one transaction: the batch, its leaf hashes
// SHA-256(0x00 ‖ salt ‖ record hash) with each record's stored salt, and
// each record's batch and leaf index. It checks that the leaves give b.Root
// and b.LeafCount, and fails with ErrInvalidArgument if a record is unknown
// or already batched, and with ErrExists if the batch id is taken.
// b.CreatedAt is set to the current time.
func (s *Store) CreateBatch(ctx context.Context, b Batch, recordHashes []string) (Batch, error) {
	if b.ID == "" || b.Category == "" || len(recordHashes) == 0 || b.LeafCount != len(recordHashes) {
		return Batch{}, fmt.Errorf("%w: a batch needs an id, a category and as many record hashes as leaves", ErrInvalidArgument)
	}
	hashes := make([]merkle.Hash, len(recordHashes))
	for i, h := range recordHashes {
		var err error
		if hashes[i], err = merkle.ParseHash(h); err != nil || strings.ToLower(h) != h {
			return Batch{}, fmt.Errorf("%w: record hash %d is not 64 hex digits", ErrInvalidArgument, i)
		}
	}
	b.CreatedAt = s.now().UTC().Truncate(time.Microsecond)
	b.AnchoredTxID, b.AnchoredAt = "", time.Time{}
	leaves := make([]merkle.Hash, len(recordHashes))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		salts, err := recordSalts(ctx, tx, recordHashes)
		if err != nil {
			return err
		}
		for i, h := range recordHashes {
			salt, ok := salts[h]
			if !ok {
				return fmt.Errorf("%w: record %d is not in the safe", ErrInvalidArgument, i)
			}
			leaves[i] = merkle.RecordLeafHash(salt, hashes[i])
		}
		if root := merkle.NewFromLeafHashes(leaves).Root().String(); root != b.Root {
			return fmt.Errorf("%w: the leaves do not give the batch root", ErrInvalidArgument)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO batches (id, category, root, leaf_count, created_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
			b.ID, b.Category, b.Root, b.LeafCount, s.d.ts(b.CreatedAt))
		if err := affectedOne(res, err); err != nil {
			if errors.Is(err, ErrNotFound) {
				return ErrExists
			}
			return err
		}
		for start := 0; start < len(recordHashes); start += bulkRows {
			chunk := recordHashes[start:min(start+bulkRows, len(recordHashes))]
			leafArgs := []any{b.ID}
			recArgs := []any{b.ID, b.Category}
			for i, h := range chunk {
				// Parameters in VALUES are text to PostgreSQL: pass the
				// index as text and cast it.
				idx := strconv.Itoa(start + i)
				leafArgs = append(leafArgs, idx, leaves[start+i].String())
				recArgs = append(recArgs, h, idx)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO batch_leaves (batch_id, idx, leaf_hash)
				SELECT $1, CAST(column1 AS INTEGER), column2 FROM (VALUES `+valuesList(2, len(chunk), 2)+`) AS v`,
				leafArgs...); err != nil {
				return err
			}
			// VALUES columns are named column1, column2… on both backends.
			res, err := tx.ExecContext(ctx, `UPDATE records SET batch_id = $1, leaf_index = CAST(v.column2 AS INTEGER)
				FROM (VALUES `+valuesList(3, len(chunk), 2)+`) AS v
				WHERE records.record_hash = v.column1 AND records.category = $2 AND records.batch_id IS NULL`,
				recArgs...)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if int(n) != len(chunk) {
				return fmt.Errorf("%w: a leaf is not an unbatched record of the category", ErrInvalidArgument)
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrExists) || errors.Is(err, ErrInvalidArgument) {
			return Batch{}, err
		}
		return Batch{}, fmt.Errorf("store: create batch: %w", err)
	}
	return b, nil
}

// recordSalts returns the salts of the records with the given hex hashes,
// by hash (nil for a record without a salt); unknown hashes are absent.
func recordSalts(ctx context.Context, tx *sql.Tx, recordHashes []string) (map[string][]byte, error) {
	salts := make(map[string][]byte, len(recordHashes))
	for chunk := range slices.Chunk(recordHashes, bulkRows) {
		args := make([]any, len(chunk))
		for i, h := range chunk {
			args[i] = h
		}
		rows, err := tx.QueryContext(ctx, `SELECT record_hash, salt FROM records
			WHERE record_hash IN (`+placeholders(1, len(chunk))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var h string
			var salt []byte
			if err := rows.Scan(&h, &salt); err != nil {
				rows.Close()
				return nil, err
			}
			salts[h] = salt
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return salts, nil
}

// MarkBatchAnchored records the transaction that anchored a batch. Marking
// it again with the same transaction id is a no-op; with another, an error.
func (s *Store) MarkBatchAnchored(ctx context.Context, batchID, txID string, at time.Time) error {
	if txID == "" {
		return fmt.Errorf("%w: transaction id required", ErrInvalidArgument)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE batches SET anchored_tx_id = $2, anchored_at = $3
		WHERE id = $1 AND (anchored_tx_id IS NULL OR anchored_tx_id = $2)`, batchID, txID, s.d.ts(at))
	if err := affectedOne(res, err); err != nil {
		if !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("store: mark batch anchored: %w", err)
		}
		if _, gerr := s.GetBatch(ctx, batchID); gerr != nil {
			return gerr
		}
		return fmt.Errorf("%w: batch already anchored by another transaction", ErrExists)
	}
	return nil
}

const batchColumns = `id, category, root, leaf_count, created_at, anchored_tx_id, anchored_at`

func scanBatch(row interface{ Scan(...any) error }) (Batch, error) {
	var b Batch
	var tx sql.NullString
	err := row.Scan(&b.ID, &b.Category, &b.Root, &b.LeafCount, scanTime(&b.CreatedAt), &tx, scanTime(&b.AnchoredAt))
	b.AnchoredTxID = tx.String
	return b, err
}

// GetBatch returns the batch with the given id, or ErrNotFound.
func (s *Store) GetBatch(ctx context.Context, id string) (Batch, error) {
	b, err := scanBatch(s.db.QueryRowContext(ctx, `SELECT `+batchColumns+` FROM batches WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Batch{}, ErrNotFound
	}
	if err != nil {
		return Batch{}, fmt.Errorf("store: get batch: %w", err)
	}
	return b, nil
}

// UnanchoredBatches returns up to limit batches not yet anchored, oldest
// first: those whose anchoring failed or was interrupted.
func (s *Store) UnanchoredBatches(ctx context.Context, limit int) ([]Batch, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+batchColumns+` FROM batches
		WHERE anchored_tx_id IS NULL ORDER BY created_at, id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: unanchored batches: %w", err)
	}
	defer rows.Close()
	var list []Batch
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, fmt.Errorf("store: unanchored batches: %w", err)
		}
		list = append(list, b)
	}
	return list, rows.Err()
}

// BatchLeaves returns the leaf hashes of a batch in leaf order, from which
// [merkle.NewFromLeafHashes] rebuilds its tree and proofs. It returns
// ErrNotFound for an unknown batch.
func (s *Store) BatchLeaves(ctx context.Context, batchID string) ([]merkle.Hash, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT idx, leaf_hash FROM batch_leaves WHERE batch_id = $1 ORDER BY idx`, batchID)
	if err != nil {
		return nil, fmt.Errorf("store: batch leaves: %w", err)
	}
	defer rows.Close()
	var leaves []merkle.Hash
	for rows.Next() {
		var idx int
		var text string
		if err := rows.Scan(&idx, &text); err != nil {
			return nil, fmt.Errorf("store: batch leaves: %w", err)
		}
		h, err := merkle.ParseHash(text)
		if err != nil || idx != len(leaves) {
			return nil, errors.New("store: batch leaves are corrupt")
		}
		leaves = append(leaves, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: batch leaves: %w", err)
	}
	if len(leaves) == 0 {
		// A batch stored by InsertBatch keeps its leaves in blocks.
		if leaves, err = s.blockLeaves(ctx, batchID); err != nil {
			return nil, fmt.Errorf("store: batch leaves: %w", err)
		}
	}
	if len(leaves) == 0 {
		return nil, ErrNotFound
	}
	return leaves, nil
}
