package provider

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/devidp"
	"github.com/quanchain/quanchain/gateway/internal/ratelimit"
	"github.com/quanchain/quanchain/internal/resident"
)

// loginPath is the login page; its forms post to loginPath/identity and
// loginPath/code.
const loginPath = "/login"

// MaxCodeAttempts is how many codes may be tried against one sent code;
// then the citizen asks for a new one.
const MaxCodeAttempts = 5

// citizenWindow is the per-citizen limits' window, as at the gateway.
const citizenWindow = 15 * time.Minute

// cookieName is the browser binding of a login: the first browser to open
// an auth request's login page holds it, and only that browser's forms
// are accepted for the request.
const cookieName = "devidp_login"

// login is the login page and its two forms.
type login struct {
	cfg   *Config
	store *storage
	// csrfKey signs each form's token: HMAC(auth request id, binding).
	csrfKey    []byte
	perAddress *ratelimit.Window
	starts     *ratelimit.Window
	codes      *ratelimit.Window
	// formAction is the pages' CSP form-action: a browser applies it to
	// the redirects that follow a form's submission too, so it names the
	// client's redirect origins besides the provider's own.
	formAction string
}

func newLogin(cfg *Config, st *storage) *login {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read does not fail (Go 1.24+)
	return &login{cfg: cfg, store: st, csrfKey: key,
		perAddress: ratelimit.NewWindow(cfg.LoginsPerMinute, time.Minute, cfg.Clock),
		starts:     ratelimit.NewWindow(cfg.StartsPerCitizen, citizenWindow, cfg.Clock),
		codes:      ratelimit.NewWindow(cfg.CodesPerCitizen, citizenWindow, cfg.Clock),
		formAction: formAction(cfg.Client.RedirectURIs),
	}
}

// formAction is 'self' and the origin of each redirect URI, sorted.
func formAction(redirects []string) string {
	seen := map[string]bool{}
	var origins []string
	for _, r := range redirects {
		u, err := url.Parse(r)
		if err != nil || u.Scheme == "" || u.Host == "" {
			continue
		}
		if o := u.Scheme + "://" + u.Host; !seen[o] {
			seen[o] = true
			origins = append(origins, o)
		}
	}
	sort.Strings(origins)
	return strings.Join(append([]string{"'self'"}, origins...), " ")
}

// newView is a page in lang with the provider's form-action.
func (l *login) newView(lang string) *view {
	v := newView(lang)
	v.formAction = l.formAction
	return v
}

// csrf is the form token binding a form to its auth request and browser.
func (l *login) csrf(id, browser string) string {
	m := hmac.New(sha256.New, l.csrfKey)
	m.Write([]byte(id + "\x00" + browser))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

var authRequestIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// page shows the login's current step: the identity form, or the code form
// once a code was sent. Opening it binds the auth request to this browser.
func (l *login) page(w http.ResponseWriter, r *http.Request) {
	v := l.newView(r.URL.Query().Get("lang"))
	id := r.URL.Query().Get("authRequestID")
	if !authRequestIDPattern.MatchString(id) {
		v.render(w, http.StatusBadRequest, msgRequestGone)
		return
	}
	fresh, err := randomID()
	if err != nil {
		v.render(w, http.StatusInternalServerError, msgUnavailable)
		return
	}
	cookie, _ := r.Cookie(cookieName)
	var browser string
	var a *authRequest
	err = l.store.update(id, func(ar *authRequest) error {
		switch {
		case ar.done:
			return errNotFound
		case ar.browser == "":
			ar.browser = fresh
		case cookie == nil || subtle.ConstantTimeCompare([]byte(cookie.Value), []byte(ar.browser)) != 1:
			return errNotFound // another browser's login
		}
		browser, a = ar.browser, ar.clone()
		return nil
	})
	if err != nil {
		v.render(w, http.StatusBadRequest, msgRequestGone)
		return
	}
	l.setCookie(w, browser)
	v.bind(a, l.csrf(id, browser))
	v.render(w, http.StatusOK, "")
}

func (l *login) setCookie(w http.ResponseWriter, browser string) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: browser, Path: loginPath, HttpOnly: true,
		Secure: strings.HasPrefix(l.cfg.Issuer, "https://"), SameSite: http.SameSiteLaxMode,
		MaxAge: int(authRequestTTL / time.Second)})
}

// form reads a posted form's auth request, after checking that the form
// token and this browser's binding are that request's: it returns nil (and
// has answered) otherwise.
func (l *login) form(w http.ResponseWriter, r *http.Request, v *view) *authRequest {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		v.render(w, http.StatusBadRequest, msgRequestGone)
		return nil
	}
	id := r.PostForm.Get("authRequestID")
	a, err := l.store.request(id)
	cookie, _ := r.Cookie(cookieName)
	if err != nil || a.done || a.browser == "" || cookie == nil ||
		subtle.ConstantTimeCompare([]byte(cookie.Value), []byte(a.browser)) != 1 ||
		!hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(l.csrf(a.id, a.browser))) {
		v.render(w, http.StatusForbidden, msgRequestGone)
		return nil
	}
	v.bind(a, l.csrf(a.id, a.browser))
	if ok, wait := l.perAddress.Take(remoteIP(r)); !ok {
		retryAfter(w, wait)
		v.render(w, http.StatusTooManyRequests, msgTooManyAttempts)
		return nil
	}
	return a
}

func retryAfter(w http.ResponseWriter, wait time.Duration) {
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// identity is step 1: the ID number, name and phone must be what the
// register holds together. An unknown ID number and a mismatch are
// refused alike, after the same work; either way the attempt counts
// against the ID number. A match sends a code to the register's phone
// (never the typed one) and shows the code form.
func (l *login) identity(w http.ResponseWriter, r *http.Request) {
	v := l.newView(r.PostFormValue("lang"))
	a := l.form(w, r, v)
	if a == nil {
		return
	}
	now := l.cfg.Clock()
	idNumber := resident.Normalise(r.PostForm.Get("id_number"))
	name := strings.TrimSpace(r.PostForm.Get("name"))
	phone, phoneOK := devidp.NormalisePhone(r.PostForm.Get("phone"))
	switch {
	case resident.Valid(idNumber, now) != nil:
		v.render(w, http.StatusBadRequest, msgInvalidID)
		return
	case !devidp.ValidName(name):
		v.render(w, http.StatusBadRequest, msgInvalidName)
		return
	case !phoneOK:
		v.render(w, http.StatusBadRequest, msgInvalidPhone)
		return
	}
	if ok, wait := l.starts.Take(l.cfg.Keys.limitKey(idNumber)); !ok {
		retryAfter(w, wait)
		v.render(w, http.StatusTooManyRequests, msgTooManyAttempts)
		return
	}
	ctx := r.Context()
	e, found, err := l.cfg.Register.Lookup(ctx, idNumber)
	if err != nil {
		l.cfg.Log.WarnContext(ctx, "real-name register unavailable", slog.String("error", err.Error()))
		v.render(w, http.StatusServiceUnavailable, msgUnavailable)
		return
	}
	if !devidp.Matches(name, phone, e, found) {
		v.render(w, http.StatusUnprocessableEntity, msgNotMatched)
		return
	}
	code, err := devidp.OneTimeCode()
	if err != nil {
		v.render(w, http.StatusInternalServerError, msgUnavailable)
		return
	}
	chID, err := randomID()
	if err != nil {
		v.render(w, http.StatusInternalServerError, msgUnavailable)
		return
	}
	regPhone, _ := devidp.NormalisePhone(e.Phone)
	ch := &challenge{id: chID, hash: sha256.Sum256([]byte(code)), expires: now.Add(l.cfg.CodeTTL), phone: regPhone}
	if err := l.cfg.Sender.Send(ctx, devidp.Code{ChallengeID: chID, Phone: regPhone, Code: code, ExpiresAt: ch.expires}); err != nil {
		l.cfg.Log.WarnContext(ctx, "login code not sent", slog.String("challenge_id", chID), slog.String("error", err.Error()))
		v.render(w, http.StatusServiceUnavailable, msgUnavailable)
		return
	}
	err = l.store.update(a.id, func(ar *authRequest) error {
		ar.challenge, ar.started = ch, idNumber
		a = ar.clone()
		return nil
	})
	if err != nil {
		v.render(w, http.StatusBadRequest, msgRequestGone)
		return
	}
	l.cfg.Log.InfoContext(ctx, "login code sent", slog.String("challenge_id", chID))
	v.bind(a, v.CSRF)
	v.render(w, http.StatusOK, "")
}

var codePattern = regexp.MustCompile(`^[0-9]{6}$`)

// code is step 2: the code sent in step 1, tried at most MaxCodeAttempts
// times and within its TTL, completes the auth request; the browser goes
// on to the library's callback, which redirects it to the client.
func (l *login) code(w http.ResponseWriter, r *http.Request) {
	v := l.newView(r.PostFormValue("lang"))
	a := l.form(w, r, v)
	if a == nil {
		return
	}
	if a.challenge == nil {
		v.render(w, http.StatusBadRequest, msgCodeGone)
		return
	}
	if ok, wait := l.codes.Take(l.cfg.Keys.limitKey(a.started)); !ok {
		retryAfter(w, wait)
		v.render(w, http.StatusTooManyRequests, msgTooManyAttempts)
		return
	}
	typed := strings.TrimSpace(r.PostForm.Get("code"))
	now := l.cfg.Clock()
	var status int
	var msg msgKey
	err := l.store.update(a.id, func(ar *authRequest) error {
		ch := ar.challenge
		if ch == nil || ar.done {
			status, msg = http.StatusBadRequest, msgCodeGone
			return nil
		}
		h := sha256.Sum256([]byte(typed))
		ch.attempts++
		if !codePattern.MatchString(typed) || subtle.ConstantTimeCompare(h[:], ch.hash[:]) != 1 || !now.Before(ch.expires) {
			status, msg = http.StatusUnauthorized, msgWrongCode
			if ch.attempts >= MaxCodeAttempts {
				// The code is spent: back to step 1 for a new one.
				ar.challenge, ar.started = nil, ""
				status, msg = http.StatusTooManyRequests, msgTooManyCodes
			}
			a = ar.clone()
			return nil
		}
		ar.challenge = nil
		ar.done, ar.acr, ar.authTime = true, l.cfg.ACR, now
		ar.idNumber, ar.subject = ar.started, l.cfg.Keys.Subject(ar.req.ClientID, ar.started)
		return nil
	})
	if errors.Is(err, errNotFound) {
		v.render(w, http.StatusBadRequest, msgRequestGone)
		return
	}
	if msg != "" {
		v.bind(a, v.CSRF)
		v.render(w, status, msg)
		return
	}
	http.Redirect(w, r, l.cfg.Issuer+"/authorize/callback?id="+url.QueryEscape(a.id), http.StatusSeeOther)
}
