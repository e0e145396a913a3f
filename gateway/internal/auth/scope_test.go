package auth

import (
	"slices"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func TestScopes(t *testing.T) {
	now := t0
	sk := newKey(t)
	tk := newTokens(t, sk, &now)

	admin := bank
	admin.Scopes = []string{"reports", ScopeAdmin}
	tok, _, err := tk.Issue(admin)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, claims); err != nil || claims["scope"] != "reports admin" {
		t.Fatalf("scope claim %v (%v)", claims["scope"], err)
	}
	p, err := tk.Verify(tok, KindInstitution)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Scopes, admin.Scopes) || !p.HasScope(ScopeAdmin) || p.HasScope("adm") {
		t.Fatalf("scopes %v", p.Scopes)
	}

	// No scopes, no claim; a nil principal has none.
	tok, _, _ = tk.Issue(bank)
	p, _ = tk.Verify(tok, KindInstitution)
	if p.HasScope(ScopeAdmin) || len(p.Scopes) != 0 {
		t.Fatalf("scopes %v", p.Scopes)
	}
	if (*Principal)(nil).HasScope(ScopeAdmin) {
		t.Fatal("nil principal has a scope")
	}

	// Scopes are refused on citizen tokens and with white space.
	for _, bad := range []Principal{
		{Kind: KindCitizen, Subject: "ref", Scopes: []string{ScopeAdmin}},
		{Kind: KindInstitution, Subject: "c", MSPID: "BankMSP", Scopes: []string{"admin reports"}},
		{Kind: KindInstitution, Subject: "c", MSPID: "BankMSP", Scopes: []string{""}},
	} {
		if _, _, err := tk.Issue(bad); err == nil {
			t.Errorf("Issue(%+v) succeeded", bad)
		}
	}
	// A validly signed citizen token carrying a scope claim is refused.
	c := validClaims(now)
	c["typ"], c["scope"] = "citizen", ScopeAdmin
	delete(c, "msp")
	if _, err := tk.Verify(forge(t, jwt.SigningMethodES256, sk.PrivateKey, sk.ID, c), KindCitizen); err == nil {
		t.Fatal("citizen token with a scope accepted")
	}
}
