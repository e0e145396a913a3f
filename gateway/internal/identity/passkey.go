package identity

import (
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/quanchain/quanchain/chaincode/sig"
)

// PasskeyTimeout is the registration ceremony's timeout sent to the
// browser.
const PasskeyTimeout = 120 * time.Second

// Passkeys registers passkeys for the consent app's relying party: ES256
// only, user verification required, no attestation (the ledger trusts the
// enrolment proof, not the authenticator's maker).
type Passkeys struct {
	w *webauthn.WebAuthn
}

// NewPasskeys returns the registration ceremony of relying party rpID
// (the consent app's host name), shown as rpName, for the app's origins.
func NewPasskeys(rpID, rpName string, origins []string) (*Passkeys, error) {
	w, err := webauthn.New(&webauthn.Config{
		RPID: rpID, RPDisplayName: rpName, RPOrigins: origins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementPreferred, UserVerification: protocol.VerificationRequired},
		Timeouts: webauthn.TimeoutsConfig{Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: PasskeyTimeout, TimeoutUVD: PasskeyTimeout}},
	})
	if err != nil {
		return nil, fmt.Errorf("identity: passkeys: %w", err)
	}
	return &Passkeys{w: w}, nil
}

// passkeyUser is the WebAuthn user of one registration: a random handle
// that names no citizen (the citizen is not known before the login).
type passkeyUser struct {
	id   []byte
	name string
}

func (u passkeyUser) WebAuthnID() []byte                         { return u.id }
func (u passkeyUser) WebAuthnName() string                       { return u.name }
func (u passkeyUser) WebAuthnDisplayName() string                { return u.name }
func (u passkeyUser) WebAuthnCredentials() []webauthn.Credential { return nil }

// Registration is a registration ceremony under way: what Finish needs.
type Registration struct {
	session webauthn.SessionData
	user    passkeyUser
}

// Begin starts a registration for a device named name: the
// PublicKeyCredentialCreationOptions for navigator.credentials.create
// (binary members base64url) and the ceremony's state.
func (p *Passkeys) Begin(name string) (json.RawMessage, *Registration, error) {
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, nil, err
	}
	if name == "" {
		name = "quanchain"
	}
	u := passkeyUser{id: id, name: name}
	creation, session, err := p.w.BeginRegistration(u, webauthn.WithCredentialParameters([]protocol.CredentialParameter{
		{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256}}))
	if err != nil {
		return nil, nil, fmt.Errorf("identity: passkey registration: %w", err)
	}
	opts, err := json.Marshal(creation.Response)
	if err != nil {
		return nil, nil, err
	}
	return opts, &Registration{session: *session, user: u}, nil
}

// Device is a registered passkey as the ledger enrols it.
type Device struct {
	// JWK is the canonical public JWK (sig.CanonicalJWK), KeyID its RFC
	// 7638 thumbprint.
	JWK   string
	KeyID string
	// CredentialID is the credential's id, base64url: the app names it in
	// allowCredentials when it asks this passkey to sign.
	CredentialID string
}

// ErrCredential reports a credential that does not complete the
// registration (wrong challenge, origin or rp id, no user verification,
// not an ES256 P-256 key…); its text is for logs, never for the client.
var ErrCredential = errors.New("identity: the passkey credential was refused")

// Finish verifies the browser's PublicKeyCredential (JSON) against the
// registration and returns the device key.
func (p *Passkeys) Finish(reg *Registration, credential []byte) (*Device, error) {
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCredential, err)
	}
	cred, err := p.w.CreateCredential(reg.user, reg.session, parsed)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCredential, err)
	}
	jwk, kid, err := COSEToJWK(cred.PublicKey)
	if err != nil {
		return nil, err
	}
	return &Device{JWK: jwk, KeyID: kid, CredentialID: base64.RawURLEncoding.EncodeToString(cred.ID)}, nil
}

// COSEToJWK turns a COSE EC2 ES256 P-256 public key into its canonical JWK
// and key id.
func COSEToJWK(cose []byte) (jwk, kid string, err error) {
	k, err := webauthncose.ParsePublicKey(cose)
	if err != nil {
		return "", "", fmt.Errorf("%w: %w", ErrCredential, err)
	}
	ec, ok := k.(webauthncose.EC2PublicKeyData)
	if !ok || ec.Algorithm != int64(webauthncose.AlgES256) || ec.Curve != int64(webauthncose.P256) {
		return "", "", fmt.Errorf("%w: not an ES256 P-256 key", ErrCredential)
	}
	pub, err := ec.ToECDSA()
	if err != nil || pub.Curve != elliptic.P256() {
		return "", "", fmt.Errorf("%w: not a P-256 key", ErrCredential)
	}
	return string(sig.CanonicalJWK(pub)), sig.Thumbprint(pub), nil
}
