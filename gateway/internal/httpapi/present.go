package httpapi

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/peerlink"
	"github.com/quanchain/quanchain/gateway/internal/present"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/ledger"
)

// The citizen-present flow (package present). The institution's app asks
// its gateway for a consent link on a pending authorisation (POST
// /v1/authorizations/{id}/consent-link), naming one of the return URLs
// registered with its API client and its state. The requester's gateway
// asks the operator's for a ticket over mutual TLS (POST
// /internal/v1/present-tickets): the operator checks that the
// authorisation is the calling organisation's and pending and signs the
// ticket. The link opens the operator's consent app, which resolves the
// ticket (GET /citizen/v1/present/{ticket}) to the authorisation, the
// requester's name and the return URL, and after the decision sends the
// citizen back to the return URL with state, authorization_id and outcome.
var presentRoutes = []route{
	{method: "POST", pattern: "/v1/authorizations/{id}/consent-link", role: config.RoleRequester, auth: auth.KindInstitution, handle: (*Server).createConsentLink},
	{method: "POST", pattern: peerlink.PresentTicketsPath, role: config.RoleProvider, handle: (*Server).presentTicket},
	{method: "GET", pattern: "/citizen/v1/present/{ticket}", role: config.RoleProvider, handle: (*Server).citizenPresent},
}

// Error codes of the citizen-present flow.
const (
	// CodeReturnURLNotRegistered: the return URL is not one of the API
	// client's redirect_uris.
	CodeReturnURLNotRegistered = "RETURN_URL_NOT_REGISTERED"
	// CodeInvalidTicket: the consent link's ticket is malformed or not the
	// operator's.
	CodeInvalidTicket = "INVALID_TICKET"
	// CodeTicketExpired: the consent link is older than its ten minutes.
	CodeTicketExpired = "TICKET_EXPIRED"
	// CodeConsentLinksUnavailable: this gateway makes no consent links
	// (no operator app URL or ticket service), or the operator's cannot
	// be reached.
	CodeConsentLinksUnavailable = "CONSENT_LINKS_UNAVAILABLE"
)

// PresentTicketIssuer gets consent-link tickets from the operator's
// gateway; *peerlink.PresentTickets implements it.
type PresentTicketIssuer interface {
	PresentTicket(ctx context.Context, q peerlink.PresentTicketRequest) (peerlink.PresentTicketResponse, error)
}

// RedirectURIStore gives an API client's registered return URLs; the
// gateway's store adapter implements it.
type RedirectURIStore interface {
	RedirectURIs(ctx context.Context, clientID string) ([]string, error)
}

// ConsentLinks are a requester gateway's consent-link collaborators.
type ConsentLinks struct {
	// AppURL is the operator's consent app, such as
	// https://quanchain.example/app/ (config.OperatorAppURL).
	AppURL  string
	Clients RedirectURIStore
	Tickets PresentTicketIssuer
}

// consentLinkRequest is the body of POST /v1/authorizations/{id}/consent-link.
type consentLinkRequest struct {
	ReturnURL string `json:"return_url"`
	State     string `json:"state"`
}

// Validate checks the request's form.
func (q *consentLinkRequest) Validate() error {
	if !store.ValidRedirectURI(q.ReturnURL) {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "return_url must be an https URL registered with the API client")
	}
	if !present.ValidState(q.State) {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "state must be 1–%d printable ASCII characters", present.MaxStateLength)
	}
	return nil
}

// consentLink is the answer to POST /v1/authorizations/{id}/consent-link.
type consentLink struct {
	URL       string `json:"url"`
	QRPNG     string `json:"qr_png"` // base64 of the PNG
	ExpiresAt string `json:"expires_at"`
}

// createConsentLink makes the link that brings the applicant to the
// consent screen of one of this institution's pending authorisations and
// back to the institution's app.
func (s *Server) createConsentLink(w http.ResponseWriter, r *http.Request) error {
	p, ok := auth.FromContext(r.Context())
	if !ok {
		return &auth.Error{Code: auth.CodeInvalidToken, Reason: errors.New("consent link without a principal")}
	}
	if s.ConsentLinks == nil || s.ConsentLinks.AppURL == "" || s.ConsentLinks.Tickets == nil || s.ConsentLinks.Clients == nil {
		return apiErr(http.StatusServiceUnavailable, CodeConsentLinksUnavailable, "this gateway is not configured to make consent links")
	}
	var q consentLinkRequest
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	if err := q.Validate(); err != nil {
		return err
	}
	a, err := s.ownAuthorization(r)
	if err != nil {
		return err
	}
	if a.Status != model.AuthPending {
		return apiErr(http.StatusConflict, string(model.CodeAuthNotPending), "the authorisation is %s; only a pending request gets a consent link", a.Status)
	}
	uris, err := s.ConsentLinks.Clients.RedirectURIs(r.Context(), p.Subject)
	if err != nil {
		return err
	}
	if !slices.Contains(uris, q.ReturnURL) {
		return apiErr(http.StatusUnprocessableEntity, CodeReturnURLNotRegistered, "return_url is not one of the redirect_uris registered with this API client")
	}
	t, err := s.ConsentLinks.Tickets.PresentTicket(r.Context(), peerlink.PresentTicketRequest{AuthorizationID: a.ID, ReturnURL: q.ReturnURL, State: q.State})
	if err != nil {
		return ticketRefusal(err)
	}
	link := present.Link(s.ConsentLinks.AppURL, a.ID, t.Ticket)
	png, err := present.QRPNG(link)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, consentLink{URL: link, QRPNG: base64.StdEncoding.EncodeToString(png),
		ExpiresAt: t.ExpiresAt.UTC().Format(time.RFC3339)})
	return nil
}

// ticketRefusal maps the operator's answer to a ticket request: its
// refusals of the authorisation pass through, anything else is 503.
func ticketRefusal(err error) error {
	var own *Error
	if errors.As(err, &own) {
		return own // issued in process (localTickets)
	}
	var ref *peerlink.PseudonymRefusal
	if errors.As(err, &ref) {
		switch ref.Code {
		case string(model.CodeAuthNotFound):
			return apiErr(http.StatusNotFound, ref.Code, "no such authorisation")
		case string(model.CodeAuthNotPending):
			return apiErr(http.StatusConflict, ref.Code, "the authorisation is no longer pending")
		}
	}
	return apiErr(http.StatusServiceUnavailable, CodeConsentLinksUnavailable, "the operator's gateway did not issue a consent link; retry")
}

// presentTicket is the operator's ticket service: a requester's gateway,
// identified by its client certificate, asks for the ticket of one of its
// pending authorisations, vouching for the return URL.
func (s *Server) presentTicket(w http.ResponseWriter, r *http.Request) error {
	if s.Present == nil {
		return apiErr(http.StatusServiceUnavailable, CodeConsentLinksUnavailable, "this gateway issues no consent-link tickets")
	}
	caller, err := s.pseudonymCaller(r)
	if err != nil {
		return err
	}
	var q peerlink.PresentTicketRequest
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	if !model.ValidID(q.AuthorizationID) || !store.ValidRedirectURI(q.ReturnURL) || !present.ValidState(q.State) {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "authorization_id, an https return_url and a state of 1–%d printable characters are required", present.MaxStateLength)
	}
	t, err := s.issueTicket(r.Context(), caller, q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// issueTicket signs the ticket of q for requester caller, after checking
// that the authorisation is caller's and pending.
func (s *Server) issueTicket(ctx context.Context, caller string, q peerlink.PresentTicketRequest) (peerlink.PresentTicketResponse, error) {
	notFound := apiErr(http.StatusNotFound, string(model.CodeAuthNotFound), "no such authorisation")
	a, err := s.Ledger.GetAuthorization(ctx, q.AuthorizationID)
	if code := ledger.CodeOf(err); code == model.CodeAuthNotFound || code == model.CodeForbiddenMSP {
		return peerlink.PresentTicketResponse{}, notFound
	}
	if err != nil {
		return peerlink.PresentTicketResponse{}, err
	}
	if a.Requester != caller {
		return peerlink.PresentTicketResponse{}, notFound
	}
	if a.Status != model.AuthPending {
		return peerlink.PresentTicketResponse{}, apiErr(http.StatusConflict, string(model.CodeAuthNotPending), "the authorisation is %s", a.Status)
	}
	ticket, exp, err := s.Present.Mint(present.Ticket{AuthorizationID: a.ID, Requester: caller, ReturnURL: q.ReturnURL, State: q.State})
	if err != nil {
		return peerlink.PresentTicketResponse{}, err
	}
	return peerlink.PresentTicketResponse{Ticket: ticket, ExpiresAt: exp}, nil
}

// localTickets is the ticket service of a gateway that is the operator and
// a requester at once: it signs its own tickets in process.
type localTickets struct{ s *Server }

func (l localTickets) PresentTicket(ctx context.Context, q peerlink.PresentTicketRequest) (peerlink.PresentTicketResponse, error) {
	return l.s.issueTicket(ctx, l.s.MSPID, q)
}

// presentView is the answer to GET /citizen/v1/present/{ticket}: what the
// consent app shows before and after the decision. ReturnHost is shown
// plainly; the app builds the way back from ReturnURL and State only.
type presentView struct {
	AuthorizationID string `json:"authorization_id"`
	Requester       string `json:"requester"`
	RequesterName   string `json:"requester_name"`
	ReturnURL       string `json:"return_url"`
	ReturnHost      string `json:"return_host"`
	State           string `json:"state"`
	ExpiresAt       string `json:"expires_at"`
}

// citizenPresent resolves a consent link's ticket. It needs no login: the
// ticket is the link's own, and tells only which request the citizen is
// asked about and where they go back to.
func (s *Server) citizenPresent(w http.ResponseWriter, r *http.Request) error {
	if s.Present == nil {
		return apiErr(http.StatusServiceUnavailable, CodeConsentLinksUnavailable, "this gateway resolves no consent links")
	}
	t, err := s.Present.Open(chi.URLParam(r, "ticket"))
	if errors.Is(err, present.ErrExpiredTicket) {
		return apiErr(http.StatusGone, CodeTicketExpired, "this consent link has expired; ask the institution for a new one")
	}
	if err != nil {
		return apiErr(http.StatusNotFound, CodeInvalidTicket, "this is not a valid consent link")
	}
	u, err := url.Parse(t.ReturnURL)
	if err != nil {
		return apiErr(http.StatusNotFound, CodeInvalidTicket, "this is not a valid consent link")
	}
	v := presentView{AuthorizationID: t.AuthorizationID, Requester: t.Requester, RequesterName: t.Requester,
		ReturnURL: t.ReturnURL, ReturnHost: u.Host, State: t.State, ExpiresAt: t.ExpiresAt.Format(time.RFC3339)}
	if inst, err := s.institutions.Get(r.Context(), t.Requester); err == nil && inst.Name != "" {
		v.RequesterName = inst.Name
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, v)
	return nil
}
