package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/exchange"
	"github.com/quanchain/quanchain/gateway/internal/peerlink"
	"github.com/quanchain/quanchain/ledger"
)

// institutionDataRoutes are the institution API's reads that spend no use:
// which authorised categories hold data (answered by the operator's
// provider API over mutual TLS), the institution's own deliveries from the
// ledger, and the record schemas (schemas.go).
var institutionDataRoutes = []route{
	{method: "POST", pattern: peerlink.AvailabilityPath, role: config.RoleProvider, handle: (*Server).providerAvailability},
	{method: "GET", pattern: "/v1/data-availability", role: config.RoleRequester, auth: auth.KindInstitution, handle: (*Server).dataAvailability},
	{method: "GET", pattern: "/v1/accesses", role: config.RoleRequester, auth: auth.KindInstitution, handle: (*Server).listAccesses},
	{method: "GET", pattern: "/v1/schemas", role: config.RoleRequester, auth: auth.KindInstitution, handle: (*Server).listSchemas},
	{method: "GET", pattern: "/v1/schemas/{category}", role: config.RoleRequester, auth: auth.KindInstitution, handle: (*Server).getSchema},
}

// providerAvailability answers the calling member gateway which
// categories of its authorisation hold data (exchange.Provider.Availability).
func (s *Server) providerAvailability(w http.ResponseWriter, r *http.Request) error {
	p, caller, err := s.peerCaller(r)
	if err != nil {
		return err
	}
	var q exchange.AvailabilityRequest
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	out, err := p.Availability(r.Context(), caller, q, s.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// dataAvailability answers GET /v1/data-availability?authorization_id=&categories=a,b:
// one yes/no per category asked about (all the authorisation's if none),
// from the operator, under one of this institution's usable
// authorisations, spending no use.
func (s *Server) dataAvailability(w http.ResponseWriter, r *http.Request) error {
	rq, err := s.dataRequests()
	if err != nil {
		return err
	}
	qs := r.URL.Query()
	if err := onlyParams(qs, "authorization_id", "categories"); err != nil {
		return err
	}
	id := qs.Get("authorization_id")
	if !model.ValidID(id) {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "authorization_id is not a valid id")
	}
	var cats []string
	if c := qs.Get("categories"); c != "" {
		cats = strings.Split(c, ",")
	} else {
		a, err := s.ownAuthorizationByID(r, id)
		if err != nil {
			return err
		}
		cats = a.Categories
	}
	out, err := rq.Availability(r.Context(), id, cats)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// onlyParams refuses a query with a parameter not in names, or one given
// twice.
func onlyParams(qs map[string][]string, names ...string) error {
	for k, v := range qs {
		known := false
		for _, n := range names {
			known = known || k == n
		}
		if !known {
			return apiErr(http.StatusBadRequest, CodeInvalidArgument, "unknown query parameter %q", k)
		}
		if len(v) != 1 {
			return apiErr(http.StatusBadRequest, CodeInvalidArgument, "query parameter %q is repeated", k)
		}
	}
	return nil
}

// ownAuthorizationByID is ownAuthorization for an id from the query.
func (s *Server) ownAuthorizationByID(r *http.Request, id string) (*model.Authorization, error) {
	a, err := s.Ledger.GetAuthorization(r.Context(), id)
	if ledger.CodeOf(err) == model.CodeForbiddenMSP || (err == nil && a.Requester != s.MSPID) {
		return nil, apiErr(http.StatusNotFound, string(model.CodeAuthNotFound), "no such authorisation")
	}
	return a, err
}

// accessView is one delivery as GET /v1/accesses lists it: what the
// institution needs to match its deliveries with the ledger, nothing about
// the citizen.
type accessView struct {
	AccessID        string   `json:"access_id"`
	AuthorizationID string   `json:"authorization_id"`
	Categories      []string `json:"categories"`
	Mode            string   `json:"mode"`
	Predicate       string   `json:"predicate,omitempty"`
	Digest          string   `json:"digest"`
	UseNumber       int      `json:"use_number"`
	AccessedAt      string   `json:"accessed_at"`
	TxID            string   `json:"tx_id"`
}

// accessList is the body of GET /v1/accesses.
type accessList struct {
	Items      []accessView `json:"items"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

// listAccesses lists this institution's deliveries from its own peer,
// oldest first, a page at a time: since and until (RFC 3339, inclusive)
// bound the access time; cursor is the previous page's next_cursor.
func (s *Server) listAccesses(w http.ResponseWriter, r *http.Request) error {
	qs := r.URL.Query()
	if err := onlyParams(qs, "since", "until", "cursor", "limit"); err != nil {
		return err
	}
	q := ledger.ListQuery{Since: qs.Get("since"), Until: qs.Get("until")}
	for _, t := range []string{q.Since, q.Until} {
		if _, err := time.Parse(time.RFC3339, t); t != "" && err != nil {
			return apiErr(http.StatusBadRequest, CodeInvalidArgument, "since and until must be RFC 3339 times")
		}
	}
	if err := ledgerPaging(qs, &q); err != nil {
		return err
	}
	page, err := s.Ledger.ListAccessesByRequester(r.Context(), s.MSPID, q)
	if err != nil {
		return err
	}
	out := accessList{Items: []accessView{}, NextCursor: page.Bookmark}
	for _, a := range page.Items {
		if a.Requester != s.MSPID {
			continue // never another institution's, whatever the peer answers
		}
		out.Items = append(out.Items, accessView{AccessID: a.ID, AuthorizationID: a.AuthorizationID, Categories: a.Categories,
			Mode: a.Mode, Predicate: a.Predicate, Digest: a.Digest, UseNumber: a.UseNumber, AccessedAt: a.AccessedAt, TxID: a.TxID})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
