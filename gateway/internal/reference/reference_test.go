package reference

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestHash pins the rule, computed independently (Python hmac): the
// reference hash is HMAC-SHA-256 under the key, not SHA-256 of the
// reference, so a dictionary of references recovers nothing without the
// key.
func TestHash(t *testing.T) {
	key := make([]byte, KeySize)
	for i := range key {
		key[i] = byte(i)
	}
	k, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	const ref = "LOAN-2026-0042"
	got := k.Hash(ref)
	if want := "cd8bfedf566fdae1b1265fe5ec8a3ef08185ea147f4ca2e09a28d290bde68991"; got != want {
		t.Fatalf("Hash(%q) = %s, want %s", ref, got, want)
	}
	plain := sha256.Sum256([]byte(ref))
	if got == hex.EncodeToString(plain[:]) {
		t.Fatal("the reference hash is the SHA-256 of the reference")
	}
	other, _ := New(bytes.Repeat([]byte{1}, KeySize))
	if other.Hash(ref) == got {
		t.Fatal("two keys give one reference hash")
	}
	if _, err := New(key[1:]); err == nil {
		t.Fatal("a 31-byte key was accepted")
	}
}

func TestCheckRefusesIDNumbers(t *testing.T) {
	for ref, refused := range map[string]bool{
		"LOAN-2026-0042":                    false,
		"CLAIM 2026/0815":                   false,
		"贷款申请 2026-0042":                    false,
		"370102199003071234":                true,
		"11010519491231002X":                true,
		"11010519491231002x":                true,
		"LOAN-370102199003071234":           true,
		"申请人 11010519491231002X 的贷款":        true,
		"99999999999999999 is not a number": false,
	} {
		err := Check(ref)
		if refused != errors.Is(err, ErrIDNumber) {
			t.Errorf("Check(%q) = %v, refused want %v", ref, err, refused)
		}
		if err != nil && bytes.Contains([]byte(err.Error()), []byte(ref)) {
			t.Errorf("the error quotes the reference: %v", err)
		}
	}
}

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", KeyFile)
	k1, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != KeySize {
		t.Fatalf("key file: %v %v", fi, err)
	}
	k2, err := LoadOrCreate(path)
	if err != nil || k2.Hash("x") != k1.Hash("x") {
		t.Fatalf("the key was not read back: %v", err)
	}
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(path); err == nil {
		t.Fatal("a 5-byte key file was accepted")
	}
}
