package envelope

import (
	"context"
	"crypto/ecdh"
	"errors"
	"fmt"

	"github.com/quanchain/quanchain/chaincode/model"
)

// KeyRegistry reads and sets an institution's data-encryption
// key on the ledger (registry:GetInstitution, registry:SetEncryptionKey;
// the latter sets the caller's own key).
type KeyRegistry interface {
	GetInstitution(ctx context.Context, mspID string) (*model.Institution, error)
	SetEncryptionKey(ctx context.Context, encryptionKey string) error
}

// RegisterKey makes the ledger hold key's public half as the
// data-encryption key of institution mspID (this gateway's own), which
// providers encrypt deliveries to. It submits only if the registered key
// differs, so a gateway calls it at every start (after
// LoadOrCreateKey) and reports whether it submitted.
func RegisterKey(ctx context.Context, reg KeyRegistry, mspID string, key *ecdh.PrivateKey) (bool, error) {
	if key == nil {
		return false, fmt.Errorf("envelope: register encryption key: no key")
	}
	want, err := EncodePublicKey(key.PublicKey())
	if err != nil {
		return false, fmt.Errorf("envelope: register encryption key: %w", err)
	}
	inst, err := reg.GetInstitution(ctx, mspID)
	if err != nil {
		return false, fmt.Errorf("envelope: register encryption key: read institution %s: %w", mspID, err)
	}
	if inst.EncryptionKey != "" {
		if have, err := ParsePublicKey(inst.EncryptionKey); err == nil && have.Equal(key.PublicKey()) {
			return false, nil
		}
	}
	if err := reg.SetEncryptionKey(ctx, want); err != nil {
		return false, fmt.Errorf("envelope: register encryption key of %s: %w", mspID, err)
	}
	return true, nil
}

// ErrKeyNotRegistered reports that the ledger holds another data-encryption
// key for the organisation than this gateway's: deliveries are sealed to
// that key and this gateway cannot open them.
var ErrKeyNotRegistered = errors.New("envelope: the ledger holds another data-encryption key for this organisation")

// CheckRegistered reports whether the ledger still holds key's public half
// as institution mspID's data-encryption key (another gateway of the
// organisation with a key of its own replaces it when it starts).
func CheckRegistered(ctx context.Context, reg KeyRegistry, mspID string, key *ecdh.PrivateKey) error {
	inst, err := reg.GetInstitution(ctx, mspID)
	if err != nil {
		return err
	}
	if have, err := ParsePublicKey(inst.EncryptionKey); err != nil || !have.Equal(key.PublicKey()) {
		return ErrKeyNotRegistered
	}
	return nil
}
