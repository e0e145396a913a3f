package store

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/sig"
)

func TestKeyClients(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		jwk := string(sig.CanonicalJWK(&k.PublicKey))
		c, err := s.CreateKeyClient(ctx, Client{ID: "keyed", OrgMSP: "BankMSP", Scopes: []string{"institution"}}, jwk)
		if err != nil || c.PublicJWK != jwk {
			t.Fatalf("create: %+v %v", c, err)
		}
		if _, err := s.CreateKeyClient(ctx, Client{ID: "keyed", OrgMSP: "BankMSP"}, jwk); !errors.Is(err, ErrExists) {
			t.Fatalf("again: %v", err)
		}
		if _, err := s.CreateKeyClient(ctx, Client{ID: "bad", OrgMSP: "BankMSP"}, `{"kty":"oct","k":"AA"}`); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("bad key: %v", err)
		}
		got, err := s.ClientKey(ctx, "keyed")
		if err != nil || got.PublicJWK != jwk || got.OrgMSP != "BankMSP" || len(got.Scopes) != 1 {
			t.Fatalf("ClientKey: %+v %v", got, err)
		}
		// No secret authenticates a key client; a secret client has no key.
		if _, err := s.VerifyClientSecret(ctx, "keyed", ""); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("empty secret: %v", err)
		}
		if _, err := s.CreateClient(ctx, Client{ID: "secret", OrgMSP: "BankMSP"}, "0123456789abcdef"); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"secret", "nobody"} {
			if _, err := s.ClientKey(ctx, id); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("ClientKey(%s): %v", id, err)
			}
		}
		if err := s.SetClientDisabled(ctx, "keyed", true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ClientKey(ctx, "keyed"); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("disabled: %v", err)
		}

		// A jti is accepted once until it expires, per client.
		now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		exp := now.Add(5 * time.Minute)
		if err := s.UseAssertionID(ctx, "keyed", "j1", exp, now); err != nil {
			t.Fatal(err)
		}
		if err := s.UseAssertionID(ctx, "keyed", "j1", exp, now.Add(time.Minute)); !errors.Is(err, ErrAssertionReplayed) {
			t.Fatalf("replay: %v", err)
		}
		if err := s.UseAssertionID(ctx, "other", "j1", exp, now); err != nil {
			t.Fatalf("another client's jti: %v", err)
		}
		if err := s.UseAssertionID(ctx, "keyed", "j1", exp.Add(10*time.Minute), exp.Add(time.Second)); err != nil {
			t.Fatalf("after expiry: %v", err)
		}
	})
}
