// Package jws signs and verifies the gateways' self-contained signed
// documents: compact JSON Web Signatures (RFC 7515) with the algorithm
// pinned to ES256 (ECDSA P-256, SHA-256, the 64-byte r ‖ s signature of
// RFC 7518 §3.4), whose protected header carries the signer's public key
// as a JWK and its RFC 7638 thumbprint as the key id.
//
// # Trust
//
// A signature that verifies with the key in its own header proves only
// that whoever holds that key signed the payload. Who holds it is for the
// verifier to decide: compare the key id with the key set the signer
// publishes (a gateway's GET /v1/keys/…), or with a key id learnt some other
// way. [Verify] therefore returns the key id beside the payload.
//
// # Form
//
// The protected header is exactly {"alg":"ES256","typ":…,"kid":…,"jwk":…}
// with nothing else: no "crit", no "jku" or "x5u" to fetch, no other
// algorithm, so there is one reading of what was signed. The payload is
// the signed bytes as they are; callers decode it themselves.
package jws

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/quanchain/quanchain/chaincode/sig"
)

// Algorithm is the only JWS algorithm signed and accepted.
const Algorithm = "ES256"

// MaxSize bounds the compact serialisation Verify reads.
const MaxSize = 1 << 20

// ErrInvalid is wrapped by every refusal of Verify.
var ErrInvalid = errors.New("jws: invalid signature")

// Header is the protected header.
type Header struct {
	Alg string          `json:"alg"`
	Typ string          `json:"typ"`
	Kid string          `json:"kid"`
	JWK json.RawMessage `json:"jwk"`
}

// Signer signs with one ES256 key; its key id is the key's RFC 7638
// thumbprint.
type Signer struct {
	key *ecdsa.PrivateKey
	kid string
	jwk []byte
}

// NewSigner wraps a P-256 private key.
func NewSigner(k *ecdsa.PrivateKey) (*Signer, error) {
	if k == nil || k.Curve != elliptic.P256() {
		return nil, errors.New("jws: the signing key must be ECDSA P-256 (ES256)")
	}
	return &Signer{key: k, kid: sig.Thumbprint(&k.PublicKey), jwk: sig.CanonicalJWK(&k.PublicKey)}, nil
}

// KeyID is the signing key's RFC 7638 thumbprint.
func (s *Signer) KeyID() string { return s.kid }

// PublicJWK is the signing key's public JWK in its canonical RFC 7638 form.
func (s *Signer) PublicJWK() json.RawMessage { return append(json.RawMessage(nil), s.jwk...) }

// Sign returns the compact JWS of payload with the header type typ.
func (s *Signer) Sign(typ string, payload []byte) (string, error) {
	h, err := json.Marshal(Header{Alg: Algorithm, Typ: typ, Kid: s.kid, JWK: s.jwk})
	if err != nil {
		return "", fmt.Errorf("jws: encode header: %w", err)
	}
	input := b64(h) + "." + b64(payload)
	sum := sha256.Sum256([]byte(input))
	r, ss, err := ecdsa.Sign(rand.Reader, s.key, sum[:])
	if err != nil {
		return "", fmt.Errorf("jws: sign: %w", err)
	}
	raw := make([]byte, 64)
	r.FillBytes(raw[:32])
	ss.FillBytes(raw[32:])
	return input + "." + b64(raw), nil
}

// Verified is what a verified JWS says.
type Verified struct {
	Header  Header
	Payload []byte
	Key     *ecdsa.PublicKey
	KeyID   string // the key's thumbprint, equal to Header.Kid
}

// Verify checks a compact JWS of type typ: the header's form, that its
// key id is its key's thumbprint, and the signature with that key.
func Verify(token, typ string) (*Verified, error) {
	if len(token) > MaxSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalid, MaxSize)
	}
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: not a compact JWS (three base64url parts)", ErrInvalid)
	}
	hb, err1 := unb64(parts[0])
	payload, err2 := unb64(parts[1])
	signature, err3 := unb64(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("%w: a part is not unpadded base64url", ErrInvalid)
	}
	var h Header
	dec := json.NewDecoder(bytes.NewReader(hb))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil || dec.More() {
		return nil, fmt.Errorf("%w: the header must hold alg, typ, kid and jwk only", ErrInvalid)
	}
	if h.Alg != Algorithm {
		return nil, fmt.Errorf("%w: algorithm %q, want %s", ErrInvalid, h.Alg, Algorithm)
	}
	if h.Typ != typ {
		return nil, fmt.Errorf("%w: type %q, want %q", ErrInvalid, h.Typ, typ)
	}
	pub, err := sig.ParseJWK(h.JWK)
	if err != nil {
		return nil, fmt.Errorf("%w: the header's jwk: %w", ErrInvalid, err)
	}
	kid := sig.Thumbprint(pub)
	if h.Kid != kid {
		return nil, fmt.Errorf("%w: the header's kid is not its jwk's thumbprint %s", ErrInvalid, kid)
	}
	if len(signature) != 64 {
		return nil, fmt.Errorf("%w: an ES256 signature is 64 bytes, not %d", ErrInvalid, len(signature))
	}
	if err := sig.Verify(pub, []byte(parts[0]+"."+parts[1]), signature); err != nil {
		return nil, fmt.Errorf("%w: the signature does not verify with the header's key %s", ErrInvalid, kid)
	}
	return &Verified{Header: h, Payload: payload, Key: pub, KeyID: kid}, nil
}

// KeySet is a JSON Web Key Set (RFC 7517 §5) of public signing keys.
type KeySet struct {
	Keys []json.RawMessage `json:"keys"`
}

// PublishedKey returns s's public key as a key set entry: its JWK with
// "kid", "use": "sig" and "alg": "ES256".
func (s *Signer) PublishedKey() json.RawMessage {
	var m map[string]any
	_ = json.Unmarshal(s.jwk, &m) // canonical JWK: always an object
	m["kid"], m["use"], m["alg"] = s.kid, "sig", Algorithm
	b, _ := json.Marshal(m)
	return b
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64(s string) ([]byte, error) { return base64.RawURLEncoding.Strict().DecodeString(s) }
