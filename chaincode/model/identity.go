package model

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Citizen identity (docs/ledger.md, "Citizen identity"). A grant is the
// citizen's own act only if the key that signed it was enrolled by the
// citizen: with a fresh ID token from the identity provider the ledger
// trusts, or with the approval of a device the citizen already has. The
// chaincode checks both itself; the operator's word is not a proof.

// IdentityPolicy is what the ledger trusts about citizen identity: the
// identity provider whose ID tokens may enrol a device, and the WebAuthn
// relying party whose assertions sign decisions. It takes effect only when
// the operator has proposed it and the supervisor (the auditor
// organisation) has approved the same digest: the operator alone cannot
// make the ledger trust a provider of its own.
type IdentityPolicy struct {
	// Issuer is the provider's issuer URL, compared byte for byte with
	// the ID token's iss.
	Issuer string `json:"issuer"`
	// Audience is the client id the operator's gateway is registered
	// under at the provider; the ID token's aud must contain it.
	Audience string `json:"audience"`
	// IDClaim names the ID token claim that carries the citizen's resident
	// ID number (for example "id_number").
	IDClaim string `json:"id_claim"`
	// ACRValues are the assurance levels (the ID token's acr) accepted for
	// an enrolment; empty accepts none.
	ACRValues []string `json:"acr_values"`
	// JWKS is the provider's public signing keys, a JSON Web Key Set
	// ({"keys":[...]}) of RSA (RS256) or P-256 (ES256) public keys with kid.
	JWKS string `json:"jwks"`
	// MaxTokenAgeSeconds bounds how long before the enrolling transaction
	// the ID token may have been issued (its iat; also auth_time if set).
	MaxTokenAgeSeconds int `json:"max_token_age_seconds"`
	// RPID is the WebAuthn relying party id (the consent app's host name);
	// an assertion's rpIdHash must be its SHA-256.
	RPID string `json:"rp_id"`
	// Origins are the consent app's origins an assertion's clientDataJSON
	// may name.
	Origins []string `json:"origins"`
	// AllowUnverifiedKeys lets plain WebCrypto device keys (no user
	// verification) be enrolled and sign; decisions they sign are marked
	// UserVerified=false. Off, only passkeys may.
	AllowUnverifiedKeys bool `json:"allow_unverified_keys"`
}

// IdentityPolicyRecord is the ledger's record of a policy: the policy, its
// digest (hex SHA-256 of the policy's stored JSON), who proposed and who
// approved it and when. Active is set once both have.
type IdentityPolicyRecord struct {
	Policy     IdentityPolicy `json:"policy"`
	Digest     string         `json:"digest"`
	ProposedBy string         `json:"proposed_by"`
	ProposedAt string         `json:"proposed_at"`
	ApprovedBy string         `json:"approved_by,omitempty"`
	ApprovedAt string         `json:"approved_at,omitempty"`
	Active     bool           `json:"active"`
	TxID       string         `json:"tx_id"`
}

// IdentityPolicyState is what registry:GetIdentityPolicy answers: the
// policy in force, if any, and the proposal awaiting the supervisor's
// approval, if any.
type IdentityPolicyState struct {
	Active  *IdentityPolicyRecord `json:"active,omitempty"`
	Pending *IdentityPolicyRecord `json:"pending,omitempty"`
}

// Key kinds: how a device key signs.
const (
	// KeyWebAuthn is a passkey: decisions are WebAuthn assertions, made
	// with user verification (a PIN or a biometric) on the device.
	KeyWebAuthn = "webauthn"
	// KeyWebCrypto is a plain WebCrypto key: decisions are raw ES256
	// signatures over the payload, with no user verification.
	KeyWebCrypto = "webcrypto"
)

// Enrolment proofs: what let a device key onto the ledger.
const (
	// ProofIDToken is a fresh ID token of the trusted identity provider
	// whose nonce names the new key.
	ProofIDToken = "id_token"
	// ProofDevice is an approval signed by an active device of the same
	// citizen.
	ProofDevice = "device"
)

// EnrolmentProof is the proof that comes with registry:AddCitizenKey in
// its private input. It travels as transient data: the ID token, which
// carries the citizen's ID number, never reaches a block.
type EnrolmentProof struct {
	Kind string `json:"kind"` // ProofIDToken or ProofDevice
	// IDToken is the compact JWS of the ID token (ProofIDToken). Its nonce
	// must be EnrolmentNonce(new key id, any salt).
	IDToken string `json:"id_token,omitempty"`
	// Approval is the base64url of the canonical EnrolmentApproval bytes
	// the approving device signed (ProofDevice).
	Approval string `json:"approval,omitempty"`
	// Signer is the approving device's signature (ProofDevice).
	Signer *Signature `json:"signer,omitempty"`
}

// Signature is a device's signature over some bytes: a raw ES256 signature
// by a WebCrypto key, or a WebAuthn assertion by a passkey whose challenge
// is the base64url SHA-256 of those bytes.
type Signature struct {
	KeyID string `json:"key_id"`
	// Signature is the base64 (either alphabet) ES256 signature: over the
	// signed bytes for a WebCrypto key, over authenticatorData ‖
	// SHA-256(clientDataJSON) for a passkey.
	Signature string `json:"signature"`
	// AuthenticatorData and ClientDataJSON are base64url, for a passkey.
	AuthenticatorData string `json:"authenticator_data,omitempty"`
	ClientDataJSON    string `json:"client_data_json,omitempty"`
}

// EnrolApprovalType identifies the approval payload format.
const EnrolApprovalType = "quanchain.enrol.v1"

// EnrolApprovalMaxAge is how long before the enrolling transaction an
// approval may have been issued (and how far after, EnrolApprovalMaxSkew).
const (
	EnrolApprovalMaxAgeSeconds  = 600
	EnrolApprovalMaxSkewSeconds = 300
)

// EnrolmentApproval is what an existing device signs to let a new device
// in. Its canonical bytes are its encoding/json encoding, fields in this
// order. It names no citizen: the approving key must be an active key of
// the citizen the new key is enrolled for.
type EnrolmentApproval struct {
	Type     string `json:"type"` // EnrolApprovalType
	Channel  string `json:"channel"`
	KeyID    string `json:"key_id"` // the new key's RFC 7638 thumbprint
	Name     string `json:"name,omitempty"`
	IssuedAt string `json:"issued_at"` // RFC 3339
}

// EnrolmentNoncePrefix starts the nonce of an ID token that enrols a key:
// EnrolmentNoncePrefix + key id + "." + a random salt of the gateway's.
const EnrolmentNoncePrefix = "qc-enrol."

// EnrolmentNonce is the OpenID Connect nonce that binds an ID token to the
// new device key kid.
func EnrolmentNonce(kid, salt string) string { return EnrolmentNoncePrefix + kid + "." + salt }

// EnrolmentNonceKey returns the key id an enrolment nonce names.
func EnrolmentNonceKey(nonce string) (string, bool) {
	rest, ok := strings.CutPrefix(nonce, EnrolmentNoncePrefix)
	if !ok {
		return "", false
	}
	kid, salt, ok := strings.Cut(rest, ".")
	if !ok || kid == "" || salt == "" {
		return "", false
	}
	return kid, true
}

// SubjectDigest binds a citizen as one requester knows them to the
// resident ID number the identity provider vouched for: hex SHA-256 of a
// domain tag, the requester, the citizenRef and the normalised ID number.
// The requester's gateway sends it with each request (it has the ID number
// from its customer); the chaincode computes it from the ID token of an
// enrolment. A decision is accepted only from a key whose digest is the
// authorisation's. It is kept in the requester's collection only, whose
// members know the ID number anyway; the citizenRef in it keeps digests of
// one citizen unlinkable across requesters.
func SubjectDigest(requester, citizenRef, idNumber string) string {
	h := sha256.New()
	for _, s := range []string{"quanchain.subject.v1", requester, citizenRef, strings.ToUpper(strings.TrimSpace(idNumber))} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
