package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/quanchain/quanchain/gateway/internal/store"
)

// The admin API's webhook deliveries (requester role; routes in
// adminRoutes): an organisation's undelivered webhook events, listed, and
// the parked ones retried. A webhook receives its events in order, so a
// parked delivery holds its webhook's later events back; a retry makes it
// due at once, first in line, with its attempts counted from zero, and the
// held-back events follow it in order. Retries are idempotent: retrying
// what an earlier retry released changes nothing.

// Error codes of the webhook delivery routes.
const (
	CodeDeliveryNotFound  = "DELIVERY_NOT_FOUND"
	CodeDeliveryNotParked = "DELIVERY_NOT_PARKED"
)

const defaultDeliveryPage = 50

// DeliveryStore lists and retries the webhook outbox; *store.Store
// implements it.
type DeliveryStore interface {
	WebhookDeliveries(ctx context.Context, q store.WebhookDeliveryQuery) ([]store.WebhookDelivery, error)
	RetryOutboxItem(ctx context.Context, orgMSP string, id int64, now time.Time) (store.OutboxItem, error)
	RetryParked(ctx context.Context, orgMSP, webhookID string, now time.Time) (int, error)
}

// deliveriesCaller returns the delivery store after checking that the
// caller is an admin client of this gateway's organisation.
func (s *Server) deliveriesCaller(r *http.Request) (*NotifyAPI, error) {
	if _, err := s.adminPrincipal(r); err != nil {
		return nil, err
	}
	if s.Notify == nil || s.Notify.cfg.Deliveries == nil {
		return nil, apiErr(http.StatusServiceUnavailable, codeAdminUnavailable, "webhook deliveries are not administered on this gateway")
	}
	return s.Notify, nil
}

// deliveryView is an outbox item as the admin API shows it: never its
// payload, only the event's id and name.
type deliveryView struct {
	ID        int64  `json:"id"`
	WebhookID string `json:"webhook_id"`
	EventID   string `json:"event_id"`
	EventName string `json:"event_name,omitempty"`
	// State is pending, parked or delivered.
	State     string `json:"state"`
	Attempts  int    `json:"attempts"`
	CreatedAt string `json:"created_at"`
	// NextAttemptAt is set while pending: when the item is due (an item
	// held back behind another goes after it, whatever its own time).
	NextAttemptAt string `json:"next_attempt_at,omitempty"`
	ParkedAt      string `json:"parked_at,omitempty"`
	RetriedAt     string `json:"retried_at,omitempty"`
	DeliveredAt   string `json:"delivered_at,omitempty"`
	LastError     string `json:"last_error,omitempty"`
}

func viewDelivery(it store.OutboxItem) deliveryView {
	var ev struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(it.Payload, &ev) // the name is informative; a payload without one shows none
	v := deliveryView{ID: it.ID, WebhookID: it.WebhookID, EventID: it.EventID, EventName: ev.Name,
		State: string(it.State()), Attempts: it.Attempts, CreatedAt: formatTime(it.CreatedAt),
		ParkedAt: formatTime(it.ParkedAt), RetriedAt: formatTime(it.RetriedAt),
		DeliveredAt: formatTime(it.DeliveredAt), LastError: it.LastError}
	if it.State() == store.OutboxPending {
		v.NextAttemptAt = formatTime(it.NextAttemptAt)
	}
	return v
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// deliveryListItem is one entry of GET /admin/v1/webhooks/deliveries.
type deliveryListItem struct {
	deliveryView
	// HeldBack: an earlier delivery of the same webhook is parked, and this
	// one waits for it.
	HeldBack bool `json:"held_back"`
}

// deliveryList is the answer to GET /admin/v1/webhooks/deliveries.
type deliveryList struct {
	Items      []deliveryListItem `json:"items"`
	NextCursor string             `json:"next_cursor,omitempty"`
}

// adminListDeliveries lists the undelivered deliveries of the
// organisation's active webhooks, oldest first (for each webhook, the
// order they go out in), a page at a time: state=pending|parked,
// webhook_id, cursor (the previous page's next_cursor) and limit (1–100).
func (s *Server) adminListDeliveries(w http.ResponseWriter, r *http.Request) error {
	n, err := s.deliveriesCaller(r)
	if err != nil {
		return err
	}
	qs := r.URL.Query()
	for k, v := range qs {
		if k != "state" && k != "webhook_id" && k != "cursor" && k != "limit" {
			return apiErr(http.StatusBadRequest, CodeInvalidArgument, "unknown query parameter %q", k)
		}
		if len(v) > 1 {
			return apiErr(http.StatusBadRequest, CodeInvalidArgument, "query parameter %q is repeated", k)
		}
	}
	q := store.WebhookDeliveryQuery{OrgMSP: s.MSPID, Limit: defaultDeliveryPage}
	switch st := store.OutboxState(qs.Get("state")); st {
	case "", store.OutboxPending, store.OutboxParked:
		q.State = st
	default:
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "state must be pending or parked")
	}
	if id := qs.Get("webhook_id"); id != "" {
		if !webhookIDPattern.MatchString(id) {
			return apiErr(http.StatusBadRequest, CodeInvalidArgument, "webhook_id is not a webhook id")
		}
		q.WebhookID = id
	}
	if c := qs.Get("cursor"); c != "" {
		after, err := strconv.ParseInt(c, 10, 64)
		if err != nil || after < 1 {
			return apiErr(http.StatusBadRequest, CodeInvalidArgument, "cursor is not valid")
		}
		q.After = after
	}
	limit, lerr := queryLimit(qs)
	if lerr != nil {
		return lerr
	}
	if limit > 0 {
		q.Limit = int(limit)
	}
	page := q.Limit
	q.Limit++ // one more tells whether there is a next page
	list, err := n.cfg.Deliveries.WebhookDeliveries(r.Context(), q)
	if err != nil {
		return err
	}
	out := deliveryList{Items: []deliveryListItem{}}
	if len(list) > page {
		list = list[:page]
		out.NextCursor = strconv.FormatInt(list[page-1].ID, 10)
	}
	for _, d := range list {
		out.Items = append(out.Items, deliveryListItem{deliveryView: viewDelivery(d.OutboxItem), HeldBack: d.HeldBack})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// adminRetryDelivery retries one parked delivery and answers it as it now
// stands. A delivery that an earlier retry released is answered as it
// stands, unchanged; one that was never parked is 409 DELIVERY_NOT_PARKED.
func (s *Server) adminRetryDelivery(w http.ResponseWriter, r *http.Request) error {
	n, err := s.deliveriesCaller(r)
	if err != nil {
		return err
	}
	notFound := apiErr(http.StatusNotFound, CodeDeliveryNotFound, "no such delivery of this organisation's webhooks")
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id < 1 {
		return notFound
	}
	it, err := n.cfg.Deliveries.RetryOutboxItem(r.Context(), s.MSPID, id, s.Now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound
	case errors.Is(err, store.ErrNotParked):
		return apiErr(http.StatusConflict, CodeDeliveryNotParked,
			"the delivery is not parked: it is still being tried, or it was delivered")
	case err != nil:
		return err
	}
	n.wake()
	writeJSON(w, http.StatusOK, viewDelivery(it))
	return nil
}

// webhookRetry is the answer to POST /admin/v1/webhooks/{id}/retry.
type webhookRetry struct {
	WebhookID string `json:"webhook_id"`
	// Retried is how many parked deliveries the retry released.
	Retried int `json:"retried"`
}

// adminRetryWebhook retries every parked delivery of one of the
// organisation's active webhooks; none parked is a success that retried 0.
func (s *Server) adminRetryWebhook(w http.ResponseWriter, r *http.Request) error {
	n, err := s.deliveriesCaller(r)
	if err != nil {
		return err
	}
	id := chi.URLParam(r, "id")
	notFound := apiErr(http.StatusNotFound, CodeWebhookNotFound, "no such webhook")
	if !webhookIDPattern.MatchString(id) {
		return notFound
	}
	retried, err := n.cfg.Deliveries.RetryParked(r.Context(), s.MSPID, id, s.Now())
	if errors.Is(err, store.ErrNotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	if retried > 0 {
		n.wake()
	}
	writeJSON(w, http.StatusOK, webhookRetry{WebhookID: id, Retried: retried})
	return nil
}
