// Package envelope encrypts a delivery to an institution's registered
// data-encryption public key (model.Institution.EncryptionKey), so that
// only that institution can read it, whoever carries it.
//
// The scheme is ECDH-ES with AES-256-GCM, in the manner of JWE's
// "ECDH-ES+A256GCM" direct key agreement:
//
//  1. the sender makes an ephemeral key pair on the recipient's curve
//     (X25519 or P-256) and computes the shared secret Z = ECDH(ephemeral,
//     recipient);
//  2. the content key is HKDF-SHA256 (RFC 5869) of Z with an empty salt
//     and info = "ECDH-ES+A256GCM" ‖ 0x00 ‖ len ‖ epk ‖ len ‖ recipient, where
//     epk and recipient are the PKIX encodings of the two public keys and
//     len is a 2-byte big-endian length, so the key is bound to both
//     public keys and to the algorithm;
//  3. the plaintext is sealed with AES-256-GCM under a random 96-bit nonce,
//     with the caller's additional data (aad) authenticated, not encrypted.
//
// Every envelope has a fresh ephemeral key, so a content key is never used
// twice. The envelope is JSON:
//
//	{"alg":"ECDH-ES+A256GCM","epk":"<base64 PKIX>","nonce":"<base64>","ciphertext":"<base64>","aad":"<base64>"}
//
// Base64 is the standard alphabet with padding, as the ledger stores keys.
package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
)

// Alg is the only algorithm an envelope may name.
const Alg = "ECDH-ES+A256GCM"

// Errors of the package. Compare with [errors.Is].
var (
	// ErrInvalidKey reports a public key that is not base64 of a PKIX P-256
	// or X25519 key, or a private key of another curve.
	ErrInvalidKey = errors.New("envelope: not a P-256 or X25519 key")
	// ErrMalformed reports an envelope whose members do not decode or name
	// another algorithm.
	ErrMalformed = errors.New("envelope: malformed envelope")
	// ErrDecrypt reports an envelope that does not open with the key: the
	// wrong key, or a ciphertext, nonce, epk or aad that was altered. The
	// two cases are deliberately not told apart.
	ErrDecrypt = errors.New("envelope: does not decrypt with this key")
)

// Envelope is an encrypted message, as JSON.
type Envelope struct {
	Alg        string `json:"alg"`
	EPK        string `json:"epk"`   // the sender's ephemeral public key, base64 PKIX
	Nonce      string `json:"nonce"` // 12 bytes, base64
	Ciphertext string `json:"ciphertext"`
	AAD        string `json:"aad,omitempty"` // authenticated, not encrypted; base64
}

// AdditionalData returns the envelope's authenticated additional data. It
// is authentic only once [Open] has succeeded.
func (e *Envelope) AdditionalData() ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(e.AAD)
	if err != nil {
		return nil, fmt.Errorf("%w: aad is not base64", ErrMalformed)
	}
	return b, nil
}

// maxKeyDER bounds an encoded public key, as the chaincode does.
const maxKeyDER = 1024

// ParsePublicKey decodes a public key as the ledger stores it: base64 of
// its PKIX (SubjectPublicKeyInfo) DER encoding, P-256 or X25519.
func ParsePublicKey(b64 string) (*ecdh.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(der) == 0 || len(der) > maxKeyDER {
		return nil, fmt.Errorf("%w: not base64 of a PKIX key", ErrInvalidKey)
	}
	return parsePKIX(der)
}

func parsePKIX(der []byte) (*ecdh.PublicKey, error) {
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return k.ECDH()
		}
	case *ecdh.PublicKey:
		if k.Curve() == ecdh.X25519() || k.Curve() == ecdh.P256() {
			return k, nil
		}
	}
	return nil, ErrInvalidKey
}

// EncodePublicKey returns a public key in the ledger's form: base64 of its
// PKIX DER encoding.
func EncodePublicKey(pub *ecdh.PublicKey) (string, error) {
	der, err := marshalPKIX(pub)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

func marshalPKIX(pub *ecdh.PublicKey) ([]byte, error) {
	if pub == nil || (pub.Curve() != ecdh.X25519() && pub.Curve() != ecdh.P256()) {
		return nil, ErrInvalidKey
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return der, nil
}

// Seal encrypts plaintext to the holder of pub's private key, with aad
// authenticated alongside. aad travels in the clear: it should name what
// the message is (a delivery's access id), never hold a secret.
func Seal(pub *ecdh.PublicKey, plaintext, aad []byte) (*Envelope, error) {
	recipient, err := marshalPKIX(pub)
	if err != nil {
		return nil, err
	}
	eph, err := pub.Curve().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("envelope: ephemeral key: %w", err)
	}
	z, err := eph.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	epk, err := marshalPKIX(eph.PublicKey())
	if err != nil {
		return nil, err
	}
	aead, err := contentCipher(z, epk, recipient)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("envelope: nonce: %w", err)
	}
	env := &Envelope{
		Alg:        Alg,
		EPK:        base64.StdEncoding.EncodeToString(epk),
		Nonce:      base64.StdEncoding.EncodeToString(nonce),
		Ciphertext: base64.StdEncoding.EncodeToString(aead.Seal(nil, nonce, plaintext, aad)),
	}
	if len(aad) > 0 {
		env.AAD = base64.StdEncoding.EncodeToString(aad)
	}
	return env, nil
}

// Open decrypts an envelope with the recipient's private key and returns
// the plaintext. The envelope's additional data is authentic once Open
// succeeds; the caller must still check that it names what it expects
// ([Envelope.AdditionalData]).
func Open(priv *ecdh.PrivateKey, env *Envelope) ([]byte, error) {
	if priv == nil || (priv.Curve() != ecdh.X25519() && priv.Curve() != ecdh.P256()) {
		return nil, ErrInvalidKey
	}
	if env == nil || env.Alg != Alg {
		return nil, fmt.Errorf("%w: alg is not %s", ErrMalformed, Alg)
	}
	epkDER, err1 := base64.StdEncoding.DecodeString(env.EPK)
	nonce, err2 := base64.StdEncoding.DecodeString(env.Nonce)
	ct, err3 := base64.StdEncoding.DecodeString(env.Ciphertext)
	aad, err4 := env.AdditionalData()
	if err := errors.Join(err1, err2, err3, err4); err != nil || len(epkDER) > maxKeyDER {
		return nil, fmt.Errorf("%w: a member is not base64", ErrMalformed)
	}
	epk, err := parsePKIX(epkDER)
	if err != nil {
		return nil, fmt.Errorf("%w: epk: %w", ErrMalformed, err)
	}
	if epk.Curve() != priv.Curve() {
		// Another curve is another recipient's envelope.
		return nil, ErrDecrypt
	}
	recipient, err := marshalPKIX(priv.PublicKey())
	if err != nil {
		return nil, err
	}
	z, err := priv.ECDH(epk)
	if err != nil {
		return nil, ErrDecrypt // a low-order X25519 point: no shared secret
	}
	// The epk is re-encoded so that info is computed over the canonical
	// DER, exactly as the sender did.
	canonical, err := marshalPKIX(epk)
	if err != nil {
		return nil, err
	}
	aead, err := contentCipher(z, canonical, recipient)
	if err != nil {
		return nil, err
	}
	if len(nonce) != aead.NonceSize() {
		return nil, fmt.Errorf("%w: nonce is not %d bytes", ErrMalformed, aead.NonceSize())
	}
	pt, err := aead.Open(nil, nonce, ct, aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// contentCipher derives the AES-256-GCM content key from the shared secret
// and both public keys.
func contentCipher(z, epk, recipient []byte) (cipher.AEAD, error) {
	info := make([]byte, 0, len(Alg)+1+4+len(epk)+len(recipient))
	info = append(info, Alg...)
	info = append(info, 0)
	info = binary.BigEndian.AppendUint16(info, uint16(len(epk)))
	info = append(info, epk...)
	info = binary.BigEndian.AppendUint16(info, uint16(len(recipient)))
	info = append(info, recipient...)
	key, err := hkdf.Key(sha256.New, z, nil, string(info), 32)
	if err != nil {
		return nil, fmt.Errorf("envelope: derive key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("envelope: cipher: %w", err)
	}
	return cipher.NewGCM(block)
}
