package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"testing"

	"github.com/quanchain/quanchain/gateway/internal/envelope"
	"github.com/quanchain/quanchain/gateway/internal/exchange"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/synth"
	"github.com/quanchain/quanchain/gateway/internal/vault"
)

// saltedResult is what an institution keeps to prove what it received.
type saltedResult struct {
	AccessID   string `json:"access_id"`
	Digest     string `json:"digest"`
	DigestSalt string `json:"digest_salt"`
	Delivery   []byte `json:"delivery"`
	Answer     *bool  `json:"answer"`
}

// TestDeliveryDigestIsSalted: the digest the ledger records is SHA-256 of
// the salt and the delivered body, both handed to the institution, which
// recomputes it; without the salt, neither the body nor any guess of a
// predicate's answer gives it.
func TestDeliveryDigestIsSalted(t *testing.T) {
	x := newXnet(t)
	for _, tc := range []struct {
		name string
		gw   *requesterGateway
		body string
	}{
		{"records", x.bank, recordsRequest(authBank, synth.HousingFund)},
		{"predicate", x.insurer, predicateRequest(authInsurer, synth.DeathRegistration, vault.PredicateDeceasedBefore, map[string]string{"date": "2026-06-01"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.gw.do(t, "POST", "/v1/data-requests", tc.body)
			if w.Code != 200 {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			res := decodeBody[saltedResult](t, w)
			salt, err := hex.DecodeString(res.DigestSalt)
			if err != nil || len(salt) != vault.DigestSaltSize || len(res.Delivery) == 0 {
				t.Fatalf("digest_salt %q, delivery of %d bytes", res.DigestSalt, len(res.Delivery))
			}
			acc, err := x.net.Ledger("BureauMSP").GetAccess(context.Background(), res.AccessID)
			if err != nil || acc.Digest != res.Digest {
				t.Fatalf("access %+v %v", acc, err)
			}
			salted := sha256.Sum256(append(bytes.Clone(salt), res.Delivery...))
			if hex.EncodeToString(salted[:]) != acc.Digest {
				t.Fatal("SHA-256(digest_salt ‖ delivery) is not the digest on the ledger")
			}
			if plain := sha256.Sum256(res.Delivery); hex.EncodeToString(plain[:]) == acc.Digest {
				t.Fatal("the digest on the ledger is the SHA-256 of the delivered body alone")
			}
			if res.Answer == nil {
				return
			}
			// Every answer a reader of the ledger could guess, under the
			// access's own terms: none gives the digest without the salt.
			for _, answer := range []bool{true, false} {
				guess := bytes.Replace(res.Delivery, []byte(`"answer":`+boolText(*res.Answer)), []byte(`"answer":`+boolText(answer)), 1)
				if sum := sha256.Sum256(guess); hex.EncodeToString(sum[:]) == acc.Digest {
					t.Fatalf("the guess %s gives the digest", guess)
				}
				if sum := sha256.Sum256(append(bytes.Clone(salt), guess...)); (hex.EncodeToString(sum[:]) == acc.Digest) != (answer == *res.Answer) {
					t.Fatalf("with the salt, the guess %s: wrong verdict", guess)
				}
			}
		})
	}
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// lateSafe is the provider's store as an attempt sees it when a
// concurrent attempt of the same access id stores its receipt between this
// attempt's lookup and its own write: the first lookup finds nothing.
type lateSafe struct {
	exchange.SafeStore
	mu     sync.Mutex
	looked bool
}

func (s *lateSafe) DeliveryByAccessID(ctx context.Context, accessID string) (store.Delivery, error) {
	s.mu.Lock()
	first := !s.looked
	s.looked = true
	s.mu.Unlock()
	if first {
		return store.Delivery{}, store.ErrNotFound
	}
	return s.SafeStore.DeliveryByAccessID(ctx, accessID)
}

// TestRacingAttemptTakesTheStoredSalt: an attempt that lost the race to
// store the receipt of its access id delivers under the winner's salt, so
// it answers with the digest the ledger recorded instead of refusing the
// access id as reused.
func TestRacingAttemptTakesTheStoredSalt(t *testing.T) {
	x := newXnet(t)
	ctx := context.Background()
	req := exchange.DeliveryRequest{AccessID: "acc-race-1", AuthorizationID: authBank, Categories: []string{synth.HousingFund}, Mode: "records"}
	first, err := x.bank.client.Deliver(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	late, err := exchange.NewProvider(exchange.ProviderConfig{Ledger: x.net.Ledger("BureauMSP"), Store: &lateSafe{SafeStore: x.store}, Builder: x.vault})
	if err != nil {
		t.Fatal(err)
	}
	second, err := late.Deliver(ctx, "BankMSP", req, x.clock.now())
	if err != nil {
		t.Fatalf("the late attempt: %v", err)
	}
	if second.Digest != first.Digest || second.TxID != first.TxID || x.accessCount() != 1 {
		t.Fatalf("digests %s / %s, transactions %s / %s, %d accesses", first.Digest, second.Digest, first.TxID, second.TxID, x.accessCount())
	}
	plain, err := envelope.Open(x.bank.key, second.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(plain); hex.EncodeToString(sum[:]) != first.Digest {
		t.Fatal("the late attempt sealed bytes of another digest")
	}
}

// TestUnsaltedProviderStillVerifies: a provider that does not salt its
// digests yet seals the body alone and records SHA-256(body); the
// requester verifies it and returns no salt, so requesters can upgrade
// before the operator.
func TestUnsaltedProviderStillVerifies(t *testing.T) {
	x := newXnet(t)
	x.builder.set(func(d vault.Delivery) vault.Delivery {
		return vault.Delivery{Body: d.Body, Digest: sha256.Sum256(d.Body), RecordCount: d.RecordCount}
	})
	w := x.bank.do(t, "POST", "/v1/data-requests", recordsRequest(authBank, synth.HousingFund))
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	res := decodeBody[saltedResult](t, w)
	if sum := sha256.Sum256(res.Delivery); res.DigestSalt != "" || hex.EncodeToString(sum[:]) != res.Digest {
		t.Fatalf("digest_salt %q, digest %s", res.DigestSalt, res.Digest)
	}
}
