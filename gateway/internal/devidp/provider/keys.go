package provider

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	jose "github.com/go-jose/go-jose/v4"
)

// Files of the state directory.
const (
	signingKeyFile = "signing-key.pem" // RSA-2048, PKCS #8
	subjectKeyFile = "subject.key"     // 32 random bytes: the subject HMAC key
)

// Keys are the provider's long-lived secrets, kept in its state directory:
// the ID token signing key, whose public half the relying parties register
// (its kid is its RFC 7638 thumbprint, so the same key always has the same
// kid), and the key subjects are derived under.
type Keys struct {
	signing *rsa.PrivateKey
	kid     string
	subject []byte
}

// LoadKeys reads the keys from dir, creating dir (0700) and each missing
// key (a 0600 file) first. Two processes starting at once end up with the
// same keys: a key file is linked into place only if none exists yet.
func LoadKeys(dir string) (*Keys, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("devidp: state directory: %w", err)
	}
	pemKey, err := loadOrCreate(filepath.Join(dir, signingKeyFile), func() ([]byte, error) {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	})
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(pemKey)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("devidp: %s is not a PEM private key", signingKeyFile)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("devidp: %s: %w", signingKeyFile, err)
	}
	signing, ok := parsed.(*rsa.PrivateKey)
	if !ok || signing.N.BitLen() < 2048 {
		return nil, fmt.Errorf("devidp: %s is not an RSA key of at least 2048 bits", signingKeyFile)
	}
	subject, err := loadOrCreate(filepath.Join(dir, subjectKeyFile), func() ([]byte, error) {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return b, err
	})
	if err != nil {
		return nil, err
	}
	if len(subject) != 32 {
		return nil, fmt.Errorf("devidp: %s must hold 32 bytes", subjectKeyFile)
	}
	thumb, err := (&jose.JSONWebKey{Key: &signing.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("devidp: key thumbprint: %w", err)
	}
	return &Keys{signing: signing, kid: base64.RawURLEncoding.EncodeToString(thumb), subject: subject}, nil
}

// loadOrCreate returns the file at path, writing make's bytes there first
// (mode 0600) if it does not exist.
func loadOrCreate(path string, make func() ([]byte, error)) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("devidp: %w", err)
	}
	fresh, err := make()
	if err != nil {
		return nil, fmt.Errorf("devidp: create %s: %w", filepath.Base(path), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, fmt.Errorf("devidp: %w", err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600; the key is written only into it.
	if _, err := tmp.Write(fresh); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("devidp: write %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("devidp: write %s: %w", filepath.Base(path), err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return os.ReadFile(path) // another process was first
		}
		return nil, fmt.Errorf("devidp: %w", err)
	}
	return fresh, nil
}

// KeyID is the signing key's kid: its RFC 7638 SHA-256 thumbprint.
func (k *Keys) KeyID() string { return k.kid }

// JWKS returns the public key set relying parties verify ID tokens with.
func (k *Keys) JWKS() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &k.signing.PublicKey, KeyID: k.kid, Algorithm: string(jose.RS256), Use: "sig",
	}}}
}

// JWKSJSON is JWKS as JSON, indented: what `quanchain-devidp jwks` prints.
func (k *Keys) JWKSJSON() ([]byte, error) {
	return json.MarshalIndent(k.JWKS(), "", "  ")
}

// Subject is the pairwise subject of a normalised ID number for a client:
// an HMAC under the state directory's subject key, so it is stable across
// restarts, differs between clients, and does not reveal the ID number.
func (k *Keys) Subject(clientID, idNumber string) string {
	m := hmac.New(sha256.New, k.subject)
	m.Write([]byte("sub\x00" + clientID + "\x00" + idNumber))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// limitKey is the key of a citizen's attempt limits: derived from the ID
// number like a subject, so the limits hold no ID numbers.
func (k *Keys) limitKey(idNumber string) string {
	m := hmac.New(sha256.New, k.subject)
	m.Write([]byte("limit\x00" + idNumber))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// signingKey is the op.SigningKey and op.Key of Keys.
type signingKey struct{ k *Keys }

func (s signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (s signingKey) Algorithm() jose.SignatureAlgorithm          { return jose.RS256 }
func (s signingKey) Key() any                                    { return s.k.signing }
func (s signingKey) ID() string                                  { return s.k.kid }
func (s signingKey) Use() string                                 { return "sig" }

// publicKey is the op.Key the keys endpoint publishes.
type publicKey struct{ signingKey }

func (p publicKey) Key() any { return &p.k.signing.PublicKey }
