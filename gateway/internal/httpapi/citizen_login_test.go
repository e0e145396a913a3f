package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/identity"
)

func retryAfter(w *httptest.ResponseRecorder) int {
	n, err := strconv.Atoi(w.Header().Get("Retry-After"))
	if err != nil {
		return -1
	}
	return n
}

// startLogin runs oidc/start and the provider's answer, and returns the
// callback's query and the login cookie, for a test to tamper with.
func (h *citizenHarness) startLogin(query string) (url.Values, *http.Cookie) {
	h.t.Helper()
	w := h.as("", "GET", "/citizen/v1/oidc/start?"+query, "")
	if w.Code != http.StatusFound {
		h.t.Fatalf("oidc/start: %d %s", w.Code, w.Body)
	}
	auth, _ := url.Parse(w.Header().Get("Location"))
	aq := auth.Query()
	if aq.Get("code_challenge_method") != "S256" || aq.Get("code_challenge") == "" || aq.Get("nonce") == "" ||
		aq.Get("acr_values") != testACR || aq.Get("scope") != "openid" || aq.Get("client_id") != testClientID {
		h.t.Fatalf("authorize URL %s", auth)
	}
	resp, err := h.idp.browser.Get(auth.String())
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	cb, _ := url.Parse(resp.Header.Get("Location"))
	return cb.Query(), w.Result().Cookies()[0]
}

// callback sends the callback and returns the fragment of its redirect.
func (h *citizenHarness) callback(q url.Values, cookie *http.Cookie) string {
	h.t.Helper()
	hdr := []string{}
	if cookie != nil {
		hdr = append(hdr, "Cookie", cookie.Name+"="+cookie.Value)
	}
	w := h.as("", "GET", "/citizen/v1/oidc/callback?"+q.Encode(), "", hdr...)
	if w.Code != http.StatusFound {
		h.t.Fatalf("callback: %d %s", w.Code, w.Body)
	}
	loc := w.Header().Get("Location")
	path, frag, _ := strings.Cut(loc, "#")
	if !strings.HasPrefix(path, "/app/") {
		h.t.Fatalf("callback redirects to %s", loc)
	}
	return frag
}

// TestCitizenOIDCLogin: a login at the provider ends in a one-time ticket
// for the citizen's session; the state, the browser's cookie, the nonce,
// the PKCE verifier and the acr must all be this login's, and a ticket
// is good once. Neither the ID token nor the ID number reaches the log.
func TestCitizenOIDCLogin(t *testing.T) {
	h := newCitizenHarnessWith(t, fixedClock, true)
	frag := h.loginFlow("return_to=/app/requests")
	ticket, ok := strings.CutPrefix(frag, "ticket=")
	if !ok {
		t.Fatalf("fragment %q", frag)
	}
	s := h.session(ticket)
	if s.CitizenRef != h.refOf(applicant) || s.Token == "" {
		t.Fatalf("session %+v", s)
	}
	if w := h.as("", "POST", "/citizen/v1/session", `{"ticket":"`+ticket+`"}`); w.Code != http.StatusUnauthorized || errCode(t, w) != CodeInvalidTicket {
		t.Fatalf("ticket used twice: %d %s", w.Code, w.Body)
	}

	t.Run("state replayed", func(t *testing.T) {
		q, c := h.startLogin("")
		if f := h.callback(q, c); !strings.HasPrefix(f, "ticket=") {
			t.Fatalf("first callback: %s", f)
		}
		if f := h.callback(q, c); f != "login_error="+CodeLoginStateInvalid {
			t.Fatalf("replayed callback: %s", f)
		}
	})
	t.Run("unknown state", func(t *testing.T) {
		q, c := h.startLogin("")
		q.Set("state", "x"+q.Get("state"))
		if f := h.callback(q, c); f != "login_error="+CodeLoginStateInvalid {
			t.Fatalf("callback: %s", f)
		}
	})
	t.Run("another browser", func(t *testing.T) {
		q, c := h.startLogin("")
		if f := h.callback(q, nil); f != "login_error="+CodeLoginStateInvalid {
			t.Fatalf("without the cookie: %s", f)
		}
		c.Value = randomToken(32)
		if f := h.callback(q, c); f != "login_error="+CodeLoginStateInvalid {
			t.Fatalf("with another cookie: %s", f)
		}
	})
	t.Run("PKCE verifier", func(t *testing.T) {
		// The code of one login redeemed in another login's state: the
		// provider refuses the other login's verifier.
		q1, c1 := h.startLogin("")
		q2, c2 := h.startLogin("")
		q2.Set("code", q1.Get("code"))
		if f := h.callback(q2, c2); f != "login_error="+identity.CodeExchangeFailed {
			t.Fatalf("another login's code: %s", f)
		}
		_ = c1
	})
	t.Run("nonce", func(t *testing.T) {
		h.idp.loginAs(applicant, testACR, "not-this-logins-nonce")
		defer h.idp.loginAs(applicant, testACR, "")
		if f := h.loginFlow(""); f != "login_error="+identity.CodeNonceMismatch {
			t.Fatalf("wrong nonce: %s", f)
		}
	})
	t.Run("acr", func(t *testing.T) {
		h.idp.loginAs(applicant, "loa1", "")
		defer h.idp.loginAs(applicant, testACR, "")
		if f := h.loginFlow(""); f != "login_error="+identity.CodeACRNotAccepted {
			t.Fatalf("acr loa1: %s", f)
		}
	})
	t.Run("denied at the provider", func(t *testing.T) {
		q, c := h.startLogin("")
		q.Del("code")
		q.Set("error", "access_denied")
		if f := h.callback(q, c); f != "login_error="+CodeLoginDenied {
			t.Fatalf("denied: %s", f)
		}
	})
	for _, bad := range []string{applicant, h.idp.lastIDToken()} {
		if strings.Contains(h.logs.String(), bad) {
			t.Fatal("the ID number or the ID token reached the log")
		}
	}
}

// TestCitizenEnrolWithIDToken: a login started with a pending device
// enrols it in every requester's collection with the login's ID token as
// proof, whose nonce names the device's key; the session names the key.
func TestCitizenEnrolWithIDToken(t *testing.T) {
	h := newCitizenHarness(t)
	dev, tok := h.enrol(applicant, "Pixel")
	if tok == "" {
		t.Fatal("no token")
	}
	reqs, err := h.net.Ledger("BureauMSP").Requesters(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	sent := append([]model.CitizenKeyInput(nil), h.enrolments...)
	h.mu.Unlock()
	if len(sent) != len(reqs) {
		t.Fatalf("%d enrolments, want one per requester (%v)", len(sent), reqs)
	}
	raw := h.idp.lastIDToken()
	for _, in := range sent {
		if in.Proof == nil || in.Proof.Kind != model.ProofIDToken || in.Proof.IDToken != raw || in.Kind != model.KeyWebCrypto || in.Name != "Pixel" {
			t.Fatalf("enrolment %+v", in)
		}
	}
	// The ID token's nonce names the key.
	rp, _ := identity.NewRP(identity.RPConfig{Issuer: h.idp.url, ClientID: testClientID, RedirectURL: "http://x/cb", IDClaim: "id_number", Now: fixedClock,
		HTTPClient: h.idp.client})
	nonce := nonceOf(t, raw)
	if kid, ok := model.EnrolmentNonceKey(nonce); !ok || kid != dev.kid {
		t.Fatalf("nonce %q names %q, want %q", nonce, kid, dev.kid)
	}
	if _, err := rp.Verify(t.Context(), raw, nonce); err != nil {
		t.Fatalf("the proof does not verify: %v", err)
	}
	w := h.as(tok, "GET", "/citizen/v1/keys", "")
	keys := decodeBody[keyList](t, w)
	if len(keys.Keys) != 1 || keys.Keys[0].KeyID != dev.kid || keys.Keys[0].UserVerifying ||
		keys.Keys[0].Kind != model.KeyWebCrypto || keys.Keys[0].Proof != model.ProofIDToken {
		t.Fatalf("keys %s", w.Body)
	}
	if strings.Contains(h.logs.String(), raw) {
		t.Fatal("the ID token reached the log")
	}
}

// TestCitizenUnverifiedKeysRefused: a gateway that enrols passkeys only
// refuses a WebCrypto device.
func TestCitizenUnverifiedKeysRefused(t *testing.T) {
	h := newCitizenHarness(t, func(_ *config.Config, c *CitizenConfig) { c.AllowUnverifiedKeys = false })
	w := h.as("", "POST", "/citizen/v1/devices", `{"kind":"webcrypto","jwk":`+newDeviceKey(t).jwk+`}`)
	if w.Code != http.StatusForbidden || errCode(t, w) != string(model.CodeUserVerification) {
		t.Fatalf("webcrypto device: %d %s", w.Code, w.Body)
	}
}
