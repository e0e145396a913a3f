package httpapi

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/expiring"
)

// windowLimiter allows at most n events per key in any window of length
// per: "5 a minute" means no sixth attempt until the first is a minute
// old. (A token bucket of rate n/per and burst n, which this replaces,
// allows 2n in the first window: the burst, then the refill.) It keeps the
// times of the last n events of each key; a key idle for a window is
// dropped.
type windowLimiter struct {
	n    int
	per  time.Duration
	now  func() time.Time
	keys *expiring.Map[string, *eventWindow]
}

type eventWindow struct {
	mu sync.Mutex
	at []time.Time // oldest first, at most n
}

func newWindowLimiter(n int, per time.Duration, now func() time.Time) *windowLimiter {
	if now == nil {
		now = time.Now
	}
	return &windowLimiter{n: n, per: per, now: now, keys: expiring.New[string, *eventWindow](per, 0)}
}

// take records an event for key if fewer than n fell in the last window;
// otherwise it records nothing and returns how long until the oldest
// leaves the window.
func (l *windowLimiter) take(key string) (bool, time.Duration) {
	w := l.keys.Touch(key, func() *eventWindow { return &eventWindow{} })
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

// rateLimited is the 429 RATE_LIMITED answer with a Retry-After header of
// at least a second.
func rateLimited(w http.ResponseWriter, wait time.Duration, msg string) error {
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	return apiErr(http.StatusTooManyRequests, CodeRateLimited, "%s", msg)
}

// citizenLimits are the citizen login's rate limits: attempts (logins and
// codes together) per remote address, and login starts and code attempts
// per citizen (vault ref), whatever address they come from.
type citizenLimits struct {
	perAddress *windowLimiter
	starts     *windowLimiter
	codes      *windowLimiter
}

// citizenWindow is the per-citizen limits' window.
const citizenWindow = 15 * time.Minute
