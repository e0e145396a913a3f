// Package client is a Go client for the quanchain institution API: the
// routes a bank's or an insurer's gateway answers under /v1 (docs/api.md,
// "Institution API").
//
// # Authentication
//
// A Client authenticates with OAuth 2.0 client credentials, either a client
// secret (WithClientSecret) or a signed client assertion (WithPrivateKeyJWT,
// RFC 7523 with ES256, a fresh jti each time). It asks for an access token
// when it first needs one, keeps it, and asks for a new one shortly before it
// expires, or once when the gateway answers 401 INVALID_TOKEN.
//
// # Errors
//
// A refusal by the gateway is a *Error carrying the HTTP status, the stable
// code (program against it, never against the message), the request id and
// Retry-After. Branch on it with errors.As.
//
// # Retries
//
// A request is sent again only where the API says it is safe: on 429 or 503
// with Retry-After, or 409 IDEMPOTENCY_KEY_IN_FLIGHT, and only for a request
// that is idempotent (a GET, or a POST sent with an Idempotency-Key, which the
// gateway answers once). Retries are bounded by WithMaxRetries and
// WithMaxRetryWait; every wait ends early when the context is done.
package client

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TokenPath is the path of the token endpoint; a signed client assertion's
// audience is the base URL followed by it.
const TokenPath = "/v1/oauth/token"

// assertionType is the RFC 7523 client assertion type.
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// renewBefore is how long before its expiry a token is replaced.
const renewBefore = 30 * time.Second

// Client calls one institution gateway. It is safe for concurrent use.
type Client struct {
	base       string
	hc         *http.Client
	now        func() time.Time
	sleep      func(context.Context, time.Duration) error
	clientID   string
	secret     string
	key        *ecdsa.PrivateKey
	keyAuth    bool // WithPrivateKeyJWT was chosen
	maxRetries int
	maxWait    time.Duration

	mu      sync.Mutex
	token   string
	expires time.Time
}

// Option configures a Client.
type Option func(*Client)

// WithClientSecret authenticates as clientID with its secret.
func WithClientSecret(clientID, secret string) Option {
	return func(c *Client) { c.clientID, c.secret, c.key, c.keyAuth = clientID, secret, nil, false }
}

// WithPrivateKeyJWT authenticates as clientID with assertions signed by key,
// the ES256 (P-256) private key whose public JWK is registered for the client.
func WithPrivateKeyJWT(clientID string, key *ecdsa.PrivateKey) Option {
	return func(c *Client) { c.clientID, c.key, c.secret, c.keyAuth = clientID, key, "", true }
}

// WithHTTPClient sends requests with hc instead of http.DefaultClient.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.hc = hc }
}

// WithClock reads the time from now: token expiry and assertion times.
func WithClock(now func() time.Time) Option {
	return func(c *Client) { c.now = now }
}

// WithMaxRetries bounds how many times one call is sent again (default 2).
func WithMaxRetries(n int) Option {
	return func(c *Client) { c.maxRetries = max(n, 0) }
}

// WithMaxRetryWait is the longest Retry-After the client waits for (default
// 30 s); a longer one is returned as the error.
func WithMaxRetryWait(d time.Duration) Option {
	return func(c *Client) { c.maxWait = d }
}

// New returns a client of the gateway at baseURL (its public URL, such as
// https://bank-gateway.example, without /v1).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: base URL %q is not an http(s) URL", baseURL)
	}
	c := &Client{
		base: strings.TrimRight(baseURL, "/"), hc: http.DefaultClient, now: time.Now,
		sleep: sleepCtx, maxRetries: 2, maxWait: 30 * time.Second,
	}
	for _, o := range opts {
		o(c)
	}
	if c.clientID == "" {
		return nil, errors.New("client: no credentials: use WithClientSecret or WithPrivateKeyJWT")
	}
	if c.keyAuth && (c.key == nil || c.key.Curve != elliptic.P256()) {
		return nil, errors.New("client: the private_key_jwt key must be ECDSA P-256")
	}
	return c, nil
}

// Error is the gateway's refusal of a request (docs/api.md, "Errors").
type Error struct {
	Status     int           // HTTP status
	Code       string        // stable error code, such as AUTH_REVOKED; HTTP_<status> for an answer that is not a JSON error (a proxy's)
	Message    string        // for people; never branch on it
	TxID       string        // the Fabric transaction involved, if any
	RequestID  string        // identifies the request in the gateway's logs
	RetryAfter time.Duration // from the Retry-After header; 0 if absent
	Replayed   bool          // answered from an earlier request with the same Idempotency-Key
}

func (e *Error) Error() string {
	return fmt.Sprintf("quanchain: %d %s: %s (request %s)", e.Status, e.Code, e.Message, e.RequestID)
}

// call is one API request.
type call struct {
	method, path string
	query        url.Values
	body         any
	idemKey      string
	out          any
	want         int
}

// do sends c, authenticating, renewing the token once on 401 INVALID_TOKEN
// and retrying where it is safe.
func (c *Client) do(ctx context.Context, cl call) error {
	var body []byte
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return fmt.Errorf("client: encoding the request: %w", err)
		}
		body = b
	}
	idempotent := cl.method == http.MethodGet || cl.idemKey != ""
	renewed := false
	for attempt := 0; ; attempt++ {
		tok, err := c.accessToken(ctx)
		if err != nil {
			return err
		}
		err = c.send(ctx, cl, body, tok)
		var qe *Error
		if !errors.As(err, &qe) {
			return err
		}
		if qe.Status == http.StatusUnauthorized && qe.Code == "INVALID_TOKEN" && !renewed {
			renewed = true
			c.forget(tok)
			attempt--
			continue
		}
		if !idempotent || attempt >= c.maxRetries || !retryable(qe) || qe.RetryAfter > c.maxWait {
			return err
		}
		if err := c.sleep(ctx, qe.RetryAfter); err != nil {
			return err
		}
	}
}

// retryable reports whether the API says e may be retried after Retry-After.
func retryable(e *Error) bool {
	if e.RetryAfter <= 0 {
		return false
	}
	return e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable ||
		(e.Status == http.StatusConflict && e.Code == "IDEMPOTENCY_KEY_IN_FLIGHT")
}

func (c *Client) send(ctx context.Context, cl call, body []byte, tok string) error {
	u := c.base + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, rd)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if cl.idemKey != "" {
		req.Header.Set("Idempotency-Key", cl.idemKey)
	}
	return c.roundTrip(req, cl.want, cl.out)
}

// roundTrip sends req and decodes a want answer into out, anything else into
// a *Error.
func (c *Client) roundTrip(req *http.Request, want int, out any) error {
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("client: %s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("client: %s %s: reading the answer: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode != want {
		return decodeError(resp, raw, c.now())
	}
	if out == nil {
		return nil
	}
	if s, ok := out.(*[]byte); ok {
		*s = raw
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("client: %s %s: decoding the answer: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

func decodeError(resp *http.Response, raw []byte, now time.Time) *Error {
	var env struct {
		Error struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			TxID      string `json:"tx_id"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	e := &Error{Status: resp.StatusCode, Replayed: resp.Header.Get("Idempotent-Replayed") == "true"}
	if json.Unmarshal(raw, &env) == nil && env.Error.Code != "" {
		e.Code, e.Message, e.TxID, e.RequestID = env.Error.Code, env.Error.Message, env.Error.TxID, env.Error.RequestID
	} else {
		e.Code, e.Message = "HTTP_"+strconv.Itoa(resp.StatusCode), strings.TrimSpace(string(raw))
	}
	if e.RequestID == "" {
		e.RequestID = resp.Header.Get("X-Request-Id")
	}
	e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), now)
	return e
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// sleepCtx waits d, or until ctx is done. The gateway names the pause
// (Retry-After), so there is no schedule to grow and internal/backoff,
// the module's doubling pause for retries the caller times itself, has
// nothing to add here.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// accessToken returns the cached token, or a new one when there is none or
// it expires within renewBefore.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.now().Add(renewBefore).Before(c.expires) {
		return c.token, nil
	}
	tok, ttl, err := c.fetchToken(ctx)
	if err != nil {
		return "", err
	}
	c.token, c.expires = tok, c.now().Add(ttl)
	return tok, nil
}

// forget drops tok if it is still the cached token.
func (c *Client) forget(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == tok {
		c.token = ""
	}
}

func (c *Client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	form := map[string]string{"grant_type": "client_credentials", "client_id": c.clientID}
	if c.key != nil {
		a, err := c.assertion()
		if err != nil {
			return "", 0, err
		}
		form["client_assertion_type"], form["client_assertion"] = assertionType, a
	} else {
		form["client_secret"] = c.secret
	}
	body, _ := json.Marshal(form)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+TokenPath, bytes.NewReader(body))
	if err != nil {
		return "", 0, fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := c.roundTrip(req, http.StatusOK, &tok); err != nil {
		return "", 0, err
	}
	if tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "Bearer") {
		return "", 0, fmt.Errorf("client: the token endpoint answered no bearer token")
	}
	return tok.AccessToken, time.Duration(tok.ExpiresIn) * time.Second, nil
}

// assertion is a signed client assertion (RFC 7523 §2.2) for the token
// endpoint: iss and sub the client id, aud the token endpoint's URL, a fresh
// jti, valid for two minutes.
func (c *Client) assertion() (string, error) {
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", fmt.Errorf("client: drawing a jti: %w", err)
	}
	now := c.now()
	s, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.RegisteredClaims{
		Issuer: c.clientID, Subject: c.clientID, Audience: jwt.ClaimStrings{c.base + TokenPath},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(2 * time.Minute)),
		ID: hex.EncodeToString(jti[:]),
	}).SignedString(c.key)
	if err != nil {
		return "", fmt.Errorf("client: signing the client assertion: %w", err)
	}
	return s, nil
}
