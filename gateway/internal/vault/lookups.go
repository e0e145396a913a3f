package vault

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/store"
)

// LookupLog records the pseudonym service's answers; *store.Store
// implements it.
type LookupLog interface {
	RecordPseudonymLookup(ctx context.Context, l store.PseudonymLookup) (store.PseudonymLookup, error)
}

// Lookup is one question to the operator's pseudonym service: Caller asks
// for the ref ForRequester knows the citizen of IDNumber by (its own, or,
// for an auditor, the requester's it audits), for Purpose and the
// authorisation (or audit case) AuthorizationID, at At.
type Lookup struct {
	Caller, ForRequester string
	IDNumber             string
	Purpose              string
	AuthorizationID      string
	At                   time.Time
}

// ErrLookupNotRecorded reports a lookup whose record failed: it is not
// answered.
var ErrLookupNotRecorded = errors.New("vault: pseudonym lookup not recorded")

// IssueRef returns the pairwise ref l.ForRequester knows l's citizen by
// and records the lookup as l.Caller's, so that the provider finds the
// citizen of an authorisation through the record and the citizen sees who
// looked them up. Without the record there is no ref. An ID number that is
// not valid is an error wrapping one of resident's ErrID… values; a failed
// record wraps ErrLookupNotRecorded. The ID number is neither stored nor
// quoted.
func (p *Pseudonymiser) IssueRef(ctx context.Context, log LookupLog, l Lookup) (string, error) {
	vaultRef, err := p.Ref(l.IDNumber)
	if err != nil {
		return "", err
	}
	ref := p.PairwiseRef(l.ForRequester, vaultRef)
	if _, err := log.RecordPseudonymLookup(ctx, store.PseudonymLookup{
		RequesterMSP: l.Caller, PairwiseRef: ref, VaultRef: vaultRef, Purpose: l.Purpose, AuthorizationID: l.AuthorizationID,
		LookedUpAt: l.At,
	}); err != nil {
		return "", fmt.Errorf("%w: %w", ErrLookupNotRecorded, err)
	}
	return ref, nil
}
