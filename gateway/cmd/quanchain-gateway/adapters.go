package main

import (
	"context"
	"errors"

	"github.com/quanchain/quanchain/gateway/internal/httpapi"
	"github.com/quanchain/quanchain/gateway/internal/store"
)

// storeAdapter gives the HTTP API the store's clients and idempotency keys
// through the API's own small interfaces.
type storeAdapter struct{ s *store.Store }

// AuthenticateClient implements httpapi.ClientAuthenticator.
func (a storeAdapter) AuthenticateClient(ctx context.Context, id, secret string) (httpapi.APIClient, error) {
	c, err := a.s.VerifyClientSecret(ctx, id, secret)
	if errors.Is(err, store.ErrInvalidCredentials) {
		return httpapi.APIClient{}, httpapi.ErrInvalidClient
	}
	if err != nil {
		return httpapi.APIClient{}, err
	}
	return httpapi.APIClient{ID: c.ID, MSPID: c.OrgMSP, Scopes: c.Scopes}, nil
}

// RedirectURIs implements httpapi.RedirectURIStore.
func (a storeAdapter) RedirectURIs(ctx context.Context, clientID string) ([]string, error) {
	c, err := a.s.GetClient(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return c.RedirectURIs, nil
}

// Begin implements httpapi.IdempotencyStore.
func (a storeAdapter) Begin(ctx context.Context, principal, key, hash string) (*httpapi.StoredResponse, bool, error) {
	rec, started, err := a.s.BeginIdempotent(ctx, principal, key, hash)
	switch {
	case errors.Is(err, store.ErrIdempotencyMismatch):
		return nil, false, httpapi.ErrIdempotencyKeyReused
	case errors.Is(err, store.ErrIdempotencyInFlight):
		return nil, false, httpapi.ErrIdempotencyInFlight
	case err != nil:
		return nil, false, err
	case started:
		return nil, true, nil
	}
	return &httpapi.StoredResponse{Status: rec.ResponseStatus, Body: rec.ResponseBody, ReplayWith: rec.ReplayWith}, false, nil
}

// Complete implements httpapi.IdempotencyStore.
func (a storeAdapter) Complete(ctx context.Context, principal, key string, resp httpapi.StoredResponse) error {
	return a.s.CompleteIdempotentWith(ctx, principal, key, resp.Status, resp.Body, resp.ReplayWith)
}

// Release implements httpapi.IdempotencyStore.
func (a storeAdapter) Release(ctx context.Context, principal, key string) error {
	return a.s.ReleaseIdempotent(ctx, principal, key)
}
