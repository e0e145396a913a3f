package idtoken_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/idtoken"
	"github.com/quanchain/quanchain/internal/identitytest"
)

const (
	issuer   = "https://id.gov.test"
	audience = "quanchain-gateway"
	idNumber = "11010519491231002X"
	nonce    = "qc-enrol.KID.salt"
)

var (
	now = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	b64 = base64.RawURLEncoding

	provOnce sync.Once
	prov     *identitytest.Provider
)

func provider(t testing.TB) *identitytest.Provider {
	t.Helper()
	provOnce.Do(func() {
		var err error
		if prov, err = identitytest.NewProvider(issuer, audience); err != nil {
			panic(err)
		}
	})
	return prov
}

func keySet(t testing.TB, jwks string) *idtoken.KeySet {
	t.Helper()
	ks, err := idtoken.ParseJWKS([]byte(jwks))
	if err != nil {
		t.Fatalf("ParseJWKS: %v", err)
	}
	return ks
}

func expect() idtoken.Expect {
	return idtoken.Expect{Issuer: issuer, Audience: audience, Now: now, MaxAge: 10 * time.Minute,
		Nonce: func(n string) bool { return n == nonce }, ACRValues: []string{identitytest.ACR}, IDClaim: identitytest.IDClaim}
}

func TestVerifyAndCheck(t *testing.T) {
	p := provider(t)
	ks := keySet(t, p.JWKS())
	mint := func(o identitytest.Overrides) string {
		if o.Now.IsZero() {
			o.Now = now
		}
		tok, err := p.MintIDToken(strings.ToLower(idNumber), nonce, identitytest.ACR, o)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name    string
		token   string
		want    error
		wantErr error // a second sentinel the error must also wrap
	}{
		{"good", mint(identitytest.Overrides{}), nil, nil},
		{"aud array", mint(identitytest.Overrides{Audience: []string{"other", audience}}), nil, nil},
		{"azp matches", mint(identitytest.Overrides{Claims: map[string]any{"azp": audience}}), nil, nil},
		{"iat slightly ahead", mint(identitytest.Overrides{IssuedAt: now.Add(59 * time.Second)}), nil, nil},
		{"other issuer", mint(identitytest.Overrides{Issuer: "https://evil.test"}), idtoken.ErrIssuer, idtoken.ErrClaims},
		{"other audience", mint(identitytest.Overrides{Audience: "other"}), idtoken.ErrAudience, nil},
		{"audience not in array", mint(identitytest.Overrides{Audience: []string{"a", "b"}}), idtoken.ErrAudience, nil},
		{"azp other", mint(identitytest.Overrides{Claims: map[string]any{"azp": "other"}}), idtoken.ErrAudience, nil},
		{"expired", mint(identitytest.Overrides{Expiry: now}), idtoken.ErrExpired, nil},
		{"no exp", mint(identitytest.Overrides{Claims: map[string]any{"exp": nil}}), idtoken.ErrMalformed, nil},
		{"iat in future", mint(identitytest.Overrides{IssuedAt: now.Add(2 * time.Minute)}), idtoken.ErrIssuedAt, nil},
		{"too old", mint(identitytest.Overrides{IssuedAt: now.Add(-11 * time.Minute), Expiry: now.Add(time.Hour)}), idtoken.ErrIssuedAt, nil},
		{"auth too old", mint(identitytest.Overrides{AuthTime: now.Add(-time.Hour)}), idtoken.ErrIssuedAt, nil},
		{"nonce", mint(identitytest.Overrides{Claims: map[string]any{"nonce": "qc-enrol.OTHER.salt"}}), idtoken.ErrNonce, nil},
		{"acr", mint(identitytest.Overrides{Claims: map[string]any{"acr": "low"}}), idtoken.ErrACR, nil},
		{"no id", mint(identitytest.Overrides{Claims: map[string]any{identitytest.IDClaim: 42}}), idtoken.ErrIDNumber, nil},
		{"bad id", mint(identitytest.Overrides{Claims: map[string]any{identitytest.IDClaim: "1101051949123100X2"}}), idtoken.ErrIDNumber, nil},
		{"short id", mint(identitytest.Overrides{Claims: map[string]any{identitytest.IDClaim: "1234"}}), idtoken.ErrIDNumber, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := idtoken.Verify(tt.token, ks)
			var id string
			if err == nil {
				id, err = c.Check(expect())
			}
			if tt.want == nil {
				if err != nil || id != idNumber {
					t.Fatalf("got %q, %v; want %q", id, err, idNumber)
				}
				return
			}
			if !errors.Is(err, tt.want) || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), "11010519491231002") {
				t.Fatalf("error %q names the ID number", err)
			}
		})
	}
}

func TestVerifyRefusesHeadersAndKeys(t *testing.T) {
	p := provider(t)
	ks := keySet(t, p.JWKS())
	claims := map[string]any{"iss": issuer}
	sign := func(h map[string]any) string {
		tok, err := p.Sign(h, claims)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := sign(map[string]any{"alg": "RS256", "kid": p.KeyID})
	parts := strings.Split(good, ".")
	other, err := identitytest.NewProvider(issuer, audience)
	if err != nil {
		t.Fatal(err)
	}
	other.KeyID = p.KeyID // the operator's own key under the trusted kid
	forged, err := other.Sign(map[string]any{"alg": "RS256", "kid": p.KeyID}, claims)
	if err != nil {
		t.Fatal(err)
	}
	unsigned := b64.EncodeToString([]byte(`{"alg":"none","kid":"`+p.KeyID+`"}`)) + "." + parts[1] + "."
	tests := []struct {
		name, token string
		want        error
	}{
		{"good", good, nil},
		{"alg none", unsigned, idtoken.ErrAlgorithm},
		{"HS256", sign(map[string]any{"alg": "HS256", "kid": p.KeyID}), idtoken.ErrAlgorithm},
		{"ES256 on an RSA key", sign(map[string]any{"alg": "ES256", "kid": p.KeyID}), idtoken.ErrAlgorithm},
		{"unknown alg", sign(map[string]any{"alg": "PS256", "kid": p.KeyID}), idtoken.ErrAlgorithm},
		{"jku", sign(map[string]any{"alg": "RS256", "kid": p.KeyID, "jku": "https://evil.test/jwks"}), idtoken.ErrAlgorithm},
		{"x5u", sign(map[string]any{"alg": "RS256", "kid": p.KeyID, "x5u": "https://evil.test/x5u"}), idtoken.ErrAlgorithm},
		{"crit", sign(map[string]any{"alg": "RS256", "kid": p.KeyID, "crit": []string{"exp"}}), idtoken.ErrAlgorithm},
		{"no kid", sign(map[string]any{"alg": "RS256"}), idtoken.ErrMalformed},
		{"unknown kid", sign(map[string]any{"alg": "RS256", "kid": "other"}), idtoken.ErrUnknownKey},
		{"other key", forged, idtoken.ErrSignature},
		{"tampered claims", parts[0] + "." + b64.EncodeToString([]byte(`{"iss":"x"}`)) + "." + parts[2], idtoken.ErrSignature},
		{"two parts", parts[0] + "." + parts[1], idtoken.ErrMalformed},
		{"padding", good + "=", idtoken.ErrMalformed},
		{"too large", strings.Repeat("a", idtoken.MaxTokenSize+1), idtoken.ErrMalformed},
		{"duplicate header member", b64.EncodeToString([]byte(`{"alg":"RS256","alg":"RS256","kid":"x"}`)) + "." + parts[1] + "." + parts[2], idtoken.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := idtoken.Verify(tt.token, ks)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// esToken signs claims ES256 with k under kid.
func esToken(t *testing.T, k *ecdsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]any{"alg": "ES256", "kid": kid})
	c, _ := json.Marshal(claims)
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, k, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64.EncodeToString(sig)
}

func ecJWK(k *ecdsa.PrivateKey, kid string) string {
	raw, _ := k.PublicKey.Bytes()
	return fmt.Sprintf(`{"kty":"EC","crv":"P-256","alg":"ES256","kid":%q,"x":%q,"y":%q}`, kid,
		b64.EncodeToString(raw[1:33]), b64.EncodeToString(raw[33:]))
}

func TestES256(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := provider(t)
	ks := keySet(t, `{"keys":[`+ecJWK(k, "ec1")+`,`+strings.TrimSuffix(strings.TrimPrefix(p.JWKS(), `{"keys":[`), `]}`)+`]}`)
	if ks.Len() != 2 {
		t.Fatalf("Len = %d", ks.Len())
	}
	c, err := idtoken.Verify(esToken(t, k, "ec1", map[string]any{"iss": issuer}), ks)
	if err != nil || c.Issuer != issuer {
		t.Fatalf("Verify: %v", err)
	}
	// An ES256 token claiming the RSA key's kid.
	if _, err := idtoken.Verify(esToken(t, k, p.KeyID, map[string]any{}), ks); !errors.Is(err, idtoken.ErrAlgorithm) {
		t.Fatalf("ES256 under an RSA kid: %v", err)
	}
}

func rsaJWK(n *big.Int, e []byte, extra string) string {
	return fmt.Sprintf(`{"keys":[{"kty":"RSA","kid":"k"%s,"n":%q,"e":%q}]}`, extra, b64.EncodeToString(n.Bytes()), b64.EncodeToString(e))
}

func TestParseJWKSRefuses(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	big2048 := provider(t).Key.N
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tests := []struct{ name, jwks string }{
		{"empty", `{"keys":[]}`},
		{"not an object", `[]`},
		{"no keys", `{}`},
		{"keys null", `{"keys":null}`},
		{"1024-bit", rsaJWK(small.N, []byte{1, 0, 1}, "")},
		{"e=3", rsaJWK(big2048, []byte{3}, "")},
		{"alg RS512", rsaJWK(big2048, []byte{1, 0, 1}, `,"alg":"RS512"`)},
		{"use enc", rsaJWK(big2048, []byte{1, 0, 1}, `,"use":"enc"`)},
		{"private", rsaJWK(big2048, []byte{1, 0, 1}, `,"d":"AQ"`)},
		{"no kid", `{"keys":[{"kty":"RSA","n":"AQ","e":"AQAB"}]}`},
		{"oct", `{"keys":[{"kty":"oct","kid":"k","k":"AQ"}]}`},
		{"EC alg RS256", `{"keys":[` + strings.Replace(ecJWK(ek, "e"), "ES256", "RS256", 1) + `]}`},
		{"EC off curve", `{"keys":[{"kty":"EC","crv":"P-256","kid":"e","x":"` + strings.Repeat("A", 43) + `","y":"` + strings.Repeat("A", 43) + `"}]}`},
		{"duplicate kid", `{"keys":[` + ecJWK(ek, "e") + `,` + ecJWK(ek, "e") + `]}`},
		{"trailing", provider(t).JWKS() + "{}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := idtoken.ParseJWKS([]byte(tt.jwks)); !errors.Is(err, idtoken.ErrKeySet) {
				t.Fatalf("err = %v, want ErrKeySet", err)
			}
		})
	}
}

func TestValidIDNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"11010519491231002X": true, "110105194912310021": true, "11010519491231002x": false,
		"1101051949123100X1": false, "11010519491231002": false, "110105194912310021 ": false,
	} {
		if got := idtoken.ValidIDNumber(s); got != want {
			t.Errorf("ValidIDNumber(%q) = %v", s, got)
		}
	}
}

func FuzzVerify(f *testing.F) {
	p := provider(f)
	ks := keySet(f, p.JWKS())
	tok, err := p.MintIDToken(idNumber, nonce, identitytest.ACR, identitytest.Overrides{Now: now})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add("a.b.c")
	f.Add("..")
	f.Add(b64.EncodeToString([]byte(`{"alg":"RS256","kid":"`+p.KeyID+`"}`)) + ".e30.AA")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := idtoken.Verify(s, ks)
		if err == nil {
			_, _ = c.Check(expect())
		}
		_, _ = idtoken.ParseJWKS([]byte(s))
	})
}
