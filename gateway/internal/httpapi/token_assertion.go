package httpapi

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/auth"
)

// ClientKeyStore is what client assertions (private_key_jwt) need from the
// client store; the ClientAuthenticator given to the server implements it
// too where clients may register keys.
type ClientKeyStore interface {
	// ClientPublicKey returns an enabled client that registered a public
	// key, with the key; ErrInvalidClient for an unknown or disabled
	// client and for a client with a secret.
	ClientPublicKey(ctx context.Context, id string) (APIClient, *ecdsa.PublicKey, error)
	// UseAssertionID accepts a client assertion's jti once until it
	// expires (at until, by the clock now is read from);
	// ErrAssertionReplayed after that.
	UseAssertionID(ctx context.Context, clientID, jti string, until, now time.Time) error
}

// ErrAssertionReplayed is returned by ClientKeyStore.UseAssertionID for a
// jti already accepted.
var ErrAssertionReplayed = errors.New("client assertion already used")

// assertedClient authenticates a token request by its client assertion
// (RFC 7523): the client named by iss = sub, its registered key, the token
// endpoint's own URL (Config.PublicURL and the path called) as aud, a
// lifetime of at most five minutes, and a jti not seen before. Every
// failure is 401 INVALID_CLIENT, the reason logged, never answered.
func (s *Server) assertedClient(r *http.Request, clients ClientAuthenticator, q tokenRequest) (APIClient, error) {
	if q.ClientAssertionType != auth.ClientAssertionType {
		return APIClient{}, apiErr(http.StatusBadRequest, CodeInvalidArgument, "client_assertion_type must be %s", auth.ClientAssertionType)
	}
	if q.ClientSecret != "" {
		return APIClient{}, apiErr(http.StatusBadRequest, CodeInvalidArgument, "use either client_secret or client_assertion, not both")
	}
	invalid := func(reason string, err error) (APIClient, error) {
		attrs := []any{slog.String("reason", reason)}
		if err != nil {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		s.log.InfoContext(r.Context(), "client assertion refused", attrs...)
		return APIClient{}, apiErr(http.StatusUnauthorized, CodeInvalidClient, "client authentication failed")
	}
	keys, ok := clients.(ClientKeyStore)
	if !ok || s.Config.PublicURL == "" || len(q.ClientAssertion) > 8192 {
		return invalid("no key store, no public URL to check aud against, or assertion too long", nil)
	}
	id, err := auth.AssertionClient(q.ClientAssertion)
	if err != nil {
		return invalid("malformed", err)
	}
	if q.ClientID != "" && q.ClientID != id {
		return invalid("client_id is not the assertion's issuer", nil)
	}
	c, key, err := keys.ClientPublicKey(r.Context(), id)
	if errors.Is(err, ErrInvalidClient) {
		return invalid("unknown client or no key", nil)
	}
	if err != nil {
		return APIClient{}, err
	}
	now := s.Now()
	v, err := auth.VerifyClientAssertion(q.ClientAssertion, id, key, s.Config.PublicURL+r.URL.Path, now)
	if err != nil {
		return invalid("not verified", err)
	}
	err = keys.UseAssertionID(r.Context(), id, v.ID, v.ExpiresAt, now)
	if errors.Is(err, ErrAssertionReplayed) {
		return invalid("jti replayed", nil)
	}
	if err != nil {
		return APIClient{}, err
	}
	return c, nil
}
