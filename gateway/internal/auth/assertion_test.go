package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestVerifyClientAssertion(t *testing.T) {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	const aud = "https://bank.example/v1/oauth/token"
	base := func() jwt.RegisteredClaims {
		return jwt.RegisteredClaims{Issuer: "c1", Subject: "c1", Audience: jwt.ClaimStrings{aud},
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)), ID: "j"}
	}
	sign := func(c jwt.RegisteredClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodES256, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	v, err := VerifyClientAssertion(sign(base()), "c1", &key.PublicKey, aud, now)
	if err != nil || v.ID != "j" || !v.ExpiresAt.After(now.Add(time.Minute)) {
		t.Fatalf("good assertion: %+v %v", v, err)
	}
	if id, err := AssertionClient(sign(base())); err != nil || id != "c1" {
		t.Fatalf("AssertionClient: %q %v", id, err)
	}
	for name, edit := range map[string]func(*jwt.RegisteredClaims){
		"nbf in the future": func(c *jwt.RegisteredClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute)) },
		"iat in the future": func(c *jwt.RegisteredClaims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Minute)) },
		"exp 6 minutes out": func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(6 * time.Minute)) },
		"expired":           func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute)) },
		"another audience": func(c *jwt.RegisteredClaims) {
			c.Audience = jwt.ClaimStrings{"https://bank.example/admin/v1/oauth/token"}
		},
		"another issuer": func(c *jwt.RegisteredClaims) { c.Issuer = "c2" },
		"long jti":       func(c *jwt.RegisteredClaims) { c.ID = string(make([]byte, 257)) },
	} {
		c := base()
		edit(&c)
		if _, err := VerifyClientAssertion(sign(c), "c1", &key.PublicKey, aud, now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := VerifyClientAssertion(sign(base()), "c1", &key.PublicKey, "", now); err == nil {
		t.Error("accepted without an audience to check")
	}
	c := base()
	c.Subject = "c2"
	if _, err := AssertionClient(sign(c)); err == nil {
		t.Error("AssertionClient: sub other than iss accepted")
	}
}
