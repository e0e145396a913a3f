// Package citizens is a citizen's records as the operator's gateway sees
// them: they lie in the private collection of each requester
// (docs/privacy.md), under the citizenRef that requester knows the citizen
// by, so the citizen API reads and writes each requester's collection and
// merges what it finds. Collections does that, over the typed ledger
// client; the requesting institutions come from a cache of the registry.
package citizens

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/expiring"
	"github.com/quanchain/quanchain/ledger"
)

// Ledger is what Collections reads and writes; *ledger.Ledger implements
// it.
type Ledger interface {
	Requesters(ctx context.Context) ([]string, error)
	GetCitizen(ctx context.Context, requester, citizenRef string) (*model.Citizen, error)
	AddCitizenKey(ctx context.Context, in model.CitizenKeyInput) (string, error)
	RevokeCitizenKey(ctx context.Context, requester, citizenRef, keyID string) error
}

// ErrNoKey reports a key revocation that found no collection to revoke in.
var ErrNoKey = errors.New("citizens: no such key")

// Collections reads and writes a citizen's records in every requester's
// collection. It is safe for concurrent use.
type Collections struct {
	l          Ledger
	refFor     func(requester, ref string) string
	requesters *expiring.Cache[[]string]
	add        AddKey
}

// New returns the collections over l. refFor gives the citizenRef a
// requester knows a citizen by, from the citizen's vault ref (nil: the
// vault ref itself, for every requester); the list of requesters is kept
// for ttl.
// Keys are enrolled with add (nil: LedgerAddKey(l)).
func New(l Ledger, refFor func(requester, ref string) string, ttl time.Duration, add AddKey) *Collections {
	if refFor == nil {
		refFor = func(_, ref string) string { return ref }
	}
	if add == nil {
		add = LedgerAddKey(l)
	}
	return &Collections{l: l, refFor: refFor, add: add,
		requesters: expiring.NewCache(ttl, func(ctx context.Context, _ string) ([]string, error) { return l.Requesters(ctx) })}
}

// Requesters returns the MSP IDs of the institutions that may request
// authorisations, sorted, from a cache of the registry.
func (c *Collections) Requesters(ctx context.Context) ([]string, error) {
	return c.requesters.Get(ctx, "")
}

// RefFor is the citizenRef requester knows the citizen of vault ref ref
// by.
func (c *Collections) RefFor(requester, ref string) string { return c.refFor(requester, ref) }

// All collects one listing from every requester's collection.
func All[T any](ctx context.Context, c *Collections, ref string, q ledger.ListQuery,
	list func(ctx context.Context, requester, ref string, q ledger.ListQuery) (*model.Page[T], error)) ([]T, error) {
	reqs, err := c.Requesters(ctx)
	if err != nil {
		return nil, err
	}
	var out []T
	for _, req := range reqs {
		q := q
		q.Bookmark = ""
		items, err := ledger.All(ctx, q, func(ctx context.Context, q ledger.ListQuery) (*model.Page[T], error) {
			return list(ctx, req, c.RefFor(req, ref), q)
		})
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
	}
	return out, nil
}

// Keys merges the citizen's device keys from every requester's
// collection: a key revoked in any is revoked.
func (c *Collections) Keys(ctx context.Context, ref string) ([]model.DeviceKey, error) {
	reqs, err := c.Requesters(ctx)
	if err != nil {
		return nil, err
	}
	var out []model.DeviceKey
	at := map[string]int{}
	for _, req := range reqs {
		cit, err := c.l.GetCitizen(ctx, req, c.RefFor(req, ref))
		if ledger.CodeOf(err) == model.CodeCitizenNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, k := range cit.Keys {
			i, seen := at[k.KeyID]
			switch {
			case !seen:
				at[k.KeyID] = len(out)
				out = append(out, k)
			case k.Status == model.StatusRevoked:
				out[i] = k
			}
		}
	}
	return out, nil
}

// AddKey enrols one key in one requester's collection: in carries the
// requester, the citizenRef that requester knows the citizen by, the JWK,
// name, kind and proof.
type AddKey func(ctx context.Context, in model.CitizenKeyInput) (string, error)

// LedgerAddKey is the AddKey of the typed ledger client.
func LedgerAddKey(l Ledger) AddKey { return l.AddCitizenKey }

// NewKey is a device key to enrol and the proof that lets it in.
type NewKey struct {
	JWK, Name, Kind string
	Proof           *model.EnrolmentProof
}

// EnrolError is an enrolment that did not reach every collection: Done
// lists the requesters whose collections hold the key now, Failed the one
// that refused or failed. Enrol is idempotent, so the same enrolment
// again (with a fresh proof if this one has aged) completes it.
type EnrolError struct {
	Done   []string
	Failed string
	Err    error
}

func (e *EnrolError) Error() string {
	return fmt.Sprintf("citizens: key enrolled in %d collections, not in %s: %v", len(e.Done), e.Failed, e.Err)
}

func (e *EnrolError) Unwrap() error { return e.Err }

// Enrol enrols the citizen's key k in every requester's collection, each
// with the same proof, and reports whether any collection did not hold it
// yet. A key already in a collection counts as enrolled
// there, so a retry completes a partial enrolment.
//
// All or nothing, as far as the ledger allows: a proof the chaincode
// refuses is refused by the first collection already, before anything is
// written; a failure after that (a collection's peer unreachable) leaves
// the key in the collections before it, reported in an *EnrolError. The
// key is not rolled back there: a revoked key can never be enrolled again,
// and a device that holds it would be lost, while the key in a subset of
// the collections can only decide on those requesters' authorisations
// until the retry.
func (c *Collections) Enrol(ctx context.Context, ref string, k NewKey) (added bool, err error) {
	reqs, err := c.Requesters(ctx)
	if err != nil {
		return false, err
	}
	if len(reqs) == 0 {
		return false, errors.New("citizens: no requester's collection to enrol the key in")
	}
	var done []string
	for _, req := range reqs {
		in := model.CitizenKeyInput{Requester: req, CitizenRef: c.RefFor(req, ref), JWK: k.JWK, Name: k.Name, Kind: k.Kind, Proof: k.Proof}
		_, err := c.add(ctx, in)
		switch {
		case ledger.CodeOf(err) == model.CodeAlreadyExists:
		case err != nil:
			if len(done) == 0 {
				return false, err
			}
			return false, &EnrolError{Done: done, Failed: req, Err: err}
		default:
			added = true
		}
		done = append(done, req)
	}
	return added, nil
}

// RevokeKey revokes the citizen's key kid in every requester's collection
// that holds it. If none did, it returns the first collection's refusal
// (the key or the citizen not found there, the key revoked already), or
// ErrNoKey when there was no collection to ask; any other error at once.
func (c *Collections) RevokeKey(ctx context.Context, ref, kid string) error {
	reqs, err := c.Requesters(ctx)
	if err != nil {
		return err
	}
	var first error
	revoked := false
	for _, req := range reqs {
		err := c.l.RevokeCitizenKey(ctx, req, c.RefFor(req, ref), kid)
		switch code := ledger.CodeOf(err); {
		case err == nil:
			revoked = true
		case code == model.CodeKeyNotFound || code == model.CodeCitizenNotFound || code == model.CodeKeyRevoked:
			if first == nil {
				first = err
			}
		default:
			return err
		}
	}
	if !revoked {
		if first == nil {
			return ErrNoKey
		}
		return first
	}
	return nil
}
