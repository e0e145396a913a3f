package auth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var citizenRef = strings.Repeat("c", 64)

// TestCitizenSessionRenewal: a renewal extends the session by Idle from
// now and keeps its login time and id; a token past its expiry cannot be
// renewed (it no longer verifies); no renewal outlives the maximum.
func TestCitizenSessionRenewal(t *testing.T) {
	now := t0
	sk := newKey(t)
	ks, _ := NewKeySet(sk)
	tk := NewTokens(ks, "qc-test", "qc-api", 5*time.Minute, func() time.Time { return now },
		WithCitizenSessions(CitizenSessions{Idle: 30 * time.Minute, Max: 2 * time.Hour}))
	tok, exp, err := tk.Issue(Principal{Kind: KindCitizen, Subject: citizenRef})
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(t0.Add(30 * time.Minute)) {
		t.Fatalf("first token expires %s", exp)
	}
	p, err := tk.Verify(tok, KindCitizen)
	if err != nil {
		t.Fatal(err)
	}
	if !p.AuthTime.Equal(t0) || p.SessionID == "" {
		t.Fatalf("principal %+v", p)
	}

	// Renewed 20 minutes in: 30 minutes from then.
	now = t0.Add(20 * time.Minute)
	tok2, exp2, err := tk.RenewCitizen(p)
	if err != nil {
		t.Fatal(err)
	}
	if !exp2.Equal(now.Add(30 * time.Minute)) {
		t.Fatalf("renewed token expires %s", exp2)
	}
	now = t0.Add(45 * time.Minute)
	if _, err := tk.Verify(tok, KindCitizen); err == nil {
		t.Fatal("the first token outlived its expiry")
	}
	p2, err := tk.Verify(tok2, KindCitizen)
	if err != nil {
		t.Fatalf("renewed token at 45 min: %v", err)
	}
	if !p2.AuthTime.Equal(t0) || p2.SessionID != p.SessionID || p2.Subject != citizenRef || p2.TokenID == p.TokenID {
		t.Fatalf("renewed principal %+v, first %+v", p2, p)
	}

	// Left idle past its expiry, the session is over: the token does not
	// verify, so it cannot be renewed.
	now = exp2.Add(6 * time.Second) // past the 5 s leeway
	if _, err := tk.Verify(tok2, KindCitizen); err == nil {
		t.Fatal("an expired token verified")
	}

	// Renewed every 25 minutes, a session still ends at its maximum.
	now = t0.Add(time.Hour)
	tok, _, _ = tk.Issue(Principal{Kind: KindCitizen, Subject: citizenRef})
	start := now
	var last time.Time
	for i := 0; ; i++ {
		p, err := tk.Verify(tok, KindCitizen)
		if err != nil {
			t.Fatalf("renewal %d at %s: %v", i, now.Sub(start), err)
		}
		next, exp, err := tk.RenewCitizen(p)
		if errors.Is(err, ErrSessionOver) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		tok, last = next, exp
		if last.After(start.Add(2 * time.Hour)) {
			t.Fatalf("renewal %d expires %s after the login", i, last.Sub(start))
		}
		if i > 10 {
			t.Fatal("the session never ended")
		}
		now = now.Add(25 * time.Minute)
		if now.After(last) {
			now = last.Add(2 * time.Second) // within the leeway
		}
	}
	if !last.Equal(start.Add(2 * time.Hour)) {
		t.Fatalf("the last token expires %s after the login, want the maximum", last.Sub(start))
	}
}

// TestCitizenTokenSessionClaims: a citizen token must carry its login
// time and session id, may not live longer than Idle nor beyond the
// maximum, even when signed with the gateway's key; an institution token
// may not carry them.
func TestCitizenTokenSessionClaims(t *testing.T) {
	now := t0
	sk := newKey(t)
	tk := newTokens(t, sk, &now) // default sessions: 30 min, 12 h
	citizen := func(mod func(jwt.MapClaims)) string {
		c := jwt.MapClaims{"iss": "qc-test", "aud": "qc-api", "sub": citizenRef, "typ": "citizen",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Minute).Unix(), "auth_time": now.Unix(), "sid": "S1"}
		mod(c)
		return forge(t, jwt.SigningMethodES256, sk.PrivateKey, sk.ID, c)
	}
	if _, err := tk.Verify(citizen(func(jwt.MapClaims) {}), KindCitizen); err != nil {
		t.Fatalf("control token refused: %v", err)
	}
	for name, tok := range map[string]string{
		"no auth_time":          citizen(func(c jwt.MapClaims) { delete(c, "auth_time") }),
		"no sid":                citizen(func(c jwt.MapClaims) { delete(c, "sid") }),
		"issued before login":   citizen(func(c jwt.MapClaims) { c["auth_time"] = now.Add(time.Minute).Unix() }),
		"longer than idle":      citizen(func(c jwt.MapClaims) { c["exp"] = now.Add(31 * time.Minute).Unix() }),
		"beyond the maximum":    citizen(func(c jwt.MapClaims) { c["auth_time"] = now.Add(-12 * time.Hour).Add(time.Second).Unix() }),
		"institution with sid":  forge(t, jwt.SigningMethodES256, sk.PrivateKey, sk.ID, withClaim(validClaims(now), "sid", "S1")),
		"institution with auth": forge(t, jwt.SigningMethodES256, sk.PrivateKey, sk.ID, withClaim(validClaims(now), "auth_time", now.Unix())),
	} {
		want := KindCitizen
		if strings.HasPrefix(name, "institution") {
			want = KindInstitution
		}
		_, err := tk.Verify(tok, want)
		var ae *Error
		if !errors.As(err, &ae) || ae.Code != CodeInvalidToken {
			t.Errorf("%s: err = %v, want INVALID_TOKEN", name, err)
		}
	}
}

func withClaim(c jwt.MapClaims, k string, v any) jwt.MapClaims {
	c[k] = v
	return c
}
