package httpapi

import (
	"errors"
	"log/slog"
	"mime"
	"net/http"

	"github.com/quanchain/quanchain/gateway/internal/auth"
)

// tokenRequest is an OAuth2 client-credentials token request (RFC 6749
// §4.4), as a form or as JSON.
type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	// A client assertion (private_key_jwt, RFC 7523) instead of a secret.
	ClientAssertionType string `json:"client_assertion_type"`
	ClientAssertion     string `json:"client_assertion"`
}

// Validate checks the request's form.
func (q *tokenRequest) Validate() error {
	if q.GrantType != "client_credentials" {
		return apiErr(http.StatusBadRequest, CodeUnsupportedGrant, "grant_type must be client_credentials")
	}
	if q.ClientID == "" || q.ClientSecret == "" || len(q.ClientID) > 128 || len(q.ClientSecret) > 256 {
		return apiErr(http.StatusUnauthorized, CodeInvalidClient, "client authentication failed")
	}
	return nil
}

// tokenResponse is the RFC 6749 §5.1 answer.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// token issues a short-lived institution token for valid client
// credentials. Client credentials may also come as HTTP Basic.
func (s *Server) token(w http.ResponseWriter, r *http.Request) error {
	return s.issueToken(w, r, s.Clients)
}

// issueToken is the client-credentials grant against clients.
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request, clients ClientAuthenticator) error {
	var q tokenRequest
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return err
			}
			return apiErr(http.StatusBadRequest, CodeInvalidArgument, "the form does not parse")
		}
		for k, v := range r.PostForm {
			if len(v) != 1 {
				return apiErr(http.StatusBadRequest, CodeInvalidArgument, "parameter %q is repeated", k)
			}
		}
		q = tokenRequest{GrantType: r.PostForm.Get("grant_type"), ClientID: r.PostForm.Get("client_id"),
			ClientSecret: r.PostForm.Get("client_secret"), ClientAssertionType: r.PostForm.Get("client_assertion_type"),
			ClientAssertion: r.PostForm.Get("client_assertion")}
	default:
		if err := decodeJSON(r, &q); err != nil {
			return err
		}
	}
	if id, secret, ok := r.BasicAuth(); ok && q.ClientID == "" && q.ClientSecret == "" {
		q.ClientID, q.ClientSecret = id, secret
	}
	var c APIClient
	if q.ClientAssertionType != "" || q.ClientAssertion != "" {
		if q.GrantType != "client_credentials" {
			return apiErr(http.StatusBadRequest, CodeUnsupportedGrant, "grant_type must be client_credentials")
		}
		var err error
		if c, err = s.assertedClient(r, clients, q); err != nil {
			return err
		}
	} else {
		if err := q.Validate(); err != nil {
			return err
		}
		var err error
		c, err = clients.AuthenticateClient(r.Context(), q.ClientID, q.ClientSecret)
		if err != nil {
			if !errors.Is(err, ErrInvalidClient) {
				return err
			}
			return apiErr(http.StatusUnauthorized, CodeInvalidClient, "client authentication failed")
		}
	}
	if c.MSPID != s.MSPID {
		// A client of another organisation in this gateway's store is a
		// configuration error; its token would act under our identity.
		s.log.WarnContext(r.Context(), "client of another organisation refused", slog.String("client", c.ID))
		return apiErr(http.StatusUnauthorized, CodeInvalidClient, "client authentication failed")
	}
	tok, _, err := s.Tokens.Issue(auth.Principal{Kind: auth.KindInstitution, Subject: c.ID, MSPID: c.MSPID, Scopes: c.Scopes})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(s.Tokens.TTL().Seconds())})
	return nil
}
