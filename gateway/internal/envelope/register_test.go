package envelope

import (
	"context"
	"errors"
	"testing"

	"github.com/quanchain/quanchain/chaincode/model"
)

// registry is one institution's entry on the ledger.
type registry struct{ inst model.Institution }

func (r *registry) GetInstitution(context.Context, string) (*model.Institution, error) {
	i := r.inst
	return &i, nil
}

func (r *registry) SetEncryptionKey(_ context.Context, key string) error {
	r.inst.EncryptionKey = key
	return nil
}

// TestRegisterAndCheckKey: a key is registered once; a gateway whose key
// another gateway of the organisation replaced learns it is no longer the
// one deliveries are sealed to.
func TestRegisterAndCheckKey(t *testing.T) {
	ctx := context.Background()
	mine, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := GenerateKey()
	reg := &registry{inst: model.Institution{MSPID: "BankMSP"}}
	if err := CheckRegistered(ctx, reg, "BankMSP", mine); !errors.Is(err, ErrKeyNotRegistered) {
		t.Fatalf("no key registered: %v", err)
	}
	if sent, err := RegisterKey(ctx, reg, "BankMSP", mine); err != nil || !sent {
		t.Fatalf("first registration: sent %v, %v", sent, err)
	}
	if sent, err := RegisterKey(ctx, reg, "BankMSP", mine); err != nil || sent {
		t.Fatalf("registration of the registered key: sent %v, %v", sent, err)
	}
	if err := CheckRegistered(ctx, reg, "BankMSP", mine); err != nil {
		t.Fatalf("registered key: %v", err)
	}
	if _, err := RegisterKey(ctx, reg, "BankMSP", other); err != nil {
		t.Fatal(err)
	}
	if err := CheckRegistered(ctx, reg, "BankMSP", mine); !errors.Is(err, ErrKeyNotRegistered) {
		t.Fatalf("key replaced by another gateway: %v", err)
	}
}
