package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/network/fabnet"
)

// ownGateway is a gateway process a test runs for itself, next to the ones
// make up runs, with a data directory (store, keys, demo clients) of its
// own.
type ownGateway struct {
	url     string
	dataDir string
	log     string
}

// demoClient returns the gateway's demo API client whose scopes include
// scope.
func (g *ownGateway) demoClient(t *testing.T, scope string) (id, secret string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(g.dataDir, "demo-clients.json"))
	if err != nil {
		t.Fatal(err)
	}
	var clients []struct {
		ClientID     string   `json:"client_id"`
		ClientSecret string   `json:"client_secret"`
		Scopes       []string `json:"scopes"`
	}
	if err := json.Unmarshal(b, &clients); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		if slices.Contains(c.Scopes, scope) {
			return c.ClientID, c.ClientSecret
		}
	}
	t.Fatalf("no demo client with the %s scope in %s", scope, b)
	return "", ""
}

// login gets a token for the client from path (/v1/oauth/token or
// /admin/v1/oauth/token).
func (g *ownGateway) login(t *testing.T, path, id, secret string) *httpClient {
	t.Helper()
	c := &httpClient{t: t, base: g.url}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	c.must("POST", path, map[string]string{"grant_type": "client_credentials", "client_id": id, "client_secret": secret}, &tok, 200)
	c.token = tok.AccessToken
	return c
}

// startBankGateway builds the gateway from this tree and runs it for
// BankMSP (requester role) on a free loopback port with the extra QC_…
// settings; it stops when the test ends.
func startBankGateway(t *testing.T, settings ...string) *ownGateway {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "quanchain-gateway")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./"+fabnet.DefaultGatewaySource)
	build.Dir = testNet.Layout().RepoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the gateway: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	g := &ownGateway{url: "http://" + addr, dataDir: filepath.Join(dir, "data"), log: filepath.Join(dir, "gateway.log")}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "QC_") {
			env = append(env, kv)
		}
	}
	env = append(env, "QC_ORG=BankMSP", "QC_ROLES=requester", "QC_LISTEN="+addr, "QC_STATE_DIR="+testNet.StateDir(),
		"QC_DATA_DIR="+g.dataDir, "QC_DEV=true", "QC_OPERATOR_URL=https://"+fabnet.OperatorPeerListen)
	env = append(env, settings...)

	useBankKey(t, g.dataDir)
	setup := exec.CommandContext(ctx, bin, "setup", "--citizens=0")
	setup.Env = env
	if out, err := setup.CombinedOutput(); err != nil {
		t.Fatalf("gateway setup: %v\n%s", err, out)
	}
	logFile, err := os.Create(g.log)
	if err != nil {
		t.Fatal(err)
	}
	run := exec.Command(bin)
	run.Env, run.Stdout, run.Stderr = env, logFile, logFile
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- run.Wait(); logFile.Close() }()
	t.Cleanup(func() {
		_ = run.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = run.Process.Kill()
			<-exited
		}
		if t.Failed() {
			if b, err := os.ReadFile(g.log); err == nil {
				t.Logf("gateway log:\n%s", tailLines(string(b), 40))
			}
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(g.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g
			}
		}
		select {
		case err := <-exited:
			b, _ := os.ReadFile(g.log)
			t.Fatalf("the gateway exited: %v\n%s", err, tailLines(string(b), 40))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway at %s is not ready", g.url)
		}
	}
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// outageReceiver is a webhook receiver that answers 503 while down and
// records every request.
type outageReceiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	down bool
	got  []outageRequest
}

type outageRequest struct {
	eventID string
	header  http.Header
	body    []byte
	at      time.Time
	ok      bool
}

func newOutageReceiver(t *testing.T) *outageReceiver {
	rc := &outageReceiver{down: true}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		down := rc.down
		rc.got = append(rc.got, outageRequest{eventID: r.Header.Get("Quanchain-Event-Id"), header: r.Header.Clone(), body: b,
			at: time.Now(), ok: !down})
		rc.mu.Unlock()
		if down {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *outageReceiver) setDown(down bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.down = down
}

func (rc *outageReceiver) requests() []outageRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// webhookDelivery is an entry of GET /admin/v1/webhooks/deliveries.
type webhookDelivery struct {
	ID        int64  `json:"id"`
	EventID   string `json:"event_id"`
	State     string `json:"state"`
	HeldBack  bool   `json:"held_back"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error"`
}

// undelivered lists every undelivered delivery of webhook hook.
func undelivered(admin *httpClient, hook string) []webhookDelivery {
	admin.t.Helper()
	var all []webhookDelivery
	cursor := ""
	for {
		var page struct {
			Items      []webhookDelivery `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		admin.must("GET", "/admin/v1/webhooks/deliveries?limit=100&webhook_id="+url.QueryEscape(hook)+"&cursor="+url.QueryEscape(cursor),
			nil, &page, 200)
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
}

func eventBlock(t *testing.T, eventID string) uint64 {
	t.Helper()
	b, _, ok := strings.Cut(eventID, ":")
	n, err := strconv.ParseUint(b, 10, 64)
	if !ok || err != nil {
		t.Fatalf("event id %q is not <block>:<txid>", eventID)
	}
	return n
}

// TestWebhookOutageHTTP: a webhook receiver is down for longer than the
// whole backoff schedule of a bank gateway (three attempts, waits of 200
// and 400 ms). Its first event is parked and the later ones are held back,
// neither sent past it nor dropped; when the receiver is back nothing moves
// until the parked delivery is retried through the admin API (qc admin
// webhooks retry); then the receiver gets every event, signed, once, in
// ledger order.
func TestWebhookOutageHTTP(t *testing.T) {
	gw := startBankGateway(t, "QC_WEBHOOK_MAX_ATTEMPTS=3", "QC_WEBHOOK_BASE_DELAY=200ms", "QC_WEBHOOK_MAX_DELAY=400ms")
	appID, appSecret := gw.demoClient(t, "institution")
	adminID, adminSecret := gw.demoClient(t, "admin")
	bank := gw.login(t, "/v1/oauth/token", appID, appSecret)
	admin := gw.login(t, "/admin/v1/oauth/token", adminID, adminSecret)

	rc := newOutageReceiver(t)
	var hook struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	bank.must("POST", "/v1/webhooks", map[string]string{"url": rc.srv.URL + "/hook"}, &hook, 201, "Idempotency-Key", id("outage-hook"))
	defer bank.must("DELETE", "/v1/webhooks/"+hook.ID, nil, nil, 204)

	// Four events of this test, one after the other on the ledger.
	person := demoCitizens(t)[36] // a citizen no other test uses
	var auths []model.Authorization
	var txIDs []string
	for _, tag := range []string{"outage-a", "outage-b", "outage-c"} {
		a := request(t, bank, person, "CREDIT_ASSESSMENT", []string{"tax"}, "2025-11-01", "2026-10-31", 1, tag)
		auths = append(auths, a)
		txIDs = append(txIDs, a.RequestTxID)
	}
	var withdrawn model.Authorization
	bank.must("POST", "/v1/authorizations/"+auths[0].ID+"/withdraw", nil, &withdrawn, 200, "Idempotency-Key", id("outage-withdraw"))
	txIDs = append(txIDs, withdrawn.LastTxID)
	defer func() {
		for i, a := range auths[1:] {
			bank.call("POST", "/v1/authorizations/"+a.ID+"/withdraw", nil, nil, "Idempotency-Key", id(fmt.Sprintf("outage-tidy-%d", i)))
		}
	}()
	mine := func(eventID string) int {
		return slices.IndexFunc(txIDs, func(tx string) bool { return strings.HasSuffix(eventID, ":"+tx) })
	}

	// The receiver stays down until the first delivery is parked and all
	// four events are queued behind it.
	deadline := time.Now().Add(2 * time.Minute)
	var queued []webhookDelivery
	for {
		queued = undelivered(admin, hook.ID)
		found := 0
		for _, d := range queued {
			if mine(d.EventID) >= 0 {
				found++
			}
		}
		if found == len(txIDs) && len(queued) > 0 && queued[0].State == "parked" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 2 minutes: %d of the test's events queued, queue %+v", found, queued)
		}
		time.Sleep(250 * time.Millisecond)
	}
	head := queued[0]
	if head.Attempts != 3 || !strings.HasPrefix(head.LastError, "parked after 3 attempts: HTTP 503") {
		t.Fatalf("parked delivery %+v", head)
	}
	for _, d := range queued[1:] {
		if d.State != "pending" || !d.HeldBack || d.Attempts != 0 {
			t.Fatalf("a delivery behind the parked one: %+v", d)
		}
	}
	for _, r := range rc.requests() {
		if r.eventID != head.EventID {
			t.Fatalf("%s was sent while %s, before it, was undelivered", r.eventID, head.EventID)
		}
	}

	// Back up: a parked delivery is not tried again by itself.
	rc.setDown(false)
	time.Sleep(3 * time.Second)
	if n := len(rc.requests()); n != 3 {
		t.Fatalf("%d requests while parked, want the 3 attempts", n)
	}
	r := mustQC(t, 0, "admin", "webhooks", "deliveries", "--state", "parked", "--webhook", hook.ID, "--json",
		"--gateway", gw.url, "--client-id", adminID, "--client-secret", adminSecret)
	if parked := jsonOf[[]webhookDelivery](t, r); len(parked) != 1 || parked[0].ID != head.ID {
		t.Fatalf("qc lists parked %+v", parked)
	}
	if code, raw := admin.call("POST", fmt.Sprintf("/admin/v1/webhooks/deliveries/%d/retry", queued[1].ID), nil, nil); code != 409 ||
		errorCode(raw) != "DELIVERY_NOT_PARKED" {
		t.Fatalf("retry of a held-back delivery: %d %s", code, raw)
	}

	// The retry: everything arrives, in order.
	r = mustQC(t, 0, "admin", "webhooks", "retry", "--subscription", hook.ID, "--json",
		"--gateway", gw.url, "--client-id", adminID, "--client-secret", adminSecret)
	if res := jsonOf[struct {
		Retried int `json:"retried"`
	}](t, r); res.Retried != 1 {
		t.Fatalf("retried %s", r.stdout)
	}
	deadline = time.Now().Add(time.Minute)
	for len(undelivered(admin, hook.ID)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("still undelivered a minute after the retry: %+v", undelivered(admin, hook.ID))
		}
		time.Sleep(250 * time.Millisecond)
	}
	var delivered []outageRequest
	seen := map[string]bool{}
	for _, r := range rc.requests() {
		if r.ok {
			if seen[r.eventID] {
				t.Fatalf("%s delivered twice", r.eventID)
			}
			seen[r.eventID] = true
			delivered = append(delivered, r)
		}
	}
	if len(delivered) < len(queued) {
		t.Fatalf("%d deliveries after the retry, want the %d queued", len(delivered), len(queued))
	}
	next := 0
	var withdrawal outageRequest
	for i, d := range delivered {
		if i < len(queued) && d.eventID != queued[i].EventID {
			t.Fatalf("delivery %d is %s, want %s (the queue's order)", i, d.eventID, queued[i].EventID)
		}
		if i > 0 && eventBlock(t, d.eventID) < eventBlock(t, delivered[i-1].eventID) {
			t.Fatalf("%s delivered after %s, a later block", d.eventID, delivered[i-1].eventID)
		}
		checkSignature(t, hook.Secret, d.header.Get("Quanchain-Signature"), d.body, d.at)
		if k := mine(d.eventID); k >= 0 {
			if k != next {
				t.Fatalf("the test's event %d arrived when %d was due", k, next)
			}
			next++
			withdrawal = d
		}
	}
	if next != len(txIDs) {
		t.Fatalf("%d of the test's %d events arrived", next, len(txIDs))
	}
	var ev model.Event
	if err := json.Unmarshal(withdrawal.body, &ev); err != nil || ev.Name != model.EventAuthorizationWithdrawn ||
		ev.AuthorizationID != auths[0].ID {
		t.Fatalf("the test's last event %s: %v", withdrawal.body, err)
	}
}
