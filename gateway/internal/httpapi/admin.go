package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/vault"
)

// adminRoutes are the admin API. Its callers are API clients of the
// gateway's organisation holding the admin scope, with institution tokens
// from POST /admin/v1/oauth/token (served by every gateway). The operator's
// gateway (provider role) registers API clients and imports datasets; a
// requester gateway administers its webhook deliveries
// (webhook_deliveries.go); every gateway lists the deliveries of data it
// served or received (admin_deliveries.go).
var adminRoutes = []route{
	{method: "POST", pattern: "/admin/v1/oauth/token", handle: (*Server).adminToken},
	{method: "POST", pattern: "/admin/v1/clients", role: config.RoleProvider, auth: auth.KindInstitution, handle: (*Server).adminCreateClient},
	{method: "POST", pattern: "/admin/v1/datasets/{category}/import", role: config.RoleProvider, auth: auth.KindInstitution,
		bodyLimit: importLimit, long: importTimeout, handle: (*Server).adminImportDataset},
	{method: "GET", pattern: "/admin/v1/deliveries", auth: auth.KindInstitution, handle: (*Server).adminListDeliveryLog},
	{method: "GET", pattern: "/admin/v1/webhooks/deliveries", role: config.RoleRequester, auth: auth.KindInstitution, handle: (*Server).adminListDeliveries},
	{method: "POST", pattern: "/admin/v1/webhooks/deliveries/{id}/retry", role: config.RoleRequester, auth: auth.KindInstitution, handle: (*Server).adminRetryDelivery},
	{method: "POST", pattern: "/admin/v1/webhooks/{id}/retry", role: config.RoleRequester, auth: auth.KindInstitution, handle: (*Server).adminRetryWebhook},
}

// Error codes of the admin API.
const (
	CodeInsufficientScope = "INSUFFICIENT_SCOPE"
	CodeOrgNotServed      = "ORG_NOT_SERVED"
	CodeInvalidRecord     = "INVALID_RECORD"
	CodeCategoryNotServed = "CATEGORY_NOT_SERVED"
	CodeImportBusy        = "IMPORT_BUSY"
	codeAdminUnavailable  = "ADMIN_API_UNAVAILABLE"
)

const (
	defaultImportLimit = 32 << 20
	clientSecretBytes  = 32
	maxClientScopes    = 8
	maxRedirectURIs    = 10
)

// ClientScopes are the scopes an API client may be given: institution
// (the institution API, as the demo clients have it) and admin.
var ClientScopes = []string{"institution", auth.ScopeAdmin}

// AdminClientStore registers API clients; *store.Store implements it.
type AdminClientStore interface {
	CreateClient(ctx context.Context, c store.Client, secret string) (store.Client, error)
	// CreateKeyClient registers a client that authenticates with client
	// assertions signed by the key of a public JWK (private_key_jwt).
	CreateKeyClient(ctx context.Context, c store.Client, jwk string) (store.Client, error)
}

// DatasetImporter checks and imports JSON Lines datasets into the digital
// safe, seals them into Merkle batches and anchors the batches;
// *vault.Importer implements it (with a ReportingAnchorer around its
// Anchorer, so the answer lists the batches anchored).
type DatasetImporter interface {
	Check(ctx context.Context, category string, r io.Reader) (lines int, err error)
	Import(ctx context.Context, category string, r io.Reader) (vault.ImportResult, error)
}

// AdminConfig are the admin API's collaborators.
type AdminConfig struct {
	Clients AdminClientStore
	// Datasets imports datasets; nil answers the import route 503.
	Datasets DatasetImporter
	// SpoolDir keeps a dataset, in a file only the gateway can read,
	// between its check and its import (the gateway's data directory;
	// os.TempDir() if empty): the request is read once, and memory does
	// not grow with the dataset.
	SpoolDir string
}

// AdminAPI serves the admin routes.
type AdminAPI struct {
	cfg AdminConfig
	// importing holds one token while an import runs: imports are
	// serialised, so at most one dataset is spooled at a time.
	importing chan struct{}
}

// NewAdminAPI checks c and returns the admin API's state.
func NewAdminAPI(c AdminConfig) (*AdminAPI, error) {
	if c.Clients == nil {
		return nil, errors.New("httpapi: the admin API needs a client store")
	}
	return &AdminAPI{cfg: c, importing: make(chan struct{}, 1)}, nil
}

// adminToken is the admin API's token endpoint: the client-credentials
// grant of /v1/oauth/token, on every gateway (the operator's plays no
// requester role and so has no /v1/oauth/token).
func (s *Server) adminToken(w http.ResponseWriter, r *http.Request) error {
	if s.Clients == nil || s.MSPID == "" {
		return apiErr(http.StatusServiceUnavailable, codeAdminUnavailable, "API clients are not configured on this gateway")
	}
	return s.issueToken(w, r, s.Clients)
}

// adminPrincipal returns the caller after checking that it is an API
// client of this gateway's organisation with the admin scope.
func (s *Server) adminPrincipal(r *http.Request) (*auth.Principal, error) {
	p, ok := auth.FromContext(r.Context())
	if !ok || p.Kind != auth.KindInstitution {
		return nil, &auth.Error{Code: auth.CodeInvalidToken, Reason: errors.New("admin route without an institution principal")}
	}
	if p.MSPID != s.MSPID || !p.HasScope(auth.ScopeAdmin) {
		return nil, apiErr(http.StatusForbidden, CodeInsufficientScope, "the admin API requires a client of %s with the %s scope", s.MSPID, auth.ScopeAdmin)
	}
	return p, nil
}

// adminCaller returns the operator's admin API and the caller, an admin
// client of this gateway's organisation.
func (s *Server) adminCaller(r *http.Request) (*AdminAPI, *auth.Principal, error) {
	p, err := s.adminPrincipal(r)
	if err != nil {
		return nil, nil, err
	}
	if s.Admin == nil {
		return nil, nil, apiErr(http.StatusServiceUnavailable, codeAdminUnavailable, "the admin API is not configured on this gateway")
	}
	return s.Admin, p, nil
}

// createClientRequest is the body of POST /admin/v1/clients.
type createClientRequest struct {
	OrgMSP string   `json:"org_msp"`
	Scopes []string `json:"scopes"`
	// JWK, if given, is the client's P-256 public key: the client then
	// authenticates with signed client assertions and has no secret.
	JWK json.RawMessage `json:"jwk"`
	// RedirectURIs are the return URLs of the institution's app, where a
	// consent link may bring the citizen back (store.ValidRedirectURI).
	RedirectURIs []string `json:"redirect_uris"`
}

// Validate checks the request's form and that the client would act for
// self, the only organisation whose clients this gateway serves.
func (q *createClientRequest) Validate(self string) error {
	if !model.ValidMSPID(q.OrgMSP) {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "org_msp must be an MSP ID such as BureauMSP")
	}
	if q.OrgMSP != self {
		return apiErr(http.StatusUnprocessableEntity, CodeOrgNotServed, "this gateway's API clients act for %s only", self)
	}
	if len(q.Scopes) > maxClientScopes {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "scopes lists at most %d scopes", maxClientScopes)
	}
	for i, sc := range q.Scopes {
		if !slices.Contains(ClientScopes, sc) {
			return apiErr(http.StatusBadRequest, CodeInvalidArgument, "scopes[%d] is not a scope (%s)", i, strings.Join(ClientScopes, ", "))
		}
		if slices.Contains(q.Scopes[:i], sc) {
			return apiErr(http.StatusBadRequest, CodeInvalidArgument, "scopes[%d] repeats %s", i, sc)
		}
	}
	if len(q.RedirectURIs) > maxRedirectURIs {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "redirect_uris lists at most %d URLs", maxRedirectURIs)
	}
	for i, u := range q.RedirectURIs {
		if !store.ValidRedirectURI(u) {
			return apiErr(http.StatusBadRequest, CodeInvalidArgument,
				"redirect_uris[%d] must be an https URL without fragment or user information (http only on 127.0.0.1, [::1] or localhost), at most %d bytes", i, store.MaxRedirectURILength)
		}
		if slices.Contains(q.RedirectURIs[:i], u) {
			return apiErr(http.StatusBadRequest, CodeInvalidArgument, "redirect_uris[%d] repeats an earlier URL", i)
		}
	}
	return nil
}

// createdClient is the answer to POST /admin/v1/clients: the only time the
// secret is shown.
type createdClient struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret,omitempty"`
	// TokenEndpointAuthMethod is client_secret_post (also sent as HTTP
	// Basic) or private_key_jwt (RFC 7591 §2).
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	OrgMSP                  string   `json:"org_msp"`
	Scopes                  []string `json:"scopes"`
	RedirectURIs            []string `json:"redirect_uris"`
	CreatedAt               string   `json:"created_at"`
}

// adminCreateClient registers an API client with a fresh id and secret; the
// store keeps only a hash of the secret. The route is not idempotent: a
// replayed answer would have to keep the secret.
func (s *Server) adminCreateClient(w http.ResponseWriter, r *http.Request) error {
	a, _, err := s.adminCaller(r)
	if err != nil {
		return err
	}
	var q createClientRequest
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	if err := q.Validate(s.MSPID); err != nil {
		return err
	}
	scopes := q.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	uris := q.RedirectURIs
	if uris == nil {
		uris = []string{}
	}
	want := store.Client{ID: strings.ToLower(auth.RandomID("client-")), OrgMSP: q.OrgMSP, Scopes: scopes, RedirectURIs: q.RedirectURIs}
	if len(q.JWK) > 0 {
		c, err := a.cfg.Clients.CreateKeyClient(r.Context(), want, string(q.JWK))
		if errors.Is(err, store.ErrInvalidArgument) {
			return apiErr(http.StatusUnprocessableEntity, string(model.CodeInvalidKey), "jwk must be a P-256 public key (kty EC, crv P-256, x, y)")
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, createdClient{ClientID: c.ID, TokenEndpointAuthMethod: "private_key_jwt", OrgMSP: c.OrgMSP,
			Scopes: scopes, RedirectURIs: uris, CreatedAt: c.CreatedAt.UTC().Format(time.RFC3339Nano)})
		return nil
	}
	var raw [clientSecretBytes]byte
	_, _ = rand.Read(raw[:]) // never fails (crypto/rand, Go 1.24+)
	secret := base64.RawURLEncoding.EncodeToString(raw[:])
	c, err := a.cfg.Clients.CreateClient(r.Context(), want, secret)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, createdClient{ClientID: c.ID, ClientSecret: secret, TokenEndpointAuthMethod: "client_secret_post",
		OrgMSP: c.OrgMSP, Scopes: scopes, RedirectURIs: uris, CreatedAt: c.CreatedAt.UTC().Format(time.RFC3339Nano)})
	return nil
}
