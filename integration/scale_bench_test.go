package integration

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/client"
)

// BenchmarkDeliveryAtScale measures whether a verified data request slows
// down as the ledger fills: it times QUANCHAIN_SCALE_SAMPLES (default 40)
// data requests, each on a freshly granted authorisation, then adds
// QUANCHAIN_SCALE_AUTHS (default 100000) authorisation requests to the
// ledger — one in a hundred for the same citizen, the rest for others —
// and times as many data requests again. It prints p50/p95/p99 before and
// after, and the ratios.
//
//	go test -count=1 -run '^$' -bench '^BenchmarkDeliveryAtScale$' -benchtime 1x -timeout 60m ./integration/
func BenchmarkDeliveryAtScale(b *testing.B) {
	total := envCount(b, "QUANCHAIN_SCALE_AUTHS", 100000)
	samples := envCount(b, "QUANCHAIN_SCALE_SAMPLES", 40)
	people := demoCitizens(b)
	lender := people[43]
	bankAPI := institutionClient(b, bankURL, "bank")
	citizen, phone := freshDevice(b, lender)
	ctx := context.Background()
	seq := 0
	var ref string
	measure := func(label string) []time.Duration {
		lat := make([]time.Duration, 0, samples)
		for i := 0; i < samples; i++ {
			seq++
			key := id(fmt.Sprintf("scale-%s-%d", label, seq))
			authID, err := grantOne(ctx, bankAPI, citizen, phone, client.AuthorizationRequest{CitizenID: lender.IDNumber,
				Purpose: "LOAN_MONITORING", Categories: []string{"tax"}, DataFrom: "2025-11-01", DataTo: "2026-10-31",
				ValidUntil: time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339), MaxUses: 3, Reference: strings.ToUpper(key)}, key)
			if err != nil {
				b.Fatal(err)
			}
			if ref == "" {
				a, err := bankAPI.Authorization(ctx, authID)
				if err != nil {
					b.Fatal(err)
				}
				ref = a.CitizenRef
			}
			start := time.Now()
			if _, err := bankAPI.RequestData(ctx, client.DataRequest{AuthorizationID: authID, Categories: []string{"tax"}}, key+"-d"); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		return lat
	}
	before := measure("before")
	pb := percentiles(before)
	b.Logf("before: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms", ms(pb[0]), ms(pb[1]), ms(pb[2]))

	// Fill: 32 clients submit requests straight to the ledger, as the
	// bank's gateway does, each for a citizen of its own except one in a
	// hundred, which names the measured citizen (its ref and subject).
	bankLedger := as(b, bank)
	var next, failed atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(total) {
					return
				}
				req := lending(id(fmt.Sprintf("scale-fill-%d", i)), sha(fmt.Sprintf("scale citizen %s %d", runID, i)))
				if i%100 == 0 {
					req.CitizenRef, req.Subject = ref, model.SubjectDigest(bank, ref, lender.IDNumber)
				}
				sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
				_, err := bankLedger.submitWithContext(sctx, "consent:RequestAuthorization", bank, nil, model.TransientRequest, req)
				cancel()
				if err != nil {
					failed.Add(1)
				}
				if i%10000 == 0 {
					b.Logf("%d requests on the ledger after %s", i, time.Since(start).Round(time.Second))
				}
			}
		}()
	}
	wg.Wait()
	fill := time.Since(start)
	if f := failed.Load(); f > int64(total)/100 {
		b.Fatalf("%d of %d fill requests failed", f, total)
	}
	// The fill outlasts the citizen's session (30 minutes idle): the
	// citizen logs in again, on the same device, as the app would.
	citizen = citizenLogin(b, lender)
	after := measure("after")

	pa := percentiles(after)
	fmt.Printf("\nVerified data request latency, %d samples each, before and after %d more authorisations on the ledger (%d failed, filled in %s, %.0f/s)\n",
		samples, total, failed.Load(), fill.Round(time.Second), float64(total)/fill.Seconds())
	fmt.Printf("%-8s %8s %8s %8s\n", "", "p50 ms", "p95 ms", "p99 ms")
	fmt.Printf("%-8s %8.1f %8.1f %8.1f\n", "before", ms(pb[0]), ms(pb[1]), ms(pb[2]))
	fmt.Printf("%-8s %8.1f %8.1f %8.1f\n", "after", ms(pa[0]), ms(pa[1]), ms(pa[2]))
	fmt.Printf("%-8s %8.2f %8.2f %8.2f\n", "ratio", ms(pa[0])/ms(pb[0]), ms(pa[1])/ms(pb[1]), ms(pa[2])/ms(pb[2]))
	b.ReportMetric(ms(pb[0]), "p50-before-ms")
	b.ReportMetric(ms(pa[0]), "p50-after-ms")
	b.ReportMetric(ms(pb[2]), "p99-before-ms")
	b.ReportMetric(ms(pa[2]), "p99-after-ms")
}

// percentiles returns the p50, p95 and p99 of lat.
func percentiles(lat []time.Duration) [3]time.Duration {
	s := append([]time.Duration(nil), lat...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(p float64) time.Duration { return s[int(p*float64(len(s)-1))] }
	return [3]time.Duration{at(0.50), at(0.95), at(0.99)}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// envCount reads a positive count from the environment, or def.
func envCount(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}
