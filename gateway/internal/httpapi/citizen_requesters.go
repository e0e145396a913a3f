package httpapi

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/ledger"
)

// A citizen's records lie in the private collection of each requester
// (docs/privacy.md), under the citizenRef that requester knows them by,
// so the citizen API reads and writes each requester's collection and
// merges what it finds.

// requesters returns the MSP IDs of the institutions that may request
// authorisations, sorted, from a cache of the registry.
func (c *CitizenAPI) requesters(ctx context.Context) ([]string, error) {
	return c.requesterList.Get(ctx, "")
}

// refFor is the citizenRef requester knows the caller (token subject
// ref) by.
func (c *CitizenAPI) refFor(requester, ref string) string {
	if c.cfg.RefFor == nil {
		return ref
	}
	return c.cfg.RefFor(requester, ref)
}

// allOf collects one listing from every requester's collection.
func allOf[T any](ctx context.Context, c *CitizenAPI, ref string, q ledger.ListQuery,
	list func(ctx context.Context, requester, ref string, q ledger.ListQuery) (*model.Page[T], error)) ([]T, error) {
	reqs, err := c.requesters(ctx)
	if err != nil {
		return nil, err
	}
	var out []T
	for _, req := range reqs {
		q := q
		q.Bookmark = ""
		items, err := ledger.All(ctx, q, func(ctx context.Context, q ledger.ListQuery) (*model.Page[T], error) {
			return list(ctx, req, c.refFor(req, ref), q)
		})
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
	}
	return out, nil
}

// pageOf cuts one page out of a merged listing: the cursor is the offset
// of its first item.
func pageOf[T any](items []T, q ledger.ListQuery) ([]T, string, error) {
	start := 0
	if q.Bookmark != "" {
		b, err := base64.RawURLEncoding.DecodeString(q.Bookmark)
		n, perr := strconv.Atoi(strings.TrimPrefix(string(b), "o:"))
		if err != nil || perr != nil || !strings.HasPrefix(string(b), "o:") || n < 0 || n > len(items) {
			return nil, "", apiErr(400, CodeInvalidArgument, "cursor is not valid")
		}
		start = n
	}
	size := int(q.PageSize)
	if size <= 0 {
		size = 20
	}
	end := min(start+size, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(end)))
	}
	return items[start:end], next, nil
}

// keysOf merges the caller's device keys from every requester's
// collection: a key revoked in any is revoked.
func (c *CitizenAPI) keysOf(ctx context.Context, ref string) ([]model.DeviceKey, error) {
	reqs, err := c.requesters(ctx)
	if err != nil {
		return nil, err
	}
	var out []model.DeviceKey
	at := map[string]int{}
	for _, req := range reqs {
		cit, err := c.cfg.Ledger.GetCitizen(ctx, req, c.refFor(req, ref))
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

// enrolIn enrols the caller's key jwk, named name, in requester's
// collection; a key already there is left as it is.
func (c *CitizenAPI) enrolIn(ctx context.Context, requester, ref, jwk, name string) (string, error) {
	kid, err := c.cfg.Ledger.AddCitizenKey(ctx, requester, c.refFor(requester, ref), jwk, name)
	if ledger.CodeOf(err) == model.CodeAlreadyExists {
		return "", nil
	}
	return kid, err
}

// ensureKeyIn enrols an active key the caller holds in another
// requester's collection into requester's (a requester registered after
// the device was enrolled). It reports whether it enrolled it.
func (c *CitizenAPI) ensureKeyIn(ctx context.Context, requester, ref, kid string) (bool, error) {
	keys, err := c.keysOf(ctx, ref)
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
