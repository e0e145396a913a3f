package httpapi

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/stubtest"
	"github.com/quanchain/quanchain/gateway/internal/exchange"
	"github.com/quanchain/quanchain/gateway/internal/synth"
	"github.com/quanchain/quanchain/ledger/ledgertest"
)

// TestDataRequestWaitsForTheAccessCommit: the requester's gateway waits for
// the access transaction the provider names to commit on its own peer (one
// commit-status wait, no polling), then reads the access once; a
// transaction that committed invalid, or not within the wait, fails the
// access check; a peer that cannot be asked is the ledger's unavailability,
// not a verdict.
func TestDataRequestWaitsForTheAccessCommit(t *testing.T) {
	t.Run("committed", func(t *testing.T) {
		x := newXnet(t)
		var mu sync.Mutex
		var waits []string
		x.net.SetFault(func(c ledgertest.Call) error {
			if c.Name == ledgertest.CommitStatus && c.Org == "BankMSP" {
				mu.Lock()
				waits = append(waits, c.Args[0])
				mu.Unlock()
			}
			return nil
		})
		x.net.ClearCalls()
		w := x.bank.do(t, "POST", "/v1/data-requests", recordsRequest(authBank, synth.Tax))
		if w.Code != 200 {
			t.Fatalf("data request: %d %s", w.Code, w.Body)
		}
		res := decodeBody[dataResult](t, w)
		mu.Lock()
		defer mu.Unlock()
		if len(waits) != 1 || waits[0] != res.TxID {
			t.Fatalf("commit-status waits %q, want one for %s", waits, res.TxID)
		}
		reads := 0
		for _, c := range x.net.Calls() {
			if c.Org == "BankMSP" && c.Name == "access:GetAccess" {
				reads++
			}
		}
		if reads != 1 {
			t.Fatalf("%d reads of the access, want 1", reads)
		}
	})

	namesTx := func(txID string) func(exchange.ProviderClient) exchange.ProviderClient {
		return func(pc exchange.ProviderClient) exchange.ProviderClient {
			return resigning{inner: pc, edit: func(r *exchange.DeliveryResponse) { r.TxID = txID }}
		}
	}
	for _, tc := range []struct {
		name  string
		setup func(x *xnet) string // the transaction the provider names
		want  string
	}{
		{"never committed", func(x *xnet) string { return sha256Hex("never submitted") }, "did not commit on this gateway's peer within 150ms"},
		{"committed invalid", func(x *xnet) string {
			// Two transactions read and write one key; the second loses.
			a := x.net.State().NewTx(sha256Hex("tx-a"), now, nil, "x")
			b := x.net.State().NewTx(sha256Hex("tx-b"), now, nil, "x")
			for _, s := range []*stubtest.Stub{a, b} {
				_, _ = s.GetState("conflict")
				_ = s.PutState("conflict", []byte(s.GetTxID()))
			}
			if err := a.Commit(); err != nil {
				x.t.Fatal(err)
			}
			if err := b.Commit(); err == nil {
				x.t.Fatal("the second transaction committed valid")
			}
			return sha256Hex("tx-b")
		}, "did not commit valid on this gateway's peer (TX_CONFLICT)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newXnet(t)
			x.commitWait = 150 * time.Millisecond
			g := x.newRequester("BankMSP", "bank-loans", testTokens(t, fixedClock), namesTx(tc.setup(x)))
			start := time.Now()
			w := g.do(t, "POST", "/v1/data-requests", recordsRequest(authBank, synth.Tax))
			if w.Code != 502 || errCode(t, w) != CodeDeliveryUnverified || !strings.Contains(w.Body.String(), "the access check") ||
				!strings.Contains(w.Body.String(), tc.want) {
				t.Fatalf("data request: %d %s, want DELIVERY_UNVERIFIED: %s", w.Code, w.Body, tc.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("answered after %s", d)
			}
		})
	}

	t.Run("peer unreachable", func(t *testing.T) {
		x := newXnet(t)
		x.net.SetFault(func(c ledgertest.Call) error {
			if c.Name == ledgertest.CommitStatus && c.Org == "BankMSP" {
				return ledgertest.ErrUnavailable
			}
			return nil
		})
		w := x.bank.do(t, "POST", "/v1/data-requests", recordsRequest(authBank, synth.Tax))
		if w.Code != 503 || errCode(t, w) != "LEDGER_UNAVAILABLE" {
			t.Fatalf("data request: %d %s", w.Code, w.Body)
		}
	})
}
