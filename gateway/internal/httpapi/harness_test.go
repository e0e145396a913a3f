package httpapi

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/vault"
	"github.com/quanchain/quanchain/ledger/ledgertest"
)

// The gateways under test run over the real chaincode, in process
// (ledger/ledgertest) with the demo network's registry: what a handler
// reads and submits is answered by chaincode/contract itself, so a rule
// the gateway checks before it submits cannot drift from the chaincode's
// without a test failing. The fakes left are at seams that are not the
// chaincode: the idempotency store, the client authenticator, the SMS
// sender, the delivery builder and the safe's receipts.

// now is the test clock.
var now = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return now }

// sha256Hex is the hex SHA-256 of s.
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// harness is one organisation's gateway (BankMSP's, unless newHarnessAs
// says otherwise) over a ledger of its own, with a valid institution
// token. Its ledger holds two authorisations: auth-mine, the bank's,
// granted, and auth-other, the insurer's, pending.
type harness struct {
	t      *testing.T
	srv    *Server
	net    *ledgertest.Network
	tokens *auth.Tokens
	key    *auth.SigningKey
	token  string
	// lookups is the store that records the gateway's pseudonym lookups
	// (it holds the pseudonym key and plays both roles).
	lookups *store.Store
}

func newHarness(t *testing.T, mod ...func(*config.Config)) *harness {
	t.Helper()
	return newHarnessAs(t, "BankMSP", mod...)
}

// newHarnessAs is newHarness with the gateway of organisation msp.
func newHarnessAs(t *testing.T, msp string, mod ...func(*config.Config)) *harness {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := auth.NewSigningKey(k)
	ks, _ := auth.NewKeySet(sk)
	tokens := auth.NewTokens(ks, "qc-test", "qc-api", 5*time.Minute, fixedClock)
	cfg := config.Defaults()
	cfg.Roles = []config.Role{config.RoleRequester, config.RoleProvider}
	cfg.BodyLimit = 4096
	for _, m := range mod {
		m(&cfg)
	}
	ps, _ := vault.NewPseudonymiser(bytes.Repeat([]byte{7}, 32))
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	net := ledgertest.NewDemo(t, fixedClock)
	seedInstitutionAuthorizations(t, net)
	srv, err := New(Deps{Config: &cfg, MSPID: msp, Ledger: net.Ledger(msp), Tokens: tokens, Clients: fakeClients{},
		Idempotency: &memIdempotency{}, Pseudonyms: ps, PseudonymLog: st, Now: fixedClock, References: testReferenceKey})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := tokens.Issue(auth.Principal{Kind: auth.KindInstitution, Subject: "bank-loans", MSPID: msp})
	if err != nil {
		t.Fatal(err)
	}
	net.ClearCalls()
	return &harness{t: t, srv: srv, net: net, tokens: tokens, key: sk, token: tok, lookups: st}
}

// seedInstitutionAuthorizations puts auth-mine (the bank's, granted by
// its citizen) and auth-other (the insurer's, pending) on the ledger.
func seedInstitutionAuthorizations(t *testing.T, net *ledgertest.Network) {
	t.Helper()
	ctx := context.Background()
	mine := model.AuthorizationRequest{ID: "auth-mine", CitizenRef: sha256Hex("citizen of auth-mine"), Purpose: "CREDIT_ASSESSMENT",
		Categories: []string{"housing_fund", "tax"}, DataFrom: "2025-11-01", DataTo: "2026-10-31",
		ValidUntil: "2026-11-30T00:00:00Z", MaxUses: 2, ReferenceHash: sha256Hex("LOAN-2026-0002")}
	other := model.AuthorizationRequest{ID: "auth-other", CitizenRef: sha256Hex("citizen of auth-other"), Purpose: "CLAIM_SETTLEMENT",
		Categories: []string{"medical_settlement"}, DataFrom: "2025-11-01", DataTo: "2026-10-31",
		ValidUntil: "2026-11-30T00:00:00Z", MaxUses: 1, ReferenceHash: sha256Hex("CLAIM-2026-0001")}
	// Each names its citizen's subject digest: the citizen's ID number is
	// ledgertest's for the ref (IDNumberFor), the one grant enrols with.
	mine.Subject = ledgertest.SubjectFor("BankMSP", mine.CitizenRef)
	other.Subject = ledgertest.SubjectFor("InsurerMSP", other.CitizenRef)
	if _, err := net.Ledger("BankMSP").RequestAuthorization(ctx, mine); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Ledger("InsurerMSP").RequestAuthorization(ctx, other); err != nil {
		t.Fatal(err)
	}
	grant(t, net, mine.CitizenRef, ledgertest.IDNumberFor(mine.CitizenRef), mine.ID)
}

// grant has the citizen of ID number idNumber, whom every requester knows
// as citizenRef, enrol a device and grant authorisation id with it,
// through the operator, as the consent app does.
func grant(t *testing.T, net *ledgertest.Network, citizenRef, idNumber, id string) *ledgertest.Device {
	t.Helper()
	dev, err := net.EnrolWithID(context.Background(), citizenRef, idNumber, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := net.Decide(context.Background(), dev, id, model.ActionGrant); err != nil {
		t.Fatal(err)
	}
	return dev
}

// submitted returns the transactions submitted since the harness was set
// up ("consent:RequestAuthorization"), whatever became of them.
func submitted(net *ledgertest.Network) []string {
	var out []string
	for _, c := range net.Calls() {
		if c.Submit {
			out = append(out, c.Name)
		}
	}
	return out
}

func (h *harness) submitted() []string { return submitted(h.net) }

// failSubmits makes every submit fail with err before it reaches the
// chaincode (a peer or orderer that cannot be reached, say); nil ends it.
func failSubmits(net *ledgertest.Network, err error) {
	if err == nil {
		net.SetFault(nil)
		return
	}
	net.SetFault(func(c ledgertest.Call) error {
		if c.Submit {
			return err
		}
		return nil
	})
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
