package store

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/quanchain/quanchain/chaincode/merkle"
)

// TestRecordSalts: a record keeps its salt, a second import of it keeps
// the first salt, and its leaf is SHA-256(0x00 ‖ salt ‖ record hash); a
// record without a salt keeps the leaf SHA-256(0x00 ‖ record hash).
func TestRecordSalts(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		salted := testRecord(1, "death_registration", "2026-09-04")
		salted.Salt = make([]byte, merkle.SaltSize)
		rand.Read(salted.Salt)
		plain := testRecord(2, "death_registration", "2026-09-18")
		if _, err := s.InsertRecords(ctx, []Record{salted, plain}); err != nil {
			t.Fatalf("InsertRecords: %v", err)
		}
		again := salted
		again.Salt = bytes.Repeat([]byte{1}, merkle.SaltSize)
		if n, err := s.InsertRecords(ctx, []Record{again}); err != nil || n != 0 {
			t.Fatalf("InsertRecords again: %d %v", n, err)
		}
		short := testRecord(3, "death_registration", "2026-09-20")
		short.Salt = []byte{1, 2, 3}
		if _, err := s.InsertRecords(ctx, []Record{short}); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("a 3-byte salt: %v, want %v", err, ErrInvalidArgument)
		}
		got, err := s.RecordByHash(ctx, salted.Hash)
		if err != nil || !bytes.Equal(got.Salt, salted.Salt) {
			t.Fatalf("RecordByHash: salt %x %v, want %x", got.Salt, err, salted.Salt)
		}
		if got, err := s.RecordByHash(ctx, plain.Hash); err != nil || got.Salt != nil {
			t.Fatalf("RecordByHash without a salt: %x %v", got.Salt, err)
		}

		h0, _ := merkle.ParseHash(salted.Hash)
		h1, _ := merkle.ParseHash(plain.Hash)
		want := []merkle.Hash{merkle.RecordLeafHash(salted.Salt, h0), merkle.LeafHash(h1[:])}
		b := Batch{ID: "death_registration-1", Category: "death_registration",
			Root: merkle.NewFromLeafHashes(want).Root().String(), LeafCount: 2}
		unsalted, _ := batchOf([]Record{salted, plain})
		unsalted.ID = b.ID
		if _, err := s.CreateBatch(ctx, unsalted, []string{salted.Hash, plain.Hash}); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("a root over unsalted leaves: %v, want %v", err, ErrInvalidArgument)
		}
		if _, err := s.CreateBatch(ctx, b, []string{salted.Hash, plain.Hash}); err != nil {
			t.Fatalf("CreateBatch: %v", err)
		}
		leaves, err := s.BatchLeaves(ctx, b.ID)
		if err != nil || len(leaves) != 2 || leaves[0] != want[0] || leaves[1] != want[1] {
			t.Fatalf("BatchLeaves: %v %v, want %v", leaves, err, want)
		}
	})
}
