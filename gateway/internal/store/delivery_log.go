package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// The delivery log: what a gateway keeps of the deliveries it took part
// in, listed by time for an auditor to hold against the ledger's accesses.
// The operator's gateway lists its receipts (the deliveries table); a
// requester's gateway lists the answered data requests it kept (idempotency
// keys whose response is kept for a replayer). Both list oldest first, a
// page at a time, resuming after the last row of the previous page.

// MaxDeliveryLogPage bounds a page of the delivery log.
const MaxDeliveryLogPage = 1000

// DeliveryLogQuery selects a page of a delivery log by time.
type DeliveryLogQuery struct {
	// Since and Until bound the row's time, inclusive; zero leaves that
	// side open.
	Since, Until time.Time
	// After is the position of the last row of the previous page; zero
	// for the first page.
	After LogPosition
	// Limit bounds the page: 1 to MaxDeliveryLogPage.
	Limit int
}

// LogPosition is a row's place in a delivery log: its time, then its key.
type LogPosition struct {
	At  time.Time
	Key string
}

func (q DeliveryLogQuery) check() error {
	if q.Limit < 1 || q.Limit > MaxDeliveryLogPage {
		return fmt.Errorf("%w: a delivery log page holds 1–%d rows", ErrInvalidArgument, MaxDeliveryLogPage)
	}
	return nil
}

// where builds the time and position conditions on the columns at and key,
// appending the arguments to args.
func (s *Store) where(q DeliveryLogQuery, at, key string, args []any) ([]string, []any) {
	var conds []string
	if !q.Since.IsZero() {
		args = append(args, s.d.ts(q.Since))
		conds = append(conds, fmt.Sprintf("%s >= $%d", at, len(args)))
	}
	if !q.Until.IsZero() {
		args = append(args, s.d.ts(q.Until))
		conds = append(conds, fmt.Sprintf("%s <= $%d", at, len(args)))
	}
	if !q.After.At.IsZero() {
		args = append(args, s.d.ts(q.After.At), q.After.Key)
		conds = append(conds, fmt.Sprintf("(%s > $%d OR (%s = $%d AND %s > $%d))", at, len(args)-1, at, len(args)-1, key, len(args)))
	}
	return conds, args
}

// Deliveries returns a page of the provider's delivery receipts by the
// time each was recorded (just before its access was submitted), then by
// access id. A receipt's position is its CreatedAt and AccessID.
func (s *Store) Deliveries(ctx context.Context, q DeliveryLogQuery) ([]Delivery, error) {
	if err := q.check(); err != nil {
		return nil, err
	}
	conds, args := s.where(q, "created_at", "access_id", nil)
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	args = append(args, q.Limit)
	rows, err := s.db.QueryContext(ctx, `SELECT access_id, authorization_id, requester_msp, digest, digest_salt, created_at, tx_id
		FROM deliveries`+where+fmt.Sprintf(` ORDER BY created_at, access_id LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list deliveries: %w", err)
	}
	defer rows.Close()
	list := []Delivery{}
	for rows.Next() {
		var d Delivery
		var txID sql.NullString
		if err := rows.Scan(&d.AccessID, &d.AuthorizationID, &d.RequesterMSP, &d.Digest, &d.DigestSalt, scanTime(&d.CreatedAt), &txID); err != nil {
			return nil, fmt.Errorf("store: list deliveries: %w", err)
		}
		d.TxID = txID.String
		list = append(list, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list deliveries: %w", err)
	}
	return list, nil
}

// KeptResponse is an answered request whose response is kept for a
// replayer: for a data request, the provider's delivery still sealed to
// the gateway's key.
type KeptResponse struct {
	// Position is the row's place in the log: its completion time, then
	// its principal and key.
	Position    LogPosition
	CompletedAt time.Time
	Body        []byte
}

// KeptResponses returns a page of the completed requests kept for the
// replayer replayWith, by completion time, then principal and key.
// Requests kept only while their idempotency key lives: PurgeIdempotency
// ends them.
func (s *Store) KeptResponses(ctx context.Context, replayWith string, q DeliveryLogQuery) ([]KeptResponse, error) {
	if err := q.check(); err != nil {
		return nil, err
	}
	if replayWith == "" {
		return nil, fmt.Errorf("%w: kept responses are listed for a replayer", ErrInvalidArgument)
	}
	const key = "(client_id || ' ' || idem_key)"
	conds, args := s.where(q, "completed_at", key, []any{replayWith})
	conds = append([]string{"status = 'done'", "replay_with = $1"}, conds...)
	args = append(args, q.Limit)
	rows, err := s.db.QueryContext(ctx, `SELECT completed_at, `+key+`, response_body FROM idempotency
		WHERE `+strings.Join(conds, " AND ")+fmt.Sprintf(` ORDER BY completed_at, %s LIMIT $%d`, key, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list kept responses: %w", err)
	}
	defer rows.Close()
	list := []KeptResponse{}
	for rows.Next() {
		var k KeptResponse
		if err := rows.Scan(scanTime(&k.CompletedAt), &k.Position.Key, &k.Body); err != nil {
			return nil, fmt.Errorf("store: list kept responses: %w", err)
		}
		k.Position.At = k.CompletedAt
		list = append(list, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list kept responses: %w", err)
	}
	return list, nil
}
