package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/notify"
)

// sseClient reads a server-sent event stream line by line.
type sseClient struct {
	t     *testing.T
	lines <-chan string
}

// openEvents opens /v1/events as h's API client. The stream is served in
// memory (serveStream): the tests run in a synctest bubble, whose clock
// moves as soon as every goroutine waits, so a heartbeat comes at once.
func openEvents(t *testing.T, h *harness, lastEventID string) (*sseClient, context.CancelFunc) {
	t.Helper()
	req := httptest.NewRequest("GET", "/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	w, cancel := serveStream(t, h.srv, req)
	if code, ctype := w.status(); code != 200 || ctype != "text/event-stream" {
		t.Fatalf("stream: %d %s", code, ctype)
	}
	return &sseClient{t: t, lines: w.lines}, cancel
}

// streamWriter is an http.ResponseWriter and http.Flusher that hands a
// streamed answer over line by line.
type streamWriter struct {
	ctx    context.Context
	header http.Header
	lines  chan string
	part   []byte

	mu          sync.Mutex
	code        int
	contentType string
}

func (w *streamWriter) Header() http.Header { return w.header }

func (w *streamWriter) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.code == 0 {
		w.code, w.contentType = code, w.header.Get("Content-Type")
	}
}

func (w *streamWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.part = append(w.part, p...)
	for {
		i := bytes.IndexByte(w.part, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.part[:i])
		w.part = w.part[i+1:]
		select {
		case w.lines <- line:
		case <-w.ctx.Done():
			return 0, w.ctx.Err()
		}
	}
}

func (w *streamWriter) Flush() {}

// status is the answer's status and Content-Type, once the handler has
// written them or waits.
func (w *streamWriter) status() (int, string) {
	synctest.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.code, w.contentType
}

// serveStream serves req on handler in the background, to a client that
// reads the answer from lines; cancel is the client going away. lines is
// closed when the handler has returned.
func serveStream(t *testing.T, handler http.Handler, req *http.Request) (*streamWriter, context.CancelFunc) {
	ctx, cancel := context.WithCancel(req.Context())
	t.Cleanup(cancel)
	w := &streamWriter{ctx: ctx, header: http.Header{}, lines: make(chan string, 100)}
	go func() {
		defer close(w.lines)
		handler.ServeHTTP(w, req.WithContext(ctx))
	}()
	return w, cancel
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
	synctest.Test(t, testInstitutionEvents)
}

func testInstitutionEvents(t *testing.T) {
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
	synctest.Test(t, testInstitutionEventsSlowClientIsDropped)
}

func testInstitutionEventsSlowClientIsDropped(t *testing.T) {
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

// waitSubscribers checks, once every goroutine of the test's bubble
// waits, that b has n subscribers.
func waitSubscribers(t *testing.T, b *notify.Broker, n int) {
	t.Helper()
	synctest.Wait()
	if got := b.Subscribers(); got != n {
		t.Fatalf("%d subscribers, want %d", got, n)
	}
}
