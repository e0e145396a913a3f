package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// WebhookSubscription is a webhook with the organisation of its client and
// the events it receives.
type WebhookSubscription struct {
	Webhook
	// OrgMSP is the organisation of the webhook's client.
	OrgMSP string
	// Events are the event names the webhook receives; empty means every
	// event the gateway forwards.
	Events []string
}

// Wants reports whether the webhook receives events named name.
func (w WebhookSubscription) Wants(name string) bool {
	if len(w.Events) == 0 {
		return true
	}
	for _, e := range w.Events {
		if e == name {
			return true
		}
	}
	return false
}

// CreateWebhookSubscription registers w for its client, receiving the
// events named in events (all of them if empty); w.CreatedAt is set to the
// current time. It returns ErrExists if the id is taken and ErrNotFound if
// the client does not exist.
func (s *Store) CreateWebhookSubscription(ctx context.Context, w Webhook, events []string) (WebhookSubscription, error) {
	if w.ID == "" || w.ClientID == "" || w.URL == "" || w.Secret == "" {
		return WebhookSubscription{}, fmt.Errorf("%w: webhook id, client, URL and secret are required", ErrInvalidArgument)
	}
	for _, e := range events {
		if e == "" || strings.ContainsAny(e, " \t\r\n") {
			return WebhookSubscription{}, fmt.Errorf("%w: an event name must be non-empty and contain no white space", ErrInvalidArgument)
		}
	}
	var org string
	err := s.db.QueryRowContext(ctx, `SELECT org_msp FROM clients WHERE id = $1`, w.ClientID).Scan(&org)
	if errors.Is(err, sql.ErrNoRows) {
		return WebhookSubscription{}, ErrNotFound
	}
	if err != nil {
		return WebhookSubscription{}, fmt.Errorf("store: create webhook: %w", err)
	}
	w.CreatedAt = s.now().UTC().Truncate(time.Microsecond)
	res, err := s.db.ExecContext(ctx, `INSERT INTO webhooks (id, client_id, url, secret, created_at, disabled, events)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
		w.ID, w.ClientID, w.URL, w.Secret, s.d.ts(w.CreatedAt), w.Disabled, strings.Join(events, " "))
	if err := affectedOne(res, err); err != nil {
		if errors.Is(err, ErrNotFound) {
			return WebhookSubscription{}, ErrExists
		}
		return WebhookSubscription{}, fmt.Errorf("store: create webhook: %w", err)
	}
	return WebhookSubscription{Webhook: w, OrgMSP: org, Events: append([]string(nil), events...)}, nil
}

const subscriptionColumns = `w.id, w.client_id, w.url, w.secret, w.created_at, w.disabled, c.org_msp, w.events`

func scanSubscription(row interface{ Scan(...any) error }) (WebhookSubscription, error) {
	var w WebhookSubscription
	var events string
	err := row.Scan(&w.ID, &w.ClientID, &w.URL, &w.Secret, scanTime(&w.CreatedAt), &w.Disabled, &w.OrgMSP, &events)
	w.Events = strings.Fields(events)
	return w, err
}

// WebhookSubscription returns the webhook with the given id, enabled or
// not, or ErrNotFound.
func (s *Store) WebhookSubscription(ctx context.Context, id string) (WebhookSubscription, error) {
	w, err := scanSubscription(s.db.QueryRowContext(ctx, `SELECT `+subscriptionColumns+`
		FROM webhooks w JOIN clients c ON c.id = w.client_id WHERE w.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return WebhookSubscription{}, ErrNotFound
	}
	if err != nil {
		return WebhookSubscription{}, fmt.Errorf("store: get webhook: %w", err)
	}
	return w, nil
}

// OrgWebhookSubscriptions returns the enabled webhooks of the enabled
// clients of an organisation, by id, as WebhooksForOrg does, with the
// events each receives.
func (s *Store) OrgWebhookSubscriptions(ctx context.Context, orgMSP string) ([]WebhookSubscription, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+subscriptionColumns+`
		FROM webhooks w JOIN clients c ON c.id = w.client_id
		WHERE c.org_msp = $1 AND NOT w.disabled AND NOT c.disabled ORDER BY w.id`, orgMSP)
	if err != nil {
		return nil, fmt.Errorf("store: list webhooks: %w", err)
	}
	defer rows.Close()
	var list []WebhookSubscription
	for rows.Next() {
		w, err := scanSubscription(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list webhooks: %w", err)
		}
		list = append(list, w)
	}
	return list, rows.Err()
}
