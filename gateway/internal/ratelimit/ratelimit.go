// Package ratelimit holds the gateway's limits per caller, kept in memory
// and forgotten once a caller is idle (gateway/internal/expiring), so a
// stream of new callers does not grow them without bound.
//
// # Two shapes
//
// A Window allows at most n events per key in any window of length per:
// "5 a minute" means no sixth attempt until the first is a minute old. It
// is for the citizen login, where the documented number is a promise. A
// Buckets is a token bucket per key (golang.org/x/time/rate): a steady rate
// with a burst on top, for services whose callers are systems that spread
// their calls (the pseudonym lookups of member gateways).
//
// Both answer a refusal with the time until the key may try again, for
// the Retry-After header.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/quanchain/quanchain/gateway/internal/expiring"
)

// Window allows at most n events per key in any window of length per. (A
// token bucket of rate n/per and burst n allows 2n in the first window:
// the burst, then the refill.) It keeps the times of the last n events of
// each key; a key idle for a window is dropped. It is safe for concurrent
// use.
type Window struct {
	n    int
	per  time.Duration
	now  func() time.Time
	keys *expiring.Map[string, *eventTimes]
}

type eventTimes struct {
	mu sync.Mutex
	at []time.Time // oldest first, at most n
}

// NewWindow returns a limit of n events per key in any window of length
// per, on the clock now (time.Now if nil).
func NewWindow(n int, per time.Duration, now func() time.Time) *Window {
	if now == nil {
		now = time.Now
	}
	return &Window{n: n, per: per, now: now, keys: expiring.New[string, *eventTimes](per, 0)}
}

// Take records an event for key if fewer than n fell in the last window;
// otherwise it records nothing and returns how long until the oldest
// leaves the window.
func (l *Window) Take(key string) (bool, time.Duration) {
	w := l.keys.Touch(key, func() *eventTimes { return &eventTimes{} })
	now := l.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	i := 0
	for i < len(w.at) && !now.Before(w.at[i].Add(l.per)) {
		i++
	}
	w.at = w.at[i:]
	if len(w.at) >= l.n {
		return false, w.at[0].Add(l.per).Sub(now)
	}
	w.at = append(w.at, now)
	return true, 0
}

// BucketIdle is how long a key's bucket is kept after its last event.
const BucketIdle = 10 * time.Minute

// Buckets keeps one token bucket per key, of perSecond tokens a second and
// burst tokens at most. It is safe for concurrent use.
type Buckets struct {
	rate    rate.Limit
	burst   int
	buckets *expiring.Map[string, *rate.Limiter]
	// Now is the buckets' clock: time.Now, or a test's.
	Now func() time.Time
}

// NewBuckets returns token buckets of perSecond tokens a second and at
// most burst tokens, one per key.
func NewBuckets(perSecond float64, burst int) *Buckets {
	return &Buckets{rate: rate.Limit(perSecond), burst: burst, buckets: expiring.New[string, *rate.Limiter](BucketIdle, 0),
		Now: time.Now}
}

// Take takes one token from key's bucket; if there is none, it takes
// nothing and returns how long until there is one.
func (b *Buckets) Take(key string) (bool, time.Duration) {
	l := b.buckets.Touch(key, func() *rate.Limiter { return rate.NewLimiter(b.rate, b.burst) })
	now := b.Now()
	res := l.ReserveN(now, 1)
	if !res.OK() {
		return false, time.Minute // a bucket that can never hold a token: burst 0
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}
