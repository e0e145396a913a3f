package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/devidp"
	"github.com/quanchain/quanchain/gateway/internal/expiring"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/internal/resident"
)

// loginCodeTTL is how long a one-time login code is valid.
const loginCodeTTL = 5 * time.Minute

// loginRequest is the body of POST /citizen/v1/login. None of its fields
// is stored, logged or sent to the ledger: the ID number becomes the
// citizenRef, and the name and phone are only compared with the real-name
// register (the code goes to the register's phone, not this one).
type loginRequest struct {
	IDNumber string `json:"id_number"`
	Name     string `json:"name"`
	Phone    string `json:"phone"`
}

// Validate checks the request's form and normalises it; no message
// repeats what was sent.
func (q *loginRequest) Validate(now time.Time) error {
	q.IDNumber = resident.Normalise(q.IDNumber)
	if resident.Valid(q.IDNumber, now) != nil {
		return apiErr(http.StatusBadRequest, CodeInvalidIDNumber, "id_number is not a valid 18-character resident ID number")
	}
	q.Name = strings.TrimSpace(q.Name)
	if !devidp.ValidName(q.Name) {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "name must be 1–64 letters (a middle dot, space, hyphen or apostrophe may separate parts)")
	}
	phone, ok := devidp.NormalisePhone(q.Phone)
	if !ok {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "phone must be a mainland mobile number (11 digits starting with 1, optionally +86)")
	}
	q.Phone = phone
	return nil
}

// loginResponse names the challenge the code answers.
type loginResponse struct {
	ChallengeID string `json:"challenge_id"`
	ExpiresAt   string `json:"expires_at"`
}

// citizenLogin is the development identity provider's first step: an ID
// number, name and phone that the real-name register holds together get a
// one-time code, sent to the phone the register holds, for the citizenRef
// of the ID number. Only the citizenRef and a hash of the code are stored,
// and the code is never logged.
//
// An ID number that is not registered and a name or phone that does not
// match are refused alike (422 IDENTITY_NOT_MATCHED) after the same work,
// so the answer never says which field was wrong or whether the ID number
// is registered. Attempts are limited per remote address and per citizen:
// the ID number's ref, registered or not, so a refusal counts too.
func (s *Server) citizenLogin(w http.ResponseWriter, r *http.Request) error {
	c, err := s.citizenAPI()
	if err != nil {
		return err
	}
	if err := c.allowAddress(w, r); err != nil {
		return err
	}
	var q loginRequest
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	now := s.Now()
	if err := q.Validate(now); err != nil {
		return err
	}
	if c.cfg.Register == nil || c.cfg.Codes == nil {
		return apiErr(http.StatusServiceUnavailable, CodeLoginUnavailable, "citizen login is not available on this gateway")
	}
	ctx := r.Context()
	if s.Pseudonyms == nil {
		return apiErr(http.StatusServiceUnavailable, CodePseudonymUnavailable, "the citizen pseudonym service is unavailable; retry later")
	}
	ref, err := s.Pseudonyms.Ref(q.IDNumber)
	if err != nil {
		s.log.WarnContext(ctx, "pseudonymisation failed", slog.String("request_id", requestIDFrom(ctx)), slog.String("error", err.Error()))
		return apiErr(http.StatusServiceUnavailable, CodePseudonymUnavailable, "the citizen pseudonym service is unavailable; retry later")
	}
	if ok, wait := c.limits.starts.Take(ref); !ok {
		return rateLimited(w, wait, "too many logins for this citizen; wait before trying again")
	}
	name, phone, found, err := c.cfg.Register.Registered(ctx, q.IDNumber)
	if err != nil {
		s.log.WarnContext(ctx, "real-name register unavailable", slog.String("request_id", requestIDFrom(ctx)), slog.String("error", err.Error()))
		return apiErr(http.StatusServiceUnavailable, CodeLoginUnavailable, "citizen login is not available now; retry later")
	}
	if !devidp.Matches(q.Name, q.Phone, devidp.Entry{Name: name, Phone: phone}, found) {
		return apiErr(http.StatusUnprocessableEntity, CodeIdentityNotMatched,
			"the ID number, name and phone do not match the real-name register")
	}
	code, err := devidp.OneTimeCode()
	if err != nil {
		return err
	}
	expires := now.Add(loginCodeTTL)
	id, err := c.cfg.Store.CreateLoginChallenge(ctx, ref, code, expires)
	if err != nil {
		return err
	}
	if err := c.cfg.Codes.SendLoginCode(ctx, LoginCode{ChallengeID: id, Phone: phone, Code: code, ExpiresAt: expires}); err != nil {
		s.log.WarnContext(ctx, "login code not sent", slog.String("request_id", requestIDFrom(ctx)),
			slog.String("challenge_id", id), slog.String("error", err.Error()))
		return apiErr(http.StatusServiceUnavailable, CodeLoginUnavailable, "the login code could not be sent; retry later")
	}
	writeJSON(w, http.StatusOK, loginResponse{ChallengeID: id, ExpiresAt: expires.UTC().Format(time.RFC3339)})
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

// verifyRequest is the body of POST /citizen/v1/login/verify.
type verifyRequest struct {
	ChallengeID string `json:"challenge_id"`
	Code        string `json:"code"`
}

var (
	challengePattern = regexp.MustCompile(`^[0-9a-f]{32}$`)
	codePattern      = regexp.MustCompile(`^[0-9]{6}$`)
)

// Validate checks the request's form.
func (q *verifyRequest) Validate() error {
	if !challengePattern.MatchString(q.ChallengeID) {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "challenge_id must be the id returned by /citizen/v1/login")
	}
	if !codePattern.MatchString(q.Code) {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "code must be 6 digits")
	}
	return nil
}

// citizenLoginVerify exchanges a challenge and its code for a short-lived
// citizen token whose subject is the citizenRef. Wrong, expired and
// unknown codes are alike 401 INVALID_CODE; once a challenge's attempts
// are used up it is 429 TOO_MANY_ATTEMPTS and the citizen logs in again.
func (s *Server) citizenLoginVerify(w http.ResponseWriter, r *http.Request) error {
	c, err := s.citizenAPI()
	if err != nil {
		return err
	}
	if err := c.allowAddress(w, r); err != nil {
		return err
	}
	var q verifyRequest
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	if err := q.Validate(); err != nil {
		return err
	}
	now := s.Now()
	tooMany := apiErr(http.StatusTooManyRequests, CodeTooManyAttempts, "too many wrong codes; request a new code")
	// The citizen's code attempts are counted before the code is checked,
	// across all their challenges and addresses.
	owner, err := c.cfg.Store.LoginChallengeRef(r.Context(), q.ChallengeID, now)
	switch {
	case err == nil:
		if ok, wait := c.limits.codes.Take(owner); !ok {
			return rateLimited(w, wait, "too many codes tried for this citizen; wait before trying again")
		}
	case !errors.Is(err, store.ErrChallengeGone):
		return err
	}
	ref, err := c.cfg.Store.VerifyLoginChallenge(r.Context(), q.ChallengeID, q.Code, now)
	switch {
	case errors.Is(err, store.ErrChallengeFailed):
		if c.attempts.fail(q.ChallengeID) >= store.MaxLoginAttempts {
			return tooMany
		}
		return apiErr(http.StatusUnauthorized, CodeInvalidCode, "the code is wrong or has expired")
	case errors.Is(err, store.ErrChallengeGone):
		if c.attempts.count(q.ChallengeID) >= store.MaxLoginAttempts {
			return tooMany
		}
		return apiErr(http.StatusUnauthorized, CodeInvalidCode, "the code is wrong or has expired")
	case err != nil:
		return err
	}
	c.attempts.forget(q.ChallengeID)
	tok, exp, err := s.Tokens.Issue(auth.Principal{Kind: auth.KindCitizen, Subject: ref})
	if err != nil {
		return err
	}
	p, err := s.Tokens.Verify(tok, auth.KindCitizen)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.citizenSession(tok, exp, p))
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

// attemptCounter counts wrong codes per challenge, so that a challenge
// out of attempts is answered 429 rather than 401. The store enforces the
// limit itself (atomically, across gateway replicas); this only picks the
// status. A count lives attemptTTL after the challenge's last wrong code,
// longer than the challenge itself.
type attemptCounter struct {
	m *expiring.Map[string, *atomic.Int32]
}

const attemptTTL = 2 * loginCodeTTL

func newAttemptCounter() *attemptCounter {
	return &attemptCounter{m: expiring.New[string, *atomic.Int32](attemptTTL, 0)}
}

// fail counts a wrong code for the challenge id and returns its count.
func (a *attemptCounter) fail(id string) int {
	return int(a.m.Touch(id, func() *atomic.Int32 { return new(atomic.Int32) }).Add(1))
}

// count returns the challenge's wrong codes.
func (a *attemptCounter) count(id string) int {
	if n, ok := a.m.Get(id); ok {
		return int(n.Load())
	}
	return 0
}

// forget drops the count of a challenge that has been answered.
func (a *attemptCounter) forget(id string) { a.m.Delete(id) }
