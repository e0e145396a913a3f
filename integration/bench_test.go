package integration

import (
	"fmt"
	"sort"
	"testing"
	"time"
)

// BenchmarkLedgerLatency measures, at light load (one client, sequential),
// the latency of an endorsed, ordered and committed transaction and of an
// evaluation on the real network, and reports p50 and p99:
//
//	go test -run '^$' -bench LedgerLatency -benchtime 200x ./integration/
func BenchmarkLedgerLatency(b *testing.B) {
	bank := as(b, "BankMSP")
	ref := newCitizen(fmt.Sprintf("bench-%s", runID), "", "").ref

	b.Run("submit", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		for i := 0; i < b.N; i++ {
			benchSeq++
			req := mustJSON(lending(id(fmt.Sprintf("bench-%d", benchSeq)), ref))
			start := time.Now()
			if _, err := bank.submit("consent:RequestAuthorization", req); err != nil {
				b.Fatal(describe(err))
			}
			lat = append(lat, time.Since(start))
		}
		report(b, lat)
	})
	b.Run("evaluate", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		for i := 0; i < b.N; i++ {
			start := time.Now()
			if _, err := bank.evaluate("registry:GetInstitution", "BankMSP"); err != nil {
				b.Fatal(describe(err))
			}
			lat = append(lat, time.Since(start))
		}
		report(b, lat)
	})
}

// benchSeq numbers the benchmark's requests across its runs.
var benchSeq int

// report adds p50 and p99 latencies, in milliseconds, to the benchmark output.
func report(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
