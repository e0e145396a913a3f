// Package backoff is the one way this module waits before trying again:
// a pause that starts at Base, doubles after every wait up to Max, and
// ends early when the context does. Jitter spreads the pauses of clients
// that failed together (racing writers of one ledger key, say) so they do
// not collide again.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is the pause before the next attempt. The zero value waits no
// time; it is not safe for concurrent use (each retry loop has its own).
type Backoff struct {
	// Base is the first pause; Max bounds the pauses (Base if smaller).
	Base, Max time.Duration
	// Jitter adds up to this fraction of the pause at random (0 to 1).
	Jitter float64

	failed int
}

// Next returns the pause before the next attempt and grows the one after.
func (b *Backoff) Next() time.Duration {
	b.failed++
	return b.Nth(b.failed)
}

// Nth returns the pause after the n-th failed attempt in a row (n ≥ 1):
// Base doubled n-1 times, bounded by Max, plus the jitter. It keeps no
// state, for loops that count their attempts elsewhere (the webhook
// outbox keeps the count in its row, over restarts); Next is Nth of the
// attempts since the last Reset.
func (b *Backoff) Nth(n int) time.Duration {
	d, top := b.Base, max(b.Max, b.Base)
	for i := 1; i < n && d > 0 && d < top; i++ {
		if d > top/2 {
			d = top // doubling would pass top, or overflow
		} else {
			d *= 2
		}
	}
	if b.Jitter > 0 && d > 0 {
		d += time.Duration(rand.Float64() * b.Jitter * float64(d))
	}
	return d
}

// Reset makes the next pause Base again, after an attempt that made
// progress.
func (b *Backoff) Reset() { b.failed = 0 }

// Wait sleeps the next pause and reports whether it did: false if ctx
// ended first.
func (b *Backoff) Wait(ctx context.Context) bool {
	t := time.NewTimer(b.Next())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
