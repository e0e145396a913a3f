package auth

import (
	"errors"
	"fmt"
	"time"
)

// CitizenSessions are the lifetimes of a citizen's session. A session
// starts at the login (the token's auth_time). Each token lives Idle; while
// one is still valid, RenewCitizen exchanges it for a fresh one, so a
// citizen who keeps using the app stays logged in and one who leaves it
// for Idle is logged out. No token of a session outlives auth_time + Max,
// however often it is renewed: then the citizen logs in again.
type CitizenSessions struct {
	Idle time.Duration
	Max  time.Duration
}

// DefaultCitizenSessions are 30 minutes of inactivity, 12 hours in all.
var DefaultCitizenSessions = CitizenSessions{Idle: 30 * time.Minute, Max: 12 * time.Hour}

// WithDefaults fills the zero fields from DefaultCitizenSessions and keeps
// Idle within Max.
func (s CitizenSessions) WithDefaults() CitizenSessions {
	if s.Idle <= 0 {
		s.Idle = DefaultCitizenSessions.Idle
	}
	if s.Max <= 0 {
		s.Max = DefaultCitizenSessions.Max
	}
	s.Idle = min(s.Idle, s.Max)
	return s
}

// ErrSessionOver is returned by RenewCitizen for a session past its
// absolute maximum.
var ErrSessionOver = errors.New("auth: the citizen session has reached its maximum length")

// RenewCitizen issues a fresh token continuing p's session: same subject,
// auth_time and sid, expiring Idle from now but never after the session's
// maximum. p must come from a verified citizen token (Verify refuses an
// expired one, so an expired session cannot be renewed).
func (t *Tokens) RenewCitizen(p *Principal) (string, time.Time, error) {
	if p == nil || p.Kind != KindCitizen || p.AuthTime.IsZero() || p.SessionID == "" {
		return "", time.Time{}, errors.New("auth: only a citizen session can be renewed")
	}
	now := t.now().Truncate(time.Second)
	end := t.SessionEnd(p)
	if !now.Before(end) {
		return "", time.Time{}, ErrSessionOver
	}
	exp := now.Add(t.citizen.Idle)
	if exp.After(end) {
		exp = end
	}
	return t.issue(Principal{Kind: KindCitizen, Subject: p.Subject, AuthTime: p.AuthTime, SessionID: p.SessionID}, now, exp)
}

// SessionEnd is when the session of citizen principal p ends at the latest.
func (t *Tokens) SessionEnd(p *Principal) time.Time { return p.AuthTime.Add(t.citizen.Max) }

// check verifies a citizen token's session claims: a login time no later
// than the token's issue, a session id, and an expiry within Idle of the
// issue and within Max of the login.
func (s CitizenSessions) check(c *claims) error {
	if c.AuthTime == nil || c.SessionID == "" || c.IssuedAt == nil {
		return errors.New("citizen token lacks auth_time or sid")
	}
	auth, iat, exp := c.AuthTime.Time, c.IssuedAt.Time, c.ExpiresAt.Time
	switch {
	case iat.Before(auth):
		return errors.New("citizen token issued before its login")
	case exp.After(iat.Add(s.Idle)):
		return fmt.Errorf("citizen token lives longer than %s", s.Idle)
	case exp.After(auth.Add(s.Max)):
		return fmt.Errorf("citizen token outlives its session's %s", s.Max)
	}
	return nil
}
