package httpapi

import (
	"context"
	"github.com/quanchain/quanchain/gateway/internal/exchange"
	"github.com/quanchain/quanchain/gateway/internal/peerlink"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestPeerClientsKeepTheirOwnTLS: the provider client (HTTP/2) and the
// pseudonym client built from one TLS configuration keep working after
// their first connections are gone. The HTTP/2 transport adds "h2" to its
// configuration in place; a pseudonym client sharing that configuration
// negotiated h2 on its next new connection and then spoke HTTP/1.1 into
// it, and every lookup failed from then on.
func TestPeerClientsKeepTheirOwnTLS(t *testing.T) {
	x := newXnet(t)
	shared, err := x.pki.Link("BankMSP").ClientConfig("BureauMSP")
	if err != nil {
		t.Fatal(err)
	}
	before := slices.Clone(shared.NextProtos)
	pc, err := peerlink.NewProviderClient(x.peer.URL, shared)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	remote, err := peerlink.NewRemotePseudonymiser(x.peer.URL, shared)
	if err != nil {
		t.Fatal(err)
	}
	defer remote.CloseIdleConnections()

	ctx := context.Background()
	const id = "11010519491231002X"
	for round := range 3 {
		if err := pc.Ping(ctx); err != nil {
			t.Fatalf("round %d: provider ping: %v", round, err)
		}
		if _, err := pc.Deliver(ctx, exchange.DeliveryRequest{}); err == nil {
			t.Fatalf("round %d: an empty delivery request was accepted", round)
		}
		if _, err := remote.PairwiseRef(ctx, PseudonymQuery{IDNumber: id, Purpose: "CREDIT_ASSESSMENT", AuthorizationID: "auth-tls"}); err != nil {
			t.Fatalf("round %d: pseudonym lookup: %v", round, err)
		}
		if err := remote.Ping(ctx); err != nil {
			t.Fatalf("round %d: pseudonym ping: %v", round, err)
		}
		// What an idle timeout does: the next request dials anew.
		pc.Close()
		remote.CloseIdleConnections()
	}
	if !slices.Equal(shared.NextProtos, before) {
		t.Fatalf("a client changed the caller's TLS configuration: NextProtos %q, was %q", shared.NextProtos, before)
	}
}

// TestReadyzFollowsTheOperator: a requester gateway is ready only while the
// operator's gateway answers over mutual TLS, and says which is missing.
func TestReadyzFollowsTheOperator(t *testing.T) {
	x := newXnet(t)
	cfg, err := x.pki.Link("BankMSP").ClientConfig("BureauMSP")
	if err != nil {
		t.Fatal(err)
	}
	remote, err := peerlink.NewRemotePseudonymiser(x.peer.URL, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer remote.CloseIdleConnections()
	pc := x.bank.client
	srv := x.bank.srv
	srv.ReadyChecks = []ReadyCheck{
		{Name: "the operator's provider API", Code: CodeProviderUnavailable, Check: pc.Ping},
		{Name: "the operator's pseudonym service", Code: CodePseudonymUnavailable, Check: remote.Ping},
	}
	get := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
		return w
	}
	if w := get(); w.Code != 200 {
		t.Fatalf("operator up: readyz %d %s", w.Code, w.Body)
	}
	x.peer.Close()
	w := get()
	if w.Code != 503 || !strings.Contains(w.Body.String(), `"code":"`+CodeProviderUnavailable+`"`) || w.Header().Get("Retry-After") == "" {
		t.Fatalf("operator down: readyz %d %s (Retry-After %q)", w.Code, w.Body, w.Header().Get("Retry-After"))
	}
}
