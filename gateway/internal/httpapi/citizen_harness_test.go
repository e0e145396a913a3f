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
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/sig"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/notify"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/vault"
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

// citizenCodeSender is a LoginCodeSender that keeps what it was asked to send.
type citizenCodeSender struct {
	mu          sync.Mutex
	phone, code string
	fail        bool
	sends       int
	byChallenge map[string]LoginCode
}

func (s *citizenCodeSender) SendLoginCode(_ context.Context, c LoginCode) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errCitizenSend
	}
	s.sends++
	s.phone, s.code = c.Phone, c.Code
	if s.byChallenge == nil {
		s.byChallenge = map[string]LoginCode{}
	}
	s.byChallenge[c.ChallengeID] = c
	return nil
}

func (s *citizenCodeSender) sent(challenge string) (LoginCode, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.byChallenge[challenge]
	return c, ok
}

func (s *citizenCodeSender) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sends
}

// citizenRegister is a real-name register. With everyone set, every ID
// number is registered to citizenName and citizenPhone; entries are
// looked up first.
type citizenRegister struct {
	everyone bool
	entries  map[string][2]string
}

func (r citizenRegister) Registered(_ context.Context, id string) (string, string, bool, error) {
	if e, ok := r.entries[id]; ok {
		return e[0], e[1], true, nil
	}
	if r.everyone {
		return citizenName, citizenPhone, true, nil
	}
	return "", "", false, nil
}

var errCitizenSend = errors.New("sms gateway down")

// citizenHarness is the operator's gateway (BureauMSP) with the citizen
// API over the in-process chaincode and a real SQLite store, in
// development mode, logging to logs. Its institution token is the bank's.
type citizenHarness struct {
	*harness
	st     *store.Store
	logs   *citizenLogBuffer
	events *notify.Broker
	codes  *citizenCodeSender
}

const (
	citizenName  = "张三丰"
	citizenPhone = "13800138000"
)

func newCitizenHarness(t *testing.T, mods ...func(*config.Config, *CitizenConfig)) *citizenHarness {
	t.Helper()
	return newCitizenHarnessAt(t, fixedClock, mods...)
}

// newCitizenHarnessAt is newCitizenHarness whose tokens, requests and
// citizen rate limits read the clock.
func newCitizenHarnessAt(t *testing.T, clock func() time.Time, mods ...func(*config.Config, *CitizenConfig)) *citizenHarness {
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
	codes := &citizenCodeSender{}
	cc := CitizenConfig{Ledger: operator, Store: st, Channel: citizenTestChannel, Events: broker,
		Register: citizenRegister{everyone: true}, Codes: codes, LoginsPerMinute: 1000, CitizenStarts: 100, CitizenCodes: 100, Clock: clock}
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
	return &citizenHarness{harness: &harness{t: t, srv: srv, net: net, tokens: tokens, key: sk, token: inst},
		st: st, logs: logs, events: broker, codes: codes}
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

// devCode returns the one-time code sent for a challenge.
func (h *citizenHarness) devCode(challenge string) string {
	h.t.Helper()
	c, ok := h.codes.sent(challenge)
	if !ok {
		h.t.Fatalf("no one-time code sent for %s", challenge)
	}
	return c.Code
}

// login runs the whole citizen login and returns the citizen token.
func (h *citizenHarness) login(id string) string {
	h.t.Helper()
	w := h.as("", "POST", "/citizen/v1/login", loginBody(id, citizenName, citizenPhone))
	if w.Code != http.StatusOK {
		h.t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	lr := decodeBody[loginResponse](h.t, w)
	w = h.as("", "POST", "/citizen/v1/login/verify", `{"challenge_id":"`+lr.ChallengeID+`","code":"`+h.devCode(lr.ChallengeID)+`"}`)
	if w.Code != http.StatusOK {
		h.t.Fatalf("verify: %d %s", w.Code, w.Body)
	}
	return decodeBody[tokenResponse](h.t, w).AccessToken
}

func loginBody(id, name, phone string) string {
	b, _ := json.Marshal(map[string]string{"id_number": id, "name": name, "phone": phone})
	return string(b)
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
