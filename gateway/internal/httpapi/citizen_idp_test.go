package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/quanchain/quanchain/internal/identitytest"
	"github.com/quanchain/quanchain/ledger/ledgertest"
)

// testIDP is a small OpenID provider: discovery, JWKS, an authorize
// endpoint that logs in whoever it is told to at once, and a token
// endpoint that checks the PKCE verifier and has the ledger's test
// provider (ledgertest's Network.Provider) mint the RS256 ID token. So
// its tokens are the ones the identity policy in force on the
// in-process ledger trusts: its key, its audience (testClientID) and its
// assurance level (testACR); an enrolment they prove is the chaincode's
// to accept or refuse.
//
// With real set it listens on 127.0.0.1, under an issuer URL of its own
// (newCitizenHarnessWith puts a policy naming it in force); otherwise it
// is served in process through its clients' transport, as the provider's
// own issuer, which works inside a synctest bubble too (whose goroutines
// must not wait on the network).
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

// The gateway's client id at the provider, the audience the ledger's
// policy names, and the assurance level the gateway asks for and the
// policy accepts.
const (
	testClientID = ledgertest.ProviderAudience
	testACR      = identitytest.ACR
)

// newTestIDP starts a provider whose tokens prov signs.
func newTestIDP(t *testing.T, now func() time.Time, real bool, prov *identitytest.Provider) *testIDP {
	p := &testIDP{t: t, now: now, grants: map[string]idpGrant{}}
	p.next.idNumber, p.next.acr = applicant, testACR
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": p.url, "authorization_endpoint": p.url + "/authorize",
			"token_endpoint": p.url + "/token", "jwks_uri": p.url + "/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256"}, "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}, "code_challenge_methods_supported": []string{"S256"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(prov.JWKS()))
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
		raw, err := prov.MintIDToken(g.idNumber, g.nonce, g.acr, identitytest.Overrides{Now: p.now(), Issuer: p.url, Audience: g.clientID})
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
		p.url, p.client = prov.Issuer, &http.Client{Transport: inProcess{mux}}
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
