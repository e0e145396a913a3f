package httpapi

import (
	"net/http"

	"github.com/quanchain/quanchain/gateway/internal/notify"
)

// institutionEvents streams the organisation's authorisation and access
// events as server-sent events: "id: <block>:<txid>", "event: <name>",
// "data: <model.Event JSON>" — the same JSON a webhook receives — and a
// comment line as heartbeat. The stream ends when the client goes away,
// at the request timeout, or when the client cannot keep up; the client
// reconnects with Last-Event-ID and the stream resumes after it if the
// gateway still keeps that event, or begins with a "reset" event if not
// (the client then reloads its authorisations: events may have been
// missed). The stream is best effort; webhooks are the delivery that is
// never lost.
func (s *Server) institutionEvents(w http.ResponseWriter, r *http.Request) error {
	n, _, err := s.notifyCaller(r)
	if err != nil {
		return err
	}
	if n.cfg.Events == nil {
		return apiErr(http.StatusServiceUnavailable, codeEventsNotServed, "the event stream is not available on this gateway")
	}
	if r.URL.RawQuery != "" {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "the event stream takes no query parameters")
	}
	last := r.Header.Get("Last-Event-ID")
	if len(last) > maxLastEventIDLength {
		last = "-" // cannot be a kept id: the stream starts with a reset
	}
	sub, replay, missed := n.cfg.Events.Subscribe(last)
	defer n.cfg.Events.Unsubscribe(sub)

	streamSSE(w, r, missed, replay, sub.Events(), n.cfg.Heartbeat, func(e notify.Event) (string, string, []byte) {
		return e.ID, e.Name, e.Data
	})
	return nil
}
