package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
		require.NoError(t, err)
		require.Equal(t, len(recs), n)
		n, err = s.InsertRecords(ctx, recs[:5]) // same hashes: skipped
		require.NoError(t, err)
		require.Zero(t, n)
		_, err = s.InsertRecords(ctx, []Record{{CitizenRef: ref(0), Category: "tax", RecordDate: "2026-02-30", Body: []byte("{}"), Hash: recs[0].Hash}})
		require.ErrorIs(t, err, ErrInvalidArgument)

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
			require.NoError(t, err, tt.name)
			assert.Len(t, got, tt.want, tt.name)
			for _, r := range got {
				assert.Equal(t, ref(1), r.CitizenRef, tt.name)
			}
		}
		_, err = s.RecordsFor(ctx, ref(1), nil, "2026-13-01", "")
		require.ErrorIs(t, err, ErrInvalidArgument)

		got, err := s.RecordByHash(ctx, recs[3].Hash)
		require.NoError(t, err)
		assert.Equal(t, recs[3].Body, got.Body)
		assert.Equal(t, "", got.BatchID)
		_, err = s.RecordByHash(ctx, ref(99))
		require.ErrorIs(t, err, ErrNotFound)

		// Batch the housing-fund records in two batches.
		pending, err := s.UnanchoredRecords(ctx, "housing_fund", 10)
		require.NoError(t, err)
		require.Len(t, pending, 10)
		b1, hashes := batchOf(pending)
		bad := b1
		bad.Root = ref(42)
		_, err = s.CreateBatch(ctx, bad, hashes)
		require.ErrorIs(t, err, ErrInvalidArgument, "root must match the leaves")
		b1, err = s.CreateBatch(ctx, b1, hashes)
		require.NoError(t, err)
		_, err = s.CreateBatch(ctx, b1, hashes)
		require.ErrorIs(t, err, ErrExists)
		rest, err := s.UnanchoredRecords(ctx, "housing_fund", 10)
		require.NoError(t, err)
		require.Len(t, rest, 8)
		b2, hashes2 := batchOf(append(rest, pending[0])) // a record already batched
		_, err = s.CreateBatch(ctx, b2, hashes2)
		require.ErrorIs(t, err, ErrInvalidArgument)
		b2, hashes2 = batchOf(rest)
		_, err = s.CreateBatch(ctx, b2, hashes2)
		require.NoError(t, err)

		// Leaves rebuild the tree; every record's proof verifies.
		leaves, err := s.BatchLeaves(ctx, b1.ID)
		require.NoError(t, err)
		tree := merkle.NewFromLeafHashes(leaves)
		require.Equal(t, b1.Root, tree.Root().String())
		for _, h := range hashes {
			r, err := s.RecordByHash(ctx, h)
			require.NoError(t, err)
			require.Equal(t, b1.ID, r.BatchID)
			proof, err := tree.Proof(uint64(r.LeafIndex))
			require.NoError(t, err)
			raw, _ := hex.DecodeString(r.Hash)
			require.NoError(t, merkle.VerifyInclusion(raw, uint64(r.LeafIndex), tree.Size(), proof, tree.Root()))
		}
		_, err = s.BatchLeaves(ctx, "nope")
		require.ErrorIs(t, err, ErrNotFound)

		// Anchoring.
		open, err := s.UnanchoredBatches(ctx, 10)
		require.NoError(t, err)
		require.Len(t, open, 2)
		at := time.Date(2026, 11, 2, 9, 0, 0, 123456789, time.FixedZone("CST", 8*3600))
		require.NoError(t, s.MarkBatchAnchored(ctx, b1.ID, "tx-1", at))
		require.NoError(t, s.MarkBatchAnchored(ctx, b1.ID, "tx-1", at), "same tx: no-op")
		require.ErrorIs(t, s.MarkBatchAnchored(ctx, b1.ID, "tx-2", at), ErrExists)
		require.ErrorIs(t, s.MarkBatchAnchored(ctx, "nope", "tx-2", at), ErrNotFound)
		gotB, err := s.GetBatch(ctx, b1.ID)
		require.NoError(t, err)
		assert.Equal(t, "tx-1", gotB.AnchoredTxID)
		assert.Equal(t, at.UTC().Truncate(time.Microsecond), gotB.AnchoredAt)
		open, err = s.UnanchoredBatches(ctx, 10)
		require.NoError(t, err)
		require.Len(t, open, 1)
		assert.Equal(t, b2.ID, open[0].ID)

		// Summary of citizen 1: six housing-fund records over two batches
		// (one anchored), one unbatched tax record.
		sum, err := s.SafeSummary(ctx, ref(1))
		require.NoError(t, err)
		require.Len(t, sum, 2)
		hf, tax := sum[0], sum[1]
		assert.Equal(t, "housing_fund", hf.Category)
		assert.Equal(t, 6, hf.Count)
		assert.Equal(t, "2026-01-15", hf.FirstDate)
		assert.Equal(t, "2026-06-15", hf.LastDate)
		assert.Zero(t, hf.Unbatched)
		require.Len(t, hf.Batches, 2)
		assert.Equal(t, 6, hf.Batches[0].Records+hf.Batches[1].Records)
		for _, b := range hf.Batches {
			if b.ID == b1.ID {
				assert.Equal(t, "tx-1", b.AnchoredTxID)
				assert.Equal(t, b1.Root, b.Root)
			} else {
				assert.Equal(t, "", b.AnchoredTxID)
			}
		}
		assert.Equal(t, CategorySummary{Category: "tax", Count: 1, FirstDate: "2026-03-10", LastDate: "2026-03-10", Unbatched: 1}, tax)
		none, err := s.SafeSummary(ctx, ref(77))
		require.NoError(t, err)
		assert.Empty(t, none)

		require.NoError(t, s.SetRecordRevoked(ctx, recs[0].Hash, true))
		got, err = s.RecordByHash(ctx, recs[0].Hash)
		require.NoError(t, err)
		assert.True(t, got.Revoked)
	})
}

func TestDeliveries(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		d := Delivery{AccessID: "acc-1", AuthorizationID: "auth-1", RequesterMSP: "BankMSP", Digest: ref(1)}
		stored, created, err := s.RecordDelivery(ctx, d)
		require.NoError(t, err)
		require.True(t, created)
		assert.Equal(t, "", stored.TxID)

		// A retry gets the first receipt back, unchanged.
		again := d
		again.Digest = ref(2)
		stored2, created, err := s.RecordDelivery(ctx, again)
		require.NoError(t, err)
		require.False(t, created)
		assert.Equal(t, stored, stored2)

		require.NoError(t, s.SetDeliveryTxID(ctx, "acc-1", "tx-9"))
		require.NoError(t, s.SetDeliveryTxID(ctx, "acc-1", "tx-9"))
		require.ErrorIs(t, s.SetDeliveryTxID(ctx, "acc-1", "tx-10"), ErrExists)
		require.ErrorIs(t, s.SetDeliveryTxID(ctx, "acc-2", "tx-10"), ErrNotFound)
		got, err := s.DeliveryByAccessID(ctx, "acc-1")
		require.NoError(t, err)
		assert.Equal(t, "tx-9", got.TxID)
		assert.Equal(t, ref(1), got.Digest)
		_, err = s.DeliveryByAccessID(ctx, "acc-2")
		require.ErrorIs(t, err, ErrNotFound)
		_, _, err = s.RecordDelivery(ctx, Delivery{AccessID: "acc-3"})
		require.ErrorIs(t, err, ErrInvalidArgument)
	})
}

func TestLoginChallenges(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		now := time.Now()
		id, err := s.CreateLoginChallenge(ctx, ref(1), "123456", now.Add(5*time.Minute))
		require.NoError(t, err)

		// Nothing but the citizenRef and the code's hash is stored.
		var stored string
		require.NoError(t, s.db.QueryRowContext(ctx, `SELECT code_hash FROM login_challenges WHERE id = $1`, id).Scan(&stored))
		assert.NotContains(t, stored, "123456")

		_, err = s.VerifyLoginChallenge(ctx, id, "000000", now)
		require.ErrorIs(t, err, ErrChallengeFailed)
		got, err := s.VerifyLoginChallenge(ctx, id, "123456", now)
		require.NoError(t, err)
		assert.Equal(t, ref(1), got)
		_, err = s.VerifyLoginChallenge(ctx, id, "123456", now)
		require.ErrorIs(t, err, ErrChallengeGone, "a code is good once")

		// Expiry.
		id, err = s.CreateLoginChallenge(ctx, ref(2), "654321", now.Add(time.Minute))
		require.NoError(t, err)
		_, err = s.VerifyLoginChallenge(ctx, id, "654321", now.Add(time.Minute))
		require.ErrorIs(t, err, ErrChallengeGone)

		// Concurrent guesses: at most MaxLoginAttempts are checked, and the
		// right code after that is refused.
		id, err = s.CreateLoginChallenge(ctx, ref(3), "111111", now.Add(time.Minute))
		require.NoError(t, err)
		var failed, gone atomic.Int32
		var wg sync.WaitGroup
		for i := range 3 * MaxLoginAttempts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.VerifyLoginChallenge(ctx, id, fmt.Sprintf("%06d", i+200000), now)
				switch err {
				case ErrChallengeFailed:
					failed.Add(1)
				case ErrChallengeGone:
					gone.Add(1)
				default:
					t.Errorf("unexpected %v", err)
				}
			}()
		}
		wg.Wait()
		assert.EqualValues(t, MaxLoginAttempts, failed.Load())
		assert.EqualValues(t, 2*MaxLoginAttempts, gone.Load())
		_, err = s.VerifyLoginChallenge(ctx, id, "111111", now)
		require.ErrorIs(t, err, ErrChallengeGone)

		n, err := s.PurgeLoginChallenges(ctx, now.Add(time.Hour))
		require.NoError(t, err)
		assert.EqualValues(t, 2, n)
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
		require.NoError(t, err)
		require.Equal(t, n, inserted)
		pending, err := s.UnanchoredRecords(ctx, "e_licence", n)
		require.NoError(t, err)
		b, hashes := batchOf(pending)
		_, err = s.CreateBatch(ctx, b, hashes)
		require.NoError(t, err)
		leaves, err := s.BatchLeaves(ctx, b.ID)
		require.NoError(t, err)
		require.Len(t, leaves, n)
		for _, i := range []int{0, bulkRows - 1, bulkRows, n - 1} {
			r, err := s.RecordByHash(ctx, hashes[i])
			require.NoError(t, err)
			assert.Equal(t, i, r.LeafIndex)
			raw, _ := hex.DecodeString(hashes[i])
			assert.Equal(t, merkle.LeafHash(raw), leaves[i])
		}
	})
}
