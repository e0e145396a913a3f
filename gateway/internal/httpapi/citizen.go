package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/citizens"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/expiring"
	"github.com/quanchain/quanchain/gateway/internal/identity"
	"github.com/quanchain/quanchain/gateway/internal/notify"
	"github.com/quanchain/quanchain/gateway/internal/ratelimit"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/ledger"
)

// citizenRoutes are the citizen API behind the consent app, served by the
// operator's gateway (provider role). Every route after the login acts
// only for the citizenRef of the caller's citizen token.
var citizenRoutes = []route{
	{method: "GET", pattern: "/citizen/v1/oidc/start", role: config.RoleProvider, handle: (*Server).citizenOIDCStart},
	{method: "GET", pattern: "/citizen/v1/oidc/callback", role: config.RoleProvider, handle: (*Server).citizenOIDCCallback},
	{method: "POST", pattern: "/citizen/v1/session", role: config.RoleProvider, handle: (*Server).citizenSessionStart},
	{method: "POST", pattern: "/citizen/v1/devices", role: config.RoleProvider, handle: (*Server).citizenNewDevice},
	{method: "GET", pattern: "/citizen/v1/devices/{device_id}", role: config.RoleProvider, handle: (*Server).citizenDeviceStatus},
	{method: "POST", pattern: "/citizen/v1/devices/{device_id}/credential", role: config.RoleProvider, handle: (*Server).citizenDeviceCredential},
	{method: "GET", pattern: "/citizen/v1/devices/{device_id}/approval", role: config.RoleProvider, auth: auth.KindCitizen, handle: (*Server).citizenDeviceApproval},
	{method: "POST", pattern: "/citizen/v1/devices/{device_id}/approval", role: config.RoleProvider, auth: auth.KindCitizen, handle: (*Server).citizenDeviceApprove},
	{method: "POST", pattern: "/citizen/v1/session/renew", role: config.RoleProvider, auth: auth.KindCitizen, handle: (*Server).citizenRenewSession},
	{method: "GET", pattern: "/citizen/v1/keys", role: config.RoleProvider, auth: auth.KindCitizen, handle: (*Server).citizenListKeys},
	{method: "DELETE", pattern: "/citizen/v1/keys/{key_id}", role: config.RoleProvider, auth: auth.KindCitizen, handle: (*Server).citizenRevokeKey},
	{method: "GET", pattern: "/citizen/v1/authorizations", role: config.RoleProvider, auth: auth.KindCitizen, handle: (*Server).citizenListAuthorizations},
	{method: "POST", pattern: "/citizen/v1/authorizations/{id}/payload", role: config.RoleProvider, auth: auth.KindCitizen, handle: (*Server).citizenPayload},
	{method: "POST", pattern: "/citizen/v1/authorizations/{id}/decision", role: config.RoleProvider, auth: auth.KindCitizen, idempotent: true, handle: (*Server).citizenDecision},
	{method: "GET", pattern: "/citizen/v1/accesses", role: config.RoleProvider, auth: auth.KindCitizen, handle: (*Server).citizenAccesses},
	{method: "GET", pattern: "/citizen/v1/safe", role: config.RoleProvider, auth: auth.KindCitizen, handle: (*Server).citizenSafe},
	{method: "GET", pattern: "/citizen/v1/safe/records", role: config.RoleProvider, auth: auth.KindCitizen, handle: (*Server).citizenSafeRecords},
	{method: "GET", pattern: "/citizen/v1/events", role: config.RoleProvider, auth: auth.KindCitizen, handle: (*Server).citizenEvents},
	{method: "GET", pattern: "/citizen/v1/lookups", role: config.RoleProvider, auth: auth.KindCitizen, handle: (*Server).citizenLookups},
}

// Error codes of the citizen API.
const (
	CodeLoginUnavailable   = "LOGIN_UNAVAILABLE"
	CodePrivateKeyRefused  = "PRIVATE_KEY_REFUSED"
	CodeEventsUnavailable  = "EVENTS_UNAVAILABLE"
	CodeCitizenUnavailable = "CITIZEN_API_UNAVAILABLE"
	// CodeSessionExpired answers a renewal past the session's absolute
	// maximum: the citizen logs in again.
	CodeSessionExpired = "SESSION_EXPIRED"
)

// CitizenLedger is what the citizen API needs from the chaincode beyond
// Ledger; *ledger.Ledger implements it.
type CitizenLedger interface {
	Ledger
	ListAuthorizationsByCitizen(ctx context.Context, requester, citizenRef string, q ledger.ListQuery) (*model.Page[model.Authorization], error)
	ListAccessesByCitizen(ctx context.Context, requester, citizenRef string, q ledger.ListQuery) (*model.Page[model.Access], error)
	DecideSigned(ctx context.Context, id string, payload []byte, s model.Signature) (*model.Authorization, error)
	AddCitizenKey(ctx context.Context, in model.CitizenKeyInput) (string, error)
	RevokeCitizenKey(ctx context.Context, requester, citizenRef, keyID string) error
	GetCitizen(ctx context.Context, requester, citizenRef string) (*model.Citizen, error)
	GetInstitution(ctx context.Context, mspID string) (*model.Institution, error)
	Requesters(ctx context.Context) ([]string, error)
}

// CitizenStore is what the citizen API needs from the gateway's store;
// *store.Store implements it.
type CitizenStore interface {
	SafeSummary(ctx context.Context, citizenRef string) ([]store.CategorySummary, error)
	RecordsFor(ctx context.Context, citizenRef string, categories []string, from, to string) ([]store.Record, error)
	GetBatch(ctx context.Context, id string) (store.Batch, error)
}

// The production implementations.
var (
	_ CitizenLedger      = (*ledger.Ledger)(nil)
	_ CitizenStore       = (*store.Store)(nil)
	_ CitizenEventStream = (*notify.Broker)(nil)
)

// Decide submits a decision with its signature: a raw ES256 signature, or
// a passkey's assertion (model.DecisionInput).
type Decide func(ctx context.Context, id string, payload []byte, in model.DecisionInput) (*model.Authorization, error)

// LedgerDecide is the Decide of the typed ledger client.
func LedgerDecide(l CitizenLedger) Decide {
	return func(ctx context.Context, id string, payload []byte, in model.DecisionInput) (*model.Authorization, error) {
		return l.DecideSigned(ctx, id, payload, model.Signature{KeyID: in.KeyID, Signature: in.Signature,
			AuthenticatorData: in.AuthenticatorData, ClientDataJSON: in.ClientDataJSON})
	}
}

// CitizenEventStream is the citizens' live events, each under its
// citizenRef; *notify.Broker implements it.
type CitizenEventStream interface {
	SubscribeKey(key, lastEventID string) (s *notify.Subscription, replay []notify.Event, missed bool)
	Unsubscribe(s *notify.Subscription)
	// Publish hands the gateway's own events (DeviceAdded) to the streams.
	Publish(e notify.Event)
}

// CitizenConfig are the citizen API's collaborators and settings.
type CitizenConfig struct {
	// Ledger is normally the same *ledger.Ledger as Deps.Ledger.
	Ledger CitizenLedger
	Store  CitizenStore
	// Channel is the Fabric channel named in decision payloads.
	Channel string
	// Events holds the citizens' events for /citizen/v1/events, keyed by
	// citizenRef (a notify.Broker fed by a notify.Feed with
	// notify.CitizenEvents, which the caller runs); nil answers that route
	// 503 EVENTS_UNAVAILABLE.
	Events CitizenEventStream
	// Login is the identity provider (OpenID Connect); nil answers the
	// login routes 503 LOGIN_UNAVAILABLE.
	Login CitizenLogin
	// SecureCookies marks the login cookie Secure (an https public URL).
	SecureCookies bool
	// Passkeys registers passkey devices; nil refuses them.
	Passkeys *identity.Passkeys
	// AllowUnverifiedKeys lets plain WebCrypto keys be registered, as the
	// ledger's identity policy must then allow too.
	AllowUnverifiedKeys bool
	// AddKey enrols a key in one collection and Decide submits a decision;
	// nil means the typed ledger client's (citizens.LedgerAddKey,
	// LedgerDecide).
	AddKey citizens.AddKey
	Decide Decide
	// LoginsPerMinute bounds the login, ticket and device registration
	// attempts together per remote address, in any minute; 0 means 5.
	LoginsPerMinute int
	// CitizenStarts bounds the logins per citizen (vault ref), in any 15
	// minutes, whatever address they come from; 0 means 5.
	CitizenStarts int
	// Clock is the rate limits' clock; nil means time.Now.
	Clock func() time.Time
	// Heartbeat is how often an idle event stream sends a comment line, so
	// proxies keep it open and clients notice a dead connection; 0 means
	// 15 seconds.
	Heartbeat time.Duration
	// CacheTTL is how long registry entries (institutions, purposes,
	// categories) are cached for display; 0 means one minute.
	CacheTTL time.Duration
	// RefFor gives the citizenRef a requester knows a citizen by, from the
	// citizen's own ref (the token's subject); nil means the same ref
	// for every requester.
	RefFor func(requester, ref string) string
}

// CitizenAPI is the citizen API's collaborators and its own state: the
// login limiters, the logins under way, tickets, pending devices and the
// registry caches.
type CitizenAPI struct {
	cfg          CitizenConfig
	limits       citizenLimits
	logins       *expiring.Map[string, *loginState]
	tickets      *expiring.Map[string, *loginTicket]
	devices      *expiring.Map[string, *pendingDevice]
	institutions *expiring.Cache[*model.Institution]
	purposes     *expiring.Cache[*model.Purpose]
	categories   *expiring.Cache[*model.Category]
	// records are the citizen's records in every requester's collection.
	records *citizens.Collections
}

// NewCitizenAPI checks c and returns the citizen API's state.
func NewCitizenAPI(c CitizenConfig) (*CitizenAPI, error) {
	if c.Ledger == nil || c.Store == nil || c.Channel == "" {
		return nil, errors.New("httpapi: the citizen API needs a Ledger, a Store and a Channel")
	}
	if c.LoginsPerMinute < 1 {
		c.LoginsPerMinute = 5
	}
	if c.CitizenStarts < 1 {
		c.CitizenStarts = 5
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 15 * time.Second
	}
	if c.CacheTTL <= 0 {
		c.CacheTTL = time.Minute
	}
	if c.Decide == nil {
		c.Decide = LedgerDecide(c.Ledger)
	}
	l := c.Ledger
	return &CitizenAPI{
		cfg: c,
		limits: citizenLimits{
			perAddress: ratelimit.NewWindow(c.LoginsPerMinute, time.Minute, c.Clock),
			starts:     ratelimit.NewWindow(c.CitizenStarts, citizenWindow, c.Clock),
		},
		logins:  expiring.New[string, *loginState](loginTTL, 100_000),
		tickets: expiring.New[string, *loginTicket](ticketTTL, 100_000),
		// A device is kept past its deadline so it can say it expired.
		devices:      expiring.New[string, *pendingDevice](2*deviceTTL, 100_000),
		institutions: expiring.NewCache(c.CacheTTL, l.GetInstitution),
		purposes:     expiring.NewCache(c.CacheTTL, l.GetPurpose),
		categories:   expiring.NewCache(c.CacheTTL, l.GetCategory),
		records:      citizens.New(l, c.RefFor, c.CacheTTL, c.AddKey),
	}, nil
}

// citizenAPI returns the configured citizen API; a provider gateway
// without one is misconfigured.
func (s *Server) citizenAPI() (*CitizenAPI, error) {
	if s.Citizen == nil {
		return nil, apiErr(http.StatusServiceUnavailable, CodeCitizenUnavailable, "the citizen API is not configured on this gateway")
	}
	return s.Citizen, nil
}

// citizenCaller returns the citizen API and the caller's citizenRef, from
// the citizen token the route requires.
func (s *Server) citizenCaller(r *http.Request) (*CitizenAPI, string, error) {
	c, err := s.citizenAPI()
	if err != nil {
		return nil, "", err
	}
	p, ok := auth.FromContext(r.Context())
	if !ok || p.Kind != auth.KindCitizen || !model.ValidHash(p.Subject) {
		return nil, "", &auth.Error{Code: auth.CodeInvalidToken, Reason: errors.New("citizen route without a citizen principal")}
	}
	return c, p.Subject, nil
}

// modelError turns a *model.Error found by the gateway itself (a payload
// that does not parse, say) into an API error with the status the ledger's
// code has.
func modelError(err error) error {
	var me *model.Error
	if !errors.As(err, &me) {
		return err
	}
	status, ok := ledgerStatus[me.Code]
	if !ok {
		status = http.StatusBadRequest
	}
	return apiErr(status, string(me.Code), "%s", me.Message)
}
