// Package reference turns an institution's reference for an authorisation
// (its loan application or claim number) into the reference hash the
// ledger keeps.
//
// # Keyed, not hashed
//
// References are short and structured ("LOAN-2026-0042"): a plain SHA-256
// of one is recovered from the ledger with a small dictionary. The reference
// hash is therefore keyed with a secret of the requesting institution's
// gateway:
//
//	reference_hash = hex(HMAC-SHA-256(key, reference))
//
// over the reference's UTF-8 bytes exactly as the institution sent them,
// with the 32 bytes of the key file as the key, in 64 lower-case hex
// digits. The institution recomputes it from its own copy of the key to
// match an authorisation on the ledger with its application; nobody else
// can. Every gateway of one organisation must hold the same key file, and
// replacing it changes the hash of every reference from then on.
//
// # Never an ID number
//
// A reference that is or contains a resident ID number (17 digits followed
// by a digit or X, model.HasIDNumber) is refused: keyed or not, a citizen's
// ID number does not belong in what reaches the ledger.
package reference

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/quanchain/quanchain/chaincode/model"
)

// KeySize is the size in bytes of a reference key.
const KeySize = 32

// KeyFile is the name of the reference key file in a gateway's data
// directory.
const KeyFile = "reference-key"

// ErrIDNumber reports a reference that is or contains a resident ID number.
var ErrIDNumber = errors.New("reference: is or contains a resident ID number")

// Key keys the reference hashes of one institution. It is safe for
// concurrent use.
type Key struct {
	key []byte
}

// New returns a Key over a copy of key, which must be KeySize random bytes.
func New(key []byte) (*Key, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("reference: a key must be %d bytes, got %d", KeySize, len(key))
	}
	return &Key{key: append([]byte(nil), key...)}, nil
}

// LoadOrCreate reads the key file at path (KeySize raw bytes), creating it
// with KeySize bytes from crypto/rand, mode 0600, if it does not exist.
func LoadOrCreate(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return create(path)
	}
	if err != nil {
		return nil, fmt.Errorf("reference: read key: %w", err)
	}
	k, err := New(b)
	if err != nil {
		return nil, fmt.Errorf("reference: key file %s: %w", path, err)
	}
	return k, nil
}

// create writes a new key file. The key is written to a temporary file
// (mode 0600) and linked into place: the link fails if a concurrent start
// got there first (this one then reads that key), and no reader ever sees
// a half-written file.
func create(path string) (*Key, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("reference: create key directory: %w", err)
	}
	b := make([]byte, KeySize)
	rand.Read(b)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".reference-key-*")
	if err != nil {
		return nil, fmt.Errorf("reference: create key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("reference: write key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("reference: write key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) {
		return LoadOrCreate(path)
	} else if err != nil {
		return nil, fmt.Errorf("reference: install key file: %w", err)
	}
	return New(b)
}

// Check refuses a reference that is or contains a resident ID number, with
// ErrIDNumber; the error never quotes the reference.
func Check(reference string) error {
	if model.HasIDNumber(reference) {
		return ErrIDNumber
	}
	return nil
}

// Hash returns the reference hash of reference: HMAC-SHA-256 under the key
// of its UTF-8 bytes as given, as 64 lower-case hex digits.
func (k *Key) Hash(reference string) string {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(reference))
	return hex.EncodeToString(m.Sum(nil))
}
