package httpapi

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/notify"
	"github.com/quanchain/quanchain/gateway/internal/store"
)

// webhookStore opens a SQLite store with the harness's API client
// (bank-loans of BankMSP) and a client of another organisation.
func webhookStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, c := range []store.Client{{ID: "bank-loans", OrgMSP: "BankMSP"}, {ID: "ins-claims", OrgMSP: "InsurerMSP"}} {
		if _, err := st.CreateClient(context.Background(), c, "s3cret-s3cret-s3cret"); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// newNotifyHarness is the harness with the notification routes over a
// real store and broker.
func newNotifyHarness(t *testing.T, mod ...func(*config.Config)) (*harness, *store.Store, *notify.Broker) {
	t.Helper()
	h := newHarness(t, mod...)
	st := webhookStore(t)
	b := notify.NewBroker(4, 8)
	n, err := NewNotifyAPI(NotifyConfig{Webhooks: st, Events: b, MaxWebhooks: 3})
	if err != nil {
		t.Fatal(err)
	}
	h.srv.Notify = n
	return h, st, b
}

func orgWebhooks(t *testing.T, st *store.Store, org string) []store.WebhookSubscription {
	t.Helper()
	list, err := st.OrgWebhookSubscriptions(context.Background(), org)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestWebhookLifecycle(t *testing.T) {
	h, st, _ := newNotifyHarness(t)
	w := h.do("POST", "/v1/webhooks", `{"url":"https://loans.bank.example/hooks"}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	created := decodeBody[createdWebhook](t, w)
	if !strings.HasPrefix(created.ID, "wh-") || !strings.HasPrefix(created.Secret, "whsec_") || len(created.Secret) < 40 ||
		w.Header().Get("Location") != "/v1/webhooks/"+created.ID || created.ClientID != "bank-loans" ||
		!slices.Equal(created.Events, notify.Forwarded) || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("created %+v", created)
	}
	stored := orgWebhooks(t, st, "BankMSP")
	if len(stored) != 1 || stored[0].Secret != created.Secret || stored[0].URL != "https://loans.bank.example/hooks" {
		t.Fatalf("stored %+v", stored)
	}

	w = h.do("POST", "/v1/webhooks", `{"url":"https://loans.bank.example/access","events":["AccessRecorded","AuthorizationRevoked"]}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("create filtered: %d %s", w.Code, w.Body)
	}
	filtered := decodeBody[createdWebhook](t, w)

	w = h.do("GET", "/v1/webhooks", "")
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "whsec_") {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	list := decodeBody[webhookList](t, w)
	if len(list.Items) != 2 {
		t.Fatalf("list %+v", list)
	}
	for _, it := range list.Items {
		if it.ID == filtered.ID && !slices.Equal(it.Events, []string{"AccessRecorded", "AuthorizationRevoked"}) {
			t.Fatalf("filtered webhook listed as %+v", it)
		}
	}

	if w := h.do("DELETE", "/v1/webhooks/"+created.ID, ""); w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	if w := h.do("DELETE", "/v1/webhooks/"+created.ID, ""); w.Code != http.StatusNotFound || errCode(t, w) != CodeWebhookNotFound {
		t.Fatalf("delete again: %d %s", w.Code, w.Body)
	}
	if list := decodeBody[webhookList](t, h.do("GET", "/v1/webhooks", "")); len(list.Items) != 1 || list.Items[0].ID != filtered.ID {
		t.Fatalf("list after delete %+v", list)
	}
}

func TestWebhookOtherOrganisation(t *testing.T) {
	h, st, _ := newNotifyHarness(t)
	if _, err := st.CreateWebhookSubscription(context.Background(),
		store.Webhook{ID: "wh-insurer", ClientID: "ins-claims", URL: "https://ins.example/", Secret: "k"}, nil); err != nil {
		t.Fatal(err)
	}
	if w := h.do("DELETE", "/v1/webhooks/wh-insurer", ""); w.Code != http.StatusNotFound || errCode(t, w) != CodeWebhookNotFound {
		t.Fatalf("delete another organisation's webhook: %d %s", w.Code, w.Body)
	}
	if list := orgWebhooks(t, st, "InsurerMSP"); len(list) != 1 {
		t.Fatal("another organisation's webhook was deleted")
	}
	if list := decodeBody[webhookList](t, h.do("GET", "/v1/webhooks", "")); len(list.Items) != 0 {
		t.Fatalf("another organisation's webhook listed: %+v", list)
	}
	// A token naming another organisation is refused on this gateway.
	tok, _, _ := h.tokens.Issue(auth.Principal{Kind: auth.KindInstitution, Subject: "ins-claims", MSPID: "InsurerMSP"})
	w := h.do("GET", "/v1/webhooks", "", "Authorization", "Bearer "+tok)
	if w.Code != http.StatusForbidden || errCode(t, w) != "FORBIDDEN_MSP" {
		t.Fatalf("other organisation's token: %d %s", w.Code, w.Body)
	}
}

func TestWebhookBadInput(t *testing.T) {
	citizenTok, _, _ := newHarness(t).tokens.Issue(auth.Principal{Kind: auth.KindCitizen, Subject: strings.Repeat("a", 64)})
	tests := []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		code                     string
	}{
		{"malformed JSON", "POST", "/v1/webhooks", `{"url":`, nil, 400, CodeMalformedJSON},
		{"unknown field", "POST", "/v1/webhooks", `{"url":"https://a.example/","secret":"mine"}`, nil, 400, CodeMalformedJSON},
		{"wrong type", "POST", "/v1/webhooks", `{"url":1}`, nil, 400, CodeMalformedJSON},
		{"events not a list", "POST", "/v1/webhooks", `{"url":"https://a.example/","events":"AccessRecorded"}`, nil, 400, CodeMalformedJSON},
		{"trailing data", "POST", "/v1/webhooks", `{"url":"https://a.example/"} {}`, nil, 400, CodeMalformedJSON},
		{"missing url", "POST", "/v1/webhooks", `{}`, nil, 400, CodeInvalidArgument},
		{"http in production", "POST", "/v1/webhooks", `{"url":"http://127.0.0.1:9000/hooks"}`, nil, 400, CodeInvalidArgument},
		{"metadata address", "POST", "/v1/webhooks", `{"url":"https://169.254.169.254/"}`, nil, 400, CodeInvalidArgument},
		{"credentials in url", "POST", "/v1/webhooks", `{"url":"https://u:p@a.example/"}`, nil, 400, CodeInvalidArgument},
		{"relative url", "POST", "/v1/webhooks", `{"url":"/hooks"}`, nil, 400, CodeInvalidArgument},
		{"unknown event", "POST", "/v1/webhooks", `{"url":"https://a.example/","events":["BatchAnchored"]}`, nil, 400, CodeInvalidArgument},
		{"repeated event", "POST", "/v1/webhooks", `{"url":"https://a.example/","events":["AccessRecorded","AccessRecorded"]}`, nil, 400, CodeInvalidArgument},
		{"oversized", "POST", "/v1/webhooks", `{"url":"https://a.example/` + strings.Repeat("a", 5000) + `"}`, nil, 413, CodeBodyTooLarge},
		{"not JSON", "POST", "/v1/webhooks", `url=https://a.example/`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, CodeUnsupportedMedia},
		{"no token", "POST", "/v1/webhooks", `{"url":"https://a.example/"}`, []string{"Authorization", ""}, 401, auth.CodeMissingToken},
		{"citizen token", "POST", "/v1/webhooks", `{"url":"https://a.example/"}`, []string{"Authorization", "Bearer " + citizenTok}, 401, auth.CodeInvalidToken},
		{"bad idempotency key", "POST", "/v1/webhooks", `{"url":"https://a.example/"}`, []string{"Idempotency-Key", strings.Repeat("k", 300)}, 400, CodeInvalidIdempotency},
		{"list with a query", "GET", "/v1/webhooks?all=1", "", nil, 400, CodeInvalidArgument},
		{"list without token", "GET", "/v1/webhooks", "", []string{"Authorization", ""}, 401, auth.CodeMissingToken},
		{"delete unknown", "DELETE", "/v1/webhooks/wh-NOPE", "", nil, 404, CodeWebhookNotFound},
		{"delete malformed id", "DELETE", "/v1/webhooks/%2e%2e", "", nil, 404, CodeWebhookNotFound},
		{"delete without token", "DELETE", "/v1/webhooks/wh-1", "", []string{"Authorization", ""}, 401, auth.CodeMissingToken},
		{"events without token", "GET", "/v1/events", "", []string{"Authorization", ""}, 401, auth.CodeMissingToken},
		{"events with a query", "GET", "/v1/events?since=1", "", nil, 400, CodeInvalidArgument},
		{"events, citizen token", "GET", "/v1/events", "", []string{"Authorization", "Bearer " + citizenTok}, 401, auth.CodeInvalidToken},
		{"wrong method", "PUT", "/v1/webhooks", `{}`, nil, 405, CodeMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, st, _ := newNotifyHarness(t)
			w := h.do(tt.method, tt.path, tt.body, tt.headers...)
			if w.Code != tt.status || errCode(t, w) != tt.code {
				t.Fatalf("got %d %s, want %d %s", w.Code, w.Body, tt.status, tt.code)
			}
			if n := len(orgWebhooks(t, st, "BankMSP")); n != 0 {
				t.Fatalf("%d webhooks written", n)
			}
		})
	}
}

func TestWebhookDevelopmentMode(t *testing.T) {
	h, st, _ := newNotifyHarness(t, func(c *config.Config) { c.Dev = true })
	if w := h.do("POST", "/v1/webhooks", `{"url":"http://127.0.0.1:9000/hooks"}`); w.Code != http.StatusCreated {
		t.Fatalf("http to loopback in development mode: %d %s", w.Code, w.Body)
	}
	if w := h.do("POST", "/v1/webhooks", `{"url":"http://bank.example/hooks"}`); w.Code != http.StatusBadRequest {
		t.Fatalf("http elsewhere in development mode: %d %s", w.Code, w.Body)
	}
	if n := len(orgWebhooks(t, st, "BankMSP")); n != 1 {
		t.Fatalf("%d webhooks", n)
	}
}

func TestWebhookLimitAndIdempotency(t *testing.T) {
	h, st, _ := newNotifyHarness(t)
	first := h.do("POST", "/v1/webhooks", `{"url":"https://a.example/"}`, "Idempotency-Key", "hook-1")
	again := h.do("POST", "/v1/webhooks", `{"url":"https://a.example/"}`, "Idempotency-Key", "hook-1")
	if first.Code != 201 || again.Code != 201 || first.Body.String() != again.Body.String() {
		t.Fatalf("idempotent create: %d %s / %d %s", first.Code, first.Body, again.Code, again.Body)
	}
	for i := range 2 {
		if w := h.do("POST", "/v1/webhooks", `{"url":"https://a.example/"}`); w.Code != 201 {
			t.Fatalf("create %d: %d %s", i, w.Code, w.Body)
		}
	}
	w := h.do("POST", "/v1/webhooks", `{"url":"https://a.example/"}`)
	if w.Code != http.StatusConflict || errCode(t, w) != CodeWebhookLimit {
		t.Fatalf("over the limit: %d %s", w.Code, w.Body)
	}
	if n := len(orgWebhooks(t, st, "BankMSP")); n != 3 {
		t.Fatalf("%d webhooks, want 3", n)
	}
}

func TestNotifyRoutesNeedConfigurationAndRole(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{"/v1/webhooks", "/v1/events"} {
		if w := h.do("GET", path, ""); w.Code != http.StatusServiceUnavailable || errCode(t, w) != codeNotifyUnavailable {
			t.Fatalf("%s without configuration: %d %s", path, w.Code, w.Body)
		}
	}
	if _, err := NewNotifyAPI(NotifyConfig{}); err == nil {
		t.Fatal("NewNotifyAPI without a store succeeded")
	}
	n, _ := NewNotifyAPI(NotifyConfig{Webhooks: webhookStore(t)})
	h.srv.Notify = n
	if w := h.do("GET", "/v1/events", ""); w.Code != http.StatusServiceUnavailable || errCode(t, w) != codeEventsNotServed {
		t.Fatalf("events without a broker: %d %s", w.Code, w.Body)
	}
	p := newHarness(t, func(c *config.Config) { c.Roles = []config.Role{config.RoleProvider} })
	if w := p.do("GET", "/v1/webhooks", ""); w.Code != http.StatusNotFound {
		t.Fatalf("webhooks on a provider-only gateway: %d", w.Code)
	}
}
