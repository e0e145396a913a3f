package envelope

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func mustKey(t *testing.T, c ecdh.Curve) *ecdh.PrivateKey {
	t.Helper()
	k, err := c.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// flip returns b64 with one bit of its decoded bytes flipped at index i
// (counted from the end when negative).
func flip(t *testing.T, b64 string, i int) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) == 0 {
		t.Fatalf("flip: %q", b64)
	}
	if i < 0 {
		i += len(b)
	}
	b[i] ^= 0x01
	return base64.StdEncoding.EncodeToString(b)
}

func TestSealOpen(t *testing.T) {
	for _, curve := range []struct {
		name string
		c    ecdh.Curve
	}{{"X25519", ecdh.X25519()}, {"P-256", ecdh.P256()}} {
		t.Run(curve.name, func(t *testing.T) {
			priv := mustKey(t, curve.c)
			pubB64, err := EncodePublicKey(priv.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			pub, err := ParsePublicKey(pubB64)
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				name      string
				plaintext []byte
				aad       []byte
			}{
				{"delivery", []byte(`{"type":"quanchain.delivery.v1","records":[]}`), []byte("acc-1")},
				{"empty plaintext", nil, []byte("acc-2")},
				{"no aad", []byte("yes"), nil},
				{"large", bytes.Repeat([]byte("x"), 1<<20), []byte("acc-3")},
			} {
				t.Run(tc.name, func(t *testing.T) {
					env, err := Seal(pub, tc.plaintext, tc.aad)
					if err != nil {
						t.Fatal(err)
					}
					// Through JSON, as it travels.
					b, _ := json.Marshal(env)
					var got Envelope
					if err := json.Unmarshal(b, &got); err != nil {
						t.Fatal(err)
					}
					pt, err := Open(priv, &got)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(pt, tc.plaintext) {
						t.Fatalf("plaintext differs")
					}
					aad, err := got.AdditionalData()
					if err != nil || !bytes.Equal(aad, tc.aad) {
						t.Fatalf("aad %q, %v", aad, err)
					}
					if got.Alg != Alg {
						t.Fatalf("alg %q", got.Alg)
					}
				})
			}
		})
	}
}

func TestSealIsRandomised(t *testing.T) {
	priv := mustKey(t, ecdh.X25519())
	a, _ := Seal(priv.PublicKey(), []byte("same"), []byte("acc"))
	b, _ := Seal(priv.PublicKey(), []byte("same"), []byte("acc"))
	if a.EPK == b.EPK || a.Ciphertext == b.Ciphertext {
		t.Fatal("two envelopes of one message share an ephemeral key or ciphertext")
	}
}

func TestOpenRefusesTamperingAndWrongKeys(t *testing.T) {
	priv := mustKey(t, ecdh.X25519())
	other := mustKey(t, ecdh.X25519())
	otherCurve := mustKey(t, ecdh.P256())
	good, err := Seal(priv.PublicKey(), []byte(`{"answer":true}`), []byte("acc-1"))
	if err != nil {
		t.Fatal(err)
	}
	otherEPK, _ := EncodePublicKey(mustKey(t, ecdh.X25519()).PublicKey())
	p256EPK, _ := EncodePublicKey(mustKey(t, ecdh.P256()).PublicKey())
	for _, tc := range []struct {
		name string
		key  *ecdh.PrivateKey
		edit func(e *Envelope)
		want error
	}{
		{"wrong key", other, nil, ErrDecrypt},
		{"wrong curve", otherCurve, nil, ErrDecrypt},
		{"ciphertext bit", priv, func(e *Envelope) { e.Ciphertext = flip(t, e.Ciphertext, 0) }, ErrDecrypt},
		{"tag bit", priv, func(e *Envelope) { e.Ciphertext = flip(t, e.Ciphertext, -1) }, ErrDecrypt},
		{"truncated ciphertext", priv, func(e *Envelope) { e.Ciphertext = base64.StdEncoding.EncodeToString([]byte("short")) }, ErrDecrypt},
		{"nonce bit", priv, func(e *Envelope) { e.Nonce = flip(t, e.Nonce, 3) }, ErrDecrypt},
		{"aad changed", priv, func(e *Envelope) { e.AAD = base64.StdEncoding.EncodeToString([]byte("acc-2")) }, ErrDecrypt},
		{"aad dropped", priv, func(e *Envelope) { e.AAD = "" }, ErrDecrypt},
		{"epk replaced", priv, func(e *Envelope) { e.EPK = otherEPK }, ErrDecrypt},
		{"epk of another curve", priv, func(e *Envelope) { e.EPK = p256EPK }, ErrDecrypt},
		{"epk not a key", priv, func(e *Envelope) { e.EPK = base64.StdEncoding.EncodeToString([]byte("nope")) }, ErrMalformed},
		{"alg", priv, func(e *Envelope) { e.Alg = "dir" }, ErrMalformed},
		{"alg none", priv, func(e *Envelope) { e.Alg = "" }, ErrMalformed},
		{"nonce length", priv, func(e *Envelope) { e.Nonce = base64.StdEncoding.EncodeToString(make([]byte, 8)) }, ErrMalformed},
		{"not base64", priv, func(e *Envelope) { e.Ciphertext = "***" }, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := *good
			if tc.edit != nil {
				tc.edit(&env)
			}
			pt, err := Open(tc.key, &env)
			if !errors.Is(err, tc.want) || pt != nil {
				t.Fatalf("got %v, %q; want %v", err, pt, tc.want)
			}
		})
	}
	if _, err := Open(priv, nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("nil envelope: %v", err)
	}
}

func TestParsePublicKey(t *testing.T) {
	x, _ := EncodePublicKey(mustKey(t, ecdh.X25519()).PublicKey())
	p, _ := EncodePublicKey(mustKey(t, ecdh.P256()).PublicKey())
	// A P-256 key as an ECDSA key's PKIX encoding, as other tools write it.
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&ek.PublicKey)
	ecdsaForm := base64.StdEncoding.EncodeToString(der)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der384, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	for _, tc := range []struct {
		name string
		in   string
		ok   bool
	}{
		{"X25519", x, true},
		{"P-256", p, true},
		{"P-256 from ECDSA", ecdsaForm, true},
		{"P-384", base64.StdEncoding.EncodeToString(der384), false},
		{"empty", "", false},
		{"not base64", "!!", false},
		{"url alphabet", base64.URLEncoding.EncodeToString(der) + "_-", false},
		{"garbage", base64.StdEncoding.EncodeToString([]byte("garbage")), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParsePublicKey(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("got %v, %v", k, err)
			}
			if err != nil && !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("error %v is not ErrInvalidKey", err)
			}
		})
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", KeyFileName)
	var wg sync.WaitGroup
	keys := make([]*ecdh.PrivateKey, 8)
	errs := make([]error, 8)
	for i := range keys {
		wg.Go(func() { keys[i], errs[i] = LoadOrCreateKey(path) })
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !keys[i].Equal(keys[0]) {
			t.Fatal("concurrent starts produced different keys")
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", fi.Mode(), err)
	}
	again, err := LoadOrCreateKey(path)
	if err != nil || !again.Equal(keys[0]) {
		t.Fatalf("reload: %v", err)
	}
	if keys[0].Curve() != ecdh.X25519() {
		t.Fatal("default key is not X25519")
	}

	// A P-256 key written by an operator is loaded as such.
	p := mustKey(t, ecdh.P256())
	b, err := MarshalPrivateKeyPEM(p)
	if err != nil {
		t.Fatal(err)
	}
	pp := filepath.Join(dir, "p256.pem")
	os.WriteFile(pp, b, 0o600)
	got, err := LoadOrCreateKey(pp)
	if err != nil || !got.Equal(p) {
		t.Fatalf("P-256: %v", err)
	}
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	if _, err := LoadOrCreateKey(bad); err == nil {
		t.Fatal("garbage key file accepted")
	}
}
