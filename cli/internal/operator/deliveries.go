package operator

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// DeliveryLogEntry is one delivery of data as a gateway's delivery log
// shows it (GET /admin/v1/deliveries): a receipt the operator's gateway
// served, or a delivery a requester's gateway received.
type DeliveryLogEntry struct {
	AccessID        string `json:"access_id"`
	AuthorizationID string `json:"authorization_id"`
	Requester       string `json:"requester"`
	Provider        string `json:"provider,omitempty"`
	Digest          string `json:"digest"`
	UseNumber       int    `json:"use_number,omitempty"` // 0: not kept by the gateway
	TxID            string `json:"tx_id,omitempty"`
	At              string `json:"at"`
}

// DeliveryLogPage is one page of a gateway's delivery log.
type DeliveryLogPage struct {
	// Organization is the gateway's organisation: the provider of the
	// deliveries it served, the requester of those it received.
	Organization string             `json:"organization"`
	Side         string             `json:"side"` // served or received
	Items        []DeliveryLogEntry `json:"items"`
	NextCursor   string             `json:"next_cursor,omitempty"`
}

// DeliveryLogQuery selects a page of a delivery log.
type DeliveryLogQuery struct {
	Side         string    // "served", "received", or "" for the gateway's own
	Since, Until time.Time // zero: open
	Cursor       string
	Limit        int // 1–100; 0 for the gateway's default
}

// DeliveryLog returns a page of the gateway's delivery log, oldest first.
func (a *Admin) DeliveryLog(ctx context.Context, q DeliveryLogQuery) (*DeliveryLogPage, error) {
	v := url.Values{}
	if q.Side != "" {
		v.Set("side", q.Side)
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339Nano))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	path := "/admin/v1/deliveries"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var p DeliveryLogPage
	if err := a.do(ctx, http.MethodGet, path, "application/json", true, http.NoBody, &p); err != nil {
		return nil, fmt.Errorf("listing the delivery log of %s: %w", a.URL, err)
	}
	if p.Items == nil {
		p.Items = []DeliveryLogEntry{}
	}
	return &p, nil
}

// AllDeliveries follows the delivery log's cursors to the end.
// The answer is the last page with every page's items.
func (a *Admin) AllDeliveries(ctx context.Context, q DeliveryLogQuery) (*DeliveryLogPage, error) {
	var items []DeliveryLogEntry
	for {
		p, err := a.DeliveryLog(ctx, q)
		if err != nil {
			return nil, err
		}
		items = append(items, p.Items...)
		if p.NextCursor == "" || p.NextCursor == q.Cursor {
			p.Items, p.NextCursor = items, ""
			return p, nil
		}
		q.Cursor = p.NextCursor
	}
}
