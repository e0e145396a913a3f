package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/exchange"
)

func (s *Server) dataRequests() (*exchange.Requester, error) {
	if s.DataRequests == nil {
		return nil, apiErr(http.StatusServiceUnavailable, codeDataRequestsUnset, "data requests are not configured on this gateway")
	}
	return s.DataRequests, nil
}

// dataRequestBody is the body of POST /v1/data-requests.
type dataRequestBody struct {
	AuthorizationID string                   `json:"authorization_id"`
	Categories      []string                 `json:"categories"`
	Mode            string                   `json:"mode"`
	Predicate       *exchange.PredicateQuery `json:"predicate"`
}

// Validate checks the request's form; mode defaults to records.
func (q *dataRequestBody) Validate() error {
	if q.Mode == "" {
		q.Mode = model.ModeRecords
	}
	_, err := exchange.CheckTerms(q.AuthorizationID, q.Categories, q.Mode, q.Predicate)
	return err
}

// createDataRequest fetches the data of one of this institution's
// authorisations from the provider, verified against this gateway's own
// peer (exchange.Requester.Fetch). Under an Idempotency-Key, the access id
// derives from the key, so a retry is answered from the provider's first
// delivery and never records a second access; the answer is kept for
// replays as the sealed delivery, never as the records (replayDataRequest).
func (s *Server) createDataRequest(w http.ResponseWriter, r *http.Request) error {
	rq, err := s.dataRequests()
	if err != nil {
		return err
	}
	var q dataRequestBody
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	if err := q.Validate(); err != nil {
		return err
	}
	ctx := r.Context()
	out, kept, err := rq.Fetch(ctx, accessID(ctx), q.AuthorizationID, q.Categories, q.Mode, q.Predicate)
	if err != nil {
		return err
	}
	form, err := json.Marshal(kept)
	if err != nil {
		return err
	}
	keepForReplay(ctx, replayDataRequest, form)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// accessID is the access id of a data request: derived from the
// institution, its client and the Idempotency-Key if there is one
// (exchange.AccessID), random otherwise.
func accessID(ctx context.Context) string {
	p, _ := auth.FromContext(ctx)
	key := idempotencyKeyFrom(ctx)
	if key == "" || p == nil {
		return auth.RandomID("acc-")
	}
	return exchange.AccessID(p.MSPID, p.Subject, key)
}

// replayDataRequest answers a retry of an answered data request from what
// was kept (exchange.Requester.Replay): the data again while the
// authorisation is still usable, the refusal a new request would get once
// it is not.
func (s *Server) replayDataRequest(w http.ResponseWriter, r *http.Request, stored *StoredResponse) error {
	rq, err := s.dataRequests()
	if err != nil {
		return err
	}
	var kept exchange.Kept
	if err := json.Unmarshal(stored.Body, &kept); err != nil {
		return errors.New("httpapi: a kept data request is not a delivery")
	}
	out, err := rq.Replay(r.Context(), kept, s.Now())
	if err != nil {
		return err
	}
	writeJSON(w, stored.Status, out)
	return nil
}
