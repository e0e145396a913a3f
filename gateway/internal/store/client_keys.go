package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quanchain/quanchain/chaincode/sig"
)

// ErrAssertionReplayed reports a client assertion whose jti was accepted
// before and has not expired.
var ErrAssertionReplayed = errors.New("store: client assertion already used")

// MaxAssertionIDLength bounds the jti of a client assertion.
const MaxAssertionIDLength = 256

// CreateKeyClient registers client c to authenticate with client
// assertions signed by the P-256 key whose public JWK is jwk
// (private_key_jwt); it has no secret. The key is kept in canonical form.
// It returns ErrExists if the id is taken.
func (s *Store) CreateKeyClient(ctx context.Context, c Client, jwk string) (Client, error) {
	if c.ID == "" || c.OrgMSP == "" {
		return Client{}, fmt.Errorf("%w: client id and organisation are required", ErrInvalidArgument)
	}
	if err := checkClientLists(c); err != nil {
		return Client{}, err
	}
	c.RedirectURIs = redirectURIs(strings.Join(c.RedirectURIs, " "))
	pub, err := sig.ParseJWK([]byte(jwk))
	if err != nil {
		return Client{}, fmt.Errorf("%w: the key is not a P-256 public JWK", ErrInvalidArgument)
	}
	c.PublicJWK = string(sig.CanonicalJWK(pub))
	c.CreatedAt = s.now().UTC().Truncate(time.Microsecond)
	res, err := s.db.ExecContext(ctx, `INSERT INTO clients (id, org_msp, secret_hash, scopes, created_at, disabled, public_jwk, redirect_uris)
		VALUES ($1, $2, '', $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
		c.ID, c.OrgMSP, strings.Join(c.Scopes, " "), s.d.ts(c.CreatedAt), c.Disabled, c.PublicJWK, strings.Join(c.RedirectURIs, " "))
	if err := affectedOne(res, err); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Client{}, ErrExists
		}
		return Client{}, fmt.Errorf("store: create key client: %w", err)
	}
	return c, nil
}

// ClientKey returns an enabled key client, with its public JWK. An unknown
// client, a disabled one and a secret client all return
// ErrInvalidCredentials.
func (s *Store) ClientKey(ctx context.Context, id string) (Client, error) {
	var c Client
	var scopes, uris string
	var jwk sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT id, org_msp, scopes, created_at, disabled, public_jwk, redirect_uris FROM clients WHERE id = $1`, id).
		Scan(&c.ID, &c.OrgMSP, &scopes, scanTime(&c.CreatedAt), &c.Disabled, &jwk, &uris)
	if errors.Is(err, sql.ErrNoRows) {
		return Client{}, ErrInvalidCredentials
	}
	if err != nil {
		return Client{}, fmt.Errorf("store: get client key: %w", err)
	}
	if c.Disabled || !jwk.Valid || jwk.String == "" {
		return Client{}, ErrInvalidCredentials
	}
	c.Scopes, c.PublicJWK, c.RedirectURIs = strings.Fields(scopes), jwk.String, redirectURIs(uris)
	return c, nil
}

// UseAssertionID records the jti of a client's assertion, valid until
// expiresAt, and returns ErrAssertionReplayed if it was recorded before and
// has not expired. The jtis expired at now (the clock the assertion was
// checked by) are deleted on the way.
func (s *Store) UseAssertionID(ctx context.Context, clientID, jti string, expiresAt, now time.Time) error {
	if jti == "" || len(jti) > MaxAssertionIDLength {
		return fmt.Errorf("%w: a jti of 1–%d bytes is required", ErrInvalidArgument, MaxAssertionIDLength)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM client_assertion_jtis WHERE expires_at < $1`, s.d.ts(now)); err != nil {
		return fmt.Errorf("store: purge assertion ids: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO client_assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (client_id, jti) DO NOTHING`, clientID, jti, s.d.ts(expiresAt))
	if err := affectedOne(res, err); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrAssertionReplayed
		}
		return fmt.Errorf("store: record assertion id: %w", err)
	}
	return nil
}
