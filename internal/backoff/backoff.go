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

	next time.Duration
}

// Next returns the pause before the next attempt and grows the one after.
func (b *Backoff) Next() time.Duration {
	if b.next == 0 {
		b.next = b.Base
	}
	d := b.next
	b.next = min(2*b.next, max(b.Max, b.Base))
	if b.Jitter > 0 && d > 0 {
		d += time.Duration(rand.Float64() * b.Jitter * float64(d))
	}
	return d
}

// Reset makes the next pause Base again, after an attempt that made
// progress.
func (b *Backoff) Reset() { b.next = 0 }

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
