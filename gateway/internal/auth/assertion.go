package auth

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Client assertions (private_key_jwt, RFC 7523 §2.2 and §3; OpenID Connect
// Core §9): an API client that registered a P-256 public key instead of a
// secret authenticates at the token endpoint with a JWT it signed with the
// private key. The JWT must be ES256, name the client as iss and sub, the
// token endpoint's URL as aud, expire no more than MaxAssertionLifetime
// after now, and carry a jti, which the token endpoint accepts once.

// ClientAssertionType is the client_assertion_type of a JWT client
// assertion.
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// MaxAssertionLifetime is how far in the future a client assertion may
// expire.
const MaxAssertionLifetime = 5 * time.Minute

// assertionLeeway is the clock skew allowed on exp, nbf and iat.
const assertionLeeway = 30 * time.Second

// AssertionClient returns the client a client assertion names (its iss,
// which must equal its sub), without checking it: the token endpoint then
// looks up the client's key and calls VerifyClientAssertion.
func AssertionClient(assertion string) (string, error) {
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(assertion, &c); err != nil {
		return "", fmt.Errorf("auth: client assertion: %w", err)
	}
	if c.Issuer == "" || c.Issuer != c.Subject {
		return "", errors.New("auth: client assertion: iss and sub must both name the client")
	}
	return c.Issuer, nil
}

// VerifiedAssertion is what a verified client assertion says.
type VerifiedAssertion struct {
	ID        string // jti
	ExpiresAt time.Time
}

// VerifyClientAssertion checks a client assertion of clientID against its
// registered key: ES256 signature, iss = sub = clientID, aud containing
// audience (the token endpoint's URL), exp present and at most
// MaxAssertionLifetime after now, nbf and iat if present not in the future,
// and a jti. The caller must then accept the jti once
// (VerifiedAssertion.ID, until ExpiresAt).
func VerifyClientAssertion(assertion, clientID string, key *ecdsa.PublicKey, audience string, now time.Time) (VerifiedAssertion, error) {
	if audience == "" {
		return VerifiedAssertion{}, errors.New("auth: client assertion: this gateway has no public URL to check aud against")
	}
	var c jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(assertion, &c, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}),
		jwt.WithIssuer(clientID), jwt.WithSubject(clientID), jwt.WithAudience(audience),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(assertionLeeway),
		jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		return VerifiedAssertion{}, fmt.Errorf("auth: client assertion: %w", err)
	}
	exp := c.ExpiresAt.Time
	if exp.After(now.Add(MaxAssertionLifetime + assertionLeeway)) {
		return VerifiedAssertion{}, fmt.Errorf("auth: client assertion: expires more than %s ahead", MaxAssertionLifetime)
	}
	if c.ID == "" || len(c.ID) > 256 {
		return VerifiedAssertion{}, errors.New("auth: client assertion: a jti of 1–256 bytes is required")
	}
	return VerifiedAssertion{ID: c.ID, ExpiresAt: exp.Add(assertionLeeway)}, nil
}
