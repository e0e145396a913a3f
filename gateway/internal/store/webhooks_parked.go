package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// An administrator lists an organisation's undelivered webhook items and
// releases parked ones. A release (a retry) makes the item due at once with
// no attempts counted; it keeps its id, so it keeps its place in its
// webhook's order: the items enqueued after it were held back while it was
// parked and follow it once it is delivered.

// ErrNotParked reports a retry of an outbox item that is not parked: one
// still being tried, or one delivered without ever being parked.
var ErrNotParked = errors.New("store: delivery is not parked")

// MaxWebhookDeliveryPage bounds a page of WebhookDeliveries.
const MaxWebhookDeliveryPage = 1000

// WebhookDelivery is an undelivered outbox item as an administrator lists it.
type WebhookDelivery struct {
	OutboxItem
	// HeldBack reports that an earlier item of the same webhook is parked:
	// this one waits until that item is retried and delivered.
	HeldBack bool
}

// WebhookDeliveryQuery selects an organisation's undelivered outbox items.
type WebhookDeliveryQuery struct {
	// OrgMSP is the organisation whose active webhooks' items are listed
	// (the webhooks OrgWebhookSubscriptions returns).
	OrgMSP string
	// WebhookID limits the list to one webhook; "" lists them all.
	WebhookID string
	// State is OutboxPending or OutboxParked; "" lists both.
	State OutboxState
	// After lists only items with a greater id: the last id of the
	// previous page, 0 for the first.
	After int64
	// Limit bounds the page: 1 to MaxWebhookDeliveryPage.
	Limit int
}

// activeWebhooksOf selects the ids of the active webhooks of the enabled
// clients of the organisation bound to parameter $n.
func activeWebhooksOf(n int) string {
	return fmt.Sprintf(`SELECT w.id FROM webhooks w JOIN clients c ON c.id = w.client_id
		WHERE c.org_msp = $%d AND NOT w.disabled AND NOT c.disabled`, n)
}

// WebhookDeliveries returns a page of the undelivered items of an
// organisation's active webhooks, by id: for each webhook, the order they
// are delivered in.
func (s *Store) WebhookDeliveries(ctx context.Context, q WebhookDeliveryQuery) ([]WebhookDelivery, error) {
	if q.OrgMSP == "" || q.Limit < 1 || q.Limit > MaxWebhookDeliveryPage || q.After < 0 {
		return nil, fmt.Errorf("%w: deliveries need an organisation, a limit of 1–%d and a non-negative position",
			ErrInvalidArgument, MaxWebhookDeliveryPage)
	}
	where := []string{"o.delivered_at IS NULL", "o.webhook_id IN (" + activeWebhooksOf(1) + ")", "o.id > $2"}
	args := []any{q.OrgMSP, q.After}
	switch q.State {
	case "":
	case OutboxPending:
		where = append(where, "o.parked_at IS NULL")
	case OutboxParked:
		where = append(where, "o.parked_at IS NOT NULL")
	default:
		return nil, fmt.Errorf("%w: state must be pending or parked", ErrInvalidArgument)
	}
	if q.WebhookID != "" {
		args = append(args, q.WebhookID)
		where = append(where, fmt.Sprintf("o.webhook_id = $%d", len(args)))
	}
	args = append(args, q.Limit)
	rows, err := s.db.QueryContext(ctx, `SELECT `+outboxColumns+`,
			EXISTS (SELECT 1 FROM outbox p WHERE p.webhook_id = o.webhook_id AND p.id < o.id
			        AND p.delivered_at IS NULL AND p.parked_at IS NOT NULL)
		FROM outbox o WHERE `+strings.Join(where, " AND ")+fmt.Sprintf(` ORDER BY o.id LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list deliveries: %w", err)
	}
	defer rows.Close()
	var list []WebhookDelivery
	for rows.Next() {
		var d WebhookDelivery
		var lastErr sql.NullString
		it := &d.OutboxItem
		if err := rows.Scan(&it.ID, &it.WebhookID, &it.EventID, &it.Payload, &it.Attempts, scanTime(&it.CreatedAt),
			scanTime(&it.NextAttemptAt), scanTime(&it.DeliveredAt), scanTime(&it.ParkedAt), scanTime(&it.RetriedAt),
			&lastErr, &d.HeldBack); err != nil {
			return nil, fmt.Errorf("store: list deliveries: %w", err)
		}
		it.LastError = lastErr.String
		list = append(list, d)
	}
	return list, rows.Err()
}

// RetryOutboxItem releases the parked item id of one of the organisation's
// active webhooks: due at now, with no attempts counted. Retrying an item
// that an earlier retry released (and that is not parked again) changes
// nothing and returns it as it stands, so a retry may be repeated. It
// returns ErrNotFound for an id that is not the organisation's, and
// ErrNotParked for an item that was never parked.
func (s *Store) RetryOutboxItem(ctx context.Context, orgMSP string, id int64, now time.Time) (OutboxItem, error) {
	for range 2 {
		it, err := scanOutboxItem(s.db.QueryRowContext(ctx, `UPDATE outbox
			SET parked_at = NULL, retried_at = $3, attempts = 0, next_attempt_at = $3, lease_until = NULL
			WHERE id = $1 AND delivered_at IS NULL AND parked_at IS NOT NULL AND webhook_id IN (`+activeWebhooksOf(2)+`)
			RETURNING `+outboxColumns, id, orgMSP, s.d.ts(now)))
		if err == nil {
			return it, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return OutboxItem{}, fmt.Errorf("store: retry delivery: %w", err)
		}
		it, err = scanOutboxItem(s.db.QueryRowContext(ctx, `SELECT `+outboxColumns+` FROM outbox
			WHERE id = $1 AND webhook_id IN (`+activeWebhooksOf(2)+`)`, id, orgMSP))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return OutboxItem{}, ErrNotFound
		case err != nil:
			return OutboxItem{}, fmt.Errorf("store: retry delivery: %w", err)
		case it.State() == OutboxParked:
			continue // parked again since the update: release it now
		case !it.RetriedAt.IsZero():
			return it, nil
		}
		return OutboxItem{}, ErrNotParked
	}
	return OutboxItem{}, fmt.Errorf("store: retry delivery: the item changed state twice")
}

// RetryParked releases every parked item of one of the organisation's
// active webhooks, as RetryOutboxItem does, and returns how many it released
// (0 when none is parked). It returns ErrNotFound for a webhook that is not
// the organisation's or no longer active.
func (s *Store) RetryParked(ctx context.Context, orgMSP, webhookID string, now time.Time) (int, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT w.id FROM webhooks w JOIN clients c ON c.id = w.client_id
		WHERE w.id = $1 AND c.org_msp = $2 AND NOT w.disabled AND NOT c.disabled`, webhookID, orgMSP).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("store: retry parked deliveries: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE outbox
		SET parked_at = NULL, retried_at = $2, attempts = 0, next_attempt_at = $2, lease_until = NULL
		WHERE webhook_id = $1 AND delivered_at IS NULL AND parked_at IS NOT NULL`, webhookID, s.d.ts(now))
	if err != nil {
		return 0, fmt.Errorf("store: retry parked deliveries: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: retry parked deliveries: %w", err)
	}
	return int(n), nil
}
