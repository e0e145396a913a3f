package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/merkle"
)

// Part of the store suite (see store_test.go): the digital safe, delivery
// receipts and login challenges, on both backends.

// ref returns a citizenRef-shaped value for test citizen n.
func ref(n int) string {
	sum := sha256.Sum256([]byte(fmt.Sprint("citizen-", n)))
	return hex.EncodeToString(sum[:])
}

func testRecord(citizen int, category, date string) Record {
	body := []byte(fmt.Sprintf(`{"category":%q,"citizen":%d,"record_date":%q}`, category, citizen, date))
	sum := sha256.Sum256(body)
	return Record{CitizenRef: ref(citizen), Category: category, RecordDate: date, Body: body, Hash: hex.EncodeToString(sum[:])}
}

// batchOf returns the id, root and record hashes of a batch over records.
func batchOf(records []Record) (Batch, []string) {
	hashes := make([]string, len(records))
	leaves := make([][]byte, len(records))
	for i, r := range records {
		hashes[i] = r.Hash
		leaves[i], _ = hex.DecodeString(r.Hash)
	}
	root := merkle.Root(leaves).String()
	return Batch{ID: records[0].Category + "-" + root[:24], Category: records[0].Category, Root: root, LeafCount: len(records)}, hashes
}

func TestRecordsAndBatches(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		var recs []Record
		for c := range 3 {
			for m := 1; m <= 6; m++ {
				recs = append(recs, testRecord(c, "housing_fund", fmt.Sprintf("2026-%02d-15", m)))
			}
			recs = append(recs, testRecord(c, "tax", "2026-03-10"))
		}
		n, err := s.InsertRecords(ctx, recs)
		if err != nil {
			t.Fatalf("InsertRecords: %v", err)
		}
		if got, want := n, len(recs); got != want {
			t.Fatalf("n = %v, want %v", got, want)
		}
		n, err = s.InsertRecords(ctx, recs[:5]) // same hashes: skipped
		if err != nil {
			t.Fatalf("InsertRecords: %v", err)
		}
		if n != 0 {
			t.Fatalf("%d records inserted again, want 0", n)
		}
		_, err = s.InsertRecords(ctx, []Record{{CitizenRef: ref(0), Category: "tax", RecordDate: "2026-02-30", Body: []byte("{}"), Hash: recs[0].Hash}})
		if !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("InsertRecords: %v, want %v", err, ErrInvalidArgument)
		}

		// Queries by citizen, category and date range.
		tests := []struct {
			name       string
			categories []string
			from, to   string
			want       int
		}{
			{"all", nil, "", "", 7},
			{"one category", []string{"housing_fund"}, "", "", 6},
			{"two categories", []string{"housing_fund", "tax"}, "", "", 7},
			{"unknown category", []string{"e_licence"}, "", "", 0},
			{"from", []string{"housing_fund"}, "2026-04-01", "", 3},
			{"to inclusive", []string{"housing_fund"}, "", "2026-03-15", 3},
			{"range", nil, "2026-03-01", "2026-03-31", 2},
		}
		for _, tt := range tests {
			got, err := s.RecordsFor(ctx, ref(1), tt.categories, tt.from, tt.to)
			if err != nil {
				t.Fatalf("%s: RecordsFor: %v", tt.name, err)
			}
			if len(got) != tt.want {
				t.Errorf("%s: %d records, want %d", tt.name, len(got), tt.want)
			}
			for _, r := range got {
				if r.CitizenRef != ref(1) {
					t.Errorf("%s: a record of %v", tt.name, r.CitizenRef)
				}
			}
		}
		_, err = s.RecordsFor(ctx, ref(1), nil, "2026-13-01", "")
		if !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("RecordsFor: %v, want %v", err, ErrInvalidArgument)
		}

		got, err := s.RecordByHash(ctx, recs[3].Hash)
		if err != nil {
			t.Fatalf("RecordByHash: %v", err)
		}
		if !bytes.Equal(got.Body, recs[3].Body) {
			t.Errorf("got.Body = %q, want %q", got.Body, recs[3].Body)
		}
		if got.BatchID != "" {
			t.Errorf("got.BatchID = %q, want %q", got.BatchID, "")
		}
		_, err = s.RecordByHash(ctx, ref(99))
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("RecordByHash: %v, want %v", err, ErrNotFound)
		}

		// Batch the housing-fund records in two batches.
		pending, err := s.UnanchoredRecords(ctx, "housing_fund", 10)
		if err != nil {
			t.Fatalf("UnanchoredRecords: %v", err)
		}
		if len(pending) != 10 {
			t.Fatalf("len(pending) = %d, want %d", len(pending), 10)
		}
		b1, hashes := batchOf(pending)
		bad := b1
		bad.Root = ref(42)
		_, err = s.CreateBatch(ctx, bad, hashes)
		if !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("root must match the leaves: %v, want %v", err, ErrInvalidArgument)
		}
		b1, err = s.CreateBatch(ctx, b1, hashes)
		if err != nil {
			t.Fatalf("CreateBatch: %v", err)
		}
		_, err = s.CreateBatch(ctx, b1, hashes)
		if !errors.Is(err, ErrExists) {
			t.Fatalf("CreateBatch: %v, want %v", err, ErrExists)
		}
		rest, err := s.UnanchoredRecords(ctx, "housing_fund", 10)
		if err != nil {
			t.Fatalf("UnanchoredRecords: %v", err)
		}
		if len(rest) != 8 {
			t.Fatalf("len(rest) = %d, want %d", len(rest), 8)
		}
		b2, hashes2 := batchOf(append(rest, pending[0])) // a record already batched
		_, err = s.CreateBatch(ctx, b2, hashes2)
		if !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("CreateBatch: %v, want %v", err, ErrInvalidArgument)
		}
		b2, hashes2 = batchOf(rest)
		_, err = s.CreateBatch(ctx, b2, hashes2)
		if err != nil {
			t.Fatalf("CreateBatch: %v", err)
		}

		// Leaves rebuild the tree; every record's proof verifies.
		leaves, err := s.BatchLeaves(ctx, b1.ID)
		if err != nil {
			t.Fatalf("BatchLeaves: %v", err)
		}
		tree := merkle.NewFromLeafHashes(leaves)
		if got := tree.Root().String(); got != b1.Root {
			t.Fatalf("tree.Root().String() = %v, want %v", got, b1.Root)
		}
		for _, h := range hashes {
			r, err := s.RecordByHash(ctx, h)
			if err != nil {
				t.Fatalf("RecordByHash: %v", err)
			}
			if r.BatchID != b1.ID {
				t.Fatalf("r.BatchID = %v, want %v", r.BatchID, b1.ID)
			}
			proof, err := tree.Proof(uint64(r.LeafIndex))
			if err != nil {
				t.Fatalf("Proof: %v", err)
			}
			raw, _ := hex.DecodeString(r.Hash)
			if err := merkle.VerifyInclusion(raw, uint64(r.LeafIndex), tree.Size(), proof, tree.Root()); err != nil {
				t.Fatalf("VerifyInclusion: %v", err)
			}
		}
		_, err = s.BatchLeaves(ctx, "nope")
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("BatchLeaves: %v, want %v", err, ErrNotFound)
		}

		// Anchoring.
		open, err := s.UnanchoredBatches(ctx, 10)
		if err != nil {
			t.Fatalf("UnanchoredBatches: %v", err)
		}
		if len(open) != 2 {
			t.Fatalf("len(open) = %d, want %d", len(open), 2)
		}
		at := time.Date(2026, 11, 2, 9, 0, 0, 123456789, time.FixedZone("CST", 8*3600))
		if err := s.MarkBatchAnchored(ctx, b1.ID, "tx-1", at); err != nil {
			t.Fatalf("MarkBatchAnchored: %v", err)
		}
		if err := s.MarkBatchAnchored(ctx, b1.ID, "tx-1", at); err != nil {
			t.Fatalf("same tx: no-op: %v", err)
		}
		if err := s.MarkBatchAnchored(ctx, b1.ID, "tx-2", at); !errors.Is(err, ErrExists) {
			t.Fatalf("MarkBatchAnchored: %v, want %v", err, ErrExists)
		}
		if err := s.MarkBatchAnchored(ctx, "nope", "tx-2", at); !errors.Is(err, ErrNotFound) {
			t.Fatalf("MarkBatchAnchored: %v, want %v", err, ErrNotFound)
		}
		gotB, err := s.GetBatch(ctx, b1.ID)
		if err != nil {
			t.Fatalf("GetBatch: %v", err)
		}
		if gotB.AnchoredTxID != "tx-1" {
			t.Errorf("gotB.AnchoredTxID = %q, want %q", gotB.AnchoredTxID, "tx-1")
		}
		if got, want := gotB.AnchoredAt, at.UTC().Truncate(time.Microsecond); got != want {
			t.Errorf("gotB.AnchoredAt = %v, want %v", got, want)
		}
		open, err = s.UnanchoredBatches(ctx, 10)
		if err != nil {
			t.Fatalf("UnanchoredBatches: %v", err)
		}
		if len(open) != 1 {
			t.Fatalf("len(open) = %d, want %d", len(open), 1)
		}
		if open[0].ID != b2.ID {
			t.Errorf("open[0].ID = %v, want %v", open[0].ID, b2.ID)
		}

		// Summary of citizen 1: six housing-fund records over two batches
		// (one anchored), one unbatched tax record.
		sum, err := s.SafeSummary(ctx, ref(1))
		if err != nil {
			t.Fatalf("SafeSummary: %v", err)
		}
		if len(sum) != 2 {
			t.Fatalf("len(sum) = %d, want %d", len(sum), 2)
		}
		hf, tax := sum[0], sum[1]
		if hf.Category != "housing_fund" {
			t.Errorf("hf.Category = %q, want %q", hf.Category, "housing_fund")
		}
		if hf.Count != 6 {
			t.Errorf("hf.Count = %v, want %v", hf.Count, 6)
		}
		if hf.FirstDate != "2026-01-15" {
			t.Errorf("hf.FirstDate = %q, want %q", hf.FirstDate, "2026-01-15")
		}
		if hf.LastDate != "2026-06-15" {
			t.Errorf("hf.LastDate = %q, want %q", hf.LastDate, "2026-06-15")
		}
		if hf.Unbatched != 0 {
			t.Errorf("hf.Unbatched = %d, want 0", hf.Unbatched)
		}
		if len(hf.Batches) != 2 {
			t.Fatalf("len(hf.Batches) = %d, want %d", len(hf.Batches), 2)
		}
		if hf.Batches[0].Records+hf.Batches[1].Records != 6 {
			t.Errorf("hf.Batches[0].Records+hf.Batches[1].Records = %v, want %v", hf.Batches[0].Records+hf.Batches[1].Records, 6)
		}
		for _, b := range hf.Batches {
			if b.ID == b1.ID {
				if b.AnchoredTxID != "tx-1" {
					t.Errorf("b.AnchoredTxID = %q, want %q", b.AnchoredTxID, "tx-1")
				}
				if b.Root != b1.Root {
					t.Errorf("b.Root = %v, want %v", b.Root, b1.Root)
				}
			} else {
				if b.AnchoredTxID != "" {
					t.Errorf("b.AnchoredTxID = %q, want %q", b.AnchoredTxID, "")
				}
			}
		}
		if !reflect.DeepEqual(tax, CategorySummary{Category: "tax", Count: 1, FirstDate: "2026-03-10", LastDate: "2026-03-10", Unbatched: 1}) {
			t.Errorf("tax = %+v, want %+v", tax, CategorySummary{Category: "tax", Count: 1, FirstDate: "2026-03-10", LastDate: "2026-03-10", Unbatched: 1})
		}
		none, err := s.SafeSummary(ctx, ref(77))
		if err != nil {
			t.Fatalf("SafeSummary: %v", err)
		}
		if len(none) != 0 {
			t.Errorf("summary of a citizen with no records: %+v", none)
		}

		if err := s.SetRecordRevoked(ctx, recs[0].Hash, true); err != nil {
			t.Fatalf("SetRecordRevoked: %v", err)
		}
		got, err = s.RecordByHash(ctx, recs[0].Hash)
		if err != nil {
			t.Fatalf("RecordByHash: %v", err)
		}
		if !got.Revoked {
			t.Error("got.Revoked = false, want true")
		}
	})
}

func TestDeliveries(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		d := Delivery{AccessID: "acc-1", AuthorizationID: "auth-1", RequesterMSP: "BankMSP", Digest: ref(1),
			DigestSalt: bytes.Repeat([]byte{9}, 32)}
		stored, created, err := s.RecordDelivery(ctx, d)
		if err != nil {
			t.Fatalf("RecordDelivery: %v", err)
		}
		if !created {
			t.Fatal("RecordDelivery: created = false, want true")
		}
		if stored.TxID != "" {
			t.Errorf("stored.TxID = %q, want %q", stored.TxID, "")
		}

		// A retry gets the first receipt back, unchanged.
		again := d
		again.Digest, again.DigestSalt = ref(2), bytes.Repeat([]byte{8}, 32)
		stored2, created, err := s.RecordDelivery(ctx, again)
		if err != nil {
			t.Fatalf("RecordDelivery: %v", err)
		}
		if created {
			t.Fatal("RecordDelivery: created = true, want false")
		}
		if !reflect.DeepEqual(stored2, stored) {
			t.Errorf("stored2 = %v, want %v", stored2, stored)
		}

		if err := s.SetDeliveryTxID(ctx, "acc-1", "tx-9"); err != nil {
			t.Fatalf("SetDeliveryTxID: %v", err)
		}
		if err := s.SetDeliveryTxID(ctx, "acc-1", "tx-9"); err != nil {
			t.Fatalf("SetDeliveryTxID: %v", err)
		}
		if err := s.SetDeliveryTxID(ctx, "acc-1", "tx-10"); !errors.Is(err, ErrExists) {
			t.Fatalf("SetDeliveryTxID: %v, want %v", err, ErrExists)
		}
		if err := s.SetDeliveryTxID(ctx, "acc-2", "tx-10"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("SetDeliveryTxID: %v, want %v", err, ErrNotFound)
		}
		got, err := s.DeliveryByAccessID(ctx, "acc-1")
		if err != nil {
			t.Fatalf("DeliveryByAccessID: %v", err)
		}
		if got.TxID != "tx-9" {
			t.Errorf("got.TxID = %q, want %q", got.TxID, "tx-9")
		}
		if got, want := got.Digest, ref(1); got != want {
			t.Errorf("got.Digest = %v, want %v", got, want)
		}
		if !bytes.Equal(got.DigestSalt, d.DigestSalt) {
			t.Errorf("got.DigestSalt = %x, want %x", got.DigestSalt, d.DigestSalt)
		}
		_, err = s.DeliveryByAccessID(ctx, "acc-2")
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("DeliveryByAccessID: %v, want %v", err, ErrNotFound)
		}
		_, _, err = s.RecordDelivery(ctx, Delivery{AccessID: "acc-3"})
		if !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("RecordDelivery: %v, want %v", err, ErrInvalidArgument)
		}
		unsalted := d
		unsalted.AccessID, unsalted.DigestSalt = "acc-4", nil
		if _, _, err = s.RecordDelivery(ctx, unsalted); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("RecordDelivery without a salt: %v, want %v", err, ErrInvalidArgument)
		}
	})
}

// A batch larger than one multi-row statement.
func TestLargeBatch(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		const n = 2*bulkRows + 50
		recs := make([]Record, n)
		for i := range recs {
			recs[i] = testRecord(i, "e_licence", "2026-05-01")
		}
		inserted, err := s.InsertRecords(ctx, recs)
		if err != nil {
			t.Fatalf("InsertRecords: %v", err)
		}
		if inserted != n {
			t.Fatalf("inserted = %v, want %v", inserted, n)
		}
		pending, err := s.UnanchoredRecords(ctx, "e_licence", n)
		if err != nil {
			t.Fatalf("UnanchoredRecords: %v", err)
		}
		b, hashes := batchOf(pending)
		_, err = s.CreateBatch(ctx, b, hashes)
		if err != nil {
			t.Fatalf("CreateBatch: %v", err)
		}
		leaves, err := s.BatchLeaves(ctx, b.ID)
		if err != nil {
			t.Fatalf("BatchLeaves: %v", err)
		}
		if len(leaves) != n {
			t.Fatalf("len(leaves) = %d, want %d", len(leaves), n)
		}
		for _, i := range []int{0, bulkRows - 1, bulkRows, n - 1} {
			r, err := s.RecordByHash(ctx, hashes[i])
			if err != nil {
				t.Fatalf("RecordByHash: %v", err)
			}
			if r.LeafIndex != i {
				t.Errorf("r.LeafIndex = %v, want %v", r.LeafIndex, i)
			}
			raw, _ := hex.DecodeString(hashes[i])
			if got, want := leaves[i], merkle.LeafHash(raw); got != want {
				t.Errorf("leaves[i] = %v, want %v", got, want)
			}
		}
	})
}
