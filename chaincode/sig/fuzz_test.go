package sig

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"testing"
)

// FuzzParseJWK checks that ParseJWK never panics, fails only with the
// documented errors, and that every key it accepts survives the round trip
// through CanonicalJWK and has a thumbprint.
func FuzzParseJWK(f *testing.F) {
	f.Add([]byte(rfcJWK("")))
	f.Add([]byte(webCryptoJWK))
	f.Add([]byte(rfcJWK(`,"d":"` + rfcD + `"`)))
	f.Add([]byte(rfcJWK(`,"x":"` + rfcX + `"`)))
	f.Add([]byte(`{"kty":"EC","crv":"P-256","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`))
	f.Add([]byte(`{"kty":"RSA","n":"AQAB","e":"AQAB"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, b []byte) {
		pub, err := ParseJWK(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidKey) && !errors.Is(err, ErrPrivateKey) {
				t.Fatalf("ParseJWK(%q): undocumented error %v", b, err)
			}
			if pub != nil {
				t.Fatalf("ParseJWK(%q) returned a key and error %v", b, err)
			}
			return
		}
		// An accepted JWK is one JSON object without a private key.
		members, err := parseObject(b)
		if err != nil {
			t.Fatalf("ParseJWK accepted %q, which is not one JSON object: %v", b, err)
		}
		if _, ok := members["d"]; ok {
			t.Fatalf("ParseJWK(%q) accepted a private key", b)
		}
		canonical := CanonicalJWK(pub)
		again, err := ParseJWK(canonical)
		if err != nil || !again.Equal(pub) {
			t.Fatalf("ParseJWK(CanonicalJWK) of the key from %q: %v", b, err)
		}
		if len(Thumbprint(pub)) != 43 {
			t.Fatalf("Thumbprint(%q) = %q", b, Thumbprint(pub))
		}
	})
}

// FuzzVerify checks that Verify never panics and fails only with the
// documented errors on arbitrary signatures, and that for a signature made
// here over the fuzzed message, both encodings verify and a flipped bit in
// the message or the signature does not.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(rfcInput), mustB64(f, rfcSig), uint16(0))
	f.Add([]byte(webCryptoMessage), mustB64(f, webCryptoSignature), uint16(7))
	f.Add([]byte{}, []byte{}, uint16(1))
	f.Add([]byte("m"), make([]byte, 64), uint16(511))
	f.Add([]byte("m"), []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, uint16(64))

	priv := rfcPrivateKey(f)
	pub := &priv.PublicKey
	f.Fuzz(func(t *testing.T, message, signature []byte, mutate uint16) {
		err := Verify(pub, message, signature)
		if err != nil && !errors.Is(err, ErrSignatureFormat) && !errors.Is(err, ErrSignatureInvalid) {
			t.Fatalf("Verify(%q, %x): undocumented error %v", message, signature, err)
		}
		if err == nil && !bytes.Equal(message, []byte(rfcInput)) {
			t.Fatalf("Verify(%q, %x) accepted a signature not made with the key", message, signature)
		}

		raw := rawSign(t, priv, message)
		digest := sha256.Sum256(message)
		der, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		for _, good := range [][]byte{raw, der} {
			if err := Verify(pub, message, good); err != nil {
				t.Fatalf("Verify(%q, %x) of a real signature: %v", message, good, err)
			}
		}
		bit := int(mutate) % (len(raw) * 8)
		if err := Verify(pub, message, flipBit(raw, bit)); !errors.Is(err, ErrSignatureInvalid) && !errors.Is(err, ErrSignatureFormat) {
			t.Fatalf("signature with bit %d flipped: got %v", bit, err)
		}
		if len(message) > 0 {
			bit := int(mutate) % (len(message) * 8)
			if err := Verify(pub, flipBit(message, bit), raw); !errors.Is(err, ErrSignatureInvalid) {
				t.Fatalf("message with bit %d flipped: got %v, want ErrSignatureInvalid", bit, err)
			}
		}
	})
}

// FuzzDecodeBase64 checks that DecodeBase64 never panics, fails only with
// ErrBase64, and accepts only text that is exactly one of the four standard
// encodings of what it returns.
func FuzzDecodeBase64(f *testing.F) {
	for _, s := range []string{"", "aGk", "aGk=", "-_-_AQ", "+/+/AQ==", "aGk=\n", "aGl", "+/-_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := DecodeBase64(s)
		if err != nil {
			if !errors.Is(err, ErrBase64) {
				t.Fatalf("DecodeBase64(%q): undocumented error %v", s, err)
			}
			return
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if enc.EncodeToString(b) == s {
				return
			}
		}
		t.Fatalf("DecodeBase64(%q) = %x, which no standard encoding turns back into the input", s, b)
	})
}
