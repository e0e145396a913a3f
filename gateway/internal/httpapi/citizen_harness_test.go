package httpapi

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/chaincode/sig"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/citizens"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/identity"
	"github.com/quanchain/quanchain/gateway/internal/notify"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/vault"
	"github.com/quanchain/quanchain/internal/identitytest"
	"github.com/quanchain/quanchain/ledger/ledgertest"
)

// citizenTestChannel is the channel decision payloads name: the
// in-process ledger's.
const citizenTestChannel = ledgertest.Channel

// citizenLogBuffer is a log sink safe for handlers running concurrently.
type citizenLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *citizenLogBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *citizenLogBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// citizenHarness is the operator's gateway (BureauMSP) with the citizen
// API over the in-process chaincode and a real SQLite store, in
// development mode, logging to logs. Its institution token is the bank's.
type citizenHarness struct {
	*harness
	st     *store.Store
	logs   *citizenLogBuffer
	events *notify.Broker
	idp    *testIDP
	// keys are the key enrolments sent to the ledger, decisions the
	// decisions, as the citizen API made them.
	mu         sync.Mutex
	enrolments []model.CitizenKeyInput
	decided    []model.DecisionInput
}

// The consent app's relying party in the tests: the one the ledger's
// identity policy names, so passkey assertions made for it verify there.
const (
	testRPID   = identitytest.RPID
	testOrigin = identitytest.Origin
)

func newCitizenHarness(t *testing.T, mods ...func(*config.Config, *CitizenConfig)) *citizenHarness {
	t.Helper()
	return newCitizenHarnessAt(t, fixedClock, mods...)
}

// newCitizenHarnessAt is newCitizenHarness whose tokens, requests and
// citizen rate limits read the clock.
func newCitizenHarnessAt(t *testing.T, clock func() time.Time, mods ...func(*config.Config, *CitizenConfig)) *citizenHarness {
	t.Helper()
	return newCitizenHarnessWith(t, clock, false, mods...)
}

// newCitizenHarnessWith is newCitizenHarnessAt whose identity provider
// listens on 127.0.0.1 if realIDP is set (outside a synctest bubble only).
func newCitizenHarnessWith(t *testing.T, clock func() time.Time, realIDP bool, mods ...func(*config.Config, *CitizenConfig)) *citizenHarness {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := auth.NewSigningKey(k)
	ks, _ := auth.NewKeySet(sk)
	tokens := auth.NewTokens(ks, "qc-test", "qc-api", 5*time.Minute, clock)
	cfg := config.Defaults()
	cfg.Roles = []config.Role{config.RoleProvider}
	cfg.BodyLimit = 4096
	cfg.Dev = true
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	net := ledgertest.NewDemo(t, clock)
	operator := net.Ledger("BureauMSP")
	broker := notify.NewBroker(0, 0)
	h := &citizenHarness{events: broker, idp: newTestIDP(t, clock, realIDP, net.Provider())}
	if realIDP {
		// The provider on 127.0.0.1 has an issuer URL of its own: the
		// ledger is told to trust it, as the network is told to trust
		// the development provider.
		pol := net.Provider().Policy(testRPID, []string{testOrigin}, true)
		pol.Issuer = h.idp.url
		if err := net.SetIdentityPolicy(t.Context(), pol); err != nil {
			t.Fatal(err)
		}
	}
	rp, err := identity.NewRP(identity.RPConfig{Issuer: h.idp.url, ClientID: testClientID, ClientSecret: "secret",
		RedirectURL: "http://gateway.test/citizen/v1/oidc/callback", IDClaim: identitytest.IDClaim, ACRValues: []string{testACR}, Now: clock,
		HTTPClient: h.idp.client})
	if err != nil {
		t.Fatal(err)
	}
	passkeys, err := identity.NewPasskeys(testRPID, "quanchain", []string{testOrigin})
	if err != nil {
		t.Fatal(err)
	}
	cc := CitizenConfig{Ledger: operator, Store: st, Channel: citizenTestChannel, Events: broker,
		Login: rp, Passkeys: passkeys, AllowUnverifiedKeys: true, LoginsPerMinute: 1000, CitizenStarts: 100, Clock: clock,
		AddKey: func(ctx context.Context, in model.CitizenKeyInput) (string, error) {
			h.mu.Lock()
			h.enrolments = append(h.enrolments, in)
			h.mu.Unlock()
			return citizens.LedgerAddKey(operator)(ctx, in)
		},
		Decide: func(ctx context.Context, id string, payload []byte, in model.DecisionInput) (*model.Authorization, error) {
			h.mu.Lock()
			h.decided = append(h.decided, in)
			h.mu.Unlock()
			return LedgerDecide(operator)(ctx, id, payload, in)
		}}
	for _, m := range mods {
		m(&cfg, &cc)
	}
	capi, err := NewCitizenAPI(cc)
	if err != nil {
		t.Fatal(err)
	}
	ps, _ := vault.NewPseudonymiser(bytes.Repeat([]byte{7}, 32))
	logs := &citizenLogBuffer{}
	srv, err := New(Deps{Config: &cfg, MSPID: "BureauMSP", Ledger: operator, Tokens: tokens, Clients: fakeClients{}, Idempotency: &memIdempotency{},
		Pseudonyms: ps, Log: citizenLogger(logs), Now: clock, Citizen: capi})
	if err != nil {
		t.Fatal(err)
	}
	inst, _, err := tokens.Issue(auth.Principal{Kind: auth.KindInstitution, Subject: "bank-loans", MSPID: "BankMSP"})
	if err != nil {
		t.Fatal(err)
	}
	net.ClearCalls()
	h.harness = &harness{t: t, srv: srv, net: net, tokens: tokens, key: sk, token: inst}
	h.st, h.logs = st, logs
	return h
}

// refOf is the citizenRef the harness's pseudonymiser gives an ID number.
func (h *citizenHarness) refOf(id string) string {
	ref, err := h.srv.Pseudonyms.Ref(id)
	if err != nil {
		h.t.Fatal(err)
	}
	return ref
}

// citizenToken issues a citizen token for ref directly.
func (h *citizenHarness) citizenToken(ref string) string {
	tok, _, err := h.tokens.Issue(auth.Principal{Kind: auth.KindCitizen, Subject: ref})
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// as sends a request with the given bearer token ("" for none).
func (h *citizenHarness) as(tok, method, path, body string, headers ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	authz := ""
	if tok != "" {
		authz = "Bearer " + tok
	}
	return h.do(method, path, body, append([]string{"Authorization", authz}, headers...)...)
}

// loginFlow runs a login at the test provider from start to the redirect
// back to the app and returns the fragment it carries (ticket=… or
// login_error=…). query is the start's query string.
func (h *citizenHarness) loginFlow(query string) string {
	h.t.Helper()
	w := h.as("", "GET", "/citizen/v1/oidc/start?"+query, "")
	if w.Code != http.StatusFound {
		h.t.Fatalf("oidc/start: %d %s", w.Code, w.Body)
	}
	cookie := w.Result().Cookies()
	if len(cookie) != 1 || cookie[0].Name != loginCookie || !cookie[0].HttpOnly || cookie[0].SameSite != http.SameSiteLaxMode {
		h.t.Fatalf("oidc/start cookie: %+v", cookie)
	}
	resp, err := h.idp.browser.Get(w.Header().Get("Location"))
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	cb, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || cb.Path != "/citizen/v1/oidc/callback" {
		h.t.Fatalf("the provider's answer: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	w = h.as("", "GET", cb.RequestURI(), "", "Cookie", cookie[0].Name+"="+cookie[0].Value)
	if w.Code != http.StatusFound {
		h.t.Fatalf("oidc/callback: %d %s", w.Code, w.Body)
	}
	_, frag, _ := strings.Cut(w.Header().Get("Location"), "#")
	return frag
}

// session exchanges a ticket for a session.
func (h *citizenHarness) session(ticket string) newSessionResponse {
	h.t.Helper()
	w := h.as("", "POST", "/citizen/v1/session", `{"ticket":"`+ticket+`"}`)
	if w.Code != http.StatusOK {
		h.t.Fatalf("session: %d %s", w.Code, w.Body)
	}
	return decodeBody[newSessionResponse](h.t, w)
}

// login logs in as the citizen of ID number id and returns the token.
func (h *citizenHarness) login(id string) string {
	h.t.Helper()
	h.idp.loginAs(id, testACR, "")
	frag := h.loginFlow("return_to=/app/")
	ticket, ok := strings.CutPrefix(frag, "ticket=")
	if !ok {
		h.t.Fatalf("login: %s", frag)
	}
	return h.session(ticket).Token
}

// enrol registers a new WebCrypto device named name and enrols it with a
// login as id; it returns the device and the login's token.
func (h *citizenHarness) enrol(id, name string) (deviceKey, string) {
	h.t.Helper()
	dev := newDeviceKey(h.t)
	body, _ := json.Marshal(map[string]any{"kind": "webcrypto", "name": name, "jwk": json.RawMessage(dev.jwk)})
	w := h.as("", "POST", "/citizen/v1/devices", string(body))
	if w.Code != http.StatusCreated {
		h.t.Fatalf("devices: %d %s", w.Code, w.Body)
	}
	nd := decodeBody[newDeviceResponse](h.t, w)
	if nd.KeyID != dev.kid {
		h.t.Fatalf("key_id %s, want %s", nd.KeyID, dev.kid)
	}
	h.idp.loginAs(id, testACR, "")
	frag := h.loginFlow("return_to=/app/&device_id=" + nd.DeviceID)
	ticket, ok := strings.CutPrefix(frag, "ticket=")
	if !ok {
		h.t.Fatalf("enrolling login: %s", frag)
	}
	s := h.session(ticket)
	if s.KeyID != dev.kid {
		h.t.Fatalf("session key_id %q, want %q", s.KeyID, dev.kid)
	}
	return dev, s.Token
}

// deviceKey is a citizen's device key pair and its public JWK, as
// WebCrypto exports it.
type deviceKey struct {
	priv *ecdsa.PrivateKey
	jwk  string
	kid  string
}

func newDeviceKey(t *testing.T) deviceKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := k.PublicKey.Bytes() // 0x04 ‖ x ‖ y
	enc := base64.RawURLEncoding
	jwk := `{"kty":"EC","crv":"P-256","x":"` + enc.EncodeToString(raw[1:33]) + `","y":"` + enc.EncodeToString(raw[33:]) +
		`","ext":true,"key_ops":["verify"]}`
	return deviceKey{priv: k, jwk: jwk, kid: sig.Thumbprint(&k.PublicKey)}
}

// signRaw signs msg as WebCrypto does: ECDSA P-256 over SHA-256, r‖s.
func (d deviceKey) signRaw(t *testing.T, msg []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(msg)
	r, s, err := ecdsa.Sign(rand.Reader, d.priv, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out
}

func citizenLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }
