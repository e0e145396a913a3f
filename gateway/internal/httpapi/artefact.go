package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

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
	tok, err := s.Artefacts.Issue(r.Context(), a, s.Now())
	var refused *artefact.Error
	switch {
	case errors.Is(err, artefact.ErrNotDecided):
		return apiErr(http.StatusConflict, CodeAuthNotDecided, "the citizen has not decided on authorisation %s yet", a.ID)
	case errors.As(err, &refused) && refused.Code == artefact.CodeNotProvable:
		return apiErr(http.StatusConflict, CodeDecisionNotProvable, "the decision on authorisation %s cannot be proved offline: %s", a.ID, refused.Message)
	case err != nil:
		return err
	}
	w.Header().Set("Content-Type", ContentTypeJOSE)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(tok))
	return nil
}

// artefactKeys publishes the key that signs this institution's consent
// artefacts, as a JSON Web Key Set.
func (s *Server) artefactKeys(w http.ResponseWriter, _ *http.Request) error {
	if s.Artefacts == nil {
		return apiErr(http.StatusServiceUnavailable, CodeArtefactUnavailable, "this gateway issues no consent artefacts")
	}
	writeJSON(w, http.StatusOK, jws.KeySet{Keys: []json.RawMessage{s.Artefacts.PublishedKey()}})
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
