package httpapi

import (
	"context"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/vault"
)

// DataRequestLedger is what data requests need from the chaincode, read
// from this gateway's own peer; *ledger.Ledger implements it.
type DataRequestLedger interface {
	GetAuthorization(ctx context.Context, id string) (*model.Authorization, error)
	GetInstitution(ctx context.Context, mspID string) (*model.Institution, error)
	GetAccess(ctx context.Context, id string) (*model.Access, error)
	GetBatch(ctx context.Context, batchID string) (*model.BatchAnchor, error)
	VerifyProof(ctx context.Context, proof model.ProofRequest) (*model.Verification, error)
}

// DataRequestConfig are the collaborators of data requests.
type DataRequestConfig struct {
	Ledger DataRequestLedger
	// Provider calls the operator's provider API (NewHTTPProviderClient).
	Provider ProviderClient
	// Key is this institution's data-encryption private key, whose public
	// half is registered on the ledger (RegisterEncryptionKey).
	Key *ecdh.PrivateKey
}

// DataRequestAPI fetches authorised data from the provider and verifies it
// against this gateway's own peer before handing it on.
type DataRequestAPI struct {
	cfg DataRequestConfig
}

// NewDataRequestAPI checks c and returns the data-request API.
func NewDataRequestAPI(c DataRequestConfig) (*DataRequestAPI, error) {
	if c.Ledger == nil || c.Provider == nil || c.Key == nil {
		return nil, errors.New("httpapi: data requests need a Ledger, a Provider client and a Key")
	}
	return &DataRequestAPI{cfg: c}, nil
}

func (s *Server) dataRequestAPI() (*DataRequestAPI, error) {
	if s.DataRequests == nil {
		return nil, apiErr(http.StatusServiceUnavailable, codeDataRequestsUnset, "data requests are not configured on this gateway")
	}
	return s.DataRequests, nil
}

// dataRequestBody is the body of POST /v1/data-requests.
type dataRequestBody struct {
	AuthorizationID string          `json:"authorization_id"`
	Categories      []string        `json:"categories"`
	Mode            string          `json:"mode"`
	Predicate       *PredicateQuery `json:"predicate"`
}

// Validate checks the request's form; mode defaults to records.
func (q *dataRequestBody) Validate() ([]string, *predicate, error) {
	if q.Mode == "" {
		q.Mode = model.ModeRecords
	}
	return validateExchange(q.AuthorizationID, q.Categories, q.Mode, q.Predicate)
}

// dataRequestResult is the answer of POST /v1/data-requests: what was
// delivered, every check passed. Records carry their bytes exactly as
// anchored, their hash and their Merkle proof; a predicate delivery
// carries only the answer.
type dataRequestResult struct {
	AccessID        string                   `json:"access_id"`
	TxID            string                   `json:"tx_id"`
	AuthorizationID string                   `json:"authorization_id"`
	Mode            string                   `json:"mode"`
	Categories      []string                 `json:"categories"`
	DataFrom        string                   `json:"data_from"`
	DataTo          string                   `json:"data_to"`
	Digest          string                   `json:"digest"`
	UseNumber       int                      `json:"use_number"`
	AccessedAt      string                   `json:"accessed_at"`
	Records         *[]vault.DeliveredRecord `json:"records,omitempty"`
	Predicate       *PredicateQuery          `json:"predicate,omitempty"`
	Answer          *bool                    `json:"answer,omitempty"`
	Verified        bool                     `json:"verified"`
}

// createDataRequest fetches the data of one of this institution's
// authorisations from the provider, verifies the delivery against this
// gateway's own peer and returns it. Under an Idempotency-Key, the access
// id derives from the key, so a retry is answered from the provider's
// first delivery and never records a second access; the answer is kept
// for replays as the sealed delivery, never as the records
// (replayDataRequest).
func (s *Server) createDataRequest(w http.ResponseWriter, r *http.Request) error {
	d, err := s.dataRequestAPI()
	if err != nil {
		return err
	}
	var q dataRequestBody
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	cats, pred, err := q.Validate()
	if err != nil {
		return err
	}
	ctx := r.Context()
	a, err := d.cfg.Ledger.GetAuthorization(ctx, q.AuthorizationID)
	if err != nil {
		return err
	}
	// What never changes is checked here; the state (granted, paused, uses
	// left, the institution active) is the provider's and the chaincode's
	// to check when they deliver: this gateway's peer may not have
	// committed the latest decision yet.
	if a.Requester != s.MSPID {
		return codeErr(model.CodeRequesterMismatch, "authorisation %s was not granted to %s", a.ID, s.MSPID)
	}
	if !a.Covers(cats) {
		return codeErr(model.CodeCategoryOutOfScope, "authorisation %s does not cover every requested category", a.ID)
	}
	if pred != nil {
		if err := pred.within(a); err != nil {
			return err
		}
	}
	p, _ := auth.FromContext(ctx)
	req := DeliveryRequest{AccessID: accessID(p, idempotencyKeyFrom(ctx)), AuthorizationID: a.ID,
		Categories: cats, Mode: q.Mode, Predicate: q.Predicate}
	resp, err := d.cfg.Provider.Deliver(ctx, req)
	if err != nil {
		return s.providerFailure(ctx, err)
	}
	out, err := d.verify(ctx, s.MSPID, a, req, pred, resp)
	if err != nil {
		var ae *Error
		if errors.As(err, &ae) && ae.Code == CodeDeliveryUnverified {
			s.log.WarnContext(ctx, "delivery failed verification", slog.String("request_id", requestIDFrom(ctx)),
				slog.String("access_id", req.AccessID), slog.String("error", ae.Message))
		}
		return err
	}
	form, err := json.Marshal(dataRequestReplay{Request: req, Delivery: resp})
	if err != nil {
		return err
	}
	keepForReplay(ctx, replayDataRequest, form)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// accessID is "acc-" and 20 base32 characters: random, or, under an
// Idempotency-Key, derived from the institution, the client and the key.
func accessID(p *auth.Principal, idemKey string) string {
	if idemKey == "" || p == nil {
		return auth.RandomID("acc-")
	}
	sum := sha256.Sum256([]byte("access\x00" + p.MSPID + "\x00" + p.Subject + "\x00" + idemKey))
	return "acc-" + idEncoding.EncodeToString(sum[:13])[:20]
}

// providerFailure turns a failed call of the provider into this API's
// answer: the provider's refusals (4xx) pass through with their code; its
// own failures are 502 PROVIDER_ERROR; not reaching it is 503
// PROVIDER_UNAVAILABLE.
func (s *Server) providerFailure(ctx context.Context, err error) error {
	var pe *ProviderError
	if errors.As(err, &pe) {
		switch {
		case pe.Status == http.StatusServiceUnavailable && pe.Code == CodeDataNotReady:
			return apiErr(http.StatusServiceUnavailable, CodeDataNotReady, "the provider's records are not anchored yet; retry later")
		case pe.Status == http.StatusServiceUnavailable:
			return apiErr(http.StatusServiceUnavailable, CodeProviderUnavailable, "the provider is unavailable (%s); retry later", pe.Code)
		case pe.Status == http.StatusUnauthorized || pe.Status >= 500 || pe.Status < 400:
			s.log.ErrorContext(ctx, "provider failed", slog.String("request_id", requestIDFrom(ctx)),
				slog.Int("status", pe.Status), slog.String("code", pe.Code))
			return apiErr(http.StatusBadGateway, CodeProviderError, "the provider could not serve the request (%s)", pe.Code)
		}
		return &Error{Status: pe.Status, Code: pe.Code, Message: "the provider refused: " + pe.Message}
	}
	if errors.Is(err, errProviderResponse) {
		s.log.ErrorContext(ctx, "provider answer", slog.String("request_id", requestIDFrom(ctx)), slog.String("error", err.Error()))
		return apiErr(http.StatusBadGateway, CodeProviderError, "the provider's answer is not a delivery")
	}
	s.log.WarnContext(ctx, "provider unreachable", slog.String("request_id", requestIDFrom(ctx)), slog.String("error", err.Error()))
	return apiErr(http.StatusServiceUnavailable, CodeProviderUnavailable, "the provider cannot be reached; retry later")
}
