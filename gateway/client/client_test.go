package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/quanchain/quanchain/gateway/client"
)

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newClient is a secret client of gw whose waits are recorded, not slept.
func newClient(t *testing.T, gw *fakeGateway, opts ...client.Option) (*client.Client, *[]time.Duration) {
	t.Helper()
	c, err := client.New(gw.URL, append([]client.Option{client.WithClientSecret(gw.clientID, gw.secret)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	waits := &[]time.Duration{}
	client.SetSleep(c, func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		*waits = append(*waits, d)
		return ctx.Err()
	})
	return c, waits
}

func TestNewRefuses(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for _, tc := range []struct {
		name, base string
		opts       []client.Option
	}{
		{"no credentials", "https://gw.example", nil},
		{"not a URL", "gw.example", []client.Option{client.WithClientSecret("a", "b")}},
		{"ftp", "ftp://gw.example", []client.Option{client.WithClientSecret("a", "b")}},
		{"P-384 key", "https://gw.example", []client.Option{client.WithPrivateKeyJWT("a", p384)}},
		{"no key", "https://gw.example", []client.Option{client.WithPrivateKeyJWT("a", nil)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := client.New(tc.base, tc.opts...); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestTokenCachedAndRenewedBeforeExpiry(t *testing.T) {
	gw := newFakeGateway()
	defer gw.Close()
	clk := &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	c, _ := newClient(t, gw, client.WithClock(clk.now))
	ctx := context.Background()
	get := func() {
		t.Helper()
		if _, err := c.DataAvailability(ctx, "auth-1"); err != nil {
			t.Fatal(err)
		}
	}
	get()
	get()
	clk.add(4 * time.Minute) // 60 s left of 300: still used
	get()
	if n, _ := gw.snapshot(); n != 1 {
		t.Fatalf("%d tokens for three calls within the token's life, want 1", n)
	}
	clk.add(40 * time.Second) // 20 s left: renewed first
	get()
	n, calls := gw.snapshot()
	if n != 2 {
		t.Fatalf("%d tokens after the renewal point, want 2", n)
	}
	if last := calls[len(calls)-1].token; last != "tok-2" {
		t.Fatalf("the call after renewal used %q", last)
	}
}

func TestTokenRenewedOnceOnInvalidToken(t *testing.T) {
	gw := newFakeGateway()
	defer gw.Close()
	c, _ := newClient(t, gw)
	ctx := context.Background()
	if _, err := c.DataAvailability(ctx, "auth-1"); err != nil {
		t.Fatal(err)
	}
	gw.revoke("tok-1") // say, the gateway's key rotated
	if _, err := c.DataAvailability(ctx, "auth-1"); err != nil {
		t.Fatalf("after the token was refused: %v", err)
	}
	if n, _ := gw.snapshot(); n != 2 {
		t.Fatalf("%d tokens, want 2", n)
	}

	// A gateway that refuses every token: one renewal, then the error.
	gw.fail(failure{status: 401, code: "INVALID_TOKEN"}, failure{status: 401, code: "INVALID_TOKEN"}, failure{status: 401, code: "INVALID_TOKEN"})
	_, err := c.DataAvailability(ctx, "auth-1")
	var qe *client.Error
	if !errors.As(err, &qe) || qe.Status != 401 || qe.Code != "INVALID_TOKEN" {
		t.Fatalf("got %v, want 401 INVALID_TOKEN", err)
	}
	if n, _ := gw.snapshot(); n != 3 {
		t.Fatalf("%d tokens, want 3 (one renewal)", n)
	}
}

func TestTokenRefused(t *testing.T) {
	gw := newFakeGateway()
	defer gw.Close()
	c, err := client.New(gw.URL, client.WithClientSecret(gw.clientID, "wrong"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Authorization(context.Background(), "auth-1")
	var qe *client.Error
	if !errors.As(err, &qe) || qe.Status != 401 || qe.Code != "INVALID_CLIENT" {
		t.Fatalf("got %v, want 401 INVALID_CLIENT", err)
	}
	if _, calls := gw.snapshot(); len(calls) != 0 {
		t.Fatalf("%d API calls without a token", len(calls))
	}
}

func TestErrorDecoding(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    failure
		want client.Error
	}{
		{"conflict", failure{status: 409, code: "AUTH_REVOKED"},
			client.Error{Status: 409, Code: "AUTH_REVOKED", Message: "refused", RequestID: "req-42"}},
		{"rate limited", failure{status: 429, code: "RATE_LIMITED", retryAfter: "7"},
			client.Error{Status: 429, Code: "RATE_LIMITED", Message: "refused", RequestID: "req-42", RetryAfter: 7 * time.Second}},
		{"not JSON", failure{status: 502, raw: "Bad Gateway\n"},
			client.Error{Status: 502, Code: "HTTP_502", Message: "Bad Gateway"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gw := newFakeGateway()
			defer gw.Close()
			c, _ := newClient(t, gw)
			gw.fail(tc.f)
			// A POST without an idempotency key is never retried.
			_, err := c.RequestData(context.Background(), client.DataRequest{AuthorizationID: "auth-1", Categories: []string{"tax"}}, "")
			var qe *client.Error
			if !errors.As(err, &qe) {
				t.Fatalf("got %v, want a *client.Error", err)
			}
			if *qe != tc.want {
				t.Fatalf("got %+v, want %+v", *qe, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want.Code) {
				t.Fatalf("message %q does not name the code", err)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	unavailable := failure{status: 503, code: "LEDGER_UNAVAILABLE", retryAfter: "2"}
	for _, tc := range []struct {
		name      string
		failures  []failure
		call      func(context.Context, *client.Client) error
		wantCalls int
		wantErr   string // "" for success
	}{
		{"GET retried until it succeeds", []failure{unavailable, unavailable}, availability, 3, ""},
		{"GET retried at most twice", []failure{unavailable, unavailable, unavailable, unavailable}, availability, 3, "LEDGER_UNAVAILABLE"},
		{"POST with a key retried", []failure{{status: 429, code: "RATE_LIMITED", retryAfter: "1"}}, fetchWithKey, 2, ""},
		{"POST with a key in flight retried", []failure{{status: 409, code: "IDEMPOTENCY_KEY_IN_FLIGHT", retryAfter: "1"}}, fetchWithKey, 2, ""},
		{"POST without a key not retried", []failure{unavailable}, fetchWithoutKey, 1, "LEDGER_UNAVAILABLE"},
		{"no Retry-After, no retry", []failure{{status: 503, code: "LEDGER_UNAVAILABLE"}}, availability, 1, "LEDGER_UNAVAILABLE"},
		{"Retry-After too long", []failure{{status: 429, code: "RATE_LIMITED", retryAfter: "120"}}, availability, 1, "RATE_LIMITED"},
		{"a 500 is not retried", []failure{{status: 500, code: "INTERNAL", retryAfter: "1"}}, availability, 1, "INTERNAL"},
		{"a 409 is not retried", []failure{{status: 409, code: "AUTH_PAUSED", retryAfter: "1"}}, fetchWithKey, 1, "AUTH_PAUSED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gw := newFakeGateway()
			defer gw.Close()
			gw.grantAfter = 0
			c, waits := newClient(t, gw)
			ctx := context.Background()
			a, err := c.CreateAuthorization(ctx, client.AuthorizationRequest{Purpose: "CREDIT_ASSESSMENT", Categories: []string{"tax"}}, "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Authorization(ctx, a.ID); err != nil { // granted now
				t.Fatal(err)
			}
			_, before := gw.snapshot()
			gw.fail(tc.failures...)
			err = tc.call(ctx, c)
			_, after := gw.snapshot()
			calls := after[len(before):]
			if len(calls) != tc.wantCalls {
				t.Fatalf("%d calls, want %d", len(calls), tc.wantCalls)
			}
			if len(*waits) != tc.wantCalls-1 {
				t.Fatalf("waited %v, want %d waits", *waits, tc.wantCalls-1)
			}
			for _, w := range *waits {
				if w < time.Second {
					t.Fatalf("waited %v, less than Retry-After", w)
				}
			}
			for _, cl := range calls {
				if cl.idemKey != calls[0].idemKey {
					t.Fatalf("retried under key %q, first sent %q", cl.idemKey, calls[0].idemKey)
				}
			}
			var qe *client.Error
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (!errors.As(err, &qe) || qe.Code != tc.wantErr):
				t.Fatalf("got %v, want %s", err, tc.wantErr)
			}
		})
	}
}

func availability(ctx context.Context, c *client.Client) error {
	_, err := c.DataAvailability(ctx, "auth-1", "housing_fund")
	return err
}

func fetchWithKey(ctx context.Context, c *client.Client) error {
	_, err := c.RequestData(ctx, client.DataRequest{AuthorizationID: "auth-1", Categories: []string{"housing_fund"}}, "fetch-1")
	return err
}

func fetchWithoutKey(ctx context.Context, c *client.Client) error {
	_, err := c.RequestData(ctx, client.DataRequest{AuthorizationID: "auth-1", Categories: []string{"housing_fund"}}, "")
	return err
}

func TestRetryWaitStopsWithContext(t *testing.T) {
	gw := newFakeGateway()
	defer gw.Close()
	c, err := client.New(gw.URL, client.WithClientSecret(gw.clientID, gw.secret))
	if err != nil {
		t.Fatal(err)
	}
	gw.fail(failure{status: 503, code: "LEDGER_UNAVAILABLE", retryAfter: "20"})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.DataAvailability(ctx, "auth-1")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("got %v after %v, want the context's deadline", err, time.Since(start))
	}
}

func TestPrivateKeyJWTAssertion(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	gw := newFakeGateway()
	defer gw.Close()
	gw.key = &key.PublicKey
	clk := &clock{t: time.Now().Truncate(time.Second)}
	c, err := client.New(gw.URL+"/", client.WithPrivateKeyJWT(gw.clientID, key), client.WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 2 {
		if _, err := c.DataAvailability(ctx, "auth-1"); err != nil {
			t.Fatal(err)
		}
		clk.add(10 * time.Minute) // the token expired: a new assertion
	}
	gw.mu.Lock()
	assertions, forms := gw.assertions, gw.tokenForms
	gw.mu.Unlock()
	if len(assertions) != 2 {
		t.Fatalf("%d assertions, want 2", len(assertions))
	}
	jtis := map[string]bool{}
	for i, a := range assertions {
		var claims jwt.RegisteredClaims
		tok, err := jwt.ParseWithClaims(a, &claims, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
			jwt.WithValidMethods([]string{"ES256"}), jwt.WithTimeFunc(clk.now), jwt.WithLeeway(time.Hour))
		if err != nil {
			t.Fatalf("assertion %d: %v", i, err)
		}
		if tok.Header["alg"] != "ES256" {
			t.Fatalf("alg %v", tok.Header["alg"])
		}
		if claims.Issuer != gw.clientID || claims.Subject != gw.clientID {
			t.Fatalf("iss %q sub %q, want the client id", claims.Issuer, claims.Subject)
		}
		if len(claims.Audience) != 1 || claims.Audience[0] != gw.URL+"/v1/oauth/token" {
			t.Fatalf("aud %v, want the token endpoint's URL", claims.Audience)
		}
		if claims.ExpiresAt == nil || claims.IssuedAt == nil {
			t.Fatal("no exp or iat")
		}
		if life := claims.ExpiresAt.Sub(claims.IssuedAt.Time); life <= 0 || life > 5*time.Minute {
			t.Fatalf("assertion valid for %v; the gateway allows at most 5 minutes", life)
		}
		if claims.ID == "" || jtis[claims.ID] {
			t.Fatalf("jti %q empty or reused", claims.ID)
		}
		jtis[claims.ID] = true
		if forms[i]["client_secret"] != "" || forms[i]["grant_type"] != "client_credentials" {
			t.Fatalf("token request %v", forms[i])
		}
	}
}

func TestDeliveryDigest(t *testing.T) {
	body := []byte(`{"type":"quanchain.predicate.v1","answer":true}`)
	salt := strings.Repeat("ab", 32)
	// Computed independently: SHA-256 of 32 bytes 0xab followed by body.
	const golden = "498cbedca485642f3b91515772912b839af0267024eb7b8e335fbb73a86fb8c4"
	got, err := client.DeliveryDigest(salt, body)
	if err != nil {
		t.Fatal(err)
	}
	if got != golden {
		t.Fatalf("digest %s, want %s", got, golden)
	}
	if err := client.VerifyDelivery(strings.ToUpper(golden), salt, body); err != nil {
		t.Fatalf("upper-case digest: %v", err)
	}
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-2] = 'x'
	if err := client.VerifyDelivery(golden, salt, tampered); !errors.Is(err, client.ErrDigestMismatch) {
		t.Fatalf("tampered body: %v", err)
	}
	if err := client.VerifyDelivery(golden, strings.Repeat("cd", 32), body); !errors.Is(err, client.ErrDigestMismatch) {
		t.Fatalf("another salt: %v", err)
	}
	if _, err := client.DeliveryDigest("abcd", body); err == nil {
		t.Fatal("a short salt accepted")
	}
	// A provider that does not salt yet: SHA-256(body).
	unsalted, _ := client.DeliveryDigest("", body)
	if unsalted != client.RecordHash(body) {
		t.Fatalf("unsalted digest %s", unsalted)
	}

	// As the gateway answers it: the body in standard base64.
	raw, _ := json.Marshal(map[string]any{"digest": golden, "digest_salt": salt, "delivery": body})
	var d client.Delivery
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if err := d.Verify(""); err != nil {
		t.Fatalf("decoded delivery: %v", err)
	}
}

func TestReferenceHashKeyLength(t *testing.T) {
	if _, err := client.ReferenceHash(make([]byte, 16), "LOAN-1"); err == nil {
		t.Fatal("a 16-byte key accepted")
	}
}

func TestRoutes(t *testing.T) {
	gw := newFakeGateway()
	defer gw.Close()
	c, _ := newClient(t, gw)
	ctx := context.Background()

	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	p, err := c.Accesses(ctx, client.AccessQuery{Since: since, Cursor: "c1", Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if want := "cursor=c1&limit=50&since=2026-10-31T16%3A00%3A00Z"; len(p.Items) != 1 || p.Items[0].Digest != want || p.NextCursor != "c2" {
		t.Fatalf("accesses %+v, want the query %s", p, want)
	}

	a, err := c.WithdrawAuthorization(ctx, "auth-7", "withdraw-7")
	if err != nil || a.ID != "auth-7" || a.Status != "WITHDRAWN" {
		t.Fatalf("withdraw: %+v %v", a, err)
	}
	jws, err := c.Artefact(ctx, "auth-7")
	if err != nil || strings.Count(jws, ".") != 2 {
		t.Fatalf("artefact %q %v", jws, err)
	}
	_, calls := gw.snapshot()
	for _, cl := range calls {
		if cl.method == "POST" && cl.path == "/v1/authorizations/auth-7/withdraw" && cl.idemKey != "withdraw-7" {
			t.Fatalf("withdraw sent under key %q", cl.idemKey)
		}
	}
}
