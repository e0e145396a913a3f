package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/cli/internal/operator"
	"github.com/quanchain/quanchain/ledger/fabconn"
)

// webhookGateway is a requester gateway's admin API behind a RoundTripper:
// an outbox in memory, served two deliveries a page.
type webhookGateway struct {
	mu         sync.Mutex
	deliveries []operator.WebhookDelivery
	requests   []string
	noWebhooks bool // an operator's gateway: no such routes
}

func newWebhookGateway() *webhookGateway {
	g := &webhookGateway{}
	for i, s := range []struct{ hook, state string }{
		{"wh-a", "parked"}, {"wh-a", "pending"}, {"wh-b", "parked"}, {"wh-a", "pending"}, {"wh-c", "pending"},
	} {
		d := operator.WebhookDelivery{ID: int64(i + 1), WebhookID: s.hook, EventID: fmt.Sprintf("%d:tx%d", 10+i, i),
			EventName: "AuthorizationGranted", State: s.state, Attempts: 0, CreatedAt: "2026-11-02T09:00:00Z"}
		if s.state == "parked" {
			d.Attempts, d.ParkedAt, d.LastError = 20, "2026-11-02T11:00:00Z", "parked after 20 attempts: dial: connection refused"
		} else if s.hook == "wh-a" {
			d.HeldBack = true
		}
		g.deliveries = append(g.deliveries, d)
	}
	return g
}

func (g *webhookGateway) RoundTrip(r *http.Request) (*http.Response, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests = append(g.requests, r.Method+" "+r.URL.RequestURI())
	answer := func(status int, v any) (*http.Response, error) {
		b, _ := json.Marshal(v)
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader(b)), Request: r}, nil
	}
	apiErr := func(status int, code string) (*http.Response, error) {
		return answer(status, map[string]any{"error": map[string]string{"code": code, "message": strings.ToLower(code), "request_id": "req-1"}})
	}
	path := r.URL.Path
	if path == "/admin/v1/oauth/token" {
		return answer(200, operator.Token{AccessToken: "tok", TokenType: "Bearer", ExpiresIn: 300})
	}
	if r.Header.Get("Authorization") != "Bearer tok" {
		return apiErr(401, "MISSING_TOKEN")
	}
	switch {
	case g.noWebhooks:
		return apiErr(404, "NOT_FOUND")
	case r.Method == "GET" && path == "/admin/v1/webhooks/deliveries":
		q := r.URL.Query()
		after, _ := strconv.ParseInt(q.Get("cursor"), 10, 64)
		limit, _ := strconv.Atoi(q.Get("limit"))
		page := operator.DeliveryPage{Items: []operator.WebhookDelivery{}}
		for _, d := range g.deliveries {
			if d.ID <= after || d.State == "delivered" || (q.Get("state") != "" && d.State != q.Get("state")) ||
				(q.Get("webhook_id") != "" && d.WebhookID != q.Get("webhook_id")) {
				continue
			}
			if len(page.Items) == min(limit, 2) {
				page.NextCursor = strconv.FormatInt(page.Items[len(page.Items)-1].ID, 10)
				break
			}
			page.Items = append(page.Items, d)
		}
		return answer(200, page)
	case r.Method == "POST" && strings.HasPrefix(path, "/admin/v1/webhooks/deliveries/") && strings.HasSuffix(path, "/retry"):
		id, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(path, "/admin/v1/webhooks/deliveries/"), "/retry"), 10, 64)
		for i := range g.deliveries {
			d := &g.deliveries[i]
			switch {
			case d.ID != id:
				continue
			case d.State == "parked":
				d.State, d.Attempts, d.ParkedAt, d.RetriedAt, d.NextAttemptAt = "pending", 0, "", "2026-11-02T12:00:00Z", "2026-11-02T12:00:00Z"
			case d.RetriedAt == "":
				return apiErr(409, "DELIVERY_NOT_PARKED")
			}
			return answer(200, d)
		}
		return apiErr(404, "DELIVERY_NOT_FOUND")
	case r.Method == "POST" && strings.HasPrefix(path, "/admin/v1/webhooks/") && strings.HasSuffix(path, "/retry"):
		hook := strings.TrimSuffix(strings.TrimPrefix(path, "/admin/v1/webhooks/"), "/retry")
		res := operator.WebhookRetry{WebhookID: hook}
		known := false
		for i := range g.deliveries {
			if d := &g.deliveries[i]; d.WebhookID == hook {
				known = true
				if d.State == "parked" {
					d.State, d.RetriedAt = "pending", "2026-11-02T12:00:00Z"
					res.Retried++
				}
			}
		}
		if !known {
			return apiErr(404, "WEBHOOK_NOT_FOUND")
		}
		return answer(200, res)
	}
	return apiErr(404, "NOT_FOUND")
}

// localNetwork is the profile of the local network's gateways.
func localNetwork() (*fabconn.Profile, *fabconn.OrgProfile, error) {
	p := &fabconn.Profile{Orgs: []fabconn.OrgProfile{{Name: "audit", MSPID: "AuditMSP"}}, Gateways: []fabconn.GatewayProfile{
		{MSPID: "BureauMSP", Roles: []string{"provider"}, API: "http://127.0.0.1:7080", PeerAPI: "https://127.0.0.1:7090"},
		{MSPID: "BankMSP", Roles: []string{"requester"}, API: "http://127.0.0.1:7081"},
		{MSPID: "InsurerMSP", Roles: []string{"requester"}, API: "http://127.0.0.1:7082"},
	}}
	return p, &p.Orgs[0], nil
}

// runWebhooks runs a `qc admin webhooks` command against g.
func runWebhooks(t *testing.T, g *webhookGateway, args ...string) (string, string, error) {
	t.Helper()
	ios, _, out, errOut := cmdutil.Test()
	f := cmdutil.NewFactory(ios)
	f.NetworkProfile = localNetwork
	fake := func(cmdutil.AdminFlags) (*operator.Admin, error) {
		a := operator.NewAdmin("http://gateway.test", "bank-admin", "s")
		a.HTTP = &http.Client{Transport: g}
		return a, nil
	}
	var cmd *cobra.Command
	switch args[0] {
	case "deliveries":
		cmd = NewCmdWebhooksDeliveries(f, func(o *WebhooksDeliveriesOptions) error { o.Admin = fake; return webhooksDeliveriesRun(o) })
	case "retry":
		cmd = NewCmdWebhooksRetry(f, func(o *WebhooksRetryOptions) error { o.Admin = fake; return webhooksRetryRun(o) })
	}
	cmd.SetArgs(args[1:])
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestWebhooksDeliveries(t *testing.T) {
	g := newWebhookGateway()
	out, _, err := runWebhooks(t, g, "deliveries")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[1], "parked") ||
		!strings.Contains(lines[1], "dial: connection refused") || !strings.Contains(lines[2], "held back") ||
		!strings.Contains(lines[5], "wh-c") || !strings.Contains(lines[5], "pending") {
		t.Fatalf("table:\n%s", out)
	}
	if want := "GET /admin/v1/webhooks/deliveries?cursor=4&limit=100"; g.requests[len(g.requests)-1] != want {
		t.Fatalf("requests %v, want the last %q", g.requests, want)
	}

	out, _, err = runWebhooks(t, g, "deliveries", "--state", "Parked", "--json")
	var list []operator.WebhookDelivery
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 || list[0].ID != 1 || list[1].WebhookID != "wh-b" ||
		list[0].ParkedAt == "" {
		t.Fatalf("%v\n%s", err, out)
	}

	// --limit stops reading and says so.
	out, errOut, err := runWebhooks(t, g, "deliveries", "--limit", "3", "--json")
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 3 || !strings.Contains(errOut, "raise --limit") {
		t.Fatalf("%v\n%s%s", err, out, errOut)
	}
	out, errOut, err = runWebhooks(t, g, "deliveries", "--webhook", "wh-none")
	if err != nil || out != "" || !strings.Contains(errOut, "No undelivered") {
		t.Fatalf("%v\n%s%s", err, out, errOut)
	}
}

func TestWebhooksRetry(t *testing.T) {
	g := newWebhookGateway()
	out, _, err := runWebhooks(t, g, "retry", "1")
	if err != nil || !strings.Contains(out, "Delivery 1 of wh-a (event 10:tx0) is due now") {
		t.Fatalf("%v\n%s", err, out)
	}
	// Again: the gateway answers it as it stands.
	out, _, err = runWebhooks(t, g, "retry", "1", "--json")
	var d operator.WebhookDelivery
	if err != nil || json.Unmarshal([]byte(out), &d) != nil || d.State != "pending" || d.RetriedAt == "" {
		t.Fatalf("%v\n%s", err, out)
	}

	// Not parked, unknown: the gateway's code, and an error exit (not
	// found: 4; other failures: 1).
	_, _, err = runWebhooks(t, g, "retry", "2")
	var ae *operator.APIError
	if !errors.As(err, &ae) || ae.Code != "DELIVERY_NOT_PARKED" || cmdutil.IsNotFound(err) || !strings.Contains(err.Error(), "409") {
		t.Fatalf("not parked: %v", err)
	}
	_, _, err = runWebhooks(t, g, "retry", "99")
	if !errors.As(err, &ae) || ae.Code != "DELIVERY_NOT_FOUND" || !cmdutil.IsNotFound(err) {
		t.Fatalf("unknown: %v", err)
	}
	_, _, err = runWebhooks(t, g, "retry", "--subscription", "wh-none")
	if !errors.As(err, &ae) || ae.Code != "WEBHOOK_NOT_FOUND" || !cmdutil.IsNotFound(err) {
		t.Fatalf("unknown webhook: %v", err)
	}

	out, _, err = runWebhooks(t, g, "retry", "--subscription", "wh-b", "--json")
	var r operator.WebhookRetry
	if err != nil || json.Unmarshal([]byte(out), &r) != nil || r != (operator.WebhookRetry{WebhookID: "wh-b", Retried: 1}) {
		t.Fatalf("%v\n%s", err, out)
	}
	out, _, err = runWebhooks(t, g, "retry", "--subscription", "wh-b")
	if err != nil || !strings.Contains(out, "Retried 0 parked deliveries of wh-b") {
		t.Fatalf("%v\n%s", err, out)
	}
}

func TestWebhooksRetryAllParked(t *testing.T) {
	g := newWebhookGateway()
	out, _, err := runWebhooks(t, g, "retry", "--all-parked", "--json")
	var res allParkedRetry
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.Retried != 2 || len(res.Webhooks) != 2 ||
		res.Webhooks[0].WebhookID != "wh-a" || res.Webhooks[1].WebhookID != "wh-b" {
		t.Fatalf("%v\n%s", err, out)
	}
	var retries []string
	for _, rq := range g.requests {
		if strings.HasPrefix(rq, "POST /admin/v1/webhooks/") && !strings.Contains(rq, "oauth") {
			retries = append(retries, rq)
		}
	}
	if strings.Join(retries, ",") != "POST /admin/v1/webhooks/wh-a/retry,POST /admin/v1/webhooks/wh-b/retry" {
		t.Fatalf("retries %v", retries)
	}
	out, _, err = runWebhooks(t, g, "retry", "--all-parked")
	if err != nil || !strings.Contains(out, "Retried 0 parked deliveries of 0 webhooks") {
		t.Fatalf("%v\n%s", err, out)
	}
}

func TestWebhooksOnAGatewayWithout(t *testing.T) {
	g := newWebhookGateway()
	g.noWebhooks = true
	_, _, err := runWebhooks(t, g, "deliveries")
	if err == nil || !strings.Contains(err.Error(), "requester gateway") ||
		!strings.Contains(err.Error(), "--gateway http://127.0.0.1:7081 (BankMSP) or http://127.0.0.1:7082 (InsurerMSP)") {
		t.Fatalf("err %v", err)
	}
	noProfile := func() (*fabconn.Profile, *fabconn.OrgProfile, error) {
		return nil, nil, errors.New("no network profile")
	}
	if err := webhooksHint(err, noProfile); !strings.Contains(err.Error(), "name one with --gateway") {
		t.Fatalf("without a profile: %v", err)
	}
}

func TestWebhooksUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"retry"}, "exactly one of"},
		{[]string{"retry", "1", "--all-parked"}, "exactly one of"},
		{[]string{"retry", "--subscription", "wh-a", "--all-parked"}, "exactly one of"},
		{[]string{"retry", "1", "2"}, "at most one delivery id"},
		{[]string{"retry", "x1"}, "want a positive number"},
		{[]string{"retry", "0"}, "want a positive number"},
		{[]string{"deliveries", "--state", "delivered"}, "--state"},
		{[]string{"deliveries", "--limit", "0"}, "--limit"},
		{[]string{"deliveries", "extra"}, "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			g := newWebhookGateway()
			_, _, err := runWebhooks(t, g, tt.args...)
			var ue *cmdutil.UsageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want a usage error with %q", err, tt.want)
			}
			if len(g.requests) != 0 {
				t.Fatalf("requests %v", g.requests)
			}
		})
	}
}

func TestWebhooksFlags(t *testing.T) {
	ios, _, _, _ := cmdutil.Test()
	var got *WebhooksRetryOptions
	cmd := NewCmdWebhooksRetry(cmdutil.NewFactory(ios), func(o *WebhooksRetryOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--subscription", "wh-a", "--gateway", "http://gw", "--client-id", "a", "--client-secret", "b", "--json"})
	cmd.SetOut(&bytes.Buffer{})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Subscription != "wh-a" || got.AllParked || got.DeliveryID != 0 || got.Flags.Gateway != "http://gw" || !got.Output.JSON {
		t.Fatalf("options %+v", got)
	}
}
