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
)

// The data-exchange tests run the whole path in process: a requester
// gateway (the bank's, the insurer's) calls the operator's provider API
// over real mutual TLS with test CAs; the provider reads a real SQLite
// digital safe; every gateway sees one fake ledger (xchain), so the access
// the provider records is the one the requester reads back.

// switchBuilder is the provider's delivery builder with a hook that lets a
// test play a dishonest or broken provider.
type switchBuilder struct {
	inner  exchange.DeliveryBuilder
	mu     sync.Mutex
	mutate func(vault.Delivery) vault.Delivery
}

func (b *switchBuilder) BuildDelivery(ctx context.Context, h vault.DeliveryHeader, recs []store.Record) (vault.Delivery, error) {
	d, err := b.inner.BuildDelivery(ctx, h, recs)
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

// exchange is the whole set-up: the ledger, the provider's safe and
// gateway (serving its peer listener over mutual TLS), and the bank's and
// the insurer's gateways.
type xnet struct {
	t        *testing.T
	chain    *xchain
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
	// fund and tax, the claimant's death registration and medical records.
	applicantRef, claimantRef string
	imported                  map[string][]byte // hash → body
}

type requesterGateway struct {
	srv    *Server
	key    *ecdh.PrivateKey
	token  string
	client *peerlink.ProviderClient
	idem   *memIdempotency
}

const (
	authBank     = "auth-bank-1"
	authInsurer  = "auth-insurer-1"
	applicantIdx = 0
	claimantIdx  = 1
)

func newXnet(t *testing.T) *xnet {
	t.Helper()
	x := &xnet{t: t, chain: newXChain(), imported: map[string][]byte{}}
	clock := func() time.Time { return now }

	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "safe.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	x.store, x.vault = st, vault.New(st)
	x.importData()

	// Authorisations, granted.
	for id, a := range map[string]*model.Authorization{
		authBank: {Requester: "BankMSP", CitizenRef: x.applicantRef, Purpose: "CREDIT_ASSESSMENT",
			Categories: []string{synth.HousingFund, synth.Tax}},
		authInsurer: {Requester: "InsurerMSP", CitizenRef: x.claimantRef, Purpose: "CLAIM_SETTLEMENT",
			Categories: []string{synth.DeathRegistration, synth.MedicalSettlement}},
	} {
		a.ID, a.Status, a.DataFrom, a.DataTo = id, model.AuthGranted, "2025-11-01", "2026-10-31"
		a.ValidUntil, a.MaxUses = "2026-11-09T09:00:00.000Z", 5
		x.chain.auths[id] = a
	}

	x.pki = peerlinktest.New(t, "BureauMSP", "BankMSP", "InsurerMSP")
	tokens := testTokens(t, clock)
	base := func(roles ...config.Role) *config.Config {
		cfg := config.Defaults()
		cfg.Roles = roles
		return &cfg
	}

	// The provider.
	bureau := x.pki.Link("BureauMSP")
	x.builder = &switchBuilder{inner: x.vault}
	x.safe = &flakySafe{SafeStore: st}
	prov, err := exchange.NewProvider(exchange.ProviderConfig{Ledger: xview{x.chain, "BureauMSP"}, Store: x.safe, Builder: x.builder})
	if err != nil {
		t.Fatal(err)
	}
	x.provider, err = New(Deps{Config: base(config.RoleProvider), MSPID: "BureauMSP", Ledger: xview{x.chain, "BureauMSP"},
		Tokens: tokens, Idempotency: &memIdempotency{}, Now: clock, Provider: prov, PeerMSP: bureau.RequestMSP})
	if err != nil {
		t.Fatal(err)
	}
	x.peer = httptest.NewUnstartedServer(x.provider.PeerHandler())
	x.peer.TLS = bureau.ServerConfig()
	x.peer.EnableHTTP2 = true                           // as the gateway's own peer listener (http.Server.ServeTLS)
	x.peer.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	x.peer.StartTLS()
	t.Cleanup(x.peer.Close)

	x.bank = x.newRequester("BankMSP", "bank-loans", tokens, clock)
	x.insurer = x.newRequester("InsurerMSP", "insurer-claims", tokens, clock)
	return x
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
func (x *xnet) newRequester(msp, client string, tokens *auth.Tokens, clock func() time.Time) *requesterGateway {
	t := x.t
	t.Helper()
	key, err := envelope.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	view := xview{x.chain, msp}
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
	dr, err := exchange.NewRequester(exchange.RequesterConfig{MSPID: msp, Ledger: view, Provider: pc, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	vr, err := NewVerificationAPI(VerificationConfig{Ledger: view})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.Roles = []config.Role{config.RoleRequester}
	ps, _ := NewHMACPseudonymiser(bytes.Repeat([]byte{7}, 32))
	idem := &memIdempotency{}
	srv, err := New(Deps{Config: &cfg, MSPID: msp, Ledger: view, Tokens: tokens, Clients: fakeClients{},
		Idempotency: idem, Pseudonyms: ps, Now: clock, DataRequests: dr, Verifications: vr})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := tokens.Issue(auth.Principal{Kind: auth.KindInstitution, Subject: client, MSPID: msp})
	if err != nil {
		t.Fatal(err)
	}
	return &requesterGateway{srv: srv, key: key, token: tok, client: pc, idem: idem}
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
// importer, anchoring the batches on the shared ledger.
func (x *xnet) importData() {
	t := x.t
	t.Helper()
	key := bytes.Repeat([]byte{9}, 32)
	ps, err := vault.NewPseudonymiser(key)
	if err != nil {
		t.Fatal(err)
	}
	citizens := synth.Citizens(42, 2)
	applicant, claimant := citizens[applicantIdx].IDNumber, citizens[claimantIdx].IDNumber
	x.applicantRef, _ = ps.Ref(applicant)
	x.claimantRef, _ = ps.Ref(claimant)
	im := &vault.Importer{Store: x.store, Pseudonymiser: ps, BatchSize: 8, Now: func() time.Time { return now },
		Anchorer: xview{x.chain, "BureauMSP"}}
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
		if _, err := im.Import(context.Background(), cat, strings.NewReader(strings.Join(lines, "\n")+"\n")); err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			x.imported[recordHashHex([]byte(l))] = []byte(l)
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
