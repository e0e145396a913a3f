package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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
		if err != nil || len(got) != n || got[n-1] != leaves[n-1] || got[bulkRows] != leaves[bulkRows] {
			t.Fatalf("BatchLeaves: %d leaves, %v; want the records' leaves", len(got), err)
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
