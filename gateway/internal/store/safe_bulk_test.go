package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/quanchain/quanchain/chaincode/merkle"
)

func TestInsertBatch(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		const n = 2*bulkRows + 7
		recs := make([]Record, n)
		for i := range recs {
			recs[i] = withHash(testRecord(i%9, "tax", "2026-05-01"), i)
			recs[i].Salt = bytes.Repeat([]byte{byte(i)}, merkle.SaltSize)
		}
		stored, err := s.StoredHashes(ctx, []string{recs[0].Hash})
		if err != nil || len(stored) != 0 {
			t.Fatalf("StoredHashes before: %v, %v; want none", stored, err)
		}
		b, err := s.InsertBatch(ctx, "tax", recs, func(root string) string { return "tax-" + root[:24] })
		if err != nil {
			t.Fatalf("InsertBatch: %v", err)
		}
		leaves := make([]merkle.Hash, n)
		for i, r := range recs {
			h, _ := merkle.ParseHash(r.Hash)
			leaves[i] = merkle.RecordLeafHash(r.Salt, h)
		}
		root := merkle.NewFromLeafHashes(leaves).Root().String()
		if b.Root != root || b.ID != "tax-"+root[:24] || b.LeafCount != n || b.AnchoredTxID != "" {
			t.Fatalf("batch %+v, want root %s over %d leaves, unanchored", b, root, n)
		}
		got, err := s.BatchLeaves(ctx, b.ID)
		if err != nil || !slices.Equal(got, leaves) {
			t.Fatalf("BatchLeaves: %d leaves, %v; want the records' leaves", len(got), err)
		}
		blocks, blockLeaves, err := s.LeafBlocks(ctx, b.ID, 0)
		if err != nil || len(blocks) != 1 || !slices.Equal(blockLeaves, leaves) || blocks[0].String() != root {
			t.Fatalf("LeafBlocks: %d blocks, %d leaves, %v; want one block of every leaf", len(blocks), len(blockLeaves), err)
		}
		if _, _, err := s.LeafBlocks(ctx, b.ID, 1); !errors.Is(err, ErrNotFound) {
			t.Errorf("LeafBlocks of a block past the end: %v, want ErrNotFound", err)
		}
		for _, i := range []int{0, bulkRows, n - 1} {
			r, err := s.RecordByHash(ctx, recs[i].Hash)
			if err != nil {
				t.Fatalf("RecordByHash: %v", err)
			}
			if r.BatchID != b.ID || r.LeafIndex != i || !bytes.Equal(r.Salt, recs[i].Salt) || !bytes.Equal(r.Body, recs[i].Body) {
				t.Errorf("record %d: batch %s, leaf %d; want %s, %d with its salt and body", i, r.BatchID, r.LeafIndex, b.ID, i)
			}
		}
		if pending, err := s.UnanchoredRecords(ctx, "tax", 10); err != nil || len(pending) != 0 {
			t.Errorf("UnanchoredRecords: %d, %v; want none: the records are batched", len(pending), err)
		}
		stored, err = s.StoredHashes(ctx, []string{recs[0].Hash, recs[n-1].Hash, ref(1)})
		if err != nil || len(stored) != 2 || !stored[recs[0].Hash] || !stored[recs[n-1].Hash] {
			t.Errorf("StoredHashes: %v, %v; want the two stored", stored, err)
		}
		// More hashes than one IN list holds on SQLite: the stored ones at
		// both ends are found.
		many := []string{recs[0].Hash}
		for i := range 2 * lookupRows {
			many = append(many, ref(10_000+i))
		}
		many = append(many, recs[n-1].Hash)
		stored, err = s.StoredHashes(ctx, many)
		if err != nil || len(stored) != 2 || !stored[recs[0].Hash] || !stored[recs[n-1].Hash] {
			t.Errorf("StoredHashes of %d: %d found, %v; want the two stored", len(many), len(stored), err)
		}

		// A record already stored fails the whole batch, which leaves
		// nothing behind.
		again := []Record{withHash(testRecord(99, "tax", "2026-06-01"), 1000), recs[3]}
		if _, err := s.InsertBatch(ctx, "tax", again, func(root string) string { return "tax-" + root[:24] }); !errors.Is(err, ErrExists) {
			t.Fatalf("InsertBatch of a stored record: %v, want ErrExists", err)
		}
		if _, err := s.RecordByHash(ctx, again[0].Hash); !errors.Is(err, ErrNotFound) {
			t.Errorf("RecordByHash of the failed batch's new record: %v, want ErrNotFound", err)
		}
		if _, err := s.InsertBatch(ctx, "tax", []Record{testRecord(1, "housing_fund", "2026-05-01")}, func(string) string { return "x" }); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("InsertBatch of another category's record: %v, want ErrInvalidArgument", err)
		}
	})
}

// withHash makes r's body unique by n and sets its hash.
func withHash(r Record, n int) Record {
	r.Body = fmt.Appendf(bytes.TrimSuffix(r.Body, []byte("}")), `,"serial":%d}`, n)
	sum := sha256.Sum256(r.Body)
	r.Hash = hex.EncodeToString(sum[:])
	return r
}

func TestInsertBatchBlocks(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		const n = 2*LeafBlockSize + 3
		recs := make([]Record, n)
		leaves := make([]merkle.Hash, n)
		for i := range recs {
			recs[i] = withHash(testRecord(i%5, "tax", "2026-05-01"), i)
			h, _ := merkle.ParseHash(recs[i].Hash)
			leaves[i] = merkle.RecordLeafHash(nil, h)
		}
		b, err := s.InsertBatch(ctx, "tax", recs, func(root string) string { return "tax-" + root[:24] })
		if err != nil {
			t.Fatalf("InsertBatch: %v", err)
		}
		if root := merkle.NewFromLeafHashes(leaves).Root().String(); b.Root != root {
			t.Fatalf("root %s, want %s", b.Root, root)
		}
		blocks, last, err := s.LeafBlocks(ctx, b.ID, 2)
		if err != nil || len(blocks) != 3 || !slices.Equal(last, leaves[2*LeafBlockSize:]) {
			t.Fatalf("LeafBlocks(2): %d blocks, %d leaves, %v; want 3 blocks, the last 3 leaves", len(blocks), len(last), err)
		}
		for k := range blocks {
			want := merkle.NewFromLeafHashes(leaves[k*LeafBlockSize : min((k+1)*LeafBlockSize, n)]).Root()
			if blocks[k] != want {
				t.Errorf("block %d hash %s, want %s", k, blocks[k], want)
			}
		}
		if got, err := s.BatchLeaves(ctx, b.ID); err != nil || !slices.Equal(got, leaves) {
			t.Errorf("BatchLeaves: %d leaves, %v; want all %d", len(got), err, n)
		}
	})
}
