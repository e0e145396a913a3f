package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/store"
)

// deliveryHarness is a requester gateway with the notification routes and
// the admin API's webhook deliveries over a real store, an admin token of
// BankMSP, the webhooks wh-a and wh-b of BankMSP and wh-ins of InsurerMSP,
// and a count of the sender's wake-ups.
type deliveryHarness struct {
	*harness
	st    *store.Store
	wakes atomic.Int32
}

func newDeliveryHarness(t *testing.T) *deliveryHarness {
	t.Helper()
	h := &deliveryHarness{harness: newHarness(t, func(c *config.Config) { c.Roles = []config.Role{config.RoleRequester} })}
	h.st = webhookStore(t)
	n, err := NewNotifyAPI(NotifyConfig{Webhooks: h.st, Deliveries: h.st, Wake: func() { h.wakes.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	h.srv.Notify = n
	h.token = adminToken(t, h.harness, auth.ScopeAdmin)
	for _, w := range []store.Webhook{
		{ID: "wh-a", ClientID: "bank-loans", URL: "https://bank.example/a", Secret: "k"},
		{ID: "wh-b", ClientID: "bank-loans", URL: "https://bank.example/b", Secret: "k"},
		{ID: "wh-ins", ClientID: "ins-claims", URL: "https://ins.example/", Secret: "k"},
	} {
		if _, err := h.st.CreateWebhookSubscription(context.Background(), w, nil); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// enqueue puts events in a webhook's outbox and returns their item ids.
func (h *deliveryHarness) enqueue(wh string, events ...string) []int64 {
	h.t.Helper()
	ctx := context.Background()
	for _, ev := range events {
		body := fmt.Sprintf(`{"name":"AuthorizationGranted","tx_id":%q}`, ev)
		if ok, err := h.st.EnqueueEvent(ctx, wh, ev, []byte(body), now); err != nil || !ok {
			h.t.Fatalf("enqueue: %v %v", ok, err)
		}
	}
	org := "BankMSP"
	if wh == "wh-ins" {
		org = "InsurerMSP"
	}
	page, err := h.st.WebhookDeliveries(ctx, store.WebhookDeliveryQuery{OrgMSP: org, WebhookID: wh, Limit: store.MaxWebhookDeliveryPage})
	if err != nil {
		h.t.Fatal(err)
	}
	var ids []int64
	for _, d := range page[len(page)-len(events):] {
		ids = append(ids, d.ID)
	}
	return ids
}

// parkHeads claims the first item of every webhook and parks it, as the
// sender does when a receiver stays down.
func (h *deliveryHarness) parkHeads() {
	h.t.Helper()
	ctx := context.Background()
	items, err := h.st.ClaimDue(ctx, now.Add(time.Hour), 100)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, it := range items {
		if err := h.st.MarkParked(ctx, it.ID, now, "parked after 20 attempts: HTTP 503"); err != nil {
			h.t.Fatal(err)
		}
	}
}

func TestAdminWebhookDeliveries(t *testing.T) {
	h := newDeliveryHarness(t)
	a := h.enqueue("wh-a", "5:t1", "6:t2", "7:t3")
	b := h.enqueue("wh-b", "5:t1")
	ins := h.enqueue("wh-ins", "5:t1")
	h.parkHeads()

	w := h.do("GET", "/admin/v1/webhooks/deliveries", "")
	if w.Code != 200 {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	all := decodeBody[deliveryList](t, w)
	if len(all.Items) != 4 || all.NextCursor != "" {
		t.Fatalf("list %+v", all)
	}
	first := all.Items[0]
	if first.ID != a[0] || first.State != "parked" || first.HeldBack || first.Attempts != 1 || first.EventID != "5:t1" ||
		first.EventName != "AuthorizationGranted" || first.ParkedAt != now.Format(time.RFC3339Nano) ||
		first.LastError != "parked after 20 attempts: HTTP 503" || first.NextAttemptAt != "" {
		t.Fatalf("first %+v", first)
	}
	if held := all.Items[1]; held.ID != a[1] || held.State != "pending" || !held.HeldBack || held.NextAttemptAt == "" {
		t.Fatalf("held back %+v", held)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Fatal("a listing may be cached")
	}

	parked := decodeBody[deliveryList](t, h.do("GET", "/admin/v1/webhooks/deliveries?state=parked", ""))
	if len(parked.Items) != 2 || parked.Items[0].ID != a[0] || parked.Items[1].ID != b[0] {
		t.Fatalf("parked %+v", parked)
	}
	pending := decodeBody[deliveryList](t, h.do("GET", "/admin/v1/webhooks/deliveries?state=pending&webhook_id=wh-a", ""))
	if len(pending.Items) != 2 || pending.Items[0].ID != a[1] {
		t.Fatalf("pending %+v", pending)
	}
	page1 := decodeBody[deliveryList](t, h.do("GET", "/admin/v1/webhooks/deliveries?limit=3", ""))
	if len(page1.Items) != 3 || page1.NextCursor == "" {
		t.Fatalf("page 1 %+v", page1)
	}
	page2 := decodeBody[deliveryList](t, h.do("GET", "/admin/v1/webhooks/deliveries?limit=3&cursor="+url.QueryEscape(page1.NextCursor), ""))
	if len(page2.Items) != 1 || page2.Items[0].ID != b[0] || page2.NextCursor != "" {
		t.Fatalf("page 2 %+v", page2)
	}

	// One delivery: due now, attempts from zero; repeated, nothing more.
	path := fmt.Sprintf("/admin/v1/webhooks/deliveries/%d/retry", a[0])
	w = h.do("POST", path, "")
	if w.Code != 200 {
		t.Fatalf("retry: %d %s", w.Code, w.Body)
	}
	d := decodeBody[deliveryView](t, w)
	if d.State != "pending" || d.Attempts != 0 || d.RetriedAt != now.Format(time.RFC3339Nano) ||
		d.NextAttemptAt != d.RetriedAt || d.ParkedAt != "" || h.wakes.Load() != 1 {
		t.Fatalf("retried %+v, %d wake-ups", d, h.wakes.Load())
	}
	if w := h.do("POST", path, ""); w.Code != 200 || decodeBody[deliveryView](t, w) != d {
		t.Fatalf("repeated retry: %d %s", w.Code, w.Body)
	}
	due, err := h.st.ClaimDue(context.Background(), now, 10)
	if err != nil || len(due) != 1 || due[0].ID != a[0] {
		t.Fatalf("due after the retry: %+v %v", due, err)
	}

	// The webhook's parked deliveries at once; repeated, none.
	w = h.do("POST", "/admin/v1/webhooks/wh-b/retry", "")
	if w.Code != 200 || decodeBody[webhookRetry](t, w) != (webhookRetry{WebhookID: "wh-b", Retried: 1}) {
		t.Fatalf("retry wh-b: %d %s", w.Code, w.Body)
	}
	w = h.do("POST", "/admin/v1/webhooks/wh-b/retry", "")
	if w.Code != 200 || decodeBody[webhookRetry](t, w).Retried != 0 {
		t.Fatalf("retry wh-b again: %d %s", w.Code, w.Body)
	}
	if n := len(decodeBody[deliveryList](t, h.do("GET", "/admin/v1/webhooks/deliveries?state=parked", "")).Items); n != 0 {
		t.Fatalf("%d still parked", n)
	}

	// Errors with stable codes.
	for _, tt := range []struct {
		path   string
		status int
		code   string
	}{
		{fmt.Sprintf("/admin/v1/webhooks/deliveries/%d/retry", a[1]), 409, CodeDeliveryNotParked},
		{fmt.Sprintf("/admin/v1/webhooks/deliveries/%d/retry", ins[0]), 404, CodeDeliveryNotFound},
		{"/admin/v1/webhooks/deliveries/999999/retry", 404, CodeDeliveryNotFound},
		{"/admin/v1/webhooks/deliveries/abc/retry", 404, CodeDeliveryNotFound},
		{"/admin/v1/webhooks/deliveries/-1/retry", 404, CodeDeliveryNotFound},
		{"/admin/v1/webhooks/wh-ins/retry", 404, CodeWebhookNotFound},
		{"/admin/v1/webhooks/wh-none/retry", 404, CodeWebhookNotFound},
		{"/admin/v1/webhooks/" + url.PathEscape("wh a") + "/retry", 404, CodeWebhookNotFound},
	} {
		if w := h.do("POST", tt.path, ""); w.Code != tt.status || errCode(t, w) != tt.code {
			t.Errorf("POST %s: %d %s, want %d %s", tt.path, w.Code, w.Body, tt.status, tt.code)
		}
	}
	// A deleted webhook's deliveries are gone from the listing and from
	// retries.
	if w := h.do("DELETE", "/v1/webhooks/wh-a", "", "Authorization", "Bearer "+institutionToken(t, h.harness)); w.Code != 204 {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	if got := decodeBody[deliveryList](t, h.do("GET", "/admin/v1/webhooks/deliveries", "")); len(got.Items) != 1 || got.Items[0].ID != b[0] {
		t.Fatalf("after delete %+v", got)
	}
	if w := h.do("POST", fmt.Sprintf("/admin/v1/webhooks/deliveries/%d/retry", a[0]), ""); w.Code != 404 {
		t.Fatalf("retry of a deleted webhook's delivery: %d %s", w.Code, w.Body)
	}
}

func institutionToken(t *testing.T, h *harness) string {
	t.Helper()
	tok, _, err := h.tokens.Issue(auth.Principal{Kind: auth.KindInstitution, Subject: "bank-loans", MSPID: "BankMSP"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestAdminWebhookDeliveriesBadInput(t *testing.T) {
	tests := []struct {
		name, method, path string
		token              func(h *deliveryHarness) string
		status             int
		code               string
	}{
		{"unknown state", "GET", "/admin/v1/webhooks/deliveries?state=delivered", nil, 400, CodeInvalidArgument},
		{"unknown parameter", "GET", "/admin/v1/webhooks/deliveries?status=parked", nil, 400, CodeInvalidArgument},
		{"repeated parameter", "GET", "/admin/v1/webhooks/deliveries?state=parked&state=pending", nil, 400, CodeInvalidArgument},
		{"bad cursor", "GET", "/admin/v1/webhooks/deliveries?cursor=abc", nil, 400, CodeInvalidArgument},
		{"zero cursor", "GET", "/admin/v1/webhooks/deliveries?cursor=0", nil, 400, CodeInvalidArgument},
		{"zero limit", "GET", "/admin/v1/webhooks/deliveries?limit=0", nil, 400, CodeInvalidArgument},
		{"large limit", "GET", "/admin/v1/webhooks/deliveries?limit=101", nil, 400, CodeInvalidArgument},
		{"bad webhook id", "GET", "/admin/v1/webhooks/deliveries?webhook_id=a%20b", nil, 400, CodeInvalidArgument},
		{"no token", "GET", "/admin/v1/webhooks/deliveries", func(*deliveryHarness) string { return "" }, 401, auth.CodeMissingToken},
		{"institution scope only", "POST", "/admin/v1/webhooks/wh-a/retry",
			func(h *deliveryHarness) string { return institutionToken(t, h.harness) }, 403, CodeInsufficientScope},
		{"another organisation's admin", "GET", "/admin/v1/webhooks/deliveries", func(h *deliveryHarness) string {
			tok, _, _ := h.tokens.Issue(auth.Principal{Kind: auth.KindInstitution, Subject: "ins-admin", MSPID: "InsurerMSP",
				Scopes: []string{auth.ScopeAdmin}})
			return tok
		}, 403, CodeInsufficientScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newDeliveryHarness(t)
			h.enqueue("wh-a", "5:t1")
			h.parkHeads()
			var hdr []string
			if tt.token != nil {
				hdr = []string{"Authorization", ""}
				if tok := tt.token(h); tok != "" {
					hdr[1] = "Bearer " + tok
				}
			}
			if w := h.do(tt.method, tt.path, "", hdr...); w.Code != tt.status || errCode(t, w) != tt.code {
				t.Fatalf("got %d %s, want %d %s", w.Code, w.Body, tt.status, tt.code)
			}
			if n := len(decodeBody[deliveryList](t, h.do("GET", "/admin/v1/webhooks/deliveries?state=parked", "")).Items); n != 1 {
				t.Fatalf("%d parked after a refused request, want 1", n)
			}
		})
	}
}

func TestAdminWebhookDeliveriesConfigurationAndRole(t *testing.T) {
	h := newDeliveryHarness(t)
	n, err := NewNotifyAPI(NotifyConfig{Webhooks: h.st})
	if err != nil {
		t.Fatal(err)
	}
	h.srv.Notify = n
	if w := h.do("GET", "/admin/v1/webhooks/deliveries", ""); w.Code != 503 || errCode(t, w) != codeAdminUnavailable {
		t.Fatalf("without a delivery store: %d %s", w.Code, w.Body)
	}
	h.srv.Notify = nil
	if w := h.do("POST", "/admin/v1/webhooks/wh-a/retry", ""); w.Code != 503 || errCode(t, w) != codeAdminUnavailable {
		t.Fatalf("without notifications: %d %s", w.Code, w.Body)
	}

	// A requester gateway issues admin tokens to its own API clients.
	h.srv.Clients = storeClients{h.st}
	if _, err := h.st.CreateClient(context.Background(), store.Client{ID: "bank-admin", OrgMSP: "BankMSP", Scopes: []string{auth.ScopeAdmin}},
		"s3cret-s3cret-s3cret"); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"bank-admin"}, "client_secret": {"s3cret-s3cret-s3cret"}}
	w := h.do("POST", "/admin/v1/oauth/token", form.Encode(), "Content-Type", "application/x-www-form-urlencoded", "Authorization", "")
	if w.Code != 200 {
		t.Fatalf("admin token on a requester gateway: %d %s", w.Code, w.Body)
	}
	if p, err := h.tokens.Verify(decodeBody[tokenResponse](t, w).AccessToken, auth.KindInstitution); err != nil || !p.HasScope(auth.ScopeAdmin) {
		t.Fatalf("principal %+v, %v", p, err)
	}

	p := newHarness(t, func(c *config.Config) { c.Roles = []config.Role{config.RoleProvider} })
	if w := p.do("GET", "/admin/v1/webhooks/deliveries", ""); w.Code != http.StatusNotFound {
		t.Fatalf("webhook deliveries on a provider-only gateway: %d", w.Code)
	}
}
