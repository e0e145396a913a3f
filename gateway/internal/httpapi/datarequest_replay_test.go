package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/synth"
	"github.com/quanchain/quanchain/gateway/internal/vault"
)

// kept returns every response the gateway's idempotency store holds.
func (g *requesterGateway) kept() []StoredResponse {
	g.idem.mu.Lock()
	defer g.idem.mu.Unlock()
	var out []StoredResponse
	for _, r := range g.idem.recs {
		if r.done {
			out = append(out, r.resp)
		}
	}
	return out
}

// plaintext reports whether b holds any imported record, or a part of one.
func (x *xnet) plaintext(b []byte) bool {
	for _, rec := range x.imported {
		if bytes.Contains(b, rec) {
			return true
		}
	}
	return bytes.Contains(b, []byte("citizen_id")) || bytes.Contains(b, []byte("amount_fen")) ||
		bytes.Contains(b, []byte("record_hash")) || bytes.Contains(b, []byte(`"answer"`))
}

// TestDataRequestReplayKeepsNoRecords: an answered data request is kept
// sealed, and a replay while the authorisation is usable rebuilds the
// same answer from it.
func TestDataRequestReplayKeepsNoRecords(t *testing.T) {
	x := newXnet(t)
	for i, body := range []string{
		recordsRequest(authBank, synth.HousingFund, synth.Tax),
		predicateRequest(authBank, synth.HousingFund, vault.PredicateHousingFundEachMonth,
			map[string]string{"months": "12", "as_of": "2026-11-02", "min_amount": "80000"}),
	} {
		key := fmt.Sprintf("replay-%d", i)
		first := x.bank.do(t, "POST", "/v1/data-requests", body, "Idempotency-Key", key)
		if first.Code != 200 {
			t.Fatalf("first: %d %s", first.Code, first.Body)
		}
		again := x.bank.do(t, "POST", "/v1/data-requests", body, "Idempotency-Key", key)
		if again.Code != 200 || again.Header().Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %d %v %s", again.Code, again.Header(), again.Body)
		}
		if !bytes.Equal(first.Body.Bytes(), again.Body.Bytes()) {
			t.Fatalf("the replay differs from the first answer:\n%s\n%s", first.Body, again.Body)
		}
	}
	if n := x.accessCount(); n != 2 {
		t.Fatalf("%d accesses, want 2", n)
	}
	kept := x.bank.kept()
	if len(kept) != 2 {
		t.Fatalf("%d responses kept, want 2", len(kept))
	}
	for _, k := range kept {
		if k.ReplayWith != replayDataRequest || x.plaintext(k.Body) {
			t.Fatalf("kept in the clear (%q): %s", k.ReplayWith, k.Body)
		}
	}
}

// TestDataRequestReplayAfterStateChange: once the authorisation is no
// longer usable, a replay is refused with its code and hands out nothing;
// paused and then resumed, it is served again.
func TestDataRequestReplayAfterStateChange(t *testing.T) {
	decide := func(action model.Action) func(x *xnet) {
		return func(x *xnet) { x.decide(authBank, action) }
	}
	for _, tc := range []struct {
		name   string
		change func(x *xnet)
		status int
		code   string
	}{
		{"revoked", decide(model.ActionRevoke), 409, string(model.CodeAuthRevoked)},
		{"paused", decide(model.ActionPause), 409, string(model.CodeAuthPaused)},
		{"withdrawn", func(x *xnet) {
			if _, err := x.bank.ledger.Withdraw(context.Background(), authBank); err != nil {
				x.t.Fatal(err)
			}
		}, 409, string(model.CodeAuthWithdrawn)},
		{"expired", func(x *xnet) { x.expire() }, 409, string(model.CodeAuthExpired)},
		{"used up by other requests (the replay is of a use already counted)", func(x *xnet) {
			for _, key := range []string{"other-1", "other-2"} {
				if w := x.bank.do(x.t, "POST", "/v1/data-requests", recordsRequest(authBank, synth.Tax), "Idempotency-Key", key); w.Code != 200 {
					x.t.Fatalf("request %s: %d %s", key, w.Code, w.Body)
				}
			}
			if a := x.auth(authBank); a.Status != model.AuthExhausted {
				x.t.Fatalf("status %s after every use", a.Status)
			}
		}, 200, ""},
		{"institution suspended", func(x *xnet) {
			x.submit("BureauMSP", "registry:SetInstitutionStatus", "BankMSP", model.StatusSuspended)
		}, 403, string(model.CodeInstitutionInactive)},
		{"record revoked", func(x *xnet) {
			for h, body := range x.imported {
				if bytes.Contains(body, []byte(`"month":"2026-02"`)) {
					x.revoke(h, synth.HousingFund)
				}
			}
		}, 502, CodeDeliveryUnverified},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newXnet(t)
			body := recordsRequest(authBank, synth.HousingFund)
			first := x.bank.do(t, "POST", "/v1/data-requests", body, "Idempotency-Key", "loan-7")
			if first.Code != 200 {
				t.Fatalf("first: %d %s", first.Code, first.Body)
			}
			res := decodeBody[dataResult](t, first)
			tc.change(x)
			accesses := x.accessCount()

			w := x.bank.do(t, "POST", "/v1/data-requests", body, "Idempotency-Key", "loan-7")
			if w.Code != tc.status || errCode(t, w) != tc.code {
				t.Fatalf("replay: %d %s", w.Code, w.Body)
			}
			if w.Header().Get("Idempotent-Replayed") != "true" {
				t.Fatal("the answer is not marked as a replay")
			}
			if served := x.plaintext(w.Body.Bytes()); served != (tc.status == 200) {
				t.Fatalf("replay answered %d, carries data: %v: %s", w.Code, served, w.Body)
			}
			if tc.status == 409 && !strings.Contains(w.Body.String(), res.AccessID) {
				t.Fatalf("the refusal does not name access %s: %s", res.AccessID, w.Body)
			}
			if n := x.accessCount(); n != accesses {
				t.Fatalf("the replay recorded an access (%d, was %d)", n, accesses)
			}
		})
	}

	t.Run("resumed", func(t *testing.T) {
		x := newXnet(t)
		body := recordsRequest(authBank, synth.Tax)
		first := x.bank.do(t, "POST", "/v1/data-requests", body, "Idempotency-Key", "loan-8")
		x.decide(authBank, model.ActionPause)
		if w := x.bank.do(t, "POST", "/v1/data-requests", body, "Idempotency-Key", "loan-8"); w.Code != 409 {
			t.Fatalf("replay while paused: %d %s", w.Code, w.Body)
		}
		x.decide(authBank, model.ActionResume)
		w := x.bank.do(t, "POST", "/v1/data-requests", body, "Idempotency-Key", "loan-8")
		if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), first.Body.Bytes()) {
			t.Fatalf("replay once resumed: %d %s", w.Code, w.Body)
		}
	})
}
