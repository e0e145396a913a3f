package httpapi

import (
	"net/http"
	"time"
)

// citizenLookup is one entry of GET /citizen/v1/lookups: an institution
// turned the citizen's ID number into its own ref for them, for a purpose
// and an authorisation it was about to ask for.
type citizenLookup struct {
	Requester       string `json:"requester"`                // MSP ID
	RequesterName   string `json:"requester_name,omitempty"` // from the registry, when it answers
	Purpose         string `json:"purpose"`
	AuthorizationID string `json:"authorization_id"`
	LookedUpAt      string `json:"looked_up_at"` // RFC 3339, UTC
}

// citizenLookupList is the body of GET /citizen/v1/lookups.
type citizenLookupList struct {
	Items []citizenLookup `json:"items"`
}

// Limits of GET /citizen/v1/lookups.
const (
	defaultCitizenLookups = 50
	maxCitizenLookups     = 100
)

// citizenLookups lists who looked the calling citizen up through the
// pseudonym service, newest first: the institution, the purpose and the
// authorisation it stated, and when. The refs themselves are not shown.
func (s *Server) citizenLookups(w http.ResponseWriter, r *http.Request) error {
	_, ref, err := s.citizenCaller(r)
	if err != nil {
		return err
	}
	qs := r.URL.Query()
	for k := range qs {
		if k != "limit" {
			return apiErr(http.StatusBadRequest, CodeInvalidArgument, "unknown query parameter %q", k)
		}
	}
	limit := defaultCitizenLookups
	if l := qs.Get("limit"); l != "" {
		n, ok := parseLimit(l)
		if !ok || int(n) > maxCitizenLookups {
			return apiErr(http.StatusBadRequest, CodeInvalidArgument, "limit must be 1–%d", maxCitizenLookups)
		}
		limit = int(n)
	}
	if s.PseudonymLog == nil {
		return apiErr(http.StatusServiceUnavailable, CodeCitizenUnavailable, "the pseudonym lookups are not available on this gateway")
	}
	lookups, err := s.PseudonymLog.PseudonymLookups(r.Context(), ref, limit)
	if err != nil {
		return err
	}
	out := citizenLookupList{Items: make([]citizenLookup, 0, len(lookups))}
	for _, l := range lookups {
		item := citizenLookup{Requester: l.RequesterMSP, Purpose: l.Purpose, AuthorizationID: l.AuthorizationID,
			LookedUpAt: l.LookedUpAt.UTC().Format(time.RFC3339)}
		if inst, err := s.institutions.Get(r.Context(), l.RequesterMSP); err == nil {
			item.RequesterName = inst.Name
		}
		out.Items = append(out.Items, item)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
