package httpapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/exchange"
	"github.com/quanchain/quanchain/gateway/internal/synth"
)

type availabilityOut struct {
	AuthorizationID string                          `json:"authorization_id"`
	DataFrom        string                          `json:"data_from"`
	DataTo          string                          `json:"data_to"`
	Categories      []exchange.CategoryAvailability `json:"categories"`
}

func TestDataAvailability(t *testing.T) {
	x := newXnet(t)
	// A second authorisation of the applicant, for real estate, which the
	// applicant's safe does not hold.
	x.authorize("BankMSP", x.applicantRef, model.AuthorizationRequest{ID: "auth-bank-2", Purpose: "CREDIT_ASSESSMENT",
		Categories: []string{synth.HousingFund, synth.RealEstate}, MaxUses: 1})
	x.net.ClearCalls()

	cases := []struct {
		name, query string
		want        []exchange.CategoryAvailability
	}{
		{"both held", "authorization_id=" + authBank + "&categories=tax,housing_fund",
			[]exchange.CategoryAvailability{{Category: "housing_fund", Available: true}, {Category: "tax", Available: true}}},
		{"all the authorisation's", "authorization_id=" + authBank,
			[]exchange.CategoryAvailability{{Category: "housing_fund", Available: true}, {Category: "tax", Available: true}}},
		{"one not held", "authorization_id=auth-bank-2&categories=real_estate,housing_fund",
			[]exchange.CategoryAvailability{{Category: "housing_fund", Available: true}, {Category: "real_estate", Available: false}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := x.bank.do(t, "GET", "/v1/data-availability?"+tc.query, "")
			if w.Code != 200 {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			got := decodeBody[availabilityOut](t, w)
			if !slices.Equal(got.Categories, tc.want) || got.DataFrom != "2025-11-01" || got.DataTo != "2026-10-31" {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	// No use spent, nothing submitted.
	if subs := x.accessSubmits(); len(subs) != 0 || x.auth(authBank).Uses != 0 || x.auth("auth-bank-2").Uses != 0 {
		t.Fatalf("availability spent a use: %d submits, uses %d, %d", len(subs), x.auth(authBank).Uses, x.auth("auth-bank-2").Uses)
	}
	for _, c := range x.net.Calls() {
		if c.Submit {
			t.Fatalf("availability submitted %s", c.Name)
		}
	}

	refusals := []struct {
		name, query string
		status      int
		code        string
	}{
		{"another institution's", "authorization_id=" + authInsurer + "&categories=medical_settlement", http.StatusForbidden, string(model.CodeRequesterMismatch)},
		{"not covered", "authorization_id=" + authBank + "&categories=real_estate", http.StatusForbidden, string(model.CodeCategoryOutOfScope)},
		{"no such", "authorization_id=auth-none", http.StatusNotFound, string(model.CodeAuthNotFound)},
		{"bad category", "authorization_id=" + authBank + "&categories=tax,,", http.StatusBadRequest, CodeInvalidArgument},
		{"unknown parameter", "authorization_id=" + authBank + "&mode=records", http.StatusBadRequest, CodeInvalidArgument},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			w := x.bank.do(t, "GET", "/v1/data-availability?"+tc.query, "")
			if w.Code != tc.status || errCode(t, w) != tc.code {
				t.Fatalf("%d %s, want %d %s", w.Code, w.Body, tc.status, tc.code)
			}
		})
	}

	// The provider checks the caller itself: the bank's gateway asking
	// straight about the insurer's authorisation is refused.
	_, err := x.bank.client.Availability(context.Background(), exchange.AvailabilityRequest{AuthorizationID: authInsurer,
		Categories: []string{synth.MedicalSettlement}})
	var pe *exchange.ProviderError
	if !errors.As(err, &pe) || pe.Status != http.StatusForbidden || pe.Code != string(model.CodeRequesterMismatch) {
		t.Fatalf("provider answered the bank about the insurer's authorisation: %v", err)
	}

	// A death registration's availability would say whether the citizen
	// died in the range without spending a use: not answered, whether
	// asked for or implied by the authorisation's categories.
	for _, q := range []string{"", "&categories=death_registration"} {
		w := x.insurer.do(t, "GET", "/v1/data-availability?authorization_id="+authInsurer+q, "")
		if w.Code != http.StatusUnprocessableEntity || errCode(t, w) != exchange.CodeAvailabilityNotOffered {
			t.Fatalf("death registration%s: %d %s", q, w.Code, w.Body)
		}
	}

	// A revoked record is no data: the claimant's medical settlements,
	// withdrawn at their source (revoked on the ledger and marked in the
	// safe), leave the category without.
	med := "/v1/data-availability?authorization_id=" + authInsurer + "&categories=medical_settlement"
	if got := decodeBody[availabilityOut](t, x.insurer.do(t, "GET", med, "")); !slices.Equal(got.Categories,
		[]exchange.CategoryAvailability{{Category: "medical_settlement", Available: true}}) {
		t.Fatalf("before the revocation: %+v", got)
	}
	for h, body := range x.imported {
		if strings.Contains(string(body), `"medical_settlement"`) {
			x.revoke(h, synth.MedicalSettlement)
			if err := x.store.SetRecordRevoked(context.Background(), h, true); err != nil {
				t.Fatal(err)
			}
		}
	}
	w := x.insurer.do(t, "GET", med, "")
	if got := decodeBody[availabilityOut](t, w); w.Code != 200 || !slices.Equal(got.Categories, []exchange.CategoryAvailability{
		{Category: "medical_settlement", Available: false}}) {
		t.Fatalf("after the revocation: %d %s", w.Code, w.Body)
	}

	// Revoked, paused: refused as a delivery would be.
	x.decide("auth-bank-2", model.ActionPause)
	if w := x.bank.do(t, "GET", "/v1/data-availability?authorization_id=auth-bank-2", ""); w.Code != 409 || errCode(t, w) != string(model.CodeAuthPaused) {
		t.Fatalf("paused: %d %s", w.Code, w.Body)
	}
	x.decide(authBank, model.ActionRevoke)
	if w := x.bank.do(t, "GET", "/v1/data-availability?authorization_id="+authBank, ""); w.Code != 409 || errCode(t, w) != string(model.CodeAuthRevoked) {
		t.Fatalf("revoked: %d %s", w.Code, w.Body)
	}
}

type accessListOut struct {
	Items      []accessView `json:"items"`
	NextCursor string       `json:"next_cursor"`
}

func TestListAccessesOwnOnly(t *testing.T) {
	x := newXnet(t)
	var digests []string
	for i, cats := range [][]string{{synth.Tax}, {synth.HousingFund, synth.Tax}} {
		x.clock.set(now.Add(time.Duration(i) * time.Minute)) // oldest first: one access a minute
		w := x.bank.do(t, "POST", "/v1/data-requests", recordsRequest(authBank, cats...))
		if w.Code != 200 {
			t.Fatalf("bank data request: %d %s", w.Code, w.Body)
		}
		digests = append(digests, decodeBody[dataResult](t, w).Digest)
	}
	if w := x.insurer.do(t, "POST", "/v1/data-requests", recordsRequest(authInsurer, synth.MedicalSettlement)); w.Code != 200 {
		t.Fatalf("insurer data request: %d %s", w.Code, w.Body)
	}

	w := x.bank.do(t, "GET", "/v1/accesses", "")
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	got := decodeBody[accessListOut](t, w)
	if len(got.Items) != 2 {
		t.Fatalf("bank sees %d accesses, want its 2: %+v", len(got.Items), got.Items)
	}
	for i, a := range got.Items {
		if a.AuthorizationID != authBank || a.UseNumber != i+1 || a.Digest != digests[i] || a.Mode != "records" || a.TxID == "" || a.AccessedAt == "" {
			t.Fatalf("access %d: %+v", i, a)
		}
	}
	if !slices.Equal(got.Items[1].Categories, []string{"housing_fund", "tax"}) {
		t.Fatalf("categories %v", got.Items[1].Categories)
	}
	if b := w.Body.String(); containsAny(b, x.auth(authBank).CitizenRef, "citizen_ref", "purpose") {
		t.Fatalf("the listing names the citizen or the purpose: %s", b)
	}

	// Pages.
	w = x.bank.do(t, "GET", "/v1/accesses?limit=1", "")
	page := decodeBody[accessListOut](t, w)
	if len(page.Items) != 1 || page.NextCursor == "" {
		t.Fatalf("first page %+v", page)
	}
	w = x.bank.do(t, "GET", "/v1/accesses?limit=1&cursor="+page.NextCursor, "")
	if p2 := decodeBody[accessListOut](t, w); len(p2.Items) != 1 || p2.Items[0].AccessID != got.Items[1].AccessID {
		t.Fatalf("second page %+v", p2)
	}
	// A window that ends before the first access holds none.
	w = x.bank.do(t, "GET", "/v1/accesses?until=2026-01-01T00:00:00Z", "")
	if w.Code != 200 || len(decodeBody[accessListOut](t, w).Items) != 0 {
		t.Fatalf("until before the accesses: %d %s", w.Code, w.Body)
	}

	// The insurer sees its one access only.
	w = x.insurer.do(t, "GET", "/v1/accesses", "")
	ins := decodeBody[accessListOut](t, w)
	if len(ins.Items) != 1 || ins.Items[0].AuthorizationID != authInsurer {
		t.Fatalf("insurer sees %+v", ins.Items)
	}

	for _, q := range []string{"since=yesterday", "limit=0", "limit=101", "status=GRANTED", "since=2026-01-01T00:00:00Z&since=2026-01-02T00:00:00Z"} {
		if w := x.bank.do(t, "GET", "/v1/accesses?"+q, ""); w.Code != 400 || errCode(t, w) != CodeInvalidArgument {
			t.Errorf("%s: %d %s", q, w.Code, w.Body)
		}
	}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
