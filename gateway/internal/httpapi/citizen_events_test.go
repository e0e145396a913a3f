package httpapi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/ledger"
)

var (
	citizenRefA = strings.Repeat("a", 64)
	citizenRefB = strings.Repeat("b", 64)
)

// citizenChainEvent is an authorisation event of block n for ref.
func citizenChainEvent(n uint64, ref string) ledger.ChainEvent {
	return ledger.ChainEvent{BlockNumber: n, TxID: fmt.Sprintf("tx%d", n), Name: model.EventAuthorizationGranted,
		Event: &model.Event{Name: model.EventAuthorizationGranted, TxID: fmt.Sprintf("tx%d", n), CitizenRef: ref,
			AuthorizationID: fmt.Sprintf("auth-%d", n), Status: model.AuthGranted}}
}

// citizenEventually polls cond until it holds or a few seconds have passed.
func citizenEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// runCitizenBroker runs b until the test ends and returns the first upstream
// subscription's channel.
func runCitizenBroker(t *testing.T, b *EventBroker, src *citizenFakeEvents) chan ledger.ChainEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v", err)
		}
	})
	select {
	case ch := <-src.subs:
		return ch
	case <-time.After(5 * time.Second):
		t.Fatal("the broker did not subscribe")
		return nil
	}
}

// TestEventBrokerFanOut: one upstream subscription serves many streams,
// each getting its own citizen's events in order and nothing else, while
// other streams come and go.
func TestEventBrokerFanOut(t *testing.T) {
	src := newCitizenFakeEvents()
	b := NewEventBroker(src, nil)
	up := runCitizenBroker(t, b, src)

	const perRef, streams = 50, 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*streams)
	for i := range 2 * streams {
		ref := citizenRefA
		if i%2 == 1 {
			ref = citizenRefB
		}
		sub, _, _ := b.Subscribe(ref, "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer b.Unsubscribe(sub)
			var last uint64
			for n := 0; n < perRef; n++ {
				e, ok := <-sub.ch
				var block uint64
				_, err := fmt.Sscanf(e.id, "%d:", &block)
				switch {
				case !ok:
					errs <- errors.New("stream closed early")
					return
				case e.ref != ref || err != nil || block <= last:
					errs <- fmt.Errorf("stream for %s got %s for %s after block %d", ref[:1], e.id, e.ref[:1], last)
					return
				}
				last = block
			}
		}()
	}
	stop := make(chan struct{})
	var churn sync.WaitGroup
	churn.Add(1)
	go func() { // streams that come and go meanwhile
		defer churn.Done()
		for {
			select {
			case <-stop:
				return
			default:
				s, _, _ := b.Subscribe(citizenRefA, "")
				b.Unsubscribe(s)
			}
		}
	}()
	for n := uint64(1); n <= 2*perRef; n++ {
		ref := citizenRefA
		if n%2 == 0 {
			ref = citizenRefB
		}
		up <- citizenChainEvent(n, ref)
		// Events that are not a citizen's authorisation or access event.
		up <- ledger.ChainEvent{BlockNumber: n, TxID: "anchor", Event: &model.Event{Name: model.EventBatchAnchored, BatchID: "b"}}
		up <- ledger.ChainEvent{BlockNumber: n, TxID: "key", Event: &model.Event{Name: model.EventCitizenKeyAdded, CitizenRef: ref}}
		up <- ledger.ChainEvent{BlockNumber: n, TxID: "raw", Raw: []byte("not json")}
	}
	wg.Wait()
	close(stop)
	churn.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(src.subscriptions()); n != 1 {
		t.Errorf("%d upstream subscriptions, want 1", n)
	}
	if n := b.subscribers(); n != 0 {
		t.Errorf("%d subscribers left", n)
	}
}

// TestEventBrokerDropsSlowStreams: a stream that does not read is dropped
// once its buffer is full; the others go on.
func TestEventBrokerDropsSlowStreams(t *testing.T) {
	b := NewEventBroker(newCitizenFakeEvents(), nil)
	slow, _, _ := b.Subscribe(citizenRefA, "")
	fast, _, _ := b.Subscribe(citizenRefA, "")
	got := make(chan int)
	go func() {
		n := 0
		for range fast.ch {
			n++
			if n == subBufferSize+10 {
				break
			}
		}
		got <- n
	}()
	for n := uint64(1); n <= subBufferSize+10; n++ {
		if n > subBufferSize { // past the slow stream's buffer: let the fast one drain
			citizenEventually(t, "the fast stream to drain", func() bool { return len(fast.ch) == 0 })
		}
		b.publish(citizenChainEvent(n, citizenRefA))
	}
	if n := <-got; n != subBufferSize+10 {
		t.Fatalf("fast stream got %d", n)
	}
	n := 0
	for range slow.ch { // closed after the buffered events
		n++
	}
	if n != subBufferSize {
		t.Fatalf("slow stream got %d events before it was dropped, want %d", n, subBufferSize)
	}
	b.Unsubscribe(slow) // after the drop: no double close
	b.Unsubscribe(fast)
}

// TestEventBrokerResume: a stream resumes after its Last-Event-ID with
// the citizen's later events, or is told to reset when that id is gone.
func TestEventBrokerResume(t *testing.T) {
	b := NewEventBroker(newCitizenFakeEvents(), nil)
	b.size = 4
	for n := uint64(1); n <= 4; n++ {
		ref := citizenRefA
		if n == 3 {
			ref = citizenRefB
		}
		b.publish(citizenChainEvent(n, ref))
	}
	ids := func(es []citizenEvent) string {
		var out []string
		for _, e := range es {
			out = append(out, e.id)
		}
		return strings.Join(out, ",")
	}
	for _, tt := range []struct {
		last, replay string
		reset        bool
	}{
		{"", "", false},
		{"1:tx1", "2:tx2,4:tx4", false},
		{"4:tx4", "", false},
		{"3:tx3", "", true}, // another citizen's event
		{"9:tx9", "", true},
		{"garbage", "", true},
	} {
		s, replay, reset := b.Subscribe(citizenRefA, tt.last)
		if ids(replay) != tt.replay || reset != tt.reset {
			t.Errorf("resume after %q: replay %q reset %v", tt.last, ids(replay), reset)
		}
		b.Unsubscribe(s)
	}
	b.publish(citizenChainEvent(5, citizenRefA)) // the ring holds 2..5 now
	if _, replay, reset := b.Subscribe(citizenRefA, "1:tx1"); !reset || replay != nil {
		t.Errorf("resume after an event no longer kept: replay %v reset %v", ids(replay), reset)
	}
}

// TestEventBrokerReconnects: when the upstream stream ends the broker
// subscribes again from just after the last event it saw.
func TestEventBrokerReconnects(t *testing.T) {
	src := newCitizenFakeEvents()
	b := NewEventBroker(src, nil)
	b.retry = time.Millisecond
	sub, _, _ := b.Subscribe(citizenRefA, "")
	defer b.Unsubscribe(sub)
	up := runCitizenBroker(t, b, src)
	up <- citizenChainEvent(7, citizenRefA)
	close(up)
	up = <-src.subs
	if calls := src.subscriptions(); len(calls) != 2 || calls[0] != (citizenFakeSubscription{}) || calls[1] != (citizenFakeSubscription{7, "tx7"}) {
		t.Fatalf("subscriptions %+v", calls)
	}
	up <- citizenChainEvent(8, citizenRefA)
	for _, want := range []string{"7:tx7", "8:tx8"} {
		if e := <-sub.ch; e.id != want {
			t.Fatalf("got %s, want %s", e.id, want)
		}
	}
}

// citizenSSELines reads an event stream line by line.
func citizenSSELines(t *testing.T, ctx context.Context, url, token, lastID string) (<-chan string, *http.Response) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/citizen/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines, resp
}

// citizenExpectLine reads lines until one satisfies ok, failing on any line that
// satisfies bad.
func citizenExpectLine(t *testing.T, lines <-chan string, ok, bad func(string) bool) string {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case l, open := <-lines:
			if !open {
				t.Fatal("stream ended")
			}
			if bad != nil && bad(l) {
				t.Fatalf("unexpected line %q", l)
			}
			if ok(l) {
				return l
			}
		case <-timeout:
			t.Fatal("timed out reading the stream")
		}
	}
}

// TestCitizenEventsStream: the stream carries the caller's events only,
// heartbeats while idle, resumes after Last-Event-ID, and its handler ends
// when the client goes away.
func TestCitizenEventsStream(t *testing.T) {
	h := newCitizenHarness(t, func(_ *config.Config, cc *CitizenConfig) { cc.Heartbeat = 20 * time.Millisecond })
	ref := h.refOf(applicant)
	up := runCitizenBroker(t, h.events, h.src)
	srv := httptest.NewServer(h.srv)
	defer srv.Close()
	tok := h.citizenToken(ref)

	ctx, cancel := context.WithCancel(t.Context())
	lines, resp := citizenSSELines(t, ctx, srv.URL, tok, "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	citizenEventually(t, "the stream to subscribe", func() bool { return h.events.subscribers() == 1 })
	up <- citizenChainEvent(4, citizenRefB)
	up <- citizenChainEvent(5, ref)
	notOthers := func(l string) bool { return strings.Contains(l, "auth-4") || strings.Contains(l, "4:tx4") }
	citizenExpectLine(t, lines, func(l string) bool { return l == "id: 5:tx5" }, notOthers)
	citizenExpectLine(t, lines, func(l string) bool { return l == "event: AuthorizationGranted" }, nil)
	data := citizenExpectLine(t, lines, func(l string) bool { return strings.HasPrefix(l, "data: ") }, nil)
	if !strings.Contains(data, `"authorization_id":"auth-5"`) || !strings.Contains(data, `"status":"GRANTED"`) {
		t.Errorf("data line %q", data)
	}
	citizenExpectLine(t, lines, func(l string) bool { return l == ": heartbeat" }, nil)

	cancel() // the client goes away: the handler ends and unsubscribes
	citizenEventually(t, "the handler to end", func() bool { return h.events.subscribers() == 0 })

	up <- citizenChainEvent(6, ref) // missed while disconnected
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	lines, _ = citizenSSELines(t, ctx, srv.URL, tok, "5:tx5")
	citizenExpectLine(t, lines, func(l string) bool { return l == "id: 6:tx6" }, nil)

	lines, _ = citizenSSELines(t, ctx, srv.URL, tok, "1:long-gone")
	citizenExpectLine(t, lines, func(l string) bool { return l == "event: reset" }, nil)
}

func TestCitizenEventsUnavailable(t *testing.T) {
	h := newCitizenHarness(t, func(_ *config.Config, cc *CitizenConfig) { cc.Events = nil })
	w := h.as(h.citizenToken(citizenRefA), "GET", "/citizen/v1/events", "")
	if w.Code != http.StatusServiceUnavailable || errCode(t, w) != CodeEventsUnavailable {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
}
