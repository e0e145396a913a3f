package operator

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// WebhookDelivery is one delivery of an event to a webhook, as a
// requester gateway's admin API shows it.
type WebhookDelivery struct {
	ID            int64  `json:"id"`
	WebhookID     string `json:"webhook_id"`
	EventID       string `json:"event_id"`
	EventName     string `json:"event_name,omitempty"`
	State         string `json:"state"` // pending, parked or delivered
	Attempts      int    `json:"attempts"`
	CreatedAt     string `json:"created_at"`
	NextAttemptAt string `json:"next_attempt_at,omitempty"`
	ParkedAt      string `json:"parked_at,omitempty"`
	RetriedAt     string `json:"retried_at,omitempty"`
	DeliveredAt   string `json:"delivered_at,omitempty"`
	LastError     string `json:"last_error,omitempty"`
	// HeldBack (listings only): an earlier delivery of the same webhook is
	// parked, and this one waits for it.
	HeldBack bool `json:"held_back"`
}

// DeliveryQuery selects undelivered webhook deliveries.
type DeliveryQuery struct {
	State     string // "pending", "parked", or "" for both
	WebhookID string // "" for every webhook
	Cursor    string // the previous page's NextCursor
	Limit     int    // 1–100; 0 for the gateway's default
}

// DeliveryPage is one page of undelivered deliveries.
type DeliveryPage struct {
	Items      []WebhookDelivery `json:"items"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

// WebhookRetry is the outcome of retrying a webhook's parked deliveries.
type WebhookRetry struct {
	WebhookID string `json:"webhook_id"`
	Retried   int    `json:"retried"`
}

// WebhookDeliveries returns a page of the organisation's undelivered
// webhook deliveries, oldest first.
func (a *Admin) WebhookDeliveries(ctx context.Context, q DeliveryQuery) (*DeliveryPage, error) {
	v := url.Values{}
	if q.State != "" {
		v.Set("state", q.State)
	}
	if q.WebhookID != "" {
		v.Set("webhook_id", q.WebhookID)
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	path := "/admin/v1/webhooks/deliveries"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var p DeliveryPage
	if err := a.do(ctx, http.MethodGet, path, "application/json", true, http.NoBody, &p); err != nil {
		return nil, fmt.Errorf("listing the webhook deliveries: %w", err)
	}
	if p.Items == nil {
		p.Items = []WebhookDelivery{}
	}
	return &p, nil
}

// RetryDelivery retries one parked delivery and returns it as it now
// stands.
func (a *Admin) RetryDelivery(ctx context.Context, id int64) (*WebhookDelivery, error) {
	var d WebhookDelivery
	if err := a.do(ctx, http.MethodPost, "/admin/v1/webhooks/deliveries/"+strconv.FormatInt(id, 10)+"/retry",
		"application/json", true, http.NoBody, &d); err != nil {
		return nil, fmt.Errorf("retrying delivery %d: %w", id, err)
	}
	return &d, nil
}

// RetryWebhook retries every parked delivery of one webhook.
func (a *Admin) RetryWebhook(ctx context.Context, webhookID string) (*WebhookRetry, error) {
	var r WebhookRetry
	if err := a.do(ctx, http.MethodPost, "/admin/v1/webhooks/"+url.PathEscape(webhookID)+"/retry",
		"application/json", true, http.NoBody, &r); err != nil {
		return nil, fmt.Errorf("retrying the parked deliveries of %s: %w", webhookID, err)
	}
	return &r, nil
}
