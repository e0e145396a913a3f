package ledger

import (
	"context"
	"errors"
	"testing"

	"github.com/quanchain/quanchain/chaincode/model"
)

// anchorChain answers anchor:AnchorBatch with ALREADY_EXISTS and
// anchor:GetBatch with the batch already anchored.
type anchorChain struct{ existing string }

func (a anchorChain) evaluate(_ context.Context, c Call) ([]byte, error) {
	if c.Name != "anchor:GetBatch" || c.Args[0] != "tax-1" {
		return nil, errors.New("BATCH_NOT_FOUND: no such batch")
	}
	return []byte(a.existing), nil
}

func (a anchorChain) submit(context.Context, Call) ([]byte, error) {
	return nil, errors.New("ALREADY_EXISTS: batch tax-1 exists")
}

func TestBatchAnchorerRetry(t *testing.T) {
	ctx := context.Background()
	a := BatchAnchorer{Ledger: &Ledger{tx: anchorChain{
		existing: `{"batch_id":"tax-1","category":"tax","root":"ab","leaf_count":2,"tx_id":"tx-first"}`}}}
	if tx, err := a.AnchorBatch(ctx, "tax-1", "tax", "ab", 2); err != nil || tx != "tx-first" {
		t.Fatalf("retry of the anchored batch: %q, %v", tx, err)
	}
	for _, other := range []struct {
		category, root string
		count          int
	}{{"tax", "cd", 2}, {"tax", "ab", 3}, {"housing_fund", "ab", 2}} {
		_, err := a.AnchorBatch(ctx, "tax-1", other.category, other.root, other.count)
		if CodeOf(err) != model.CodeAlreadyExists {
			t.Fatalf("another batch under the same id %+v: %v", other, err)
		}
	}
	if _, err := a.AnchorBatch(ctx, "tax-2", "tax", "ab", 2); err == nil {
		t.Fatal("an unreadable existing batch passed")
	}
}
