package contract_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
)

func TestRequestAuthorization(t *testing.T) {
	ref := citizenRef(1)
	mod := func(f func(r *model.AuthorizationRequest)) string {
		r := lendingRequest("auth-1", ref)
		f(&r)
		return mustJSON(r)
	}
	tests := []struct {
		name  string
		msp   string
		input string
		want  model.Code
	}{
		{"provider cannot request", opMSP, mod(func(*model.AuthorizationRequest) {}), model.CodeForbiddenMSP},
		{"auditor cannot request", auditMSP, mod(func(*model.AuthorizationRequest) {}), model.CodeForbiddenMSP},
		{"unregistered org cannot request", rogueMSP, mod(func(*model.AuthorizationRequest) {}), model.CodeForbiddenMSP},
		{"insurer cannot use a lending purpose", insurerMSP, mod(func(*model.AuthorizationRequest) {}), model.CodeForbiddenMSP},
		{"category outside the purpose", bankMSP, mod(func(r *model.AuthorizationRequest) { r.Categories = []string{"medical_settlement"} }), model.CodePurposeLimitExceeded},
		{"validity over the ceiling", bankMSP, mod(func(r *model.AuthorizationRequest) { r.ValidUntil = t0.Add(31 * 24 * time.Hour).Format(time.RFC3339) }), model.CodePurposeLimitExceeded},
		{"uses over the ceiling", bankMSP, mod(func(r *model.AuthorizationRequest) { r.MaxUses = 4 }), model.CodePurposeLimitExceeded},
		{"data range over the ceiling", bankMSP, mod(func(r *model.AuthorizationRequest) { r.DataFrom = "2023-01-01" }), model.CodePurposeLimitExceeded},
		{"unknown category", bankMSP, mod(func(r *model.AuthorizationRequest) { r.Categories = []string{"dna"} }), model.CodeCategoryNotFound},
		{"unknown purpose", bankMSP, mod(func(r *model.AuthorizationRequest) { r.Purpose = "MARKETING" }), model.CodePurposeNotFound},
		{"duplicate category", bankMSP, mod(func(r *model.AuthorizationRequest) { r.Categories = []string{"tax", "tax"} }), model.CodeInvalidArgument},
		{"no categories", bankMSP, mod(func(r *model.AuthorizationRequest) { r.Categories = nil }), model.CodeInvalidArgument},
		{"too many categories", bankMSP, mod(func(r *model.AuthorizationRequest) { r.Categories = make([]string, 17) }), model.CodeInputTooLarge},
		{"an ID number as citizen", bankMSP, mod(func(r *model.AuthorizationRequest) { r.CitizenRef = "370102199003071234" }), model.CodeInvalidArgument},
		{"bad id", bankMSP, mod(func(r *model.AuthorizationRequest) { r.ID = "a b" }), model.CodeInvalidArgument},
		{"bad reference hash", bankMSP, mod(func(r *model.AuthorizationRequest) { r.ReferenceHash = "LOAN-2026-0001" }), model.CodeInvalidArgument},
		{"bad date", bankMSP, mod(func(r *model.AuthorizationRequest) { r.DataFrom = "2025-13-01" }), model.CodeInvalidArgument},
		{"inverted range", bankMSP, mod(func(r *model.AuthorizationRequest) { r.DataFrom, r.DataTo = r.DataTo, r.DataFrom }), model.CodeInvalidArgument},
		{"bad valid_until", bankMSP, mod(func(r *model.AuthorizationRequest) { r.ValidUntil = "next week" }), model.CodeInvalidArgument},
		{"valid_until in the past", bankMSP, mod(func(r *model.AuthorizationRequest) { r.ValidUntil = t0.Add(-time.Second).Format(time.RFC3339) }), model.CodeInvalidArgument},
		{"zero uses", bankMSP, mod(func(r *model.AuthorizationRequest) { r.MaxUses = 0 }), model.CodeInvalidArgument},
		{"malformed JSON", bankMSP, `{"id":"auth-1",`, model.CodeMalformedJSON},
		{"unknown field", bankMSP, `{"id":"auth-1","name":"张三"}`, model.CodeMalformedJSON},
		{"wrong type", bankMSP, `{"id":"auth-1","max_uses":"2"}`, model.CodeMalformedJSON},
		{"oversized", bankMSP, `{"id":"` + strings.Repeat("a", 17<<10) + `"}`, model.CodeInputTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.bootstrap()
			before := e.ledger.Height()
			_, err := e.call(tc.msp, "consent:RequestAuthorization", tc.input)
			wantCode(t, err, tc.want)
			if e.ledger.Height() != before {
				t.Fatal("a refused request committed a transaction")
			}
		})
	}

	t.Run("accepted as PENDING", func(t *testing.T) {
		e := newEnv(t)
		e.bootstrap()
		a := e.request(bankMSP, lendingRequest("auth-1", ref))
		if a.Status != model.AuthPending || a.Requester != bankMSP || a.Seq != 0 || a.Uses != 0 {
			t.Fatalf("stored %+v", a)
		}
		if strings.Join(a.Categories, ",") != "housing_fund,tax" {
			t.Fatalf("categories not sorted: %v", a.Categories)
		}
		if a.ValidUntil != "2026-11-09T09:00:00.000Z" || a.RequestedAt != "2026-11-02T09:00:00.000Z" {
			t.Fatalf("times %q %q", a.ValidUntil, a.RequestedAt)
		}
		ev := e.lastEvent()
		if ev.Name != model.EventAuthorizationRequested || ev.AuthorizationID != "auth-1" || ev.Status != model.AuthPending || ev.Requester != bankMSP || strings.Contains(mustJSON(ev), ref) {
			t.Fatalf("event %+v", ev)
		}
		_, err := e.call(bankMSP, "consent:RequestAuthorization", mustJSON(lendingRequest("auth-1", ref)))
		wantCode(t, err, model.CodeAlreadyExists)
		_, err = e.query(bankMSP, "consent:GetAuthorization", "auth-404")
		wantCode(t, err, model.CodeAuthNotFound)
	})
}

func TestDecisionLifecycle(t *testing.T) {
	e := newEnv(t)
	e.bootstrap()
	ref := citizenRef(1)
	phone := newDevice(t)
	e.enrol(ref, phone)
	e.request(bankMSP, lendingRequest("auth-1", ref))

	steps := []struct {
		action model.Action
		status model.AuthStatus
		event  string
	}{
		{model.ActionGrant, model.AuthGranted, model.EventAuthorizationGranted},
		{model.ActionPause, model.AuthPaused, model.EventAuthorizationPaused},
		{model.ActionResume, model.AuthGranted, model.EventAuthorizationResumed},
		{model.ActionPause, model.AuthPaused, model.EventAuthorizationPaused},
		{model.ActionRevoke, model.AuthRevoked, model.EventAuthorizationRevoked},
	}
	for i, s := range steps {
		a := e.mustDecide("auth-1", phone, s.action)
		if a.Status != s.status || a.Seq != i+1 {
			t.Fatalf("after %s: status %s seq %d", s.action, a.Status, a.Seq)
		}
		if a.LastDecision == nil || a.LastDecision.Action != s.action || a.LastDecision.KeyID != phone.kid {
			t.Fatalf("decision receipt %+v", a.LastDecision)
		}
		if ev := e.lastEvent(); ev.Name != s.event || ev.Status != s.status {
			t.Fatalf("event %+v", ev)
		}
		e.now = e.now.Add(time.Minute)
	}
	a := e.getAuth("auth-1")
	if a.GrantedAt != "2026-11-02T09:00:00.000Z" {
		t.Fatalf("granted_at %q", a.GrantedAt)
	}
	_, err := e.decide("auth-1", phone, model.ActionResume)
	wantCode(t, err, model.CodeAuthRevoked)
	_, err = e.decide("auth-1", phone, model.ActionGrant)
	wantCode(t, err, model.CodeAuthRevoked)
}

func TestDecisionTransitions(t *testing.T) {
	tests := []struct {
		name    string
		before  []model.Action
		action  model.Action
		want    model.Code
		wantNow model.AuthStatus
	}{
		{"deny a pending request", nil, model.ActionDeny, "", model.AuthDenied},
		{"pause a pending request", nil, model.ActionPause, model.CodeInvalidTransition, ""},
		{"resume a pending request", nil, model.ActionResume, model.CodeInvalidTransition, ""},
		{"revoke a pending request", nil, model.ActionRevoke, model.CodeInvalidTransition, ""},
		{"grant twice", []model.Action{model.ActionGrant}, model.ActionGrant, model.CodeInvalidTransition, ""},
		{"deny after grant", []model.Action{model.ActionGrant}, model.ActionDeny, model.CodeInvalidTransition, ""},
		{"resume a granted one", []model.Action{model.ActionGrant}, model.ActionResume, model.CodeInvalidTransition, ""},
		{"revoke a granted one", []model.Action{model.ActionGrant}, model.ActionRevoke, "", model.AuthRevoked},
		{"grant after deny", []model.Action{model.ActionDeny}, model.ActionGrant, model.CodeAuthDenied, ""},
		{"pause a paused one", []model.Action{model.ActionGrant, model.ActionPause}, model.ActionPause, model.CodeInvalidTransition, ""},
		{"revoke a paused one", []model.Action{model.ActionGrant, model.ActionPause}, model.ActionRevoke, "", model.AuthRevoked},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.bootstrap()
			phone := newDevice(t)
			e.enrol(citizenRef(1), phone)
			e.request(bankMSP, lendingRequest("auth-1", citizenRef(1)))
			for _, a := range tc.before {
				e.mustDecide("auth-1", phone, a)
			}
			out, err := e.decide("auth-1", phone, tc.action)
			if tc.want != "" {
				wantCode(t, err, tc.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a := decode[model.Authorization](t, out); a.Status != tc.wantNow {
				t.Fatalf("status %s, want %s", a.Status, tc.wantNow)
			}
		})
	}
}

// TestDecisionSignatures covers every way a decision can be forged,
// replayed or moved.
func TestDecisionSignatures(t *testing.T) {
	ref, other := citizenRef(1), citizenRef(2)
	type fixture struct {
		e                     *testEnv
		phone, tablet, stolen *device
	}
	setup := func(t *testing.T) fixture {
		e := newEnv(t)
		e.bootstrap()
		f := fixture{e: e, phone: newDevice(t), tablet: newDevice(t), stolen: newDevice(t)}
		e.enrol(ref, f.phone)
		e.enrol(ref, f.tablet)
		e.enrol(other, f.stolen)
		e.request(bankMSP, lendingRequest("auth-1", ref))
		e.request(bankMSP, lendingRequest("auth-2", ref))
		return f
	}
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name string
		run  func(t *testing.T, f fixture) (string, error)
		want model.Code
	}{
		{"raw r||s signature accepted", func(t *testing.T, f fixture) (string, error) {
			p := f.e.payload("auth-1", model.ActionGrant)
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), f.phone.signRaw(t, p), f.phone.kid)
		}, ""},
		{"DER signature accepted", func(t *testing.T, f fixture) (string, error) {
			p := f.e.payload("auth-1", model.ActionGrant)
			return f.e.call(opMSP, "consent:Decide", "auth-1", base64.RawURLEncoding.EncodeToString(p), f.phone.signDER(t, p), f.phone.kid)
		}, ""},
		{"second device accepted", func(t *testing.T, f fixture) (string, error) {
			p := f.e.payload("auth-1", model.ActionGrant)
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), f.tablet.signRaw(t, p), f.tablet.kid)
		}, ""},
		{"only the operator submits decisions", func(t *testing.T, f fixture) (string, error) {
			p := f.e.payload("auth-1", model.ActionGrant)
			return f.e.call(bankMSP, "consent:Decide", "auth-1", b64(p), f.phone.signRaw(t, p), f.phone.kid)
		}, model.CodeForbiddenMSP},
		{"signed by another key than named", func(t *testing.T, f fixture) (string, error) {
			p := f.e.payload("auth-1", model.ActionGrant)
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), f.tablet.signRaw(t, p), f.phone.kid)
		}, model.CodeSignatureInvalid},
		{"another citizen's key", func(t *testing.T, f fixture) (string, error) {
			p := f.e.payload("auth-1", model.ActionGrant)
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), f.stolen.signRaw(t, p), f.stolen.kid)
		}, model.CodeKeyNotFound},
		{"revoked key", func(t *testing.T, f fixture) (string, error) {
			f.e.must(opMSP, "registry:RevokeCitizenKey", bankMSP, ref, f.phone.kid)
			p := f.e.payload("auth-1", model.ActionGrant)
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), f.phone.signRaw(t, p), f.phone.kid)
		}, model.CodeKeyRevoked},
		{"payload altered after signing", func(t *testing.T, f fixture) (string, error) {
			p := f.e.payload("auth-1", model.ActionDeny)
			s := f.phone.signRaw(t, p)
			p = bytes.Replace(p, []byte(`"DENY"`), []byte(`"GRANT"`), 1)
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), s, f.phone.kid)
		}, model.CodeSignatureInvalid},
		{"signature made for another authorisation", func(t *testing.T, f fixture) (string, error) {
			p := f.e.payload("auth-2", model.ActionGrant)
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), f.phone.signRaw(t, p), f.phone.kid)
		}, model.CodePayloadMismatch},
		{"replayed payload", func(t *testing.T, f fixture) (string, error) {
			f.e.mustDecide("auth-1", f.phone, model.ActionGrant)
			p := f.e.payload("auth-1", model.ActionPause)
			s := f.phone.signRaw(t, p)
			f.e.must(opMSP, "consent:Decide", "auth-1", b64(p), s, f.phone.kid)
			f.e.mustDecide("auth-1", f.phone, model.ActionResume)
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), s, f.phone.kid)
		}, model.CodePayloadMismatch},
		{"terms changed (max uses)", func(t *testing.T, f fixture) (string, error) {
			a := f.e.getAuth("auth-1")
			a.MaxUses = 3
			p := model.NewDecisionPayload(channel, &a, f.e.terms(&a), model.ActionGrant, f.e.now).Bytes()
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), f.phone.signRaw(t, p), f.phone.kid)
		}, model.CodePayloadMismatch},
		{"terms changed (categories)", func(t *testing.T, f fixture) (string, error) {
			a := f.e.getAuth("auth-1")
			a.Categories = []string{"tax"}
			p := model.NewDecisionPayload(channel, &a, f.e.terms(&a), model.ActionGrant, f.e.now).Bytes()
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), f.phone.signRaw(t, p), f.phone.kid)
		}, model.CodePayloadMismatch},
		{"registry terms changed (schema version)", func(t *testing.T, f fixture) (string, error) {
			a := f.e.getAuth("auth-1")
			terms := f.e.terms(&a)
			terms.SchemaVersions[0]-- // housing_fund has none; the lending request names it first
			p := model.NewDecisionPayload(channel, &a, terms, model.ActionGrant, f.e.now).Bytes()
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), f.phone.signRaw(t, p), f.phone.kid)
		}, model.CodePayloadMismatch},
		{"registry terms changed (tax schema shown as version 1)", func(t *testing.T, f fixture) (string, error) {
			a := f.e.getAuth("auth-1")
			terms := f.e.terms(&a)
			terms.SchemaVersions[1] = 1
			p := model.NewDecisionPayload(channel, &a, terms, model.ActionGrant, f.e.now).Bytes()
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), f.phone.signRaw(t, p), f.phone.kid)
		}, model.CodePayloadMismatch},
		{"registry terms changed (retention)", func(t *testing.T, f fixture) (string, error) {
			a := f.e.getAuth("auth-1")
			terms := f.e.terms(&a)
			terms.MayStore, terms.DataLifeDays = true, 365
			p := model.NewDecisionPayload(channel, &a, terms, model.ActionGrant, f.e.now).Bytes()
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), f.phone.signRaw(t, p), f.phone.kid)
		}, model.CodePayloadMismatch},
		{"registry terms changed (licence)", func(t *testing.T, f fixture) (string, error) {
			a := f.e.getAuth("auth-1")
			terms := f.e.terms(&a)
			terms.Licence = "LIC-" + insurerMSP
			p := model.NewDecisionPayload(channel, &a, terms, model.ActionGrant, f.e.now).Bytes()
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), f.phone.signRaw(t, p), f.phone.kid)
		}, model.CodePayloadMismatch},
		{"reason NOT_ME on a grant", func(t *testing.T, f fixture) (string, error) {
			a := f.e.getAuth("auth-1")
			pl := model.NewDecisionPayload(channel, &a, f.e.terms(&a), model.ActionGrant, f.e.now)
			pl.Reason = model.ReasonNotMe
			p := pl.Bytes()
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), f.phone.signRaw(t, p), f.phone.kid)
		}, model.CodePayloadInvalid},
		{"unknown reason on a denial", func(t *testing.T, f fixture) (string, error) {
			a := f.e.getAuth("auth-1")
			pl := model.NewDecisionPayload(channel, &a, f.e.terms(&a), model.ActionDeny, f.e.now)
			pl.Reason = "TOO_EXPENSIVE"
			p := pl.Bytes()
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), f.phone.signRaw(t, p), f.phone.kid)
		}, model.CodePayloadInvalid},
		{"another channel", func(t *testing.T, f fixture) (string, error) {
			a := f.e.getAuth("auth-1")
			p := model.NewDecisionPayload("jinan-2", &a, f.e.terms(&a), model.ActionGrant, f.e.now).Bytes()
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), f.phone.signRaw(t, p), f.phone.kid)
		}, model.CodePayloadMismatch},
		{"non-canonical payload", func(t *testing.T, f fixture) (string, error) {
			var buf bytes.Buffer
			_ = json.Indent(&buf, f.e.payload("auth-1", model.ActionGrant), "", " ")
			p := buf.Bytes()
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), f.phone.signRaw(t, p), f.phone.kid)
		}, model.CodePayloadInvalid},
		{"stale payload", func(t *testing.T, f fixture) (string, error) {
			p := f.e.payload("auth-1", model.ActionGrant)
			s := f.phone.signRaw(t, p)
			f.e.now = f.e.now.Add(25 * time.Hour)
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), s, f.phone.kid)
		}, model.CodePayloadInvalid},
		{"payload from the future", func(t *testing.T, f fixture) (string, error) {
			a := f.e.getAuth("auth-1")
			p := model.NewDecisionPayload(channel, &a, f.e.terms(&a), model.ActionGrant, f.e.now.Add(time.Hour)).Bytes()
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), f.phone.signRaw(t, p), f.phone.kid)
		}, model.CodePayloadInvalid},
		{"payload not base64", func(t *testing.T, f fixture) (string, error) {
			return f.e.call(opMSP, "consent:Decide", "auth-1", "%%%", "AAAA", f.phone.kid)
		}, model.CodePayloadInvalid},
		{"signature not base64", func(t *testing.T, f fixture) (string, error) {
			p := f.e.payload("auth-1", model.ActionGrant)
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), "%%%", f.phone.kid)
		}, model.CodeSignatureInvalid},
		{"truncated signature", func(t *testing.T, f fixture) (string, error) {
			p := f.e.payload("auth-1", model.ActionGrant)
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), b64(make([]byte, 63)), f.phone.kid)
		}, model.CodeSignatureInvalid},
		{"unknown authorisation", func(t *testing.T, f fixture) (string, error) {
			p := f.e.payload("auth-1", model.ActionGrant)
			return f.e.call(opMSP, "consent:Decide", "auth-9", b64(p), f.phone.signRaw(t, p), f.phone.kid)
		}, model.CodeAuthNotFound},
		{"expired before the grant", func(t *testing.T, f fixture) (string, error) {
			f.e.now = f.e.now.Add(8 * 24 * time.Hour)
			p := f.e.payload("auth-1", model.ActionGrant)
			return f.e.call(opMSP, "consent:Decide", "auth-1", b64(p), f.phone.signRaw(t, p), f.phone.kid)
		}, model.CodeAuthExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			before := f.e.getAuth("auth-1")
			out, err := tc.run(t, f)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if a := decode[model.Authorization](t, out); a.Status != model.AuthGranted {
					t.Fatalf("status %s", a.Status)
				}
				return
			}
			wantCode(t, err, tc.want)
			if tc.name == "replayed payload" {
				return // earlier steps of the case changed the authorisation on purpose
			}
			if after := f.e.getAuth("auth-1"); after.Seq != before.Seq || after.Status != before.Status && after.Status != model.AuthExpired {
				t.Fatalf("refused decision changed the authorisation: %+v", after)
			}
		})
	}
}

// TestDenyNotMe: a citizen denies a request they did not make; the
// decision keeps the signed reason, and a plain denial keeps none.
func TestDenyNotMe(t *testing.T) {
	e := newEnv(t)
	e.bootstrap()
	ref := citizenRef(1)
	phone := newDevice(t)
	e.enrol(ref, phone)
	e.request(bankMSP, lendingRequest("auth-1", ref))
	e.request(bankMSP, lendingRequest("auth-2", ref))

	a := e.getAuth("auth-1")
	pl := model.NewDecisionPayload(channel, &a, e.terms(&a), model.ActionDeny, e.now)
	pl.Reason = model.ReasonNotMe
	p := pl.Bytes()
	e.must(opMSP, "consent:Decide", "auth-1", b64std(p), phone.signRaw(t, p), phone.kid)
	got := e.getAuth("auth-1")
	if got.Status != model.AuthDenied || got.LastDecision == nil || got.LastDecision.Reason != model.ReasonNotMe {
		t.Fatalf("denied as not me: %+v %+v", got, got.LastDecision)
	}
	if ev := e.lastEvent(); ev.Name != model.EventAuthorizationDenied {
		t.Fatalf("event %+v", ev)
	}
	if got := e.mustDecide("auth-2", phone, model.ActionDeny); got.LastDecision.Reason != "" {
		t.Fatalf("plain denial has reason %q", got.LastDecision.Reason)
	}
}

func TestWithdrawAndExpiry(t *testing.T) {
	e := newEnv(t)
	e.bootstrap()
	ref := citizenRef(1)
	phone := newDevice(t)
	e.enrol(ref, phone)
	e.request(bankMSP, lendingRequest("auth-1", ref))
	e.request(bankMSP, lendingRequest("auth-2", ref))
	e.request(bankMSP, lendingRequest("auth-3", ref))
	e.mustDecide("auth-2", phone, model.ActionDeny)

	_, err := e.call(insurerMSP, "consent:Withdraw", "auth-1")
	wantCode(t, err, model.CodeForbiddenMSP)
	_, err = e.call(bankMSP, "consent:Withdraw", "auth-2")
	wantCode(t, err, model.CodeAuthDenied)
	_, err = e.call(bankMSP, "consent:Withdraw", "nope-404")
	wantCode(t, err, model.CodeAuthNotFound)

	out := e.must(bankMSP, "consent:Withdraw", "auth-1")
	if a := decode[model.Authorization](t, out); a.Status != model.AuthWithdrawn || a.Seq != 1 {
		t.Fatalf("withdrawn %+v", a)
	}
	if ev := e.lastEvent(); ev.Name != model.EventAuthorizationWithdrawn {
		t.Fatalf("event %+v", ev)
	}
	_, err = e.decide("auth-1", phone, model.ActionGrant)
	wantCode(t, err, model.CodeAuthWithdrawn)
	_, err = e.call(bankMSP, "consent:Withdraw", "auth-1")
	wantCode(t, err, model.CodeAuthWithdrawn)

	// Expiry is derived from the transaction time: nothing is written.
	e.mustDecide("auth-3", phone, model.ActionGrant)
	e.now = t0.Add(7*24*time.Hour + time.Millisecond)
	if a := e.getAuth("auth-3"); a.Status != model.AuthExpired {
		t.Fatalf("status after validity %s", a.Status)
	}
	_, err = e.call(bankMSP, "consent:Withdraw", "auth-3")
	wantCode(t, err, model.CodeAuthExpired)
	_, err = e.decide("auth-3", phone, model.ActionRevoke)
	wantCode(t, err, model.CodeAuthExpired)
}
