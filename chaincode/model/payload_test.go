package model_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
)

var issued = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func sampleAuth() *model.Authorization {
	return &model.Authorization{
		ID: "auth-1", CitizenRef: strings.Repeat("ab", 32), Requester: "BankMSP", Purpose: "CREDIT_ASSESSMENT",
		Categories: []string{"housing_fund", "tax"}, DataFrom: "2025-11-01", DataTo: "2026-10-31",
		ValidUntil: "2026-11-09T09:00:00.000Z", MaxUses: 2, ReferenceHash: strings.Repeat("cd", 32), Seq: 3,
	}
}

// sampleTerms are the registry's terms of sampleAuth: the bank's licence,
// the purpose's retention, the schema versions of housing_fund and tax.
func sampleTerms() model.Terms {
	return model.Terms{Licence: "B0001H237010001", MayStore: true, DataLifeDays: 365, SchemaVersions: []int{1, 2}}
}

func TestTermsOf(t *testing.T) {
	inst := &model.Institution{MSPID: "BankMSP", Licence: "B0001H237010001"}
	p := &model.Purpose{Code: "CREDIT_ASSESSMENT", MayStore: true, DataLifeDays: 365}
	cats := []*model.Category{{Code: "housing_fund", SchemaVersion: 1}, {Code: "tax", SchemaVersion: 2}}
	got := model.TermsOf(inst, p, cats)
	want := sampleTerms()
	if got.Licence != want.Licence || got.MayStore != want.MayStore || got.DataLifeDays != want.DataLifeDays ||
		len(got.SchemaVersions) != 2 || got.SchemaVersions[0] != 1 || got.SchemaVersions[1] != 2 {
		t.Fatalf("TermsOf = %+v, want %+v", got, want)
	}
}

func TestDecisionPayloadRoundTrip(t *testing.T) {
	a := sampleAuth()
	p := model.NewDecisionPayload("quanchain", a, sampleTerms(), model.ActionGrant, issued)
	b := p.Bytes()
	want := `{"type":"quanchain.consent.v2","channel":"quanchain","authorization_id":"auth-1","seq":3,"action":"GRANT",` +
		`"citizen_ref":"` + a.CitizenRef + `","requester":"BankMSP","licence":"B0001H237010001",` +
		`"purpose":"CREDIT_ASSESSMENT","may_store":true,"data_life_days":365,` +
		`"categories":["housing_fund","tax"],"schema_versions":[1,2],"data_from":"2025-11-01","data_to":"2026-10-31",` +
		`"valid_until":"2026-11-09T09:00:00.000Z","max_uses":2,"reference_hash":"` + a.ReferenceHash + `",` +
		`"issued_at":"2026-11-02T09:00:00.000Z"}`
	if string(b) != want {
		t.Fatalf("canonical bytes changed:\n got %s\nwant %s", b, want)
	}
	got, err := model.ParseDecisionPayload(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Match("quanchain", a, sampleTerms()); err != nil {
		t.Fatal(err)
	}
	if err := got.CheckFresh(issued.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
}

func TestParseDecisionPayloadRefusals(t *testing.T) {
	good := model.NewDecisionPayload("quanchain", sampleAuth(), sampleTerms(), model.ActionPause, issued).Bytes()
	withReason := func(action model.Action, reason string) []byte {
		p := model.NewDecisionPayload("quanchain", sampleAuth(), sampleTerms(), action, issued)
		p.Reason = reason
		return p.Bytes()
	}
	indented := func() []byte {
		var buf bytes.Buffer
		_ = json.Indent(&buf, good, "", "  ")
		return buf.Bytes()
	}
	tests := []struct {
		name string
		in   []byte
		want model.Code
	}{
		{"empty", nil, model.CodePayloadInvalid},
		{"oversized", bytes.Repeat([]byte("a"), model.MaxPayloadSize+1), model.CodeInputTooLarge},
		{"not JSON", []byte("GRANT auth-1"), model.CodePayloadInvalid},
		{"indented", indented(), model.CodePayloadInvalid},
		{"trailing data", append(append([]byte{}, good...), []byte(`{}`)...), model.CodePayloadInvalid},
		{"trailing space", append(append([]byte{}, good...), ' '), model.CodePayloadInvalid},
		{"unknown field", bytes.Replace(good, []byte(`{"type"`), []byte(`{"x":1,"type"`), 1), model.CodePayloadInvalid},
		{"duplicate member", bytes.Replace(good, []byte(`"action":"PAUSE"`), []byte(`"action":"PAUSE","action":"GRANT"`), 1), model.CodePayloadInvalid},
		{"other type", bytes.Replace(good, []byte(model.PayloadType), []byte("quanchain.consent.v3"), 1), model.CodePayloadInvalid},
		{"version 1", bytes.Replace(good, []byte(model.PayloadType), []byte("quanchain.consent.v1"), 1), model.CodePayloadInvalid},
		{"NOT_ME on a pause", withReason(model.ActionPause, model.ReasonNotMe), model.CodePayloadInvalid},
		{"NOT_ME on a grant", withReason(model.ActionGrant, model.ReasonNotMe), model.CodePayloadInvalid},
		{"another reason on a deny", withReason(model.ActionDeny, "CHANGED_MIND"), model.CodePayloadInvalid},
		{"empty reason written out", bytes.Replace(good, []byte(`"action":"PAUSE"`), []byte(`"action":"PAUSE","reason":""`), 1), model.CodePayloadInvalid},
		{"schema version missing", bytes.Replace(good, []byte(`"schema_versions":[1,2]`), []byte(`"schema_versions":[1]`), 1), model.CodePayloadInvalid},
		{"schema versions absent", bytes.Replace(good, []byte(`,"schema_versions":[1,2]`), nil, 1), model.CodePayloadInvalid},
		{"retention absent", bytes.Replace(good, []byte(`"may_store":true,"data_life_days":365,`), nil, 1), model.CodePayloadInvalid},
		{"unknown action", bytes.Replace(good, []byte(`"PAUSE"`), []byte(`"SELL"`), 1), model.CodePayloadInvalid},
		{"bad issued_at", bytes.Replace(good, []byte(`2026-11-02T09:00:00.000Z`), []byte(`2026-11-02 09:00:00.000`), 1), model.CodePayloadInvalid},
		{"escaped differently", bytes.Replace(good, []byte(`"BankMSP"`), []byte(`"Bank\u004dSP"`), 1), model.CodePayloadInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := model.ParseDecisionPayload(tc.in)
			if model.CodeOf(err) != tc.want {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
		})
	}
	notMe := withReason(model.ActionDeny, model.ReasonNotMe)
	if !bytes.Contains(notMe, []byte(`"action":"DENY","reason":"NOT_ME"`)) {
		t.Fatalf("reason not after the action: %s", notMe)
	}
	if p, err := model.ParseDecisionPayload(notMe); err != nil || p.Reason != model.ReasonNotMe {
		t.Fatalf("NOT_ME on a deny: %+v, %v", p, err)
	}
}

func TestDecisionPayloadMatch(t *testing.T) {
	base := sampleAuth()
	p := model.NewDecisionPayload("quanchain", base, sampleTerms(), model.ActionGrant, issued)
	changes := map[string]func(a *model.Authorization){
		"id":         func(a *model.Authorization) { a.ID = "auth-2" },
		"seq":        func(a *model.Authorization) { a.Seq++ },
		"citizen":    func(a *model.Authorization) { a.CitizenRef = strings.Repeat("ef", 32) },
		"requester":  func(a *model.Authorization) { a.Requester = "InsurerMSP" },
		"purpose":    func(a *model.Authorization) { a.Purpose = "LOAN_MONITORING" },
		"categories": func(a *model.Authorization) { a.Categories = []string{"tax"} },
		"category":   func(a *model.Authorization) { a.Categories = []string{"housing_fund", "social_security"} },
		"range":      func(a *model.Authorization) { a.DataFrom = "2025-01-01" },
		"validity":   func(a *model.Authorization) { a.ValidUntil = "2026-12-09T09:00:00.000Z" },
		"uses":       func(a *model.Authorization) { a.MaxUses = 3 },
		"reference":  func(a *model.Authorization) { a.ReferenceHash = strings.Repeat("00", 32) },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			a := *base
			a.Categories = append([]string(nil), base.Categories...)
			change(&a)
			if err := p.Match("quanchain", &a, sampleTerms()); model.CodeOf(err) != model.CodePayloadMismatch {
				t.Fatalf("got %v", err)
			}
		})
	}
	termChanges := map[string]func(t *model.Terms){
		"licence":           func(t *model.Terms) { t.Licence = "B0001H237010002" },
		"may store":         func(t *model.Terms) { t.MayStore = false },
		"data life":         func(t *model.Terms) { t.DataLifeDays = 730 },
		"schema version":    func(t *model.Terms) { t.SchemaVersions[1] = 3 },
		"schema versions":   func(t *model.Terms) { t.SchemaVersions = t.SchemaVersions[:1] },
		"no schema version": func(t *model.Terms) { t.SchemaVersions = nil },
	}
	for name, change := range termChanges {
		t.Run("terms/"+name, func(t *testing.T) {
			terms := sampleTerms()
			change(&terms)
			if err := p.Match("quanchain", base, terms); model.CodeOf(err) != model.CodePayloadMismatch {
				t.Fatalf("got %v", err)
			}
		})
	}
	if err := p.Match("other-city", base, sampleTerms()); model.CodeOf(err) != model.CodePayloadMismatch {
		t.Fatalf("channel: got %v", err)
	}
	if err := p.CheckFresh(issued.Add(25 * time.Hour)); model.CodeOf(err) != model.CodePayloadInvalid {
		t.Fatalf("stale: got %v", err)
	}
	if err := p.CheckFresh(issued.Add(-time.Hour)); model.CodeOf(err) != model.CodePayloadInvalid {
		t.Fatalf("future: got %v", err)
	}
}

// FuzzParseSignedPayload: parsing arbitrary bytes never panics, and whatever
// parses re-encodes to exactly the same bytes (one reading per signature).
func FuzzParseSignedPayload(f *testing.F) {
	f.Add(model.NewDecisionPayload("quanchain", sampleAuth(), sampleTerms(), model.ActionGrant, issued).Bytes())
	f.Add(model.NewDecisionPayload("quanchain", &model.Authorization{ID: "x"}, model.Terms{}, model.ActionRevoke, issued).Bytes())
	f.Add([]byte(`{"type":"quanchain.consent.v1","action":"GRANT","action":"DENY"}`))
	f.Add([]byte(`{"type":"quanchain.consent.v1","categories":null}`))
	f.Add([]byte(`{"type":"quanchain.consent.v2","action":"DENY","reason":"NOT_ME","schema_versions":null}`))
	f.Add([]byte("\xef\xbb\xbf{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := model.ParseDecisionPayload(b)
		if err != nil {
			if model.CodeOf(err) == "" {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		if !bytes.Equal(p.Bytes(), b) {
			t.Fatalf("accepted non-canonical bytes %q", b)
		}
		if !p.Action.Valid() || p.Type != model.PayloadType {
			t.Fatalf("accepted %+v", p)
		}
	})
}
