package httpapi

import (
	"bufio"
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
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/chaincode/sig"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/notify"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/ledger"
)

// citizenTestChannel is the channel the fake chaincode checks payloads against.
const citizenTestChannel = "quanchain"

// fakeCitizenLedger extends the institution fake with the citizen
// transactions. Decide does what the chaincode does with a decision —
// parse the canonical payload, match it to the authorisation, verify the
// signature with the enrolled key, move the state — and keeps the bytes it
// received.
type fakeCitizenLedger struct {
	*fakeLedger
	cmu          sync.Mutex
	keys         map[string][]model.DeviceKey // by citizenRef
	accesses     []model.Access
	decided      [][]byte
	institutions map[string]*model.Institution
	instCalls    int
}

func newFakeCitizenLedger() *fakeCitizenLedger {
	return &fakeCitizenLedger{fakeLedger: newFakeLedger(), keys: map[string][]model.DeviceKey{},
		institutions: map[string]*model.Institution{
			"BankMSP": {MSPID: "BankMSP", Name: "济南农商银行", Kind: model.KindBank, Licence: "B0250H237010001", Status: model.StatusActive},
		}}
}

func (f *fakeCitizenLedger) GetPurpose(_ context.Context, code string) (*model.Purpose, error) {
	if code == "CREDIT_ASSESSMENT" {
		return &model.Purpose{Code: code, NameZH: "信贷审批", NameEN: "Credit assessment", MayStore: true, DataLifeDays: 90,
			AllowedCategories: []string{"housing_fund", "tax"}}, nil
	}
	return nil, notFound(model.CodePurposeNotFound)
}

func (f *fakeCitizenLedger) GetCategory(_ context.Context, code string) (*model.Category, error) {
	names := map[string][2]string{"housing_fund": {"住房公积金", "Housing fund"}, "tax": {"纳税", "Tax"}}
	if n, ok := names[code]; ok {
		return &model.Category{Code: code, NameZH: n[0], NameEN: n[1]}, nil
	}
	return nil, notFound(model.CodeCategoryNotFound)
}

func (f *fakeCitizenLedger) GetInstitution(_ context.Context, msp string) (*model.Institution, error) {
	f.cmu.Lock()
	defer f.cmu.Unlock()
	f.instCalls++
	if i, ok := f.institutions[msp]; ok {
		return i, nil
	}
	return nil, notFound(model.CodeInstitutionNotFound)
}

func (f *fakeCitizenLedger) record(op string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submitted = append(f.submitted, op)
}

func (f *fakeCitizenLedger) ListAuthorizationsByCitizen(_ context.Context, ref string, q ledger.ListQuery) (*model.Page[model.Authorization], error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out model.Page[model.Authorization]
	for _, a := range f.auths {
		if a.CitizenRef == ref && (q.Status == "" || a.Status == q.Status) {
			out.Items = append(out.Items, *a)
		}
	}
	slices.SortFunc(out.Items, func(a, b model.Authorization) int { return strings.Compare(a.ID, b.ID) })
	return &out, nil
}

func (f *fakeCitizenLedger) ListAccessesByCitizen(_ context.Context, ref string, _ ledger.ListQuery) (*model.Page[model.Access], error) {
	f.cmu.Lock()
	defer f.cmu.Unlock()
	var out model.Page[model.Access]
	for _, a := range f.accesses {
		if a.CitizenRef == ref {
			out.Items = append(out.Items, a)
		}
	}
	return &out, nil
}

func (f *fakeCitizenLedger) AddCitizenKey(_ context.Context, ref, jwk string) (string, error) {
	f.record("AddCitizenKey:" + ref)
	pub, err := sig.ParseJWK([]byte(jwk))
	if err != nil {
		return "", &ledger.Error{Code: model.CodeInvalidKey, Message: "invalid key"}
	}
	kid := sig.Thumbprint(pub)
	f.cmu.Lock()
	defer f.cmu.Unlock()
	for _, k := range f.keys[ref] {
		if k.KeyID == kid {
			return "", &ledger.Error{Code: model.CodeAlreadyExists, Message: "key exists"}
		}
	}
	f.keys[ref] = append(f.keys[ref], model.DeviceKey{KeyID: kid, JWK: jwk, Status: model.StatusActive, AddedAt: model.FormatTime(now)})
	return kid, nil
}

func (f *fakeCitizenLedger) RevokeCitizenKey(_ context.Context, ref, kid string) error {
	f.record("RevokeCitizenKey:" + kid)
	f.cmu.Lock()
	defer f.cmu.Unlock()
	for i, k := range f.keys[ref] {
		if k.KeyID == kid {
			if k.Status != model.StatusActive {
				return &ledger.Error{Code: model.CodeKeyRevoked, Message: "already revoked"}
			}
			f.keys[ref][i].Status, f.keys[ref][i].RevokedAt = model.StatusRevoked, model.FormatTime(now)
			return nil
		}
	}
	return &ledger.Error{Code: model.CodeKeyNotFound, Message: "no such key"}
}

func (f *fakeCitizenLedger) GetCitizen(_ context.Context, ref string) (*model.Citizen, error) {
	f.cmu.Lock()
	defer f.cmu.Unlock()
	keys, ok := f.keys[ref]
	if !ok {
		return nil, notFound(model.CodeCitizenNotFound)
	}
	return &model.Citizen{Ref: ref, Keys: slices.Clone(keys)}, nil
}

func (f *fakeCitizenLedger) Decide(ctx context.Context, id string, payload []byte, signatureB64, keyID string) (*model.Authorization, error) {
	f.record("Decide:" + id)
	f.cmu.Lock()
	f.decided = append(f.decided, slices.Clone(payload))
	f.cmu.Unlock()
	refuse := func(code model.Code) error { return &ledger.Error{Code: code, Message: "refused", TxID: "tx-refused"} }
	p, err := model.ParseDecisionPayload(payload)
	if err != nil {
		return nil, refuse(model.CodeOf(err))
	}
	a, err := f.GetAuthorization(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := p.Match(citizenTestChannel, a); err != nil {
		return nil, refuse(model.CodeOf(err))
	}
	cit, err := f.GetCitizen(ctx, a.CitizenRef)
	if err != nil {
		return nil, err
	}
	k, found, active := cit.ActiveKey(keyID)
	switch {
	case !found:
		return nil, refuse(model.CodeKeyNotFound)
	case !active:
		return nil, refuse(model.CodeKeyRevoked)
	}
	pub, _ := sig.ParseJWK([]byte(k.JWK))
	raw, err := sig.DecodeBase64(signatureB64)
	if err != nil || sig.Verify(pub, payload, raw) != nil {
		return nil, refuse(model.CodeSignatureInvalid)
	}
	to := map[model.Action]model.AuthStatus{model.ActionGrant: model.AuthGranted, model.ActionDeny: model.AuthDenied,
		model.ActionPause: model.AuthPaused, model.ActionResume: model.AuthGranted, model.ActionRevoke: model.AuthRevoked}
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.auths[id]
	st.Status, st.Seq, st.LastTxID = to[p.Action], st.Seq+1, "tx-decide"
	st.LastDecision = &model.Decision{Action: p.Action, KeyID: keyID, Payload: base64.StdEncoding.EncodeToString(payload),
		Signature: signatureB64, TxID: "tx-decide"}
	c := *st
	return &c, nil
}

func (f *fakeCitizenLedger) received() [][]byte {
	f.cmu.Lock()
	defer f.cmu.Unlock()
	return slices.Clone(f.decided)
}

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
}

func (s *citizenCodeSender) SendLoginCode(_ context.Context, phone, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sends++
	s.phone, s.code = phone, code
	if s.fail {
		return errCitizenSend
	}
	return nil
}

var errCitizenSend = errors.New("sms gateway down")

// citizenHarness is a provider gateway with the citizen API over the fake
// ledger and a real SQLite store, in development mode, logging to logs.
type citizenHarness struct {
	*harness
	cl     *fakeCitizenLedger
	st     *store.Store
	logs   *citizenLogBuffer
	events *notify.Broker
}

const (
	citizenName  = "张三丰"
	citizenPhone = "13800138000"
)

func newCitizenHarness(t *testing.T, mods ...func(*config.Config, *CitizenConfig)) *citizenHarness {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := auth.NewSigningKey(k)
	ks, _ := auth.NewKeySet(sk)
	clock := func() time.Time { return now }
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
	cl := newFakeCitizenLedger()
	broker := notify.NewBroker(0, 0)
	cc := CitizenConfig{Ledger: cl, Store: st, Channel: citizenTestChannel, Events: broker, LoginBurst: 1000, LoginRate: 1000}
	for _, m := range mods {
		m(&cfg, &cc)
	}
	capi, err := NewCitizenAPI(cc)
	if err != nil {
		t.Fatal(err)
	}
	ps, _ := NewHMACPseudonymiser(bytes.Repeat([]byte{7}, 32))
	logs := &citizenLogBuffer{}
	srv, err := New(Deps{Config: &cfg, MSPID: "BureauMSP", Ledger: cl, Tokens: tokens, Clients: fakeClients{}, Idempotency: &memIdempotency{},
		Pseudonyms: ps, Log: citizenLogger(logs), Now: clock, Citizen: capi})
	if err != nil {
		t.Fatal(err)
	}
	inst, _, err := tokens.Issue(auth.Principal{Kind: auth.KindInstitution, Subject: "bank-loans", MSPID: "BankMSP"})
	if err != nil {
		t.Fatal(err)
	}
	return &citizenHarness{harness: &harness{t: t, srv: srv, ledger: cl.fakeLedger, tokens: tokens, key: sk, token: inst},
		cl: cl, st: st, logs: logs, events: broker}
}

// refOf is the citizenRef the harness's pseudonymiser gives an ID number.
func (h *citizenHarness) refOf(id string) string {
	ref, err := h.srv.Pseudonyms.Ref(h.t.Context(), id)
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

// devCode finds the one-time code the development log gives for a
// challenge.
func (h *citizenHarness) devCode(challenge string) string {
	h.t.Helper()
	sc := bufio.NewScanner(strings.NewReader(h.logs.String()))
	for sc.Scan() {
		var line struct {
			Msg         string `json:"msg"`
			ChallengeID string `json:"challenge_id"`
			Code        string `json:"code"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "dev one-time code" && line.ChallengeID == challenge {
			return line.Code
		}
	}
	h.t.Fatalf("no dev one-time code for %s in the log:\n%s", challenge, h.logs.String())
	return ""
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

// citizenFakeEvents is the chaincode event stream: each Events call hands the

func citizenLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }
