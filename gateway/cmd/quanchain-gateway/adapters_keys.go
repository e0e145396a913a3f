package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"time"

	"github.com/quanchain/quanchain/chaincode/sig"
	"github.com/quanchain/quanchain/gateway/internal/httpapi"
	"github.com/quanchain/quanchain/gateway/internal/store"
)

// ClientPublicKey implements httpapi.ClientKeyStore.
func (a storeAdapter) ClientPublicKey(ctx context.Context, id string) (httpapi.APIClient, *ecdsa.PublicKey, error) {
	c, err := a.s.ClientKey(ctx, id)
	if errors.Is(err, store.ErrInvalidCredentials) {
		return httpapi.APIClient{}, nil, httpapi.ErrInvalidClient
	}
	if err != nil {
		return httpapi.APIClient{}, nil, err
	}
	pub, err := sig.ParseJWK([]byte(c.PublicJWK))
	if err != nil {
		return httpapi.APIClient{}, nil, err
	}
	return httpapi.APIClient{ID: c.ID, MSPID: c.OrgMSP, Scopes: c.Scopes}, pub, nil
}

// UseAssertionID implements httpapi.ClientKeyStore.
func (a storeAdapter) UseAssertionID(ctx context.Context, clientID, jti string, until, now time.Time) error {
	err := a.s.UseAssertionID(ctx, clientID, jti, until, now)
	if errors.Is(err, store.ErrAssertionReplayed) {
		return httpapi.ErrAssertionReplayed
	}
	return err
}

var _ httpapi.ClientKeyStore = storeAdapter{}
