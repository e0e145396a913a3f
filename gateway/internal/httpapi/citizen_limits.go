package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/ratelimit"
)

// rateLimited is the 429 RATE_LIMITED answer with a Retry-After header of
// at least a second.
func rateLimited(w http.ResponseWriter, wait time.Duration, msg string) error {
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	return apiErr(http.StatusTooManyRequests, CodeRateLimited, "%s", msg)
}

// citizenLimits are the citizen login's rate limits: attempts (logins,
// tickets, device registrations together) per remote address, and logins
// per citizen (vault ref), whatever address they come from.
type citizenLimits struct {
	perAddress *ratelimit.Window
	starts     *ratelimit.Window
}

// citizenWindow is the per-citizen limits' window.
const citizenWindow = 15 * time.Minute
