package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Login challenge errors. A handler should answer all of them alike (401),
// so that a caller learns nothing about other people's challenges.
var (
	// ErrChallengeFailed reports a wrong code; attempts remain.
	ErrChallengeFailed = errors.New("store: login code does not match")
	// ErrChallengeGone reports an unknown, expired, used-up or already
	// used challenge.
	ErrChallengeGone = errors.New("store: login challenge unknown, expired or used up")
)

// MaxLoginAttempts is how many codes may be tried against one challenge.
const MaxLoginAttempts = 5

// CreateLoginChallenge stores a one-time login code for a citizen, valid
// until expiresAt, and returns the challenge id to hand to the client. Only
// the citizenRef and a hash of the code are kept — never the ID number,
// name or phone the citizen logged in with.
//
// The code hash is SHA-256 over the challenge id and the code: a short code
// could be found from its hash offline, so the protection is the short life
// and the attempt limit, and the hash only keeps codes out of plain sight.
func (s *Store) CreateLoginChallenge(ctx context.Context, citizenRef, code string, expiresAt time.Time) (id string, err error) {
	if len(citizenRef) != 64 || code == "" {
		return "", fmt.Errorf("%w: a challenge needs a citizenRef and a code", ErrInvalidArgument)
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("store: read random challenge id: %w", err)
	}
	id = hex.EncodeToString(raw[:])
	_, err = s.db.ExecContext(ctx, `INSERT INTO login_challenges (id, citizen_ref, code_hash, expires_at, attempts, created_at)
		VALUES ($1, $2, $3, $4, 0, $5)`, id, citizenRef, codeHash(id, code), s.d.ts(expiresAt), s.d.ts(s.now()))
	if err != nil {
		return "", fmt.Errorf("store: create login challenge: %w", err)
	}
	return id, nil
}

func codeHash(id, code string) string {
	sum := sha256.Sum256([]byte("quanchain-login\x00" + id + "\x00" + code))
	return hex.EncodeToString(sum[:])
}

// VerifyLoginChallenge checks code against challenge id at time now and
// returns the citizenRef it was issued for. A matching code consumes the
// challenge. Each call counts an attempt first, atomically, so concurrent
// guesses cannot exceed MaxLoginAttempts. It returns ErrChallengeFailed for
// a wrong code and ErrChallengeGone once the challenge is unknown, expired,
// out of attempts or used.
func (s *Store) VerifyLoginChallenge(ctx context.Context, id, code string, now time.Time) (citizenRef string, err error) {
	var stored string
	err = s.db.QueryRowContext(ctx, `UPDATE login_challenges SET attempts = attempts + 1
		WHERE id = $1 AND attempts < $2 AND expires_at > $3
		RETURNING citizen_ref, code_hash`, id, MaxLoginAttempts, s.d.ts(now)).Scan(&citizenRef, &stored)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrChallengeGone
	}
	if err != nil {
		return "", fmt.Errorf("store: verify login challenge: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(codeHash(id, code)), []byte(stored)) != 1 {
		return "", ErrChallengeFailed
	}
	// Consume it; of two correct concurrent answers only one deletes it.
	res, err := s.db.ExecContext(ctx, `DELETE FROM login_challenges WHERE id = $1`, id)
	if err := affectedOne(res, err); err != nil {
		if errors.Is(err, ErrNotFound) {
			return "", ErrChallengeGone
		}
		return "", fmt.Errorf("store: consume login challenge: %w", err)
	}
	return citizenRef, nil
}

// LoginChallengeRef returns the citizenRef of a challenge that can still
// be answered at now (known, unexpired, attempts left), so that a caller
// can count a code attempt against the citizen before checking the code;
// ErrChallengeGone otherwise.
func (s *Store) LoginChallengeRef(ctx context.Context, id string, now time.Time) (string, error) {
	var ref string
	err := s.db.QueryRowContext(ctx, `SELECT citizen_ref FROM login_challenges
		WHERE id = $1 AND attempts < $2 AND expires_at > $3`, id, MaxLoginAttempts, s.d.ts(now)).Scan(&ref)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrChallengeGone
	}
	if err != nil {
		return "", fmt.Errorf("store: read login challenge: %w", err)
	}
	return ref, nil
}

// PurgeLoginChallenges deletes challenges expired at now and returns how
// many.
func (s *Store) PurgeLoginChallenges(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM login_challenges WHERE expires_at <= $1`, s.d.ts(now))
	if err != nil {
		return 0, fmt.Errorf("store: purge login challenges: %w", err)
	}
	return res.RowsAffected()
}
