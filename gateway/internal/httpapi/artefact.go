package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/chaincode/sig"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/internal/artefact"
	"github.com/quanchain/quanchain/internal/jws"
)

// artefactRoutes are the consent artefact and the key that signs it
// (requester role), and the key that signs the provider's deliveries
// (provider role, on both listeners).
var artefactRoutes = []route{
	{method: "GET", pattern: "/provider/v1/keys/delivery", role: config.RoleProvider, handle: (*Server).deliveryKeys},
	{method: "GET", pattern: "/v1/authorizations/{id}/artefact", role: config.RoleRequester, auth: auth.KindInstitution, handle: (*Server).getArtefact},
	{method: "GET", pattern: "/v1/keys/artefact", role: config.RoleRequester, handle: (*Server).artefactKeys},
}

// Error codes of the consent artefact.
const (
	CodeArtefactUnavailable = "ARTEFACT_UNAVAILABLE"
	CodeAuthNotDecided      = "AUTH_NOT_DECIDED"
	CodeDecisionNotProvable = "DECISION_NOT_PROVABLE"
)

// ContentTypeJOSE is the media type of a compact JWS (RFC 7515 §9.2.1).
const ContentTypeJOSE = "application/jose"

// ArtefactLedger is what the artefact reads besides the authorisation:
// the citizen's device keys in the requester's records; *ledger.Ledger
// implements it.
type ArtefactLedger interface {
	GetCitizen(ctx context.Context, requester, citizenRef string) (*model.Citizen, error)
}

// TxBlocks gives the number of the block that holds a committed
// transaction (qscc GetBlockByTxID on the gateway's own peer).
type TxBlocks interface {
	TxBlock(ctx context.Context, txID string) (uint64, error)
}

// ArtefactAPI issues consent artefacts (requester role, NewArtefactAPI).
type ArtefactAPI struct {
	ledger  ArtefactLedger
	blocks  TxBlocks
	signer  *jws.Signer
	channel string
}

// NewArtefactAPI returns the artefact API: l and blocks read the
// gateway's own peer on channel; signer is the institution's artefact
// signing key.
func NewArtefactAPI(l ArtefactLedger, blocks TxBlocks, signer *jws.Signer, channel string) (*ArtefactAPI, error) {
	if l == nil || blocks == nil || signer == nil || channel == "" {
		return nil, errors.New("httpapi: the artefact API needs a ledger, blocks, a signer and the channel")
	}
	return &ArtefactAPI{ledger: l, blocks: blocks, signer: signer, channel: channel}, nil
}

// getArtefact returns the consent artefact of one of this institution's
// authorisations: a compact JWS over the authorisation, the citizen's
// last decision on it with the device key that signed it, and the
// decision's block. Another institution's authorisation is "not found",
// as for GET /v1/authorizations/{id}.
func (s *Server) getArtefact(w http.ResponseWriter, r *http.Request) error {
	if s.Artefacts == nil {
		return apiErr(http.StatusServiceUnavailable, CodeArtefactUnavailable, "this gateway issues no consent artefacts")
	}
	a, err := s.ownAuthorization(r)
	if err != nil {
		return err
	}
	tok, err := s.Artefacts.issue(r.Context(), a, s.Now())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", ContentTypeJOSE)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(tok))
	return nil
}

// issue builds, signs and checks the artefact of a's last decision. The
// registry's terms in it are those the citizen signed, which the chaincode
// checked against the registry when it accepted the decision.
func (x *ArtefactAPI) issue(ctx context.Context, a *model.Authorization, now time.Time) (string, error) {
	d := a.LastDecision
	if d == nil {
		return "", apiErr(http.StatusConflict, CodeAuthNotDecided, "the citizen has not decided on authorisation %s yet", a.ID)
	}
	unprovable := func(format string, args ...any) error {
		return apiErr(http.StatusConflict, CodeDecisionNotProvable, "the decision on authorisation %s cannot be proved offline: %s", a.ID, fmt.Sprintf(format, args...))
	}
	payload, err := sig.DecodeBase64(d.Payload)
	if err != nil {
		return "", unprovable("its payload is not base64")
	}
	p, err := model.ParseDecisionPayload(payload)
	if err != nil {
		return "", unprovable("its payload is not a version-2 decision payload")
	}
	c, err := x.ledger.GetCitizen(ctx, a.Requester, a.CitizenRef)
	if err != nil {
		return "", err
	}
	key, found, _ := c.ActiveKey(d.KeyID) // a key revoked since still signed it
	if !found {
		return "", unprovable("device key %s is not in %s's records", d.KeyID, a.Requester)
	}
	block, err := x.blocks.TxBlock(ctx, d.TxID)
	if err != nil {
		return "", err
	}
	art, err := artefact.New(x.channel, a, artefact.SignedTerms(p), key, block, now)
	if err != nil {
		return "", err
	}
	tok, err := art.Sign(x.signer)
	if err != nil {
		return "", err
	}
	// Never hand out an artefact that its own check refuses.
	if _, err := artefact.Verify(tok); err != nil {
		return "", unprovable("%v", err)
	}
	return tok, nil
}

// artefactKeys publishes the key that signs this institution's consent
// artefacts, as a JSON Web Key Set.
func (s *Server) artefactKeys(w http.ResponseWriter, _ *http.Request) error {
	if s.Artefacts == nil {
		return apiErr(http.StatusServiceUnavailable, CodeArtefactUnavailable, "this gateway issues no consent artefacts")
	}
	writeJSON(w, http.StatusOK, jws.KeySet{Keys: []json.RawMessage{s.Artefacts.signer.PublishedKey()}})
	return nil
}

// deliveryKeys publishes the key that signs the provider's deliveries, as
// a JSON Web Key Set.
func (s *Server) deliveryKeys(w http.ResponseWriter, _ *http.Request) error {
	if s.Provider == nil {
		return apiErr(http.StatusServiceUnavailable, CodeProviderUnavailable, "this gateway serves no deliveries")
	}
	writeJSON(w, http.StatusOK, s.Provider.DeliveryKeys())
	return nil
}
