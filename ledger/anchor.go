package ledger

import (
	"context"
	"fmt"

	"github.com/quanchain/quanchain/chaincode/model"
)

// BatchAnchorer anchors the provider's Merkle batches on the ledger, for the
// digital safe's importer (it implements vault.Anchorer).
type BatchAnchorer struct {
	Ledger *Ledger
}

// AnchorBatch anchors one batch and returns the anchoring transaction id. A
// retry of a batch that is already anchored with the same root (its reply
// lost, say) returns the original transaction id; the same id with another
// root is an error.
func (a BatchAnchorer) AnchorBatch(ctx context.Context, batchID, category, root string, leafCount int) (string, error) {
	b, err := a.Ledger.AnchorBatch(ctx, model.BatchAnchorRequest{BatchID: batchID, Category: category, Root: root, LeafCount: leafCount})
	if err == nil {
		return b.TxID, nil
	}
	if CodeOf(err) != model.CodeAlreadyExists {
		return "", err
	}
	have, gerr := a.Ledger.GetBatch(ctx, batchID)
	if gerr != nil {
		return "", fmt.Errorf("batch %s exists but cannot be read: %w", batchID, gerr)
	}
	if have.Root != root || have.LeafCount != leafCount || have.Category != category {
		return "", fmt.Errorf("batch %s is anchored with another root: %w", batchID, err)
	}
	return have.TxID, nil
}

// SetEncryptionKey registers this organisation's data-encryption public key
// (base64 PKIX DER) on the ledger, where provider gateways find it.
func (l *Ledger) SetEncryptionKey(ctx context.Context, encryptionKey string) error {
	_, err := l.tx.submit(ctx, call("registry:SetEncryptionKey", encryptionKey))
	return MapError("registry:SetEncryptionKey", err)
}
