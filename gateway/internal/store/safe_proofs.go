package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/quanchain/quanchain/chaincode/merkle"
)

// LeafBlockRef names block Block of batch BatchID's leaf blocks, the block
// of leaf i being i / LeafBlockSize.
type LeafBlockRef struct {
	BatchID string
	Block   int
}

// ProofSource is what the proofs of some of a batch's records need: the
// batch, the hashes of all its leaf blocks and the leaves of the blocks
// asked for, as GetBatch and LeafBlocks return them.
type ProofSource struct {
	Batch  Batch
	Blocks []merkle.Hash         // in block order; none for a batch kept one row a leaf (see BatchLeaves)
	Leaves map[int][]merkle.Hash // by block, the blocks asked for that the batch has
}

// proofRefsPerQuery bounds the batches and blocks one query of ProofSources
// names, far below the databases' parameter limits; a delivery names a few.
const proofRefsPerQuery = 500

// ProofSources returns, by batch id, the proof sources of the batches of
// refs: the records of one delivery lie in a few batches, and this reads
// them all in two queries (the batches, then their blocks), where
// GetBatch and LeafBlocks take two a batch. Unknown batches are absent.
// Refs are read in chunks of a few hundred batches and blocks, two queries
// each.
func (s *Store) ProofSources(ctx context.Context, refs []LeafBlockRef) (map[string]ProofSource, error) {
	return s.proofSourcesBy(ctx, refs, proofRefsPerQuery)
}

// proofSourcesBy is ProofSources naming at most perQuery batches and
// blocks a query (more if one batch has more blocks).
func (s *Store) proofSourcesBy(ctx context.Context, refs []LeafBlockRef, perQuery int) (map[string]ProofSource, error) {
	wanted := map[string][]int{} // blocks asked for, by batch
	var ids []string             // batches, in first-named order
	for _, r := range refs {
		blocks, ok := wanted[r.BatchID]
		if !ok {
			ids = append(ids, r.BatchID)
		}
		if !slices.Contains(blocks, r.Block) {
			wanted[r.BatchID] = append(blocks, r.Block)
		}
	}
	sources := make(map[string]ProofSource, len(ids))
	for len(ids) > 0 {
		n, params := 0, 0
		for n < len(ids) && (n == 0 || params+1+len(wanted[ids[n]]) <= perQuery) {
			params += 1 + len(wanted[ids[n]])
			n++
		}
		if err := s.proofSources(ctx, ids[:n], wanted, sources); err != nil {
			return nil, fmt.Errorf("store: proof sources: %w", err)
		}
		ids = ids[n:]
	}
	return sources, nil
}

// proofSources reads the batches ids and their blocks into sources.
func (s *Store) proofSources(ctx context.Context, ids []string, wanted map[string][]int, sources map[string]ProofSource) error {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	in := placeholders(1, len(ids))
	rows, err := s.db.QueryContext(ctx, `SELECT `+batchColumns+` FROM batches WHERE id IN (`+in+`)`, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			rows.Close()
			return err
		}
		sources[b.ID] = ProofSource{Batch: b, Leaves: map[int][]merkle.Hash{}}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	// Every block's hash of the batches, and the leaves of the blocks asked
	// for only. Each batch id is bound once ($1…) and named again by its
	// number in the condition on the blocks.
	var cond strings.Builder
	for i, id := range ids {
		for _, k := range wanted[id] {
			if cond.Len() > 0 {
				cond.WriteString(" OR ")
			}
			args = append(args, k)
			fmt.Fprintf(&cond, "(batch_id = $%d AND block = $%d)", i+1, len(args))
		}
	}
	rows, err = s.db.QueryContext(ctx, `SELECT batch_id, block, block_hash, CASE WHEN `+cond.String()+` THEN leaves END
		FROM batch_leaf_blocks WHERE batch_id IN (`+in+`) ORDER BY batch_id, block`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, text string
		var k int
		var blob []byte
		if err := rows.Scan(&id, &k, &text, &blob); err != nil {
			return err
		}
		src, ok := sources[id]
		h, err := merkle.ParseHash(text)
		if !ok || err != nil || k != len(src.Blocks) {
			return errors.New("leaf blocks are corrupt")
		}
		src.Blocks = append(src.Blocks, h)
		if blob != nil {
			src.Leaves[k] = splitLeaves(blob)
		}
		sources[id] = src
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range ids {
		for _, k := range wanted[id] {
			if src, ok := sources[id]; ok && k >= 0 && k < len(src.Blocks) && len(src.Leaves[k]) == 0 {
				return errors.New("leaf blocks are corrupt")
			}
		}
	}
	return nil
}
