package store

import (
	"context"
	"database/sql"
	"fmt"
)

// CategorySummary describes what the digital safe holds for a citizen in
// one category: the consent app's "my data" screen.
type CategorySummary struct {
	Category  string
	Count     int    // records held
	FirstDate string // earliest record date, YYYY-MM-DD
	LastDate  string // latest record date
	// Unbatched counts records not yet in a batch (so not yet anchored).
	Unbatched int
	// Batches are the batches holding the citizen's records of the
	// category, by id, anchored or not.
	Batches []BatchRef
}

// BatchRef is one batch in a summary, with how many of the citizen's
// records it holds.
type BatchRef struct {
	Batch
	Records int
}

// SafeSummary returns, for each category in which the citizen has records
// (ordered by category), the number of records, their date span and the
// batches — with their anchors — that hold them.
func (s *Store) SafeSummary(ctx context.Context, citizenRef string) ([]CategorySummary, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT r.category, r.batch_id, count(*), min(r.record_date), max(r.record_date),
			b.root, b.leaf_count, b.created_at, b.anchored_tx_id, b.anchored_at
		FROM records r LEFT JOIN batches b ON b.id = r.batch_id
		WHERE r.citizen_ref = $1
		GROUP BY r.category, r.batch_id, b.root, b.leaf_count, b.created_at, b.anchored_tx_id, b.anchored_at
		ORDER BY r.category, r.batch_id`, citizenRef)
	if err != nil {
		return nil, fmt.Errorf("store: safe summary: %w", err)
	}
	defer rows.Close()
	var list []CategorySummary
	for rows.Next() {
		var (
			category, first, last string
			batchID, root, txID   sql.NullString
			leafCount             sql.NullInt64
			count                 int
			ref                   BatchRef
		)
		if err := rows.Scan(&category, &batchID, &count, &first, &last,
			&root, &leafCount, scanTime(&ref.CreatedAt), &txID, scanTime(&ref.AnchoredAt)); err != nil {
			return nil, fmt.Errorf("store: safe summary: %w", err)
		}
		if len(list) == 0 || list[len(list)-1].Category != category {
			list = append(list, CategorySummary{Category: category, FirstDate: first, LastDate: last})
		}
		sum := &list[len(list)-1]
		sum.Count += count
		sum.FirstDate, sum.LastDate = min(sum.FirstDate, first), max(sum.LastDate, last)
		if !batchID.Valid {
			sum.Unbatched += count
			continue
		}
		ref.ID, ref.Category, ref.Root, ref.LeafCount = batchID.String, category, root.String, int(leafCount.Int64)
		ref.AnchoredTxID, ref.Records = txID.String, count
		sum.Batches = append(sum.Batches, ref)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: safe summary: %w", err)
	}
	return list, nil
}
