package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// ErrInvalidCredentials reports a client id and secret that do not
// authenticate: unknown client, wrong secret or disabled client alike, so
// that a caller cannot tell which.
var ErrInvalidCredentials = errors.New("store: invalid client credentials")

// Client is an institution's API client (OAuth2 client credentials).
type Client struct {
	ID        string
	OrgMSP    string   // the institution the client acts for
	Scopes    []string // OAuth2 scopes, stored space-separated
	CreatedAt time.Time
	Disabled  bool
	// PublicJWK is the P-256 public key (canonical JWK) a key client signs
	// its client assertions with (CreateKeyClient); "" for a secret client.
	PublicJWK string
	// RedirectURIs are the return URLs of the institution's app, where a
	// consent link may send the citizen back (ValidRedirectURI; exact
	// match).
	RedirectURIs []string
}

// MinSecretLength is the shortest client secret CreateClient accepts.
const MinSecretLength = 16

// Argon2id parameters for client secrets (RFC 9106's second recommended
// option, lowered in memory to the OWASP minimum of 19 MiB with 2 passes so
// a token request stays cheap). The parameters are stored in each hash, so
// they can be raised later without invalidating existing secrets.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// CreateClient registers client c with the given secret, of which only an
// Argon2id hash is kept. c.CreatedAt is set to the current time. It returns
// ErrExists if the id is taken.
func (s *Store) CreateClient(ctx context.Context, c Client, secret string) (Client, error) {
	if c.ID == "" || c.OrgMSP == "" || len(secret) < MinSecretLength {
		return Client{}, fmt.Errorf("%w: client id, organisation and a secret of at least %d bytes are required", ErrInvalidArgument, MinSecretLength)
	}
	if err := checkClientLists(c); err != nil {
		return Client{}, err
	}
	c.RedirectURIs = redirectURIs(strings.Join(c.RedirectURIs, " "))
	hash, err := hashSecret(secret)
	if err != nil {
		return Client{}, err
	}
	c.CreatedAt = s.now().UTC().Truncate(time.Microsecond)
	res, err := s.db.ExecContext(ctx, `INSERT INTO clients (id, org_msp, secret_hash, scopes, created_at, disabled, redirect_uris)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
		c.ID, c.OrgMSP, hash, strings.Join(c.Scopes, " "), s.d.ts(c.CreatedAt), c.Disabled, strings.Join(c.RedirectURIs, " "))
	if err := affectedOne(res, err); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Client{}, ErrExists
		}
		return Client{}, fmt.Errorf("store: create client: %w", err)
	}
	return c, nil
}

// GetClient returns the client with the given id, or ErrNotFound.
func (s *Store) GetClient(ctx context.Context, id string) (Client, error) {
	c, _, err := s.getClient(ctx, id)
	return c, err
}

func (s *Store) getClient(ctx context.Context, id string) (Client, string, error) {
	var c Client
	var scopes, hash, uris string
	err := s.db.QueryRowContext(ctx, `SELECT id, org_msp, secret_hash, scopes, created_at, disabled, redirect_uris
		FROM clients WHERE id = $1`, id).
		Scan(&c.ID, &c.OrgMSP, &hash, &scopes, scanTime(&c.CreatedAt), &c.Disabled, &uris)
	if errors.Is(err, sql.ErrNoRows) {
		return Client{}, "", ErrNotFound
	}
	if err != nil {
		return Client{}, "", fmt.Errorf("store: get client: %w", err)
	}
	c.Scopes, c.RedirectURIs = strings.Fields(scopes), redirectURIs(uris)
	return c, hash, nil
}

// checkClientLists checks that c's scopes and return URLs can be stored
// space-separated.
func checkClientLists(c Client) error {
	for _, sc := range c.Scopes {
		if sc == "" || strings.ContainsAny(sc, " \t\r\n") {
			return fmt.Errorf("%w: a scope must be non-empty and contain no white space", ErrInvalidArgument)
		}
	}
	for _, u := range c.RedirectURIs {
		if !ValidRedirectURI(u) {
			return fmt.Errorf("%w: a return URL must be an https URL, or http on 127.0.0.1 or localhost", ErrInvalidArgument)
		}
	}
	return nil
}

// redirectURIs splits the stored list; none is nil.
func redirectURIs(stored string) []string {
	if stored == "" {
		return nil
	}
	return strings.Fields(stored)
}

// MaxRedirectURILength is the longest return URL a client may register.
const MaxRedirectURILength = 512

// ValidRedirectURI reports whether u may be registered as a return URL: an
// absolute https URL, or http on 127.0.0.1, [::1] or localhost for
// development; no user information, no fragment, no white space or control
// characters. Return URLs are compared exactly, byte for byte.
func ValidRedirectURI(u string) bool {
	if u == "" || len(u) > MaxRedirectURILength {
		return false
	}
	for _, r := range u {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	p, err := url.Parse(u)
	if err != nil || p.Opaque != "" || p.User != nil || p.Fragment != "" || strings.Contains(u, "#") || p.Host == "" {
		return false
	}
	switch p.Scheme {
	case "https":
		return true
	case "http":
		h := p.Hostname()
		return h == "127.0.0.1" || h == "::1" || h == "localhost"
	}
	return false
}

// SetClientDisabled disables or re-enables a client.
func (s *Store) SetClientDisabled(ctx context.Context, id string, disabled bool) error {
	res, err := s.db.ExecContext(ctx, `UPDATE clients SET disabled = $2 WHERE id = $1`, id, disabled)
	if err := affectedOne(res, err); err != nil {
		if errors.Is(err, ErrNotFound) {
			return err
		}
		return fmt.Errorf("store: disable client: %w", err)
	}
	return nil
}

// VerifyClientSecret checks a client's credentials and returns the client.
// The secret is compared in constant time, and an unknown client costs the
// same hash computation as a known one. Unknown, disabled and wrong-secret
// all return ErrInvalidCredentials.
func (s *Store) VerifyClientSecret(ctx context.Context, id, secret string) (Client, error) {
	c, hash, err := s.getClient(ctx, id)
	if errors.Is(err, ErrNotFound) {
		hash = dummyHash()
	} else if err != nil {
		return Client{}, err
	}
	ok, verr := verifySecret(hash, secret)
	if err != nil || verr != nil || !ok || c.Disabled {
		return Client{}, ErrInvalidCredentials
	}
	return c, nil
}

// dummyHash is verified against when the client does not exist, so that the
// response time does not reveal which client ids exist.
// It is computed on first use, not at start-up.
var dummyHash = sync.OnceValue(func() string {
	h, err := hashSecret("not a secret anyone holds")
	if err != nil {
		// crypto/rand does not fail on supported platforms; an
		// unparsable hash still makes verification fail.
		return ""
	}
	return h
})

// hashSecret returns the PHC string of secret under a fresh random salt:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>, base64 without padding.
func hashSecret(secret string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("store: read random salt: %w", err)
	}
	key := argon2.IDKey([]byte(secret), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// verifySecret checks secret against a PHC string made by hashSecret,
// using the parameters recorded in it (bounded, so a corrupt row cannot make
// the gateway allocate without limit).
func verifySecret(phc, secret string) (bool, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, errors.New("store: stored secret hash is malformed")
	}
	var version int
	var memory, iterations uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errors.New("store: stored secret hash has an unsupported version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &iterations, &threads); err != nil ||
		memory < 8 || memory > 1<<20 || iterations < 1 || iterations > 16 || threads < 1 {
		return false, errors.New("store: stored secret hash has bad parameters")
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) < 16 || len(want) > 64 {
		return false, errors.New("store: stored secret hash is malformed")
	}
	got := argon2.IDKey([]byte(secret), salt, iterations, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
