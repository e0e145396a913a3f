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
	"github.com/quanchain/quanchain/chaincode/sig"
	"github.com/quanchain/quanchain/internal/identitytest"
)

// Device is a citizen's phone: an ES256 key pair whose public half is
// enrolled on the ledger for the citizen, as a plain WebCrypto key, with
// an ID token of the Network's identity provider for IDNumber. Its
// decisions are real ones: the chaincode checks their signatures as it
// checks the consent app's.
type Device struct {
	CitizenRef string
	// IDNumber is the citizen's resident ID number, which the ID token of
	// the enrolment carries; requests for the citizen name its subject
	// digest (Subject).
	IDNumber string
	Key      *ecdsa.PrivateKey
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
	return &Device{CitizenRef: citizenRef, IDNumber: IDNumberFor(citizenRef), Key: k, JWK: jwk}, nil
}

// IDNumberFor is the resident ID number of the test citizen citizenRef
// where a test gives none: 17 digits and a check digit from its hash.
func IDNumberFor(citizenRef string) string {
	sum := sha256.Sum256([]byte("id:" + citizenRef))
	out := make([]byte, 18)
	for i := range out {
		out[i] = '0' + sum[i]%10
	}
	return string(out)
}

// Subject is the subject digest a requester names in a request for the
// citizen it knows as citizenRef, whose ID number is IDNumberFor(main):
// main is the citizenRef the citizen was enrolled with (Enrol's), which is
// citizenRef itself unless the requesters know the citizen by different
// refs.
func Subject(requester, citizenRef, main string) string {
	return model.SubjectDigest(requester, citizenRef, IDNumberFor(main))
}

// SubjectFor is Subject for a citizen every requester knows by the same
// citizenRef.
func SubjectFor(requester, citizenRef string) string {
	return Subject(requester, citizenRef, citizenRef)
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
//
// Each enrolment carries a fresh ID token of the Network's provider for
// the citizen's ID number, IDNumberFor(citizenRef), whose nonce names the
// key (EnrolWithID names the number).
func (n *Network) Enrol(ctx context.Context, citizenRef string, refOf func(requester string) string) (*Device, error) {
	return n.EnrolWithID(ctx, citizenRef, IDNumberFor(citizenRef), refOf)
}

// EnrolWithID is Enrol for the citizen with the resident ID number
// idNumber.
func (n *Network) EnrolWithID(ctx context.Context, citizenRef, idNumber string, refOf func(requester string) string) (*Device, error) {
	d, err := NewDevice(citizenRef)
	if err != nil {
		return nil, err
	}
	d.IDNumber = idNumber
	pub, err := sig.ParseJWK([]byte(d.JWK))
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
		tok, err := n.Provider().MintIDToken(idNumber, model.EnrolmentNonce(sig.Thumbprint(pub), "ledgertest"),
			identitytest.ACR, identitytest.Overrides{Now: n.Now()})
		if err != nil {
			return nil, err
		}
		in := model.CitizenKeyInput{Requester: req, CitizenRef: ref, JWK: d.JWK, Kind: model.KeyWebCrypto,
			Proof: identitytest.IDTokenProof(tok)}
		if d.KeyID, err = n.Ledger(op).AddCitizenKey(ctx, in); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Subject is the subject digest a requester names in a request for d's
// citizen, whom it knows as citizenRef.
func (d *Device) Subject(requester, citizenRef string) string {
	return model.SubjectDigest(requester, citizenRef, d.IDNumber)
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
