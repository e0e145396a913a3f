package httpapi

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
)

// TestCitizenRefusals: bad input on every citizen endpoint is a 4xx with a
// stable code, and nothing reaches the ledger or the store.
func TestCitizenRefusals(t *testing.T) {
	h0 := newCitizenHarness(t)
	ref := h0.refOf(applicant)
	dev := newDeviceKey(t)
	a := &model.Authorization{ID: "auth-loan-1", CitizenRef: ref, Requester: "BankMSP", Purpose: "CREDIT_ASSESSMENT",
		Categories: []string{"tax"}, ValidUntil: "2026-11-30T00:00:00.000Z", MaxUses: 1, Status: model.AuthPending}
	terms := model.Terms{Licence: "B0001H237010001", SchemaVersions: []int{1}}
	good := model.NewDecisionPayload(citizenTestChannel, a, terms, model.ActionGrant, now).Bytes()
	b64 := base64.StdEncoding.EncodeToString
	sig64 := b64(dev.signRaw(t, good))
	decision := func(payload []byte, sig, kid string) string {
		return `{"payload":"` + b64(payload) + `","signature":"` + sig + `","key_id":"` + kid + `"}`
	}
	forOther := *a
	forOther.ID = "auth-else"
	otherPayload := model.NewDecisionPayload(citizenTestChannel, &forOther, terms, model.ActionGrant, now).Bytes()
	indented := []byte(strings.Replace(string(good), `,"seq"`, `, "seq"`, 1))
	privJWK := strings.Replace(dev.jwk, `"ext":true`, `"d":"`+strings.Repeat("A", 43)+`"`, 1)

	const (
		session  = "/citizen/v1/session"
		start    = "/citizen/v1/oidc/start"
		devices  = "/citizen/v1/devices"
		keys     = "/citizen/v1/keys"
		payload  = "/citizen/v1/authorizations/auth-loan-1/payload"
		decide   = "/citizen/v1/authorizations/auth-loan-1/decision"
		dontSend = "\x00" // no body and no content type
	)
	tests := []struct {
		name, method, path, body string
		header                   []string
		status                   int
		code                     string
	}{
		{"session malformed", "POST", session, `{"ticket":`, nil, 400, CodeMalformedJSON},
		{"session unknown field", "POST", session, `{"ticket":"x","citizen_ref":"x"}`, nil, 400, CodeMalformedJSON},
		{"session bad ticket", "POST", session, `{"ticket":"../x"}`, nil, 400, CodeInvalidArgument},
		{"session unknown ticket", "POST", session, `{"ticket":"` + strings.Repeat("A", 43) + `"}`, nil, 401, CodeInvalidTicket},
		{"session empty", "POST", session, dontSend, nil, 415, CodeUnsupportedMedia},
		{"start outside the app", "GET", start + "?return_to=https://evil.example/app/", "", nil, 400, CodeInvalidArgument},
		{"start dot-dot", "GET", start + "?return_to=/app/../admin", "", nil, 400, CodeInvalidArgument},
		{"start unknown param", "GET", start + "?citizen=x", "", nil, 400, CodeInvalidArgument},
		{"start unknown device", "GET", start + "?device_id=" + strings.Repeat("A", 22), "", nil, 409, CodeDeviceNotPending},

		{"device malformed", "POST", devices, `{"kind":`, nil, 400, CodeMalformedJSON},
		{"device bad kind", "POST", devices, `{"kind":"sms"}`, nil, 400, CodeInvalidArgument},
		{"device unknown field", "POST", devices, `{"kind":"webcrypto","jwk":` + dev.jwk + `,"citizen_ref":"x"}`, nil, 400, CodeMalformedJSON},
		{"device key as string", "POST", devices, `{"kind":"webcrypto","jwk":"` + strings.ReplaceAll(dev.jwk, `"`, `\"`) + `"}`, nil, 400, CodeMalformedJSON},
		{"device key missing", "POST", devices, `{"kind":"webcrypto"}`, nil, 400, CodeMalformedJSON},
		{"device passkey with jwk", "POST", devices, `{"kind":"webauthn","jwk":` + dev.jwk + `}`, nil, 400, CodeInvalidArgument},
		{"device key private", "POST", devices, `{"kind":"webcrypto","jwk":` + privJWK + `}`, nil, 422, CodePrivateKeyRefused},
		{"device key wrong curve", "POST", devices, `{"kind":"webcrypto","jwk":` + strings.Replace(dev.jwk, "P-256", "P-384", 1) + `}`, nil, 422, string(model.CodeInvalidKey)},
		{"device key rsa", "POST", devices, `{"kind":"webcrypto","jwk":{"kty":"RSA","n":"AQAB","e":"AQAB"}}`, nil, 422, string(model.CodeInvalidKey)},
		{"device unknown", "GET", devices + "/" + strings.Repeat("A", 22), "", []string{"X-Device-Secret", "x"}, 404, CodeDeviceNotFound},
		{"device credential unknown", "POST", devices + "/" + strings.Repeat("A", 22) + "/credential", `{"credential":{}}`, nil, 404, CodeDeviceNotFound},
		{"approval unknown device", "GET", devices + "/" + strings.Repeat("A", 22) + "/approval", "", nil, 404, CodeDeviceNotFound},

		{"revoke bad key id", "DELETE", keys + "/not-a-thumbprint", "", nil, 404, string(model.CodeKeyNotFound)},

		{"list bad status", "GET", "/citizen/v1/authorizations?status=granted", "", nil, 400, CodeInvalidArgument},
		{"list unknown param", "GET", "/citizen/v1/authorizations?citizen_ref=" + ref, "", nil, 400, CodeInvalidArgument},
		{"list repeated param", "GET", "/citizen/v1/authorizations?status=PENDING&status=GRANTED", "", nil, 400, CodeInvalidArgument},
		{"list bad limit", "GET", "/citizen/v1/authorizations?limit=0", "", nil, 400, CodeInvalidArgument},

		{"payload malformed", "POST", payload, `{"action":`, nil, 400, CodeMalformedJSON},
		{"payload wrong type", "POST", payload, `{"action":1}`, nil, 400, CodeMalformedJSON},
		{"payload unknown field", "POST", payload, `{"action":"GRANT","seq":3}`, nil, 400, CodeMalformedJSON},
		{"payload bad action", "POST", payload, `{"action":"grant"}`, nil, 400, CodeInvalidArgument},
		{"payload impossible action", "POST", payload, `{"action":"PAUSE"}`, nil, 409, string(model.CodeInvalidTransition)},
		{"payload another's", "POST", "/citizen/v1/authorizations/auth-else/payload", `{"action":"GRANT"}`, nil, 404, string(model.CodeAuthNotFound)},
		{"payload unknown", "POST", "/citizen/v1/authorizations/auth-none/payload", `{"action":"GRANT"}`, nil, 404, string(model.CodeAuthNotFound)},
		{"payload bad id", "POST", "/citizen/v1/authorizations/x/payload", `{"action":"GRANT"}`, nil, 404, string(model.CodeAuthNotFound)},

		{"decision malformed", "POST", decide, `{"payload":"`, nil, 400, CodeMalformedJSON},
		{"decision wrong type", "POST", decide, `{"payload":["x"],"signature":"x","key_id":"x"}`, nil, 400, CodeMalformedJSON},
		{"decision unknown field", "POST", decide, `{"payload":"eA","signature":"x","key_id":"x","action":"GRANT"}`, nil, 400, CodeMalformedJSON},
		{"decision payload not base64", "POST", decide, `{"payload":"not base64!","signature":"` + sig64 + `","key_id":"` + dev.kid + `"}`, nil, 400, CodeInvalidArgument},
		{"decision signature not base64", "POST", decide, decision(good, "***", dev.kid), nil, 400, CodeInvalidArgument},
		{"decision bad key id", "POST", decide, decision(good, sig64, "kid-1"), nil, 400, CodeInvalidArgument},
		{"decision re-encoded payload", "POST", decide, decision(indented, sig64, dev.kid), nil, 422, string(model.CodePayloadInvalid)},
		{"decision not a payload", "POST", decide, decision([]byte(`{"type":"x"}`), sig64, dev.kid), nil, 422, string(model.CodePayloadInvalid)},
		{"decision payload for another id", "POST", decide, decision(otherPayload, sig64, dev.kid), nil, 409, string(model.CodePayloadMismatch)},
		{"decision another's", "POST", "/citizen/v1/authorizations/auth-else/decision", decision(otherPayload, sig64, dev.kid), nil, 404, string(model.CodeAuthNotFound)},
		{"decision oversized", "POST", decide, decision([]byte(strings.Repeat("x", 4000)), sig64, dev.kid), nil, 413, CodeBodyTooLarge},
		{"decision bad idempotency key", "POST", decide, decision(good, sig64, dev.kid), []string{"Idempotency-Key", "k\x01"}, 400, CodeInvalidIdempotency},

		{"accesses status", "GET", "/citizen/v1/accesses?status=GRANTED", "", nil, 400, CodeInvalidArgument},
		{"accesses bad cursor", "GET", "/citizen/v1/accesses?cursor=" + strings.Repeat("a", 600), "", nil, 400, CodeInvalidArgument},
		{"events query", "GET", "/citizen/v1/events?token=x", "", nil, 400, CodeInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newCitizenHarness(t)
			h.seedAuthorization("auth-loan-1", applicant)
			h.seedAuthorization("auth-else", withCheck("11010519491231003"))
			tok := h.citizenToken(ref)
			body, hdr := tt.body, tt.header
			if body == dontSend {
				body = ""
			}
			w := h.as(tok, tt.method, tt.path, body, hdr...)
			if w.Code != tt.status || errCode(t, w) != tt.code {
				t.Fatalf("got %d %s, want %d %s", w.Code, w.Body, tt.status, tt.code)
			}
			if got := h.submitted(); len(got) != 0 {
				t.Fatalf("submitted %v", got)
			}
			for _, s := range []string{applicant, applicant[:17]} {
				if strings.Contains(w.Body.String(), s) {
					t.Errorf("the response repeats personal data: %s", w.Body)
				}
			}
		})
	}
}

// TestCitizenTokens: every citizen route needs a valid citizen token; an
// institution token, an expired, foreign or unsigned one, or none, is a
// 401 that reveals nothing.
func TestCitizenTokens(t *testing.T) {
	h := newCitizenHarness(t)
	ref := h.refOf(applicant)
	h.seedAuthorization("auth-loan-1", applicant)
	forge := func(m jwt.SigningMethod, key any, mod func(jwt.MapClaims)) string {
		c := jwt.MapClaims{"iss": "qc-test", "aud": "qc-api", "sub": ref, "typ": "citizen",
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
	other := newCitizenHarness(t)
	for name, tok := range map[string]string{
		"missing":       "",
		"institution":   h.token,
		"expired":       forge(jwt.SigningMethodES256, h.key.PrivateKey, func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() }),
		"alg none":      forge(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil),
		"other gateway": other.citizenToken(ref),
		"not jwt":       "abc",
	} {
		for _, rt := range citizenRoutes {
			if rt.auth == "" {
				continue
			}
			path := strings.NewReplacer("{id}", "auth-loan-1", "{key_id}", strings.Repeat("k", 43)).Replace(rt.pattern)
			t.Run(name+" "+rt.method+" "+path, func(t *testing.T) {
				body := ""
				if rt.method == "POST" {
					body = `{}`
				}
				w := h.as(tok, rt.method, path, body)
				code := errCode(t, w)
				if w.Code != http.StatusUnauthorized || (code != auth.CodeInvalidToken && code != auth.CodeMissingToken) {
					t.Fatalf("got %d %s", w.Code, w.Body)
				}
				if strings.Contains(strings.ToLower(w.Body.String()), "signature") || strings.Contains(w.Body.String(), "expired") {
					t.Errorf("library error text leaked: %s", w.Body)
				}
			})
		}
	}
	if got := h.submitted(); len(got) != 0 {
		t.Fatalf("submitted %v", got)
	}
	// A citizen token on an institution route is refused too (the other
	// way round is in TestTokensOnInstitutionRoutes).
	both := newCitizenHarness(t, func(c *config.Config, _ *CitizenConfig) {
		c.Roles = []config.Role{config.RoleRequester, config.RoleProvider}
	})
	if w := both.as(both.citizenToken(ref), "GET", "/v1/authorizations", ""); w.Code != http.StatusUnauthorized {
		t.Fatalf("citizen token on an institution route: %d %s", w.Code, w.Body)
	}
}

// TestCitizenRoutesFollowRoles: a requester-only gateway has no citizen
// API; a provider gateway without one configured says so.
func TestCitizenRoutesFollowRoles(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Roles = []config.Role{config.RoleRequester} })
	if w := h.do("POST", "/citizen/v1/session", `{"ticket":"x"}`); w.Code != http.StatusNotFound {
		t.Fatalf("citizen route on a requester gateway: %d", w.Code)
	}
	h = newHarness(t, func(c *config.Config) { c.Roles = []config.Role{config.RoleProvider} })
	if w := h.do("POST", "/citizen/v1/session", `{"ticket":"x"}`, "Authorization", ""); w.Code != http.StatusServiceUnavailable ||
		errCode(t, w) != CodeCitizenUnavailable {
		t.Fatalf("provider gateway without the citizen API: %d %s", w.Code, w.Body)
	}
	if _, err := NewCitizenAPI(CitizenConfig{}); err == nil {
		t.Error("NewCitizenAPI accepted an empty configuration")
	}
}
