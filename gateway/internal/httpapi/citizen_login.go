package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/citizens"
	"github.com/quanchain/quanchain/gateway/internal/identity"
	"github.com/quanchain/quanchain/internal/resident"
)

// Citizen login is OpenID Connect, authorization code with PKCE, at the
// identity provider the ledger trusts (docs/api.md, "Citizen login"):
//
//  1. /citizen/v1/oidc/start keeps a state, nonce and PKCE verifier here,
//     binds them to the browser by a cookie, and sends it to the provider;
//  2. /citizen/v1/oidc/callback checks the state and the cookie, redeems
//     the code, verifies the ID token, turns its ID number into the
//     citizenRef, enrols a pending device with the ID token as proof, and
//     sends the browser back to the app with a one-time ticket in the
//     fragment;
//  3. POST /citizen/v1/session exchanges the ticket for a citizen token.
//
// Neither the ID token nor the ID number is logged or stored: the ID
// token lives for the callback's request, and only as a proof on its way
// to the chaincode.

// loginTTL is how long a login started at the provider may take.
const loginTTL = 10 * time.Minute

// ticketTTL is how long a ticket may wait for its exchange.
const ticketTTL = 60 * time.Second

// loginCookie binds a login's state to the browser that started it.
const loginCookie = "qc_oidc"

// loginCookiePath is the only path the cookie is sent to.
const loginCookiePath = "/citizen/v1/oidc/"

// CitizenLogin is the identity provider as the citizen login uses it;
// *identity.RP implements it.
type CitizenLogin interface {
	AuthURL(ctx context.Context, state, nonce, verifier string) (string, error)
	Exchange(ctx context.Context, code, verifier, nonce string) (*identity.Identity, error)
	Ready(ctx context.Context) error
}

var _ CitizenLogin = (*identity.RP)(nil)

// loginState is a login under way at the provider.
type loginState struct {
	nonce, verifier string
	// binding is the SHA-256 of the browser's cookie.
	binding  [32]byte
	returnTo string
	deviceID string
	used     atomic.Bool
}

// loginTicket is a finished login waiting for its exchange.
type loginTicket struct {
	ref   string
	keyID string
	used  atomic.Bool
}

// randomToken returns n random bytes, base64url.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand crashes the program rather than return an error)
	return base64.RawURLEncoding.EncodeToString(b)
}

// validReturnTo accepts a path of the consent app: under /app/, without
// scheme, host, "..", backslash or fragment.
func validReturnTo(p string) bool {
	if !strings.HasPrefix(p, "/app/") || len(p) > 512 || strings.ContainsAny(p, "\\#\r\n\t ") || strings.Contains(p, "..") {
		return false
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.Path != ""
}

// newTicket keeps a ticket for the login of ref (with keyID, the device
// enrolled with it) and returns it.
func (c *CitizenAPI) newTicket(ref, keyID string) string {
	t := randomToken(32)
	c.tickets.Put(t, &loginTicket{ref: ref, keyID: keyID})
	return t
}

// citizenOIDCStart sends the browser to the identity provider.
func (s *Server) citizenOIDCStart(w http.ResponseWriter, r *http.Request) error {
	c, err := s.citizenAPI()
	if err != nil {
		return err
	}
	if c.cfg.Login == nil {
		return apiErr(http.StatusServiceUnavailable, CodeLoginUnavailable, "citizen login is not configured on this gateway")
	}
	if err := c.allowAddress(w, r); err != nil {
		return err
	}
	q := r.URL.Query()
	for k, v := range q {
		if (k != "return_to" && k != "device_id") || len(v) != 1 {
			return apiErr(http.StatusBadRequest, CodeInvalidArgument, "unknown or repeated query parameter %q", k)
		}
	}
	st := &loginState{nonce: randomToken(24), verifier: oauth2.GenerateVerifier(), returnTo: q.Get("return_to")}
	if st.returnTo == "" {
		st.returnTo = "/app/"
	}
	if !validReturnTo(st.returnTo) {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "return_to must be a path under /app/")
	}
	if id := q.Get("device_id"); id != "" {
		d, ok := c.devices.Get(id)
		if !ok || d.status(s.Now()) != deviceStatusPending || d.keyID() == "" {
			return apiErr(http.StatusConflict, CodeDeviceNotPending, "device_id must name a pending device with its key")
		}
		st.deviceID = id
		st.nonce = model.EnrolmentNonce(d.keyID(), randomToken(16))
	}
	cookie := randomToken(32)
	st.binding = sha256.Sum256([]byte(cookie))
	state := randomToken(24)
	u, err := c.cfg.Login.AuthURL(r.Context(), state, st.nonce, st.verifier)
	if err != nil {
		s.log.WarnContext(r.Context(), "identity provider unavailable", slog.String("request_id", requestIDFrom(r.Context())), slog.String("error", err.Error()))
		return apiErr(http.StatusServiceUnavailable, CodeLoginUnavailable, "the identity provider is not available; retry later")
	}
	c.logins.Put(state, st)
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: cookie, Path: loginCookiePath, MaxAge: int(loginTTL.Seconds()),
		HttpOnly: true, Secure: c.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, http.StatusFound)
	return nil
}

// Login error codes, in the fragment of the redirect back to the app.
const (
	CodeLoginStateInvalid = "LOGIN_STATE_INVALID"
	CodeLoginDenied       = "LOGIN_DENIED"
	CodeEnrolmentFailed   = "ENROLMENT_FAILED"
)

// citizenOIDCCallback finishes a login: the redirect back from the
// identity provider. Every outcome is a redirect to the app, with
// #ticket=… or #login_error=CODE; the codes never say more than the app
// needs to show.
func (s *Server) citizenOIDCCallback(w http.ResponseWriter, r *http.Request) error {
	c, err := s.citizenAPI()
	if err != nil {
		return err
	}
	if c.cfg.Login == nil {
		return apiErr(http.StatusServiceUnavailable, CodeLoginUnavailable, "citizen login is not configured on this gateway")
	}
	if err := c.allowAddress(w, r); err != nil {
		return err
	}
	ctx := r.Context()
	back := func(returnTo, frag string) error {
		http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: loginCookiePath, MaxAge: -1, HttpOnly: true,
			Secure: c.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, returnTo+"#"+frag, http.StatusFound)
		return nil
	}
	fail := func(returnTo, code string) error { return back(returnTo, "login_error="+code) }
	q := r.URL.Query()
	st, ok := c.logins.Get(q.Get("state"))
	if !ok || q.Get("state") == "" {
		return fail("/app/", CodeLoginStateInvalid)
	}
	cookie, err := r.Cookie(loginCookie)
	if err != nil || subtle.ConstantTimeCompare(st.binding[:], hashOf(cookie.Value)) != 1 {
		return fail("/app/", CodeLoginStateInvalid)
	}
	if !st.used.CompareAndSwap(false, true) {
		return fail(st.returnTo, CodeLoginStateInvalid)
	}
	c.logins.Delete(q.Get("state"))
	if q.Get("error") != "" || q.Get("code") == "" {
		return fail(st.returnTo, CodeLoginDenied)
	}
	id, err := c.cfg.Login.Exchange(ctx, q.Get("code"), st.verifier, st.nonce)
	var refused *identity.Refusal
	switch {
	case errors.As(err, &refused):
		s.log.WarnContext(ctx, "citizen login refused", slog.String("request_id", requestIDFrom(ctx)), slog.String("reason", refused.Code))
		return fail(st.returnTo, refused.Code)
	case err != nil:
		s.log.WarnContext(ctx, "identity provider unavailable", slog.String("request_id", requestIDFrom(ctx)), slog.String("error", err.Error()))
		return fail(st.returnTo, CodeLoginUnavailable)
	}
	idNumber := resident.Normalise(id.IDNumber)
	if resident.Valid(idNumber, s.Now()) != nil {
		return fail(st.returnTo, CodeInvalidIDNumber)
	}
	if s.Pseudonyms == nil {
		return fail(st.returnTo, CodePseudonymUnavailable)
	}
	ref, err := s.Pseudonyms.Ref(idNumber)
	if err != nil {
		s.log.WarnContext(ctx, "pseudonymisation failed", slog.String("request_id", requestIDFrom(ctx)), slog.String("error", err.Error()))
		return fail(st.returnTo, CodePseudonymUnavailable)
	}
	if ok, _ := c.limits.starts.Take(ref); !ok {
		return fail(st.returnTo, CodeRateLimited)
	}
	keyID := ""
	if st.deviceID != "" {
		d, ok := c.devices.Get(st.deviceID)
		if !ok || d.status(s.Now()) == deviceStatusExpired {
			return fail(st.returnTo, CodeDeviceNotPending)
		}
		proof := &model.EnrolmentProof{Kind: model.ProofIDToken, IDToken: id.RawIDToken}
		if err := s.enrolDevice(ctx, c, d, ref, proof); err != nil {
			return fail(st.returnTo, enrolFailure(err))
		}
		keyID = d.keyID()
	}
	return back(st.returnTo, "ticket="+c.newTicket(ref, keyID))
}

// hashOf is the SHA-256 of s.
func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// enrolFailure is the login_error code of a failed enrolment: the
// chaincode's code when it refused, ENROLMENT_FAILED otherwise.
func enrolFailure(err error) string {
	var me *model.Error
	if errors.As(err, &me) {
		return string(me.Code)
	}
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return CodeEnrolmentFailed
}

// enrolDevice enrols the pending device d for the citizen ref in every
// requester's collection with proof, marks it enrolled and tells the
// citizen's other devices. A device enrolled already is left as it is
// (an approval and a login racing): the first wins.
func (s *Server) enrolDevice(ctx context.Context, c *CitizenAPI, d *pendingDevice, ref string, proof *model.EnrolmentProof) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state == deviceStatusEnrolled {
		if d.ref != ref {
			return apiErr(http.StatusConflict, CodeDeviceNotPending, "the device is enrolled already")
		}
		return nil
	}
	_, err := c.records.Enrol(ctx, ref, citizens.NewKey{JWK: d.jwk, Name: d.name, Kind: d.kind, Proof: proof})
	var partial *citizens.EnrolError
	if errors.As(err, &partial) {
		s.log.WarnContext(ctx, "device enrolment incomplete", slog.String("request_id", requestIDFrom(ctx)),
			slog.String("key_id", d.kid), slog.Int("collections_done", len(partial.Done)), slog.String("failed", partial.Failed),
			slog.String("error", partial.Err.Error()))
	}
	if err != nil {
		return err
	}
	d.state, d.ref = deviceStatusEnrolled, ref
	c.deviceAdded(ref, d.kid, d.name, s.Now())
	return nil
}

// sessionRequest is the body of POST /citizen/v1/session.
type sessionRequest struct {
	Ticket string `json:"ticket"`
}

// Validate checks the ticket's form.
func (q *sessionRequest) Validate() error {
	if len(q.Ticket) != 43 || strings.Trim(q.Ticket, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "ticket must be the ticket of a login")
	}
	return nil
}

// newSessionResponse is a new session's token, its citizen and the
// device enrolled with the login, if any.
type newSessionResponse struct {
	citizenSessionResponse
	Token      string `json:"token"`
	CitizenRef string `json:"citizen_ref"`
	KeyID      string `json:"key_id,omitempty"`
}

// citizenSessionStart exchanges a login's one-time ticket for a citizen
// token. A ticket is good once, for ticketTTL; an unknown, used or
// expired one is 401 INVALID_TICKET alike.
func (s *Server) citizenSessionStart(w http.ResponseWriter, r *http.Request) error {
	c, err := s.citizenAPI()
	if err != nil {
		return err
	}
	if err := c.allowAddress(w, r); err != nil {
		return err
	}
	var q sessionRequest
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	if err := q.Validate(); err != nil {
		return err
	}
	t, ok := c.tickets.Get(q.Ticket)
	if !ok || !t.used.CompareAndSwap(false, true) {
		return apiErr(http.StatusUnauthorized, CodeInvalidTicket, "the ticket is unknown, used or expired; log in again")
	}
	c.tickets.Delete(q.Ticket)
	tok, exp, err := s.Tokens.Issue(auth.Principal{Kind: auth.KindCitizen, Subject: t.ref})
	if err != nil {
		return err
	}
	p, err := s.Tokens.Verify(tok, auth.KindCitizen)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newSessionResponse{citizenSessionResponse: s.citizenSession(tok, exp, p), Token: tok,
		CitizenRef: t.ref, KeyID: t.keyID})
	return nil
}

// allowAddress counts an attempt against the remote address's limit.
// Behind a reverse proxy every citizen shares the proxy's address; the
// proxy must then rate-limit by client itself (the per-citizen limits
// still hold).
func (c *CitizenAPI) allowAddress(w http.ResponseWriter, r *http.Request) error {
	if ok, wait := c.limits.perAddress.Take(remoteIP(r)); !ok {
		return rateLimited(w, wait, "too many login attempts from this address; wait a minute")
	}
	return nil
}

// citizenSessionResponse is a citizen token and its session's bounds.
type citizenSessionResponse struct {
	tokenResponse
	// ExpiresAt is when this token expires unless renewed first;
	// SessionExpiresAt when the session ends however often it is renewed.
	ExpiresAt        string `json:"expires_at"`
	SessionExpiresAt string `json:"session_expires_at"`
	// IdleTimeout is how long, in seconds, each renewal extends the
	// session by.
	IdleTimeout int `json:"idle_timeout"`
}

func (s *Server) citizenSession(tok string, exp time.Time, p *auth.Principal) citizenSessionResponse {
	return citizenSessionResponse{
		tokenResponse:    tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(exp.Sub(s.Now()).Seconds())},
		ExpiresAt:        exp.UTC().Format(time.RFC3339),
		SessionExpiresAt: s.Tokens.SessionEnd(p).UTC().Format(time.RFC3339),
		IdleTimeout:      int(s.Tokens.CitizenSessions().Idle.Seconds()),
	}
}

// citizenRenewSession exchanges a valid citizen token for a fresh one of
// the same session: the app calls it while the citizen is active. An
// expired token is 401 like on every route; a session past its maximum is
// 401 SESSION_EXPIRED, and the citizen logs in again.
func (s *Server) citizenRenewSession(w http.ResponseWriter, r *http.Request) error {
	if _, _, err := s.citizenCaller(r); err != nil {
		return err
	}
	p, _ := auth.FromContext(r.Context())
	tok, exp, err := s.Tokens.RenewCitizen(p)
	if errors.Is(err, auth.ErrSessionOver) {
		return apiErr(http.StatusUnauthorized, CodeSessionExpired, "the session has reached its maximum length; log in again")
	}
	if err != nil {
		return err
	}
	np, err := s.Tokens.Verify(tok, auth.KindCitizen)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.citizenSession(tok, exp, np))
	return nil
}
