package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/exchange"
	"github.com/quanchain/quanchain/gateway/internal/store"
)

// deliveryLogHarness is a gateway of roles with the delivery log over a
// real store and an admin token of its organisation.
func deliveryLogHarness(t *testing.T, msp string, roles ...config.Role) (*harness, *store.Store) {
	t.Helper()
	h := newHarnessAs(t, msp, func(c *config.Config) { c.Roles = roles })
	st := webhookStore(t)
	h.srv.DeliveryLog = st
	h.token = adminToken(t, h, auth.ScopeAdmin)
	return h, st
}

// TestAdminDeliveryLogServed runs in a synctest bubble, whose clock
// time.Sleep moves: the receipts get distinct times at once.
func TestAdminDeliveryLogServed(t *testing.T) {
	synctest.Test(t, testAdminDeliveryLogServed)
}

func testAdminDeliveryLogServed(t *testing.T) {
	h, st := deliveryLogHarness(t, "BureauMSP", config.RoleProvider)
	ctx := context.Background()
	for _, id := range []string{"acc-1", "acc-2", "acc-3"} {
		txID := "tx-" + id
		if id == "acc-3" {
			txID = "" // its access not seen to commit
		}
		if _, _, err := st.RecordDelivery(ctx, store.Delivery{AccessID: id, AuthorizationID: "auth-mine", RequesterMSP: "BankMSP",
			Digest: strings.Repeat("0f", 32), DigestSalt: bytes.Repeat([]byte{1}, 32), TxID: txID}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // distinct times, so the order is the ids'
	}
	var got []deliveryLogEntry
	path := "/admin/v1/deliveries?limit=2"
	for pages := 0; path != ""; pages++ {
		w := h.do("GET", path, "")
		if w.Code != http.StatusOK || pages > 2 {
			t.Fatalf("page %d: %d %s", pages, w.Code, w.Body)
		}
		p := decodeBody[deliveryLogPage](t, w)
		if p.Side != SideServed {
			t.Fatalf("side %q", p.Side)
		}
		got = append(got, p.Items...)
		path = ""
		if p.NextCursor != "" {
			path = "/admin/v1/deliveries?limit=2&cursor=" + url.QueryEscape(p.NextCursor)
		}
	}
	if len(got) != 3 || got[0].AccessID != "acc-1" || got[2].AccessID != "acc-3" || got[2].TxID != "" ||
		got[0].Requester != "BankMSP" || got[0].Provider != "BureauMSP" || got[0].AuthorizationID != "auth-mine" ||
		got[0].Digest != strings.Repeat("0f", 32) || got[0].TxID != "tx-acc-1" || got[0].At == "" {
		t.Fatalf("entries %+v", got)
	}
	// The salt stays with the operator.
	if w := h.do("GET", "/admin/v1/deliveries", ""); strings.Contains(w.Body.String(), "salt") {
		t.Fatalf("the log shows a salt: %s", w.Body)
	}
	future := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	if p := decodeBody[deliveryLogPage](t, h.do("GET", "/admin/v1/deliveries?since="+future, "")); len(p.Items) != 0 {
		t.Fatalf("since the future: %+v", p.Items)
	}

	for _, bad := range []string{"?side=received", "?side=both", "?since=yesterday", "?cursor=xyz", "?limit=0", "?state=parked",
		"?since=2026-11-02T00:00:00Z&until=2026-11-01T00:00:00Z"} {
		if w := h.do("GET", "/admin/v1/deliveries"+bad, ""); w.Code != http.StatusBadRequest || errCode(t, w) != CodeInvalidArgument {
			t.Errorf("%s: %d %s", bad, w.Code, w.Body)
		}
	}
	h.token = adminToken(t, h, "institution")
	if w := h.do("GET", "/admin/v1/deliveries", ""); w.Code != http.StatusForbidden || errCode(t, w) != CodeInsufficientScope {
		t.Fatalf("without the admin scope: %d %s", w.Code, w.Body)
	}
}

func TestAdminDeliveryLogReceived(t *testing.T) {
	h, st := deliveryLogHarness(t, "BankMSP", config.RoleRequester)
	ctx := context.Background()
	keep := func(key string, kept *exchange.Kept, replayWith string) {
		t.Helper()
		body, _ := json.Marshal(kept)
		if _, _, err := st.BeginIdempotent(ctx, "institution:bank-loans", key, "h-"+key); err != nil {
			t.Fatal(err)
		}
		if err := st.CompleteIdempotentWith(ctx, "institution:bank-loans", key, 200, body, replayWith); err != nil {
			t.Fatal(err)
		}
	}
	keep("k1", &exchange.Kept{Request: exchange.DeliveryRequest{AccessID: "acc-1", AuthorizationID: "auth-mine"},
		Delivery: &exchange.DeliveryResponse{AccessID: "acc-1", TxID: "tx-1", Digest: strings.Repeat("ab", 32), RecordCount: 3}}, replayDataRequest)
	keep("k2", &exchange.Kept{}, "") // an answer replayed as sent: not a delivery
	w := h.do("GET", "/admin/v1/deliveries", "")
	p := decodeBody[deliveryLogPage](t, w)
	if w.Code != http.StatusOK || p.Side != SideReceived || len(p.Items) != 1 || p.NextCursor != "" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if e := p.Items[0]; e.AccessID != "acc-1" || e.AuthorizationID != "auth-mine" || e.Requester != "BankMSP" || e.TxID != "tx-1" ||
		e.Digest != strings.Repeat("ab", 32) {
		t.Fatalf("entry %+v", e)
	}

	both, _ := deliveryLogHarness(t, "BureauMSP", config.RoleProvider, config.RoleRequester)
	if w := both.do("GET", "/admin/v1/deliveries", ""); w.Code != http.StatusBadRequest || errCode(t, w) != CodeSideRequired {
		t.Fatalf("both roles without side: %d %s", w.Code, w.Body)
	}
	if w := both.do("GET", "/admin/v1/deliveries?side=received", ""); w.Code != http.StatusOK {
		t.Fatalf("both roles, side=received: %d %s", w.Code, w.Body)
	}
	none := newHarnessAs(t, "BankMSP", func(c *config.Config) { c.Roles = []config.Role{config.RoleRequester} })
	none.token = adminToken(t, none, auth.ScopeAdmin)
	if w := none.do("GET", "/admin/v1/deliveries", ""); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("without a log: %d %s", w.Code, w.Body)
	}
}
