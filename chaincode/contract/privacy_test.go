package contract_test

import (
	"bytes"
	"testing"

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
		{"registry:AddCitizenKey", opMSP, []string{idNumber, dev.jwk}},
		{"registry:AddCitizenKey", opMSP, []string{phone, dev.jwk}},
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
		{"consent:ListAuthorizationsByCitizen", auditMSP, []string{idNumber, "", "10", ""}},
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
