package loadreport

import (
	"bytes"
	"encoding/xml"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func sample() *Report {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	return &Report{
		Results: []Result{
			{Scenario: "ceiling", Clients: 1, Window: 2 * time.Second, Latencies: ms(100, 120, 110, 130), CPU: 400 * time.Millisecond},
			{Scenario: "ceiling", Clients: 8, Window: 2 * time.Second, Latencies: ms(150, 160, 170, 180, 190, 200, 210, 220, 230, 240),
				Errors: map[string]int{"MVCC_READ_CONFLICT": 1, "429 RATE_LIMITED": 3}, CPU: 1300 * time.Millisecond,
				CPUParts: map[string]time.Duration{"peers": 840 * time.Millisecond, "orderers": 460 * time.Millisecond}},
			{Scenario: "data request", Clients: 1, Window: 2 * time.Second, Latencies: ms(300, 320)},
			{Scenario: "data request", Clients: 8, Window: 2 * time.Second, Latencies: ms(400, 410, 420, 430, 440)},
		},
		Memory:  []Memory{{Clients: 1, Network: 412e6, Gateways: map[string]int64{"gateway.bank": 48e6}}},
		Ratios:  []Ratio{{Name: "data ÷ ceiling", Numerator: "data request", Denominator: "ceiling"}},
		PartsAt: 8,
		Notes:   []string{"a note"},
	}
}

func TestResult(t *testing.T) {
	r := sample().Find("ceiling", 8)
	if r.OK() != 10 || r.Failed() != 4 {
		t.Fatalf("ok %d failed %d", r.OK(), r.Failed())
	}
	if got := r.Throughput(); got != 5 {
		t.Fatalf("throughput %v, want 5", got)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0.50, 190 * time.Millisecond}, {0.95, 240 * time.Millisecond}, {0.99, 240 * time.Millisecond}, {0.1, 150 * time.Millisecond}} {
		if got := r.Percentile(tc.p); got != tc.want {
			t.Errorf("p%v = %v, want %v", tc.p*100, got, tc.want)
		}
	}
	if got := r.CPUPerOp(); got != 1300*time.Millisecond/14 {
		t.Errorf("CPU per op %v", got)
	}
	var empty Result
	if empty.Percentile(0.5) != 0 || empty.Throughput() != 0 || empty.CPUPerOp() != 0 {
		t.Error("an empty result reports values")
	}
}

func TestWriteMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := sample().WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| ceiling | 1 | 2.0 | 110.0 | 130.0 | 130.0 | 4 | – | 100.0 |",
		"| ceiling | 8 | 5.0 | 190.0 | 240.0 | 240.0 | 10 | 429 RATE_LIMITED ×3, MVCC_READ_CONFLICT ×1 | 92.9 |",
		"| clients | network RSS MB | gateway.bank RSS MB |",
		"| 1 | 412 | 48 |",
		"| data ÷ ceiling | 0.50 | 0.50 |",
		"| CPU ms/op at 8 clients | orderers | peers |",
		"| ceiling | 32.9 | 60.0 |",
		"| data request | 0.0 | 0.0 |",
		"\na note\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}

func TestWriteSVG(t *testing.T) {
	var b bytes.Buffer
	if err := sample().WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	// Well-formed XML, one line per scenario, one point per result.
	dec := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	counts := map[string]int{}
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok {
			counts[se.Name.Local]++
		}
	}
	if counts["svg"] != 1 || counts["polyline"] != 2 || counts["circle"] != 4 {
		t.Fatalf("elements %v", counts)
	}
	if !strings.Contains(b.String(), ">data request</text>") {
		t.Fatal("no legend entry")
	}
}

func TestDecades(t *testing.T) {
	for _, tc := range []struct{ lo, hi, bottom, top float64 }{
		{math.Inf(1), 0, 1, 10}, {3.5, 349, 1, 1000}, {10, 10, 10, 100}, {0.4, 7, 0.1, 10},
	} {
		if bottom, top := decades(tc.lo, tc.hi); math.Abs(bottom-tc.bottom) > 1e-9 || math.Abs(top-tc.top) > 1e-9 {
			t.Errorf("decades(%v, %v) = %v, %v; want %v, %v", tc.lo, tc.hi, bottom, top, tc.bottom, tc.top)
		}
	}
}

func TestProc(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	// Burn CPU until a clock tick (10 ms) of it is accounted.
	var cpu time.Duration
	var err error
	for end := time.Now().Add(5 * time.Second); cpu == 0 && err == nil && time.Now().Before(end); {
		cpu, err = CPUTime(os.Getpid())
	}
	if err != nil || cpu <= 0 {
		t.Fatalf("CPUTime: %v %v", cpu, err)
	}
	rss, err := RSS(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Fatalf("RSS: %v %v", rss, err)
	}
	if _, err := CPUTime(-1); err == nil {
		t.Fatal("CPUTime of no process")
	}
}
