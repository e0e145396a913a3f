// Package httpapi is the gateway's HTTP API: every route in one table,
// handlers that decode → Validate() → call the ledger → render, and one
// error renderer that picks the status from the error's type.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/exchange"
	"github.com/quanchain/quanchain/gateway/internal/expiring"
	"github.com/quanchain/quanchain/gateway/internal/present"
	"github.com/quanchain/quanchain/gateway/internal/ratelimit"
	"github.com/quanchain/quanchain/gateway/internal/vault"
	"github.com/quanchain/quanchain/internal/artefact"
	"github.com/quanchain/quanchain/ledger"
)

// Ledger is what the handlers need from the chaincode; *ledger.Ledger
// implements it.
type Ledger interface {
	Ping(ctx context.Context) error
	GetPurpose(ctx context.Context, code string) (*model.Purpose, error)
	GetInstitution(ctx context.Context, mspID string) (*model.Institution, error)
	GetCategory(ctx context.Context, code string) (*model.Category, error)
	RequestAuthorization(ctx context.Context, req model.AuthorizationRequest) (*model.Authorization, error)
	GetAuthorization(ctx context.Context, id string) (*model.Authorization, error)
	ListAuthorizationsByRequester(ctx context.Context, mspID string, q ledger.ListQuery) (*model.Page[model.Authorization], error)
	ListAccessesByRequester(ctx context.Context, mspID string, q ledger.ListQuery) (*model.Page[model.Access], error)
	Withdraw(ctx context.Context, id string) (*model.Authorization, error)
}

// APIClient is an institution's API client, as the token endpoint needs it.
type APIClient struct {
	ID    string
	MSPID string
	// Scopes are the client's OAuth2 scopes, carried in its tokens.
	Scopes []string
}

// ErrInvalidClient is returned by ClientAuthenticator for an unknown
// client, a wrong secret or a disabled client alike.
var ErrInvalidClient = errors.New("invalid client credentials")

// ClientAuthenticator checks OAuth2 client credentials.
type ClientAuthenticator interface {
	AuthenticateClient(ctx context.Context, id, secret string) (APIClient, error)
}

// Deps are the server's collaborators and settings.
type Deps struct {
	Config      *config.Config
	MSPID       string // the gateway's organisation, the requester of its authorisations
	Ledger      Ledger
	Tokens      *auth.Tokens
	Clients     ClientAuthenticator
	Idempotency IdempotencyStore
	// Pseudonyms is the operator's pseudonymiser, the digital safe's own,
	// so the API and the safe never disagree on a citizen's ref: its
	// citizen login names citizens by their vault refs, its pseudonym
	// service issues the pairwise refs. Nil on any other gateway.
	Pseudonyms *vault.Pseudonymiser
	// CitizenRefs gives a requester the pairwise ref its organisation knows
	// a citizen by (requester role): the operator's pseudonym service. Nil
	// on a gateway with Pseudonyms means the pairwise refs of MSPID,
	// computed and recorded in process.
	CitizenRefs RequesterPseudonymiser
	// PseudonymLog records the pseudonym service's lookups and lists a
	// citizen's (provider role); without it no ref is issued and
	// /citizen/v1/lookups answers 503.
	PseudonymLog PseudonymLog
	Log          *slog.Logger
	// Now is the clock for request validation; nil means time.Now.
	Now func() time.Time
	// Citizen is the citizen API behind the consent app (provider role,
	// NewCitizenAPI); without it the citizen routes answer 503.
	Citizen *CitizenAPI
	// Provider is the provider API other gateways call over mutual TLS
	// (provider role, NewProviderAPI); DataRequests and Verifications are
	// the institution API's data requests and verifications (requester
	// role, NewDataRequestAPI, NewVerificationAPI). Without them those
	// routes answer 503.
	Provider *exchange.Provider
	// PeerMSP returns the organisation of the member gateway that sent a
	// provider request, from its verified client certificate — never from
	// a header: (*peerlink.Link).RequestMSP.
	PeerMSP       func(*http.Request) (string, error)
	DataRequests  *exchange.Requester
	Verifications *VerificationAPI
	// Notify serves the institution's webhooks and event stream
	// (requester role, NewNotifyAPI); without it those routes answer 503.
	Notify *NotifyAPI
	// Admin is the operator's admin API (provider role, NewAdminAPI);
	// without it those routes answer 503.
	Admin *AdminAPI
	// DeliveryLog is what the gateway keeps of the deliveries it served
	// (provider role) or received (requester role), listed by the admin
	// API for auditors; without it GET /admin/v1/deliveries answers 503.
	DeliveryLog DeliveryLog
	// App is the citizens' consent app, served under /app/ (provider
	// role, consentapp.Handler); without it those routes answer 404.
	App http.Handler
	// ReadyChecks are what /readyz checks besides the ledger: a
	// requester's checks reach the operator's gateway.
	ReadyChecks []ReadyCheck
	// References keys the references of this institution's authorisation
	// requests (requester role; reference.LoadOrCreate); without it,
	// POST /v1/authorizations fails with 500.
	References ReferenceKeyer
	// Present signs and opens consent-link tickets (provider role:
	// the operator's ticket service and GET /citizen/v1/present/{ticket});
	// without it those routes answer 503.
	Present *present.Signer
	// ConsentLinks makes consent links (requester role); without it
	// POST /v1/authorizations/{id}/consent-link answers 503.
	ConsentLinks *ConsentLinks
	// Artefacts issues consent artefacts (requester role,
	// artefact.NewIssuer); without it those routes answer 503.
	Artefacts *artefact.Issuer
}

// CodeStoreUnavailable is /readyz's answer while the gateway's store does
// not answer.
const CodeStoreUnavailable = "STORE_UNAVAILABLE"

// CodeEncryptionKeyNotRegistered is /readyz's answer while the ledger holds
// another data-encryption key for the organisation than this gateway's.
const CodeEncryptionKeyNotRegistered = "ENCRYPTION_KEY_NOT_REGISTERED"

// ReadyCheck is one dependency /readyz checks. Code is the error code
// /readyz answers while Check fails.
type ReadyCheck struct {
	Name  string
	Code  string
	Check func(ctx context.Context) error
}

// Server is the gateway's HTTP API.
type Server struct {
	Deps
	log     *slog.Logger
	metrics *metrics
	reg     *prometheus.Registry
	limiter *ratelimit.Buckets
	mux     chi.Router
	// institutions caches registry entries for the pre-checks that spare
	// the ledger a doomed transaction (the chaincode checks again).
	institutions *expiring.Cache[*model.Institution]
	// pseudo is the pseudonym service's limiter and purpose cache.
	pseudo *pseudonymState
}

// route is one entry of the route table.
type route struct {
	method, pattern string
	// role is the gateway role that serves the route; "" for every gateway.
	role config.Role
	// auth is the token kind required; "" for a public route.
	auth auth.Kind
	// idempotent routes honour the Idempotency-Key header.
	idempotent bool
	// bodyLimit, if set, replaces Config.BodyLimit for the route.
	bodyLimit func(s *Server) int64
	// long, if set, replaces Config.RequestTimeout for the route, and the
	// HTTP server's read and write timeouts for its requests.
	long   func(s *Server) time.Duration
	handle func(s *Server, w http.ResponseWriter, r *http.Request) error
}

// routes is every route of the API: the common and institution routes
// below, then each area's table (citizenRoutes, providerRoutes, …, each in
// the area's own file). The OpenAPI document describes exactly these
// (TestOpenAPIMatchesRoutes).
var routes = concatRoutes(
	coreRoutes,
	citizenRoutes,
	providerRoutes,
	institutionDataRoutes,
	notifyRoutes,
	adminRoutes,
	appRoutes,
	artefactRoutes,
	presentRoutes,
)

func concatRoutes(first []route, rest ...[]route) []route {
	out := append([]route(nil), first...)
	for _, r := range rest {
		out = append(out, r...)
	}
	return out
}

// coreRoutes are the operational and institution routes.
var coreRoutes = []route{
	{method: "GET", pattern: "/healthz", handle: (*Server).healthz},
	{method: "GET", pattern: "/readyz", handle: (*Server).readyz},
	{method: "GET", pattern: "/metrics", handle: (*Server).metricsHandler},
	{method: "GET", pattern: "/openapi.json", handle: (*Server).openAPI},
	{method: "POST", pattern: "/v1/oauth/token", role: config.RoleRequester, handle: (*Server).token},
	{method: "POST", pattern: "/v1/authorizations", role: config.RoleRequester, auth: auth.KindInstitution, idempotent: true, handle: (*Server).createAuthorization},
	{method: "GET", pattern: "/v1/authorizations", role: config.RoleRequester, auth: auth.KindInstitution, handle: (*Server).listAuthorizations},
	{method: "GET", pattern: "/v1/authorizations/{id}", role: config.RoleRequester, auth: auth.KindInstitution, handle: (*Server).getAuthorization},
	{method: "POST", pattern: "/v1/authorizations/{id}/withdraw", role: config.RoleRequester, auth: auth.KindInstitution, idempotent: true, handle: (*Server).withdrawAuthorization},
}

// New builds the API for the roles in d.Config.
func New(d Deps) (*Server, error) {
	if d.Config == nil || d.Ledger == nil || d.Tokens == nil {
		return nil, errors.New("httpapi: Config, Ledger and Tokens are required")
	}
	holdsKey := d.Pseudonyms != nil
	if d.Config.HasRole(config.RoleRequester) && (d.Clients == nil || (d.CitizenRefs == nil && !holdsKey) || d.MSPID == "") {
		return nil, errors.New("httpapi: the requester role needs Clients, CitizenRefs (or the pseudonym key) and MSPID")
	}
	if d.Idempotency == nil {
		return nil, errors.New("httpapi: an idempotency store is required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Server{Deps: d, log: d.Log, reg: prometheus.NewRegistry(),
		limiter:      ratelimit.NewBuckets(d.Config.RateLimit, d.Config.RateBurst),
		institutions: expiring.NewCache(time.Minute, d.Ledger.GetInstitution),
		pseudo:       newPseudonymState(d.Config.PseudonymLookupsPerMinute, d.Ledger)}
	if s.CitizenRefs == nil && holdsKey {
		s.CitizenRefs = localPseudonyms{s}
	}
	if s.ConsentLinks != nil && s.ConsentLinks.Tickets == nil && s.Present != nil {
		links := *s.ConsentLinks
		links.Tickets = localTickets{s}
		s.ConsentLinks = &links
	}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = newMetrics(s.reg)

	mux := chi.NewRouter()
	mux.Use(requestID, s.observe)
	mux.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, apiErr(http.StatusNotFound, CodeNotFound, "no such route"))
	})
	mux.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, apiErr(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method not allowed on this route"))
	})
	for _, rt := range s.activeRoutes() {
		mux.Method(rt.method, rt.pattern, s.chain(rt))
	}
	s.mux = mux
	return s, nil
}

// activeRoutes are the routes this gateway's roles serve.
func (s *Server) activeRoutes() []route {
	var out []route
	for _, rt := range routes {
		if rt.role == "" || s.Config.HasRole(rt.role) {
			out = append(out, rt)
		}
	}
	return out
}

// chain wraps a route's handler in its middleware: timeout, then
// authentication, rate limit, body limit and idempotency as the route
// needs them.
func (s *Server) chain(rt route) http.Handler {
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := rt.handle(s, w, r); err != nil {
			s.renderError(w, r, err)
		}
	})
	if rt.idempotent {
		h = s.idempotent(h)
	}
	limit := s.Config.BodyLimit
	if rt.bodyLimit != nil {
		limit = rt.bodyLimit(s)
	}
	h = bodyLimit(limit)(h)
	h = s.rateLimit(h)
	if rt.auth != "" {
		h = s.Tokens.Require(rt.auth, s.renderError)(h)
	}
	if rt.long != nil {
		return longRequest(rt.long(s))(h)
	}
	return timeout(s.Config.RequestTimeout)(h)
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyz reports ready when the ledger answers (registry:GetConfig) and
// every ReadyCheck passes: a requester gateway that cannot reach the
// operator's gateway is not ready, since it can neither name a citizen
// nor fetch data.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := s.Ledger.Ping(ctx); err != nil {
		if errors.Is(err, ledger.ErrUnavailable) {
			return err
		}
		s.log.WarnContext(ctx, "readiness check failed", slog.String("check", "ledger"), slog.String("error", err.Error()))
		return apiErr(http.StatusServiceUnavailable, string(ledger.CodeUnavailable), "the ledger is not ready")
	}
	for _, c := range s.ReadyChecks {
		if err := c.Check(ctx); err != nil {
			s.log.WarnContext(ctx, "readiness check failed", slog.String("check", c.Name), slog.String("error", err.Error()))
			return apiErr(http.StatusServiceUnavailable, c.Code, "%s is not reachable", c.Name)
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (s *Server) metricsHandler(w http.ResponseWriter, r *http.Request) error {
	promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}
