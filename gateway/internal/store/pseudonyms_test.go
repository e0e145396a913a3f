package store

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestPseudonymLookups: a recorded lookup maps its requester's pairwise ref
// back to the vault ref, and only for that requester; the citizen's
// lookups come newest first, limited, and name requester, purpose,
// authorisation and time.
func TestPseudonymLookups(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		vault, other := strings.Repeat("a1", 32), strings.Repeat("b2", 32)
		bankRef, insurerRef := strings.Repeat("c3", 32), strings.Repeat("d4", 32)
		t0 := time.Date(2026, 11, 2, 9, 0, 0, 123456789, time.UTC)
		for i, l := range []PseudonymLookup{
			{RequesterMSP: "BankMSP", PairwiseRef: bankRef, VaultRef: vault, Purpose: "CREDIT_ASSESSMENT", AuthorizationID: "auth-1", LookedUpAt: t0},
			{RequesterMSP: "InsurerMSP", PairwiseRef: insurerRef, VaultRef: vault, Purpose: "CLAIM_SETTLEMENT", AuthorizationID: "auth-2", LookedUpAt: t0.Add(time.Minute)},
			{RequesterMSP: "BankMSP", PairwiseRef: strings.Repeat("e5", 32), VaultRef: other, Purpose: "CREDIT_ASSESSMENT", AuthorizationID: "auth-3", LookedUpAt: t0.Add(2 * time.Minute)},
		} {
			if _, err := s.RecordPseudonymLookup(ctx, l); err != nil {
				t.Fatalf("lookup %d: %v", i, err)
			}
		}

		for _, tc := range []struct {
			msp, pairwise, want string
			err                 error
		}{
			{"BankMSP", bankRef, vault, nil},
			{"InsurerMSP", insurerRef, vault, nil},
			{"InsurerMSP", bankRef, "", ErrNotFound}, // another requester's ref names no one
			{"BankMSP", vault, "", ErrNotFound},      // nor does the vault ref itself
		} {
			got, err := s.VaultRefFor(ctx, tc.msp, tc.pairwise)
			if got != tc.want || !errors.Is(err, tc.err) {
				t.Errorf("VaultRefFor(%s, %.8s…) = %q, %v; want %q, %v", tc.msp, tc.pairwise, got, err, tc.want, tc.err)
			}
		}

		got, err := s.PseudonymLookups(ctx, vault, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("%d lookups of the citizen, want 2: %+v", len(got), got)
		}
		first := got[0]
		if first.RequesterMSP != "InsurerMSP" || first.Purpose != "CLAIM_SETTLEMENT" || first.AuthorizationID != "auth-2" ||
			first.PairwiseRef != insurerRef || first.VaultRef != vault || !first.LookedUpAt.Equal(t0.Add(time.Minute).Truncate(time.Microsecond)) {
			t.Errorf("newest lookup %+v", first)
		}
		if got[1].RequesterMSP != "BankMSP" || got[1].AuthorizationID != "auth-1" {
			t.Errorf("older lookup %+v", got[1])
		}
		if one, err := s.PseudonymLookups(ctx, vault, 1); err != nil || len(one) != 1 || one[0].AuthorizationID != "auth-2" {
			t.Errorf("limit 1: %+v, %v", one, err)
		}
		if none, err := s.PseudonymLookups(ctx, strings.Repeat("f6", 32), 10); err != nil || len(none) != 0 {
			t.Errorf("a citizen never looked up: %+v, %v", none, err)
		}
		if _, err := s.PseudonymLookups(ctx, vault, 0); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("limit 0: %v", err)
		}
		if _, err := s.RecordPseudonymLookup(ctx, PseudonymLookup{RequesterMSP: "BankMSP", PairwiseRef: bankRef, VaultRef: vault}); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("a lookup without purpose was stored: %v", err)
		}
	})
}
