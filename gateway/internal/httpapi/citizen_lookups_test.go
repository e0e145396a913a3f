package httpapi

import (
	"context"
	"net/http"
	"testing"

	"github.com/quanchain/quanchain/gateway/internal/auth"
)

// TestCitizenLookups: the citizen sees who looked them up, for which
// purpose and authorisation, newest first; another citizen sees none of
// it, and an institution token is refused.
func TestCitizenLookups(t *testing.T) {
	x := newXnet(t)
	capi, err := NewCitizenAPI(CitizenConfig{Ledger: x.net.Ledger("BureauMSP"), Store: x.store, Channel: "quanchain"})
	if err != nil {
		t.Fatal(err)
	}
	x.provider.Citizen = capi
	ctx := context.Background()
	if _, err := x.remoteFor("BankMSP").PairwiseRef(ctx, lookupQuery("CREDIT_ASSESSMENT", "auth-loan-7")); err != nil {
		t.Fatal(err)
	}
	if _, err := x.remoteFor("InsurerMSP").PairwiseRef(ctx, lookupQuery("UNDERWRITING", "auth-policy-3")); err != nil {
		t.Fatal(err)
	}
	get := func(p auth.Principal, path string) (*http.Response, citizenLookupList) {
		t.Helper()
		tok, _, err := x.provider.Tokens.Issue(p)
		if err != nil {
			t.Fatal(err)
		}
		w := doWithToken(x.provider, "GET", path, tok)
		var out citizenLookupList
		if w.Code == http.StatusOK {
			out = decodeBody[citizenLookupList](t, w)
		}
		return w.Result(), out
	}
	citizen := auth.Principal{Kind: auth.KindCitizen, Subject: x.vaultRefOf(lookupID)}
	resp, list := get(citizen, "/citizen/v1/lookups")
	if resp.StatusCode != http.StatusOK || len(list.Items) != 2 {
		t.Fatalf("lookups: %d %+v", resp.StatusCode, list)
	}
	newest, oldest := list.Items[0], list.Items[1]
	if newest.Requester != "InsurerMSP" || newest.Purpose != "UNDERWRITING" || newest.AuthorizationID != "auth-policy-3" || newest.RequesterName == "" {
		t.Errorf("newest lookup %+v", newest)
	}
	if oldest.Requester != "BankMSP" || oldest.Purpose != "CREDIT_ASSESSMENT" || oldest.AuthorizationID != "auth-loan-7" ||
		oldest.LookedUpAt != now.UTC().Format("2006-01-02T15:04:05Z07:00") {
		t.Errorf("oldest lookup %+v", oldest)
	}
	if _, one := get(citizen, "/citizen/v1/lookups?limit=1"); len(one.Items) != 1 || one.Items[0].AuthorizationID != "auth-policy-3" {
		t.Errorf("limit=1: %+v", one)
	}
	if resp, _ := get(citizen, "/citizen/v1/lookups?limit=500"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("limit=500: %d", resp.StatusCode)
	}
	if resp, other := get(auth.Principal{Kind: auth.KindCitizen, Subject: x.vaultRefOf(withCheck("37010219800101123"))}, "/citizen/v1/lookups"); resp.StatusCode != 200 || len(other.Items) != 0 {
		t.Errorf("another citizen: %d %+v", resp.StatusCode, other)
	}
	if resp, _ := get(auth.Principal{Kind: auth.KindInstitution, Subject: "bank-loans", MSPID: "BankMSP"}, "/citizen/v1/lookups"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("institution token: %d", resp.StatusCode)
	}
}
