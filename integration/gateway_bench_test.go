package integration

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
)

// usesPerAuth is LOAN_MONITORING's ceiling in the demo registry.
const usesPerAuth = 12

// BenchmarkGatewayOverhead measures the gateway's own cost: the same
// operations through the bank's gateway (HTTP, auth, verification) and
// directly with the Fabric Gateway client, at light load (one client,
// sequential), with p50/p99 latency and throughput:
//
//	go test -run '^$' -bench GatewayOverhead -benchtime 48x ./integration/
//
// "authorization-check" reads one authorisation (GET /v1/authorizations/{id}
// vs consent:GetAuthorization); "data-request" is a verified delivery
// (POST /v1/data-requests: the bank's gateway calls the operator's over
// mutual TLS, which checks the ledger, records the access, encrypts; the
// bank's gateway decrypts and verifies the proofs against its own peer) vs
// the ledger write alone (access:RecordAccess submitted by the operator).
func BenchmarkGatewayOverhead(b *testing.B) {
	people := demoCitizens(b)
	citizen, phone := freshDevice(b, people[len(people)-1])
	bankAPI := institution(b, bankURL, "bank")

	// grantedViaGateway creates and grants an authorisation through the
	// gateways, as a bank and a citizen would.
	grantedViaGateway := func() string {
		benchSeq++
		var a model.Authorization
		bankAPI.must("POST", "/v1/authorizations", map[string]any{
			"citizen_id": people[len(people)-1].IDNumber, "purpose": "LOAN_MONITORING", "categories": []string{"tax"},
			"data_from": "2025-11-01", "data_to": "2026-10-31",
			"valid_until": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339), "max_uses": usesPerAuth,
			"reference": fmt.Sprintf("BENCH-%s-%d", runID, benchSeq),
		}, &a, 201, "Idempotency-Key", id(fmt.Sprintf("bench-auth-%d", benchSeq)))
		waitPending(b, citizen, a.ID)
		if code, raw := decideHTTP(citizen.t, citizen, phone, a.ID, model.ActionGrant); code != 200 {
			b.Fatalf("grant: %d %s", code, raw)
		}
		return a.ID
	}
	// grantedDirect does the same with the Fabric client.
	direct := newCitizen(fmt.Sprintf("bench-direct-%s", runID), "", "")
	dphone := newDevice(b)
	dphone.kid = string(as(b, bureau).mustSubmit("registry:AddCitizenKey", direct.ref, dphone.jwk))
	grantedDirect := func() string {
		benchSeq++
		req := lending(id(fmt.Sprintf("bench-direct-%d", benchSeq)), direct.ref)
		req.Purpose, req.Categories, req.MaxUses, req.DataFrom = "LOAN_MONITORING", []string{"tax"}, usesPerAuth, "2025-11-01"
		as(b, bank).mustSubmit("consent:RequestAuthorization", mustJSON(req))
		a := decode[model.Authorization](b, as(b, audit).mustEvaluate("consent:GetAuthorization", req.ID))
		p := model.NewDecisionPayload("quanchain", &a, registryTerms(b, &a), model.ActionGrant, time.Now()).Bytes()
		as(b, bureau).mustSubmit("consent:Decide", req.ID, base64.StdEncoding.EncodeToString(p), dphone.sign(b, p), dphone.kid)
		return req.ID
	}
	authID := grantedViaGateway()

	b.Run("authorization-check/gateway", func(b *testing.B) {
		measure(b, func(int) {
			bankAPI.must("GET", "/v1/authorizations/"+authID, nil, nil, http.StatusOK)
		})
	})
	b.Run("authorization-check/fabric", func(b *testing.B) {
		measure(b, func(int) { as(b, bank).mustEvaluate("consent:GetAuthorization", authID) })
	})
	b.Run("data-request/gateway", func(b *testing.B) {
		pool := preparePool(b, grantedViaGateway)
		measure(b, func(i int) {
			bankAPI.must("POST", "/v1/data-requests", map[string]any{"authorization_id": pool[i/usesPerAuth], "categories": []string{"tax"}},
				nil, http.StatusOK, "Idempotency-Key", id(fmt.Sprintf("bench-fetch-%d-%d", benchSeq, i)))
		})
	})
	b.Run("data-request/fabric", func(b *testing.B) {
		pool := preparePool(b, grantedDirect)
		measure(b, func(i int) {
			as(b, bureau).mustSubmit("access:RecordAccess", delivery(id(fmt.Sprintf("bench-acc-%d-%d", benchSeq, i)), pool[i/usesPerAuth], bank, "tax"))
		})
	})
}

// preparePool grants enough authorisations for b.N uses, outside the timer.
func preparePool(b *testing.B, grant func() string) []string {
	b.StopTimer()
	defer b.StartTimer()
	var pool []string
	for len(pool)*usesPerAuth < b.N {
		pool = append(pool, grant())
	}
	benchSeq++
	return pool
}

// measure runs op b.N times and reports p50/p99 latency and throughput.
func measure(b *testing.B, op func(i int)) {
	lat := make([]time.Duration, 0, b.N)
	start := time.Now()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		op(i)
		lat = append(lat, time.Since(t0))
	}
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	report(b, lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
}
