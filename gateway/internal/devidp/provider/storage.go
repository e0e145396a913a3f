package provider

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Lifetimes of what the store keeps in memory.
const (
	// authRequestTTL is how long a login may take, from the authorize
	// redirect to the code's exchange.
	authRequestTTL = 15 * time.Minute
	// TokenLifetime is the lifetime of ID and access tokens.
	TokenLifetime = 5 * time.Minute
)

var errNotFound = errors.New("devidp: not found")

// authRequest is one authorization request and the login that answers it.
// The store hands out copies, so op's readers never race the login.
type authRequest struct {
	id      string
	created time.Time
	req     oidc.AuthRequest

	// browser is the login page's binding: the value of the login cookie
	// of the browser that first opened the page.
	browser   string
	challenge *challenge
	// started is set once step 1 matched the register: the ID number
	// (normalised) the code was sent for.
	started string

	done     bool
	acr      string
	subject  string
	idNumber string
	authTime time.Time
	code     string
}

// challenge is the one-time code sent for an auth request.
type challenge struct {
	id       string
	hash     [32]byte
	expires  time.Time
	attempts int
	phone    string // the register's, masked on the page
}

func (a *authRequest) GetID() string          { return a.id }
func (a *authRequest) GetACR() string         { return a.acr }
func (a *authRequest) GetAMR() []string       { return []string{"otp"} }
func (a *authRequest) GetAudience() []string  { return []string{a.req.ClientID} }
func (a *authRequest) GetAuthTime() time.Time { return a.authTime }
func (a *authRequest) GetClientID() string    { return a.req.ClientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	return &oidc.CodeChallenge{Challenge: a.req.CodeChallenge, Method: a.req.CodeChallengeMethod}
}
func (a *authRequest) GetNonce() string                   { return a.req.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.req.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.req.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.req.ResponseMode }
func (a *authRequest) GetScopes() []string                { return a.req.Scopes }
func (a *authRequest) GetState() string                   { return a.req.State }
func (a *authRequest) GetSubject() string                 { return a.subject }
func (a *authRequest) Done() bool                         { return a.done }

func (a *authRequest) clone() *authRequest {
	c := *a
	c.req.Scopes = slices.Clone(a.req.Scopes)
	if a.challenge != nil {
		ch := *a.challenge
		c.challenge = &ch
	}
	return &c
}

// token is an issued access token.
type token struct {
	id       string
	clientID string
	subject  string
	idNumber string
	scopes   []string
	expires  time.Time
}

// storage is op.Storage over memory: auth requests, codes and tokens live
// minutes, and a restart ends every login in progress, which the relying
// party answers by starting again. Only the keys persist (Keys).
type storage struct {
	keys   *Keys
	client *client
	claim  string // the ID number's claim
	now    func() time.Time

	mu       sync.Mutex
	requests map[string]*authRequest
	codes    map[string]string // code → auth request id
	tokens   map[string]*token
}

func newStorage(keys *Keys, c *client, claim string, now func() time.Time) *storage {
	return &storage{keys: keys, client: c, claim: claim, now: now,
		requests: map[string]*authRequest{}, codes: map[string]string{}, tokens: map[string]*token{}}
}

func randomID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// expire drops what has outlived its time; s.mu is held.
func (s *storage) expire(now time.Time) {
	for id, a := range s.requests {
		if now.Sub(a.created) > authRequestTTL {
			delete(s.requests, id)
			if a.code != "" {
				delete(s.codes, a.code)
			}
		}
	}
	for id, t := range s.tokens {
		if !now.Before(t.expires) {
			delete(s.tokens, id)
		}
	}
}

// errPKCE refuses a code flow without an S256 challenge: the client is
// confidential, but a code that leaks from the browser must still be
// useless without the verifier.
var errPKCE = oidc.ErrInvalidRequest().WithDescription("PKCE is required: send code_challenge with code_challenge_method=S256")

// CreateAuthRequest implements op.Storage.
func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, errPKCE
	}
	if req.ResponseType != oidc.ResponseTypeCode {
		return nil, oidc.ErrInvalidRequest().WithDescription("only response_type=code is supported")
	}
	id, err := randomID()
	if err != nil {
		return nil, err
	}
	now := s.now()
	a := &authRequest{id: id, created: now, req: *req}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	s.requests[id] = a
	return a.clone(), nil
}

// AuthRequestByID implements op.Storage.
func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	a, err := s.request(id)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// request returns a copy of the live auth request id.
func (s *storage) request(id string) (*authRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.requests[id]
	if !ok || s.now().Sub(a.created) > authRequestTTL {
		return nil, errNotFound
	}
	return a.clone(), nil
}

// update applies fn to the live auth request id under the lock.
func (s *storage) update(id string, fn func(a *authRequest) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.requests[id]
	if !ok || s.now().Sub(a.created) > authRequestTTL {
		return errNotFound
	}
	return fn(a)
}

// AuthRequestByCode implements op.Storage.
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	id, ok := s.codes[code]
	s.mu.Unlock()
	if !ok {
		return nil, errNotFound
	}
	return s.AuthRequestByID(context.Background(), id)
}

// SaveAuthCode implements op.Storage.
func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	return s.update(id, func(a *authRequest) error {
		if !a.done {
			return errors.New("devidp: auth request not authenticated")
		}
		a.code = code
		s.codes[code] = id
		return nil
	})
}

// DeleteAuthRequest implements op.Storage: a code is exchanged once.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.requests[id]; ok && a.code != "" {
		delete(s.codes, a.code)
	}
	delete(s.requests, id)
	return nil
}

// CreateAccessToken implements op.Storage.
func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	a, ok := req.(*authRequest)
	if !ok {
		return "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	id, err := randomID()
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.now()
	t := &token{id: id, clientID: a.GetClientID(), subject: a.subject, idNumber: a.idNumber,
		scopes: slices.Clone(a.GetScopes()), expires: now.Add(TokenLifetime)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	s.tokens[id] = t
	return id, t.expires, nil
}

var errNoRefresh = oidc.ErrUnsupportedGrantType().WithDescription("refresh tokens are not issued")

// CreateAccessAndRefreshTokens implements op.Storage; no refresh tokens
// are issued.
func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errNoRefresh
}

// TokenRequestByRefreshToken implements op.Storage.
func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, errNoRefresh
}

// TerminateSession implements op.Storage: the provider keeps no browser
// session (every authorization asks for a login), so there is none to end.
func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

// RevokeToken implements op.Storage.
func (s *storage) RevokeToken(_ context.Context, tokenID, _ string, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[tokenID]; ok && t.clientID == clientID {
		delete(s.tokens, tokenID)
	}
	return nil
}

// GetRefreshTokenInfo implements op.Storage.
func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// SigningKey implements op.Storage.
func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return signingKey{s.keys}, nil }

// SignatureAlgorithms implements op.Storage.
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

// KeySet implements op.Storage.
func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{signingKey{s.keys}}}, nil
}

// GetClientByClientID implements op.Storage.
func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if id != s.client.id {
		return nil, errNotFound
	}
	return s.client, nil
}

// AuthorizeClientIDSecret implements op.Storage.
func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(s.client.id))
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(s.client.secret))
	if idOK&secretOK != 1 {
		return errors.New("devidp: wrong client credentials")
	}
	return nil
}

// SetUserinfoFromScopes implements op.Storage (deprecated by the library
// in favour of SetUserinfoFromRequest).
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest implements op.CanSetUserinfoFromRequest: the ID
// token carries the ID number, as the real provider does for this relying
// party, under scope openid alone.
func (s *storage) SetUserinfoFromRequest(_ context.Context, u *oidc.UserInfo, req op.IDTokenRequest, _ []string) error {
	a, ok := req.(*authRequest)
	if !ok || a.idNumber == "" {
		return errors.New("devidp: ID token for an unauthenticated request")
	}
	u.Subject = a.subject
	u.AppendClaims(s.claim, a.idNumber)
	return nil
}

// SetUserinfoFromToken implements op.Storage.
func (s *storage) SetUserinfoFromToken(_ context.Context, u *oidc.UserInfo, tokenID, subject, _ string) error {
	s.mu.Lock()
	t, ok := s.tokens[tokenID]
	s.mu.Unlock()
	if !ok || t.subject != subject || !s.now().Before(t.expires) {
		return errors.New("devidp: access token invalid or expired")
	}
	u.Subject = t.subject
	u.AppendClaims(s.claim, t.idNumber)
	return nil
}

// SetIntrospectionFromToken implements op.Storage.
func (s *storage) SetIntrospectionFromToken(_ context.Context, r *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	s.mu.Lock()
	t, ok := s.tokens[tokenID]
	s.mu.Unlock()
	if !ok || t.subject != subject || t.clientID != clientID || !s.now().Before(t.expires) {
		return errors.New("devidp: access token invalid or expired")
	}
	r.Active, r.Subject, r.ClientID, r.Scope = true, t.subject, t.clientID, t.scopes
	r.Expiration = oidc.FromTime(t.expires)
	return nil
}

// GetPrivateClaimsFromScopes implements op.Storage.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID implements op.Storage; JWT client assertions are
// not accepted.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errNotFound
}

// ValidateJWTProfileScopes implements op.Storage.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType()
}

// Health implements op.Storage.
func (s *storage) Health(context.Context) error { return nil }

// client is the one relying party: the operator's gateway, a confidential
// web client (client_secret_basic or client_secret_post).
type client struct {
	id, secret string
	redirects  []string
	postLogout []string
	loginURL   func(authRequestID string) string
	tokenTTL   time.Duration
}

func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return c.redirects }
func (c *client) PostLogoutRedirectURIs() []string    { return c.postLogout }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType         { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *client) LoginURL(id string) string            { return c.loginURL(id) }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration       { return c.tokenTTL }
func (c *client) DevMode() bool                        { return false }
func (c *client) IsScopeAllowed(string) bool           { return false }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *client) ClockSkew() time.Duration             { return 0 }

//lint:ignore ST1003 the name is op.Client's.
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
