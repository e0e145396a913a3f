package jws

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func newSigner(t *testing.T) *Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignVerify(t *testing.T) {
	s, other := newSigner(t), newSigner(t)
	tok, err := s.Sign("test+jws", []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(tok, "test+jws")
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if string(v.Payload) != `{"a":1}` || v.KeyID != s.KeyID() {
		t.Fatalf("verified %q by %s, want the payload by %s", v.Payload, v.KeyID, s.KeyID())
	}
	parts := strings.Split(tok, ".")
	otherTok, _ := other.Sign("test+jws", []byte(`{"a":1}`))
	otherParts := strings.Split(otherTok, ".")
	enc := base64.RawURLEncoding.EncodeToString
	for name, bad := range map[string]string{
		"payload changed":         parts[0] + "." + enc([]byte(`{"a":2}`)) + "." + parts[2],
		"another key's header":    otherParts[0] + "." + parts[1] + "." + parts[2],
		"another key's signature": parts[0] + "." + parts[1] + "." + otherParts[2],
		"alg none":                enc([]byte(`{"alg":"none","typ":"test+jws"}`)) + "." + parts[1] + ".",
		"kid not the thumbprint":  enc([]byte(strings.Replace(string(mustDecode(t, parts[0])), s.KeyID(), other.KeyID(), 1))) + "." + parts[1] + "." + parts[2],
		"two parts":               parts[0] + "." + parts[1],
		"padded base64":           parts[0] + "=." + parts[1] + "." + parts[2],
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Verify(bad, "test+jws"); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Verify = %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := Verify(tok, "other+jws"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("another type: Verify = %v, want ErrInvalid", err)
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
