package contract_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
)

// TestNoPersonalDataOnLedger tries to put a citizen's ID number, name and
// phone number on the ledger through every field that takes a citizen or a
// reference, then scans every byte the ledger holds.
func TestNoPersonalDataOnLedger(t *testing.T) {
	const idNumber, name, phone = "370102199003071234", "张三", "13812345678"
	e, dev := grantedEnv(t)
	attempts := []struct {
		fn   string
		msp  string
		args []string
	}{
		{"registry:AddCitizenKey", opMSP, []string{bankMSP, idNumber, dev.jwk}},
		{"registry:AddCitizenKey", opMSP, []string{bankMSP, phone, dev.jwk}},
		{"consent:RequestAuthorization", bankMSP, []string{`{"id":"auth-x","citizen_ref":"` + idNumber + `"}`}},
		{"consent:RequestAuthorization", bankMSP, []string{mustJSON(func() model.AuthorizationRequest {
			r := lendingRequest("auth-y", citizenRef(1))
			r.ReferenceHash = name + phone
			return r
		}())}},
		{"consent:RequestAuthorization", bankMSP, []string{`{"id":"auth-z","name":"` + name + `"}`}},
		{"anchor:AnchorRecord", opMSP, []string{"tax", idNumber}},
		{"anchor:RevokeRecord", opMSP, []string{"tax", hash("r"), name}},
		{"access:RecordAccess", opMSP, []string{`{"id":"acc-x","digest":"` + phone + `"}`}},
		{"consent:ListAuthorizationsByCitizen", auditMSP, []string{bankMSP, idNumber, "", "10", ""}},
	}
	for _, a := range attempts {
		if _, err := e.call(a.msp, a.fn, a.args...); err == nil {
			t.Errorf("%s accepted personal data", a.fn)
		}
	}
	for _, b := range e.ledger.AllBytes() {
		for _, secret := range []string{idNumber, name, phone} {
			if bytes.Contains(b, []byte(secret)) {
				t.Fatalf("ledger holds %q in %q", secret, b)
			}
		}
	}
}

// TestRequestersSeeOnlyTheirOwn: a bank that reads every block and its own
// peer's private data store finds nothing of an insurer's claim on one of
// its customers — not the citizenRef the insurer knows them by, the
// purpose, the categories, the predicate, the digest or the reference —
// and the chaincode refuses it the insurer's records, while the operator
// and the auditor read them.
func TestRequestersSeeOnlyTheirOwn(t *testing.T) {
	e := newEnv(t)
	e.bootstrap()
	// The registry and the catalogue are public; what follows is not.
	public := map[string]bool{}
	for _, b := range e.ledger.AllBytes() {
		public[string(b)] = true
	}
	// The operator gives each requester its own citizenRef for a citizen.
	bankRef, insurerRef := citizenRef(1), citizenRef(101)
	phone := newDevice(t)
	for req, ref := range map[string]string{bankMSP: bankRef, insurerMSP: insurerRef} {
		phone.kid = e.must(opMSP, "registry:AddCitizenKey", req, ref, phone.jwk)
	}
	e.request(bankMSP, lendingRequest("loan-1", bankRef))
	e.mustDecide("loan-1", phone, model.ActionGrant)
	e.must(opMSP, "access:RecordAccess", mustJSON(accessRequest("acc-loan", "loan-1", bankMSP, "tax")))
	claimRef := hash("CLAIM-2026-77")
	e.request(insurerMSP, model.AuthorizationRequest{ID: "claim-1", CitizenRef: insurerRef, Purpose: "CLAIM_SETTLEMENT",
		Categories: []string{"death_registration"}, DataFrom: "2026-01-01", DataTo: "2026-10-31",
		ValidUntil: t0.Add(24 * time.Hour).Format(time.RFC3339), MaxUses: 1, ReferenceHash: claimRef})
	e.mustDecide("claim-1", phone, model.ActionGrant)
	digest := hash("predicate answer")
	e.must(opMSP, "access:RecordAccess", mustJSON(model.AccessRequest{ID: "acc-claim", AuthorizationID: "claim-1",
		Requester: insurerMSP, Categories: []string{"death_registration"}, Mode: model.ModePredicate,
		Predicate: "DECEASED_BEFORE", Digest: digest}))

	secrets := []string{insurerRef, "CLAIM_SETTLEMENT", "death_registration", "DECEASED_BEFORE", digest, claimRef}
	bankView := e.ledger.PrivateBytes(bankMSP)
	for _, b := range e.ledger.AllBytes() {
		if !public[string(b)] {
			bankView = append(bankView, b)
		}
	}
	for _, b := range bankView {
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("the bank's copy of the ledger holds %q in %q", s, b)
			}
		}
	}
	// The control: the insurer's own store does hold its claim, and the
	// bank's holds its loan, so the scan above could have failed.
	if !containsAll(e.ledger.PrivateBytes(insurerMSP), secrets...) || !containsAll(e.ledger.PrivateBytes(bankMSP), bankRef, "CREDIT_ASSESSMENT") {
		t.Fatal("the members' private stores lack their own records")
	}

	refused := []struct {
		fn   string
		args []string
	}{
		{"consent:GetAuthorization", []string{"claim-1"}},
		{"consent:ListAuthorizationsByCitizen", []string{insurerMSP, insurerRef, "", "10", ""}},
		{"consent:ListAuthorizationsByRequester", []string{insurerMSP, "", "", "", "10", ""}},
		{"access:GetAccess", []string{"acc-claim"}},
		{"access:ListAccessesByCitizen", []string{insurerMSP, insurerRef, "", "", "10", ""}},
		{"access:ListAccessesByRequester", []string{insurerMSP, "", "", "10", ""}},
		{"access:ListAccessesByAuthorization", []string{"claim-1", "10", ""}},
		{"registry:GetCitizen", []string{insurerMSP, insurerRef}},
	}
	for _, r := range refused {
		_, err := e.query(bankMSP, r.fn, r.args...)
		wantCode(t, err, model.CodeForbiddenMSP)
		for _, reader := range []string{opMSP, auditMSP, insurerMSP} {
			if _, err := e.query(reader, r.fn, r.args...); err != nil {
				t.Errorf("%s %s: %v", reader, r.fn, err)
			}
		}
	}
	// The bank still reads its own.
	page := decode[model.Page[model.Authorization]](t, e.must(bankMSP, "consent:ListAuthorizationsByCitizen", bankMSP, bankRef, "", "10", ""))
	if len(page.Items) != 1 || page.Items[0].ID != "loan-1" || page.Items[0].Purpose != "CREDIT_ASSESSMENT" {
		t.Fatalf("the bank's own listing %+v", page)
	}
}

func containsAll(all [][]byte, want ...string) bool {
	for _, w := range want {
		found := false
		for _, b := range all {
			found = found || bytes.Contains(b, []byte(w))
		}
		if !found {
			return false
		}
	}
	return true
}
