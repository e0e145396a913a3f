package httpapi

import (
	"net/http"

	"github.com/quanchain/quanchain/gateway/internal/notify"
)

// citizenEvents streams the caller's authorisation and access events as
// server-sent events (id = block:tx), with a comment line as heartbeat.
// The stream ends when the client goes away or at the request timeout; the
// client reconnects with Last-Event-ID and the stream resumes after it, or
// sends a "reset" event if it cannot (the client then reloads its lists).
// The token travels in the Authorization header, so the consent app reads
// the stream with fetch rather than EventSource, which cannot send one.
func (s *Server) citizenEvents(w http.ResponseWriter, r *http.Request) error {
	c, ref, err := s.citizenCaller(r)
	if err != nil {
		return err
	}
	if c.cfg.Events == nil {
		return apiErr(http.StatusServiceUnavailable, CodeEventsUnavailable, "the event stream is not available on this gateway")
	}
	if r.URL.RawQuery != "" {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "the event stream takes no query parameters")
	}
	last := r.Header.Get("Last-Event-ID")
	if len(last) > maxLastEventIDLength {
		last = "-" // cannot be a kept id: resume is impossible, so reset
	}
	sub, replay, reset := c.cfg.Events.SubscribeKey(ref, last)
	defer c.cfg.Events.Unsubscribe(sub)

	streamSSE(w, r, reset, replay, sub.Events(), c.cfg.Heartbeat, func(e notify.Event) (string, string, []byte) {
		return e.ID, e.Name, e.Data
	})
	return nil
}
