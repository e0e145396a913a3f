package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// PseudonymLookup is one answer of the operator's pseudonym service: a
// requester turned a citizen's ID number into the pairwise ref it knows the
// citizen by, for one purpose and authorisation. The ID number itself is
// never stored.
type PseudonymLookup struct {
	RequesterMSP    string
	PairwiseRef     string // the ref the requester received, 64 hex
	VaultRef        string // the operator's own ref of the citizen, 64 hex
	Purpose         string
	AuthorizationID string
	LookedUpAt      time.Time
}

// MaxPseudonymLookups is the most lookups PseudonymLookups returns at once.
const MaxPseudonymLookups = 1000

// RecordPseudonymLookup stores one lookup. A zero LookedUpAt is set to the
// current time; the stored lookup is returned.
func (s *Store) RecordPseudonymLookup(ctx context.Context, l PseudonymLookup) (PseudonymLookup, error) {
	if l.RequesterMSP == "" || len(l.PairwiseRef) != 64 || len(l.VaultRef) != 64 || l.Purpose == "" || l.AuthorizationID == "" {
		return PseudonymLookup{}, fmt.Errorf("%w: a lookup needs a requester, both refs, a purpose and an authorisation id", ErrInvalidArgument)
	}
	if l.LookedUpAt.IsZero() {
		l.LookedUpAt = s.now()
	}
	l.LookedUpAt = l.LookedUpAt.UTC().Truncate(time.Microsecond)
	_, err := s.db.ExecContext(ctx, `INSERT INTO pseudonym_lookups
		(requester_msp, pairwise_ref, vault_ref, purpose, authorization_id, looked_up_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		l.RequesterMSP, l.PairwiseRef, l.VaultRef, l.Purpose, l.AuthorizationID, s.d.ts(l.LookedUpAt))
	if err != nil {
		return PseudonymLookup{}, fmt.Errorf("store: record pseudonym lookup: %w", err)
	}
	return l, nil
}

// VaultRefFor returns the vault ref behind the pairwise ref that the
// pseudonym service gave requesterMSP: how the provider finds the citizen
// of an authorisation in the digital safe. It returns ErrNotFound if the
// service never gave requesterMSP that ref.
func (s *Store) VaultRefFor(ctx context.Context, requesterMSP, pairwiseRef string) (string, error) {
	var ref string
	err := s.db.QueryRowContext(ctx, `SELECT vault_ref FROM pseudonym_lookups
		WHERE requester_msp = $1 AND pairwise_ref = $2 LIMIT 1`, requesterMSP, pairwiseRef).Scan(&ref)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: find vault ref: %w", err)
	}
	return ref, nil
}

// PseudonymLookups returns the latest lookups of the citizen with vault
// ref vaultRef, newest first, at most limit (1–MaxPseudonymLookups).
func (s *Store) PseudonymLookups(ctx context.Context, vaultRef string, limit int) ([]PseudonymLookup, error) {
	if limit < 1 || limit > MaxPseudonymLookups {
		return nil, fmt.Errorf("%w: limit must be 1–%d", ErrInvalidArgument, MaxPseudonymLookups)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT requester_msp, pairwise_ref, vault_ref, purpose, authorization_id, looked_up_at
		FROM pseudonym_lookups WHERE vault_ref = $1
		ORDER BY looked_up_at DESC, id DESC LIMIT $2`, vaultRef, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list pseudonym lookups: %w", err)
	}
	defer rows.Close()
	var out []PseudonymLookup
	for rows.Next() {
		var l PseudonymLookup
		if err := rows.Scan(&l.RequesterMSP, &l.PairwiseRef, &l.VaultRef, &l.Purpose, &l.AuthorizationID, scanTime(&l.LookedUpAt)); err != nil {
			return nil, fmt.Errorf("store: list pseudonym lookups: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list pseudonym lookups: %w", err)
	}
	return out, nil
}
