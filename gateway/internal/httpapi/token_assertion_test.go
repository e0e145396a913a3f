package httpapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/chaincode/sig"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/store"
)

// keyClients is the store as the token endpoint sees it, with client keys.
type keyClients struct{ storeClients }

func (k keyClients) ClientPublicKey(ctx context.Context, id string) (APIClient, *ecdsa.PublicKey, error) {
	c, err := k.st.ClientKey(ctx, id)
	if errors.Is(err, store.ErrInvalidCredentials) {
		return APIClient{}, nil, ErrInvalidClient
	}
	if err != nil {
		return APIClient{}, nil, err
	}
	pub, err := sig.ParseJWK([]byte(c.PublicJWK))
	return APIClient{ID: c.ID, MSPID: c.OrgMSP, Scopes: c.Scopes}, pub, err
}

func (k keyClients) UseAssertionID(ctx context.Context, clientID, jti string, until, now time.Time) error {
	if err := k.st.UseAssertionID(ctx, clientID, jti, until, now); errors.Is(err, store.ErrAssertionReplayed) {
		return ErrAssertionReplayed
	} else {
		return err
	}
}

const publicURL = "https://bank.example"

// signAssertion makes a client assertion with key.
func signAssertion(t *testing.T, key *ecdsa.PrivateKey, c jwt.RegisteredClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodES256, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tokenByAssertion posts a client assertion to a token endpoint as a form.
func tokenByAssertion(h *harness, path, assertion string, extra ...string) *httptest.ResponseRecorder {
	f := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {auth.ClientAssertionType},
		"client_assertion": {assertion}}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	r := httptest.NewRequest("POST", path, strings.NewReader(f.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.srv.ServeHTTP(w, r)
	return w
}

func TestPrivateKeyJWT(t *testing.T) {
	h, cc := newAdminHarness(t, func(c *config.Config) { c.PublicURL = publicURL })
	h.srv.Clients = keyClients{storeClients{cc.Store}}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	// The client registers its public key instead of a secret.
	w := h.do("POST", "/admin/v1/clients", `{"org_msp":"BankMSP","scopes":["institution"],"jwk":`+string(sig.CanonicalJWK(&key.PublicKey))+`}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("create key client: %d %s", w.Code, w.Body)
	}
	created := decodeBody[createdClient](t, w)
	if created.ClientSecret != "" || created.TokenEndpointAuthMethod != "private_key_jwt" {
		t.Fatalf("created %+v", created)
	}
	id := created.ClientID
	w = h.do("POST", "/admin/v1/clients", `{"org_msp":"BankMSP","scopes":["institution"],"jwk":{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}}`)
	if w.Code != http.StatusUnprocessableEntity || errCode(t, w) != string(model.CodeInvalidKey) {
		t.Fatalf("bad key: %d %s", w.Code, w.Body)
	}

	jti := 0
	claims := func(edit func(*jwt.RegisteredClaims)) jwt.RegisteredClaims {
		jti++
		c := jwt.RegisteredClaims{Issuer: id, Subject: id, Audience: jwt.ClaimStrings{publicURL + "/v1/oauth/token"},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(2 * time.Minute)), ID: "jti-" + string(rune('a'+jti))}
		if edit != nil {
			edit(&c)
		}
		return c
	}

	// Accepted: a token for the client, with its scopes.
	good := signAssertion(t, key, claims(nil))
	w = tokenByAssertion(h, "/v1/oauth/token", good)
	if w.Code != 200 {
		t.Fatalf("assertion: %d %s", w.Code, w.Body)
	}
	p, err := h.tokens.Verify(decodeBody[tokenResponse](t, w).AccessToken, auth.KindInstitution)
	if err != nil || p.Subject != id || p.MSPID != "BankMSP" || !p.HasScope("institution") {
		t.Fatalf("token %+v, %v", p, err)
	}
	// On the admin token endpoint, with that endpoint's URL as aud.
	w = tokenByAssertion(h, "/admin/v1/oauth/token", signAssertion(t, key, claims(func(c *jwt.RegisteredClaims) {
		c.Audience = jwt.ClaimStrings{publicURL + "/admin/v1/oauth/token"}
	})))
	if w.Code != 200 {
		t.Fatalf("admin endpoint: %d %s", w.Code, w.Body)
	}

	refused := []struct {
		name      string
		assertion string
		extra     []string
	}{
		{"replayed jti", good, nil},
		{"wrong key", signAssertion(t, other, claims(nil)), nil},
		{"wrong aud", signAssertion(t, key, claims(func(c *jwt.RegisteredClaims) {
			c.Audience = jwt.ClaimStrings{"https://insurer.example/v1/oauth/token"}
		})), nil},
		{"admin aud at the institution endpoint", signAssertion(t, key, claims(func(c *jwt.RegisteredClaims) {
			c.Audience = jwt.ClaimStrings{publicURL + "/admin/v1/oauth/token"}
		})), nil},
		{"expired", signAssertion(t, key, claims(func(c *jwt.RegisteredClaims) {
			c.IssuedAt, c.ExpiresAt = jwt.NewNumericDate(now.Add(-10*time.Minute)), jwt.NewNumericDate(now.Add(-5*time.Minute))
		})), nil},
		{"expires too far ahead", signAssertion(t, key, claims(func(c *jwt.RegisteredClaims) {
			c.ExpiresAt = jwt.NewNumericDate(now.Add(time.Hour))
		})), nil},
		{"no exp", signAssertion(t, key, claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil })), nil},
		{"no jti", signAssertion(t, key, claims(func(c *jwt.RegisteredClaims) { c.ID = "" })), nil},
		{"sub is not iss", signAssertion(t, key, claims(func(c *jwt.RegisteredClaims) { c.Subject = "bank-loans" })), nil},
		{"client_id is another client", signAssertion(t, key, claims(nil)), []string{"client_id", "bank-loans"}},
		{"a secret client", signAssertion(t, key, claims(func(c *jwt.RegisteredClaims) { c.Issuer, c.Subject = "bank-loans", "bank-loans" })), nil},
		{"HS256", func() string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(nil)).SignedString([]byte("secret"))
			return s
		}(), nil},
		{"garbage", "not.a.jwt", nil},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			w := tokenByAssertion(h, "/v1/oauth/token", tc.assertion, tc.extra...)
			if w.Code != http.StatusUnauthorized || errCode(t, w) != CodeInvalidClient {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
		})
	}

	// Malformed requests.
	if w := tokenByAssertion(h, "/v1/oauth/token", good, "client_assertion_type", "urn:other"); w.Code != 400 || errCode(t, w) != CodeInvalidArgument {
		t.Fatalf("other assertion type: %d %s", w.Code, w.Body)
	}
	if w := tokenByAssertion(h, "/v1/oauth/token", good, "client_secret", "s3cret-s3cret-s3cret"); w.Code != 400 {
		t.Fatalf("secret and assertion: %d %s", w.Code, w.Body)
	}
	// A key client has no secret to log in with.
	r := httptest.NewRequest("POST", "/v1/oauth/token", strings.NewReader(`{"grant_type":"client_credentials","client_id":"`+id+`","client_secret":"0123456789abcdef0123"}`))
	r.Header.Set("Content-Type", "application/json")
	w = httptest.NewRecorder()
	h.srv.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("key client with a secret: %d %s", w.Code, w.Body)
	}
}

// TestPrivateKeyJWTNeedsPublicURL: without a public URL the gateway
// cannot check aud, and refuses every assertion.
func TestPrivateKeyJWTNeedsPublicURL(t *testing.T) {
	h, cc := newAdminHarness(t)
	h.srv.Clients = keyClients{storeClients{cc.Store}}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c, err := cc.Store.CreateKeyClient(context.Background(), store.Client{ID: "keyed", OrgMSP: "BankMSP"}, string(sig.CanonicalJWK(&key.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	a := signAssertion(t, key, jwt.RegisteredClaims{Issuer: c.ID, Subject: c.ID, Audience: jwt.ClaimStrings{"/v1/oauth/token"},
		ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)), ID: "j1"})
	if w := tokenByAssertion(h, "/v1/oauth/token", a); w.Code != http.StatusUnauthorized {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}
