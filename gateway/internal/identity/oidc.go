// Package identity is how the operator's gateway learns who a citizen is
// and which device speaks for them, without HTTP handlers: the OpenID
// Connect relying party (authorization code with PKCE, at the identity
// provider the ledger trusts) and passkey registration (WebAuthn).
//
// # Login
//
// RP builds the authorize URL for a state, nonce and PKCE verifier the
// caller keeps, and exchanges a code for a verified ID token: issuer,
// audience, expiry and signature by go-oidc, then the nonce and the acr
// here. The ID token's raw text is handed back only so it can travel to
// the chaincode as an enrolment proof; nothing here logs or stores it, nor
// the ID number it carries.
//
// # Discovery
//
// The identity provider may start after the gateway: discovery is tried
// at the first use and again, at most every RetryEvery, until it answers;
// Ready reports it for /readyz.
//
// # Devices
//
// Passkeys (passkey.go) runs the registration ceremony and turns the
// credential's COSE key into the JWK and RFC 7638 key id the ledger
// enrols.
package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// RPConfig is the relying party's registration at the identity provider.
type RPConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string
	// IDClaim names the ID token claim with the resident ID number.
	IDClaim string
	// ACRValues are the accepted acr values, sent as acr_values and
	// required of the ID token; empty accepts any (development only).
	ACRValues []string
	// HTTPClient reaches the provider; nil means http.DefaultClient.
	HTTPClient *http.Client
	// RetryEvery is the least time between two discovery attempts; 0
	// means two seconds.
	RetryEvery time.Duration
	// Now is the clock ID tokens are checked against; nil means time.Now.
	Now func() time.Time
}

// RP is an OpenID Connect relying party. It is safe for concurrent use.
type RP struct {
	cfg RPConfig

	mu       sync.Mutex
	provider *oidc.Provider
	lastTry  time.Time
	lastErr  error
}

// NewRP returns the relying party for cfg; discovery waits for the first
// use.
func NewRP(cfg RPConfig) (*RP, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.RedirectURL == "" || cfg.IDClaim == "" {
		return nil, errors.New("identity: the relying party needs an issuer, a client id, a redirect URL and an ID claim")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.RetryEvery <= 0 {
		cfg.RetryEvery = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &RP{cfg: cfg}, nil
}

// ErrUnavailable reports an identity provider that has not answered
// discovery yet.
var ErrUnavailable = errors.New("identity: the identity provider is not available")

// discover returns the provider, running discovery if it has not
// succeeded and the last attempt is RetryEvery old.
func (rp *RP) discover(ctx context.Context) (*oidc.Provider, error) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.provider != nil {
		return rp.provider, nil
	}
	now := time.Now()
	if !rp.lastTry.IsZero() && now.Sub(rp.lastTry) < rp.cfg.RetryEvery {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, rp.lastErr)
	}
	rp.lastTry = now
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, rp.cfg.HTTPClient), rp.cfg.Issuer)
	if err != nil {
		rp.lastErr = err
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	rp.provider = p
	return p, nil
}

// Ready reports whether the identity provider has answered discovery,
// trying again if it has not.
func (rp *RP) Ready(ctx context.Context) error {
	_, err := rp.discover(ctx)
	return err
}

func (rp *RP) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: rp.cfg.ClientID, ClientSecret: rp.cfg.ClientSecret, RedirectURL: rp.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID}}
}

// AuthURL is the provider's authorize URL for a login with this state,
// nonce and PKCE verifier (S256).
func (rp *RP) AuthURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	p, err := rp.discover(ctx)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	if len(rp.cfg.ACRValues) > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", strings.Join(rp.cfg.ACRValues, " ")))
	}
	return rp.oauth(p).AuthCodeURL(state, opts...), nil
}

// Identity is what a verified ID token says of the citizen.
type Identity struct {
	// IDNumber is the resident ID number, as the provider wrote it.
	IDNumber string
	// ACR is the assurance level the provider reached.
	ACR string
	// RawIDToken is the ID token itself: an enrolment proof, never to be
	// logged or stored.
	RawIDToken string
}

// Refusal is an ID token or code exchange the relying party refuses;
// Code is a stable reason for the app (never the library's text).
type Refusal struct {
	Code   string
	Reason error
}

func (r *Refusal) Error() string { return "identity: " + r.Code + ": " + r.Reason.Error() }
func (r *Refusal) Unwrap() error { return r.Reason }

// Refusal codes: the login_error the app is sent back with.
const (
	CodeExchangeFailed = "CODE_EXCHANGE_FAILED"
	CodeIDTokenInvalid = "ID_TOKEN_INVALID"
	CodeNonceMismatch  = "NONCE_MISMATCH"
	CodeACRNotAccepted = "ACR_NOT_ACCEPTED"
	CodeIDClaimMissing = "ID_CLAIM_MISSING"
)

// Exchange redeems code with the PKCE verifier and verifies the ID token
// it brings: signature, issuer, audience and expiry, the nonce, an
// accepted acr, and the ID-number claim.
func (rp *RP) Exchange(ctx context.Context, code, verifier, nonce string) (*Identity, error) {
	p, err := rp.discover(ctx)
	if err != nil {
		return nil, err
	}
	ctx = oidc.ClientContext(ctx, rp.cfg.HTTPClient)
	tok, err := rp.oauth(p).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, &Refusal{Code: CodeExchangeFailed, Reason: err}
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return nil, &Refusal{Code: CodeIDTokenInvalid, Reason: errors.New("no id_token in the token response")}
	}
	return rp.Verify(ctx, raw, nonce)
}

// Verify checks a raw ID token as Exchange does.
func (rp *RP) Verify(ctx context.Context, raw, nonce string) (*Identity, error) {
	p, err := rp.discover(ctx)
	if err != nil {
		return nil, err
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: rp.cfg.ClientID, Now: rp.cfg.Now}).Verify(ctx, raw)
	if err != nil {
		return nil, &Refusal{Code: CodeIDTokenInvalid, Reason: err}
	}
	if nonce == "" || idt.Nonce != nonce {
		return nil, &Refusal{Code: CodeNonceMismatch, Reason: errors.New("the ID token's nonce is not this login's")}
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, &Refusal{Code: CodeIDTokenInvalid, Reason: err}
	}
	acr, _ := claims["acr"].(string)
	if len(rp.cfg.ACRValues) > 0 && !slices.Contains(rp.cfg.ACRValues, acr) {
		return nil, &Refusal{Code: CodeACRNotAccepted, Reason: fmt.Errorf("acr %q is not accepted", acr)}
	}
	id, _ := claims[rp.cfg.IDClaim].(string)
	if id == "" {
		return nil, &Refusal{Code: CodeIDClaimMissing, Reason: fmt.Errorf("no %s claim", rp.cfg.IDClaim)}
	}
	return &Identity{IDNumber: id, ACR: acr, RawIDToken: raw}, nil
}
