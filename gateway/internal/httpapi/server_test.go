package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/ledger/ledgertest"
)

const time1m = time.Minute

func jsonMarshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// forgeToken signs institution claims (modified by mod) with any method.
func forgeToken(t *testing.T, h *harness, m jwt.SigningMethod, key any, mod func(jwt.MapClaims)) string {
	t.Helper()
	c := jwt.MapClaims{"iss": "qc-test", "aud": "qc-api", "sub": "bank-loans", "typ": "institution", "msp": "BankMSP",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Minute).Unix()}
	if mod != nil {
		mod(c)
	}
	tok := jwt.NewWithClaims(m, c)
	tok.Header["kid"] = h.key.ID
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIdempotency(t *testing.T) {
	h := newHarness(t)
	first := h.do("POST", "/v1/authorizations", validBody(), "Idempotency-Key", "loan-1")
	if first.Code != 201 {
		t.Fatalf("first: %d %s", first.Code, first.Body)
	}
	again := h.do("POST", "/v1/authorizations", validBody(), "Idempotency-Key", "loan-1")
	if again.Code != 201 || again.Body.String() != first.Body.String() || again.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s", again.Code, again.Body)
	}
	reused := h.do("POST", "/v1/authorizations", validBody(func(m map[string]any) { m["max_uses"] = 3 }), "Idempotency-Key", "loan-1")
	if reused.Code != 422 || errCode(t, reused) != CodeIdempotencyReused {
		t.Fatalf("reuse: %d %s", reused.Code, reused.Body)
	}
	if got := h.submitted(); len(got) != 1 {
		t.Fatalf("submitted %v, want one request", got)
	}

	// A failure without effect (5xx) is not stored: the retry runs again,
	// names the same id, and finds the authorisation committed before.
	h2 := newHarness(t)
	failSubmits(h2.net, ledgertest.ErrUnavailable)
	if w := h2.do("POST", "/v1/authorizations", validBody(), "Idempotency-Key", "k2"); w.Code != 503 {
		t.Fatalf("unavailable: %d %s", w.Code, w.Body)
	}
	failSubmits(h2.net, nil)
	w := h2.do("POST", "/v1/authorizations", validBody(), "Idempotency-Key", "k2")
	if w.Code != 201 {
		t.Fatalf("retry: %d %s", w.Code, w.Body)
	}
	h2.net.ClearCalls()
	h2.srv.Idempotency = &memIdempotency{} // as if the response had been lost
	w2 := h2.do("POST", "/v1/authorizations", validBody(), "Idempotency-Key", "k2")
	if w2.Code != 201 || decodeBody[map[string]any](t, w2)["id"] != decodeBody[map[string]any](t, w)["id"] {
		t.Fatalf("retry after a lost response: %d %s", w2.Code, w2.Body)
	}
}

func TestTokenEndpoint(t *testing.T) {
	h := newHarness(t)
	post := func(ct, body string, hdr ...string) *httptest.ResponseRecorder {
		return h.do("POST", "/v1/oauth/token", body, append([]string{"Content-Type", ct, "Authorization", ""}, hdr...)...)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"bank-loans"}, "client_secret": {"s3cret-s3cret-s3cret"}}
	for name, w := range map[string]*httptest.ResponseRecorder{
		"form": post("application/x-www-form-urlencoded", form.Encode()),
		"json": post("application/json", `{"grant_type":"client_credentials","client_id":"bank-loans","client_secret":"s3cret-s3cret-s3cret"}`),
	} {
		tr := decodeBody[tokenResponse](t, w)
		if w.Code != 200 || tr.TokenType != "Bearer" || tr.ExpiresIn != 300 {
			t.Fatalf("%s: %d %s", name, w.Code, w.Body)
		}
		p, err := h.tokens.Verify(tr.AccessToken, auth.KindInstitution)
		if err != nil || p.MSPID != "BankMSP" || p.Subject != "bank-loans" {
			t.Fatalf("%s: token %v %+v", name, err, p)
		}
	}
	for _, tt := range []struct {
		name, ct, body string
		status         int
		code           string
	}{
		{"wrong secret", "application/json", `{"grant_type":"client_credentials","client_id":"bank-loans","client_secret":"nope"}`, 401, CodeInvalidClient},
		{"other org", "application/json", `{"grant_type":"client_credentials","client_id":"stray","client_secret":"s3cret-s3cret-s3cret"}`, 401, CodeInvalidClient},
		{"missing secret", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=bank-loans", 401, CodeInvalidClient},
		{"password grant", "application/x-www-form-urlencoded", "grant_type=password&client_id=a&client_secret=b", 400, CodeUnsupportedGrant},
		{"repeated param", "application/x-www-form-urlencoded", form.Encode() + "&client_id=x", 400, CodeInvalidArgument},
		{"unknown json field", "application/json", `{"grant_type":"client_credentials","scope":"x"}`, 400, CodeMalformedJSON},
		{"wrong json type", "application/json", `{"grant_type":1}`, 400, CodeMalformedJSON},
		{"oversized", "application/x-www-form-urlencoded", "client_secret=" + strings.Repeat("a", 5000), 413, CodeBodyTooLarge},
		{"text", "text/plain", "hello", 415, CodeUnsupportedMedia},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := post(tt.ct, tt.body)
			if w.Code != tt.status || errCode(t, w) != tt.code {
				t.Fatalf("got %d %s", w.Code, w.Body)
			}
		})
	}
}

func TestOpsEndpoints(t *testing.T) {
	var logs bytes.Buffer
	h := newHarness(t)
	h.srv.log = slog.New(slog.NewJSONHandler(&logs, nil))
	if w := h.do("GET", "/healthz", ""); w.Code != 200 {
		t.Fatalf("healthz %d", w.Code)
	}
	if w := h.do("GET", "/readyz", ""); w.Code != 200 {
		t.Fatalf("readyz %d", w.Code)
	}
	h.net.SetFault(func(c ledgertest.Call) error {
		if c.Name == "registry:GetConfig" { // the readiness check's call
			return ledgertest.ErrUnavailable
		}
		return nil
	})
	if w := h.do("GET", "/readyz", ""); w.Code != 503 || errCode(t, w) != "LEDGER_UNAVAILABLE" {
		t.Fatalf("readyz down %d %s", w.Code, w.Body)
	}
	h.do("POST", "/v1/authorizations", validBody(), "X-Request-Id", "req-42")
	w := h.do("GET", "/metrics", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `quanchain_gateway_http_requests_total{method="POST",route="/v1/authorizations",status="201"} 1`) {
		t.Fatalf("metrics: %d\n%s", w.Code, w.Body)
	}
	if w := h.do("GET", "/nope", ""); w.Code != 404 || errCode(t, w) != CodeNotFound {
		t.Fatalf("404: %d %s", w.Code, w.Body)
	}
	if w := h.do("DELETE", "/v1/authorizations", ""); w.Code != 405 || errCode(t, w) != CodeMethodNotAllowed {
		t.Fatalf("405: %d %s", w.Code, w.Body)
	}
	log := logs.String()
	if !strings.Contains(log, `"request_id":"req-42"`) || !strings.Contains(log, `"client":"bank-loans"`) {
		t.Errorf("access log lacks request id or client:\n%s", log)
	}
	for _, secret := range []string{applicant, "LOAN-2026-0001", h.token} {
		if strings.Contains(log, secret) {
			t.Errorf("log contains personal data or a token: %q", secret)
		}
	}
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.RateLimit, c.RateBurst = 0.001, 2 })
	for i := range 2 {
		if w := h.do("GET", "/v1/authorizations", ""); w.Code != 200 {
			t.Fatalf("request %d: %d", i, w.Code)
		}
	}
	w := h.do("GET", "/v1/authorizations", "")
	if w.Code != 429 || errCode(t, w) != CodeRateLimited || w.Header().Get("Retry-After") == "" {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
	// Another client has its own bucket.
	other, _, _ := h.tokens.Issue(auth.Principal{Kind: auth.KindInstitution, Subject: "bank-cards", MSPID: "BankMSP"})
	if w := h.do("GET", "/v1/authorizations", "", "Authorization", "Bearer "+other); w.Code != 200 {
		t.Fatalf("other client: %d", w.Code)
	}
}

func TestPanicIsA500WithoutDetail(t *testing.T) {
	h := newHarness(t)
	h.srv.CitizenRefs = panicky{}
	w := h.do("POST", "/v1/authorizations", validBody())
	if w.Code != 500 || errCode(t, w) != CodeInternal || strings.Contains(w.Body.String(), "kaboom") {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
}

type panicky struct{}

func (panicky) PairwiseRef(context.Context, PseudonymQuery) (string, error) {
	panic("kaboom")
}

// TestOpenAPIMatchesRoutes: every route is documented, every documented
// path and method is routed.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	routed := map[string]bool{}
	for _, rt := range routes {
		routed[strings.ToLower(rt.method)+" "+rt.pattern] = true
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented[method+" "+path] = true
		}
	}
	var missing, extra []string
	for k := range routed {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !routed[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(extra) > 0 {
		t.Fatalf("routes not documented: %v; documented but not routed: %v", missing, extra)
	}
	h := newHarness(t)
	if w := h.do("GET", "/openapi.json", ""); w.Code != 200 || !bytes.Equal(w.Body.Bytes(), openAPIDocument) {
		t.Fatalf("served document differs: %d", w.Code)
	}
}

func TestRoutesFollowRoles(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Roles = []config.Role{config.RoleProvider} })
	if w := h.do("GET", "/v1/authorizations", ""); w.Code != http.StatusNotFound {
		t.Fatalf("institution route on a provider-only gateway: %d", w.Code)
	}
}
