package httpapi

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/ratelimit"
)

// TestRateLimitRetryAfter: a 429's Retry-After is the time until the
// client's bucket holds a token again, in whole seconds rounded up, at
// least one.
func TestRateLimitRetryAfter(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		perSecond float64
		burst     int
		want      time.Duration
		header    int
	}{
		{0.5, 1, 2 * time.Second, 2},
		{0.3, 2, 3333333333, 4},
		{1000, 1, time.Millisecond, 1},
		{50, 100, 20 * time.Millisecond, 1},
	} {
		l := ratelimit.NewBuckets(tc.perSecond, tc.burst)
		l.Now = func() time.Time { return t0 }
		for i := range tc.burst {
			if ok, _ := l.Take("institution:bank-loans"); !ok {
				t.Fatalf("%v/s burst %d: request %d refused", tc.perSecond, tc.burst, i)
			}
		}
		ok, wait := l.Take("institution:bank-loans")
		if ok || wait < tc.want-time.Millisecond || wait > tc.want+time.Millisecond {
			t.Fatalf("%v/s burst %d: past the burst %v, %v; want a wait of %v", tc.perSecond, tc.burst, wait, ok, tc.want)
		}
		w := httptest.NewRecorder()
		_ = rateLimited(w, wait, "slow down")
		if got := retryAfter(w); got != tc.header {
			t.Fatalf("%v/s burst %d: Retry-After %d, want %d", tc.perSecond, tc.burst, got, tc.header)
		}
		// A refused request took nothing: the token is there after the wait.
		l.Now = func() time.Time { return t0.Add(wait) }
		if ok, _ := l.Take("institution:bank-loans"); !ok {
			t.Fatalf("%v/s burst %d: refused after the Retry-After", tc.perSecond, tc.burst)
		}
	}
}

// TestRateLimitPerPrincipal: an API client's requests share its bucket
// whatever address they come from, and the 429 tells it when to come back;
// another client of the same institution has its own.
func TestRateLimitPerPrincipal(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.RateLimit, c.RateBurst = 0.01, 2 })
	from := func(addr, token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/v1/authorizations", nil)
		r.RemoteAddr = addr
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.srv.ServeHTTP(w, r)
		return w
	}
	for i, addr := range []string{"192.0.2.1:40000", "192.0.2.2:40000"} {
		if w := from(addr, h.token); w.Code != 200 {
			t.Fatalf("request %d: %d %s", i, w.Code, w.Body)
		}
	}
	w := from("192.0.2.3:40000", h.token)
	if w.Code != 429 || errCode(t, w) != CodeRateLimited {
		t.Fatalf("third request from a third address: %d %s", w.Code, w.Body)
	}
	// 0.01 a second: the next token is 100 s away, less what the test took.
	if ra := retryAfter(w); ra < 90 || ra > 100 {
		t.Fatalf("Retry-After %d, want about 100", ra)
	}
	other, _, _ := h.tokens.Issue(auth.Principal{Kind: auth.KindInstitution, Subject: "bank-cards", MSPID: "BankMSP"})
	if w := from("192.0.2.3:40000", other); w.Code != 200 {
		t.Fatalf("another API client from the same address: %d", w.Code)
	}
}

// TestRateLimitForALoadTest plays 128 workers of one API client, each
// sending its next request as soon as the last is answered, at 130 data
// requests a second, about what the ledger commits under load (all in
// step, the bucket's worst case), for a minute. The default limit (50/s, burst 100) refuses
// some, as it should for one API client; the load-test setting docs/api.md
// gives (--rate-limit 200 --rate-burst 256) refuses none.
func TestRateLimitForALoadTest(t *testing.T) {
	clients, perSecond := 128, 130.0
	refused := func(rateLimit float64, burst int) int {
		l := ratelimit.NewBuckets(rateLimit, burst)
		start := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
		round := time.Duration(float64(time.Second) * float64(clients) / perSecond)
		n := 0
		for at := start; at.Before(start.Add(time.Minute)); at = at.Add(round) {
			l.Now = func() time.Time { return at }
			for range clients {
				if ok, _ := l.Take("institution:bank-loans"); !ok {
					n++
				}
			}
		}
		return n
	}
	d := config.Defaults()
	if n := refused(d.RateLimit, d.RateBurst); n == 0 {
		t.Fatalf("the default limit (%v/s, burst %d) let one API client through at %v/s", d.RateLimit, d.RateBurst, perSecond)
	}
	if n := refused(200, 256); n != 0 {
		t.Fatalf("the load-test setting refused %d requests", n)
	}
}
