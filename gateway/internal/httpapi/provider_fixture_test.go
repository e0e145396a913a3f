package httpapi

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/envelope"
	"github.com/quanchain/quanchain/gateway/internal/exchange"
	"github.com/quanchain/quanchain/gateway/internal/peerlink"
	"github.com/quanchain/quanchain/gateway/internal/peerlink/peerlinktest"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/synth"
	"github.com/quanchain/quanchain/gateway/internal/vault"
	"github.com/quanchain/quanchain/internal/jws"
	"github.com/quanchain/quanchain/ledger"
	"github.com/quanchain/quanchain/ledger/ledgertest"
	"github.com/quanchain/quanchain/ledger/ledgertest/artefacttest"
)

// The data-exchange tests run the whole path in process: a requester
// gateway (the bank's, the insurer's) calls the operator's provider API
// over real mutual TLS with test CAs; the provider reads a real SQLite
// digital safe; every gateway is a client of one ledger with the real
// chaincode (ledgertest), as its own organisation, so the access the
// provider records is the one the requester reads back, and every state
// an authorisation reaches is reached by the transactions that reach it
// in production: the citizen's signed decisions, the requester's
// withdrawal, the operator's suspension of an institution, the provider's
// revocation of a record, the passing of time.

// switchBuilder is the provider's delivery builder with a hook that lets a
// test play a dishonest or broken provider.
type switchBuilder struct {
	inner  exchange.DeliveryBuilder
	mu     sync.Mutex
	mutate func(vault.Delivery) vault.Delivery
}

func (b *switchBuilder) BuildDelivery(ctx context.Context, h vault.DeliveryHeader, salt []byte, recs []store.Record) (vault.Delivery, error) {
	d, err := b.inner.BuildDelivery(ctx, h, salt, recs)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil && b.mutate != nil {
		d = b.mutate(d)
	}
	return d, err
}

func (b *switchBuilder) set(f func(vault.Delivery) vault.Delivery) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mutate = f
}

// flakySafe is the provider's store, able to fail to record a committed
// access's transaction id (as a crash at that moment would leave it).
type flakySafe struct {
	exchange.SafeStore
	mu   sync.Mutex
	fail bool
}

func (f *flakySafe) failSetTx(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = v
}

func (f *flakySafe) SetDeliveryTxID(ctx context.Context, accessID, txID string) error {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return errors.New("store unavailable")
	}
	return f.SafeStore.SetDeliveryTxID(ctx, accessID, txID)
}

// xnet is the whole set-up: the ledger, the provider's safe and gateway
// (serving its peer listener over mutual TLS), and the bank's and the
// insurer's gateways. The gateways and the ledger share one clock, which
// a test may move; tokens live on a clock of their own, so moving it past
// an authorisation's validity does not expire them.
type xnet struct {
	t        *testing.T
	net      *ledgertest.Network
	clock    *testClock
	store    *store.Store
	vault    *vault.Vault
	builder  *switchBuilder
	safe     *flakySafe
	pki      *peerlinktest.PKI
	provider *Server
	peer     *httptest.Server
	bank     *requesterGateway
	insurer  *requesterGateway
	// records are what was imported, by citizen: the applicant's housing
	// fund and tax, the claimant's death registration and medical records,
	// in the batches the import anchored.
	applicantRef, claimantRef string
	// idNumbers are the citizens' resident ID numbers, by vault ref: the
	// numbers their devices' ID tokens carry and their subject digests
	// name.
	idNumbers map[string]string
	imported  map[string][]byte // hash → body
	batches   []string
	// devices are the citizens' enrolled devices, by citizenRef.
	devices map[string]*ledgertest.Device
	// operatorPS is the operator's pseudonymiser (the key of the import).
	operatorPS *vault.Pseudonymiser
	// deliverySigner is the provider's delivery-signing key.
	deliverySigner *jws.Signer
	// commitWait is the requesters' wait for an access to commit on their
	// peer (zero: the exchange's default); it applies to the requesters
	// newRequester starts from then on.
	commitWait time.Duration
}

type requesterGateway struct {
	srv    *Server
	key    *ecdh.PrivateKey
	token  string
	client *peerlink.ProviderClient
	idem   *memIdempotency
	ledger *ledger.Ledger // the ledger as its organisation sees it
}

// testClock is a clock a test can move.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

const (
	authBank     = "auth-bank-1"
	authInsurer  = "auth-insurer-1"
	applicantIdx = 0
	claimantIdx  = 1
	// validUntil is the end of the validity of the fixture's
	// authorisations.
	validUntil = "2026-11-09T09:00:00Z"
)

func newXnet(t *testing.T) *xnet {
	t.Helper()
	x := &xnet{t: t, clock: &testClock{t: now}, imported: map[string][]byte{}, devices: map[string]*ledgertest.Device{},
		idNumbers: map[string]string{}}
	x.net = ledgertest.NewDemo(t, x.clock.now)

	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "safe.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	x.store, x.vault = st, vault.New(st)
	x.importData()

	// Authorisations, asked for and granted.
	x.authorize("BankMSP", x.applicantRef, model.AuthorizationRequest{ID: authBank, Purpose: "CREDIT_ASSESSMENT",
		Categories: []string{synth.HousingFund, synth.Tax}, MaxUses: 3})
	x.authorize("InsurerMSP", x.claimantRef, model.AuthorizationRequest{ID: authInsurer, Purpose: "CLAIM_SETTLEMENT",
		Categories: []string{synth.DeathRegistration, synth.MedicalSettlement}, MaxUses: 3})

	x.pki = peerlinktest.New(t, "BureauMSP", "BankMSP", "InsurerMSP", "AuditMSP")
	tokens := testTokens(t, fixedClock)
	base := func(roles ...config.Role) *config.Config {
		cfg := config.Defaults()
		cfg.Roles = roles
		return &cfg
	}

	// The provider.
	bureau := x.pki.Link("BureauMSP")
	operator := x.net.Ledger("BureauMSP")
	x.builder = &switchBuilder{inner: x.vault}
	x.safe = &flakySafe{SafeStore: st}
	x.deliverySigner = artefacttest.NewSigner(t)
	prov, err := exchange.NewProvider(exchange.ProviderConfig{Ledger: operator, Store: x.safe, Builder: x.builder,
		Signer: x.deliverySigner, MSPID: "BureauMSP"})
	if err != nil {
		t.Fatal(err)
	}
	x.provider, err = New(Deps{Config: base(config.RoleProvider), MSPID: "BureauMSP", Ledger: operator,
		Tokens: tokens, Idempotency: &memIdempotency{}, Now: x.clock.now, Provider: prov, PeerMSP: bureau.RequestMSP,
		Pseudonyms: x.operatorPS, PseudonymLog: st})
	if err != nil {
		t.Fatal(err)
	}
	x.peer = httptest.NewUnstartedServer(x.provider.PeerHandler())
	x.peer.TLS = bureau.ServerConfig()
	x.peer.EnableHTTP2 = true                           // as the gateway's own peer listener (http.Server.ServeTLS)
	x.peer.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	x.peer.StartTLS()
	t.Cleanup(x.peer.Close)

	x.bank = x.newRequester("BankMSP", "bank-loans", tokens)
	x.insurer = x.newRequester("InsurerMSP", "insurer-claims", tokens)
	x.net.ClearCalls()
	return x
}

// authorize has requester ask the citizen with vault ref vaultRef for an
// authorisation (the data range 2025-11-01 to 2026-10-31, valid until
// validUntil, unless req says otherwise), under the pairwise ref the
// operator's pseudonym service gives requester (the lookup recorded as the
// service records it), naming the citizen's subject digest as the
// requester's gateway does, and the citizen grant it with their device,
// enrolled on first use with an ID token for their ID number.
func (x *xnet) authorize(requester, vaultRef string, req model.AuthorizationRequest) {
	t := x.t
	t.Helper()
	ctx := context.Background()
	ref := x.operatorPS.PairwiseRef(requester, vaultRef)
	if _, err := x.store.RecordPseudonymLookup(ctx, store.PseudonymLookup{RequesterMSP: requester, PairwiseRef: ref,
		VaultRef: vaultRef, Purpose: req.Purpose, AuthorizationID: req.ID, LookedUpAt: x.clock.now()}); err != nil {
		t.Fatal(err)
	}
	req.CitizenRef = ref
	if req.DataFrom == "" {
		req.DataFrom, req.DataTo = "2025-11-01", "2026-10-31"
	}
	if req.ValidUntil == "" {
		req.ValidUntil = validUntil
	}
	req.ReferenceHash = sha256Hex("reference of " + req.ID)
	req.Subject = x.subject(requester, ref, vaultRef)
	if _, err := x.net.Ledger(requester).RequestAuthorization(ctx, req); err != nil {
		t.Fatal(err)
	}
	if x.devices[ref] == nil {
		dev, err := x.net.EnrolWithID(ctx, ref, x.idNumberOf(vaultRef), nil)
		if err != nil {
			t.Fatal(err)
		}
		x.devices[ref] = dev
	}
	x.decide(req.ID, model.ActionGrant)
}

// idNumberOf is the ID number of the citizen of vault ref vaultRef.
func (x *xnet) idNumberOf(vaultRef string) string {
	x.t.Helper()
	id, ok := x.idNumbers[vaultRef]
	if !ok {
		x.t.Fatalf("no citizen of vault ref %s", vaultRef)
	}
	return id
}

// subject is the subject digest requester names for the citizen of vault
// ref vaultRef, whom it knows as ref: what its gateway computes from the
// ID number its customer gave.
func (x *xnet) subject(requester, ref, vaultRef string) string {
	return model.SubjectDigest(requester, ref, x.idNumberOf(vaultRef))
}

// decide has the citizen of authorisation id sign action with their
// device and the operator submit it.
func (x *xnet) decide(id string, action model.Action) {
	t := x.t
	t.Helper()
	a := x.auth(id)
	if _, err := x.net.Decide(context.Background(), x.devices[a.CitizenRef], id, action); err != nil {
		t.Fatalf("%s %s: %v", action, id, err)
	}
}

// submit runs a transaction the typed client has no method for, as org.
func (x *xnet) submit(org, name string, args ...string) {
	x.t.Helper()
	if _, err := x.net.Submit(context.Background(), org, name, args...); err != nil {
		x.t.Fatalf("%s: %v", name, err)
	}
}

// revoke has the operator revoke an anchored record (anchor:RevokeRecord).
func (x *xnet) revoke(hash, category string) {
	x.submit("BureauMSP", "anchor:RevokeRecord", category, hash, "WITHDRAWN")
}

// expire moves the clock of the ledger and the gateways past the validity
// of the fixture's authorisations.
func (x *xnet) expire() {
	until, err := time.Parse(time.RFC3339, validUntil)
	if err != nil {
		x.t.Fatal(err)
	}
	x.clock.set(until.Add(time.Minute))
}

// rewriteBatches changes every batch the import anchored. No transaction
// rewrites an anchored batch, so this is written past the chaincode
// (ledgertest.Rewrite), for the requester's checks of a ledger that does
// not hold what the provider anchored.
func (x *xnet) rewriteBatches(edit func(*model.BatchAnchor)) {
	for _, id := range x.batches {
		if err := ledgertest.Rewrite(x.net, "batch", id, edit); err != nil {
			x.t.Fatal(err)
		}
	}
}

// auth reads an authorisation from the ledger.
func (x *xnet) auth(id string) model.Authorization {
	x.t.Helper()
	a, err := x.net.Ledger("AuditMSP").GetAuthorization(context.Background(), id)
	if err != nil {
		x.t.Fatal(err)
	}
	return *a
}

// accessCount is the number of accesses on the ledger.
func (x *xnet) accessCount() int {
	x.t.Helper()
	ctx := context.Background()
	auditor := x.net.Ledger("AuditMSP")
	n := 0
	for _, msp := range []string{"BankMSP", "InsurerMSP"} {
		accs, err := ledger.All(ctx, ledger.ListQuery{PageSize: 100}, func(ctx context.Context, q ledger.ListQuery) (*model.Page[model.Access], error) {
			return auditor.ListAccessesByRequester(ctx, msp, q)
		})
		if err != nil {
			x.t.Fatal(err)
		}
		n += len(accs)
	}
	return n
}

// accessSubmits are the RecordAccess submissions since the set-up,
// whatever became of them.
func (x *xnet) accessSubmits() []string {
	var out []string
	for _, c := range x.net.Calls() {
		if c.Submit && c.Name == "access:RecordAccess" {
			out = append(out, string(c.Transient[model.TransientAccess]))
		}
	}
	return out
}

func testTokens(t *testing.T, clock func() time.Time) *auth.Tokens {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := auth.NewSigningKey(k)
	ks, _ := auth.NewKeySet(sk)
	return auth.NewTokens(ks, "qc-test", "qc-api", 5*time.Minute, clock)
}

// newRequester starts an institution's gateway: its key registered on the
// ledger, its provider client over mutual TLS pinned to the operator.
// wrap, if given, stands between the requester and its provider client.
func (x *xnet) newRequester(msp, client string, tokens *auth.Tokens, wrap ...func(exchange.ProviderClient) exchange.ProviderClient) *requesterGateway {
	t := x.t
	t.Helper()
	key, err := envelope.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	view := x.net.Ledger(msp)
	if _, err := envelope.RegisterKey(context.Background(), view, msp, key); err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := x.pki.Link(msp).ClientConfig("BureauMSP")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := peerlink.NewProviderClient(x.peer.URL, tlsCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pc.Close)
	var provider exchange.ProviderClient = pc
	for _, w := range wrap {
		provider = w(provider)
	}
	dr, err := exchange.NewRequester(exchange.RequesterConfig{MSPID: msp, Ledger: view, Provider: provider, Key: key, ProviderKeys: pc,
		CommitWait: x.commitWait})
	if err != nil {
		t.Fatal(err)
	}
	vr, err := NewVerificationAPI(VerificationConfig{Ledger: view})
	if err != nil {
		t.Fatal(err)
	}
	pseudoCfg, err := x.pki.Link(msp).ClientConfig("BureauMSP")
	if err != nil {
		t.Fatal(err)
	}
	remote, err := peerlink.NewRemotePseudonymiser(x.peer.URL, pseudoCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(remote.CloseIdleConnections)
	cfg := config.Defaults()
	cfg.Roles = []config.Role{config.RoleRequester}
	idem := &memIdempotency{}
	srv, err := New(Deps{Config: &cfg, MSPID: msp, Ledger: view, Tokens: tokens, Clients: fakeClients{},
		Idempotency: idem, CitizenRefs: remote, Now: x.clock.now, DataRequests: dr, Verifications: vr, References: testReferenceKey})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := tokens.Issue(auth.Principal{Kind: auth.KindInstitution, Subject: client, MSPID: msp})
	if err != nil {
		t.Fatal(err)
	}
	return &requesterGateway{srv: srv, key: key, token: tok, client: pc, idem: idem, ledger: view}
}

// do sends a request to a gateway with its institution token; headers are
// name, value pairs (an empty value removes the header).
func (g *requesterGateway) do(t *testing.T, method, path, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+g.token)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			r.Header.Del(headers[i])
		} else {
			r.Header.Set(headers[i], headers[i+1])
		}
	}
	w := httptest.NewRecorder()
	g.srv.ServeHTTP(w, r)
	return w
}

// importData imports the two citizens' records through the vault's
// importer, anchoring the batches on the ledger as the operator.
func (x *xnet) importData() {
	t := x.t
	t.Helper()
	key := bytes.Repeat([]byte{9}, 32)
	ps, err := vault.NewPseudonymiser(key)
	if err != nil {
		t.Fatal(err)
	}
	x.operatorPS = ps
	citizens := synth.Citizens(42, 2)
	applicant, claimant := citizens[applicantIdx].IDNumber, citizens[claimantIdx].IDNumber
	x.applicantRef, _ = ps.Ref(applicant)
	x.claimantRef, _ = ps.Ref(claimant)
	x.idNumbers[x.applicantRef], x.idNumbers[x.claimantRef] = applicant, claimant
	im := &vault.Importer{Store: x.store, Pseudonymiser: ps, BatchSize: 8, Now: fixedClock,
		Anchorer: ledger.BatchAnchorer{Ledger: x.net.Ledger("BureauMSP")}}
	data := map[string][]string{}
	// Fourteen months of housing fund, the first two before the
	// authorised range; one month short (2026-03) of 100000 fen.
	for m := time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC); m.Before(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)); m = m.AddDate(0, 1, 0) {
		amount := 120000
		if m.Month() == time.March {
			amount = 90000
		}
		data[synth.HousingFund] = append(data[synth.HousingFund], fmt.Sprintf(
			`{"amount_fen":%d,"category":"housing_fund","citizen_id":%q,"month":%q,"record_date":%q}`,
			amount, applicant, m.Format("2006-01"), m.AddDate(0, 0, 14).Format(time.DateOnly)))
	}
	data[synth.Tax] = []string{
		fmt.Sprintf(`{"category":"tax","citizen_id":%q,"record_date":"2026-01-20","tax_fen":35000}`, applicant),
		fmt.Sprintf(`{"category":"tax","citizen_id":%q,"record_date":"2026-02-20","tax_fen":36000}`, applicant),
	}
	data[synth.DeathRegistration] = []string{
		fmt.Sprintf(`{"category":"death_registration","citizen_id":%q,"death_date":"2026-05-01","record_date":"2026-05-03"}`, claimant),
	}
	data[synth.MedicalSettlement] = []string{
		fmt.Sprintf(`{"amount_fen":880000,"category":"medical_settlement","citizen_id":%q,"record_date":"2026-04-20"}`, claimant),
	}
	for _, cat := range slices.Sorted(maps.Keys(data)) {
		lines := data[cat]
		res, err := im.Import(context.Background(), cat, strings.NewReader(strings.Join(lines, "\n")+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range res.Batches {
			x.batches = append(x.batches, b.ID)
		}
		for _, l := range lines {
			x.imported[vault.RecordHashHex([]byte(l))] = []byte(l)
		}
	}
}

// body builds a JSON request body from a map.
func jsonBody(t *testing.T, v any) string {
	t.Helper()
	s, err := jsonMarshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// receipt returns the provider's stored receipt of an access id.
func (x *xnet) receipt(accessID string) (store.Delivery, bool) {
	d, err := x.store.DeliveryByAccessID(context.Background(), accessID)
	return d, err == nil
}

// peerClient is an HTTP client with a TLS configuration of its own.
func peerClient(cfg *tls.Config) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
}
