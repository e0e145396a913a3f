package httpapi

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/quanchain/quanchain/gateway/internal/exchange"
	"github.com/quanchain/quanchain/gateway/internal/synth"
	"github.com/quanchain/quanchain/internal/jws"
	"github.com/quanchain/quanchain/ledger/ledgertest/artefacttest"
)

// resigning hands on the provider's answers with the signature edit
// makes of it.
type resigning struct {
	inner exchange.ProviderClient
	edit  func(resp *exchange.DeliveryResponse)
}

func (r resigning) Deliver(ctx context.Context, q exchange.DeliveryRequest) (*exchange.DeliveryResponse, error) {
	resp, err := r.inner.Deliver(ctx, q)
	if err == nil {
		r.edit(resp)
	}
	return resp, err
}

func TestDeliverySignaturePassedOn(t *testing.T) {
	x := newXnet(t)
	w := x.bank.do(t, "POST", "/v1/data-requests", recordsRequest(authBank, synth.Tax))
	if w.Code != 200 {
		t.Fatalf("data request: %d %s", w.Code, w.Body)
	}
	var got struct {
		AccessID          string `json:"access_id"`
		TxID              string `json:"tx_id"`
		Digest            string `json:"digest"`
		ProviderSignature string `json:"provider_signature"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	c, v, err := exchange.ParseDeliverySignature(got.ProviderSignature)
	if err != nil {
		t.Fatalf("provider_signature %q: %v", got.ProviderSignature, err)
	}
	if v.KeyID != x.deliverySigner.KeyID() {
		t.Errorf("signed by %s, want the provider's key %s", v.KeyID, x.deliverySigner.KeyID())
	}
	want := exchange.DeliveryClaims{Type: exchange.DeliveryClaimsType, AccessID: got.AccessID, AuthorizationID: authBank,
		Requester: "BankMSP", Provider: "BureauMSP", Digest: got.Digest, TxID: got.TxID, IssuedAt: c.IssuedAt}
	if *c != want {
		t.Errorf("claims %+v, want %+v", *c, want)
	}

	// The key set it names, on the provider's mutual-TLS listener.
	ids, err := x.bank.client.DeliveryKeyIDs(context.Background())
	if err != nil || len(ids) != 1 || ids[0] != x.deliverySigner.KeyID() {
		t.Fatalf("published keys %v, %v", ids, err)
	}
}

func TestDeliveryWithABadProviderSignatureIsRefused(t *testing.T) {
	var x *xnet // each case's own: each uses one of the authorisation's uses
	stranger := artefacttest.NewSigner(t)
	sign := func(s *jws.Signer, c exchange.DeliveryClaims) string {
		b, _ := json.Marshal(c)
		tok, err := s.Sign(exchange.DeliverySignatureType, b)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	claimsOf := func(r *exchange.DeliveryResponse) exchange.DeliveryClaims {
		c, _, err := exchange.ParseDeliverySignature(r.ProviderSignature)
		if err != nil {
			t.Fatal(err)
		}
		return *c
	}
	for _, tc := range []struct {
		name string
		edit func(r *exchange.DeliveryResponse)
	}{
		{"unsigned", func(r *exchange.DeliveryResponse) { r.ProviderSignature = "" }},
		{"signature cut", func(r *exchange.DeliveryResponse) {
			r.ProviderSignature = r.ProviderSignature[:len(r.ProviderSignature)-4]
		}},
		{"a key the provider does not publish", func(r *exchange.DeliveryResponse) {
			r.ProviderSignature = sign(stranger, claimsOf(r))
		}},
		{"another digest, the provider's key", func(r *exchange.DeliveryResponse) {
			c := claimsOf(r)
			c.Digest = sha256Hex("something else")
			r.ProviderSignature = sign(x.deliverySigner, c)
		}},
		{"another access transaction", func(r *exchange.DeliveryResponse) {
			c := claimsOf(r)
			c.TxID = sha256Hex("another tx")
			r.ProviderSignature = sign(x.deliverySigner, c)
		}},
		{"another provider", func(r *exchange.DeliveryResponse) {
			c := claimsOf(r)
			c.Provider = "InsurerMSP"
			r.ProviderSignature = sign(x.deliverySigner, c)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x = newXnet(t)
			g := x.newRequester("BankMSP", "bank-loans", testTokens(t, fixedClock), func(pc exchange.ProviderClient) exchange.ProviderClient {
				return resigning{inner: pc, edit: tc.edit}
			})
			w := g.do(t, "POST", "/v1/data-requests", recordsRequest(authBank, synth.Tax))
			if w.Code != 502 || errCode(t, w) != exchange.CodeDeliverySignatureInvalid {
				t.Fatalf("data request: %d %s, want 502 %s", w.Code, w.Body, exchange.CodeDeliverySignatureInvalid)
			}
		})
	}
}

// TestReplayOfAnUnsignedKeptDelivery: a delivery kept before providers
// signed is replayed without a signature; a kept signature that does not
// hold is refused like a fresh one.
func TestReplayOfAnUnsignedKeptDelivery(t *testing.T) {
	x := newXnet(t)
	body := recordsRequest(authBank, synth.Tax)
	if w := x.bank.do(t, "POST", "/v1/data-requests", body, "Idempotency-Key", "kept-1"); w.Code != 200 {
		t.Fatalf("first: %d %s", w.Code, w.Body)
	}
	editKept := func(edit func(*exchange.DeliveryResponse)) {
		t.Helper()
		x.bank.idem.mu.Lock()
		defer x.bank.idem.mu.Unlock()
		for _, r := range x.bank.idem.recs {
			var k exchange.Kept
			if err := json.Unmarshal(r.resp.Body, &k); err != nil {
				t.Fatal(err)
			}
			edit(k.Delivery)
			b, err := json.Marshal(k)
			if err != nil {
				t.Fatal(err)
			}
			r.resp.Body = b
		}
	}
	signature := ""
	editKept(func(d *exchange.DeliveryResponse) { signature, d.ProviderSignature = d.ProviderSignature, "" })
	w := x.bank.do(t, "POST", "/v1/data-requests", body, "Idempotency-Key", "kept-1")
	var got struct {
		ProviderSignature *string `json:"provider_signature"`
		Verified          bool    `json:"verified"`
	}
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &got) != nil || !got.Verified || got.ProviderSignature != nil {
		t.Fatalf("replay of an unsigned kept delivery: %d %s", w.Code, w.Body)
	}
	editKept(func(d *exchange.DeliveryResponse) { d.ProviderSignature = signature[:len(signature)-4] })
	if w := x.bank.do(t, "POST", "/v1/data-requests", body, "Idempotency-Key", "kept-1"); w.Code != 502 ||
		errCode(t, w) != exchange.CodeDeliverySignatureInvalid {
		t.Fatalf("replay with a broken signature: %d %s", w.Code, w.Body)
	}
}
