package integration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	fabclient "github.com/hyperledger/fabric-gateway/pkg/client"
	"google.golang.org/grpc/status"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/client"
	"github.com/quanchain/quanchain/internal/loadreport"
	"github.com/quanchain/quanchain/network/fabnet"
)

// BenchmarkLoad drives the network with 1, 8, 32 and 128 concurrent
// clients, each sending its next request as soon as the last is answered,
// through seven scenarios, and prints, for each scenario and level,
// throughput, p50/p95/p99 latency, errors by code and the network's CPU
// time per operation; then the memory of the network and of each gateway
// at the end of each level, and the throughput ratios the load targets are
// stated in (docs/benchmarks.md, "Under load"):
//
//	QUANCHAIN_LOAD_OUT=docs/bench go test -count=1 -run '^$' -bench '^BenchmarkLoad$' -benchtime 1x -timeout 60m ./integration/
//
// Settings (environment): QUANCHAIN_LOAD_CLIENTS (levels, default
// 1,8,32,128), QUANCHAIN_LOAD_STEP (the timed step, default 8s),
// QUANCHAIN_LOAD_WARMUP (before each step, default 2s), QUANCHAIN_LOAD_ONLY
// (only the scenarios whose names hold it, e.g. "data-requests"), QUANCHAIN_LOAD_OUT
// (a directory, relative to the repository root: load.md and load.svg are
// written there). `make bench-load` runs it with QUANCHAIN_LOAD_OUT=docs/bench.
//
// Errors do not stop the run: they are counted by code. Whatever a scenario
// needs (granted authorisations, distinct per client) is prepared before
// its step, outside the timed window.
func BenchmarkLoad(b *testing.B) {
	cfg := loadSettings(b)
	ctx := context.Background()
	procs := networkProcs(b)
	sc := newLoadScenarios(b, cfg)
	rep := &loadreport.Report{PartsAt: partsAt(cfg.levels), Ratios: []loadreport.Ratio{
		{Name: "gateway writes ÷ direct writes", Numerator: scRequestGateway, Denominator: scRequestDirect},
		{Name: "verified data requests ÷ ceiling", Numerator: scDataRequest, Denominator: scCeiling},
		{Name: "gateway reads ÷ direct evaluates", Numerator: scReadGateway, Denominator: scReadDirect},
	}}
	start, load0 := time.Now(), loadAverage()
	for _, clients := range cfg.levels {
		for _, s := range sc.list {
			if cfg.only != "" && !strings.Contains(s.name, cfg.only) {
				continue
			}
			if s.prepare != nil {
				// A failed preparation is reported; the step then counts
				// what its clients lack.
				if err := s.prepare(ctx, clients, rep); err != nil {
					fmt.Printf("load: %s, %d clients: preparing: %v\n", s.name, clients, err)
				}
			}
			res := runLoadStep(ctx, s, clients, cfg, procs)
			rep.Results = append(rep.Results, res)
			fmt.Printf("load: %-28s %4d clients  %7.1f ops/s  p50 %s ms  p99 %s ms  errors %d\n", s.name, clients,
				res.Throughput(), loadMS(res.Percentile(0.5)), loadMS(res.Percentile(0.99)), res.Failed())
		}
		rep.Memory = append(rep.Memory, procs.memory(clients))
	}
	if r := rep.Find(scClaim, 32); r != nil {
		rep.Notes = append(rep.Notes, fmt.Sprintf("Claim delivery (predicate) at 32 clients: p50 %s ms, p99 %s ms.",
			loadMS(r.Percentile(0.5)), loadMS(r.Percentile(0.99))))
	}
	rep.Notes = append(rep.Notes, fmt.Sprintf("Levels %v, %s warm-up and %s timed per step, %d authorisations granted for the "+
		"data and claim steps; run %s, %s in all. CPU is that of the 11 network processes (orderers, peers, chaincode "+
		"service, gateways), not of the load generator. Load average (1 min) of the machine at the start %s, "+
		"at the end %s.", cfg.levels, cfg.warmup, cfg.step, sc.granted,
		start.UTC().Format("2006-01-02 15:04 UTC"), time.Since(start).Round(time.Second), load0, loadAverage()))

	var md strings.Builder
	if err := rep.WriteMarkdown(&md); err != nil {
		b.Fatal(err)
	}
	fmt.Print("\n" + md.String())
	if cfg.out != "" {
		writeLoadFiles(b, cfg.out, rep, md.String())
	}
}

// Scenario names, as the table shows them.
const (
	scCeiling        = "ceiling:Put (Fabric)"
	scRequestDirect  = "RequestAuthorization (Fabric)"
	scRequestGateway = "POST /v1/authorizations"
	scDataRequest    = "POST /v1/data-requests"
	scClaim          = "claim predicate (insurer)"
	scReadGateway    = "GET /v1/authorizations/{id}"
	scReadDirect     = "GetAuthorization (Fabric)"
)

// partsAt is the level at which the CPU time is shown by part of the
// network: 32 clients, where the latency targets are set (see
// docs/benchmarks.md), or the highest level below it.
func partsAt(levels []int) int {
	at := levels[0]
	for _, l := range levels {
		if l <= 32 && l > at {
			at = l
		}
	}
	return at
}

// loadConfig is the benchmark's settings.
type loadConfig struct {
	levels       []int
	step, warmup time.Duration
	out          string
	only         string // run only the scenarios whose names hold it
}

func loadSettings(b *testing.B) loadConfig {
	b.Helper()
	cfg := loadConfig{levels: []int{1, 8, 32, 128}, step: 8 * time.Second, warmup: 2 * time.Second, out: os.Getenv("QUANCHAIN_LOAD_OUT"),
		only: os.Getenv("QUANCHAIN_LOAD_ONLY")}
	if v := os.Getenv("QUANCHAIN_LOAD_CLIENTS"); v != "" {
		cfg.levels = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > 1024 {
				b.Fatalf("QUANCHAIN_LOAD_CLIENTS=%q: want numbers of clients, 1-1024, comma-separated", v)
			}
			cfg.levels = append(cfg.levels, n)
		}
	}
	for _, d := range []struct {
		env string
		to  *time.Duration
	}{{"QUANCHAIN_LOAD_STEP", &cfg.step}, {"QUANCHAIN_LOAD_WARMUP", &cfg.warmup}} {
		if v := os.Getenv(d.env); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil || t < 0 {
				b.Fatalf("%s=%q: want a duration such as 8s", d.env, v)
			}
			*d.to = t
		}
	}
	if cfg.step <= 0 {
		b.Fatal("QUANCHAIN_LOAD_STEP must be positive")
	}
	return cfg
}

// loadScenario is one kind of operation the clients repeat.
type loadScenario struct {
	name string
	// prepare readies what clients at a level need, before the step.
	prepare func(ctx context.Context, clients int, rep *loadreport.Report) error
	// op performs one operation as client c.
	op func(ctx context.Context, c *loadClient) error
	// done hands back what a client holds at the end of a step.
	done func(c *loadClient)
}

// loadClient is one concurrent client's state during a step: the step's
// number in the run, its own number and its operation's make the ids and
// idempotency keys it sends unique.
type loadClient struct {
	step, n, seq int
	auth         *pooledAuth // the authorisation it uses, for data and claims
}

// key is a run-unique id or idempotency key for c's current operation.
func (c *loadClient) key(prefix string) string {
	return id(fmt.Sprintf("%s-%d-%d-%d", prefix, c.step, c.n, c.seq))
}

// loadSteps numbers the steps of the run.
var loadSteps int

// errPoolEmpty stops a client that found no granted authorisation left.
var errPoolEmpty = errors.New("no granted authorisation left")

// runLoadStep runs s with clients concurrent clients: a warm-up, then the
// timed step. The warm-up lasts cfg.warmup and until every client has had
// an answer (at most a minute): with many clients a request waits its turn
// for seconds, and until each has had one the network is not yet at its
// steady rate. The step counts the operations that complete in it, and the
// network's CPU time over it.
func runLoadStep(ctx context.Context, s loadScenario, clients int, cfg loadConfig, procs *netProcs) loadreport.Result {
	res := loadreport.Result{Scenario: s.name, Clients: clients, Window: cfg.step, Errors: map[string]int{}}
	loadSteps++
	var (
		mu       sync.Mutex
		t0, t1   time.Time // the step, once the warm-up is over
		waiting  = clients // clients without an answer yet
		answered = make(chan struct{})
		wg       sync.WaitGroup
	)
	for i := 0; i < clients; i++ {
		c := &loadClient{step: loadSteps, n: i}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.done != nil {
				defer s.done(c)
			}
			for first := true; ; first = false {
				begin := time.Now()
				mu.Lock()
				over := !t1.IsZero() && !begin.Before(t1)
				mu.Unlock()
				if over {
					return
				}
				c.seq++
				octx, cancel := context.WithTimeout(ctx, time.Minute)
				err := s.op(octx, c)
				cancel()
				end := time.Now()
				mu.Lock()
				if !t0.IsZero() && !end.Before(t0) && !end.After(t1) {
					if err != nil {
						res.Errors[loadErrorCode(err)]++
					} else {
						res.Latencies = append(res.Latencies, end.Sub(begin))
					}
				}
				if first {
					if waiting--; waiting == 0 {
						close(answered)
					}
				}
				mu.Unlock()
				if errors.Is(err, errPoolEmpty) {
					return
				}
			}
		}()
	}
	time.Sleep(cfg.warmup)
	select {
	case <-answered:
	case <-time.After(time.Minute):
	}
	cpu0 := procs.cpu()
	mu.Lock()
	t0 = time.Now()
	t1 = t0.Add(cfg.step)
	mu.Unlock()
	time.Sleep(cfg.step)
	res.CPUParts = procs.cpu()
	for part, t := range res.CPUParts {
		res.CPUParts[part] = t - cpu0[part]
		res.CPU += t - cpu0[part]
	}
	wg.Wait()
	return res
}

// loadErrorCode names an error the way the table counts it: the HTTP
// status and the API's code, or the ledger's error code.
func loadErrorCode(err error) string {
	var qe *client.Error
	switch {
	case errors.Is(err, errPoolEmpty):
		return "NO_AUTHORISATION_LEFT"
	case errors.As(err, &qe):
		return fmt.Sprintf("%d %s", qe.Status, qe.Code)
	case chaincodeCode(err) != "":
		return string(chaincodeCode(err))
	}
	var ce *fabclient.CommitError
	if errors.As(err, &ce) {
		return ce.Code.String()
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		return se.GRPCStatus().Code().String()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "TIMEOUT"
	}
	return "TRANSPORT"
}

// loadScenarios holds the clients and pools the scenarios share.
type loadScenarios struct {
	list    []loadScenario
	granted int // authorisations granted for the data and claim steps
}

func newLoadScenarios(b *testing.B, cfg loadConfig) *loadScenarios {
	b.Helper()
	// One HTTP client for every load client: keep-alive connections up to
	// the largest level, no retries, so that every refusal is counted.
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}}
	opts := []client.Option{client.WithHTTPClient(hc), client.WithMaxRetries(0)}
	bankAPI := institutionClient(b, bankURL, "bank", opts...)
	insurerAPI := institutionClient(b, insurerURL, "insurer", opts...)
	bankLedger := as(b, bank)
	// Demo citizens no other test uses: requests to one, grants by two.
	people := demoCitizens(b)
	asked, lender, claimant := people[42], people[40], people[41]
	direct := newCitizen(id("load-direct"), "", "")

	s := &loadScenarios{}
	window := cfg.warmup + cfg.step
	bankPool := &authPool{scenario: scDataRequest, uses: usesPerAuth, window: window, grant: s.granter(b, bankURL, "bank", lender, func(key string) client.AuthorizationRequest {
		return client.AuthorizationRequest{CitizenID: lender.IDNumber, Purpose: "LOAN_MONITORING", Categories: []string{"tax"},
			DataFrom: "2025-11-01", DataTo: "2026-10-31", ValidUntil: time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339),
			MaxUses: usesPerAuth, Reference: strings.ToUpper(key)}
	})}
	// CLAIM_SETTLEMENT allows at most 3 uses.
	claimPool := &authPool{scenario: scClaim, uses: 3, window: window, grant: s.granter(b, insurerURL, "insurer", claimant, func(key string) client.AuthorizationRequest {
		return client.AuthorizationRequest{CitizenID: claimant.IDNumber, Purpose: "CLAIM_SETTLEMENT",
			Categories: []string{"medical_settlement", "death_registration"}, DataFrom: "2024-01-01", DataTo: "2026-10-31",
			ValidUntil: time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339), MaxUses: 3, Reference: strings.ToUpper(key)}
	})}
	var readID string

	s.list = []loadScenario{
		{name: scCeiling, op: func(ctx context.Context, c *loadClient) error {
			_, err := bankLedger.submitWithContext(ctx, "ceiling:Put", "", []string{c.key("ceil"), "load"}, "", nil)
			return err
		}},
		{name: scRequestDirect, op: func(ctx context.Context, c *loadClient) error {
			req := lending(c.key("ld"), direct.ref)
			_, err := bankLedger.submitWithContext(ctx, "consent:RequestAuthorization", bank, nil, model.TransientRequest, req)
			return err
		}},
		{name: scRequestGateway, op: func(ctx context.Context, c *loadClient) error {
			key := c.key("lg")
			_, err := bankAPI.CreateAuthorization(ctx, client.AuthorizationRequest{
				CitizenID: asked.IDNumber, Purpose: "CREDIT_ASSESSMENT", Categories: []string{"housing_fund", "tax"},
				DataFrom: "2025-11-01", DataTo: "2026-10-31", ValidUntil: time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339),
				MaxUses: 3, Reference: strings.ToUpper(key)}, key)
			return err
		}},
		{name: scDataRequest, prepare: bankPool.fill, done: bankPool.giveBack, op: func(ctx context.Context, c *loadClient) error {
			a, err := bankPool.use(c)
			if err != nil {
				return err
			}
			_, err = bankAPI.RequestData(ctx, client.DataRequest{AuthorizationID: a, Categories: []string{"tax"}},
				c.key("lf"))
			return err
		}},
		{name: scClaim, prepare: claimPool.fill, done: claimPool.giveBack, op: func(ctx context.Context, c *loadClient) error {
			a, err := claimPool.use(c)
			if err != nil {
				return err
			}
			_, _, err = insurerAPI.RequestPredicate(ctx, a, "death_registration",
				client.Predicate{Code: "DECEASED_BEFORE", Params: map[string]string{"date": "2026-10-01"}},
				c.key("lp"))
			return err
		}},
		{name: scReadGateway, prepare: func(ctx context.Context, _ int, _ *loadreport.Report) error {
			if readID != "" {
				return nil
			}
			if len(bankPool.all) == 0 {
				return errors.New("no granted authorisation to read")
			}
			readID = bankPool.all[0]
			return nil
		}, op: func(ctx context.Context, c *loadClient) error {
			_, err := bankAPI.Authorization(ctx, readID)
			return err
		}},
		{name: scReadDirect, op: func(ctx context.Context, c *loadClient) error {
			_, err := bankLedger.contract.EvaluateWithContext(ctx, "consent:GetAuthorization", fabclient.WithArguments(readID))
			return err
		}},
	}
	return s
}

// pooledAuth is a granted authorisation and the uses left to the load.
type pooledAuth struct {
	id   string
	left int
}

// authPool hands granted authorisations to clients, one client at a time,
// so that no two clients use one authorisation at once (its use count is
// one key: concurrent uses would fail validation as MVCC conflicts).
type authPool struct {
	scenario string        // the scenario that uses it
	uses     int           // of each authorisation
	window   time.Duration // of a step, with its warm-up
	grant    func(ctx context.Context, n int) ([]string, error)

	mu   sync.Mutex
	free []*pooledAuth
	all  []string
}

// fill grants authorisations until the pool holds one for each client and
// enough uses for the step, estimated from the last level's throughput.
func (p *authPool) fill(ctx context.Context, clients int, rep *loadreport.Report) error {
	p.mu.Lock()
	left := 0
	for _, a := range p.free {
		left += a.left
	}
	have := len(p.free)
	p.mu.Unlock()
	// Expected uses: the last level's rate, two and a half times over (a
	// level with four times the clients may well go faster),
	// over the warm-up and the step, and the warm-up's wait until each
	// client has had an answer (clients ÷ rate); 20 ops/s before anything
	// was measured.
	rate, prev := 20.0, 0
	for _, r := range rep.Results {
		if r.Scenario == p.scenario && r.Clients > prev && r.Throughput() > 0 {
			rate, prev = r.Throughput(), r.Clients
		}
	}
	uses := rate * 2.5 * (p.window.Seconds() + float64(clients)/rate)
	need := max(clients-have, (int(uses)-left+p.uses-1)/p.uses, 0)
	if need == 0 {
		return nil
	}
	ids, err := p.grant(ctx, need)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range ids {
		p.free = append(p.free, &pooledAuth{id: a, left: p.uses})
		p.all = append(p.all, a)
	}
	return err
}

// use takes one use of c's authorisation, taking another from the pool
// when it has none left.
func (p *authPool) use(c *loadClient) (string, error) {
	if c.auth == nil || c.auth.left == 0 {
		p.mu.Lock()
		if len(p.free) == 0 {
			p.mu.Unlock()
			return "", errPoolEmpty
		}
		c.auth, p.free = p.free[0], p.free[1:]
		p.mu.Unlock()
	}
	c.auth.left--
	return c.auth.id, nil
}

// giveBack returns c's authorisation, if it has uses left, to the pool.
func (p *authPool) giveBack(c *loadClient) {
	if c.auth == nil || c.auth.left == 0 {
		return
	}
	p.mu.Lock()
	p.free = append(p.free, c.auth)
	p.mu.Unlock()
	c.auth = nil
}

// granter returns a function that creates n authorisations at the member's
// gateway for person and has person grant each from a fresh device, eight
// at a time, as a bank's and a citizen's systems would: through the
// gateways' HTTP APIs.
func (s *loadScenarios) granter(b *testing.B, base, member string, person demoCitizen,
	request func(key string) client.AuthorizationRequest) func(ctx context.Context, n int) ([]string, error) {
	b.Helper()
	inst := institutionClient(b, base, member)
	citizen, phone := freshDevice(b, person)
	batch := 0
	return func(ctx context.Context, n int) ([]string, error) {
		batch++
		ids := make([]string, n)
		errs := make([]error, n)
		work := make(chan int)
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					key := id(fmt.Sprintf("lgr-%s-%d-%d", member, batch, i))
					ids[i], errs[i] = grantOne(ctx, inst, citizen, phone, request(key), key)
				}
			}()
		}
		for i := 0; i < n; i++ {
			work <- i
		}
		close(work)
		wg.Wait()
		var out []string
		for i := range ids {
			if errs[i] == nil {
				out = append(out, ids[i])
			}
		}
		s.granted += len(out)
		return out, errors.Join(errs...)
	}
}

// grantOne creates one authorisation and grants it, waiting (and retrying
// refusals for too many requests) as long as the operator's and the
// requester's peers need to see each step.
func grantOne(ctx context.Context, inst *client.Client, citizen *httpClient, phone *device, req client.AuthorizationRequest, key string) (string, error) {
	a, err := inst.CreateAuthorization(ctx, req, key)
	if err != nil {
		return "", err
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		code, raw, err := tryDecide(citizen, phone, a.ID, model.ActionGrant)
		var pr *payloadRefused
		switch {
		case err == nil && code == http.StatusOK:
		case errors.As(err, &pr) && (pr.status == http.StatusNotFound || pr.status == http.StatusTooManyRequests) && time.Now().Before(deadline):
			continue // not on the operator's peer yet, or too fast
		case err == nil && code == http.StatusTooManyRequests && time.Now().Before(deadline):
			continue
		case err == nil:
			return "", fmt.Errorf("grant %s: status %d: %s", a.ID, code, raw)
		default:
			return "", fmt.Errorf("grant %s: %w", a.ID, err)
		}
		break
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got, err := inst.WaitForDecision(wctx, a.ID, 200*time.Millisecond)
	if err != nil || got.Status != model.AuthGranted {
		return "", fmt.Errorf("authorisation %s after the grant: %v %v", a.ID, got, err)
	}
	return a.ID, nil
}

// netProcs are the network's processes, found through network/fabnet.
type netProcs struct {
	all      []fabnet.ProcessStatus
	gateways []fabnet.ProcessStatus
}

func networkProcs(b *testing.B) *netProcs {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := testNet.Status(ctx)
	if err != nil {
		b.Fatal(err)
	}
	p := &netProcs{}
	for _, ps := range rep.Processes {
		if !ps.Running || ps.PID == 0 {
			b.Fatalf("%s is not running", ps.Name)
		}
		p.all = append(p.all, ps)
		if ps.Kind == fabnet.KindGateway {
			p.gateways = append(p.gateways, ps)
		}
	}
	return p
}

// cpu is the CPU time the network's processes have used, by part: the
// orderers, the peers, the chaincode service and each gateway.
func (p *netProcs) cpu() map[string]time.Duration {
	parts := map[string]time.Duration{}
	for _, ps := range p.all {
		part := string(ps.Kind) + "s"
		switch ps.Kind {
		case fabnet.KindGateway:
			part = ps.Name
		case fabnet.KindChaincode:
			part = "chaincode"
		}
		if t, err := loadreport.CPUTime(ps.PID); err == nil {
			parts[part] += t
		}
	}
	return parts
}

// memory is the resident memory of the network and of each gateway.
func (p *netProcs) memory(clients int) loadreport.Memory {
	m := loadreport.Memory{Clients: clients, Gateways: map[string]int64{}}
	for _, ps := range p.all {
		rss, err := loadreport.RSS(ps.PID)
		if err != nil {
			continue
		}
		if ps.Kind == fabnet.KindGateway {
			m.Gateways[ps.Name] = rss
		} else {
			m.Network += rss
		}
	}
	return m
}

// writeLoadFiles writes load.md and load.svg into dir.
func writeLoadFiles(b *testing.B, dir string, rep *loadreport.Report, md string) {
	b.Helper()
	if !filepath.IsAbs(dir) {
		// go test runs the benchmark in integration/: a relative path is
		// taken from the repository root.
		dir = filepath.Join("..", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "load.md"), []byte(md), 0o644); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "load.svg"))
	if err != nil {
		b.Fatal(err)
	}
	if err := rep.WriteSVG(f); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("load: wrote %s and %s\n", filepath.Join(dir, "load.md"), filepath.Join(dir, "load.svg"))
}

// loadAverage is the machine's one-minute load average, "?" if unknown.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

func loadMS(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
