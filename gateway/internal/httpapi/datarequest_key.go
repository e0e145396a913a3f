package httpapi

import (
	"context"
	"crypto/ecdh"
	"fmt"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/envelope"
)

// EncryptionKeyRegistry reads and sets an institution's data-encryption
// key on the ledger (registry:GetInstitution, registry:SetEncryptionKey;
// the latter sets the caller's own key).
type EncryptionKeyRegistry interface {
	GetInstitution(ctx context.Context, mspID string) (*model.Institution, error)
	SetEncryptionKey(ctx context.Context, encryptionKey string) error
}

// RegisterEncryptionKey makes the ledger hold key's public half as the
// data-encryption key of institution mspID (this gateway's own), which
// providers encrypt deliveries to. It submits only if the registered key
// differs, so a gateway calls it at every start (after
// envelope.LoadOrCreateKey) and reports whether it submitted.
func RegisterEncryptionKey(ctx context.Context, reg EncryptionKeyRegistry, mspID string, key *ecdh.PrivateKey) (bool, error) {
	if key == nil {
		return false, fmt.Errorf("httpapi: register encryption key: no key")
	}
	want, err := envelope.EncodePublicKey(key.PublicKey())
	if err != nil {
		return false, fmt.Errorf("httpapi: register encryption key: %w", err)
	}
	inst, err := reg.GetInstitution(ctx, mspID)
	if err != nil {
		return false, fmt.Errorf("httpapi: register encryption key: read institution %s: %w", mspID, err)
	}
	if inst.EncryptionKey != "" {
		if have, err := envelope.ParsePublicKey(inst.EncryptionKey); err == nil && have.Equal(key.PublicKey()) {
			return false, nil
		}
	}
	if err := reg.SetEncryptionKey(ctx, want); err != nil {
		return false, fmt.Errorf("httpapi: register encryption key of %s: %w", mspID, err)
	}
	return true, nil
}
