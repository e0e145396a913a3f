package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/network/fabnet"
)

// These tests crash one process of the network while the gateways serve,
// and check what an institution or a citizen sees meanwhile and after
// `up` has restarted it. The recovery times they log are in
// docs/reliability.md.

// restart brings back what a test killed and fails the test if it cannot.
func restart(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	if err := testNet.Up(context.Background()); err != nil {
		t.Fatalf("restart: %v", err)
	}
	return time.Since(start)
}

// pidOf is the pid of a running process of the network, or 0.
func pidOf(t *testing.T, name string) int {
	t.Helper()
	rep, err := testNet.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Processes {
		if p.Name == name && p.Running {
			return p.PID
		}
	}
	return 0
}

// ready polls a gateway's /readyz until it answers want or timeout passes,
// and returns the last status and how long it took.
func ready(base string, want int, timeout time.Duration) (int, time.Duration) {
	start := time.Now()
	code := 0
	for time.Since(start) < timeout {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			code = resp.StatusCode
			resp.Body.Close()
			if code == want {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return code, time.Since(start)
}

// monitoringGrant is a granted LOAN_MONITORING authorisation of the bank,
// the purpose that allows the most uses (12).
func monitoringGrant(t *testing.T, person demoCitizen, maxUses int, tag string) (*httpClient, *consent, model.Authorization) {
	t.Helper()
	citizen := citizenWithDevice(t, person, tag)
	bank := institution(t, bankURL, "bank")
	a := request(t, bank, person, "LOAN_MONITORING", []string{"housing_fund", "tax"}, "2025-11-01", "2026-10-31", maxUses, tag)
	citizen.decide(a.ID, model.ActionGrant, "grant")
	return bank, citizen, a
}

// TestFaultOperatorGatewayDown: while the operator's gateway is down, the
// bank's gateway is not ready and answers a new request 503 with a stable
// code and Retry-After; once the operator's gateway is back, the bank's
// serves again without a restart of its own.
func TestFaultOperatorGatewayDown(t *testing.T) {
	people := demoCitizens(t)
	person := people[30]
	bank := institution(t, bankURL, "bank")
	bankPID := pidOf(t, "gateway.bank")
	if err := testNet.Kill("gateway.bureau"); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	t.Cleanup(func() { restart(t) })

	if code, took := ready(bankURL, http.StatusServiceUnavailable, 10*time.Second); code != http.StatusServiceUnavailable {
		t.Fatalf("bank /readyz with the operator down: %d after %s", code, took)
	}
	req := map[string]any{"citizen_id": person.IDNumber, "purpose": "CREDIT_ASSESSMENT", "categories": []string{"tax"},
		"data_from": "2025-11-01", "data_to": "2026-10-31", "max_uses": 1, "reference": "FAULT-OP-" + runID,
		"valid_until": time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)}
	status, header, raw := bank.callHeader("POST", "/v1/authorizations", req, "Idempotency-Key", id("fault-op"))
	if status != http.StatusServiceUnavailable || errorCode(raw) != "PSEUDONYM_UNAVAILABLE" || header.Get("Retry-After") == "" {
		t.Fatalf("request with the operator down: %d %s (Retry-After %q)", status, raw, header.Get("Retry-After"))
	}

	up := restart(t)
	code, took := ready(bankURL, http.StatusOK, 30*time.Second)
	if code != http.StatusOK {
		t.Fatalf("bank /readyz after the operator came back: %d", code)
	}
	if pid := pidOf(t, "gateway.bank"); pid != bankPID {
		t.Fatalf("the bank's gateway was restarted (pid %d, was %d)", pid, bankPID)
	}
	var a model.Authorization
	bank.must("POST", "/v1/authorizations", req, &a, http.StatusCreated, "Idempotency-Key", id("fault-op"))
	t.Logf("operator gateway down: bank not ready, 503 PSEUDONYM_UNAVAILABLE with Retry-After; restarted in %s, bank ready %s later, %s after the kill",
		up.Round(100*time.Millisecond), took.Round(100*time.Millisecond), time.Since(killed).Round(100*time.Millisecond))
}

// TestFaultRequesterKilledMidRequest: the bank's gateway is SIGKILLed while
// data requests are in flight; retried with the same Idempotency-Keys
// after the restart, each gets one delivery, and the ledger holds exactly
// one access per key.
func TestFaultRequesterKilledMidRequest(t *testing.T) {
	people := demoCitizens(t)
	bank, citizen, a := monitoringGrant(t, people[31], 6, "fault-kill")
	keys := []string{"fault-kill-0", "fault-kill-1", "fault-kill-2", "fault-kill-3"}
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 40 * time.Millisecond)
			body, _ := json.Marshal(map[string]any{"authorization_id": a.ID, "categories": []string{"tax"}})
			req, _ := http.NewRequest("POST", bankURL+"/v1/data-requests", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+bank.token)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", id(k))
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	time.Sleep(60 * time.Millisecond)
	if err := testNet.Kill("gateway.bank"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	up := restart(t)
	bank = institution(t, bankURL, "bank")
	seen := map[string]bool{}
	retried := time.Now()
	for _, k := range keys {
		// A key whose first attempt died with the gateway stays in flight
		// until no handler can still be running it (the request timeout
		// and a margin); the client retries as Retry-After says.
		for {
			code, raw := fetch(bank, a.ID, []string{"tax"}, k)
			if code != http.StatusConflict || errorCode(raw) != "IDEMPOTENCY_KEY_IN_FLIGHT" {
				break
			}
			if time.Since(retried) > 2*time.Minute {
				t.Fatalf("key %s still in flight after 2 minutes", k)
			}
			time.Sleep(2 * time.Second)
		}
		d := mustFetch(t, bank, a.ID, []string{"tax"}, k)
		again := mustFetch(t, bank, a.ID, []string{"tax"}, k)
		if again.AccessID != d.AccessID {
			t.Fatalf("key %s: access %s, then %s", k, d.AccessID, again.AccessID)
		}
		seen[d.AccessID] = true
	}
	audit := as(t, "AuditMSP")
	page := decode[model.Page[model.Access]](t, audit.mustEvaluate("access:ListAccessesByAuthorization", a.ID, "100", ""))
	if len(page.Items) != len(keys) || len(seen) != len(keys) {
		t.Fatalf("%d accesses on the ledger and %d distinct deliveries for %d keys", len(page.Items), len(seen), len(keys))
	}
	for _, acc := range page.Items {
		if !seen[acc.ID] {
			t.Fatalf("access %s on the ledger was never delivered", acc.ID)
		}
	}
	if n := citizen.accessesOf(a.ID); n != len(keys) {
		t.Fatalf("the citizen sees %d uses, want %d", n, len(keys))
	}
	t.Logf("requester gateway killed mid-request: restarted in %s; every key answered %s after the restart; %d keys, %d accesses",
		up.Round(100*time.Millisecond), time.Since(retried).Round(100*time.Millisecond), len(keys), len(page.Items))
}

// TestFaultPeerRestart: the bank's peer is killed; the bank's gateway is
// not ready meanwhile and becomes ready again without a restart of its
// own; its event stream and its webhook resume from the last event they
// delivered, with nothing missed or repeated.
func TestFaultPeerRestart(t *testing.T) {
	people := demoCitizens(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bank := &renewing{httpClient: institution(t, bankURL, "bank"), member: "bank"}
	stream := followEvents(ctx, t, bank)
	defer stream.stop()
	bankPID := pidOf(t, "gateway.bank")
	receiver := newOutageReceiver(t)
	receiver.setDown(false)
	var hook struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	bank.must("POST", "/v1/webhooks", map[string]string{"url": receiver.srv.URL + "/hook"}, &hook, 201, "Idempotency-Key", id("fault-peer-hook"))
	t.Cleanup(func() { bank.must("DELETE", "/v1/webhooks/"+hook.ID, nil, nil, 204) })

	_, citizen, before := lendingGrant(t, people[32], 1, "fault-peer-1")
	if err := testNet.Kill("peer0.bank"); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if code, took := ready(bankURL, http.StatusServiceUnavailable, 15*time.Second); code != http.StatusServiceUnavailable {
		t.Fatalf("bank /readyz with its peer down: %d after %s", code, took)
	}
	up := restart(t)
	code, took := ready(bankURL, http.StatusOK, 60*time.Second)
	if code != http.StatusOK {
		t.Fatalf("bank /readyz after its peer came back: %d", code)
	}
	if pid := pidOf(t, "gateway.bank"); pid != bankPID {
		t.Fatalf("the bank's gateway was restarted (pid %d, was %d)", pid, bankPID)
	}
	bank.renew(t)
	after := request(t, bank.httpClient, people[32], "CREDIT_ASSESSMENT", []string{"tax"}, "2025-11-01", "2026-10-31", 1, "fault-peer-2")
	citizen.decide(after.ID, model.ActionGrant, "grant-after")
	seen := stream.wait([]string{before.ID, after.ID}, 60*time.Second)
	if !seen[before.ID] || !seen[after.ID] {
		t.Fatalf("event stream: grant before the restart seen %v, after %v", seen[before.ID], seen[after.ID])
	}
	if dup := stream.duplicates(); dup != 0 {
		t.Fatalf("the event stream repeated %d events", dup)
	}
	hooked := waitGrantsHooked(t, receiver, hook.Secret, []string{before.ID, after.ID}, 60*time.Second)
	t.Logf("peer restarted: bank gateway not ready meanwhile; restarted in %s, ready %s later (%s after the kill), event stream resumed over %d connections, "+
		"webhook got each grant once in %d deliveries", up.Round(100*time.Millisecond), took.Round(100*time.Millisecond),
		time.Since(killed).Round(100*time.Millisecond), stream.connections(), hooked)
}

// waitGrantsHooked waits until receiver has taken, signed, exactly one
// AuthorizationGranted delivery of each authorisation in ids, in ids'
// order, and returns how many deliveries it took in all.
func waitGrantsHooked(t *testing.T, receiver *outageReceiver, secret string, ids []string, timeout time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var order []string
		count := map[string]int{}
		reqs := receiver.requests()
		for _, r := range reqs {
			var ev model.Event
			if !r.ok || json.Unmarshal(r.body, &ev) != nil || ev.Name != model.EventAuthorizationGranted || !slices.Contains(ids, ev.AuthorizationID) {
				continue
			}
			checkSignature(t, secret, r.header.Get("Quanchain-Signature"), r.body, r.at)
			if count[ev.AuthorizationID]++; count[ev.AuthorizationID] == 1 {
				order = append(order, ev.AuthorizationID)
			}
		}
		for id, n := range count {
			if n > 1 {
				t.Fatalf("webhook: the grant of %s arrived %d times", id, n)
			}
		}
		if slices.Equal(order, ids) {
			return len(reqs)
		}
		if len(order) == len(ids) || time.Now().After(deadline) {
			t.Fatalf("webhook: grants arrived as %v, want %v", order, ids)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestFaultChaincodeRestart: with the chaincode service down, requests are
// answered 503 with a stable code; after the restart they succeed.
func TestFaultChaincodeRestart(t *testing.T) {
	people := demoCitizens(t)
	bank := institution(t, bankURL, "bank")
	if err := testNet.Kill(fabnet.ChaincodeServiceName); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	t.Cleanup(func() { restart(t) })
	code, raw := bank.call("GET", "/v1/authorizations?limit=1", nil, nil)
	if code != http.StatusServiceUnavailable || errorCode(raw) == "" {
		t.Fatalf("listing with the chaincode down: %d %s", code, raw)
	}
	up := restart(t)
	a := request(t, bank, people[33], "CREDIT_ASSESSMENT", []string{"tax"}, "2025-11-01", "2026-10-31", 1, "fault-cc")
	t.Logf("chaincode service down: 503 %s; restarted in %s, %s after the kill (authorisation %s created)",
		errorCode(raw), up.Round(100*time.Millisecond), time.Since(killed).Round(100*time.Millisecond), a.ID)
}

// TestFaultRevocationRace: deliveries race the citizen's revocation. Each
// delivery either committed before the revocation (200, and it is an
// access on the ledger and in the citizen's history) or is refused;
// nothing is delivered after it.
func TestFaultRevocationRace(t *testing.T) {
	people := demoCitizens(t)
	bank, citizen, a := monitoringGrant(t, people[34], 12, "fault-race")
	const n = 10
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		ok       = map[string]bool{}
		refusals = map[string]int{}
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 30 * time.Millisecond)
			code, raw := fetch(bank, a.ID, []string{"tax"}, "fault-race-"+strconv.Itoa(i))
			mu.Lock()
			defer mu.Unlock()
			if code == 200 {
				var d dataResult
				_ = json.Unmarshal(raw, &d)
				ok[d.AccessID] = true
				return
			}
			refusals[strconv.Itoa(code)+" "+errorCode(raw)]++
		}()
	}
	time.Sleep(90 * time.Millisecond)
	citizen.decide(a.ID, model.ActionRevoke, "revoke")
	wg.Wait()
	for r := range refusals {
		if r != "409 "+string(model.CodeAuthRevoked) {
			t.Errorf("a delivery was refused with %s, want 409 %s", r, model.CodeAuthRevoked)
		}
	}
	audit := as(t, "AuditMSP")
	page := decode[model.Page[model.Access]](t, audit.mustEvaluate("access:ListAccessesByAuthorization", a.ID, "100", ""))
	if len(page.Items) != len(ok) {
		t.Fatalf("%d deliveries answered 200, %d accesses on the ledger", len(ok), len(page.Items))
	}
	if revoked := decode[model.Authorization](t, audit.mustEvaluate("consent:GetAuthorization", a.ID)); revoked.Status != model.AuthRevoked {
		t.Fatalf("authorisation %s is %s after the revocation", a.ID, revoked.Status)
	}
	for _, acc := range page.Items {
		if !ok[acc.ID] {
			t.Errorf("access %s on the ledger was never delivered", acc.ID)
		}
	}
	if got := citizen.accessesOf(a.ID); got != len(ok) {
		t.Fatalf("the citizen sees %d uses, %d were delivered", got, len(ok))
	}
	if code, raw := fetch(bank, a.ID, []string{"tax"}, "fault-race-after"); code != http.StatusConflict || errorCode(raw) != string(model.CodeAuthRevoked) {
		t.Fatalf("fetch after the race: %d %s", code, raw)
	}
	t.Logf("revocation race: %d deliveries before the revocation, refusals %v", len(ok), refusals)
}
