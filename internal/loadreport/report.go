// Package loadreport turns the measurements of a load test into the tables
// and the chart docs/benchmarks.md shows: one row per scenario and number
// of concurrent clients, the network's memory at the end of each level, the
// throughput ratios between scenarios, and a line chart of throughput
// against clients (a hand-written SVG, standard library only).
//
// It also reads what it reports about the network's processes from Linux's
// /proc: CPU time (utime+stime) and resident memory (VmRSS).
package loadreport

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Result is one scenario driven by a number of concurrent clients for one
// timed step.
type Result struct {
	Scenario string
	Clients  int
	// Window is the timed step: operations that completed in it are counted.
	Window time.Duration
	// Latencies are those of the successful operations.
	Latencies []time.Duration
	// Errors counts the failed operations by code: an HTTP status and the
	// API's stable code ("429 RATE_LIMITED"), or a ledger error code.
	Errors map[string]int
	// CPU is the CPU time (user and system) the network's processes spent
	// in the window.
	CPU time.Duration
	// CPUParts splits CPU by part of the network: "orderers", "peers",
	// "chaincode" and each gateway by name.
	CPUParts map[string]time.Duration
}

// OK is the number of successful operations.
func (r *Result) OK() int { return len(r.Latencies) }

// Failed is the number of failed operations.
func (r *Result) Failed() int {
	n := 0
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// Throughput is the successful operations per second of the window.
func (r *Result) Throughput() float64 {
	if r.Window <= 0 {
		return 0
	}
	return float64(r.OK()) / r.Window.Seconds()
}

// Percentile returns the latency below which a fraction p (0–1) of the
// successful operations completed (nearest rank), or 0 if none did.
func (r *Result) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.Latencies)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// CPUPerOp is the network's CPU time per operation (successful or not), or
// 0 if there was none.
func (r *Result) CPUPerOp() time.Duration {
	n := r.OK() + r.Failed()
	if n == 0 {
		return 0
	}
	return r.CPU / time.Duration(n)
}

// Memory is the resident memory of the network's processes at the end of
// one level.
type Memory struct {
	Clients int
	// Network is the sum over the peers, orderers and chaincode service.
	Network int64
	// Gateways is each gateway's, by process name.
	Gateways map[string]int64
}

// Ratio compares the throughput of two scenarios at each level.
type Ratio struct {
	Name        string
	Numerator   string // scenario
	Denominator string // scenario
}

// Report is a whole load test run.
type Report struct {
	Results []Result
	Memory  []Memory
	Ratios  []Ratio
	// PartsAt is the number of clients at which the CPU time is shown by
	// part of the network (0: not shown).
	PartsAt int
	// Notes are printed after the tables, one line each.
	Notes []string
}

// Find returns the result of scenario at clients, or nil.
func (r *Report) Find(scenario string, clients int) *Result {
	for i := range r.Results {
		if r.Results[i].Scenario == scenario && r.Results[i].Clients == clients {
			return &r.Results[i]
		}
	}
	return nil
}

// Scenarios lists the scenarios in the order they first appear.
func (r *Report) Scenarios() []string {
	var out []string
	for _, res := range r.Results {
		if !slices.Contains(out, res.Scenario) {
			out = append(out, res.Scenario)
		}
	}
	return out
}

// Levels lists the numbers of clients, ascending.
func (r *Report) Levels() []int {
	var out []int
	for _, res := range r.Results {
		if !slices.Contains(out, res.Clients) {
			out = append(out, res.Clients)
		}
	}
	slices.Sort(out)
	return out
}

// RatioAt is the throughput ratio at clients, and false if either side has
// no result or no throughput.
func (r *Report) RatioAt(q Ratio, clients int) (float64, bool) {
	n, d := r.Find(q.Numerator, clients), r.Find(q.Denominator, clients)
	if n == nil || d == nil || d.Throughput() == 0 {
		return 0, false
	}
	return n.Throughput() / d.Throughput(), true
}

// WriteMarkdown writes the report as markdown tables: results, memory,
// ratios, then the notes.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("| scenario | clients | ops/s | p50 ms | p95 ms | p99 ms | ok | errors | network CPU ms/op |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|---|--:|\n")
	for _, s := range r.Scenarios() {
		for _, c := range r.Levels() {
			res := r.Find(s, c)
			if res == nil {
				continue
			}
			fmt.Fprintf(&b, "| %s | %d | %.1f | %s | %s | %s | %d | %s | %.1f |\n", s, c, res.Throughput(),
				ms(res.Percentile(0.50)), ms(res.Percentile(0.95)), ms(res.Percentile(0.99)), res.OK(),
				errorList(res.Errors), float64(res.CPUPerOp().Microseconds())/1000)
		}
	}
	if len(r.Memory) > 0 {
		names := gatewayNames(r.Memory)
		b.WriteString("\n| clients | network RSS MB |")
		for _, n := range names {
			fmt.Fprintf(&b, " %s RSS MB |", n)
		}
		b.WriteString("\n|--:|--:|" + strings.Repeat("--:|", len(names)) + "\n")
		for _, m := range r.Memory {
			fmt.Fprintf(&b, "| %d | %s |", m.Clients, mb(m.Network))
			for _, n := range names {
				fmt.Fprintf(&b, " %s |", mb(m.Gateways[n]))
			}
			b.WriteString("\n")
		}
	}
	if len(r.Ratios) > 0 {
		levels := r.Levels()
		b.WriteString("\n| throughput ratio |")
		for _, c := range levels {
			fmt.Fprintf(&b, " %d clients |", c)
		}
		b.WriteString("\n|---|" + strings.Repeat("--:|", len(levels)) + "\n")
		for _, q := range r.Ratios {
			fmt.Fprintf(&b, "| %s |", q.Name)
			for _, c := range levels {
				if v, ok := r.RatioAt(q, c); ok {
					fmt.Fprintf(&b, " %.2f |", v)
				} else {
					b.WriteString(" – |")
				}
			}
			b.WriteString("\n")
		}
	}
	r.writeParts(&b)
	if len(r.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range r.Notes {
			b.WriteString(n + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeParts writes where the CPU time of each operation went, by part of
// the network, at PartsAt clients.
func (r *Report) writeParts(b *strings.Builder) {
	var parts []string
	for _, res := range r.Results {
		if res.Clients != r.PartsAt {
			continue
		}
		for p := range res.CPUParts {
			if !slices.Contains(parts, p) {
				parts = append(parts, p)
			}
		}
	}
	if len(parts) == 0 {
		return
	}
	slices.Sort(parts)
	fmt.Fprintf(b, "\n| CPU ms/op at %d clients |", r.PartsAt)
	for _, p := range parts {
		fmt.Fprintf(b, " %s |", p)
	}
	b.WriteString("\n|---|" + strings.Repeat("--:|", len(parts)) + "\n")
	for _, s := range r.Scenarios() {
		res := r.Find(s, r.PartsAt)
		if res == nil {
			continue
		}
		n := res.OK() + res.Failed()
		fmt.Fprintf(b, "| %s |", s)
		for _, p := range parts {
			if n == 0 {
				b.WriteString(" – |")
				continue
			}
			fmt.Fprintf(b, " %.1f |", float64((res.CPUParts[p]/time.Duration(n)).Microseconds())/1000)
		}
		b.WriteString("\n")
	}
}

// ms renders a latency in milliseconds, "–" for none.
func ms(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000)
}

// mb renders bytes in MB (10^6), "–" for none.
func mb(n int64) string {
	if n <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f", float64(n)/1e6)
}

// errorList renders error counts, most frequent first: "429 RATE_LIMITED ×3".
func errorList(errs map[string]int) string {
	if len(errs) == 0 {
		return "–"
	}
	codes := make([]string, 0, len(errs))
	for c := range errs {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool {
		if errs[codes[i]] != errs[codes[j]] {
			return errs[codes[i]] > errs[codes[j]]
		}
		return codes[i] < codes[j]
	})
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%s ×%d", strings.ReplaceAll(c, "|", "/"), errs[c])
	}
	return strings.Join(parts, ", ")
}

func gatewayNames(ms []Memory) []string {
	var out []string
	for _, m := range ms {
		for n := range m.Gateways {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out
}
