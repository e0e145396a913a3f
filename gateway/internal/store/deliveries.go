package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Delivery is the provider's receipt of one delivery of data: the
// off-ledger twin of an access on the ledger, kept so that a retried
// request is answered from it instead of recording a second access.
type Delivery struct {
	AccessID        string
	AuthorizationID string
	RequesterMSP    string
	Digest          string // hex SHA-256 of the salt and exactly the bytes delivered
	// DigestSalt is the delivery's salt, sealed to the requester with the
	// bytes: 32 random bytes, so the digest on the ledger cannot be
	// recomputed from a guess of the bytes. nil for receipts stored before.
	DigestSalt []byte
	CreatedAt  time.Time
	TxID       string // the access transaction; "" until committed
}

// RecordDelivery stores the receipt d before its access is submitted to the
// ledger; d.CreatedAt is set to the current time. If a receipt with the
// same access id exists, it is returned with created = false and nothing is
// written: the caller is retrying and must reuse that receipt (and, if its
// TxID is empty, find out from the ledger whether the access committed)
// rather than record a new access.
func (s *Store) RecordDelivery(ctx context.Context, d Delivery) (stored Delivery, created bool, err error) {
	if d.AccessID == "" || d.AuthorizationID == "" || d.RequesterMSP == "" || len(d.Digest) != 64 || len(d.DigestSalt) != 32 {
		return Delivery{}, false, fmt.Errorf("%w: a delivery needs an access id, authorisation, requester, a hex digest and a 32-byte salt", ErrInvalidArgument)
	}
	d.CreatedAt = s.now().UTC().Truncate(time.Microsecond)
	var txID any
	if d.TxID != "" {
		txID = d.TxID
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO deliveries (access_id, authorization_id, requester_msp, digest, digest_salt, created_at, tx_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (access_id) DO NOTHING`,
		d.AccessID, d.AuthorizationID, d.RequesterMSP, d.Digest, d.DigestSalt, s.d.ts(d.CreatedAt), txID)
	if err != nil {
		return Delivery{}, false, fmt.Errorf("store: record delivery: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return Delivery{}, false, fmt.Errorf("store: record delivery: %w", err)
	} else if n == 1 {
		return d, true, nil
	}
	stored, err = s.DeliveryByAccessID(ctx, d.AccessID)
	return stored, false, err
}

// SetDeliveryTxID records the transaction that committed a delivery's
// access. Setting the same id again is a no-op; another id is an error.
func (s *Store) SetDeliveryTxID(ctx context.Context, accessID, txID string) error {
	if txID == "" {
		return fmt.Errorf("%w: transaction id required", ErrInvalidArgument)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE deliveries SET tx_id = $2
		WHERE access_id = $1 AND (tx_id IS NULL OR tx_id = $2)`, accessID, txID)
	if err := affectedOne(res, err); err != nil {
		if !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("store: set delivery transaction: %w", err)
		}
		if _, gerr := s.DeliveryByAccessID(ctx, accessID); gerr != nil {
			return gerr
		}
		return fmt.Errorf("%w: delivery already committed by another transaction", ErrExists)
	}
	return nil
}

// DeliveryByAccessID returns the receipt of an access, or ErrNotFound.
func (s *Store) DeliveryByAccessID(ctx context.Context, accessID string) (Delivery, error) {
	var d Delivery
	var txID sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT access_id, authorization_id, requester_msp, digest, digest_salt, created_at, tx_id
		FROM deliveries WHERE access_id = $1`, accessID).
		Scan(&d.AccessID, &d.AuthorizationID, &d.RequesterMSP, &d.Digest, &d.DigestSalt, scanTime(&d.CreatedAt), &txID)
	if errors.Is(err, sql.ErrNoRows) {
		return Delivery{}, ErrNotFound
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("store: get delivery: %w", err)
	}
	d.TxID = txID.String
	return d, nil
}
