package httpapi

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testIDPKey is the test identity provider's RSA signing key, made once.
var testIDPKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// testIDP is a small OpenID provider on 127.0.0.1: discovery, JWKS, an
// authorize endpoint that logs in whoever it is told to at once, and a
// token endpoint that checks the PKCE verifier and signs RS256 ID tokens.
//
// With real set it listens on 127.0.0.1; otherwise it is served in
// process through its clients' transport, which works inside a synctest
// bubble too (whose goroutines must not wait on the network).
type testIDP struct {
	t   *testing.T
	url string
	now func() time.Time
	// client is the gateway's way to the provider, browser a browser's
	// (it does not follow redirects).
	client, browser *http.Client
	mu              sync.Mutex
	next            struct{ idNumber, acr, nonce string } // the next login; nonce overrides the request's if set
	// grants are the codes issued and not yet redeemed.
	grants map[string]idpGrant
	// issued are the ID tokens issued, raw.
	issued []string
}

type idpGrant struct {
	nonce, challenge, clientID, idNumber, acr string
}

const testClientID = "operator-gateway"

func newTestIDP(t *testing.T, now func() time.Time, real bool) *testIDP {
	p := &testIDP{t: t, now: now, grants: map[string]idpGrant{}}
	p.next.idNumber, p.next.acr = applicant, "loa3"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": p.url, "authorization_endpoint": p.url + "/authorize",
			"token_endpoint": p.url + "/token", "jwks_uri": p.url + "/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256"}, "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}, "code_challenge_methods_supported": []string{"S256"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		k := testIDPKey().PublicKey
		enc := base64.RawURLEncoding
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "test", "alg": "RS256", "use": "sig",
			"n": enc.EncodeToString(k.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(k.E)).Bytes())}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("code_challenge_method") != "S256" || q.Get("response_type") != "code" || !strings.Contains(q.Get("scope"), "openid") {
			http.Error(w, "bad authorize request", http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		code := randomToken(16)
		nonce := q.Get("nonce")
		if p.next.nonce != "" {
			nonce = p.next.nonce
		}
		p.grants[code] = idpGrant{nonce: nonce, challenge: q.Get("code_challenge"), clientID: q.Get("client_id"),
			idNumber: p.next.idNumber, acr: p.next.acr}
		p.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		p.mu.Lock()
		g, ok := p.grants[r.PostForm.Get("code")]
		delete(p.grants, r.PostForm.Get("code"))
		p.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		id, _, _ := r.BasicAuth()
		if id == "" {
			id = r.PostForm.Get("client_id")
		}
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge || id != g.clientID {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		now := p.now()
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": p.url, "aud": g.clientID, "sub": "subject-1",
			"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "auth_time": now.Unix(), "nonce": g.nonce, "acr": g.acr,
			"id_number": g.idNumber})
		tok.Header["kid"] = "test"
		raw, err := tok.SignedString(testIDPKey())
		if err != nil {
			t.Error(err)
		}
		p.mu.Lock()
		p.issued = append(p.issued, raw)
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at-" + randomToken(8), "token_type": "Bearer", "expires_in": 300, "id_token": raw})
	})
	if real {
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		p.url, p.client = srv.URL, srv.Client()
	} else {
		p.url, p.client = "http://idp.test", &http.Client{Transport: inProcess{mux}}
	}
	p.browser = &http.Client{Transport: p.client.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return p
}

// loginAs sets who the next login is.
func (p *testIDP) loginAs(idNumber, acr, nonce string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next.idNumber, p.next.acr, p.next.nonce = idNumber, acr, nonce
}

// lastIDToken returns the last ID token issued.
func (p *testIDP) lastIDToken() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.issued) == 0 {
		return ""
	}
	return p.issued[len(p.issued)-1]
}

// inProcess is a RoundTripper that serves requests with a handler.
type inProcess struct{ h http.Handler }

func (p inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	p.h.ServeHTTP(w, r)
	return w.Result(), nil
}

// nonceOf reads the nonce of a raw ID token, unverified.
func nonceOf(t *testing.T, raw string) string {
	t.Helper()
	var c jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &c); err != nil {
		t.Fatal(err)
	}
	n, _ := c["nonce"].(string)
	return n
}
