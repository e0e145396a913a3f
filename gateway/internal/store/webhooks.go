package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
	"unicode/utf8"
)

// Webhook is an endpoint a client registered to be told of events.
type Webhook struct {
	ID        string
	ClientID  string
	URL       string
	Secret    string // the HMAC key deliveries are signed with
	CreatedAt time.Time
	Disabled  bool
}

// OutboxItem is one event due to one webhook.
type OutboxItem struct {
	ID            int64
	WebhookID     string
	EventID       string
	Payload       []byte
	Attempts      int // attempts made, including the one a claim starts
	CreatedAt     time.Time
	NextAttemptAt time.Time
	DeliveredAt   time.Time // zero until delivered
	// ParkedAt is when the item used up its attempts; zero unless parked.
	// A parked item is not tried again, and its webhook's later items wait
	// behind it, until a retry releases it.
	ParkedAt time.Time
	// RetriedAt is when a retry last released the item; zero if never.
	RetriedAt time.Time
	LastError string
}

// OutboxState is where an outbox item stands.
type OutboxState string

// Outbox states.
const (
	// OutboxPending items are due, waiting for a backoff to end, or
	// waiting behind an earlier item of their webhook.
	OutboxPending OutboxState = "pending"
	// OutboxParked items used up their attempts and wait for a retry.
	OutboxParked OutboxState = "parked"
	// OutboxDelivered items were answered 2xx.
	OutboxDelivered OutboxState = "delivered"
)

// State returns where it stands.
func (it OutboxItem) State() OutboxState {
	switch {
	case !it.DeliveredAt.IsZero():
		return OutboxDelivered
	case !it.ParkedAt.IsZero():
		return OutboxParked
	}
	return OutboxPending
}

// ClaimLease is how long a claimed outbox item stays reserved for the
// sender that claimed it. A sender that has neither delivered nor failed it
// by then is presumed dead, and the item becomes claimable again. Senders
// must time out well before it.
const ClaimLease = 2 * time.Minute

// maxErrorLength bounds the stored text of a delivery error.
const maxErrorLength = 500

// CreateWebhook registers w for its client; w.CreatedAt is set to the
// current time. It returns ErrExists if the id is taken.
func (s *Store) CreateWebhook(ctx context.Context, w Webhook) (Webhook, error) {
	if w.ID == "" || w.ClientID == "" || w.URL == "" || w.Secret == "" {
		return Webhook{}, fmt.Errorf("%w: webhook id, client, URL and secret are required", ErrInvalidArgument)
	}
	w.CreatedAt = s.now().UTC().Truncate(time.Microsecond)
	res, err := s.db.ExecContext(ctx, `INSERT INTO webhooks (id, client_id, url, secret, created_at, disabled)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
		w.ID, w.ClientID, w.URL, w.Secret, s.d.ts(w.CreatedAt), w.Disabled)
	if err := affectedOne(res, err); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Webhook{}, ErrExists
		}
		return Webhook{}, fmt.Errorf("store: create webhook: %w", err)
	}
	return w, nil
}

const webhookColumns = `id, client_id, url, secret, created_at, disabled`

func scanWebhook(row interface{ Scan(...any) error }) (Webhook, error) {
	var w Webhook
	err := row.Scan(&w.ID, &w.ClientID, &w.URL, &w.Secret, scanTime(&w.CreatedAt), &w.Disabled)
	return w, err
}

// GetWebhook returns the webhook with the given id, or ErrNotFound.
func (s *Store) GetWebhook(ctx context.Context, id string) (Webhook, error) {
	w, err := scanWebhook(s.db.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Webhook{}, ErrNotFound
	}
	if err != nil {
		return Webhook{}, fmt.Errorf("store: get webhook: %w", err)
	}
	return w, nil
}

// WebhooksForOrg returns the enabled webhooks of the enabled clients of an
// organisation, by id: the endpoints an event for that organisation fans
// out to.
func (s *Store) WebhooksForOrg(ctx context.Context, orgMSP string) ([]Webhook, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT w.id, w.client_id, w.url, w.secret, w.created_at, w.disabled
		FROM webhooks w JOIN clients c ON c.id = w.client_id
		WHERE c.org_msp = $1 AND NOT w.disabled AND NOT c.disabled ORDER BY w.id`, orgMSP)
	if err != nil {
		return nil, fmt.Errorf("store: list webhooks: %w", err)
	}
	defer rows.Close()
	var list []Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list webhooks: %w", err)
		}
		list = append(list, w)
	}
	return list, rows.Err()
}

// SetWebhookDisabled disables or re-enables a webhook. Items of a disabled
// webhook stay in the outbox but are not claimed.
func (s *Store) SetWebhookDisabled(ctx context.Context, id string, disabled bool) error {
	res, err := s.db.ExecContext(ctx, `UPDATE webhooks SET disabled = $2 WHERE id = $1`, id, disabled)
	if err := affectedOne(res, err); err != nil {
		if errors.Is(err, ErrNotFound) {
			return err
		}
		return fmt.Errorf("store: disable webhook: %w", err)
	}
	return nil
}

// EnqueueEvent puts the event eventID with its payload in the outbox of a
// webhook, due at once (at now). The pair (webhook, event) is unique: an
// event enqueued again — a replayed block after a restart — is ignored and
// enqueued is false. So a listener may enqueue a block's events, then
// advance its cursor, and never lose or double an event.
func (s *Store) EnqueueEvent(ctx context.Context, webhookID, eventID string, payload []byte, now time.Time) (enqueued bool, err error) {
	if webhookID == "" || eventID == "" || payload == nil {
		return false, fmt.Errorf("%w: webhook, event id and payload are required", ErrInvalidArgument)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO outbox (webhook_id, event_id, payload, attempts, created_at, next_attempt_at)
		VALUES ($1, $2, $3, 0, $4, $4) ON CONFLICT (webhook_id, event_id) DO NOTHING`,
		webhookID, eventID, payload, s.d.ts(now))
	if err != nil {
		return false, fmt.Errorf("store: enqueue event: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: enqueue event: %w", err)
	}
	return n == 1, nil
}

// ClaimDue reserves up to limit undelivered items of enabled webhooks that
// are due at now and not leased, for ClaimLease, and counts the attempt.
//
// A webhook's items are delivered in order, one at a time: only the oldest
// undelivered item of a webhook (the lowest id, which is the order the
// events were enqueued in) can be claimed. Its successors become claimable
// when it is delivered — not when it fails, is leased or is parked — so a
// receiver never sees an event before the events enqueued ahead of it, and
// a parked item holds its webhook's later items back until it is retried.
//
// Items are returned oldest due first, at most one per webhook. Concurrent
// claimers — goroutines or gateways sharing a PostgreSQL database — never
// receive the same item while its lease runs: on PostgreSQL the candidate
// rows are locked with FOR UPDATE SKIP LOCKED; on SQLite the single
// UPDATE … RETURNING runs under the database's only write lock.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, limit int) ([]OutboxItem, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, `UPDATE outbox SET attempts = attempts + 1, lease_until = $3
		WHERE id IN (
			SELECT o.id FROM outbox o JOIN webhooks w ON w.id = o.webhook_id
			WHERE o.delivered_at IS NULL AND o.parked_at IS NULL AND o.next_attempt_at <= $1
			  AND (o.lease_until IS NULL OR o.lease_until <= $1) AND NOT w.disabled
			  AND NOT EXISTS (SELECT 1 FROM outbox e
			                  WHERE e.webhook_id = o.webhook_id AND e.delivered_at IS NULL AND e.id < o.id)
			ORDER BY o.next_attempt_at, o.id
			LIMIT $2`+s.d.lockSkipLocked("o")+`)
		RETURNING `+outboxColumns,
		s.d.ts(now), limit, s.d.ts(now.Add(ClaimLease)))
	if err != nil {
		return nil, fmt.Errorf("store: claim outbox items: %w", err)
	}
	defer rows.Close()
	var items []OutboxItem
	for rows.Next() {
		it, err := scanOutboxItem(rows)
		if err != nil {
			return nil, fmt.Errorf("store: claim outbox items: %w", err)
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: claim outbox items: %w", err)
	}
	sort.Slice(items, func(i, j int) bool {
		if !items[i].NextAttemptAt.Equal(items[j].NextAttemptAt) {
			return items[i].NextAttemptAt.Before(items[j].NextAttemptAt)
		}
		return items[i].ID < items[j].ID
	})
	return items, nil
}

const outboxColumns = `id, webhook_id, event_id, payload, attempts, created_at, next_attempt_at, delivered_at,
	parked_at, retried_at, last_error`

func scanOutboxItem(row interface{ Scan(...any) error }) (OutboxItem, error) {
	var it OutboxItem
	var lastErr sql.NullString
	err := row.Scan(&it.ID, &it.WebhookID, &it.EventID, &it.Payload, &it.Attempts, scanTime(&it.CreatedAt),
		scanTime(&it.NextAttemptAt), scanTime(&it.DeliveredAt), scanTime(&it.ParkedAt), scanTime(&it.RetriedAt), &lastErr)
	it.LastError = lastErr.String
	return it, err
}

// MarkDelivered records that item id was delivered at the given time; it
// is never claimed again.
func (s *Store) MarkDelivered(ctx context.Context, id int64, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE outbox SET delivered_at = $2, lease_until = NULL, last_error = NULL
		WHERE id = $1 AND delivered_at IS NULL`, id, s.d.ts(at))
	if err := affectedOne(res, err); err != nil {
		if errors.Is(err, ErrNotFound) {
			return err
		}
		return fmt.Errorf("store: mark delivered: %w", err)
	}
	return nil
}

// MarkFailed records a failed attempt at item id and makes it due again at
// nextAttemptAt. errText is stored, cut to 500 bytes: pass a description
// such as "HTTP 503" or "timeout", never a response body.
func (s *Store) MarkFailed(ctx context.Context, id int64, nextAttemptAt time.Time, errText string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE outbox SET next_attempt_at = $2, lease_until = NULL, last_error = $3
		WHERE id = $1 AND delivered_at IS NULL`, id, s.d.ts(nextAttemptAt), cutError(errText))
	if err := affectedOne(res, err); err != nil {
		if errors.Is(err, ErrNotFound) {
			return err
		}
		return fmt.Errorf("store: mark failed: %w", err)
	}
	return nil
}

// MarkParked records the last failed attempt at item id, at the given time:
// the item is not claimed again, and its webhook's later items wait behind
// it, until RetryOutboxItem or RetryParked releases it. errText is stored as
// by MarkFailed.
func (s *Store) MarkParked(ctx context.Context, id int64, at time.Time, errText string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE outbox SET parked_at = $2, next_attempt_at = $2, lease_until = NULL, last_error = $3
		WHERE id = $1 AND delivered_at IS NULL`, id, s.d.ts(at), cutError(errText))
	if err := affectedOne(res, err); err != nil {
		if errors.Is(err, ErrNotFound) {
			return err
		}
		return fmt.Errorf("store: mark parked: %w", err)
	}
	return nil
}

// cutError cuts errText to maxErrorLength bytes, at a character boundary.
func cutError(errText string) string {
	if len(errText) <= maxErrorLength {
		return errText
	}
	cut := maxErrorLength
	for cut > 0 && !utf8.RuneStart(errText[cut]) {
		cut--
	}
	return errText[:cut]
}

// GetOutboxItem returns one outbox item, or ErrNotFound.
func (s *Store) GetOutboxItem(ctx context.Context, id int64) (OutboxItem, error) {
	it, err := scanOutboxItem(s.db.QueryRowContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return OutboxItem{}, ErrNotFound
	}
	if err != nil {
		return OutboxItem{}, fmt.Errorf("store: get outbox item: %w", err)
	}
	return it, nil
}

// GetCursor returns the block number stored under name; ok is false if
// none was stored yet.
func (s *Store) GetCursor(ctx context.Context, name string) (block uint64, ok bool, err error) {
	var n int64
	err = s.db.QueryRowContext(ctx, `SELECT block_number FROM cursors WHERE name = $1`, name).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: get cursor: %w", err)
	}
	return uint64(n), true, nil
}

// SetCursor stores block under name, replacing any earlier value. Store the
// number of the next block to read once a block is fully processed.
func (s *Store) SetCursor(ctx context.Context, name string, block uint64) error {
	if name == "" || block > math.MaxInt64 {
		return fmt.Errorf("%w: cursor needs a name and a block number below 2^63", ErrInvalidArgument)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO cursors (name, block_number, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET block_number = excluded.block_number, updated_at = excluded.updated_at`,
		name, int64(block), s.d.ts(s.now()))
	if err != nil {
		return fmt.Errorf("store: set cursor: %w", err)
	}
	return nil
}
