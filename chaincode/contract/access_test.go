package contract_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
)

// grantedEnv bootstraps, enrols a citizen and grants auth-1 (bank, tax +
// housing_fund, 2 uses) and claim-1 (insurer, medical + death, 2 uses).
func grantedEnv(t *testing.T) (*testEnv, *device) {
	e := newEnv(t)
	e.bootstrap()
	ref := citizenRef(1)
	phone := newDevice(t)
	e.enrol(ref, phone)
	e.request(bankMSP, lendingRequest("auth-1", ref))
	e.mustDecide("auth-1", phone, model.ActionGrant)
	e.request(insurerMSP, model.AuthorizationRequest{ID: "claim-1", CitizenRef: ref, Purpose: "CLAIM_SETTLEMENT",
		Categories: []string{"medical_settlement", "death_registration"}, DataFrom: "2026-01-01", DataTo: "2026-10-31",
		ValidUntil: t0.Add(24 * time.Hour).Format(time.RFC3339), MaxUses: 2, ReferenceHash: hash("CLAIM-77")})
	e.mustDecide("claim-1", phone, model.ActionGrant)
	return e, phone
}

func TestRecordAccess(t *testing.T) {
	ok := accessRequest("acc-1", "auth-1", bankMSP, "tax")
	mod := func(f func(r *model.AccessRequest)) string {
		r := ok
		f(&r)
		return mustJSON(r)
	}
	tests := []struct {
		name  string
		msp   string
		prep  func(e *testEnv, phone *device)
		input string
		want  model.Code
	}{
		{"bank cannot record its own access", bankMSP, nil, mustJSON(ok), model.CodeForbiddenMSP},
		{"auditor writes nothing", auditMSP, nil, mustJSON(ok), model.CodeForbiddenMSP},
		{"not the provider of the category", otherMSP, nil, mod(func(r *model.AccessRequest) {}), model.CodeForbiddenMSP},
		{"insurer cannot use the bank's authorisation", opMSP, nil, mod(func(r *model.AccessRequest) { r.Requester = insurerMSP }), model.CodeRequesterMismatch},
		{"category outside the authorisation", opMSP, nil, mod(func(r *model.AccessRequest) { r.Categories = []string{"social_security"} }), model.CodeCategoryOutOfScope},
		{"unknown authorisation", opMSP, nil, mod(func(r *model.AccessRequest) { r.AuthorizationID = "auth-404" }), model.CodeAuthNotFound},
		{"pending", opMSP, func(e *testEnv, _ *device) {
			e.request(bankMSP, lendingRequest("auth-2", citizenRef(1)))
		}, mod(func(r *model.AccessRequest) { r.AuthorizationID = "auth-2" }), model.CodeAuthNotGranted},
		{"paused", opMSP, func(e *testEnv, d *device) { e.mustDecide("auth-1", d, model.ActionPause) }, mustJSON(ok), model.CodeAuthPaused},
		{"revoked", opMSP, func(e *testEnv, d *device) { e.mustDecide("auth-1", d, model.ActionRevoke) }, mustJSON(ok), model.CodeAuthRevoked},
		{"withdrawn", opMSP, func(e *testEnv, _ *device) { e.must(bankMSP, "consent:Withdraw", "auth-1") }, mustJSON(ok), model.CodeAuthWithdrawn},
		{"expired", opMSP, func(e *testEnv, _ *device) { e.now = t0.Add(8 * 24 * time.Hour) }, mustJSON(ok), model.CodeAuthExpired},
		{"requester suspended", opMSP, func(e *testEnv, _ *device) {
			e.must(opMSP, "registry:SetInstitutionStatus", bankMSP, model.StatusSuspended)
		}, mustJSON(ok), model.CodeInstitutionInactive},
		{"duplicate access id", opMSP, func(e *testEnv, _ *device) { e.must(opMSP, "access:RecordAccess", mustJSON(ok)) }, mustJSON(ok), model.CodeAlreadyExists},
		{"bad mode", opMSP, nil, mod(func(r *model.AccessRequest) { r.Mode = "everything" }), model.CodeInvalidArgument},
		{"predicate in records mode", opMSP, nil, mod(func(r *model.AccessRequest) { r.Predicate = "X_Y" }), model.CodeInvalidArgument},
		{"predicate mode without a predicate", opMSP, nil, mod(func(r *model.AccessRequest) { r.Mode = model.ModePredicate; r.RecordCount = 0 }), model.CodeInvalidArgument},
		{"predicate mode with records", opMSP, nil, mod(func(r *model.AccessRequest) { r.Mode = model.ModePredicate; r.Predicate = "MIN_CONTRIBUTION" }), model.CodeInvalidArgument},
		{"negative record count", opMSP, nil, mod(func(r *model.AccessRequest) { r.RecordCount = -1 }), model.CodeInvalidArgument},
		{"bad digest", opMSP, nil, mod(func(r *model.AccessRequest) { r.Digest = "abc" }), model.CodeInvalidArgument},
		{"bad id", opMSP, nil, mod(func(r *model.AccessRequest) { r.ID = "a" }), model.CodeInvalidArgument},
		{"bad requester", opMSP, nil, mod(func(r *model.AccessRequest) { r.Requester = "" }), model.CodeInvalidArgument},
		{"no categories", opMSP, nil, mod(func(r *model.AccessRequest) { r.Categories = nil }), model.CodeInvalidArgument},
		{"malformed", opMSP, nil, `{"id":`, model.CodeMalformedJSON},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, phone := grantedEnv(t)
			if tc.prep != nil {
				tc.prep(e, phone)
			}
			before := e.getAuth("auth-1")
			height := e.ledger.Height()
			_, err := e.call(tc.msp, "access:RecordAccess", tc.input)
			wantCode(t, err, tc.want)
			if e.ledger.Height() != height {
				t.Fatal("a refused access committed a transaction")
			}
			if after := e.getAuth("auth-1"); after.Uses != before.Uses {
				t.Fatalf("uses changed %d -> %d", before.Uses, after.Uses)
			}
		})
	}
}

func TestAccessUsesAndExhaustion(t *testing.T) {
	e, _ := grantedEnv(t)
	pub := decode[model.Access](t, e.must(opMSP, "access:RecordAccess", mustJSON(accessRequest("acc-1", "auth-1", bankMSP, "tax"))))
	if pub.CitizenRef != "" || pub.Purpose != "" || pub.Digest != "" || pub.PrivateHash == "" || pub.UseNumber != 1 {
		t.Fatalf("RecordAccess answered more than the public record: %+v", pub)
	}
	acc := decode[model.Access](t, e.must(bankMSP, "access:GetAccess", "acc-1"))
	if acc.UseNumber != 1 || acc.CitizenRef != citizenRef(1) || acc.Purpose != "CREDIT_ASSESSMENT" || acc.Provider != opMSP {
		t.Fatalf("access %+v", acc)
	}
	ev := e.lastEvent()
	if ev.Name != model.EventAccessRecorded || ev.AccessID != "acc-1" || ev.UseNumber != 1 || ev.Status != model.AuthGranted {
		t.Fatalf("event %+v", ev)
	}
	e.now = e.now.Add(time.Hour)
	acc = decode[model.Access](t, e.must(opMSP, "access:RecordAccess", mustJSON(accessRequest("acc-2", "auth-1", bankMSP, "housing_fund", "tax"))))
	if acc.UseNumber != 2 {
		t.Fatalf("second use %+v", acc)
	}
	if a := e.getAuth("auth-1"); a.Status != model.AuthExhausted || a.Uses != 2 {
		t.Fatalf("after last use %+v", a)
	}
	_, err := e.call(opMSP, "access:RecordAccess", mustJSON(accessRequest("acc-3", "auth-1", bankMSP, "tax")))
	wantCode(t, err, model.CodeAuthExhausted)

	// A minimal answer: only the predicate's result was delivered.
	pred := model.AccessRequest{ID: "acc-p1", AuthorizationID: "claim-1", Requester: insurerMSP,
		Categories: []string{"death_registration"}, Mode: model.ModePredicate, Predicate: "DECEASED_BEFORE", Digest: hash("yes")}
	e.must(opMSP, "access:RecordAccess", mustJSON(pred))
	acc = decode[model.Access](t, e.must(insurerMSP, "access:GetAccess", "acc-p1"))
	if acc.Mode != model.ModePredicate || acc.Predicate != "DECEASED_BEFORE" || acc.RecordCount != 0 {
		t.Fatalf("predicate access %+v", acc)
	}
	got := decode[model.Access](t, e.must(auditMSP, "access:GetAccess", "acc-p1"))
	if got.TxID != acc.TxID || got.Predicate != acc.Predicate {
		t.Fatalf("GetAccess %+v", got)
	}
	_, err = e.query(bankMSP, "access:GetAccess", "acc-p1")
	wantCode(t, err, model.CodeForbiddenMSP)
	_, err = e.query(auditMSP, "access:GetAccess", "acc-404")
	wantCode(t, err, model.CodeAccessNotFound)
}

// TestRevocationRacesDelivery: a revocation and a delivery simulated against
// the same state both read and write the authorisation; whichever commits
// first wins and the other fails validation, never both.
func TestRevocationRacesDelivery(t *testing.T) {
	for _, revokeFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("revoke first %v", revokeFirst), func(t *testing.T) {
			e, phone := grantedEnv(t)
			p := e.payload("auth-1", model.ActionRevoke)
			rArgs, rTr := proposal("consent:Decide", []string{"auth-1", b64std(p), phone.signRaw(t, p), phone.kid})
			revoke := e.ledger.NewTx("tx-revoke", e.now, e.ids[opMSP].Creator(), "consent:Decide", rArgs...).WithTransient(rTr)
			_, dTr := proposal("access:RecordAccess", []string{mustJSON(accessRequest("acc-race", "auth-1", bankMSP, "tax"))})
			deliver := e.ledger.NewTx("tx-deliver", e.now, e.ids[opMSP].Creator(), "access:RecordAccess").WithTransient(dTr)
			if r := e.cc.Invoke(revoke); r.GetStatus() != 200 {
				t.Fatalf("revoke endorsement: %s", r.GetMessage())
			}
			if r := e.cc.Invoke(deliver); r.GetStatus() != 200 {
				t.Fatalf("delivery endorsement: %s", r.GetMessage())
			}
			first, second := revoke, deliver
			if !revokeFirst {
				first, second = deliver, revoke
			}
			if err := first.Commit(); err != nil {
				t.Fatalf("first commit: %v", err)
			}
			if err := second.Commit(); err == nil {
				t.Fatal("both the revocation and the delivery committed")
			}
			a := e.getAuth("auth-1")
			if revokeFirst && (a.Status != model.AuthRevoked || a.Uses != 0) {
				t.Fatalf("after revoke-first %+v", a)
			}
			if !revokeFirst && (a.Status != model.AuthGranted || a.Uses != 1) {
				t.Fatalf("after deliver-first %+v", a)
			}
		})
	}
}
