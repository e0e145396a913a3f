package envelope

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// KeyFileName is the data-encryption key's file name in a gateway's data
// directory.
const KeyFileName = "encryption-key.pem"

// GenerateKey returns a new X25519 private key, the default kind of
// data-encryption key.
func GenerateKey() (*ecdh.PrivateKey, error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("envelope: generate key: %w", err)
	}
	return k, nil
}

// LoadOrCreateKey reads the data-encryption private key at path (PKCS#8
// PEM, X25519 or P-256), or, if there is no file, generates an X25519 key
// and writes it there with mode 0600. Two processes starting at once end
// up with the same key.
func LoadOrCreateKey(path string) (*ecdh.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return createKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("envelope: read key: %w", err)
	}
	return ParsePrivateKeyPEM(b)
}

// ParsePrivateKeyPEM decodes a PKCS#8 PEM private key, X25519 or P-256.
func ParsePrivateKeyPEM(b []byte) (*ecdh.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New("envelope: not a PKCS#8 PEM private key")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("envelope: parse key: %w", err)
	}
	switch k := k.(type) {
	case *ecdh.PrivateKey:
		if k.Curve() == ecdh.X25519() {
			return k, nil
		}
	case *ecdsa.PrivateKey:
		if ek, err := k.ECDH(); err == nil && ek.Curve() == ecdh.P256() {
			return ek, nil
		}
	}
	return nil, ErrInvalidKey
}

// MarshalPrivateKeyPEM encodes a private key as PKCS#8 PEM.
func MarshalPrivateKeyPEM(k *ecdh.PrivateKey) ([]byte, error) {
	if k == nil || (k.Curve() != ecdh.X25519() && k.Curve() != ecdh.P256()) {
		return nil, ErrInvalidKey
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("envelope: encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func createKey(path string) (*ecdh.PrivateKey, error) {
	k, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	b, err := MarshalPrivateKeyPEM(k)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("envelope: create key directory: %w", err)
	}
	// The key is written to a temporary file and linked into place: the
	// link fails if a concurrent start got there first (this one then
	// reads that key), and no reader ever sees a half-written file.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".encryption-key-*")
	if err != nil {
		return nil, fmt.Errorf("envelope: create key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("envelope: write key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("envelope: write key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) {
		return LoadOrCreateKey(path)
	} else if err != nil {
		return nil, fmt.Errorf("envelope: install key file: %w", err)
	}
	return k, nil
}
