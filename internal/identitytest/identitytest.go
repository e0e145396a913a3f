// Package identitytest plays the citizen's side of enrolment and consent
// for tests: an OpenID provider that mints ID tokens, and a software
// passkey that makes WebAuthn assertions and plain WebCrypto signatures.
// Their output is what the real ones send, so the chaincode checks it as
// it checks theirs. Standard library only; for tests, never production.
package identitytest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
)

// Defaults of a test provider's policy and tokens.
const (
	IDClaim = "id_number"
	ACR     = "urn:quanchain:loa:substantial"
	RPID    = "consent.quanchain.test"
	Origin  = "https://consent.quanchain.test"
)

var b64 = base64.RawURLEncoding

// Provider is a test OpenID provider: an RSA-2048 signing key under a kid,
// an issuer and the audience its tokens name by default.
type Provider struct {
	Issuer   string
	Audience string
	KeyID    string
	Key      *rsa.PrivateKey
}

// NewProvider makes a provider with a fresh RSA-2048 key.
func NewProvider(issuer, audience string) (*Provider, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("provider key: %w", err)
	}
	sum := sha256.Sum256(k.N.Bytes())
	return &Provider{Issuer: issuer, Audience: audience, KeyID: b64.EncodeToString(sum[:8]), Key: k}, nil
}

// JWKS returns the provider's public key set, as its jwks_uri serves it.
func (p *Provider) JWKS() string {
	e := big.NewInt(int64(p.Key.E)).Bytes()
	b, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": p.KeyID,
		"n": b64.EncodeToString(p.Key.N.Bytes()), "e": b64.EncodeToString(e),
	}}})
	return string(b)
}

// Policy returns an identity policy trusting p: its issuer, audience and
// keys, IDClaim, ACR, a ten-minute token age, the relying party rpID with
// origins, and whether plain WebCrypto keys may enrol and sign.
func (p *Provider) Policy(rpID string, origins []string, allowUnverified bool) model.IdentityPolicy {
	return model.IdentityPolicy{
		Issuer: p.Issuer, Audience: p.Audience, IDClaim: IDClaim, ACRValues: []string{ACR},
		JWKS: p.JWKS(), MaxTokenAgeSeconds: 600, RPID: rpID, Origins: append([]string(nil), origins...),
		AllowUnverifiedKeys: allowUnverified,
	}
}

// Overrides changes a minted token. Zero fields take the defaults: Now
// time.Now, IssuedAt and AuthTime Now, Expiry Now plus five minutes,
// Issuer and Audience the provider's.
type Overrides struct {
	Now      time.Time
	IssuedAt time.Time
	Expiry   time.Time
	AuthTime time.Time
	Issuer   string
	// Audience replaces aud: a string or a []string.
	Audience any
	// Claims are added to (or replace) the token's claims.
	Claims map[string]any
}

// MintIDToken returns an RS256 ID token of p for the citizen with the
// resident ID number idNumber, with nonce and acr.
func (p *Provider) MintIDToken(idNumber, nonce, acr string, o Overrides) (string, error) {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	pick := func(t, def time.Time) int64 {
		if t.IsZero() {
			return def.Unix()
		}
		return t.Unix()
	}
	sub := sha256.Sum256([]byte(p.Issuer + "\x00" + idNumber))
	claims := map[string]any{
		"iss": p.Issuer, "sub": b64.EncodeToString(sub[:12]), "aud": p.Audience,
		"iat": pick(o.IssuedAt, now), "exp": pick(o.Expiry, now.Add(5*time.Minute)),
		"auth_time": pick(o.AuthTime, now), "nonce": nonce, "acr": acr, IDClaim: idNumber,
	}
	if o.Issuer != "" {
		claims["iss"] = o.Issuer
	}
	if o.Audience != nil {
		claims["aud"] = o.Audience
	}
	for k, v := range o.Claims {
		claims[k] = v
	}
	return p.Sign(map[string]any{"alg": "RS256", "typ": "JWT", "kid": p.KeyID}, claims)
}

// Sign returns the compact JWS of claims under header, signed RS256 with
// the provider's key whatever the header says: for tokens a test wants
// malformed.
func (p *Provider) Sign(header, claims map[string]any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.Key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// IDTokenProof is the enrolment proof of an ID token.
func IDTokenProof(token string) *model.EnrolmentProof {
	return &model.EnrolmentProof{Kind: model.ProofIDToken, IDToken: token}
}

// Passkey is a device key pair: a passkey that makes WebAuthn assertions,
// or the same key used as a plain WebCrypto key (SignRaw).
type Passkey struct {
	Key   *ecdsa.PrivateKey
	JWK   string // the public key's JWK, as the consent app exports it
	KeyID string // its RFC 7638 thumbprint, the ledger's key id
	// SignCount is the counter of the next assertion.
	SignCount uint32
}

// NewPasskey makes a P-256 key pair.
func NewPasskey() (*Passkey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	raw, err := k.PublicKey.Bytes() // 0x04 ‖ x ‖ y
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	x, y := b64.EncodeToString(raw[1:33]), b64.EncodeToString(raw[33:])
	canonical := fmt.Sprintf(`{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}`, x, y)
	sum := sha256.Sum256([]byte(canonical))
	return &Passkey{Key: k, JWK: fmt.Sprintf(`{"kty":"EC","crv":"P-256","x":%q,"y":%q}`, x, y),
		KeyID: b64.EncodeToString(sum[:]), SignCount: 1}, nil
}

// Flags of authenticator data.
const (
	flagUP = 0x01
	flagUV = 0x04
)

// Assertion is a WebAuthn assertion's parts, each base64url.
type Assertion struct {
	AuthenticatorData string
	ClientDataJSON    string
	Signature         string // ASN.1 DER, as authenticators produce
}

// Assert makes the assertion a browser returns from
// navigator.credentials.get for challenge at origin, with the user
// verified or only present.
func (k *Passkey) Assert(challenge []byte, rpID, origin string, userVerified bool) (Assertion, error) {
	rp := sha256.Sum256([]byte(rpID))
	flags := byte(flagUP)
	if userVerified {
		flags |= flagUV
	}
	ad := append(rp[:], flags, byte(k.SignCount>>24), byte(k.SignCount>>16), byte(k.SignCount>>8), byte(k.SignCount))
	k.SignCount++
	cd, err := json.Marshal(map[string]any{"type": "webauthn.get", "challenge": b64.EncodeToString(challenge),
		"origin": origin, "crossOrigin": false})
	if err != nil {
		return Assertion{}, err
	}
	cdHash := sha256.Sum256(cd)
	sum := sha256.Sum256(append(append([]byte(nil), ad...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.Key, sum[:])
	if err != nil {
		return Assertion{}, fmt.Errorf("assert: %w", err)
	}
	return Assertion{AuthenticatorData: b64.EncodeToString(ad), ClientDataJSON: b64.EncodeToString(cd),
		Signature: b64.EncodeToString(sig)}, nil
}

// AssertPayload is Assert with the challenge the chaincode expects for a
// signed payload (a decision, an enrolment approval): its SHA-256.
func (k *Passkey) AssertPayload(payload []byte, rpID, origin string, userVerified bool) (Assertion, error) {
	sum := sha256.Sum256(payload)
	return k.Assert(sum[:], rpID, origin, userVerified)
}

// SignRaw signs msg as WebCrypto does: ECDSA P-256 over SHA-256, r ‖ s,
// base64url.
func (k *Passkey) SignRaw(msg []byte) (string, error) {
	return SignWebCrypto(k.Key, msg)
}

// SignWebCrypto signs msg with key as WebCrypto does: ECDSA P-256 over
// SHA-256, r ‖ s, base64url.
func SignWebCrypto(key *ecdsa.PrivateKey, msg []byte) (string, error) {
	sum := sha256.Sum256(msg)
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return b64.EncodeToString(out), nil
}

// Approval returns the canonical bytes of the approval an existing device
// signs to enrol the key newKeyID named name on channel.
func Approval(channel, newKeyID, name string, issuedAt time.Time) []byte {
	b, _ := json.Marshal(model.EnrolmentApproval{Type: model.EnrolApprovalType, Channel: channel, KeyID: newKeyID,
		Name: name, IssuedAt: issuedAt.UTC().Format(time.RFC3339)})
	return b
}

// PasskeyApproval is the device proof of an approval signed by the
// passkey approver, with user verification.
func PasskeyApproval(approver *Passkey, approval []byte, rpID, origin string) (*model.EnrolmentProof, error) {
	a, err := approver.AssertPayload(approval, rpID, origin, true)
	if err != nil {
		return nil, err
	}
	return &model.EnrolmentProof{Kind: model.ProofDevice, Approval: b64.EncodeToString(approval),
		Signer: &model.Signature{KeyID: approver.KeyID, Signature: a.Signature,
			AuthenticatorData: a.AuthenticatorData, ClientDataJSON: a.ClientDataJSON}}, nil
}

// WebCryptoApproval is the device proof of an approval signed by the
// plain WebCrypto key approver.
func WebCryptoApproval(approver *Passkey, approval []byte) (*model.EnrolmentProof, error) {
	s, err := approver.SignRaw(approval)
	if err != nil {
		return nil, err
	}
	return &model.EnrolmentProof{Kind: model.ProofDevice, Approval: b64.EncodeToString(approval),
		Signer: &model.Signature{KeyID: approver.KeyID, Signature: s}}, nil
}
