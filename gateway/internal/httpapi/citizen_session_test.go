package httpapi

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCitizenSessionRenew: the login answers the token's and the
// session's expiry; POST /citizen/v1/session/renew with a live token gives
// a fresh token 30 minutes from now; an expired token cannot renew; no
// renewal takes a session past 12 hours, after which renewing is 401
// SESSION_EXPIRED.
func TestCitizenSessionRenew(t *testing.T) {
	clock := &testClock{t: now}
	h := newCitizenHarnessAt(t, clock.now)
	ticket, _ := strings.CutPrefix(h.loginFlow("return_to=/app/"), "ticket=")
	ns := h.session(ticket)
	s := ns.citizenSessionResponse
	if ns.Token != s.AccessToken || ns.CitizenRef != h.refOf(applicant) || ns.KeyID != "" {
		t.Fatalf("session answer %+v", ns)
	}
	if s.ExpiresIn != 1800 || s.IdleTimeout != 1800 || s.ExpiresAt != "2026-11-02T09:30:00Z" || s.SessionExpiresAt != "2026-11-02T21:00:00Z" {
		t.Fatalf("login answer %+v", s)
	}
	renew := func(tok string) (citizenSessionResponse, int, string) {
		w := h.as(tok, "POST", "/citizen/v1/session/renew", "")
		if w.Code != http.StatusOK {
			return citizenSessionResponse{}, w.Code, errCode(t, w)
		}
		return decodeBody[citizenSessionResponse](t, w), w.Code, ""
	}

	// Renewed 20 minutes in, the session lasts until 09:50; the new token
	// works on the citizen routes.
	clock.set(now.Add(20 * time.Minute))
	r, code, ec := renew(s.AccessToken)
	if code != http.StatusOK || r.ExpiresAt != "2026-11-02T09:50:00Z" || r.SessionExpiresAt != s.SessionExpiresAt || r.AccessToken == s.AccessToken {
		t.Fatalf("renewal: %d %s %+v", code, ec, r)
	}
	clock.set(now.Add(40 * time.Minute))
	if w := h.as(r.AccessToken, "GET", "/citizen/v1/keys", ""); w.Code != http.StatusOK {
		t.Fatalf("renewed token at 09:40: %d %s", w.Code, w.Body)
	}
	if w := h.as(s.AccessToken, "GET", "/citizen/v1/keys", ""); w.Code != http.StatusUnauthorized {
		t.Fatalf("first token at 09:40: %d %s", w.Code, w.Body)
	}

	// Idle past its expiry: no renewal.
	clock.set(now.Add(50*time.Minute + 6*time.Second))
	if _, code, ec := renew(r.AccessToken); code != http.StatusUnauthorized || ec != "INVALID_TOKEN" {
		t.Fatalf("renewal of an expired token: %d %s", code, ec)
	}
	if _, code, ec := renew(""); code != http.StatusUnauthorized || ec != "MISSING_TOKEN" {
		t.Fatalf("renewal without a token: %d %s", code, ec)
	}
	if _, code, _ := renew(h.token); code != http.StatusUnauthorized {
		t.Fatalf("renewal with an institution token: %d", code)
	}

	// Kept alive every 25 minutes, a session still ends 12 hours after
	// the login.
	clock.set(now.Add(time.Hour))
	tok := h.login(applicant)
	end := clock.now().Add(12 * time.Hour)
	var last citizenSessionResponse
	for i := 0; ; i++ {
		r, code, ec := renew(tok)
		if code != http.StatusOK {
			if code != http.StatusUnauthorized || ec != CodeSessionExpired {
				t.Fatalf("renewal %d: %d %s", i, code, ec)
			}
			break
		}
		exp, _ := time.Parse(time.RFC3339, r.ExpiresAt)
		if exp.After(end) {
			t.Fatalf("renewal %d expires at %s, after the session's end %s", i, exp, end)
		}
		tok, last = r.AccessToken, r
		next := clock.now().Add(25 * time.Minute)
		if next.After(exp) {
			next = exp.Add(2 * time.Second) // within the tokens' leeway
		}
		clock.set(next)
		if i > 40 {
			t.Fatal("the session never ended")
		}
	}
	if last.ExpiresAt != end.Format(time.RFC3339) {
		t.Fatalf("last token expires %s, want %s", last.ExpiresAt, end.Format(time.RFC3339))
	}
	clock.set(end.Add(6 * time.Second))
	if w := h.as(tok, "GET", "/citizen/v1/keys", ""); w.Code != http.StatusUnauthorized {
		t.Fatalf("after the maximum: %d %s", w.Code, w.Body)
	}
}
