package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/exchange"
	"github.com/quanchain/quanchain/gateway/internal/store"
)

// The admin API's delivery log (GET /admin/v1/deliveries, on every
// gateway): what this gateway keeps of the deliveries of data it took part
// in, for an auditor to hold against the accesses the ledger recorded
// (`qc audit reconcile`). The operator's gateway lists the receipts of the
// deliveries it served (side=served); a requester's gateway lists the
// deliveries it received and kept (side=received). Each entry names the
// access, the authorisation, the two organisations, the digest and the
// transaction — never the records, a predicate's answer or a citizen.

// DeliveryLog is what a gateway keeps of its deliveries; *store.Store
// implements it.
type DeliveryLog interface {
	// Deliveries lists the provider's receipts.
	Deliveries(ctx context.Context, q store.DeliveryLogQuery) ([]store.Delivery, error)
	// KeptResponses lists the answered requests kept for a replayer: for
	// a requester, the deliveries it received (replayDataRequest).
	KeptResponses(ctx context.Context, replayWith string, q store.DeliveryLogQuery) ([]store.KeptResponse, error)
}

// CodeSideRequired is the delivery log's answer, on a gateway that both
// serves and receives deliveries, to a request that names no side.
const CodeSideRequired = "SIDE_REQUIRED"

// Sides of the delivery log.
const (
	SideServed   = "served"
	SideReceived = "received"
)

// deliveryLogEntry is one delivery as GET /admin/v1/deliveries shows it.
type deliveryLogEntry struct {
	AccessID        string `json:"access_id"`
	AuthorizationID string `json:"authorization_id"`
	Requester       string `json:"requester"`
	Provider        string `json:"provider,omitempty"`
	Digest          string `json:"digest"`
	// UseNumber is the use of the authorisation the delivery was, when the
	// gateway keeps it (0: not kept).
	UseNumber int    `json:"use_number,omitempty"`
	TxID      string `json:"tx_id,omitempty"`
	// At is when the gateway wrote the entry: a receipt just before its
	// access was submitted, a received delivery once it was verified.
	At string `json:"at"`
}

// deliveryLogPage is the answer to GET /admin/v1/deliveries.
type deliveryLogPage struct {
	// Organization is the gateway's organisation: the provider of the
	// deliveries it served, the requester of those it received.
	Organization string             `json:"organization"`
	Side         string             `json:"side"`
	Items        []deliveryLogEntry `json:"items"`
	NextCursor   string             `json:"next_cursor,omitempty"`
}

// logCursor is the opaque cursor of the delivery log: the position of the
// previous page's last entry.
type logCursor struct {
	At  time.Time `json:"t"`
	Key string    `json:"k"`
}

func encodeLogCursor(p store.LogPosition) string {
	b, _ := json.Marshal(logCursor{At: p.At, Key: p.Key}) // a struct of a time and a string always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeLogCursor(s string) (store.LogPosition, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(s) > 1024 {
		return store.LogPosition{}, false
	}
	var c logCursor
	if json.Unmarshal(b, &c) != nil || c.At.IsZero() || c.Key == "" {
		return store.LogPosition{}, false
	}
	return store.LogPosition{At: c.At, Key: c.Key}, true
}

// adminListDeliveryLog lists this gateway's delivery log, oldest first, a
// page at a time: side (served on the operator's gateway, received on a
// requester's; required on a gateway playing both roles), since and until
// (RFC 3339, inclusive), cursor (the previous page's next_cursor) and limit
// (1–100, default 50).
func (s *Server) adminListDeliveryLog(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.adminPrincipal(r); err != nil {
		return err
	}
	if s.DeliveryLog == nil {
		return apiErr(http.StatusServiceUnavailable, codeAdminUnavailable, "the delivery log is not kept on this gateway")
	}
	qs := r.URL.Query()
	for k, v := range qs {
		switch k {
		case "side", "since", "until", "cursor", "limit":
		default:
			return apiErr(http.StatusBadRequest, CodeInvalidArgument, "unknown query parameter %q", k)
		}
		if len(v) > 1 {
			return apiErr(http.StatusBadRequest, CodeInvalidArgument, "query parameter %q is repeated", k)
		}
	}
	provider, requester := s.Config.HasRole(config.RoleProvider), s.Config.HasRole(config.RoleRequester)
	side := qs.Get("side")
	switch {
	case side == "" && provider && !requester:
		side = SideServed
	case side == "" && requester && !provider:
		side = SideReceived
	case side == "":
		return apiErr(http.StatusBadRequest, CodeSideRequired, "this gateway serves and receives deliveries: name the side, served or received")
	case side == SideServed && !provider, side == SideReceived && !requester:
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "this gateway keeps no %s deliveries", side)
	case side != SideServed && side != SideReceived:
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "side must be served or received")
	}
	q := store.DeliveryLogQuery{Limit: defaultDeliveryPage}
	for name, dst := range map[string]*time.Time{"since": &q.Since, "until": &q.Until} {
		if v := qs.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return apiErr(http.StatusBadRequest, CodeInvalidArgument, "%s must be an RFC 3339 time", name)
			}
			*dst = t
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Before(q.Since) {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "until is before since")
	}
	if c := qs.Get("cursor"); c != "" {
		pos, ok := decodeLogCursor(c)
		if !ok {
			return apiErr(http.StatusBadRequest, CodeInvalidArgument, "cursor is not valid")
		}
		q.After = pos
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
	out := deliveryLogPage{Organization: s.MSPID, Side: side, Items: []deliveryLogEntry{}}
	var last store.LogPosition
	if side == SideServed {
		list, err := s.DeliveryLog.Deliveries(r.Context(), q)
		if err != nil {
			return err
		}
		for i, d := range list {
			if i == page {
				out.NextCursor = encodeLogCursor(last)
				break
			}
			out.Items = append(out.Items, deliveryLogEntry{AccessID: d.AccessID, AuthorizationID: d.AuthorizationID,
				Requester: d.RequesterMSP, Provider: s.MSPID, Digest: d.Digest, TxID: d.TxID, At: formatTime(d.CreatedAt)})
			last = store.LogPosition{At: d.CreatedAt, Key: d.AccessID}
		}
	} else {
		list, err := s.DeliveryLog.KeptResponses(r.Context(), replayDataRequest, q)
		if err != nil {
			return err
		}
		for i, k := range list {
			if i == page {
				out.NextCursor = encodeLogCursor(last)
				break
			}
			var kept exchange.Kept
			if err := json.Unmarshal(k.Body, &kept); err != nil || kept.Delivery == nil {
				s.log.WarnContext(r.Context(), "delivery log: a kept data request is not a delivery", "request_id", requestIDFrom(r.Context()))
				last = k.Position
				continue
			}
			out.Items = append(out.Items, deliveryLogEntry{AccessID: kept.Delivery.AccessID, AuthorizationID: kept.Request.AuthorizationID,
				Requester: s.MSPID, Digest: kept.Delivery.Digest, TxID: kept.Delivery.TxID, At: formatTime(k.CompletedAt)})
			last = k.Position
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
