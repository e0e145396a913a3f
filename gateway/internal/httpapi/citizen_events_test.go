package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
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

// citizenSSELines opens the citizen's event stream, served in memory
// (serveStream) in the test's synctest bubble; cancel is the client going
// away.
func citizenSSELines(t *testing.T, h http.Handler, token, lastID string) (<-chan string, *streamWriter, context.CancelFunc) {
	t.Helper()
	req := httptest.NewRequest("GET", "/citizen/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	w, cancel := serveStream(t, h, req)
	return w.lines, w, cancel
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
	synctest.Test(t, testCitizenEventsStream)
}

func testCitizenEventsStream(t *testing.T) {
	h := newCitizenHarness(t, func(_ *config.Config, cc *CitizenConfig) { cc.Heartbeat = 20 * time.Millisecond })
	ref := h.refOf(applicant)
	tok := h.citizenToken(ref)

	lines, w, cancel := citizenSSELines(t, h.srv, tok, "")
	if code, ctype := w.status(); code != 200 || ctype != "text/event-stream" {
		t.Fatalf("stream: %d %s", code, ctype)
	}
	if n := h.events.Subscribers(); n != 1 {
		t.Fatalf("%d subscribers once the stream waits, want 1", n)
	}
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
	for range lines {
	}
	if n := h.events.Subscribers(); n != 0 {
		t.Fatalf("%d subscribers after the handler ended, want 0", n)
	}

	h.events.Publish(citizenEvent(6, ref)) // missed while disconnected
	lines, _, _ = citizenSSELines(t, h.srv, tok, "5:tx5")
	citizenExpectLine(t, lines, func(l string) bool { return l == "id: 6:tx6" }, nil)

	lines, _, _ = citizenSSELines(t, h.srv, tok, "1:long-gone")
	citizenExpectLine(t, lines, func(l string) bool { return l == "event: reset" }, nil)
}

func TestCitizenEventsUnavailable(t *testing.T) {
	h := newCitizenHarness(t, func(_ *config.Config, cc *CitizenConfig) { cc.Events = nil })
	w := h.as(h.citizenToken(citizenRefA), "GET", "/citizen/v1/events", "")
	if w.Code != http.StatusServiceUnavailable || errCode(t, w) != CodeEventsUnavailable {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
}
