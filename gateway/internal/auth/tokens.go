// Package auth issues and checks the gateway's access tokens: short-lived
// ES256 JWTs for institution systems (OAuth2 client credentials) and for
// citizens (after the citizen login). A token's typ claim says which of the
// two it is, and every route requires one kind, so a citizen token never
// passes for an institution token or the other way round.
//
// A citizen token belongs to a session (see CitizenSessions): it carries
// the time of the login (auth_time) and a session id (sid), lives for the
// session's idle timeout, and is renewed while it is still valid, never
// beyond the session's absolute maximum.
//
// The signing algorithm is pinned to ES256 and the key is chosen by the
// kid header from a key set, so keys can be rotated: a new signing key
// starts signing while the old one stays in the set until its last token
// has expired.
package auth

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Kind says whom a token was issued to.
type Kind string

// Token kinds (the typ claim).
const (
	KindInstitution Kind = "institution"
	KindCitizen     Kind = "citizen"
)

// Principal is the authenticated caller of a request.
type Principal struct {
	Kind Kind
	// Subject is the API client id for institutions, the citizenRef for
	// citizens.
	Subject string
	// MSPID is the institution's organisation (institution tokens only).
	MSPID string
	// Scopes are the API client's OAuth2 scopes (institution tokens only),
	// such as ScopeAdmin.
	Scopes    []string
	TokenID   string
	ExpiresAt time.Time
	// AuthTime is when the citizen logged in, and SessionID names the
	// session every renewal continues (citizen tokens only).
	AuthTime  time.Time
	SessionID string
}

// ScopeAdmin is the scope of API clients allowed the operator's admin API.
const ScopeAdmin = "admin"

// HasScope reports whether p was granted scope.
func (p *Principal) HasScope(scope string) bool {
	return p != nil && slices.Contains(p.Scopes, scope)
}

// claims is a token's payload.
type claims struct {
	jwt.RegisteredClaims
	Typ   Kind   `json:"typ"`
	MSPID string `json:"msp,omitempty"`
	// Scope is the space-separated list of scopes (RFC 8693 §4.2).
	Scope string `json:"scope,omitempty"`
	// AuthTime (OpenID Connect's auth_time) and SessionID (sid) are set
	// on citizen tokens only.
	AuthTime  *jwt.NumericDate `json:"auth_time,omitempty"`
	SessionID string           `json:"sid,omitempty"`
}

// Error codes of authentication failures, stable for clients. The reason
// behind INVALID_TOKEN (expired, bad signature, …) is for logs only.
const (
	CodeMissingToken = "MISSING_TOKEN"
	CodeInvalidToken = "INVALID_TOKEN"
)

// Error is an authentication failure: a stable Code for the client and the
// underlying reason, which must never be shown to the client.
type Error struct {
	Code   string
	Reason error
}

func (e *Error) Error() string { return "auth: " + e.Code + ": " + e.Reason.Error() }

// Unwrap returns the reason.
func (e *Error) Unwrap() error { return e.Reason }

// Tokens issues and verifies tokens with one key set, issuer and audience.
type Tokens struct {
	keys     *KeySet
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
	citizen  CitizenSessions
}

// Option sets an optional property of Tokens.
type Option func(*Tokens)

// WithCitizenSessions sets the citizen sessions' lifetimes; without it
// they are DefaultCitizenSessions.
func WithCitizenSessions(s CitizenSessions) Option {
	return func(t *Tokens) { t.citizen = s.WithDefaults() }
}

// NewTokens returns a token issuer and verifier. now may be nil (wall
// clock).
func NewTokens(keys *KeySet, issuer, audience string, ttl time.Duration, now func() time.Time, opts ...Option) *Tokens {
	if now == nil {
		now = time.Now
	}
	t := &Tokens{keys: keys, issuer: issuer, audience: audience, ttl: ttl, now: now, citizen: DefaultCitizenSessions}
	for _, o := range opts {
		o(t)
	}
	return t
}

// TTL is the lifetime of issued institution tokens; a citizen token lives
// CitizenSessions().Idle, or less near the session's end.
func (t *Tokens) TTL() time.Duration { return t.ttl }

// CitizenSessions returns the citizen sessions' lifetimes.
func (t *Tokens) CitizenSessions() CitizenSessions { return t.citizen }

// Issue signs a token for p (Kind, Subject and, for institutions, MSPID)
// with the current signing key. It returns the token and its expiry. A
// citizen token issued here starts a new session (p.AuthTime and
// p.SessionID are ignored); RenewCitizen continues one.
func (t *Tokens) Issue(p Principal) (string, time.Time, error) {
	now := t.now().Truncate(time.Second)
	if p.Kind == KindCitizen {
		p.AuthTime, p.SessionID = now, RandomID("")
		return t.issue(p, now, now.Add(t.citizen.Idle))
	}
	return t.issue(p, now, now.Add(t.ttl))
}

// issue signs a token for p, issued at now, expiring at exp.
func (t *Tokens) issue(p Principal, now, exp time.Time) (string, time.Time, error) {
	if p.Kind != KindInstitution && p.Kind != KindCitizen {
		return "", time.Time{}, fmt.Errorf("auth: unknown token kind %q", p.Kind)
	}
	if p.Subject == "" || (p.Kind == KindInstitution && p.MSPID == "") {
		return "", time.Time{}, errors.New("auth: a token needs a subject (and an MSP for institutions)")
	}
	if len(p.Scopes) > 0 && p.Kind != KindInstitution {
		return "", time.Time{}, errors.New("auth: only institution tokens carry scopes")
	}
	for _, sc := range p.Scopes {
		if sc == "" || strings.ContainsAny(sc, " \t\r\n") {
			return "", time.Time{}, errors.New("auth: a scope must be non-empty and contain no white space")
		}
	}
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: t.issuer, Subject: p.Subject, Audience: jwt.ClaimStrings{t.audience},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp), ID: RandomID(""),
		},
		Typ: p.Kind, MSPID: p.MSPID, Scope: strings.Join(p.Scopes, " "),
	}
	if p.Kind == KindCitizen {
		c.AuthTime, c.SessionID = jwt.NewNumericDate(p.AuthTime), p.SessionID
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	tok.Header["kid"] = t.keys.signing.ID
	s, err := tok.SignedString(t.keys.signing.PrivateKey)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: sign token: %w", err)
	}
	return s, exp, nil
}

// Verify checks a token — ES256 only, a known kid, the signature, issuer,
// audience, expiry and not-before — and that it is of kind want.
func (t *Tokens) Verify(token string, want Kind) (*Principal, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, t.keyFor,
		jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}),
		jwt.WithIssuer(t.issuer), jwt.WithAudience(t.audience),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithTimeFunc(t.now), jwt.WithLeeway(5*time.Second))
	if err != nil {
		return nil, &Error{Code: CodeInvalidToken, Reason: err}
	}
	if c.NotBefore == nil || c.Subject == "" {
		return nil, &Error{Code: CodeInvalidToken, Reason: errors.New("token lacks nbf or sub")}
	}
	if c.Typ != want {
		return nil, &Error{Code: CodeInvalidToken, Reason: fmt.Errorf("token of kind %q where %q is required", c.Typ, want)}
	}
	if want == KindInstitution && c.MSPID == "" {
		return nil, &Error{Code: CodeInvalidToken, Reason: errors.New("institution token without msp")}
	}
	p := &Principal{Kind: c.Typ, Subject: c.Subject, MSPID: c.MSPID, TokenID: c.ID, ExpiresAt: c.ExpiresAt.Time}
	if want == KindCitizen {
		if err := t.citizen.check(&c); err != nil {
			return nil, &Error{Code: CodeInvalidToken, Reason: err}
		}
		p.AuthTime, p.SessionID = c.AuthTime.Time, c.SessionID
	} else if c.AuthTime != nil || c.SessionID != "" {
		return nil, &Error{Code: CodeInvalidToken, Reason: errors.New("session claims on a token that is not a citizen's")}
	}
	if c.Scope != "" {
		if want != KindInstitution {
			return nil, &Error{Code: CodeInvalidToken, Reason: errors.New("scopes on a token that is not an institution's")}
		}
		p.Scopes = strings.Fields(c.Scope)
	}
	return p, nil
}

// keyFor picks the verification key by the token's kid header.
func (t *Tokens) keyFor(tok *jwt.Token) (any, error) {
	kid, _ := tok.Header["kid"].(string)
	if kid == "" {
		return nil, errors.New("token has no kid")
	}
	k, ok := t.keys.lookup(kid)
	if !ok {
		return nil, fmt.Errorf("unknown kid %q", kid)
	}
	return k, nil
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// RandomID returns prefix followed by 20 random base32 characters (100
// bits from crypto/rand).
func RandomID(prefix string) string {
	var b [13]byte
	_, _ = rand.Read(b[:]) // never returns an error (crypto/rand, Go 1.24+)
	return prefix + idEncoding.EncodeToString(b[:])[:20]
}
