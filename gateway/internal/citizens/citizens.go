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
	AddCitizenKey(ctx context.Context, requester, citizenRef, jwk, name string) (string, error)
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
}

// New returns the collections over l. refFor gives the citizenRef a
// requester knows a citizen by, from the citizen's vault ref (nil: the
// vault ref itself, for every requester); the list of requesters is kept
// for ttl.
func New(l Ledger, refFor func(requester, ref string) string, ttl time.Duration) *Collections {
	if refFor == nil {
		refFor = func(_, ref string) string { return ref }
	}
	return &Collections{l: l, refFor: refFor,
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

// Enrol enrols the citizen's key jwk, named name, in every requester's
// collection and returns its key id; "" if it was already in all of them.
func (c *Collections) Enrol(ctx context.Context, ref, jwk, name string) (string, error) {
	reqs, err := c.Requesters(ctx)
	if err != nil {
		return "", err
	}
	kid := ""
	for _, req := range reqs {
		k, err := c.enrolIn(ctx, req, ref, jwk, name)
		if err != nil {
			return "", err
		}
		if k != "" {
			kid = k
		}
	}
	return kid, nil
}

// enrolIn enrols the citizen's key jwk, named name, in requester's
// collection; a key already there is left as it is.
func (c *Collections) enrolIn(ctx context.Context, requester, ref, jwk, name string) (string, error) {
	kid, err := c.l.AddCitizenKey(ctx, requester, c.RefFor(requester, ref), jwk, name)
	if ledger.CodeOf(err) == model.CodeAlreadyExists {
		return "", nil
	}
	return kid, err
}

// EnsureKey enrols an active key the citizen holds in another requester's
// collection into requester's (a requester registered after the device
// was enrolled). It reports whether it enrolled it.
func (c *Collections) EnsureKey(ctx context.Context, requester, ref, kid string) (bool, error) {
	keys, err := c.Keys(ctx, ref)
	if err != nil {
		return false, err
	}
	for _, k := range keys {
		if k.KeyID == kid && k.Status == model.StatusActive {
			_, err := c.enrolIn(ctx, requester, ref, k.JWK, k.Name)
			return err == nil, err
		}
	}
	return false, nil
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
