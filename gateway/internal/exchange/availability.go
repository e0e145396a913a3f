package exchange

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/ledger"
)

// Data availability: before it spends a use, an institution may ask which
// of the categories it was authorised for hold data in the authorised
// range. The answer is one yes/no per category — never a value, a count or
// a date — and it is given only under an authorisation that would serve a
// delivery now (granted, within its validity, uses left, the institution
// active) and that covers every category asked about. That is what the
// citizen authorised the institution to learn: a delivery of the same
// categories would show the same, and more. Nothing is written to the
// ledger and no use is spent; the provider logs each answer (ids only).
//
//	Requester.Availability → AvailabilityClient.Availability ─(mutual TLS)→ Provider.Availability
//	                                                                        ├ ledger: authorisation, institution
//	                                                                        └ safe: is there a record? per category

// AvailabilityRequest is what a requester gateway asks the provider: which
// of these categories of an authorisation hold data in its data range.
type AvailabilityRequest struct {
	AuthorizationID string   `json:"authorization_id"`
	Categories      []string `json:"categories"`
}

// CategoryAvailability is the answer for one category.
type CategoryAvailability struct {
	Category  string `json:"category"`
	Available bool   `json:"available"`
}

// AvailabilityResponse is the provider's answer, one entry per category
// asked about, in category order, with the authorised range it refers to.
type AvailabilityResponse struct {
	AuthorizationID string                 `json:"authorization_id"`
	DataFrom        string                 `json:"data_from"`
	DataTo          string                 `json:"data_to"`
	Categories      []CategoryAvailability `json:"categories"`
}

// AvailabilityClient asks the operator's provider about availability;
// peerlink.ProviderClient implements it. A Requester whose ProviderClient
// does not implement it answers PROVIDER_UNAVAILABLE.
type AvailabilityClient interface {
	Availability(ctx context.Context, req AvailabilityRequest) (*AvailabilityResponse, error)
}

// CodeAvailabilityNotOffered refuses an availability question about a
// category it is not answered for (see noAvailability).
const CodeAvailabilityNotOffered = "AVAILABILITY_NOT_OFFERED"

// noAvailability are the categories whose mere holding of a record is the
// fact itself: a death registration in the range says the citizen died in
// it — what a DECEASED_BEFORE answer says, which spends a use and shows in
// the citizen's history. Availability, which does neither, is not
// answered for them.
var noAvailability = map[string]bool{model.CategoryDeathRegistration: true}

// Validate checks the request's form and returns its categories, sorted.
func (q *AvailabilityRequest) Validate() ([]string, error) {
	t, err := CheckTerms(q.AuthorizationID, q.Categories, model.ModeRecords, nil)
	return t.Categories, err
}

// Availability answers caller (the requesting organisation, from its
// verified client certificate) which categories of q hold data in the
// authorised range, under the checks a delivery gets: the authorisation is
// caller's, usable now, and covers every category. It writes nothing and
// spends no use.
func (p *Provider) Availability(ctx context.Context, caller string, q AvailabilityRequest, now time.Time) (*AvailabilityResponse, error) {
	cats, err := q.Validate()
	if err != nil {
		return nil, err
	}
	for _, c := range cats {
		if noAvailability[c] {
			return nil, refuse(CodeAvailabilityNotOffered, "availability is not answered for %s: holding a record is the fact itself; ask with a data request", c)
		}
	}
	l := p.cfg.Ledger
	a, err := l.GetAuthorization(ctx, q.AuthorizationID)
	if err != nil {
		return nil, err
	}
	if a.Requester != caller {
		return nil, refuse(string(model.CodeRequesterMismatch), "authorisation %s was not granted to %s", a.ID, caller)
	}
	requester, err := l.GetInstitution(ctx, caller)
	if err != nil {
		return nil, err
	}
	if err := a.Usable(requester, now); err != nil {
		return nil, refuseModel(err)
	}
	if err := (Terms{Categories: cats}).Within(a); err != nil {
		return nil, err
	}
	vaultRef, err := p.cfg.Store.VaultRefFor(ctx, a.Requester, a.CitizenRef)
	if errors.Is(err, store.ErrNotFound) {
		return nil, refuse(CodeCitizenRefUnknown, "authorisation %s names a citizenRef the operator never gave %s", a.ID, a.Requester)
	}
	if err != nil {
		return nil, err
	}
	records, err := p.cfg.Store.RecordsFor(ctx, vaultRef, cats, a.DataFrom, a.DataTo)
	if err != nil {
		return nil, err
	}
	held := map[string]bool{}
	for _, r := range records {
		if !r.Revoked {
			held[r.Category] = true
		}
	}
	out := &AvailabilityResponse{AuthorizationID: a.ID, DataFrom: a.DataFrom, DataTo: a.DataTo}
	for _, c := range cats {
		out.Categories = append(out.Categories, CategoryAvailability{Category: c, Available: held[c]})
	}
	p.cfg.Log.InfoContext(ctx, "availability answered", slog.String("authorization_id", a.ID),
		slog.String("requester", caller), slog.Int("categories", len(cats)))
	return out, nil
}

// Availability asks the provider which of cats hold data in the range of
// one of this institution's authorisations. The authorisation is read
// from this gateway's own peer first, so another institution's is refused
// here (REQUESTER_MISMATCH) without asking the provider; its state is the
// provider's to check, as for a delivery.
func (r *Requester) Availability(ctx context.Context, authID string, cats []string) (*AvailabilityResponse, error) {
	q := AvailabilityRequest{AuthorizationID: authID, Categories: cats}
	sorted, err := q.Validate()
	if err != nil {
		return nil, err
	}
	a, err := r.cfg.Ledger.GetAuthorization(ctx, authID)
	if ledger.CodeOf(err) == model.CodeForbiddenMSP {
		return nil, refuse(string(model.CodeRequesterMismatch), "authorisation %s was not granted to %s", authID, r.cfg.MSPID)
	}
	if err != nil {
		return nil, err
	}
	if a.Requester != r.cfg.MSPID {
		return nil, refuse(string(model.CodeRequesterMismatch), "authorisation %s was not granted to %s", a.ID, r.cfg.MSPID)
	}
	if err := (Terms{Categories: sorted}).Within(a); err != nil {
		return nil, err
	}
	ac, ok := r.cfg.Provider.(AvailabilityClient)
	if !ok {
		return nil, refuse(CodeProviderUnavailable, "the provider client cannot ask about availability")
	}
	q.Categories = sorted
	out, err := ac.Availability(ctx, q)
	if err != nil {
		return nil, r.providerFailure(ctx, err)
	}
	if err := checkAvailability(out, a, sorted); err != nil {
		r.cfg.Log.ErrorContext(ctx, "provider availability answer", slog.String("error", err.Error()))
		return nil, refuse(CodeProviderError, "the provider's answer does not match the question")
	}
	return out, nil
}

// checkAvailability checks that the provider answered exactly the
// question: this authorisation, its range, each category once, in order.
func checkAvailability(out *AvailabilityResponse, a *model.Authorization, cats []string) error {
	if out.AuthorizationID != a.ID || out.DataFrom != a.DataFrom || out.DataTo != a.DataTo || len(out.Categories) != len(cats) {
		return errors.New("availability answer names another authorisation, range or number of categories")
	}
	for i, c := range out.Categories {
		if c.Category != cats[i] {
			return errors.New("availability answer names other categories")
		}
	}
	return nil
}
