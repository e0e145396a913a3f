// Package provider is the development OpenID provider: a real OpenID
// Connect provider (github.com/zitadel/oidc/v3/pkg/op) standing in for the
// government's real-name identity provider (统一身份认证) on a developer's
// machine and in tests. The operator's gateway is its one relying party.
//
// # Flow
//
// The gateway sends the citizen's browser to /authorize (authorization
// code, PKCE S256 required). The provider keeps the request and sends the
// browser to its login page (/login), which checks an ID number, name and
// phone against the real-name register (devidp.Register) under the rules
// of devidp.Matches, then sends a six-digit code to the phone the register
// holds (a Sender: devidp.CodeDir writes it to a 0600 file). The right
// code completes the request and the browser returns to the gateway's
// redirect URI with an authorization code, which the gateway exchanges at
// /oauth/token with its client secret and PKCE verifier.
//
// # Tokens
//
// The ID token (RS256, five minutes) carries sub (pairwise: an HMAC of the
// ID number, see Keys.Subject), the normalised ID number under the
// configured claim, acr, amr ["otp"], auth_time, nonce and azp. The
// signing key persists in the state directory, so the JWKS registered on
// the ledger stays valid across restarts; auth requests, codes and tokens
// live in memory only.
//
// # Limits
//
// Attempts are limited per remote address (logins and codes together) and
// per citizen (starts and codes, keyed by an HMAC of the ID number, so an
// unknown ID number counts like a registered one), with
// gateway/internal/ratelimit, and each code may be tried MaxCodeAttempts
// times.
package provider

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/quanchain/quanchain/gateway/internal/devidp"
)

// Register is the real-name register a login is checked against;
// *devidp.Register is one.
type Register interface {
	Lookup(ctx context.Context, idNumber string) (devidp.Entry, bool, error)
}

// Sender delivers a one-time code to the phone the register holds;
// *devidp.CodeDir is the development one.
type Sender interface {
	Send(ctx context.Context, c devidp.Code) error
}

// Client is the relying party.
type Client struct {
	ID     string
	Secret string
	// RedirectURIs are the exact redirect URIs allowed.
	RedirectURIs []string
	// PostLogoutRedirectURIs are where end_session may send the browser.
	PostLogoutRedirectURIs []string
}

// Defaults of Config.
const (
	DefaultIDNumberClaim = "id_number"
	DefaultACR           = "urn:quanchain:loa:sms-otp"
	DefaultCodeTTL       = 5 * time.Minute
)

// Config is the provider's configuration, validated once by New.
type Config struct {
	// Issuer is the provider's URL, scheme and host (and port) only:
	// http://127.0.0.1:7085 on the local network.
	Issuer string
	// Keys are the signing and subject keys (LoadKeys).
	Keys     *Keys
	Register Register
	Sender   Sender
	Client   Client
	// IDNumberClaim names the ID token claim carrying the ID number
	// (default DefaultIDNumberClaim).
	IDNumberClaim string
	// ACR is the acr the ID token states (default DefaultACR).
	ACR string
	// CodeTTL is how long a one-time code is valid (default DefaultCodeTTL).
	CodeTTL time.Duration
	// LoginsPerMinute bounds login and code attempts per remote address in
	// any minute; StartsPerCitizen and CodesPerCitizen bound a citizen's
	// starts and code attempts in any 15 minutes (defaults 5, 5, 5, the
	// gateway's).
	LoginsPerMinute, StartsPerCitizen, CodesPerCitizen int
	// Clock is the logins' clock (codes, limits, auth_time); nil is
	// time.Now. The library stamps iat and exp with time.Now.
	Clock func() time.Time
	// Log receives operational events; never an ID number, name, phone or
	// code. Nil discards them.
	Log *slog.Logger
}

var claimPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// reservedClaims are the ID token's own claims, which the ID number's
// claim must not replace.
var reservedClaims = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp",
	"at_hash", "c_hash", "client_id", "scope", "jti", "nbf"}

// Validate fills in defaults and checks c.
func (c *Config) Validate() error {
	u, err := url.Parse(c.Issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("devidp: issuer %q must be an http(s) URL without a path", c.Issuer)
	}
	c.Issuer = strings.TrimSuffix(c.Issuer, "/")
	if c.Keys == nil || c.Register == nil || c.Sender == nil {
		return errors.New("devidp: keys, register and sender are required")
	}
	if c.Client.ID == "" || len(c.Client.Secret) < 16 {
		return errors.New("devidp: a client id and a secret of at least 16 characters are required")
	}
	if len(c.Client.RedirectURIs) == 0 {
		return errors.New("devidp: at least one redirect URI is required")
	}
	for _, r := range append(append([]string(nil), c.Client.RedirectURIs...), c.Client.PostLogoutRedirectURIs...) {
		if u, err := url.Parse(r); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
			return fmt.Errorf("devidp: redirect URI %q must be an absolute http(s) URL", r)
		}
	}
	if c.IDNumberClaim == "" {
		c.IDNumberClaim = DefaultIDNumberClaim
	}
	if !claimPattern.MatchString(c.IDNumberClaim) || contains(reservedClaims, c.IDNumberClaim) {
		return fmt.Errorf("devidp: %q cannot name the ID number's claim", c.IDNumberClaim)
	}
	if c.ACR == "" {
		c.ACR = DefaultACR
	}
	if c.CodeTTL == 0 {
		c.CodeTTL = DefaultCodeTTL
	}
	if c.CodeTTL < 30*time.Second || c.CodeTTL > authRequestTTL {
		return fmt.Errorf("devidp: code TTL %s is outside 30s–%s", c.CodeTTL, authRequestTTL)
	}
	for _, n := range []*int{&c.LoginsPerMinute, &c.StartsPerCitizen, &c.CodesPerCitizen} {
		if *n == 0 {
			*n = 5
		}
		if *n < 1 || *n > 10000 {
			return errors.New("devidp: attempt limits must be within 1–10000")
		}
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Provider is the development OpenID provider's HTTP handler: the
// library's endpoints (discovery, /authorize, /oauth/token, /userinfo,
// /keys, /end_session, …) and the login page.
type Provider struct {
	cfg   Config
	store *storage
	op    *op.Provider
	login *login
	mux   *http.ServeMux
}

// New returns the provider of cfg.
func New(cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &client{id: cfg.Client.ID, secret: cfg.Client.Secret, redirects: cfg.Client.RedirectURIs,
		postLogout: cfg.Client.PostLogoutRedirectURIs, tokenTTL: TokenLifetime,
		loginURL: func(id string) string { return cfg.Issuer + loginPath + "?authRequestID=" + url.QueryEscape(id) }}
	st := newStorage(cfg.Keys, c, cfg.IDNumberClaim, cfg.Clock)
	// The access token is the library's encrypted "token id:subject";
	// tokens live five minutes and in memory, so a fresh key per process
	// loses nothing a restart has not lost already.
	var cryptoKey [32]byte
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		return nil, err
	}
	opCfg := &op.Config{
		CryptoKey:          cryptoKey,
		CodeMethodS256:     true,
		AuthMethodPost:     true,
		SupportedUILocales: []language.Tag{language.Chinese, language.English},
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "acr", "amr",
			"c_hash", "at_hash", "azp", cfg.IDNumberClaim},
		SupportedScopes: []string{oidc.ScopeOpenID},
	}
	var opts []op.Option
	if strings.HasPrefix(cfg.Issuer, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	o, err := op.NewProvider(opCfg, st, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("devidp: %w", err)
	}
	p := &Provider{cfg: cfg, store: st, op: o}
	p.login = newLogin(&p.cfg, st)
	p.mux = http.NewServeMux()
	p.mux.HandleFunc("GET "+loginPath, p.login.page)
	p.mux.HandleFunc("POST "+loginPath+"/identity", p.login.identity)
	p.mux.HandleFunc("POST "+loginPath+"/code", p.login.code)
	p.mux.Handle("/", o)
	return p, nil
}

// ServeHTTP implements http.Handler.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }
