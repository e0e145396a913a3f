package httpapi

import (
	"context"
	"crypto/ecdh"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/envelope"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/vault"
	"github.com/quanchain/quanchain/ledger"
)

// providerRoutes are the data-exchange routes: the provider API that other
// gateways call over mutual TLS (provider role; see PeerHandler), and the
// institution API's data requests and verifications (requester role).
var providerRoutes = []route{
	{method: "POST", pattern: providerDeliveriesPattern, role: config.RoleProvider, handle: (*Server).providerDeliver},
	{method: "POST", pattern: pseudonymsPattern, role: config.RoleProvider, handle: (*Server).pseudonymRef},
	{method: "POST", pattern: "/v1/data-requests", role: config.RoleRequester, auth: auth.KindInstitution, idempotent: true, handle: (*Server).createDataRequest},
	{method: "POST", pattern: "/v1/verifications", role: config.RoleRequester, auth: auth.KindInstitution, handle: (*Server).createVerification},
}

// Error codes of data exchange.
const (
	CodeClientCertRequired   = "CLIENT_CERT_REQUIRED"
	CodeEncryptionKeyMissing = "ENCRYPTION_KEY_MISSING"
	CodeAccessIDReused       = "ACCESS_ID_REUSED"
	CodeDataNotReady         = "DATA_NOT_READY"
	CodePredicateOutOfRange  = "PREDICATE_OUT_OF_RANGE"
	CodeDeliveryUnverified   = "DELIVERY_UNVERIFIED"
	CodeProviderUnavailable  = "PROVIDER_UNAVAILABLE"
	CodeProviderError        = "PROVIDER_ERROR"
	codeProviderAPIUnset     = "PROVIDER_API_UNAVAILABLE"
	codeDataRequestsUnset    = "DATA_REQUESTS_UNAVAILABLE"
	codeVerificationsUnset   = "VERIFICATIONS_UNAVAILABLE"
)

// providerDeliveriesPattern is the provider API's one route.
const providerDeliveriesPattern = "/provider/v1/deliveries"

// ProviderLedger is what the provider API needs from the chaincode;
// *ledger.Ledger implements it.
type ProviderLedger interface {
	GetAuthorization(ctx context.Context, id string) (*model.Authorization, error)
	GetInstitution(ctx context.Context, mspID string) (*model.Institution, error)
	RecordAccess(ctx context.Context, access model.AccessRequest) (*model.Access, error)
	GetAccess(ctx context.Context, id string) (*model.Access, error)
}

// SafeStore is what the provider API needs from the digital safe and its
// delivery receipts; *store.Store implements it.
type SafeStore interface {
	RecordsFor(ctx context.Context, citizenRef string, categories []string, from, to string) ([]store.Record, error)
	RecordDelivery(ctx context.Context, d store.Delivery) (store.Delivery, bool, error)
	DeliveryByAccessID(ctx context.Context, accessID string) (store.Delivery, error)
	SetDeliveryTxID(ctx context.Context, accessID, txID string) error
}

// DeliveryBuilder builds the exact bytes of a records delivery, with each
// record's proof; *vault.Vault implements it.
type DeliveryBuilder interface {
	BuildDelivery(ctx context.Context, h vault.DeliveryHeader, records []store.Record) (vault.Delivery, error)
}

// ProviderConfig are the provider API's collaborators.
type ProviderConfig struct {
	Ledger  ProviderLedger
	Store   SafeStore
	Builder DeliveryBuilder
	// CallerMSP returns the organisation of the gateway that sent the
	// request, from its verified client certificate — never from a header:
	// (*peerlink.Link).RequestMSP.
	CallerMSP func(*http.Request) (string, error)
}

// ProviderAPI serves authorised data to requester gateways.
type ProviderAPI struct {
	cfg ProviderConfig
}

// NewProviderAPI checks c and returns the provider API.
func NewProviderAPI(c ProviderConfig) (*ProviderAPI, error) {
	if c.Ledger == nil || c.Store == nil || c.Builder == nil || c.CallerMSP == nil {
		return nil, errors.New("httpapi: the provider API needs a Ledger, a Store, a Builder and CallerMSP")
	}
	return &ProviderAPI{cfg: c}, nil
}

func (s *Server) providerAPI() (*ProviderAPI, error) {
	if s.Provider == nil {
		return nil, apiErr(http.StatusServiceUnavailable, codeProviderAPIUnset, "the provider API is not configured on this gateway")
	}
	return s.Provider, nil
}

// peerCaller returns the provider API and the organisation of the member
// gateway calling it, read from its verified client certificate, and
// records the caller in the access log.
func (s *Server) peerCaller(r *http.Request) (*ProviderAPI, string, error) {
	p, err := s.providerAPI()
	if err != nil {
		return nil, "", err
	}
	caller, err := p.cfg.CallerMSP(r)
	if err != nil || !model.ValidMSPID(caller) {
		return nil, "", apiErr(http.StatusUnauthorized, CodeClientCertRequired, "a verified client certificate of a member organisation is required")
	}
	if ri, ok := r.Context().Value(reqInfoKey{}).(*reqInfo); ok {
		ri.client = caller
	}
	return p, caller, nil
}

// PeerHandler serves the provider API and the pseudonym service alone (and
// /healthz), for the
// listener other gateways reach over mutual TLS with
// (*peerlink.Link).ServerConfig. The provider route is in the main route
// table too, where a request without a verified client certificate is
// refused.
func (s *Server) PeerHandler() http.Handler {
	mux := chi.NewRouter()
	mux.Use(requestID, s.observe)
	mux.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, apiErr(http.StatusNotFound, CodeNotFound, "no such route"))
	})
	mux.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, apiErr(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method not allowed on this route"))
	})
	for _, rt := range s.activeRoutes() {
		if strings.HasPrefix(rt.pattern, "/provider/") || strings.HasPrefix(rt.pattern, "/internal/") || rt.pattern == "/healthz" {
			mux.Method(rt.method, rt.pattern, s.chain(rt))
		}
	}
	return mux
}

// DeliveryRequest is the body of POST /provider/v1/deliveries: a requester
// gateway asks for the data of an authorisation, under an access id it
// chose (a retry with the same id is answered from the first delivery).
type DeliveryRequest struct {
	AccessID        string          `json:"access_id"`
	AuthorizationID string          `json:"authorization_id"`
	Categories      []string        `json:"categories"`
	Mode            string          `json:"mode"`
	Predicate       *PredicateQuery `json:"predicate,omitempty"`
}

// PredicateQuery is a yes/no question about a citizen's records (最少必要).
type PredicateQuery struct {
	Code   string            `json:"code"`
	Params map[string]string `json:"params"`
}

// DeliveryResponse is the provider's answer: the access transaction, the
// digest of exactly the delivered bytes (as recorded on the ledger) and
// those bytes, encrypted to the requester's registered key with the
// access id as additional data.
type DeliveryResponse struct {
	AccessID    string             `json:"access_id"`
	TxID        string             `json:"tx_id"`
	Digest      string             `json:"digest"`
	Mode        string             `json:"mode"`
	RecordCount int                `json:"record_count"`
	Payload     *envelope.Envelope `json:"payload"`
}

// Validate checks the request's form and returns its categories sorted
// and its predicate parsed.
func (q *DeliveryRequest) Validate() ([]string, *predicate, error) {
	if !model.ValidID(q.AccessID) {
		return nil, nil, apiErr(http.StatusBadRequest, CodeInvalidArgument, "access_id must be 3–64 letters, digits, '_', '.' or '-'")
	}
	return validateExchange(q.AuthorizationID, q.Categories, q.Mode, q.Predicate)
}

// validateExchange checks what a data request and a delivery request have
// in common.
func validateExchange(authID string, cats []string, mode string, pq *PredicateQuery) ([]string, *predicate, error) {
	bad := func(format string, args ...any) error {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, format, args...)
	}
	if !model.ValidID(authID) {
		return nil, nil, bad("authorization_id is not a valid id")
	}
	if len(cats) == 0 || len(cats) > maxCategories {
		return nil, nil, bad("categories must list 1–%d category codes", maxCategories)
	}
	for i, c := range cats {
		if !model.ValidCategoryCode(c) {
			return nil, nil, bad("categories[%d] is not a category code", i)
		}
		if slices.Contains(cats[:i], c) {
			return nil, nil, bad("categories[%d] repeats %q", i, c)
		}
	}
	sorted := slices.Sorted(slices.Values(cats))
	switch mode {
	case model.ModeRecords:
		if pq != nil {
			return nil, nil, bad("predicate is only allowed with mode predicate")
		}
		return sorted, nil, nil
	case model.ModePredicate:
		if pq == nil {
			return nil, nil, bad("mode predicate needs a predicate")
		}
		p, err := parsePredicate(pq)
		if err != nil {
			return nil, nil, err
		}
		if len(sorted) != 1 || sorted[0] != p.category {
			return nil, nil, bad("predicate %s answers from category %s alone", p.code, p.category)
		}
		return sorted, p, nil
	}
	return nil, nil, bad("mode must be records or predicate")
}

// providerDeliver serves an authorised delivery to the calling gateway:
// decode → Validate() → the checks and the access on the ledger → the
// encrypted delivery.
func (s *Server) providerDeliver(w http.ResponseWriter, r *http.Request) error {
	p, caller, err := s.peerCaller(r)
	if err != nil {
		return err
	}
	var q DeliveryRequest
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	cats, pred, err := q.Validate()
	if err != nil {
		return err
	}
	out, err := p.deliver(r.Context(), s.log, caller, q, cats, pred, s.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// deliver checks the authorisation, builds the delivery, records the
// access (once per access id) and seals the delivery to the requester.
//
// The receipt is stored before the access is submitted, so a retry of an
// access id finds it: if the access committed, the retry is answered with
// the same bytes (the delivery is a deterministic function of the stored
// records) and the same transaction, and nothing is submitted again. A
// retry is served only while the authorisation is usable, as a new
// delivery is: after a revocation, a pause, the end of the validity, the
// last use or the requester's suspension, it is refused with the same code.
func (p *ProviderAPI) deliver(ctx context.Context, log *slog.Logger, caller string, q DeliveryRequest,
	cats []string, pred *predicate, now time.Time) (*DeliveryResponse, error) {
	l := p.cfg.Ledger
	a, err := l.GetAuthorization(ctx, q.AuthorizationID)
	if err != nil {
		return nil, err
	}
	if a.Requester != caller {
		return nil, codeErr(model.CodeRequesterMismatch, "authorisation %s was not granted to %s", a.ID, caller)
	}
	reused := apiErr(http.StatusConflict, CodeAccessIDReused, "access id %s was used for another delivery; use a new access id", q.AccessID)
	receipt, found, err := p.receipt(ctx, q.AccessID)
	if err != nil {
		return nil, err
	}
	if found && (receipt.RequesterMSP != caller || receipt.AuthorizationID != a.ID) {
		return nil, reused
	}
	txID := ""
	if found {
		if txID, err = p.committedTx(ctx, receipt); err != nil {
			return nil, err
		}
	}
	requester, err := l.GetInstitution(ctx, caller)
	if err != nil {
		return nil, err
	}
	// What the chaincode checks when it records the access: a doomed
	// delivery is neither built nor submitted, and a delivered one is not
	// handed out again once the authorisation is no longer usable (the
	// uses it counted aside: the retry of the request that used the last
	// use is still answered).
	if err := checkUsable(a, requester, cats, now, found); err != nil {
		return nil, err
	}
	if pred != nil {
		if err := pred.within(a); err != nil {
			return nil, err
		}
	}
	pub, err := encryptionKey(requester)
	if err != nil {
		return nil, err
	}
	d, err := p.build(ctx, a, q, cats, pred)
	if err != nil {
		return nil, err
	}
	digest := d.DigestHex()
	if found && receipt.Digest != digest {
		return nil, reused
	}
	if !found {
		stored, created, err := p.cfg.Store.RecordDelivery(ctx, store.Delivery{
			AccessID: q.AccessID, AuthorizationID: a.ID, RequesterMSP: caller, Digest: digest,
		})
		if err != nil {
			return nil, err
		}
		if !created && (stored.Digest != digest || stored.RequesterMSP != caller || stored.AuthorizationID != a.ID) {
			return nil, reused
		}
	}
	if txID == "" {
		acc, err := l.RecordAccess(ctx, model.AccessRequest{
			ID: q.AccessID, AuthorizationID: a.ID, Requester: caller, Categories: cats, Mode: q.Mode,
			Predicate: pred.codeOrEmpty(), Digest: digest, RecordCount: d.RecordCount,
		})
		if ledger.CodeOf(err) == model.CodeAlreadyExists {
			// Committed by an earlier attempt whose answer was lost, or by a
			// concurrent one: the ledger's access must be this delivery.
			if acc, err = l.GetAccess(ctx, q.AccessID); err == nil && !sameAccess(acc, caller, a.ID, digest) {
				return nil, reused
			}
		}
		if err != nil {
			return nil, err
		}
		txID = acc.TxID
		if err := p.cfg.Store.SetDeliveryTxID(ctx, q.AccessID, txID); err != nil {
			// The access is committed; a retry finds it on the ledger.
			log.WarnContext(ctx, "delivery receipt not updated", slog.String("request_id", requestIDFrom(ctx)),
				slog.String("access_id", q.AccessID), slog.String("error", err.Error()))
		}
	}
	env, err := envelope.Seal(pub, d.Body, []byte(q.AccessID))
	if err != nil {
		return nil, err
	}
	return &DeliveryResponse{AccessID: q.AccessID, TxID: txID, Digest: digest, Mode: q.Mode,
		RecordCount: d.RecordCount, Payload: env}, nil
}

// receipt returns the stored receipt of an access id, if any.
func (p *ProviderAPI) receipt(ctx context.Context, accessID string) (store.Delivery, bool, error) {
	d, err := p.cfg.Store.DeliveryByAccessID(ctx, accessID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Delivery{}, false, nil
	}
	return d, err == nil, err
}

// committedTx returns the transaction of a receipt's access, asking the
// ledger when the receipt does not know it yet; "" if the access is not on
// the ledger.
func (p *ProviderAPI) committedTx(ctx context.Context, receipt store.Delivery) (string, error) {
	if receipt.TxID != "" {
		return receipt.TxID, nil
	}
	acc, err := p.cfg.Ledger.GetAccess(ctx, receipt.AccessID)
	if ledger.CodeOf(err) == model.CodeAccessNotFound {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if !sameAccess(acc, receipt.RequesterMSP, receipt.AuthorizationID, receipt.Digest) {
		return "", apiErr(http.StatusConflict, CodeAccessIDReused, "access id %s was used for another delivery; use a new access id", receipt.AccessID)
	}
	if err := p.cfg.Store.SetDeliveryTxID(ctx, receipt.AccessID, acc.TxID); err != nil {
		return "", err
	}
	return acc.TxID, nil
}

func sameAccess(acc *model.Access, requester, authID, digest string) bool {
	return acc.Requester == requester && acc.AuthorizationID == authID && acc.Digest == digest
}

// encryptionKey returns the requester's registered data-encryption key.
func encryptionKey(inst *model.Institution) (*ecdh.PublicKey, error) {
	if inst.EncryptionKey == "" {
		return nil, apiErr(http.StatusConflict, CodeEncryptionKeyMissing, "institution %s has not registered a data-encryption key", inst.MSPID)
	}
	pub, err := envelope.ParsePublicKey(inst.EncryptionKey)
	if err != nil {
		return nil, apiErr(http.StatusConflict, CodeEncryptionKeyMissing, "the data-encryption key registered by %s is not usable", inst.MSPID)
	}
	return pub, nil
}

// build loads the citizen's records of the categories within the
// authorised data range and builds the delivery: the records with their
// proofs, or only a predicate's answer.
func (p *ProviderAPI) build(ctx context.Context, a *model.Authorization, q DeliveryRequest, cats []string, pred *predicate) (vault.Delivery, error) {
	records, err := p.cfg.Store.RecordsFor(ctx, a.CitizenRef, cats, a.DataFrom, a.DataTo)
	if err != nil {
		return vault.Delivery{}, err
	}
	h := vault.DeliveryHeader{AccessID: q.AccessID, AuthorizationID: a.ID, Requester: a.Requester,
		Categories: cats, DataFrom: a.DataFrom, DataTo: a.DataTo}
	if pred != nil {
		facts, err := vault.DecodeFacts(records)
		if err != nil {
			return vault.Delivery{}, err
		}
		return vault.BuildPredicateDelivery(h, pred.code, pred.params, pred.answer(facts))
	}
	d, err := p.cfg.Builder.BuildDelivery(ctx, h, records)
	if errors.Is(err, vault.ErrNotBatched) || errors.Is(err, vault.ErrNotAnchored) {
		return vault.Delivery{}, apiErr(http.StatusServiceUnavailable, CodeDataNotReady, "some of the citizen's records are not anchored yet; retry later")
	}
	return d, err
}

// checkUsable refuses a delivery the chaincode would refuse, by the
// chaincode's own rule (model.Authorization.Usable, or Redeliverable for a
// delivery already made) and scope; the
// chaincode checks again when the access is recorded, and its answer is
// the one that counts.
func checkUsable(a *model.Authorization, requester *model.Institution, cats []string, now time.Time, redelivery bool) error {
	usable := a.Usable
	if redelivery {
		usable = a.Redeliverable
	}
	if err := usable(requester, now); err != nil {
		var me *model.Error
		if errors.As(err, &me) {
			return codeErr(me.Code, "%s", me.Message)
		}
		return err
	}
	if !a.Covers(cats) {
		return codeErr(model.CodeCategoryOutOfScope, "authorisation %s does not cover every requested category", a.ID)
	}
	return nil
}

// codeErr is an API error with a ledger code, and the status the ledger's
// code has.
func codeErr(code model.Code, format string, args ...any) error {
	status, ok := ledgerStatus[code]
	if !ok {
		status = http.StatusBadRequest
	}
	return apiErr(status, string(code), format, args...)
}
