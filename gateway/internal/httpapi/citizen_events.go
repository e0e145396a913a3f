package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/ledger"
)

// EventSubscriber is the ledger's chaincode event stream; *ledger.Ledger
// implements it.
type EventSubscriber interface {
	Events(ctx context.Context, checkpoint client.Checkpoint) (<-chan ledger.ChainEvent, error)
}

// EventBroker fans one chaincode-event subscription out to many citizen
// event streams. It keeps the citizen events of the last ring entries so
// that a reconnecting stream resumes after its Last-Event-ID; a stream
// that cannot keep up is dropped rather than allowed to slow the others,
// and its client reconnects and resumes.
type EventBroker struct {
	src EventSubscriber
	log *slog.Logger

	mu   sync.Mutex
	subs map[*eventSub]struct{}
	ring []citizenEvent // oldest first, at most size
	size int
	// retry is the first wait before subscribing again after a failure.
	retry time.Duration
}

// citizenEvent is one chaincode event that concerns a citizen, as sent.
type citizenEvent struct {
	id   string // "block:tx", the SSE event id
	ref  string // the citizen it concerns
	name string
	data []byte // the model.Event as JSON
}

// eventSub is one stream's subscription.
type eventSub struct {
	ref string
	ch  chan citizenEvent
}

const (
	brokerRingSize  = 4096
	subBufferSize   = 64
	brokerRetryBase = time.Second
	brokerRetryMax  = 30 * time.Second
)

// NewEventBroker returns a broker over src; log may be nil.
func NewEventBroker(src EventSubscriber, log *slog.Logger) *EventBroker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &EventBroker{src: src, log: log, subs: map[*eventSub]struct{}{}, size: brokerRingSize,
		retry: brokerRetryBase}
}

// Run holds the one chaincode-event subscription until ctx ends. When the
// stream fails it subscribes again, with backoff, from just after the last
// event it saw, so no event is skipped.
func (b *EventBroker) Run(ctx context.Context) error {
	var cp client.InMemoryCheckpointer
	wait := b.retry
	for {
		events, err := b.src.Events(ctx, &cp)
		if err != nil {
			b.log.WarnContext(ctx, "chaincode event subscription failed", slog.String("error", err.Error()))
		} else {
			got, err := b.forward(ctx, events, &cp)
			if err != nil {
				return err
			}
			if got {
				wait = b.retry
			}
			b.log.InfoContext(ctx, "chaincode event stream ended; subscribing again")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, brokerRetryMax)
	}
}

// forward publishes the events of one subscription, recording each in
// cp, until the subscription ends (nil) or ctx does (its error); got
// reports whether any event came.
func (b *EventBroker) forward(ctx context.Context, events <-chan ledger.ChainEvent, cp *client.InMemoryCheckpointer) (got bool, err error) {
	for {
		select {
		case <-ctx.Done():
			return got, ctx.Err()
		case ev, ok := <-events:
			if !ok {
				return got, ctx.Err()
			}
			got = true
			cp.CheckpointTransaction(ev.BlockNumber, ev.TxID)
			b.publish(ev)
		}
	}
}

// isCitizenEvent reports whether a chaincode event belongs on a citizen's
// stream: changes of their authorisations and uses of their data.
func isCitizenEvent(e *model.Event) bool {
	return e != nil && model.ValidHash(e.CitizenRef) &&
		(strings.HasPrefix(e.Name, "Authorization") || e.Name == model.EventAccessRecorded)
}

// publish hands a chaincode event to the streams of the citizen it
// concerns and keeps it for resumption.
func (b *EventBroker) publish(ev ledger.ChainEvent) {
	if !isCitizenEvent(ev.Event) || strings.ContainsAny(ev.TxID+ev.Event.Name, "\r\n") {
		return
	}
	data, err := json.Marshal(ev.Event)
	if err != nil {
		return
	}
	ce := citizenEvent{id: strconv.FormatUint(ev.BlockNumber, 10) + ":" + ev.TxID, ref: ev.Event.CitizenRef,
		name: ev.Event.Name, data: data}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.ring) == b.size {
		copy(b.ring, b.ring[1:])
		b.ring = b.ring[:b.size-1]
	}
	b.ring = append(b.ring, ce)
	for s := range b.subs {
		if s.ref != ce.ref {
			continue
		}
		select {
		case s.ch <- ce:
		default: // too slow: drop it; the client resumes from its last id
			delete(b.subs, s)
			close(s.ch)
		}
	}
}

// Subscribe starts a stream of citizenRef's events. With lastEventID it
// also returns the kept events after that one (replay); reset reports that
// lastEventID is no longer kept, so events may have been missed and the
// client should reload what it shows.
func (b *EventBroker) Subscribe(citizenRef, lastEventID string) (s *eventSub, replay []citizenEvent, reset bool) {
	s = &eventSub{ref: citizenRef, ch: make(chan citizenEvent, subBufferSize)}
	b.mu.Lock()
	defer b.mu.Unlock()
	if lastEventID != "" {
		reset = true
		for i := len(b.ring) - 1; i >= 0; i-- {
			if b.ring[i].id == lastEventID && b.ring[i].ref == citizenRef {
				reset = false
				for _, e := range b.ring[i+1:] {
					if e.ref == citizenRef {
						replay = append(replay, e)
					}
				}
				break
			}
		}
	}
	b.subs[s] = struct{}{}
	return s, replay, reset
}

// Unsubscribe ends a stream's subscription; it may be called after the
// broker dropped the stream.
func (b *EventBroker) Unsubscribe(s *eventSub) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[s]; ok {
		delete(b.subs, s)
		close(s.ch)
	}
}

// subscribers counts the live subscriptions.
func (b *EventBroker) subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
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
	sub, replay, reset := c.cfg.Events.Subscribe(ref, last)
	defer c.cfg.Events.Unsubscribe(sub)

	streamSSE(w, r, reset, replay, sub.ch, c.cfg.Heartbeat, func(e citizenEvent) (string, string, []byte) {
		return e.id, e.name, e.data
	})
	return nil
}
