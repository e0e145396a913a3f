package httpapi

import (
	"fmt"
	"net/http"
	"time"
)

// sseRetryMS is the reconnection delay every event stream advises.
const sseRetryMS = 3000

// streamSSE writes a server-sent event stream: a retry hint, a "reset"
// event when the client's Last-Event-ID could not be resumed, the replayed
// events, then live events and a heartbeat comment line until the client
// goes away, the request ends, or the broker closes events (the subscriber
// was too slow; the client reconnects and resumes). frame renders one event
// as its id, name and JSON data.
func streamSSE[E any](w http.ResponseWriter, r *http.Request, reset bool, replay []E, events <-chan E,
	heartbeat time.Duration, frame func(E) (id, name string, data []byte)) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(format string, args ...any) bool {
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	event := func(e E) bool {
		id, name, data := frame(e)
		return send("id: %s\nevent: %s\ndata: %s\n\n", id, name, data)
	}
	if !send("retry: %d\n\n", sseRetryMS) {
		return
	}
	if reset && !send("event: reset\ndata: {}\n\n") {
		return
	}
	for _, e := range replay {
		if !event(e) {
			return
		}
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case e, ok := <-events:
			if !ok || !event(e) {
				return
			}
		case <-tick.C:
			if !send(": heartbeat\n\n") {
				return
			}
		}
	}
}
