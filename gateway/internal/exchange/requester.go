package exchange

import (
	"context"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/vault"
	"github.com/quanchain/quanchain/ledger"
)

// RequesterLedger is what the requester needs from the chaincode, read
// from its own peer; *ledger.Ledger implements it.
type RequesterLedger interface {
	GetAuthorization(ctx context.Context, id string) (*model.Authorization, error)
	GetInstitution(ctx context.Context, mspID string) (*model.Institution, error)
	GetAccess(ctx context.Context, id string) (*model.Access, error)
	// WaitForCommit returns once transaction txID has committed on this
	// gateway's peer (TX_CONFLICT or TX_INVALID if it committed invalid).
	WaitForCommit(ctx context.Context, txID string) error
	GetBatch(ctx context.Context, batchID string) (*model.BatchAnchor, error)
	VerifyProofs(ctx context.Context, proofs []model.ProofRequest) ([]model.Verification, error)
}

// ProviderClient calls the operator's provider; peerlink.ProviderClient
// is the production one (mutual TLS), tests may fake it.
type ProviderClient interface {
	Deliver(ctx context.Context, req DeliveryRequest) (*DeliveryResponse, error)
}

// ProviderError is the provider's refusal, as it answered: the HTTP status
// and the error body's code and message.
type ProviderError struct {
	Status  int
	Code    string
	Message string
	TxID    string
}

func (e *ProviderError) Error() string {
	return fmt.Sprintf("provider answered %d %s: %s", e.Status, e.Code, e.Message)
}

// ErrProviderResponse reports an answer of the provider that is not the
// protocol's (a body that does not decode, a redirect, …).
var ErrProviderResponse = errors.New("provider: unexpected response")

// RequesterConfig are the requester's collaborators.
type RequesterConfig struct {
	// MSPID is this gateway's organisation, the requester of its
	// authorisations.
	MSPID  string
	Ledger RequesterLedger
	// Provider calls the operator's provider API.
	Provider ProviderClient
	// Key is this institution's data-encryption private key, whose public
	// half is registered on the ledger (envelope.RegisterKey).
	Key *ecdh.PrivateKey
	// Log receives provider failures and failed verifications; nil
	// discards them.
	Log *slog.Logger
	// ProviderKeys gives the provider's published delivery-signing keys;
	// a delivery signed with another key is refused. Nil accepts any key
	// that verifies.
	ProviderKeys ProviderKeys
	// CommitWait bounds the wait for the provider's access transaction to
	// commit on this gateway's peer; zero means DefaultCommitWait.
	CommitWait time.Duration
}

// Requester fetches authorised data from the provider and verifies it
// against its own peer before handing it on.
type Requester struct {
	cfg  RequesterConfig
	keys *providerKeyCache
}

// NewRequester checks c and returns the requester.
func NewRequester(c RequesterConfig) (*Requester, error) {
	if c.MSPID == "" || c.Ledger == nil || c.Provider == nil || c.Key == nil {
		return nil, errors.New("exchange: the requester needs an MSPID, a Ledger, a Provider client and a Key")
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.CommitWait <= 0 {
		c.CommitWait = DefaultCommitWait
	}
	r := &Requester{cfg: c}
	if c.ProviderKeys != nil {
		r.keys = &providerKeyCache{src: c.ProviderKeys}
	}
	return r, nil
}

// Result is what a data request returns: what was delivered, every check
// passed. Records carry their bytes exactly as anchored, their hash and
// their Merkle proof with the record's salt; a predicate delivery carries
// only the answer. Delivery is exactly the delivered body and DigestSalt
// the salt of its digest: SHA-256(salt ‖ body) is the digest the ledger
// recorded for the access, so the institution can prove what it received.
// A provider that does not salt its digests yet sends no salt, and its
// digest is SHA-256(body).
type Result struct {
	AccessID        string                   `json:"access_id"`
	TxID            string                   `json:"tx_id"`
	AuthorizationID string                   `json:"authorization_id"`
	Mode            string                   `json:"mode"`
	Categories      []string                 `json:"categories"`
	DataFrom        string                   `json:"data_from"`
	DataTo          string                   `json:"data_to"`
	Digest          string                   `json:"digest"`
	DigestSalt      string                   `json:"digest_salt,omitempty"` // hex, 64 digits; absent from a provider that does not salt yet
	Delivery        []byte                   `json:"delivery"`              // the delivered body exactly (base64 in JSON)
	UseNumber       int                      `json:"use_number"`
	AccessedAt      string                   `json:"accessed_at"`
	Records         *[]vault.DeliveredRecord `json:"records,omitempty"`
	Predicate       *PredicateQuery          `json:"predicate,omitempty"`
	Answer          *bool                    `json:"answer,omitempty"`
	// ProviderSignature is the provider's signature on the delivery
	// (DeliveryClaims), checked: the institution's proof of origin.
	ProviderSignature string `json:"provider_signature,omitempty"`
	Verified          bool   `json:"verified"`
}

// Kept is what may be kept of an answered data request for a replay: the
// request as sent to the provider and the provider's answer, whose payload
// stays sealed to this gateway's key. Neither the records nor a
// predicate's answer are in it in the clear.
type Kept struct {
	Request  DeliveryRequest   `json:"request"`
	Delivery *DeliveryResponse `json:"delivery"`
}

// Fetch asks the provider for the data of one of this institution's
// authorisations under accessID, verifies the delivery against this
// gateway's own peer and returns it, with what to keep for a replay.
func (r *Requester) Fetch(ctx context.Context, accessID, authID string, cats []string, mode string, pq *PredicateQuery) (*Result, *Kept, error) {
	terms, err := CheckTerms(authID, cats, mode, pq)
	if err != nil {
		return nil, nil, err
	}
	a, err := r.cfg.Ledger.GetAuthorization(ctx, authID)
	if ledger.CodeOf(err) == model.CodeForbiddenMSP {
		// The chaincode shows an institution its own authorisations only.
		return nil, nil, refuse(string(model.CodeRequesterMismatch), "authorisation %s was not granted to %s", authID, r.cfg.MSPID)
	}
	if err != nil {
		return nil, nil, err
	}
	// What never changes is checked here; the state (granted, paused, uses
	// left, the institution active) is the provider's and the chaincode's
	// to check when they deliver: this gateway's peer may not have
	// committed the latest decision yet.
	if a.Requester != r.cfg.MSPID {
		return nil, nil, refuse(string(model.CodeRequesterMismatch), "authorisation %s was not granted to %s", a.ID, r.cfg.MSPID)
	}
	if err := terms.Within(a); err != nil {
		return nil, nil, err
	}
	req := DeliveryRequest{AccessID: accessID, AuthorizationID: a.ID, Categories: terms.Categories, Mode: mode, Predicate: pq}
	resp, err := r.cfg.Provider.Deliver(ctx, req)
	if err != nil {
		return nil, nil, r.providerFailure(ctx, err)
	}
	out, err := r.verify(ctx, a, req, terms, resp, false)
	if err != nil {
		return nil, nil, err
	}
	return out, &Kept{Request: req, Delivery: resp}, nil
}

// Replay answers a retry of an answered data request from what was kept.
//
// The data is handed out again only while the authorisation is usable, by
// the rule the chaincode records accesses by, the uses already counted
// aside (model.Authorization.Redeliverable), read now from this gateway's
// own peer. After a revocation, a pause, the end of the validity or the
// suspension of this institution, the retry is refused with the code a
// new request would get (409 AUTH_REVOKED, …; 403 INSTITUTION_INACTIVE),
// and the message names the access that answered the key. Otherwise the
// kept delivery is opened and verified again as when it arrived, so a
// record revoked since fails it.
func (r *Requester) Replay(ctx context.Context, kept Kept, now time.Time) (*Result, error) {
	if kept.Delivery == nil {
		return nil, errors.New("exchange: a kept data request holds no delivery")
	}
	terms, err := kept.Request.Validate()
	if err != nil {
		return nil, errors.New("exchange: a kept data request is not a valid request")
	}
	a, err := r.cfg.Ledger.GetAuthorization(ctx, kept.Request.AuthorizationID)
	if err != nil {
		return nil, err
	}
	inst, err := r.cfg.Ledger.GetInstitution(ctx, r.cfg.MSPID)
	if err != nil {
		return nil, err
	}
	if err := a.Redeliverable(inst, now); err != nil {
		var me *model.Error
		if !errors.As(err, &me) {
			return nil, err
		}
		return nil, refuse(string(me.Code), "%s; access %s (transaction %s) answered this Idempotency-Key and its data is not handed out again",
			me.Message, kept.Delivery.AccessID, kept.Delivery.TxID)
	}
	return r.verify(ctx, a, kept.Request, terms, kept.Delivery, true)
}

// idEncoding is the alphabet of derived access ids.
var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// AccessID is the access id of a data request made under an
// Idempotency-Key: "acc-" and 20 base32 characters derived from the
// institution, its API client and the key, so every retry names the same
// access and the ledger records at most one.
func AccessID(mspID, client, idemKey string) string {
	sum := sha256.Sum256([]byte("access\x00" + mspID + "\x00" + client + "\x00" + idemKey))
	return "acc-" + idEncoding.EncodeToString(sum[:13])[:20]
}

// providerFailure turns a failed call of the provider into the
// requester's answer: the provider's refusals (4xx) pass through with
// their code; its own failures are PROVIDER_ERROR; not reaching it is
// PROVIDER_UNAVAILABLE.
func (r *Requester) providerFailure(ctx context.Context, err error) error {
	var pe *ProviderError
	if errors.As(err, &pe) {
		switch {
		case pe.Status == http.StatusServiceUnavailable && pe.Code == CodeDataNotReady:
			return refuse(CodeDataNotReady, "the provider's records are not anchored yet; retry later")
		case pe.Status == http.StatusServiceUnavailable:
			return refuse(CodeProviderUnavailable, "the provider is unavailable (%s); retry later", pe.Code)
		case pe.Status == http.StatusUnauthorized || pe.Status >= 500 || pe.Status < 400:
			r.cfg.Log.ErrorContext(ctx, "provider failed", slog.Int("status", pe.Status), slog.String("code", pe.Code))
			return refuse(CodeProviderError, "the provider could not serve the request (%s)", pe.Code)
		}
		return &Error{Status: pe.Status, Code: pe.Code, Message: "the provider refused: " + pe.Message}
	}
	if errors.Is(err, ErrProviderResponse) {
		r.cfg.Log.ErrorContext(ctx, "provider answer", slog.String("error", err.Error()))
		return refuse(CodeProviderError, "the provider's answer is not a delivery")
	}
	r.cfg.Log.WarnContext(ctx, "provider unreachable", slog.String("error", err.Error()))
	return refuse(CodeProviderUnavailable, "the provider cannot be reached; retry later")
}
