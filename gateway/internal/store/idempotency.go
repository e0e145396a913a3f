package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Idempotency errors. A handler answers ErrIdempotencyMismatch with 422 and
// ErrIdempotencyInFlight with 409 (retry later).
var (
	// ErrIdempotencyMismatch reports a key reused with a different request.
	ErrIdempotencyMismatch = errors.New("store: idempotency key reused with a different request")
	// ErrIdempotencyInFlight reports a key whose first request is still
	// being processed.
	ErrIdempotencyInFlight = errors.New("store: idempotency key in flight")
)

// PendingTimeout is how long a started request may stay pending before a
// retry with the same key and request takes it over, unless
// SetPendingTimeout says otherwise. It covers a gateway that crashed
// between BeginIdempotent and CompleteIdempotent: the handler must
// therefore be safe to run again for the same key — for a data delivery,
// the access id is derived from the key, so the ledger refuses a second
// access with the same id.
const PendingTimeout = 2 * time.Minute

// SetPendingTimeout sets how long a started request may stay pending
// before a retry takes its key over: a little longer than the longest a
// handler may run (the gateway's request timeout), after which the first
// attempt has either finished or been cancelled.
func (s *Store) SetPendingTimeout(d time.Duration) {
	if d > 0 {
		s.pendingTimeout = d
	}
}

// Idempotency statuses.
const (
	IdemPending = "pending"
	IdemDone    = "done"
)

// IdemRecord is the stored state of one idempotency key.
//
// ResponseBody must not hold personal data in the clear. A response that
// carries it is kept in another form (ReplayWith names the replayer that
// rebuilds the response from it): for a data request, the provider's
// delivery as it arrived, sealed to the gateway's key.
type IdemRecord struct {
	ClientID       string // the principal: an API client id or a citizenRef
	Key            string
	RequestHash    string // hash of the canonical request, chosen by the caller
	Status         string // IdemPending or IdemDone
	ResponseStatus int
	ResponseBody   []byte
	// ReplayWith is "" for a response replayed byte for byte, or the name
	// of the replayer that rebuilds the response from ResponseBody.
	ReplayWith  string
	CreatedAt   time.Time
	CompletedAt time.Time // zero while pending
}

// MaxIdempotencyKeyLength bounds client-chosen keys.
const MaxIdempotencyKeyLength = 255

// BeginIdempotent claims (clientID, key) for a request whose hash is
// requestHash. It returns
//
//   - started = true and no record if this call claimed the key: run the
//     request, then call CompleteIdempotent (or ReleaseIdempotent if it
//     failed without effect);
//   - the record, started = false, nil error if the key is done with the
//     same request hash: replay the stored response;
//   - the record and ErrIdempotencyInFlight if the same request is still
//     pending (less than the pending timeout ago);
//   - ErrIdempotencyMismatch if the key was used for another request.
//
// The claim is a single INSERT … ON CONFLICT DO NOTHING (or, for a stale
// pending key, a conditional UPDATE), so of two concurrent requests with the
// same key exactly one starts.
func (s *Store) BeginIdempotent(ctx context.Context, clientID, key, requestHash string) (existing *IdemRecord, started bool, err error) {
	if clientID == "" || key == "" || len(key) > MaxIdempotencyKeyLength || requestHash == "" {
		return nil, false, fmt.Errorf("%w: idempotency key must be 1–%d bytes, with a principal and a request hash", ErrInvalidArgument, MaxIdempotencyKeyLength)
	}
	now := s.now()
	res, err := s.db.ExecContext(ctx, `INSERT INTO idempotency
		(client_id, idem_key, request_hash, status, created_at, started_at)
		VALUES ($1, $2, $3, 'pending', $4, $4)
		ON CONFLICT (client_id, idem_key) DO NOTHING`,
		clientID, key, requestHash, s.d.ts(now))
	if err != nil {
		return nil, false, fmt.Errorf("store: begin idempotent request: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, false, fmt.Errorf("store: begin idempotent request: %w", err)
	} else if n == 1 {
		return nil, true, nil
	}

	rec, err := s.getIdempotent(ctx, clientID, key)
	if err != nil {
		return nil, false, err
	}
	if rec.RequestHash != requestHash {
		return nil, false, ErrIdempotencyMismatch
	}
	if rec.Status == IdemDone {
		return rec, false, nil
	}
	// Pending: take it over if its attempt is stale. The conditions make
	// the UPDATE a compare-and-swap, so only one retry wins.
	res, err = s.db.ExecContext(ctx, `UPDATE idempotency SET started_at = $3
		WHERE client_id = $1 AND idem_key = $2 AND status = 'pending' AND started_at <= $4`,
		clientID, key, s.d.ts(now), s.d.ts(now.Add(-s.pendingTimeout)))
	if err != nil {
		return nil, false, fmt.Errorf("store: take over idempotent request: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		return nil, true, nil
	}
	return rec, false, ErrIdempotencyInFlight
}

func (s *Store) getIdempotent(ctx context.Context, clientID, key string) (*IdemRecord, error) {
	rec := &IdemRecord{ClientID: clientID, Key: key}
	var status sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT request_hash, status, response_status, response_body, replay_with,
		created_at, completed_at
		FROM idempotency WHERE client_id = $1 AND idem_key = $2`, clientID, key).
		Scan(&rec.RequestHash, &rec.Status, &status, &rec.ResponseBody, &rec.ReplayWith,
			scanTime(&rec.CreatedAt), scanTime(&rec.CompletedAt))
	if errors.Is(err, sql.ErrNoRows) {
		// Released between our INSERT and this read.
		return nil, ErrIdempotencyInFlight
	}
	if err != nil {
		return nil, fmt.Errorf("store: read idempotency key: %w", err)
	}
	rec.ResponseStatus = int(status.Int64)
	return rec, nil
}

// CompleteIdempotent stores the response of a started request; later
// BeginIdempotent calls with the same key replay it byte for byte. It
// returns ErrNotFound if the key is not pending.
func (s *Store) CompleteIdempotent(ctx context.Context, clientID, key string, status int, body []byte) error {
	return s.CompleteIdempotentWith(ctx, clientID, key, status, body, "")
}

// CompleteIdempotentWith is CompleteIdempotent for a response kept in
// another form: body is what replayWith, a replayer of the caller's,
// rebuilds the response from ("" replays body byte for byte).
func (s *Store) CompleteIdempotentWith(ctx context.Context, clientID, key string, status int, body []byte, replayWith string) error {
	if body == nil {
		body = []byte{}
	}
	res, err := s.db.ExecContext(ctx, `UPDATE idempotency
		SET status = 'done', response_status = $3, response_body = $4, replay_with = $5, completed_at = $6
		WHERE client_id = $1 AND idem_key = $2 AND status = 'pending'`,
		clientID, key, status, body, replayWith, s.d.ts(s.now()))
	if err := affectedOne(res, err); err != nil {
		if errors.Is(err, ErrNotFound) {
			return err
		}
		return fmt.Errorf("store: complete idempotent request: %w", err)
	}
	return nil
}

// ReleaseIdempotent forgets a pending key whose request failed without
// effect, so that the client may retry it at once.
func (s *Store) ReleaseIdempotent(ctx context.Context, clientID, key string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM idempotency
		WHERE client_id = $1 AND idem_key = $2 AND status = 'pending'`, clientID, key)
	if err != nil {
		return fmt.Errorf("store: release idempotency key: %w", err)
	}
	return nil
}

// PurgeIdempotency deletes the keys created before t, and so ends their
// replays, and returns how many it deleted. A key whose current attempt
// began at t or later is kept until that attempt is over, so that its
// response is not lost. Gateways call it with now minus the keys'
// lifetime, every few minutes.
func (s *Store) PurgeIdempotency(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM idempotency WHERE created_at < $1 AND started_at < $1`, s.d.ts(before))
	if err != nil {
		return 0, fmt.Errorf("store: purge idempotency keys: %w", err)
	}
	return res.RowsAffected()
}
