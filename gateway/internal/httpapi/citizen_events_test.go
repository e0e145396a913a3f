package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/notify"
)

var (
	citizenRefA = strings.Repeat("a", 64)
	citizenRefB = strings.Repeat("b", 64)
)

// citizenEvent is an authorisation event of block n for ref, as the
// citizens' feed publishes it.
func citizenEvent(n uint64, ref string) notify.Event {
	data, _ := json.Marshal(model.Event{Name: model.EventAuthorizationGranted, TxID: fmt.Sprintf("tx%d", n),
		AuthorizationID: fmt.Sprintf("auth-%d", n), Status: model.AuthGranted})
	return notify.Event{ID: notify.EventID(n, fmt.Sprintf("tx%d", n)), Name: model.EventAuthorizationGranted, Block: n, Data: data, Key: ref}
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
	srv := httptest.NewServer(h.srv)
	defer srv.Close()
	tok := h.citizenToken(ref)

	ctx, cancel := context.WithCancel(t.Context())
	lines, resp := citizenSSELines(t, ctx, srv.URL, tok, "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	citizenEventually(t, "the stream to subscribe", func() bool { return h.events.Subscribers() == 1 })
	h.events.Publish(citizenEvent(4, citizenRefB))
	h.events.Publish(citizenEvent(5, ref))
	notOthers := func(l string) bool { return strings.Contains(l, "auth-4") || strings.Contains(l, "4:tx4") }
	citizenExpectLine(t, lines, func(l string) bool { return l == "id: 5:tx5" }, notOthers)
	citizenExpectLine(t, lines, func(l string) bool { return l == "event: AuthorizationGranted" }, nil)
	data := citizenExpectLine(t, lines, func(l string) bool { return strings.HasPrefix(l, "data: ") }, nil)
	if !strings.Contains(data, `"authorization_id":"auth-5"`) || !strings.Contains(data, `"status":"GRANTED"`) {
		t.Errorf("data line %q", data)
	}
	citizenExpectLine(t, lines, func(l string) bool { return l == ": heartbeat" }, nil)

	cancel() // the client goes away: the handler ends and unsubscribes
	citizenEventually(t, "the handler to end", func() bool { return h.events.Subscribers() == 0 })

	h.events.Publish(citizenEvent(6, ref)) // missed while disconnected
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
