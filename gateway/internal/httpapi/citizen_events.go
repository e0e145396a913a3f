package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/notify"
)

// EventDeviceAdded is the citizen stream's event of a new device key of
// the citizen, published by the gateway itself when it enrols one, so the
// citizen's other devices say so (a device they do not know of is a
// warning sign). It is not a chaincode event: the key's enrolment is in
// the requesters' private collections and the public event names no
// citizen.
const EventDeviceAdded = "DeviceAdded"

// deviceAddedEvent is the data of a DeviceAdded event.
type deviceAddedEvent struct {
	Name       string `json:"name"`
	KeyID      string `json:"key_id"`
	DeviceName string `json:"device_name,omitempty"`
	At         string `json:"at"`
}

// deviceAdded tells the citizen's live streams that key kid, named name,
// was enrolled for them. The event id names the key, so a stream that
// resumes after it finds it among the kept events.
func (c *CitizenAPI) deviceAdded(ref, kid, name string, now time.Time) {
	if c.cfg.Events == nil {
		return
	}
	data, err := json.Marshal(deviceAddedEvent{Name: EventDeviceAdded, KeyID: kid, DeviceName: name, At: model.FormatTime(now)})
	if err != nil {
		return
	}
	c.cfg.Events.Publish(notify.Event{ID: "device-" + kid, Name: EventDeviceAdded, Data: data, Key: ref})
}

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
