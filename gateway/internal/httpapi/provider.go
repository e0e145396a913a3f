package httpapi

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/exchange"
	"github.com/quanchain/quanchain/gateway/internal/peerlink"
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

// Error codes of data exchange (the exchange's own are exchange.Code…).
const (
	CodeClientCertRequired  = "CLIENT_CERT_REQUIRED"
	CodeProviderUnavailable = exchange.CodeProviderUnavailable
	CodeDeliveryUnverified  = exchange.CodeDeliveryUnverified
	codeProviderAPIUnset    = "PROVIDER_API_UNAVAILABLE"
	codeDataRequestsUnset   = "DATA_REQUESTS_UNAVAILABLE"
	codeVerificationsUnset  = "VERIFICATIONS_UNAVAILABLE"
)

// providerDeliveriesPattern is the provider API's one route.
const providerDeliveriesPattern = peerlink.DeliveriesPath

func (s *Server) providerAPI() (*exchange.Provider, error) {
	if s.Provider == nil || s.PeerMSP == nil {
		return nil, apiErr(http.StatusServiceUnavailable, codeProviderAPIUnset, "the provider API is not configured on this gateway")
	}
	return s.Provider, nil
}

// peerCaller returns the provider and the organisation of the member
// gateway calling it, read from its verified client certificate, and
// records the caller in the access log.
func (s *Server) peerCaller(r *http.Request) (*exchange.Provider, string, error) {
	p, err := s.providerAPI()
	if err != nil {
		return nil, "", err
	}
	caller, err := s.PeerMSP(r)
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

// providerDeliver serves an authorised delivery to the calling gateway:
// decode → the exchange's checks and the access on the ledger → the
// encrypted delivery.
func (s *Server) providerDeliver(w http.ResponseWriter, r *http.Request) error {
	p, caller, err := s.peerCaller(r)
	if err != nil {
		return err
	}
	var q exchange.DeliveryRequest
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	out, err := p.Deliver(r.Context(), caller, q, s.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
