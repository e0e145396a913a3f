package ledgertest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"github.com/quanchain/quanchain/chaincode/model"
)

// Device is a citizen's phone: an ES256 key pair whose public half is
// enrolled on the ledger for the citizen. Its decisions are real ones: the
// chaincode checks their signatures as it checks the consent app's.
type Device struct {
	CitizenRef string
	Key        *ecdsa.PrivateKey
	// JWK is the public key as the consent app exports it; KeyID is the key
	// id the chaincode gave it (its RFC 7638 thumbprint).
	JWK   string
	KeyID string
}

// NewDevice makes a device key for citizenRef, not yet enrolled.
func NewDevice(citizenRef string) (*Device, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("device key: %w", err)
	}
	pub, err := k.PublicKey.ECDH()
	if err != nil {
		return nil, fmt.Errorf("device key: %w", err)
	}
	raw := pub.Bytes() // 0x04 ‖ x ‖ y
	b64 := base64.RawURLEncoding.EncodeToString
	jwk := fmt.Sprintf(`{"kty":"EC","crv":"P-256","x":%q,"y":%q}`, b64(raw[1:33]), b64(raw[33:]))
	return &Device{CitizenRef: citizenRef, Key: k, JWK: jwk}, nil
}

// Sign signs msg as WebCrypto does: ECDSA P-256 over SHA-256, the raw
// r‖s, base64.
func (d *Device) Sign(msg []byte) (string, error) {
	sum := sha256.Sum256(msg)
	r, s, err := ecdsa.Sign(rand.Reader, d.Key, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return base64.StdEncoding.EncodeToString(out), nil
}

// Enrol makes a device for a citizen and enrols it through the operator
// (registry:AddCitizenKey) in every requester's collection, as the
// operator's gateway does for the consent app. refOf gives the citizenRef
// each requester knows the citizen by; nil means citizenRef for all.
func (n *Network) Enrol(ctx context.Context, citizenRef string, refOf func(requester string) string) (*Device, error) {
	d, err := NewDevice(citizenRef)
	if err != nil {
		return nil, err
	}
	op, err := n.operator(ctx)
	if err != nil {
		return nil, err
	}
	for _, req := range n.Requesters() {
		ref := citizenRef
		if refOf != nil {
			ref = refOf(req)
		}
		if d.KeyID, err = n.Ledger(op).AddCitizenKey(ctx, req, ref, d.JWK, ""); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Decide has d sign action on the authorisation as it stands and submits
// the decision through the operator (consent:Decide): the payload names
// the authorisation's current seq and is issued at the Network's time.
func (n *Network) Decide(ctx context.Context, d *Device, authorizationID string, action model.Action) (*model.Authorization, error) {
	op, err := n.operator(ctx)
	if err != nil {
		return nil, err
	}
	l := n.Ledger(op)
	a, err := l.GetAuthorization(ctx, authorizationID)
	if err != nil {
		return nil, err
	}
	terms, err := Terms(ctx, l, a)
	if err != nil {
		return nil, err
	}
	payload := model.NewDecisionPayload(Channel, a, terms, action, n.Now()).Bytes()
	sig, err := d.Sign(payload)
	if err != nil {
		return nil, err
	}
	return l.Decide(ctx, authorizationID, payload, sig, d.KeyID)
}

// operator returns the operator's MSP ID, from the registry's
// configuration, which anyone may read.
func (n *Network) operator(ctx context.Context) (string, error) {
	cfg, err := n.Ledger("LedgertestMSP").GetConfig(ctx)
	if err != nil {
		return "", fmt.Errorf("the operator: %w", err)
	}
	return cfg.OperatorMSP, nil
}

// Registry is the part of the ledger Terms reads.
type Registry interface {
	GetInstitution(ctx context.Context, mspID string) (*model.Institution, error)
	GetPurpose(ctx context.Context, code string) (*model.Purpose, error)
	GetCategory(ctx context.Context, code string) (*model.Category, error)
}

// Terms reads the registry's terms of a that a decision payload names: the
// requester's licence, the purpose's retention, the categories' schema
// versions.
func Terms(ctx context.Context, r Registry, a *model.Authorization) (model.Terms, error) {
	inst, err := r.GetInstitution(ctx, a.Requester)
	if err != nil {
		return model.Terms{}, err
	}
	p, err := r.GetPurpose(ctx, a.Purpose)
	if err != nil {
		return model.Terms{}, err
	}
	cats := make([]*model.Category, len(a.Categories))
	for i, code := range a.Categories {
		if cats[i], err = r.GetCategory(ctx, code); err != nil {
			return model.Terms{}, err
		}
	}
	return model.TermsOf(inst, p, cats), nil
}
