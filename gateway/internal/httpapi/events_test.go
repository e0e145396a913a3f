package httpapi

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/notify"
)

// sseClient reads a server-sent event stream line by line.
type sseClient struct {
	t     *testing.T
	resp  *http.Response
	lines chan string
}

func openEvents(t *testing.T, h *harness, lastEventID string) (*sseClient, context.CancelFunc) {
	t.Helper()
	srv := httptest.NewServer(h.srv)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	c := &sseClient{t: t, resp: resp, lines: make(chan string, 100)}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	return c, cancel
}

// next returns the next non-empty line, skipping heartbeats unless asked.
func (c *sseClient) next(heartbeats bool) string {
	c.t.Helper()
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				return "<closed>"
			}
			if l == "" || (!heartbeats && l == ": heartbeat") {
				continue
			}
			return l
		case <-time.After(5 * time.Second):
			c.t.Fatal("no event")
		}
	}
}

func (c *sseClient) expect(lines ...string) {
	c.t.Helper()
	for _, want := range lines {
		if got := c.next(false); got != want {
			c.t.Fatalf("got %q, want %q", got, want)
		}
	}
}

func instEvent(block int, name string) notify.Event {
	id := notify.EventID(uint64(block), "tx"+name)
	return notify.Event{ID: id, Name: name, Block: uint64(block), Data: []byte(`{"name":"` + name + `","requester":"BankMSP"}`)}
}

func TestInstitutionEvents(t *testing.T) {
	h, _, b := newNotifyHarness(t)
	n, _ := NewNotifyAPI(NotifyConfig{Webhooks: webhookStore(t), Events: b, Heartbeat: 30 * time.Millisecond})
	h.srv.Notify = n
	b.Publish(instEvent(3, "AuthorizationRequested"))

	c, cancel := openEvents(t, h, "")
	c.expect("retry: 3000")
	waitSubscribers(t, b, 1)
	b.Publish(instEvent(5, "AuthorizationGranted"))
	c.expect("id: 5:txAuthorizationGranted", "event: AuthorizationGranted",
		`data: {"name":"AuthorizationGranted","requester":"BankMSP"}`)
	if l := c.next(true); l != ": heartbeat" {
		t.Fatalf("got %q, want a heartbeat", l)
	}
	// The client leaves: its subscription ends.
	cancel()
	waitSubscribers(t, b, 0)

	// Resuming after a kept event replays what followed it.
	b.Publish(instEvent(6, "AccessRecorded"))
	c, cancel = openEvents(t, h, "5:txAuthorizationGranted")
	defer cancel()
	c.expect("retry: 3000", "id: 6:txAccessRecorded", "event: AccessRecorded")

	// An id no longer kept (or never seen) starts with a reset.
	c2, cancel2 := openEvents(t, h, "1:gone")
	defer cancel2()
	c2.expect("retry: 3000", "event: reset", "data: {}")
	c3, cancel3 := openEvents(t, h, strings.Repeat("9", 200))
	defer cancel3()
	c3.expect("retry: 3000", "event: reset")
}

func TestInstitutionEventsSlowClientIsDropped(t *testing.T) {
	h, _, b := newNotifyHarness(t) // a subscriber buffers 4 events
	c, cancel := openEvents(t, h, "")
	defer cancel()
	c.expect("retry: 3000")
	waitSubscribers(t, b, 1)
	// Publishing never blocks, even when the stream cannot keep up; the
	// stream is then ended and its client resumes with Last-Event-ID.
	done := make(chan struct{})
	go func() {
		for i := range 10000 {
			b.Publish(instEvent(10+i, "AuthorizationGranted"))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked")
	}
	waitSubscribers(t, b, 0)
}

func waitSubscribers(t *testing.T, b *notify.Broker, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for b.Subscribers() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscribers, want %d", b.Subscribers(), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
