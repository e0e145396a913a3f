package httpapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/peerlink"
	"github.com/quanchain/quanchain/gateway/internal/peerlink/peerlinktest"
	"github.com/quanchain/quanchain/gateway/internal/synth"
)

// lookupID is a citizen no fixture has looked up.
const lookupID = "11010519491231002X"

// remoteFor returns the pseudonym client of organisation msp's gateway,
// presenting cert (msp's user TLS certificate if none is given).
func (x *xnet) remoteFor(msp string, cert ...tls.Certificate) *peerlink.RemotePseudonymiser {
	t := x.t
	t.Helper()
	link := x.pki.Link(msp)
	if len(cert) > 0 {
		var err error
		if link, err = peerlink.New(msp, cert[0], x.pki.Orgs()); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := link.ClientConfig("BureauMSP")
	if err != nil {
		t.Fatal(err)
	}
	r, err := peerlink.NewRemotePseudonymiser(x.peer.URL, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.CloseIdleConnections)
	return r
}

func lookupQuery(purpose, authID string) PseudonymQuery {
	return PseudonymQuery{IDNumber: lookupID, Purpose: purpose, AuthorizationID: authID}
}

// vaultRefOf is the operator's own ref of an ID number.
func (x *xnet) vaultRefOf(id string) string {
	x.t.Helper()
	ref, err := x.operatorPS.Ref(id)
	if err != nil {
		x.t.Fatal(err)
	}
	return ref
}

// TestPairwiseRefsOverMutualTLS: a bank and an insurer each get their own
// ref for one citizen from the operator's gateway — the operator's
// pairwise ref for their organisation, neither the other's nor the vault
// ref — and both lookups are recorded with purpose and authorisation.
func TestPairwiseRefsOverMutualTLS(t *testing.T) {
	x := newXnet(t)
	ctx := context.Background()
	vaultRef := x.vaultRefOf(lookupID)

	bank, err := x.remoteFor("BankMSP").PairwiseRef(ctx, PseudonymQuery{IDNumber: strings.ToLower(lookupID),
		Purpose: "CREDIT_ASSESSMENT", AuthorizationID: "auth-loan-1"})
	if err != nil {
		t.Fatal(err)
	}
	insurer, err := x.remoteFor("InsurerMSP").PairwiseRef(ctx, lookupQuery("CLAIM_SETTLEMENT", "auth-claim-1"))
	if err != nil {
		t.Fatal(err)
	}
	if want := x.operatorPS.PairwiseRef("BankMSP", vaultRef); bank != want {
		t.Errorf("bank's ref %s, want %s", bank, want)
	}
	if want := x.operatorPS.PairwiseRef("InsurerMSP", vaultRef); insurer != want {
		t.Errorf("insurer's ref %s, want %s", insurer, want)
	}
	if bank == insurer || bank == vaultRef || insurer == vaultRef {
		t.Fatalf("refs not pairwise: bank %s, insurer %s, vault %s", bank, insurer, vaultRef)
	}

	lookups, err := x.store.PseudonymLookups(ctx, vaultRef, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(lookups) != 2 {
		t.Fatalf("%d lookups recorded, want 2: %+v", len(lookups), lookups)
	}
	got := map[string]string{}
	for _, l := range lookups {
		got[l.RequesterMSP] = l.PairwiseRef + " " + l.Purpose + " " + l.AuthorizationID
	}
	if got["BankMSP"] != bank+" CREDIT_ASSESSMENT auth-loan-1" || got["InsurerMSP"] != insurer+" CLAIM_SETTLEMENT auth-claim-1" {
		t.Errorf("recorded lookups %v", got)
	}
	for msp, ref := range map[string]string{"BankMSP": bank, "InsurerMSP": insurer} {
		if v, err := x.store.VaultRefFor(ctx, msp, ref); err != nil || v != vaultRef {
			t.Errorf("VaultRefFor(%s) = %s, %v", msp, v, err)
		}
	}
	if _, err := x.store.VaultRefFor(ctx, "InsurerMSP", bank); err == nil {
		t.Error("the insurer's lookup resolves the bank's ref")
	}
}

// TestPseudonymServiceRefusals: the operator answers only a registered,
// active bank or insurer, through its gateway's client certificate, for a
// stated purpose open to its kind; every refusal has its status and code,
// and nothing refused is recorded.
func TestPseudonymServiceRefusals(t *testing.T) {
	peerCert := func(x *xnet) tls.Certificate { return x.pki.CAs["BankMSP"].Issue(x.t, peerlinktest.PeerServer) }
	for _, tc := range []struct {
		name   string
		setup  func(x *xnet)
		msp    string
		cert   func(x *xnet) tls.Certificate
		q      PseudonymQuery
		status int
		code   string
	}{
		{name: "a peer's server certificate", msp: "BankMSP", cert: peerCert,
			q: lookupQuery("CREDIT_ASSESSMENT", "auth-1"), status: 403, code: CodeGatewayIdentityRequired},
		{name: "a certificate with OU=peer", msp: "BankMSP", cert: func(x *xnet) tls.Certificate {
			return x.pki.CAs["BankMSP"].Issue(x.t, func(c *x509.Certificate) { c.Subject.OrganizationalUnit = []string{"peer"} })
		}, q: lookupQuery("CREDIT_ASSESSMENT", "auth-1"), status: 403, code: CodeGatewayIdentityRequired},
		{name: "a suspended institution", msp: "BankMSP", setup: func(x *xnet) {
			x.submit("BureauMSP", "registry:SetInstitutionStatus", "BankMSP", model.StatusSuspended)
		}, q: lookupQuery("CREDIT_ASSESSMENT", "auth-1"), status: 403, code: string(model.CodeInstitutionInactive)},
		{name: "an institution that does not request data (the operator)", msp: "BureauMSP",
			q: lookupQuery("CREDIT_ASSESSMENT", "auth-1"), status: 403, code: string(model.CodeForbiddenMSP)},
		{name: "no purpose", msp: "BankMSP", q: PseudonymQuery{IDNumber: lookupID, AuthorizationID: "auth-1"},
			status: 400, code: CodePurposeRequired},
		{name: "no authorisation", msp: "BankMSP", q: PseudonymQuery{IDNumber: lookupID, Purpose: "CREDIT_ASSESSMENT"},
			status: 400, code: CodePurposeRequired},
		{name: "a purpose not open to banks", msp: "BankMSP", q: lookupQuery("CLAIM_SETTLEMENT", "auth-1"),
			status: 403, code: string(model.CodeForbiddenMSP)},
		{name: "an unknown purpose", msp: "BankMSP", q: lookupQuery("CASINO_MARKETING", "auth-1"),
			status: 422, code: string(model.CodePurposeNotFound)},
		{name: "an invalid ID number", msp: "BankMSP",
			q:      PseudonymQuery{IDNumber: "110105194912310021", Purpose: "CREDIT_ASSESSMENT", AuthorizationID: "auth-1"},
			status: 400, code: CodeInvalidIDNumber},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newXnet(t)
			if tc.setup != nil {
				tc.setup(x)
			}
			var certs []tls.Certificate
			if tc.cert != nil {
				certs = append(certs, tc.cert(x))
			}
			_, err := x.remoteFor(tc.msp, certs...).PairwiseRef(context.Background(), tc.q)
			var ref *peerlink.PseudonymRefusal
			if !errors.As(err, &ref) || ref.Status != tc.status || ref.Code != tc.code {
				t.Fatalf("got %v (%+v), want %d %s", err, ref, tc.status, tc.code)
			}
			if errors.Is(err, ErrPseudonymUnavailable) {
				t.Errorf("a refusal reads as a temporary failure: %v", err)
			}
			if l, err := x.store.PseudonymLookups(context.Background(), x.vaultRefOf(lookupID), 10); err != nil || len(l) != 0 {
				t.Errorf("refused lookup recorded: %+v, %v", l, err)
			}
		})
	}

	t.Run("no client certificate", func(t *testing.T) {
		x := newXnet(t)
		anonymous := &peerlink.RemotePseudonymiser{BaseURL: x.peer.URL, Client: &http.Client{Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}} // #nosec G402 -- the test's point is the missing client certificate
		if _, err := anonymous.PairwiseRef(context.Background(), lookupQuery("CREDIT_ASSESSMENT", "auth-1")); !errors.Is(err, ErrPseudonymUnavailable) {
			t.Fatalf("caller without a client certificate: %v", err)
		}
		if _, err := (&peerlink.RemotePseudonymiser{}).PairwiseRef(context.Background(), lookupQuery("CREDIT_ASSESSMENT", "auth-1")); !errors.Is(err, ErrPseudonymUnavailable) {
			t.Fatalf("unconfigured: %v", err)
		}
	})
}

// TestPseudonymRateLimitPerInstitution: past its lookups a minute, an
// institution is answered 429 RATE_LIMITED with a Retry-After, whatever
// address it calls from; another institution is still served.
func TestPseudonymRateLimitPerInstitution(t *testing.T) {
	x := newXnet(t)
	x.provider.pseudo = newPseudonymState(2, x.provider.Ledger)
	ctx := context.Background()
	bank := x.remoteFor("BankMSP")
	for i := range 2 {
		if _, err := bank.PairwiseRef(ctx, lookupQuery("CREDIT_ASSESSMENT", "auth-"+strconv.Itoa(i))); err != nil {
			t.Fatalf("lookup %d: %v", i+1, err)
		}
	}
	// A second gateway of the bank shares the bank's allowance.
	_, err := x.remoteFor("BankMSP").PairwiseRef(ctx, lookupQuery("CREDIT_ASSESSMENT", "auth-2"))
	var ref *peerlink.PseudonymRefusal
	if !errors.As(err, &ref) || ref.Status != http.StatusTooManyRequests || ref.Code != CodeRateLimited {
		t.Fatalf("third lookup: %v", err)
	}
	// 2 a minute: the next lookup is 30 s away.
	if ref.RetryAfter.Seconds() < 1 || ref.RetryAfter.Seconds() > 30 {
		t.Errorf("Retry-After %s", ref.RetryAfter)
	}
	if !errors.Is(err, ErrPseudonymUnavailable) {
		t.Errorf("a rate limit is not temporary: %v", err)
	}
	if _, err := x.remoteFor("InsurerMSP").PairwiseRef(ctx, lookupQuery("CLAIM_SETTLEMENT", "auth-9")); err != nil {
		t.Fatalf("another institution: %v", err)
	}
	if l, _ := x.store.PseudonymLookups(ctx, x.vaultRefOf(lookupID), 10); len(l) != 3 {
		t.Errorf("%d lookups recorded, want 3", len(l))
	}

	// The bank's own API passes the limit on as a temporary failure.
	w := x.bank.do(t, "POST", "/v1/authorizations", validBody(func(m map[string]any) { m["citizen_id"] = lookupID }))
	if w.Code != http.StatusServiceUnavailable || errCode(t, w) != CodePseudonymUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("bank API over the operator's limit: %d %s (Retry-After %q)", w.Code, w.Body, w.Header().Get("Retry-After"))
	}
}

// TestAuthorizationUnderPairwiseRef: the bank's POST /v1/authorizations
// obtains its own ref for the applicant (the lookup naming this purpose
// and authorisation), and the provider finds the applicant's records
// behind it when the bank fetches the data the citizen granted. An
// authorisation under a ref the operator never gave the bank names no one
// and is refused.
func TestAuthorizationUnderPairwiseRef(t *testing.T) {
	x := newXnet(t)
	ctx := context.Background()
	applicantID := synth.Citizens(42, 2)[applicantIdx].IDNumber
	w := x.bank.do(t, "POST", "/v1/authorizations", validBody(func(m map[string]any) {
		m["citizen_id"] = applicantID
		m["valid_until"] = validUntil
		m["categories"] = []string{synth.HousingFund}
	}))
	if w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	a := decodeBody[model.Authorization](t, w)
	if want := x.operatorPS.PairwiseRef("BankMSP", x.applicantRef); a.CitizenRef != want {
		t.Fatalf("authorisation under %s, want the bank's pairwise ref %s", a.CitizenRef, want)
	}
	lookups, err := x.store.PseudonymLookups(ctx, x.applicantRef, 1)
	if err != nil || len(lookups) != 1 || lookups[0].AuthorizationID != a.ID || lookups[0].Purpose != "CREDIT_ASSESSMENT" {
		t.Fatalf("latest lookup of the applicant %+v, %v", lookups, err)
	}
	x.decide(a.ID, model.ActionGrant)
	w = x.bank.do(t, "POST", "/v1/data-requests", recordsRequest(a.ID, synth.HousingFund))
	if w.Code != http.StatusOK {
		t.Fatalf("data request: %d %s", w.Code, w.Body)
	}
	res := decodeBody[dataResult](t, w)
	if !res.Verified || len(res.Records) != 12 {
		t.Fatalf("delivery: verified %v, %d records, want 12", res.Verified, len(res.Records))
	}

	// The same terms under the vault ref, which the operator never hands
	// out: refused before anything is built or recorded.
	const stray = "auth-bank-vault-ref"
	if _, err := x.bank.ledger.RequestAuthorization(ctx, model.AuthorizationRequest{ID: stray, CitizenRef: x.applicantRef,
		Purpose: "CREDIT_ASSESSMENT", Categories: []string{synth.HousingFund}, DataFrom: "2025-11-01", DataTo: "2026-10-31",
		ValidUntil: validUntil, MaxUses: 1, ReferenceHash: sha256Hex("stray"),
		Subject: x.subject("BankMSP", x.applicantRef, x.applicantRef)}); err != nil {
		t.Fatal(err)
	}
	dev, err := x.net.EnrolWithID(ctx, x.applicantRef, applicantID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.net.Decide(ctx, dev, stray, model.ActionGrant); err != nil {
		t.Fatal(err)
	}
	x.net.ClearCalls()
	w = x.bank.do(t, "POST", "/v1/data-requests", recordsRequest(stray, synth.HousingFund))
	if w.Code != http.StatusUnprocessableEntity || errCode(t, w) != "CITIZEN_REF_UNKNOWN" {
		t.Fatalf("authorisation under an unknown ref: %d %s", w.Code, w.Body)
	}
	if got := x.accessSubmits(); len(got) != 0 {
		t.Fatalf("access submitted for an unknown ref: %v", got)
	}
}

// doWithToken sends a request to srv with a bearer token.
func doWithToken(srv *Server, method, path, tok string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, r)
	return w
}

// TestAuditLookup: the auditor gets the ref a named requester knows a
// citizen by, for an audit case, and the lookup is recorded as the
// auditor's; a requester cannot look up for purpose AUDIT, nor an auditor
// without naming the requester and the case.
func TestAuditLookup(t *testing.T) {
	x := newXnet(t)
	ctx := context.Background()
	vaultRef := x.vaultRefOf(lookupID)
	q := PseudonymQuery{IDNumber: lookupID, Purpose: "AUDIT", ForRequester: "InsurerMSP", CaseID: "case-2026-7"}
	ref, err := x.remoteFor("AuditMSP").PairwiseRef(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if want := x.operatorPS.PairwiseRef("InsurerMSP", vaultRef); ref != want {
		t.Fatalf("audit ref %s, want the insurer's %s", ref, want)
	}
	lookups, err := x.store.PseudonymLookups(ctx, vaultRef, 10)
	if err != nil || len(lookups) != 1 || lookups[0].RequesterMSP != "AuditMSP" || lookups[0].Purpose != "AUDIT" ||
		lookups[0].AuthorizationID != "case-2026-7" {
		t.Fatalf("recorded %+v, %v", lookups, err)
	}
	if _, err := x.store.VaultRefFor(ctx, "InsurerMSP", ref); err == nil {
		t.Error("the auditor's lookup resolves as the insurer's")
	}
	var refusal *peerlink.PseudonymRefusal
	if _, err := x.remoteFor("BankMSP").PairwiseRef(ctx, q); !errors.As(err, &refusal) || refusal.Code != string(model.CodeForbiddenMSP) {
		t.Errorf("a bank's audit lookup: %v", err)
	}
	noCase := q
	noCase.CaseID = ""
	if _, err := x.remoteFor("AuditMSP").PairwiseRef(ctx, noCase); !errors.As(err, &refusal) || refusal.Code != CodePurposeRequired {
		t.Errorf("an audit lookup without a case: %v", err)
	}
	if n, _ := x.store.PseudonymLookups(ctx, vaultRef, 10); len(n) != 1 {
		t.Errorf("refused lookups were recorded: %d", len(n))
	}
}
