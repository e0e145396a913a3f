package webauthn_test

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"math/big"
	"testing"

	"github.com/quanchain/quanchain/chaincode/sig"
	"github.com/quanchain/quanchain/chaincode/webauthn"
	"github.com/quanchain/quanchain/internal/identitytest"
)

const (
	rpID   = "consent.example.test"
	origin = "https://consent.example.test"
)

var b64 = base64.RawURLEncoding

type parts struct{ ad, cd, sig []byte }

func assert(t testing.TB, k *identitytest.Passkey, challenge []byte, rp, org string, uv bool) parts {
	t.Helper()
	a, err := k.Assert(challenge, rp, org, uv)
	if err != nil {
		t.Fatal(err)
	}
	dec := func(s string) []byte {
		b, err := b64.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return parts{dec(a.AuthenticatorData), dec(a.ClientDataJSON), dec(a.Signature)}
}

// resign signs ad ‖ SHA-256(cd) with k, DER.
func resign(t *testing.T, k *identitytest.Passkey, p parts) parts {
	t.Helper()
	h := sha256.Sum256(p.cd)
	sum := sha256.Sum256(append(append([]byte(nil), p.ad...), h[:]...))
	s, err := ecdsa.SignASN1(nil, k.Key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	p.sig = s
	return p
}

func TestVerify(t *testing.T) {
	k, err := identitytest.NewPasskey()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sig.ParseJWK([]byte(k.JWK))
	if err != nil {
		t.Fatal(err)
	}
	challenge := sha256.Sum256([]byte("payload"))
	want := webauthn.Expect{RPID: rpID, Origins: []string{"https://other.test", origin}, Challenge: challenge[:], RequireUV: true}
	good := assert(t, k, challenge[:], rpID, origin, true)
	raw := func() parts {
		var der struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(good.sig, &der); err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 64)
		der.R.FillBytes(out[:32])
		der.S.FillBytes(out[32:])
		return parts{good.ad, good.cd, out}
	}()
	noUP := resign(t, k, parts{append(append([]byte(nil), good.ad[:32]...), append([]byte{0x04}, good.ad[33:]...)...), good.cd, nil})
	cdWith := func(json string) parts { return resign(t, k, parts{good.ad, []byte(json), nil}) }
	chal := b64.EncodeToString(challenge[:])
	tests := []struct {
		name   string
		p      parts
		expect func(*webauthn.Expect)
		want   error
		uv     bool
	}{
		{"good", good, nil, nil, true},
		{"raw signature", raw, nil, nil, true},
		{"no UV, not asked", assert(t, k, challenge[:], rpID, origin, false), func(e *webauthn.Expect) { e.RequireUV = false }, nil, false},
		{"no UV", assert(t, k, challenge[:], rpID, origin, false), nil, webauthn.ErrUserVerification, false},
		{"no UP", noUP, nil, webauthn.ErrUserPresence, false},
		{"other rp", assert(t, k, challenge[:], "evil.test", origin, true), nil, webauthn.ErrRPID, false},
		{"other origin", assert(t, k, challenge[:], rpID, "https://evil.test", true), nil, webauthn.ErrOrigin, false},
		{"other challenge", assert(t, k, []byte("other"), rpID, origin, true), nil, webauthn.ErrChallenge, false},
		{"short data", parts{good.ad[:36], good.cd, good.sig}, nil, webauthn.ErrAuthenticatorData, false},
		{"create type", cdWith(`{"type":"webauthn.create","challenge":"` + chal + `","origin":"` + origin + `"}`), nil, webauthn.ErrClientData, false},
		{"cross origin", cdWith(`{"type":"webauthn.get","challenge":"` + chal + `","origin":"` + origin + `","crossOrigin":true}`), nil, webauthn.ErrClientData, false},
		{"padded challenge", cdWith(`{"type":"webauthn.get","challenge":"` + chal + `=","origin":"` + origin + `"}`), nil, webauthn.ErrChallenge, false},
		{"not json", cdWith(`nope`), nil, webauthn.ErrClientData, false},
		{"tampered client data", parts{good.ad, append([]byte(nil), good.cd...)[:len(good.cd)-1], good.sig}, nil, webauthn.ErrClientData, false},
		{"other key's signature", func() parts {
			k2, _ := identitytest.NewPasskey()
			return resign(t, k2, good)
		}(), nil, webauthn.ErrSignature, false},
		{"garbage signature", parts{good.ad, good.cd, []byte{1, 2, 3}}, nil, webauthn.ErrSignature, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := want
			if tt.expect != nil {
				tt.expect(&e)
			}
			r, err := webauthn.Verify(pub, tt.p.ad, tt.p.cd, tt.p.sig, e)
			if tt.want == nil {
				if err != nil || r.UserVerified != tt.uv || r.SignCount == 0 {
					t.Fatalf("got %+v, %v", r, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	k, err := identitytest.NewPasskey()
	if err != nil {
		f.Fatal(err)
	}
	pub, _ := sig.ParseJWK([]byte(k.JWK))
	challenge := []byte("challenge")
	good := assert(f, k, challenge, rpID, origin, true)
	f.Add(good.ad, good.cd, good.sig)
	f.Add([]byte{}, []byte("{}"), []byte{})
	f.Fuzz(func(t *testing.T, ad, cd, s []byte) {
		_, _ = webauthn.Verify(pub, ad, cd, s, webauthn.Expect{RPID: rpID, Origins: []string{origin}, Challenge: challenge})
		_, _ = webauthn.Verify(nil, ad, cd, s, webauthn.Expect{RPID: rpID, Origins: []string{origin}, Challenge: challenge})
	})
}
