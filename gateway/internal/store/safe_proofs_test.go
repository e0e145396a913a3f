package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/merkle"
)

// ProofSources reads, for batches of several sizes and a batch kept one
// row a leaf, what GetBatch and LeafBlocks read one batch at a time, in
// one chunk of queries or in many.
func TestProofSources(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		var batches []Batch
		serial := 0
		for _, n := range []int{1, LeafBlockSize, 2*LeafBlockSize + 3} {
			recs := make([]Record, n)
			for i := range recs {
				recs[i] = withHash(testRecord(i%5, "tax", "2026-05-01"), serial)
				serial++
			}
			b, err := s.InsertBatch(ctx, "tax", recs, func(root string) string { return "tax-" + root[:24] })
			if err != nil {
				t.Fatalf("InsertBatch(%d): %v", n, err)
			}
			batches = append(batches, b)
		}
		if err := s.MarkBatchAnchored(ctx, batches[2].ID, "tx-2", time.Now()); err != nil {
			t.Fatal(err)
		}
		// A batch sealed by CreateBatch keeps one row a leaf and no blocks.
		legacy := []Record{withHash(testRecord(1, "housing_fund", "2026-05-01"), serial),
			withHash(testRecord(2, "housing_fund", "2026-05-01"), serial+1)}
		if _, err := s.InsertRecords(ctx, legacy); err != nil {
			t.Fatal(err)
		}
		hashes := []string{legacy[0].Hash, legacy[1].Hash}
		leaves := make([]merkle.Hash, len(hashes))
		for i, h := range hashes {
			parsed, _ := merkle.ParseHash(h)
			leaves[i] = merkle.RecordLeafHash(nil, parsed)
		}
		old, err := s.CreateBatch(ctx, Batch{ID: "housing-old", Category: "housing_fund",
			Root: merkle.NewFromLeafHashes(leaves).Root().String(), LeafCount: 2}, hashes)
		if err != nil {
			t.Fatalf("CreateBatch: %v", err)
		}

		refs := []LeafBlockRef{
			{batches[2].ID, 2}, {batches[0].ID, 0}, {batches[2].ID, 0}, {batches[2].ID, 2},
			{old.ID, 0}, {"tax-unknown", 0}, {batches[1].ID, 0}, {batches[1].ID, 7},
		}
		for _, perQuery := range []int{proofRefsPerQuery, 2, 1} {
			t.Run(fmt.Sprint(perQuery), func(t *testing.T) {
				got, err := s.proofSourcesBy(ctx, refs, perQuery)
				if err != nil {
					t.Fatalf("ProofSources: %v", err)
				}
				if _, ok := got["tax-unknown"]; ok || len(got) != 4 {
					t.Fatalf("ProofSources: %d batches, want the 4 known", len(got))
				}
				if src := got[old.ID]; src.Batch.Root != old.Root || len(src.Blocks) != 0 || len(src.Leaves) != 0 {
					t.Errorf("batch kept one row a leaf: %+v, want the batch and no blocks", src)
				}
				for _, b := range batches {
					src := got[b.ID]
					want, err := s.GetBatch(ctx, b.ID)
					if err != nil {
						t.Fatal(err)
					}
					if !src.Batch.CreatedAt.Equal(want.CreatedAt) || !src.Batch.AnchoredAt.Equal(want.AnchoredAt) {
						t.Errorf("batch %s: times %v %v, want %v %v", b.ID, src.Batch.CreatedAt, src.Batch.AnchoredAt, want.CreatedAt, want.AnchoredAt)
					}
					src.Batch.CreatedAt, src.Batch.AnchoredAt, want.CreatedAt, want.AnchoredAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
					if src.Batch != want {
						t.Errorf("batch %s: %+v, want %+v", b.ID, src.Batch, want)
					}
					var asked []int // the blocks asked for that the batch has
					for _, r := range refs {
						if r.BatchID == b.ID && r.Block < (b.LeafCount+LeafBlockSize-1)/LeafBlockSize {
							asked = append(asked, r.Block)
						}
					}
					for k := range src.Leaves {
						if !slices.Contains(asked, k) {
							t.Errorf("batch %s: leaves of block %d, which was not asked for", b.ID, k)
						}
					}
					for _, k := range asked {
						blocks, leaves, err := s.LeafBlocks(ctx, b.ID, k)
						if err != nil {
							t.Fatal(err)
						}
						if !slices.Equal(src.Blocks, blocks) || !slices.Equal(src.Leaves[k], leaves) {
							t.Errorf("batch %s block %d: %d blocks, %d leaves; want LeafBlocks' %d and %d",
								b.ID, k, len(src.Blocks), len(src.Leaves[k]), len(blocks), len(leaves))
						}
					}
				}
			})
		}
		if got, err := s.ProofSources(ctx, nil); err != nil || len(got) != 0 {
			t.Errorf("ProofSources(nil): %v, %v; want nothing", got, err)
		}
		if _, _, err := s.LeafBlocks(ctx, batches[1].ID, 7); !errors.Is(err, ErrNotFound) {
			t.Errorf("LeafBlocks of a block the batch has not: %v, want ErrNotFound", err)
		}
	})
}
