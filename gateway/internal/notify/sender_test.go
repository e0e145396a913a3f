package notify

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/store"
)

// receiver is a webhook endpoint that answers with the next status of a
// script (the last one repeats) and records every request.
type receiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	statuses []int
	got      []delivery
}

type delivery struct {
	header http.Header
	body   []byte
	status int
}

func newReceiver(t *testing.T, tls bool, statuses ...int) *receiver {
	t.Helper()
	rc := &receiver{statuses: statuses}
	if tls {
		rc.srv = httptest.NewTLSServer(rc)
	} else {
		rc.srv = httptest.NewServer(rc)
	}
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	status := rc.statuses[0]
	if len(rc.statuses) > 1 {
		rc.statuses = rc.statuses[1:]
	}
	rc.got = append(rc.got, delivery{header: r.Header.Clone(), body: body, status: status})
	rc.mu.Unlock()
	if status == http.StatusFound {
		w.Header().Set("Location", "/elsewhere")
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, "RECEIVER-BODY-NEVER-STORED")
}

// inMemory serves a Sender's requests with a handler, without a network,
// so that the Sender can run inside a synctest bubble.
type inMemory struct{ http.Handler }

func (m inMemory) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, r)
	if r.Body != nil {
		r.Body.Close()
	}
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

const payload = `{"name":"AuthorizationGranted","tx_id":"t4","requester":"BankMSP"}`

// enqueue puts one event in the outbox of webhook wh and returns its id.
func enqueue(t *testing.T, st *store.Store, wh, eventID string, at time.Time) int64 {
	t.Helper()
	ok, err := st.EnqueueEvent(ctx, wh, eventID, []byte(payload), at)
	if err != nil || !ok {
		t.Fatalf("enqueue: %v %v", ok, err)
	}
	for _, it := range outbox(t, st) {
		if it.WebhookID == wh && it.EventID == eventID {
			return it.ID
		}
	}
	t.Fatal("enqueued item not found")
	return 0
}

func item(t *testing.T, st *store.Store, id int64) store.OutboxItem {
	t.Helper()
	it, err := st.GetOutboxItem(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// run starts s and returns a function that stops it and waits.
func run(s *Sender) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

func TestSenderDeliversSigned(t *testing.T) {
	rc := newReceiver(t, true, http.StatusNoContent)
	st := openStore(t, "")
	const secret = "whsec_test-secret"
	addWebhook(t, st, "BankMSP", "wh-1", rc.srv.URL+"/hooks/quanchain", secret)
	id := enqueue(t, st, "wh-1", "5:t4", time.Now())

	// Production settings: https only, the receiver's certificate trusted.
	s := NewSender(st, SenderConfig{Client: rc.srv.Client()})
	if n, err := s.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	got := rc.deliveries()
	if len(got) != 1 {
		t.Fatalf("%d deliveries", len(got))
	}
	d := got[0]
	if string(d.body) != payload || d.header.Get("Content-Type") != "application/json" ||
		d.header.Get(HeaderEventID) != "5:t4" {
		t.Fatalf("delivery %v %s", d.header, d.body)
	}
	sig := d.header.Get(HeaderSignature)
	if !strings.HasPrefix(sig, "t="+d.header.Get(HeaderTimestamp)+",v1=") {
		t.Fatalf("signature header %q", sig)
	}
	if err := Verify(secret, sig, d.body, time.Now(), 0); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := Verify("another secret", sig, d.body, time.Now(), 0); !errors.Is(err, ErrSignatureMismatch) {
		t.Fatalf("Verify with another secret: %v", err)
	}
	if it := item(t, st, id); it.DeliveredAt.IsZero() || it.Attempts != 1 {
		t.Fatalf("item %+v", it)
	}
	if n, _ := s.RunOnce(ctx); n != 0 {
		t.Fatalf("a delivered item was claimed again")
	}
}

// TestSenderRetriesThenDeliversOnce runs on a fake clock: the first attempt
// fails, the retry follows within a base delay and a poll, and in the ten
// minutes after it nothing more is sent.
func TestSenderRetriesThenDeliversOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rc := &receiver{statuses: []int{http.StatusInternalServerError, http.StatusOK}}
		st := openStore(t, "")
		addWebhook(t, st, "BankMSP", "wh-1", "http://127.0.0.1/hook", "k")
		id := enqueue(t, st, "wh-1", "5:t4", time.Now())

		s := NewSender(st, SenderConfig{Dev: true, BaseDelay: time.Minute, PollInterval: 10 * time.Second,
			Client: &http.Client{Transport: inMemory{rc}}})
		stop := run(s)
		defer stop()
		synctest.Wait()
		if it := item(t, st, id); it.Attempts != 1 || !it.DeliveredAt.IsZero() || it.LastError != "HTTP 500" {
			t.Fatalf("after the first attempt: item %+v", it)
		}
		time.Sleep(time.Minute + 10*time.Second)
		synctest.Wait()
		if it := item(t, st, id); it.DeliveredAt.IsZero() {
			t.Fatalf("not delivered a base delay and a poll after the first attempt: item %+v", it)
		}
		time.Sleep(10 * time.Minute) // nothing more is sent
		stop()

		got := rc.deliveries()
		if len(got) != 2 || got[0].status != 500 || got[1].status != 200 {
			t.Fatalf("deliveries %v", got)
		}
		if got[0].header.Get(HeaderEventID) != got[1].header.Get(HeaderEventID) {
			t.Fatal("a retry changed the event id")
		}
		if it := item(t, st, id); it.Attempts != 2 || it.LastError != "" {
			t.Fatalf("item %+v", it)
		}
	})
}

func TestSenderRecordsFailuresWithoutBodies(t *testing.T) {
	tests := []struct {
		name   string
		status int
		url    func(*receiver) string
		dev    bool
		want   string
		posted bool
	}{
		{name: "server error", status: 503, dev: true, want: "HTTP 503", posted: true},
		{name: "redirect not followed", status: http.StatusFound, dev: true, want: "HTTP 302", posted: true},
		{name: "client error", status: 410, dev: true, want: "HTTP 410", posted: true},
		{name: "http in production", status: 200, want: "webhook URL not allowed: https is required"},
		{name: "connection refused", status: 200, dev: true, url: func(*receiver) string { return "http://127.0.0.1:1/" },
			want: "dial: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, false, tt.status)
			url := rc.srv.URL
			if tt.url != nil {
				url = tt.url(rc)
			}
			st := openStore(t, "")
			addWebhook(t, st, "BankMSP", "wh-1", url, "k")
			at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
			id := enqueue(t, st, "wh-1", "5:t4", at)
			s := NewSender(st, SenderConfig{Dev: tt.dev, Now: func() time.Time { return at }})
			if n, err := s.RunOnce(ctx); n != 1 || err != nil {
				t.Fatalf("RunOnce = %d, %v", n, err)
			}
			it := item(t, st, id)
			if !strings.HasPrefix(it.LastError, tt.want) || strings.Contains(it.LastError, "RECEIVER-BODY") ||
				strings.Contains(it.LastError, "127.0.0.1") {
				t.Fatalf("last error %q, want %q…", it.LastError, tt.want)
			}
			if wait := it.NextAttemptAt.Sub(at); it.DeliveredAt.IsZero() == false || wait < DefaultBaseDelay/2 || wait > DefaultBaseDelay {
				t.Fatalf("item %+v: next attempt in %s", it, wait)
			}
			if posted := len(rc.deliveries()) == 1; posted != tt.posted {
				t.Fatalf("posted = %v", posted)
			}
		})
	}
}

func TestSenderParksAfterMaxAttempts(t *testing.T) {
	rc := newReceiver(t, false, http.StatusInternalServerError)
	st := openStore(t, "")
	addWebhook(t, st, "BankMSP", "wh-1", rc.srv.URL, "k")
	clock := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	id := enqueue(t, st, "wh-1", "5:t4", clock)
	s := NewSender(st, SenderConfig{Dev: true, MaxAttempts: 3, Now: func() time.Time { return clock }})
	for attempt := 1; attempt <= 3; attempt++ {
		if n, _ := s.RunOnce(ctx); n != 1 {
			t.Fatalf("attempt %d: nothing claimed", attempt)
		}
		it := item(t, st, id)
		if it.Attempts != attempt {
			t.Fatalf("attempts %d, want %d", it.Attempts, attempt)
		}
		clock = clock.Add(DefaultMaxDelay) // due again, unless parked
	}
	it := item(t, st, id)
	if it.State() != store.OutboxParked || !it.ParkedAt.Equal(clock.Add(-DefaultMaxDelay)) ||
		it.LastError != "parked after 3 attempts: HTTP 500" {
		t.Fatalf("item %+v", it)
	}
	clock = clock.AddDate(50, 0, 0)
	if n, _ := s.RunOnce(ctx); n != 0 {
		t.Fatal("a parked item was claimed")
	}
	if n := len(rc.deliveries()); n != 3 {
		t.Fatalf("%d deliveries, want 3", n)
	}
}

func TestSenderAfterRestart(t *testing.T) {
	rc := newReceiver(t, false, http.StatusServiceUnavailable, http.StatusOK)
	path := filepath.Join(t.TempDir(), "gateway.db")
	st := openStore(t, path)
	addWebhook(t, st, "BankMSP", "wh-1", rc.srv.URL+"/1", "k")
	addWebhook(t, st, "BankMSP", "wh-2", rc.srv.URL+"/2", "k")
	t0 := time.Now()
	failed := enqueue(t, st, "wh-1", "5:t4", t0)
	leased := enqueue(t, st, "wh-2", "7:t7", t0.Add(time.Millisecond))

	// The first process fails the first webhook's item and dies while
	// holding the lease on the second's (claimed, never marked).
	first := NewSender(st, SenderConfig{Dev: true, Batch: 1})
	if n, _ := first.RunOnce(ctx); n != 1 {
		t.Fatal("first process claimed nothing")
	}
	if claimed, err := st.ClaimDue(ctx, t0.Add(time.Second), 1); err != nil || len(claimed) != 1 || claimed[0].ID != leased {
		t.Fatalf("claim %v %v", claimed, err)
	}
	st.Close()

	// A new process on the same database, once the backoff and the lease
	// have run out, delivers both, each once.
	st2 := openStore(t, path)
	later := t0.Add(store.ClaimLease + time.Minute)
	second := NewSender(st2, SenderConfig{Dev: true, Now: func() time.Time { return later }})
	if n, err := second.RunOnce(ctx); n != 2 || err != nil {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	for _, id := range []int64{failed, leased} {
		if it := item(t, st2, id); it.DeliveredAt.IsZero() || it.Attempts != 2 {
			t.Fatalf("item %+v", it)
		}
	}
	if n, _ := second.RunOnce(ctx); n != 0 {
		t.Fatal("delivered items were claimed again")
	}
	got := rc.deliveries()
	if len(got) != 3 || got[0].header.Get(HeaderEventID) != "5:t4" {
		t.Fatalf("deliveries %v", got)
	}
}

func TestSenderShutdownFinishesDeliveries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		underWay, release := make(chan struct{}), make(chan struct{})
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(underWay)
			<-release
			w.WriteHeader(http.StatusOK)
		})
		st := openStore(t, "")
		addWebhook(t, st, "BankMSP", "wh-1", "http://127.0.0.1/hook", "k")
		id := enqueue(t, st, "wh-1", "5:t4", time.Now())
		s := NewSender(st, SenderConfig{Dev: true, Client: &http.Client{Transport: inMemory{h}}})
		stop := run(s)
		<-underWay
		stopped := make(chan struct{})
		go func() { stop(); close(stopped) }()
		synctest.Wait()
		select {
		case <-stopped:
			t.Fatal("Run returned with a delivery under way")
		default:
		}
		close(release)
		<-stopped
		if item(t, st, id).DeliveredAt.IsZero() {
			t.Fatal("the delivery under way at shutdown was not recorded")
		}
	})
}

func TestBackoff(t *testing.T) {
	s := NewSender(nil, SenderConfig{})
	for n := 1; n <= 25; n++ {
		want := min(DefaultBaseDelay<<(n-1), DefaultMaxDelay)
		for range 20 {
			if d := s.backoff(n); d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", n, d, want/2, want)
			}
		}
	}
	if d := s.backoff(1000); d > DefaultMaxDelay {
		t.Fatalf("backoff(1000) = %s", d)
	}
}
