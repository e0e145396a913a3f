package httpapi

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/ledger"
)

// now is the test clock.
var now = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// fakeLedger is the narrowest seam: the Ledger interface, with a few
// purposes, categories and authorisations, recording every submit.
type fakeLedger struct {
	mu        sync.Mutex
	auths     map[string]*model.Authorization
	submitted []string
	pingErr   error
	submitErr error
}

func newFakeLedger() *fakeLedger {
	return &fakeLedger{auths: map[string]*model.Authorization{
		"auth-other": {ID: "auth-other", Requester: "InsurerMSP", Status: model.AuthPending},
		"auth-mine":  {ID: "auth-mine", Requester: "BankMSP", Status: model.AuthGranted},
	}}
}

var purposes = map[string]*model.Purpose{
	"CREDIT_ASSESSMENT": {Code: "CREDIT_ASSESSMENT", AllowedCategories: []string{"housing_fund", "tax"}},
}
var categories = []string{"housing_fund", "tax", "medical_settlement"}

func notFound(code model.Code) error { return &ledger.Error{Code: code, Message: "not found"} }

func (f *fakeLedger) Ping(context.Context) error { return f.pingErr }

func (f *fakeLedger) GetPurpose(_ context.Context, code string) (*model.Purpose, error) {
	if p, ok := purposes[code]; ok {
		return p, nil
	}
	return nil, notFound(model.CodePurposeNotFound)
}

func (f *fakeLedger) GetCategory(_ context.Context, code string) (*model.Category, error) {
	if slices.Contains(categories, code) {
		return &model.Category{Code: code}, nil
	}
	return nil, notFound(model.CodeCategoryNotFound)
}

func (f *fakeLedger) RequestAuthorization(_ context.Context, req model.AuthorizationRequest) (*model.Authorization, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submitted = append(f.submitted, "RequestAuthorization:"+req.ID)
	if f.submitErr != nil {
		return nil, f.submitErr
	}
	if _, ok := f.auths[req.ID]; ok {
		return nil, &ledger.Error{Code: model.CodeAlreadyExists, Message: "exists", TxID: "tx-dup"}
	}
	a := &model.Authorization{ID: req.ID, CitizenRef: req.CitizenRef, Requester: "BankMSP", Purpose: req.Purpose,
		Categories: req.Categories, DataFrom: req.DataFrom, DataTo: req.DataTo, ValidUntil: req.ValidUntil,
		MaxUses: req.MaxUses, Status: model.AuthPending, ReferenceHash: req.ReferenceHash, RequestTxID: "tx-1"}
	f.auths[req.ID] = a
	return a, nil
}

func (f *fakeLedger) GetAuthorization(_ context.Context, id string) (*model.Authorization, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a, ok := f.auths[id]; ok {
		c := *a
		return &c, nil
	}
	return nil, notFound(model.CodeAuthNotFound)
}

func (f *fakeLedger) ListAuthorizationsByRequester(_ context.Context, msp string, q ledger.ListQuery) (*model.Page[model.Authorization], error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out model.Page[model.Authorization]
	for _, a := range f.auths {
		if a.Requester == msp && (q.Status == "" || a.Status == q.Status) {
			out.Items = append(out.Items, *a)
		}
	}
	return &out, nil
}

func (f *fakeLedger) Withdraw(_ context.Context, id string) (*model.Authorization, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submitted = append(f.submitted, "Withdraw:"+id)
	if f.submitErr != nil {
		return nil, f.submitErr
	}
	a := f.auths[id]
	a.Status = model.AuthWithdrawn
	c := *a
	return &c, nil
}

func (f *fakeLedger) writes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.submitted)
}

// memIdempotency is an in-memory IdempotencyStore for unit tests.
type memIdempotency struct {
	mu   sync.Mutex
	recs map[string]*memIdem
}

type memIdem struct {
	hash string
	done bool
	resp StoredResponse
}

func (m *memIdempotency) Begin(_ context.Context, principal, key, hash string) (*StoredResponse, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.recs == nil {
		m.recs = map[string]*memIdem{}
	}
	r, ok := m.recs[principal+"\x00"+key]
	switch {
	case !ok:
		m.recs[principal+"\x00"+key] = &memIdem{hash: hash}
		return nil, true, nil
	case r.hash != hash:
		return nil, false, ErrIdempotencyKeyReused
	case !r.done:
		return nil, false, ErrIdempotencyInFlight
	}
	resp := r.resp
	return &resp, false, nil
}

func (m *memIdempotency) Complete(_ context.Context, principal, key string, resp StoredResponse) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.recs[principal+"\x00"+key]
	resp.Body = slices.Clone(resp.Body)
	r.done, r.resp = true, resp
	return nil
}

func (m *memIdempotency) Release(_ context.Context, principal, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.recs, principal+"\x00"+key)
	return nil
}

// fakeClients knows one client per organisation.
type fakeClients struct{}

func (fakeClients) AuthenticateClient(_ context.Context, id, secret string) (APIClient, error) {
	switch {
	case id == "bank-loans" && secret == "s3cret-s3cret-s3cret":
		return APIClient{ID: id, MSPID: "BankMSP"}, nil
	case id == "stray" && secret == "s3cret-s3cret-s3cret":
		return APIClient{ID: id, MSPID: "InsurerMSP"}, nil
	}
	return APIClient{}, ErrInvalidClient
}

// harness is a server with fakes and a valid institution token.
type harness struct {
	t      *testing.T
	srv    *Server
	ledger *fakeLedger
	tokens *auth.Tokens
	key    *auth.SigningKey
	token  string
}

func newHarness(t *testing.T, mod ...func(*config.Config)) *harness {
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
	cfg.Roles = []config.Role{config.RoleRequester, config.RoleProvider}
	cfg.BodyLimit = 4096
	for _, m := range mod {
		m(&cfg)
	}
	ps, _ := NewHMACPseudonymiser(bytes.Repeat([]byte{7}, 32))
	fl := newFakeLedger()
	srv, err := New(Deps{Config: &cfg, MSPID: "BankMSP", Ledger: fl, Tokens: tokens, Clients: fakeClients{},
		Idempotency: &memIdempotency{}, Pseudonyms: ps, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := tokens.Issue(auth.Principal{Kind: auth.KindInstitution, Subject: "bank-loans", MSPID: "BankMSP"})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, srv: srv, ledger: fl, tokens: tokens, key: sk, token: tok}
}

// do sends a request; body is sent as is with a JSON content type.
func (h *harness) do(method, path, body string, headers ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	r := httptest.NewRequest(method, path, rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	r.Header.Set("Authorization", "Bearer "+h.token)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			r.Header.Del(headers[i])
		} else {
			r.Header.Set(headers[i], headers[i+1])
		}
	}
	w := httptest.NewRecorder()
	h.srv.ServeHTTP(w, r)
	return w
}

// errCode returns the error code of a response body ("" if none).
func errCode(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var b errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("error body %q: %v", w.Body.String(), err)
	}
	if b.Error.RequestID == "" && b.Error.Code != "" {
		t.Errorf("error without request_id: %s", w.Body.String())
	}
	return b.Error.Code
}

func decodeBody[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %q: %v", w.Body.String(), err)
	}
	return v
}
