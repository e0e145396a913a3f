package notify

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/store"
)

// fakeReceivers are webhook receivers behind a RoundTripper, so that a
// Sender runs inside a synctest bubble with no network: a host that is
// down refuses the connection, one that is up answers 204.
type fakeReceivers struct {
	mu   sync.Mutex
	down map[string]bool
	got  map[string][]received
}

type received struct {
	eventID, signature string
	body               []byte
	at                 time.Time
	ok                 bool
}

func newFakeReceivers(down ...string) *fakeReceivers {
	f := &fakeReceivers{down: map[string]bool{}, got: map[string][]received{}}
	for _, h := range down {
		f.down[h] = true
	}
	return f
}

func (f *fakeReceivers) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	host := r.URL.Hostname()
	down := f.down[host]
	f.got[host] = append(f.got[host], received{eventID: r.Header.Get(HeaderEventID),
		signature: r.Header.Get(HeaderSignature), body: body, at: time.Now(), ok: !down})
	if down {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	return &http.Response{StatusCode: http.StatusNoContent, Body: io.NopCloser(strings.NewReader("")),
		Header: http.Header{}, Request: r}, nil
}

func (f *fakeReceivers) setDown(host string, down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down[host] = down
}

// requests returns what host was sent: every attempt if all, else only
// the delivered ones.
func (f *fakeReceivers) requests(host string, all bool) []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []received
	for _, r := range f.got[host] {
		if all || r.ok {
			out = append(out, r)
		}
	}
	return out
}

func eventIDs(rs []received) []string {
	ids := []string{}
	for _, r := range rs {
		ids = append(ids, r.eventID)
	}
	return ids
}

// TestSenderOutageKeepsOrder: a receiver is down for longer than the whole
// backoff schedule. Its first event is parked; the events after it are
// neither sent past it nor dropped, and another webhook of the same
// organisation is served meanwhile. When the receiver is back nothing moves
// until the parked event is retried; then every event arrives, signed,
// once, in order, without waiting between them.
func TestSenderOutageKeepsOrder(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		synctest.Test(t, func(t *testing.T) {
			st, err := store.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			const downHost, upHost = "down.bank.example", "up.bank.example"
			addWebhook(t, st, "BankMSP", "wh-down", "https://"+downHost+"/hook", "k-down")
			addWebhook(t, st, "BankMSP", "wh-up", "https://"+upHost+"/hook", "k-up")
			rc := newFakeReceivers(downHost)
			s := NewSender(st, SenderConfig{MaxAttempts: 4, BaseDelay: 10 * time.Second, MaxDelay: 40 * time.Second,
				PollInterval: 10 * time.Second, Client: &http.Client{Transport: rc}})
			runCtx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { s.Run(runCtx); close(done) }()
			defer func() { cancel(); <-done }()

			var want []string
			enqueueBoth := func(n int) {
				for range n {
					id := EventID(uint64(len(want)+5), fmt.Sprintf("tx%02d", len(want)))
					for _, wh := range []string{"wh-down", "wh-up"} {
						if ok, err := st.EnqueueEvent(ctx, wh, id, []byte(`{"tx_id":"`+id+`"}`), time.Now()); err != nil || !ok {
							t.Fatalf("enqueue: %v %v", ok, err)
						}
					}
					want = append(want, id)
				}
				s.Wake()
			}
			enqueueBoth(3)

			// Four attempts, with waits of at most 10, 20 and 40 s between
			// them and 10 s between looks at the outbox: two minutes are
			// longer than the whole schedule.
			time.Sleep(2 * time.Minute)
			attempts := rc.requests(downHost, true)
			if got := eventIDs(attempts); len(got) != 4 || got[0] != want[0] || got[3] != want[0] {
				t.Fatalf("attempts on the receiver that is down: %v, want 4 of %s only", got, want[0])
			}
			page, err := st.WebhookDeliveries(ctx, store.WebhookDeliveryQuery{OrgMSP: "BankMSP", WebhookID: "wh-down", Limit: 10})
			if err != nil || len(page) != 3 {
				t.Fatalf("undelivered: %v %v", page, err)
			}
			if p := page[0]; p.State() != store.OutboxParked || p.LastError != "parked after 4 attempts: dial: connection refused" {
				t.Fatalf("first item %+v", p)
			}
			if !page[1].HeldBack || !page[2].HeldBack || page[1].Attempts != 0 {
				t.Fatalf("later items %+v", page[1:])
			}

			// More events while parked; the receiver comes back, but a
			// parked event is not tried again by itself.
			enqueueBoth(3)
			time.Sleep(time.Hour)
			rc.setDown(downHost, false)
			time.Sleep(time.Hour)
			if n := len(rc.requests(downHost, true)); n != 4 {
				t.Fatalf("%d attempts while parked, want still 4", n)
			}
			if got := eventIDs(rc.requests(upHost, false)); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("the other webhook received %v, want %v", got, want)
			}

			// The retry: everything arrives in order, at once.
			retryAt := time.Now()
			if n, err := st.RetryParked(ctx, "BankMSP", "wh-down", retryAt); err != nil || n != 1 {
				t.Fatalf("RetryParked = %d, %v", n, err)
			}
			s.Wake()
			synctest.Wait()
			got := rc.requests(downHost, false)
			if ids := eventIDs(got); strings.Join(ids, ",") != strings.Join(want, ",") {
				t.Fatalf("after the retry the receiver got %v, want %v", ids, want)
			}
			for _, r := range got {
				if err := Verify("k-down", r.signature, r.body, retryAt, 0); err != nil || !r.at.Equal(retryAt) {
					t.Fatalf("delivery of %s at %s: %v", r.eventID, r.at, err)
				}
			}
			time.Sleep(time.Hour)
			if n := len(rc.requests(downHost, true)); n != 4+len(want) {
				t.Fatalf("%d requests in all, want %d: an event was sent twice", n, 4+len(want))
			}
		})
	})
}

// TestSenderSendsBacklogWithoutPolling: a webhook's queued events go out
// one after the other as fast as the receiver answers, not one per poll.
func TestSenderSendsBacklogWithoutPolling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t, "")
		addWebhook(t, st, "BankMSP", "wh-1", "https://bank.example/hook", "k")
		for i := range 20 {
			if _, err := st.EnqueueEvent(ctx, "wh-1", EventID(uint64(i+1), "tx"), []byte(`{}`), time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		rc := newFakeReceivers()
		s := NewSender(st, SenderConfig{PollInterval: time.Minute, Client: &http.Client{Transport: rc}})
		runCtx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.Run(runCtx); close(done) }()
		start := time.Now()
		synctest.Wait()
		if n := len(rc.requests("bank.example", false)); n != 20 || time.Since(start) != 0 {
			t.Fatalf("%d delivered after %s", n, time.Since(start))
		}
		cancel()
		<-done
	})
}

// TestDefaultsMatchConfig: the gateway's configuration defaults are the
// Sender's.
func TestDefaultsMatchConfig(t *testing.T) {
	c := config.Defaults()
	if c.WebhookMaxAttempts != DefaultMaxAttempts || c.WebhookBaseDelay != DefaultBaseDelay || c.WebhookMaxDelay != DefaultMaxDelay {
		t.Fatalf("config defaults %d %s %s, sender defaults %d %s %s", c.WebhookMaxAttempts, c.WebhookBaseDelay,
			c.WebhookMaxDelay, DefaultMaxAttempts, DefaultBaseDelay, DefaultMaxDelay)
	}
}
