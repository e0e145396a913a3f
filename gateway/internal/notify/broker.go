package notify

import "sync"

// Defaults of the Broker.
const (
	DefaultSubscriberBuffer = 64
	DefaultKeep             = 1024
)

// Broker fans events out to in-process subscribers (the server-sent event
// streams). Publish never blocks: each subscriber has a bounded buffer, and
// a subscriber whose buffer is full is dropped — its channel is closed and
// its client reconnects with Last-Event-ID. The broker keeps the last
// events so that a reconnecting stream resumes where it stopped, as long as
// its last event is still kept. A Broker is safe for concurrent use.
type Broker struct {
	buffer int

	mu   sync.Mutex
	subs map[*Subscription]struct{}
	ring []Event // the kept events, oldest first
	keep int
}

// Subscription is one subscriber's stream of events: every event, or
// those of one key (SubscribeKey).
type Subscription struct {
	key string
	ch  chan Event
}

// wants reports whether the subscription takes e.
func (s *Subscription) wants(e Event) bool { return s.key == "" || s.key == e.Key }

// Events returns the subscription's channel. It is closed when the
// subscriber unsubscribes or is dropped for being too slow.
func (s *Subscription) Events() <-chan Event { return s.ch }

// NewBroker returns a broker whose subscribers each buffer up to buffer
// events and which keeps the last keep events for resumption; zero values
// mean DefaultSubscriberBuffer and DefaultKeep.
func NewBroker(buffer, keep int) *Broker {
	if buffer <= 0 {
		buffer = DefaultSubscriberBuffer
	}
	if keep <= 0 {
		keep = DefaultKeep
	}
	return &Broker{buffer: buffer, keep: keep, subs: map[*Subscription]struct{}{}}
}

// Publish hands e to every subscriber without waiting: a subscriber whose
// buffer is full is dropped.
func (b *Broker) Publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.ring) == b.keep {
		copy(b.ring, b.ring[1:])
		b.ring = b.ring[:b.keep-1]
	}
	b.ring = append(b.ring, e)
	for s := range b.subs {
		if !s.wants(e) {
			continue
		}
		select {
		case s.ch <- e:
		default:
			delete(b.subs, s)
			close(s.ch)
		}
	}
}

// Subscribe starts a subscription to every event. With a lastEventID it
// also returns the kept events published after that one (replay), to send
// before the subscription's own; missed reports that lastEventID is not
// kept (too old or unknown), so events may have been missed.
func (b *Broker) Subscribe(lastEventID string) (s *Subscription, replay []Event, missed bool) {
	return b.SubscribeKey("", lastEventID)
}

// SubscribeKey is Subscribe to the events of one key only (a citizen's
// stream: the events that concern their citizenRef); "" is every event. A
// lastEventID must be an event of that key.
func (b *Broker) SubscribeKey(key, lastEventID string) (s *Subscription, replay []Event, missed bool) {
	s = &Subscription{key: key, ch: make(chan Event, b.buffer)}
	b.mu.Lock()
	defer b.mu.Unlock()
	if lastEventID != "" {
		missed = true
		for i := len(b.ring) - 1; i >= 0; i-- {
			if b.ring[i].ID == lastEventID && s.wants(b.ring[i]) {
				missed = false
				for _, e := range b.ring[i+1:] {
					if s.wants(e) {
						replay = append(replay, e)
					}
				}
				break
			}
		}
	}
	b.subs[s] = struct{}{}
	return s, replay, missed
}

// Unsubscribe ends a subscription; it may be called more than once and
// after the broker dropped it.
func (b *Broker) Unsubscribe(s *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[s]; ok {
		delete(b.subs, s)
		close(s.ch)
	}
}

// Subscribers counts the live subscriptions.
func (b *Broker) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}
