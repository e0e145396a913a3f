package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

// contextKey is unexported so only this package can set or read the
// principal in a context.
type contextKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, contextKey{}, p)
}

// FromContext returns the request's authenticated principal, if any.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(contextKey{}).(*Principal)
	return p, ok && p != nil
}

// Require returns middleware that admits only requests bearing a valid
// token of kind want ("Authorization: Bearer <JWT>") and puts the
// principal in the request's context. Failures are handed to fail with an
// *Error whose Code is stable (MISSING_TOKEN, INVALID_TOKEN); fail renders
// the 401 and must not show the error's reason to the client.
func (t *Tokens) Require(want Kind, fail func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, err := bearer(r)
			if err != nil {
				fail(w, r, err)
				return
			}
			p, err := t.Verify(tok, want)
			if err != nil {
				fail(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), p)))
		})
	}
}

// bearer extracts the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, error) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 {
		return "", &Error{Code: CodeMissingToken, Reason: errors.New("no Authorization header")}
	}
	if len(vals) > 1 {
		return "", &Error{Code: CodeInvalidToken, Reason: errors.New("several Authorization headers")}
	}
	scheme, tok, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", &Error{Code: CodeInvalidToken, Reason: errors.New("authorization scheme is not Bearer")}
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || strings.ContainsAny(tok, " \t") || strings.Count(tok, ".") != 2 {
		return "", &Error{Code: CodeInvalidToken, Reason: errors.New("bearer token is not a compact JWS")}
	}
	return tok, nil
}
