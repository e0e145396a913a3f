package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/store"
)

// storeClients authenticates API clients against the store, as the
// gateway's main does.
type storeClients struct{ st *store.Store }

func (a storeClients) AuthenticateClient(ctx context.Context, id, secret string) (APIClient, error) {
	c, err := a.st.VerifyClientSecret(ctx, id, secret)
	if errors.Is(err, store.ErrInvalidCredentials) {
		return APIClient{}, ErrInvalidClient
	}
	if err != nil {
		return APIClient{}, err
	}
	return APIClient{ID: c.ID, MSPID: c.OrgMSP, Scopes: c.Scopes}, nil
}

// countingClients counts the clients created.
type countingClients struct {
	*store.Store
	mu      sync.Mutex
	created int
}

func (c *countingClients) CreateClient(ctx context.Context, cl store.Client, secret string) (store.Client, error) {
	c.mu.Lock()
	c.created++
	c.mu.Unlock()
	return c.Store.CreateClient(ctx, cl, secret)
}

// newAdminHarness is the harness with the admin API over a real store, as
// BankMSP's gateway; its token is an admin client's.
func newAdminHarness(t *testing.T, mod ...func(*config.Config)) (*harness, *countingClients) {
	t.Helper()
	return newAdminHarnessAs(t, "BankMSP", mod...)
}

// newAdminHarnessAs is newAdminHarness as the gateway of msp.
func newAdminHarnessAs(t *testing.T, msp string, mod ...func(*config.Config)) (*harness, *countingClients) {
	t.Helper()
	h := newHarnessAs(t, msp, mod...)
	st := webhookStore(t)
	cc := &countingClients{Store: st}
	a, err := NewAdminAPI(AdminConfig{Clients: cc})
	if err != nil {
		t.Fatal(err)
	}
	h.srv.Admin = a
	h.srv.Clients = storeClients{st}
	h.token = adminToken(t, h, auth.ScopeAdmin)
	return h, cc
}

func adminToken(t *testing.T, h *harness, scopes ...string) string {
	t.Helper()
	tok, _, err := h.tokens.Issue(auth.Principal{Kind: auth.KindInstitution, Subject: "ops-admin", MSPID: h.srv.MSPID, Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestAdminCreateClient(t *testing.T) {
	h, cc := newAdminHarness(t)
	w := h.do("POST", "/admin/v1/clients", `{"org_msp":"BankMSP","scopes":["admin"],"redirect_uris":["https://app.bank.example/back"]}`)
	if w.Code != http.StatusCreated || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	c := decodeBody[createdClient](t, w)
	if !strings.HasPrefix(c.ClientID, "client-") || len(c.ClientSecret) < store.MinSecretLength || c.OrgMSP != "BankMSP" ||
		len(c.Scopes) != 1 || c.Scopes[0] != auth.ScopeAdmin || len(c.RedirectURIs) != 1 || c.RedirectURIs[0] != "https://app.bank.example/back" {
		t.Fatalf("client %+v", c)
	}
	stored, err := cc.VerifyClientSecret(context.Background(), c.ClientID, c.ClientSecret)
	if err != nil || stored.OrgMSP != "BankMSP" || len(stored.Scopes) != 1 || len(stored.RedirectURIs) != 1 || stored.RedirectURIs[0] != "https://app.bank.example/back" {
		t.Fatalf("stored %+v, %v", stored, err)
	}

	// The new client gets a token carrying its scope from the operator's
	// token endpoint, and that token opens the admin API.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret}}
	w = h.do("POST", "/admin/v1/oauth/token", form.Encode(), "Content-Type", "application/x-www-form-urlencoded", "Authorization", "")
	if w.Code != 200 {
		t.Fatalf("token: %d %s", w.Code, w.Body)
	}
	tr := decodeBody[tokenResponse](t, w)
	p, err := h.tokens.Verify(tr.AccessToken, auth.KindInstitution)
	if err != nil || !p.HasScope(auth.ScopeAdmin) || p.Subject != c.ClientID {
		t.Fatalf("token principal %+v, %v", p, err)
	}
	w = h.do("POST", "/admin/v1/clients", `{"org_msp":"BankMSP"}`, "Authorization", "Bearer "+tr.AccessToken)
	if w.Code != http.StatusCreated {
		t.Fatalf("create with the new admin client: %d %s", w.Code, w.Body)
	}
	plain := decodeBody[createdClient](t, w)
	if len(plain.Scopes) != 0 || plain.ClientSecret == c.ClientSecret || plain.ClientID == c.ClientID {
		t.Fatalf("second client %+v", plain)
	}

	// A client without the admin scope gets a token, but no admin API.
	form = url.Values{"grant_type": {"client_credentials"}, "client_id": {plain.ClientID}, "client_secret": {plain.ClientSecret}}
	tr = decodeBody[tokenResponse](t, h.do("POST", "/admin/v1/oauth/token", form.Encode(), "Content-Type", "application/x-www-form-urlencoded", "Authorization", ""))
	w = h.do("POST", "/admin/v1/clients", `{"org_msp":"BankMSP"}`, "Authorization", "Bearer "+tr.AccessToken)
	if w.Code != http.StatusForbidden || errCode(t, w) != CodeInsufficientScope {
		t.Fatalf("create without the admin scope: %d %s", w.Code, w.Body)
	}
	if cc.created != 2 {
		t.Fatalf("%d clients created, want 2", cc.created)
	}
}

func TestAdminCreateClientBadInput(t *testing.T) {
	tests := []struct {
		name, body string
		headers    []string
		scopes     []string // of the caller; nil means admin
		status     int
		code       string
	}{
		{"malformed JSON", `{"org_msp":`, nil, nil, 400, CodeMalformedJSON},
		{"unknown field", `{"org_msp":"BankMSP","client_secret":"mine-mine-mine-mine"}`, nil, nil, 400, CodeMalformedJSON},
		{"wrong type", `{"org_msp":"BankMSP","scopes":"admin"}`, nil, nil, 400, CodeMalformedJSON},
		{"missing org", `{}`, nil, nil, 400, CodeInvalidArgument},
		{"malformed org", `{"org_msp":"bank msp"}`, nil, nil, 400, CodeInvalidArgument},
		{"another organisation", `{"org_msp":"InsurerMSP"}`, nil, nil, 422, CodeOrgNotServed},
		{"unknown scope", `{"org_msp":"BankMSP","scopes":["root"]}`, nil, nil, 400, CodeInvalidArgument},
		{"repeated scope", `{"org_msp":"BankMSP","scopes":["admin","admin"]}`, nil, nil, 400, CodeInvalidArgument},
		{"plain http return URL", `{"org_msp":"BankMSP","redirect_uris":["http://app.bank.example/back"]}`, nil, nil, 400, CodeInvalidArgument},
		{"return URL with fragment", `{"org_msp":"BankMSP","redirect_uris":["https://app.bank.example/back#x"]}`, nil, nil, 400, CodeInvalidArgument},
		{"script return URL", `{"org_msp":"BankMSP","redirect_uris":["javascript:alert(1)"]}`, nil, nil, 400, CodeInvalidArgument},
		{"repeated return URL", `{"org_msp":"BankMSP","redirect_uris":["https://a.example/b","https://a.example/b"]}`, nil, nil, 400, CodeInvalidArgument},
		{"oversized", `{"org_msp":"` + strings.Repeat("B", 5000) + `"}`, nil, nil, 413, CodeBodyTooLarge},
		{"not JSON", `org_msp=BankMSP`, []string{"Content-Type", "application/x-www-form-urlencoded"}, nil, 415, CodeUnsupportedMedia},
		{"no token", `{"org_msp":"BankMSP"}`, []string{"Authorization", ""}, nil, 401, auth.CodeMissingToken},
		{"no admin scope", `{"org_msp":"BankMSP"}`, nil, []string{}, 403, CodeInsufficientScope},
		{"other scope only", `{"org_msp":"BankMSP"}`, nil, []string{"reports"}, 403, CodeInsufficientScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, cc := newAdminHarness(t)
			if tt.scopes != nil {
				h.token = adminToken(t, h, tt.scopes...)
			}
			w := h.do("POST", "/admin/v1/clients", tt.body, tt.headers...)
			if w.Code != tt.status || errCode(t, w) != tt.code {
				t.Fatalf("got %d %s, want %d %s", w.Code, w.Body, tt.status, tt.code)
			}
			if cc.created != 0 {
				t.Fatal("a client was created")
			}
		})
	}
}

func TestAdminAPIConfigurationAndRole(t *testing.T) {
	h, _ := newAdminHarness(t)
	h.srv.Admin = nil
	if w := h.do("POST", "/admin/v1/clients", `{"org_msp":"BankMSP"}`); w.Code != 503 || errCode(t, w) != codeAdminUnavailable {
		t.Fatalf("without an admin API: %d %s", w.Code, w.Body)
	}
	// Without the admin scope the caller does not learn even that.
	h.token = adminToken(t, h)
	if w := h.do("POST", "/admin/v1/clients", `{"org_msp":"BankMSP"}`); w.Code != 403 {
		t.Fatalf("without the admin scope: %d %s", w.Code, w.Body)
	}
	h.srv.Clients = nil
	if w := h.do("POST", "/admin/v1/oauth/token", `grant_type=client_credentials`, "Content-Type", "application/x-www-form-urlencoded"); w.Code != 503 {
		t.Fatalf("token without clients: %d %s", w.Code, w.Body)
	}
	if _, err := NewAdminAPI(AdminConfig{}); err == nil {
		t.Fatal("NewAdminAPI without a client store succeeded")
	}
	r := newHarness(t, func(c *config.Config) { c.Roles = []config.Role{config.RoleRequester} })
	if w := r.do("POST", "/admin/v1/clients", `{"org_msp":"BankMSP"}`); w.Code != http.StatusNotFound {
		t.Fatalf("admin API on a requester-only gateway: %d", w.Code)
	}
}
