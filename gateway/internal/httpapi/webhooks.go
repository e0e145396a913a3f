package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/notify"
	"github.com/quanchain/quanchain/gateway/internal/store"
)

// notifyRoutes tell an institution's systems of its authorisations'
// changes and of the deliveries made under them (requester role): signed
// webhooks, and a server-sent event stream.
var notifyRoutes = []route{
	{method: "POST", pattern: "/v1/webhooks", role: config.RoleRequester, auth: auth.KindInstitution, idempotent: true, handle: (*Server).createWebhook},
	{method: "GET", pattern: "/v1/webhooks", role: config.RoleRequester, auth: auth.KindInstitution, handle: (*Server).listWebhooks},
	{method: "DELETE", pattern: "/v1/webhooks/{id}", role: config.RoleRequester, auth: auth.KindInstitution, handle: (*Server).deleteWebhook},
	{method: "GET", pattern: "/v1/events", role: config.RoleRequester, auth: auth.KindInstitution, handle: (*Server).institutionEvents},
}

// Error codes of the notification routes.
const (
	CodeWebhookNotFound   = "WEBHOOK_NOT_FOUND"
	CodeWebhookLimit      = "WEBHOOK_LIMIT_REACHED"
	codeNotifyUnavailable = "NOTIFICATIONS_UNAVAILABLE"
	codeEventsNotServed   = "EVENTS_UNAVAILABLE"
)

const (
	defaultMaxWebhooks     = 10
	defaultEventsHeartbeat = 15 * time.Second
	webhookSecretPrefix    = "whsec_"
	maxLastEventIDLength   = 160
)

// WebhookStore keeps the organisation's webhooks; *store.Store implements
// it.
type WebhookStore interface {
	CreateWebhookSubscription(ctx context.Context, w store.Webhook, events []string) (store.WebhookSubscription, error)
	WebhookSubscription(ctx context.Context, id string) (store.WebhookSubscription, error)
	OrgWebhookSubscriptions(ctx context.Context, orgMSP string) ([]store.WebhookSubscription, error)
	SetWebhookDisabled(ctx context.Context, id string, disabled bool) error
}

// EventStream is the live stream of the organisation's events;
// *notify.Broker implements it.
type EventStream interface {
	Subscribe(lastEventID string) (s *notify.Subscription, replay []notify.Event, missed bool)
	Unsubscribe(s *notify.Subscription)
}

// NotifyConfig are the notification routes' collaborators and settings.
type NotifyConfig struct {
	Webhooks WebhookStore
	// Events is the Broker the notify.Pump publishes to; nil answers
	// GET /v1/events 503 EVENTS_UNAVAILABLE.
	Events EventStream
	// Heartbeat is how often an idle event stream sends a comment line;
	// 0 means 15 seconds.
	Heartbeat time.Duration
	// MaxWebhooks bounds an organisation's active webhooks; 0 means 10.
	MaxWebhooks int
	// Deliveries lists and retries the webhook outbox for the admin API;
	// nil answers those routes 503 ADMIN_API_UNAVAILABLE.
	Deliveries DeliveryStore
	// Wake tells the webhook sender that a retry made deliveries due
	// (notify.Sender.Wake); nil leaves them to its next look at the
	// outbox.
	Wake func()
}

// NotifyAPI serves the notification routes.
type NotifyAPI struct{ cfg NotifyConfig }

func (n *NotifyAPI) wake() {
	if n.cfg.Wake != nil {
		n.cfg.Wake()
	}
}

// NewNotifyAPI checks c and returns the notification routes' state.
func NewNotifyAPI(c NotifyConfig) (*NotifyAPI, error) {
	if c.Webhooks == nil {
		return nil, errors.New("httpapi: the notification routes need a WebhookStore")
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = defaultEventsHeartbeat
	}
	if c.MaxWebhooks <= 0 {
		c.MaxWebhooks = defaultMaxWebhooks
	}
	return &NotifyAPI{cfg: c}, nil
}

// notifyCaller returns the notification API and the caller, an API client
// of this gateway's organisation.
func (s *Server) notifyCaller(r *http.Request) (*NotifyAPI, *auth.Principal, error) {
	p, ok := auth.FromContext(r.Context())
	if !ok || p.Kind != auth.KindInstitution {
		return nil, nil, &auth.Error{Code: auth.CodeInvalidToken, Reason: errors.New("institution route without an institution principal")}
	}
	if p.MSPID != s.MSPID {
		return nil, nil, apiErr(http.StatusForbidden, string(model.CodeForbiddenMSP), "this gateway serves %s only", s.MSPID)
	}
	if s.Notify == nil {
		return nil, nil, apiErr(http.StatusServiceUnavailable, codeNotifyUnavailable, "notifications are not configured on this gateway")
	}
	return s.Notify, p, nil
}

// createWebhookRequest is the body of POST /v1/webhooks.
type createWebhookRequest struct {
	URL string `json:"url"`
	// Events limits the webhook to these event names; empty means all.
	Events []string `json:"events"`
}

// Validate checks the request's form; dev allows http to the loopback
// interface.
func (q *createWebhookRequest) Validate(dev bool) error {
	if err := notify.CheckURL(q.URL, dev); err != nil {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "url: %s", strings.TrimPrefix(err.Error(), notify.ErrURLNotAllowed.Error()+": "))
	}
	for i, e := range q.Events {
		if !notify.IsForwarded(e) {
			return apiErr(http.StatusBadRequest, CodeInvalidArgument, "events[%d] is not an event a webhook receives (%s)",
				i, strings.Join(notify.Forwarded, ", "))
		}
		if slices.Contains(q.Events[:i], e) {
			return apiErr(http.StatusBadRequest, CodeInvalidArgument, "events[%d] repeats %s", i, e)
		}
	}
	return nil
}

// webhookView is a webhook as the API shows it: never its secret.
type webhookView struct {
	ID        string   `json:"id"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	ClientID  string   `json:"client_id"`
	CreatedAt string   `json:"created_at"`
}

func viewWebhook(w store.WebhookSubscription) webhookView {
	events := w.Events
	if len(events) == 0 {
		events = notify.Forwarded
	}
	return webhookView{ID: w.ID, URL: w.URL, Events: events, ClientID: w.ClientID,
		CreatedAt: w.CreatedAt.UTC().Format(time.RFC3339Nano)}
}

// createdWebhook is the answer to POST /v1/webhooks: the only time the
// secret is shown.
type createdWebhook struct {
	webhookView
	Secret string `json:"secret"`
}

// createWebhook registers a webhook for the caller's organisation. Every
// delivery to it is signed with the secret returned here, once.
func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	n, p, err := s.notifyCaller(r)
	if err != nil {
		return err
	}
	var q createWebhookRequest
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	if err := q.Validate(s.Config.Dev); err != nil {
		return err
	}
	ctx := r.Context()
	existing, err := n.cfg.Webhooks.OrgWebhookSubscriptions(ctx, p.MSPID)
	if err != nil {
		return err
	}
	if len(existing) >= n.cfg.MaxWebhooks {
		return apiErr(http.StatusConflict, CodeWebhookLimit, "an organisation may have at most %d webhooks; delete one first", n.cfg.MaxWebhooks)
	}
	var key [32]byte
	_, _ = rand.Read(key[:]) // never fails (crypto/rand, Go 1.24+)
	hook := store.Webhook{ID: auth.RandomID("wh-"), ClientID: p.Subject, URL: q.URL,
		Secret: webhookSecretPrefix + base64.RawURLEncoding.EncodeToString(key[:])}
	created, err := n.cfg.Webhooks.CreateWebhookSubscription(ctx, hook, q.Events)
	if errors.Is(err, store.ErrNotFound) {
		return apiErr(http.StatusUnauthorized, CodeInvalidClient, "the API client is not registered on this gateway")
	}
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/webhooks/"+created.ID)
	writeJSON(w, http.StatusCreated, createdWebhook{webhookView: viewWebhook(created), Secret: created.Secret})
	return nil
}

// webhookList is the answer to GET /v1/webhooks.
type webhookList struct {
	Items []webhookView `json:"items"`
}

// listWebhooks lists the active webhooks of the caller's organisation.
func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	n, p, err := s.notifyCaller(r)
	if err != nil {
		return err
	}
	if r.URL.RawQuery != "" {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "this listing takes no query parameters")
	}
	list, err := n.cfg.Webhooks.OrgWebhookSubscriptions(r.Context(), p.MSPID)
	if err != nil {
		return err
	}
	out := webhookList{Items: []webhookView{}}
	for _, h := range list {
		out.Items = append(out.Items, viewWebhook(h))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

var webhookIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// deleteWebhook stops a webhook of the caller's organisation: it receives
// nothing more, deliveries still pending to it are not sent. Another
// organisation's webhook is "not found".
func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	n, p, err := s.notifyCaller(r)
	if err != nil {
		return err
	}
	id := chi.URLParam(r, "id")
	notFound := apiErr(http.StatusNotFound, CodeWebhookNotFound, "no such webhook")
	if !webhookIDPattern.MatchString(id) {
		return notFound
	}
	ctx := r.Context()
	h, err := n.cfg.Webhooks.WebhookSubscription(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (h.OrgMSP != p.MSPID || h.Disabled)) {
		return notFound
	}
	if err != nil {
		return err
	}
	if err := n.cfg.Webhooks.SetWebhookDisabled(ctx, id, true); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound
		}
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}
