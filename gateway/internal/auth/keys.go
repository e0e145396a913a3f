package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// SigningKey is the ES256 key tokens are signed with and its key id, the
// RFC 7638 thumbprint of its public key.
type SigningKey struct {
	ID         string
	PrivateKey *ecdsa.PrivateKey
}

// NewSigningKey wraps a P-256 private key.
func NewSigningKey(k *ecdsa.PrivateKey) (*SigningKey, error) {
	if k == nil || k.Curve != elliptic.P256() {
		return nil, errors.New("auth: signing key must be ECDSA P-256 (ES256)")
	}
	kid, err := Thumbprint(&k.PublicKey)
	if err != nil {
		return nil, err
	}
	return &SigningKey{ID: kid, PrivateKey: k}, nil
}

// LoadOrCreateSigningKey reads the signing key at path (PKCS#8 PEM), or
// generates one there, readable by the owner only, if the file is absent.
func LoadOrCreateSigningKey(path string) (*SigningKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return createSigningKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: read signing key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("auth: %s is not a PKCS#8 PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("auth: parse signing key %s: %w", path, err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("auth: %s is not an ECDSA key", path)
	}
	return NewSigningKey(ek)
}

func createSigningKey(path string) (*SigningKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("auth: generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("auth: encode signing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("auth: create key directory: %w", err)
	}
	// O_EXCL: two processes starting at once must not overwrite each other.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadOrCreateSigningKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: create signing key file: %w", err)
	}
	if err := errors.Join(pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}), f.Close()); err != nil {
		return nil, fmt.Errorf("auth: write signing key: %w", err)
	}
	return NewSigningKey(k)
}

// LoadPublicKey reads a P-256 public key from a PEM file holding a public
// key (PKIX) or a private key (PKCS#8), for the verification key set.
func LoadPublicKey(path string) (*ecdsa.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: read verification key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("auth: %s holds no PEM block", path)
	}
	var k any
	switch blk.Type {
	case "PUBLIC KEY":
		k, err = x509.ParsePKIXPublicKey(blk.Bytes)
	case "PRIVATE KEY":
		var pk any
		if pk, err = x509.ParsePKCS8PrivateKey(blk.Bytes); err == nil {
			if ek, ok := pk.(*ecdsa.PrivateKey); ok {
				k = &ek.PublicKey
			}
		}
	default:
		return nil, fmt.Errorf("auth: %s: unexpected PEM block %q", path, blk.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: parse %s: %w", path, err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("auth: %s is not a P-256 key", path)
	}
	return pub, nil
}

// Thumbprint is the RFC 7638 JWK thumbprint (base64url SHA-256) of a P-256
// public key, used as the key id.
func Thumbprint(pub *ecdsa.PublicKey) (string, error) {
	ek, err := pub.ECDH()
	if err != nil {
		return "", fmt.Errorf("auth: key id: %w", err)
	}
	raw := ek.Bytes() // 0x04 ‖ x ‖ y
	enc := base64.RawURLEncoding.EncodeToString
	canon := fmt.Sprintf(`{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}`, enc(raw[1:33]), enc(raw[33:]))
	sum := sha256.Sum256([]byte(canon))
	return enc(sum[:]), nil
}

// KeySet is the signing key and every key a token may be verified with:
// the signing key's public half and retired keys kept during rotation.
// It is immutable once built.
type KeySet struct {
	signing *SigningKey
	verify  map[string]*ecdsa.PublicKey
}

// NewKeySet builds a key set from the signing key and extra verification
// keys.
func NewKeySet(signing *SigningKey, verify ...*ecdsa.PublicKey) (*KeySet, error) {
	if signing == nil {
		return nil, errors.New("auth: a signing key is required")
	}
	ks := &KeySet{signing: signing, verify: map[string]*ecdsa.PublicKey{signing.ID: &signing.PrivateKey.PublicKey}}
	for _, pub := range verify {
		kid, err := Thumbprint(pub)
		if err != nil {
			return nil, err
		}
		ks.verify[kid] = pub
	}
	return ks, nil
}

// SigningKeyID returns the id of the current signing key.
func (ks *KeySet) SigningKeyID() string { return ks.signing.ID }

// lookup returns the verification key with id kid.
func (ks *KeySet) lookup(kid string) (*ecdsa.PublicKey, bool) {
	k, ok := ks.verify[kid]
	return k, ok
}
