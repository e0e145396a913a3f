package exchange

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/internal/jws"
)

// The provider's signature on a delivery.
//
// The provider signs every delivery it hands out (ProviderConfig.Signer):
// a compact JWS (package jws: ES256, its key in the header) over
// DeliveryClaims, which name the access, the authorisation, the requester,
// the provider, the digest the ledger records and the access transaction.
// The requester's gateway checks it (CheckSignature) and hands it on to
// the institution as provider_signature, so the institution's own systems
// keep a proof of origin that needs neither the ledger nor this gateway to
// check: the provider's key (GET /provider/v1/keys/delivery) signed that
// this digest — SHA-256(digest_salt ‖ delivery) — was delivered to this
// requester under this access.
const (
	// DeliverySignatureType is the JWS header type of a provider signature,
	// and DeliveryClaimsType the "type" of its claims.
	DeliverySignatureType = "quanchain-delivery+jws"
	DeliveryClaimsType    = "quanchain.delivery.v1"
	// CodeDeliverySignatureInvalid refuses a delivery whose provider
	// signature is missing, does not verify, is not by the provider's
	// published key, or signs another delivery.
	CodeDeliverySignatureInvalid = "DELIVERY_SIGNATURE_INVALID"
	// CheckSignature is the check of the provider's signature.
	CheckSignature = "provider_signature"
)

// DeliveryClaims are what the provider signs about one delivery.
type DeliveryClaims struct {
	Type            string `json:"type"` // DeliveryClaimsType
	AccessID        string `json:"access_id"`
	AuthorizationID string `json:"authorization_id"`
	Requester       string `json:"requester"`
	Provider        string `json:"provider"`
	// Digest is the lower-case hex SHA-256 of the digest's salt and the
	// delivered body, as access:RecordAccess records it.
	Digest string `json:"digest"`
	// TxID is the access transaction; absent if the provider signed
	// before it was known.
	TxID     string `json:"tx_id,omitempty"`
	IssuedAt string `json:"issued_at"`
}

// signDelivery signs the claims of a delivery with the provider's key;
// "" if the provider has no signing key.
func (p *Provider) signDelivery(c DeliveryClaims) (string, error) {
	if p.cfg.Signer == nil {
		return "", nil
	}
	c.Type, c.Provider = DeliveryClaimsType, p.cfg.MSPID
	b, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	return p.cfg.Signer.Sign(DeliverySignatureType, b)
}

// ParseDeliverySignature verifies a provider signature's JWS and decodes
// its claims; it does not say whose key signed (Verified.KeyID) nor which
// delivery the claims must name: the caller compares them.
func ParseDeliverySignature(token string) (*DeliveryClaims, *jws.Verified, error) {
	v, err := jws.Verify(token, DeliverySignatureType)
	if err != nil {
		return nil, nil, err
	}
	var c DeliveryClaims
	dec := json.NewDecoder(bytes.NewReader(v.Payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || dec.More() || c.Type != DeliveryClaimsType {
		return nil, nil, errors.New("the signed claims are not a delivery's")
	}
	if _, err := time.Parse(time.RFC3339Nano, c.IssuedAt); err != nil {
		return nil, nil, errors.New("the signed issued_at is not a time")
	}
	return &c, v, nil
}

// ProviderKeys gives the key ids of the provider's delivery-signing keys,
// as it publishes them; peerlink.ProviderClient is the production one.
type ProviderKeys interface {
	DeliveryKeyIDs(ctx context.Context) ([]string, error)
}

// providerKeyCache remembers the provider's published key ids and asks
// again when a signature names another (the provider rotated its key).
type providerKeyCache struct {
	src ProviderKeys
	mu  sync.Mutex
	ids []string
}

// known reports whether kid is one of the provider's published keys.
func (c *providerKeyCache) known(ctx context.Context, kid string) (bool, error) {
	c.mu.Lock()
	ids := c.ids
	c.mu.Unlock()
	if slices.Contains(ids, kid) {
		return true, nil
	}
	ids, err := c.src.DeliveryKeyIDs(ctx)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	c.ids = ids
	c.mu.Unlock()
	return slices.Contains(ids, kid), nil
}

func badSignature(format string, args ...any) error {
	e := unverified(CheckSignature, format, args...).(*Error)
	e.Code = CodeDeliverySignatureInvalid
	return e
}

// checkSignature checks the provider's signature on a delivery the other
// checks have verified: it must verify, be made with a key the provider
// publishes, and name this access, authorisation, requester, the
// provider that recorded the access, its digest and transaction.
func (r *Requester) checkSignature(ctx context.Context, token string, acc *model.Access, replay bool) error {
	switch {
	case token == "" && replay:
		return nil // kept before providers signed their deliveries
	case token == "":
		return badSignature("the provider did not sign the delivery")
	}
	c, v, err := ParseDeliverySignature(token)
	if err != nil {
		return badSignature("%v", err)
	}
	if r.keys != nil {
		ok, err := r.keys.known(ctx, v.KeyID)
		if err != nil {
			return refuse(CodeProviderUnavailable, "the provider's delivery keys cannot be read; retry later")
		}
		if !ok {
			return badSignature("key %s is not one the provider publishes", v.KeyID)
		}
	}
	switch {
	case c.AccessID != acc.ID || c.AuthorizationID != acc.AuthorizationID || c.Requester != acc.Requester:
		return badSignature("it signs another access, authorisation or requester")
	case c.Provider != acc.Provider:
		return badSignature("it is signed as %s, but %s recorded the access", c.Provider, acc.Provider)
	case c.Digest != acc.Digest:
		return badSignature("it signs another digest than the ledger records")
	case c.TxID != "" && c.TxID != acc.TxID:
		return badSignature("it names another access transaction")
	}
	return nil
}

// DeliveryKeys is the provider's delivery-signing key as a JSON Web Key
// Set (empty if it signs nothing), published at GET
// /provider/v1/keys/delivery.
func (p *Provider) DeliveryKeys() jws.KeySet {
	ks := jws.KeySet{Keys: []json.RawMessage{}}
	if p.cfg.Signer != nil {
		ks.Keys = append(ks.Keys, p.cfg.Signer.PublishedKey())
	}
	return ks
}
