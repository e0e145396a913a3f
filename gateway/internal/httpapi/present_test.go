package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/peerlink"
	"github.com/quanchain/quanchain/gateway/internal/present"
	"github.com/quanchain/quanchain/gateway/internal/synth"
)

const (
	authBankPending    = "auth-bank-present"
	authInsurerPending = "auth-insurer-present"
	bankReturn         = "https://app.bank.example/loan/back?step=3"
	operatorApp        = "https://quanchain.example/app/"
)

// redirectURIs is a fake RedirectURIStore: the return URLs by client id.
type redirectURIs map[string][]string

func (r redirectURIs) RedirectURIs(_ context.Context, id string) ([]string, error) { return r[id], nil }

// newPresentNet is the exchange fixture with the citizen-present flow
// configured: the operator signs tickets, the bank's and the insurer's
// gateways ask for them over mutual TLS, and each has one pending request.
func newPresentNet(t *testing.T) (*xnet, *present.Signer) {
	t.Helper()
	x := newXnet(t)
	signer, err := present.NewSigner(bytes.Repeat([]byte{0x5a}, 32), x.clock.now)
	if err != nil {
		t.Fatal(err)
	}
	x.provider.Present = signer
	uris := redirectURIs{"bank-loans": {bankReturn, "http://127.0.0.1:9000/cb"}, "insurer-claims": {"https://claims.insurer.example/back"}}
	for _, g := range []struct {
		msp string
		gw  *requesterGateway
	}{{"BankMSP", x.bank}, {"InsurerMSP", x.insurer}} {
		cfg, err := x.pki.Link(g.msp).ClientConfig("BureauMSP")
		if err != nil {
			t.Fatal(err)
		}
		tickets, err := peerlink.NewPresentTickets(x.peer.URL, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tickets.Client.CloseIdleConnections)
		g.gw.srv.ConsentLinks = &ConsentLinks{AppURL: operatorApp, Clients: uris, Tickets: tickets}
	}
	for _, p := range []struct{ msp, id, purpose, category, vaultRef string }{
		{"BankMSP", authBankPending, "CREDIT_ASSESSMENT", synth.Tax, x.applicantRef},
		{"InsurerMSP", authInsurerPending, "CLAIM_SETTLEMENT", synth.DeathRegistration, x.claimantRef},
	} {
		ref := x.operatorPS.PairwiseRef(p.msp, p.vaultRef)
		req := model.AuthorizationRequest{ID: p.id, Purpose: p.purpose, Categories: []string{p.category}, MaxUses: 1,
			CitizenRef: ref, DataFrom: "2025-11-01", DataTo: "2026-10-31", ValidUntil: validUntil,
			ReferenceHash: sha256Hex("reference of " + p.id), Subject: x.subject(p.msp, ref, p.vaultRef)}
		if _, err := x.net.Ledger(p.msp).RequestAuthorization(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	return x, signer
}

// resolve asks the operator's citizen API for a ticket's request.
func resolve(x *xnet, ticket string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/citizen/v1/present/"+url.PathEscape(ticket), nil)
	w := httptest.NewRecorder()
	x.provider.ServeHTTP(w, r)
	return w
}

// TestConsentLinkRoundTrip: the bank's gateway makes a link on its pending
// request; the link opens the operator's app on the request with a ticket
// the operator resolves to the request, the bank and its return URL; the
// QR code holds the link.
func TestConsentLinkRoundTrip(t *testing.T) {
	x, _ := newPresentNet(t)
	w := x.bank.do(t, "POST", "/v1/authorizations/"+authBankPending+"/consent-link", `{"return_url":"`+bankReturn+`","state":"loan-77 ok"}`)
	if w.Code != http.StatusOK {
		t.Fatalf("consent link: %d %s", w.Code, w.Body)
	}
	link := decodeBody[consentLink](t, w)
	prefix := operatorApp + "#/present/" + authBankPending + "?r="
	if !strings.HasPrefix(link.URL, prefix) {
		t.Fatalf("url %s, want prefix %s", link.URL, prefix)
	}
	exp, err := time.Parse(time.RFC3339, link.ExpiresAt)
	if err != nil || !exp.Equal(x.clock.now().Add(present.TTL).Truncate(time.Second)) {
		t.Errorf("expires_at %s (%v), want %v", link.ExpiresAt, err, x.clock.now().Add(present.TTL))
	}
	pngBytes, err := base64.StdEncoding.DecodeString(link.QRPNG)
	if err != nil {
		t.Fatal(err)
	}
	want, err := present.QRPNG(link.URL)
	if err != nil || !bytes.Equal(pngBytes, want) {
		t.Error("qr_png is not the QR code of url")
	}
	if img, err := png.Decode(bytes.NewReader(pngBytes)); err != nil || img.Bounds().Dx() != present.QRSize {
		t.Errorf("qr_png: %v", err)
	}

	ticket, err := url.QueryUnescape(strings.TrimPrefix(link.URL, prefix))
	if err != nil {
		t.Fatal(err)
	}
	w = resolve(x, ticket)
	if w.Code != http.StatusOK {
		t.Fatalf("resolve: %d %s", w.Code, w.Body)
	}
	v := decodeBody[presentView](t, w)
	if v.AuthorizationID != authBankPending || v.Requester != "BankMSP" || v.RequesterName == "" ||
		v.ReturnURL != bankReturn || v.ReturnHost != "app.bank.example" || v.State != "loan-77 ok" {
		t.Fatalf("resolved %+v", v)
	}
}

// TestConsentLinkRefusals: a return URL the client did not register,
// another institution's request, a decided request and bad state are
// refused, and no ticket is made for them.
func TestConsentLinkRefusals(t *testing.T) {
	x, _ := newPresentNet(t)
	tests := []struct {
		name, id, body string
		status         int
		code           string
	}{
		{"unregistered return URL", authBankPending, `{"return_url":"https://evil.example/back","state":"s"}`, 422, CodeReturnURLNotRegistered},
		{"registered URL with another query", authBankPending, `{"return_url":"https://app.bank.example/loan/back?step=4","state":"s"}`, 422, CodeReturnURLNotRegistered},
		{"another client's URL", authBankPending, `{"return_url":"https://claims.insurer.example/back","state":"s"}`, 422, CodeReturnURLNotRegistered},
		{"plain http", authBankPending, `{"return_url":"http://app.bank.example/loan/back","state":"s"}`, 400, CodeInvalidArgument},
		{"no state", authBankPending, `{"return_url":"` + bankReturn + `"}`, 400, CodeInvalidArgument},
		{"state with a newline", authBankPending, `{"return_url":"` + bankReturn + `","state":"a\nb"}`, 400, CodeInvalidArgument},
		{"state too long", authBankPending, `{"return_url":"` + bankReturn + `","state":"` + strings.Repeat("s", 257) + `"}`, 400, CodeInvalidArgument},
		{"another institution's request", authInsurerPending, `{"return_url":"` + bankReturn + `","state":"s"}`, 404, string(model.CodeAuthNotFound)},
		{"a granted request", authBank, `{"return_url":"` + bankReturn + `","state":"s"}`, 409, string(model.CodeAuthNotPending)},
		{"no such request", "auth-nobody", `{"return_url":"` + bankReturn + `","state":"s"}`, 404, string(model.CodeAuthNotFound)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := x.bank.do(t, "POST", "/v1/authorizations/"+tt.id+"/consent-link", tt.body)
			if w.Code != tt.status || errCode(t, w) != tt.code {
				t.Fatalf("got %d %s, want %d %s", w.Code, w.Body, tt.status, tt.code)
			}
		})
	}

	// Without the operator's app URL, no links.
	x.bank.srv.ConsentLinks = nil
	w := x.bank.do(t, "POST", "/v1/authorizations/"+authBankPending+"/consent-link", `{"return_url":"`+bankReturn+`","state":"s"}`)
	if w.Code != http.StatusServiceUnavailable || errCode(t, w) != CodeConsentLinksUnavailable {
		t.Fatalf("unconfigured: %d %s", w.Code, w.Body)
	}
}

// TestPresentTicketService: the operator signs tickets only for the
// calling organisation's pending requests, whatever the caller claims.
func TestPresentTicketService(t *testing.T) {
	x, _ := newPresentNet(t)
	ctx := context.Background()
	cfg, err := x.pki.Link("InsurerMSP").ClientConfig("BureauMSP")
	if err != nil {
		t.Fatal(err)
	}
	insurer, err := peerlink.NewPresentTickets(x.peer.URL, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(insurer.Client.CloseIdleConnections)
	// The insurer asks for a ticket on the bank's request directly,
	// vouching for a return URL of its own.
	_, err = insurer.PresentTicket(ctx, peerlink.PresentTicketRequest{AuthorizationID: authBankPending, ReturnURL: "https://claims.insurer.example/back", State: "s"})
	var ref *peerlink.PseudonymRefusal
	if !errors.As(err, &ref) || ref.Status != http.StatusNotFound || ref.Code != string(model.CodeAuthNotFound) {
		t.Fatalf("insurer on the bank's request: %v", err)
	}
	got, err := insurer.PresentTicket(ctx, peerlink.PresentTicketRequest{AuthorizationID: authInsurerPending, ReturnURL: "https://claims.insurer.example/back", State: "s"})
	if err != nil || got.Ticket == "" {
		t.Fatalf("insurer on its own request: %+v, %v", got, err)
	}
	// Without a client certificate (the main listener), no ticket.
	r := httptest.NewRequest("POST", peerlink.PresentTicketsPath, strings.NewReader(`{"authorization_id":"`+authInsurerPending+`","return_url":"https://claims.insurer.example/back","state":"s"}`))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	x.provider.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized || errCode(t, w) != CodeClientCertRequired {
		t.Fatalf("without a certificate: %d %s", w.Code, w.Body)
	}
}

// TestCitizenPresentRefusesBadTickets: an altered, foreign or expired
// ticket is not resolved.
func TestCitizenPresentRefusesBadTickets(t *testing.T) {
	x, signer := newPresentNet(t)
	good, _, err := signer.Mint(present.Ticket{AuthorizationID: authBankPending, Requester: "BankMSP", ReturnURL: bankReturn, State: "s"})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := present.NewSigner(bytes.Repeat([]byte{0x5b}, 32), x.clock.now)
	if err != nil {
		t.Fatal(err)
	}
	forged, _, _ := foreign.Mint(present.Ticket{AuthorizationID: authBankPending, Requester: "BankMSP", ReturnURL: "https://evil.example/", State: "s"})
	// The claims of another ticket under the good ticket's signature.
	evil, _, _ := signer.Mint(present.Ticket{AuthorizationID: authBankPending, Requester: "BankMSP", ReturnURL: "https://evil.example/", State: "s"})
	swapped := evil[:strings.LastIndexByte(evil, '.')] + good[strings.LastIndexByte(good, '.'):]
	for _, tt := range []struct{ name, ticket string }{
		{"garbage", "not-a-ticket"},
		{"another key", forged},
		{"claims swapped", swapped},
		{"truncated", good[:len(good)-2]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := resolve(x, tt.ticket)
			if w.Code != http.StatusNotFound || errCode(t, w) != CodeInvalidTicket {
				t.Fatalf("got %d %s, want 404 %s", w.Code, w.Body, CodeInvalidTicket)
			}
		})
	}
	if w := resolve(x, good); w.Code != http.StatusOK {
		t.Fatalf("good ticket: %d %s", w.Code, w.Body)
	}
	x.clock.set(x.clock.now().Add(present.TTL + time.Second))
	if w := resolve(x, good); w.Code != http.StatusGone || errCode(t, w) != CodeTicketExpired {
		t.Fatalf("expired ticket: %d %s", w.Code, w.Body)
	}
}
