package integration

import (
	"net/http"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
)

// TestExpiryAndCrossUseHTTP: an authorisation stops working when its
// validity ends (derived from the transaction time, nothing written), and
// the bank cannot fetch under the insurer's authorisation.
func TestExpiryAndCrossUseHTTP(t *testing.T) {
	people := demoCitizens(t)
	person := people[len(people)-2]
	citizen, phone := freshDevice(t, person)

	// The insurer's claim authorisation, granted: the bank cannot use it.
	insurerAPI := institution(t, insurerURL, "insurer")
	var claim model.Authorization
	insurerAPI.must("POST", "/v1/authorizations", map[string]any{
		"citizen_id": person.IDNumber, "purpose": "CLAIM_SETTLEMENT", "categories": []string{"medical_settlement"},
		"data_from": "2025-11-01", "data_to": "2026-10-31",
		"valid_until": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339), "max_uses": 1,
		"reference": "CLAIM-X-" + runID,
	}, &claim, http.StatusCreated, "Idempotency-Key", id("xclaim"))
	waitPending(t, citizen, claim.ID)
	if code, raw := decideHTTP(t, citizen, phone, claim.ID, model.ActionGrant); code != 200 {
		t.Fatalf("grant claim: %d %s", code, raw)
	}
	bankAPI := institution(t, bankURL, "bank")
	code, raw := bankAPI.call("POST", "/v1/data-requests", map[string]any{"authorization_id": claim.ID,
		"categories": []string{"medical_settlement"}}, nil, "Idempotency-Key", id("xsteal"))
	if code != http.StatusForbidden && code != http.StatusNotFound {
		t.Fatalf("bank fetch under the insurer's authorisation: %d %s", code, raw)
	}

	// A loan authorisation valid for a few seconds.
	var loan model.Authorization
	bankAPI.must("POST", "/v1/authorizations", map[string]any{
		"citizen_id": person.IDNumber, "purpose": "CREDIT_ASSESSMENT", "categories": []string{"tax"},
		"data_from": "2025-11-01", "data_to": "2026-10-31",
		"valid_until": time.Now().Add(6 * time.Second).UTC().Format(time.RFC3339Nano), "max_uses": 3,
		"reference": "LOAN-X-" + runID,
	}, &loan, http.StatusCreated, "Idempotency-Key", id("xloan"))
	waitPending(t, citizen, loan.ID)
	if code, raw := decideHTTP(t, citizen, phone, loan.ID, model.ActionGrant); code != 200 {
		t.Fatalf("grant loan: %d %s", code, raw)
	}
	until, err := time.Parse(time.RFC3339Nano, loan.ValidUntil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(until) + 500*time.Millisecond)
	code, raw = bankAPI.call("POST", "/v1/data-requests", map[string]any{"authorization_id": loan.ID,
		"categories": []string{"tax"}}, nil, "Idempotency-Key", id("xexpired"))
	if code < 400 || code >= 500 || errorCode(raw) != string(model.CodeAuthExpired) {
		t.Fatalf("fetch after expiry: %d %s", code, raw)
	}
	var got model.Authorization
	bankAPI.must("GET", "/v1/authorizations/"+loan.ID, nil, &got, http.StatusOK)
	if got.Status != model.AuthExpired || got.Uses != 0 {
		t.Fatalf("after expiry: %+v", got)
	}
}
