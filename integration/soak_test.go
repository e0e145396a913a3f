package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
)

// TestSoak runs lending, claims, pauses and revocations through the
// gateways at a modest rate, with idle gaps longer than every timeout in
// the path: the gateways' HTTP idle timeout (the pooled connections
// between a requester's gateway and the operator's), the institution
// token's lifetime, the event stream's request timeout and the gRPC
// keep-alive of the gateways' connections to their peers. It asserts that
// nothing unexpected fails, that every delivery is exactly one access on
// the ledger, and that the bank's event stream, resumed with Last-Event-ID
// after each timeout, carried every grant.
//
// `make soak` runs it for SOAK (default 10m) with the gateways' own
// timeouts and idle gaps of 5 min 20 s, past the longest of them (the
// token's 5 minutes). `make test` runs a short soak: the gateways are
// restarted with timeouts shortened by configuration and the gaps
// shortened to match, so it still crosses each of them.
// soakGap is `make soak`'s idle gap: longer than every default timeout in
// the path (docs/reliability.md), the longest being the institution
// token's lifetime of 5 minutes.
const soakGap = 5*time.Minute + 20*time.Second

func TestSoak(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Hour)
	defer cancel()
	duration, gap := 60*time.Second, 35*time.Second
	if s := os.Getenv("SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			t.Fatalf("SOAK=%q is not a duration", s)
		}
		duration, gap = d, soakGap
	} else {
		short := []string{"QC_IDLE_TIMEOUT=4s", "QC_TOKEN_TTL=30s", "QC_REQUEST_TIMEOUT=10s", "QC_LEDGER_KEEPALIVE=10s"}
		if err := testNet.UpWith(ctx, short); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := testNet.Up(context.Background()); err != nil {
				t.Errorf("restore the gateways' settings: %v", err)
			}
		})
	}

	people := demoCitizens(t)[20:30]
	bank := &renewing{httpClient: institution(t, bankURL, "bank"), member: "bank"}
	insurer := &renewing{httpClient: institution(t, insurerURL, "insurer"), member: "insurer"}
	stream := followEvents(ctx, t, bank)
	defer stream.stop()

	var (
		deliveries = map[string]string{} // access id → authorisation id
		granted    []string              // the bank's granted authorisations
		rounds     int
	)
	start := time.Now()
	for round := 0; rounds == 0 || time.Since(start) < duration; round++ {
		rounds++
		tag := "soak" + strconv.Itoa(round)
		person := people[round%len(people)]
		bank.renew(t)
		insurer.renew(t)
		citizen := citizenWithDevice(t, person, tag)

		// Lending: request, grant, fetch.
		a := request(t, bank.httpClient, person, "CREDIT_ASSESSMENT", []string{"housing_fund", "tax"}, "2025-11-01", "2026-10-31", 3, tag+"-loan")
		citizen.decide(a.ID, model.ActionGrant, "grant")
		granted = append(granted, a.ID)
		d := mustFetch(t, bank.httpClient, a.ID, []string{"housing_fund", "tax"}, tag+"-loan-1")
		deliveries[d.AccessID] = a.ID

		// Pause, a refused fetch, resume, a fetch.
		citizen.decide(a.ID, model.ActionPause, "pause")
		if code, raw := fetch(bank.httpClient, a.ID, []string{"tax"}, tag+"-paused"); code != http.StatusConflict || errorCode(raw) != string(model.CodeAuthPaused) {
			t.Fatalf("round %d: fetch while paused: %d %s", round, code, raw)
		}
		citizen.decide(a.ID, model.ActionResume, "resume")
		d = mustFetch(t, bank.httpClient, a.ID, []string{"tax"}, tag+"-loan-2")
		deliveries[d.AccessID] = a.ID

		// Revocation: a refused fetch.
		citizen.decide(a.ID, model.ActionRevoke, "revoke")
		if code, raw := fetch(bank.httpClient, a.ID, []string{"tax"}, tag+"-revoked"); code != http.StatusConflict || errorCode(raw) != string(model.CodeAuthRevoked) {
			t.Fatalf("round %d: fetch after revocation: %d %s", round, code, raw)
		}

		// Claims: request, grant, fetch.
		c := request(t, insurer.httpClient, person, "CLAIM_SETTLEMENT", []string{"medical_settlement"}, "2024-01-01", "2026-10-31", 1, tag+"-claim")
		citizen.decide(c.ID, model.ActionGrant, "claim-grant")
		d = mustFetch(t, insurer.httpClient, c.ID, []string{"medical_settlement"}, tag+"-claim-1")
		deliveries[d.AccessID] = c.ID

		if time.Since(start) < duration {
			time.Sleep(gap) // idle: every connection, token and stream times out
		}
	}

	// Every delivery is exactly one access on the ledger, read on the
	// auditor's peer.
	audit := as(t, "AuditMSP")
	perAuth := map[string]int{}
	for accessID, authID := range deliveries {
		acc := decode[model.Access](t, audit.mustEvaluate("access:GetAccess", accessID))
		if acc.AuthorizationID != authID {
			t.Errorf("access %s is under %s, delivered under %s", accessID, acc.AuthorizationID, authID)
		}
		perAuth[authID]++
	}
	for authID, n := range perAuth {
		page := decode[model.Page[model.Access]](t, audit.mustEvaluate("access:ListAccessesByAuthorization", authID, "100", ""))
		if len(page.Items) != n {
			t.Errorf("authorisation %s: %d accesses on the ledger, %d deliveries", authID, len(page.Items), n)
		}
	}
	seen := stream.wait(granted, 30*time.Second)
	for _, id := range granted {
		if !seen[id] {
			t.Errorf("the bank's event stream never carried the grant of %s", id)
		}
	}
	t.Logf("soak: %d rounds in %s, idle gaps of %s; %d deliveries, each one access on the ledger; %d token renewals; "+
		"event stream: %d connections, %d events", rounds, time.Since(start).Round(time.Second), gap, len(deliveries),
		bank.renewals+insurer.renewals, stream.connections(), stream.events())
}

// mustFetch fetches records and checks that the delivery was verified
// (a citizen may hold no records in a category: an empty, verified
// delivery is an answer too).
func mustFetch(t *testing.T, inst *httpClient, authID string, cats []string, key string) dataResult {
	t.Helper()
	code, raw := fetch(inst, authID, cats, key)
	var d dataResult
	if code != 200 || json.Unmarshal(raw, &d) != nil || !d.Verified || d.AccessID == "" {
		t.Fatalf("fetch %v under %s: %d %s", cats, authID, code, raw)
	}
	return d
}

// renewing is an institution client that, like an integrator's, gets a
// new token once its token has expired.
type renewing struct {
	*httpClient
	member   string
	renewals int
}

// renew checks the token and logs in again if the gateway refuses it as
// expired; any other answer fails the test.
func (r *renewing) renew(t *testing.T) {
	t.Helper()
	code, raw := r.call("GET", "/v1/authorizations?limit=1", nil, nil)
	switch {
	case code == 200:
	case code == http.StatusUnauthorized && errorCode(raw) == "INVALID_TOKEN":
		r.httpClient = institution(t, r.base, r.member)
		r.renewals++
	default:
		t.Fatalf("%s token check: %d %s", r.member, code, raw)
	}
}

// eventFollower reads an institution's event stream, reconnecting with
// Last-Event-ID whenever the gateway ends it.
type eventFollower struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	granted map[string]bool
	ids     map[string]int // times each event id arrived
	conns   int
	n       int
	errs    []string
}

func followEvents(ctx context.Context, t *testing.T, inst *renewing) *eventFollower {
	ctx, cancel := context.WithCancel(ctx)
	f := &eventFollower{cancel: cancel, done: make(chan struct{}), granted: map[string]bool{}, ids: map[string]int{}}
	go func() {
		defer close(f.done)
		last := ""
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, "GET", inst.base+"/v1/events", nil)
			req.Header.Set("Authorization", "Bearer "+inst.token)
			if last != "" {
				req.Header.Set("Last-Event-ID", last)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				time.Sleep(500 * time.Millisecond)
				continue
			}
			f.mu.Lock()
			f.conns++
			f.mu.Unlock()
			if resp.StatusCode == http.StatusUnauthorized {
				resp.Body.Close()
				time.Sleep(500 * time.Millisecond) // the test renews the token
				continue
			}
			if resp.StatusCode != 200 {
				f.mu.Lock()
				f.errs = append(f.errs, resp.Status)
				f.mu.Unlock()
				resp.Body.Close()
				time.Sleep(500 * time.Millisecond)
				continue
			}
			sc := bufio.NewScanner(resp.Body)
			var id, name string
			for sc.Scan() {
				line := sc.Text()
				switch {
				case strings.HasPrefix(line, "id: "):
					id = strings.TrimPrefix(line, "id: ")
				case strings.HasPrefix(line, "event: "):
					name = strings.TrimPrefix(line, "event: ")
				case strings.HasPrefix(line, "data: "):
					var ev model.Event
					if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev) == nil && name != "reset" {
						f.mu.Lock()
						f.n++
						if id != "" {
							f.ids[id]++
						}
						if ev.Status == model.AuthGranted && ev.AuthorizationID != "" {
							f.granted[ev.AuthorizationID] = true
						}
						f.mu.Unlock()
					}
					if id != "" {
						last = id
					}
					id, name = "", ""
				}
			}
			resp.Body.Close()
		}
	}()
	t.Cleanup(f.stop)
	return f
}

// wait waits until every id in want was seen granted, or timeout.
func (f *eventFollower) wait(want []string, timeout time.Duration) map[string]bool {
	deadline := time.Now().Add(timeout)
	for {
		f.mu.Lock()
		all := true
		for _, id := range want {
			all = all && f.granted[id]
		}
		seen := make(map[string]bool, len(f.granted))
		for k, v := range f.granted {
			seen[k] = v
		}
		f.mu.Unlock()
		if all || time.Now().After(deadline) {
			return seen
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// duplicates counts the events that arrived more than once.
func (f *eventFollower) duplicates() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.ids {
		if c > 1 {
			n += c - 1
		}
	}
	return n
}

func (f *eventFollower) connections() int { f.mu.Lock(); defer f.mu.Unlock(); return f.conns }
func (f *eventFollower) events() int      { f.mu.Lock(); defer f.mu.Unlock(); return f.n }

func (f *eventFollower) stop() {
	f.cancel()
	<-f.done
}
