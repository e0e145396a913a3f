package integration

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
)

// TestReplayAfterRevocationHTTP: a data request answered under an
// Idempotency-Key is replayed while the authorisation is usable; once the
// citizen has revoked it, the same key is refused with AUTH_REVOKED and
// hands out no record, and no second access is recorded.
func TestReplayAfterRevocationHTTP(t *testing.T) {
	people := demoCitizens(t)
	// people[0] holds housing-fund and tax records (TestLendingFlowHTTP).
	bank, citizen, a := lendingGrant(t, people[0], 3, "replay")

	body := map[string]any{"authorization_id": a.ID, "categories": []string{"housing_fund", "tax"}}
	var first, again dataResult
	bank.must("POST", "/v1/data-requests", body, &first, 200, "Idempotency-Key", id("replay-fetch"))
	if !first.Verified || len(first.Records) == 0 {
		t.Fatalf("first fetch: verified=%v records=%d", first.Verified, len(first.Records))
	}
	bank.must("POST", "/v1/data-requests", body, &again, 200, "Idempotency-Key", id("replay-fetch"))
	if again.AccessID != first.AccessID || again.TxID != first.TxID || len(again.Records) != len(first.Records) {
		t.Fatalf("replay before the revocation: first %s/%s, replay %s/%s", first.AccessID, first.TxID, again.AccessID, again.TxID)
	}

	citizen.decide(a.ID, model.ActionRevoke, "revoke")
	// The revocation committed on the operator's peer; wait until the
	// bank's peer, which its gateway reads, has it too.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var got model.Authorization
		bank.must("GET", "/v1/authorizations/"+a.ID, nil, &got, 200)
		if got.Status == model.AuthRevoked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bank's peer still has %s as %s", a.ID, got.Status)
		}
	}

	code, raw := bank.call("POST", "/v1/data-requests", body, nil, "Idempotency-Key", id("replay-fetch"))
	if code != http.StatusConflict || errorCode(raw) != string(model.CodeAuthRevoked) {
		t.Fatalf("replay after the revocation: %d %s", code, raw)
	}
	if bytes.Contains(raw, []byte("record_hash")) || bytes.Contains(raw, first.Records[0].Record) {
		t.Fatalf("the refused replay carries records: %s", raw)
	}
	if !strings.Contains(string(raw), first.AccessID) {
		t.Fatalf("the refusal does not name access %s: %s", first.AccessID, raw)
	}
	if n := citizen.accessesOf(a.ID); n != 1 {
		t.Fatalf("the citizen sees %d accesses under %s, want 1", n, a.ID)
	}
}
