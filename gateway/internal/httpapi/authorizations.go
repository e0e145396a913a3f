package httpapi

import (
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/peerlink"
	"github.com/quanchain/quanchain/internal/resident"
	"github.com/quanchain/quanchain/ledger"
)

// createAuthorizationRequest is the body of POST /v1/authorizations.
type createAuthorizationRequest struct {
	CitizenID  string   `json:"citizen_id"` // the applicant's ID number; never stored, logged or sent to the ledger
	Purpose    string   `json:"purpose"`
	Categories []string `json:"categories"`
	DataFrom   string   `json:"data_from"`
	DataTo     string   `json:"data_to"`
	ValidUntil string   `json:"valid_until"`
	MaxUses    int      `json:"max_uses"`
	Reference  string   `json:"reference"` // loan application or claim number; only its keyed hash reaches the ledger
}

// maxCategories bounds the category list of one request.
const maxCategories = 16

// Validate checks the request's form; messages never repeat the ID number.
func (q *createAuthorizationRequest) Validate(now time.Time) error {
	bad := func(format string, args ...any) error {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, format, args...)
	}
	q.CitizenID = resident.Normalise(q.CitizenID)
	if resident.Valid(q.CitizenID, time.Now()) != nil {
		return apiErr(http.StatusBadRequest, CodeInvalidIDNumber, "citizen_id is not a valid 18-character resident ID number")
	}
	if !model.ValidPurposeCode(q.Purpose) {
		return bad("purpose must be a purpose code such as CREDIT_ASSESSMENT")
	}
	if len(q.Categories) == 0 || len(q.Categories) > maxCategories {
		return bad("categories must list 1–%d category codes", maxCategories)
	}
	for i, c := range q.Categories {
		if !model.ValidCategoryCode(c) {
			return bad("categories[%d] is not a category code", i)
		}
		if slices.Contains(q.Categories[:i], c) {
			return bad("categories[%d] repeats %q", i, c)
		}
	}
	from, err1 := time.Parse(model.DateFormat, q.DataFrom)
	to, err2 := time.Parse(model.DateFormat, q.DataTo)
	if err1 != nil || err2 != nil {
		return bad("data_from and data_to must be dates (YYYY-MM-DD)")
	}
	if to.Before(from) {
		return bad("data_to is before data_from")
	}
	until, err := time.Parse(time.RFC3339, q.ValidUntil)
	if err != nil {
		return bad("valid_until must be an RFC 3339 time")
	}
	if !until.After(now) {
		return bad("valid_until must be in the future")
	}
	if q.MaxUses < 1 || q.MaxUses > 1000 {
		return bad("max_uses must be 1–1000")
	}
	if q.Reference == "" || len(q.Reference) > 128 || !utf8.ValidString(q.Reference) {
		return bad("reference must be 1–128 bytes of UTF-8")
	}
	return checkReference(q.Reference)
}

// createAuthorization asks the citizen for an authorisation: the request
// is checked against the purpose template, the reference becomes its hash
// keyed by this gateway's reference key (package reference), the ID number
// the citizenRef this organisation knows the citizen by (a lookup the
// operator records with this purpose and authorisation id), and the
// request is submitted.
func (s *Server) createAuthorization(w http.ResponseWriter, r *http.Request) error {
	var q createAuthorizationRequest
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	if err := q.Validate(s.Now()); err != nil {
		return err
	}
	ctx := r.Context()
	if err := s.checkPurpose(r, q.Purpose, q.Categories); err != nil {
		return err
	}
	// A reference that carries an ID number is refused before the
	// operator is asked for anything.
	refHash, err := s.referenceHash(q.Reference)
	if err != nil {
		return err
	}
	p, _ := auth.FromContext(ctx)
	id := authorizationID(p, idempotencyKeyFrom(ctx))
	ref, err := s.CitizenRefs.PairwiseRef(ctx, PseudonymQuery{IDNumber: q.CitizenID, Purpose: q.Purpose, AuthorizationID: id})
	var refused *peerlink.PseudonymRefusal
	if errors.Is(err, ErrPseudonymUnavailable) || errors.As(err, &refused) {
		s.log.WarnContext(ctx, "pseudonymisation failed", "request_id", requestIDFrom(ctx), "error", err.Error())
		return pseudonymUnavailable(w, err)
	}
	if err != nil {
		return err
	}
	req := model.AuthorizationRequest{
		ID: id, CitizenRef: ref, Purpose: q.Purpose,
		Categories: q.Categories, DataFrom: q.DataFrom, DataTo: q.DataTo, ValidUntil: q.ValidUntil,
		MaxUses: q.MaxUses, ReferenceHash: refHash,
		// Only a key enrolled with an ID token for this ID number (or
		// approved by one) may decide.
		Subject: model.SubjectDigest(s.MSPID, ref, q.CitizenID),
	}
	a, err := s.Ledger.RequestAuthorization(ctx, req)
	if ledger.CodeOf(err) == model.CodeAlreadyExists && idempotencyKeyFrom(ctx) != "" {
		// A retry of a request whose first attempt committed but was not
		// answered: the id derives from the key, so return what exists.
		a, err = s.Ledger.GetAuthorization(ctx, req.ID)
		if (err == nil && a.Requester != s.MSPID) || ledger.CodeOf(err) == model.CodeForbiddenMSP {
			err = apiErr(http.StatusConflict, string(model.CodeAlreadyExists), "authorisation id exists")
		}
	}
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/authorizations/"+a.ID)
	writeJSON(w, http.StatusCreated, a)
	return nil
}

// checkPurpose refuses unknown purposes and categories, and categories
// the purpose does not allow, before anything is submitted. The chaincode
// checks again: this only spares the ledger a doomed transaction. It
// takes the categories in the chaincode's order (sorted), so that of a
// category it does not know and one the purpose does not allow it names
// the one the chaincode would, whatever the order of the request.
func (s *Server) checkPurpose(r *http.Request, purpose string, cats []string) error {
	pur, err := s.Ledger.GetPurpose(r.Context(), purpose)
	if err != nil {
		return err
	}
	inst, err := s.institutions.Get(r.Context(), s.MSPID)
	if err != nil {
		return err
	}
	if !slices.Contains(pur.RequesterKinds, inst.Kind) {
		return apiErr(http.StatusForbidden, string(model.CodeForbiddenMSP),
			"purpose %s is not open to institutions of kind %s", purpose, inst.Kind)
	}
	for _, c := range slices.Sorted(slices.Values(cats)) {
		if slices.Contains(pur.AllowedCategories, c) {
			continue
		}
		if _, err := s.Ledger.GetCategory(r.Context(), c); err != nil {
			return err
		}
		return apiErr(http.StatusUnprocessableEntity, string(model.CodePurposeLimitExceeded),
			"purpose %s does not allow category %s", purpose, c)
	}
	return nil
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// authorizationID is "auth-" and 20 base32 characters: random, or, under
// an Idempotency-Key, derived from the client and the key, so a retry
// names the same authorisation.
func authorizationID(p *auth.Principal, idemKey string) string {
	if idemKey == "" || p == nil {
		return auth.RandomID("auth-")
	}
	sum := sha256.Sum256([]byte(p.MSPID + "\x00" + p.Subject + "\x00" + idemKey))
	return "auth-" + idEncoding.EncodeToString(sum[:13])[:20]
}

// getAuthorization returns one of this institution's authorisations;
// another institution's is "not found".
func (s *Server) getAuthorization(w http.ResponseWriter, r *http.Request) error {
	a, err := s.ownAuthorization(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) ownAuthorization(r *http.Request) (*model.Authorization, error) {
	id := chi.URLParam(r, "id")
	notFound := apiErr(http.StatusNotFound, string(model.CodeAuthNotFound), "no such authorisation")
	if !model.ValidID(id) {
		return nil, notFound
	}
	a, err := s.Ledger.GetAuthorization(r.Context(), id)
	if ledger.CodeOf(err) == model.CodeForbiddenMSP {
		// Another institution's: the chaincode does not show it to us.
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if a.Requester != s.MSPID {
		return nil, notFound
	}
	return a, nil
}

// withdrawAuthorization withdraws one of this institution's requests or
// authorisations.
func (s *Server) withdrawAuthorization(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.ownAuthorization(r); err != nil {
		return err
	}
	a, err := s.Ledger.Withdraw(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// authorizationList is the body of GET /v1/authorizations.
type authorizationList struct {
	Items      []model.Authorization `json:"items"`
	NextCursor string                `json:"next_cursor,omitempty"`
}

// listAuthorizations lists this institution's authorisations, optionally
// by status, a page at a time (cursor = the previous page's next_cursor).
func (s *Server) listAuthorizations(w http.ResponseWriter, r *http.Request) error {
	qs := r.URL.Query()
	for k := range qs {
		if k != "status" && k != "cursor" && k != "limit" {
			return apiErr(http.StatusBadRequest, CodeInvalidArgument, "unknown query parameter %q", k)
		}
	}
	q := ledger.ListQuery{Status: model.AuthStatus(qs.Get("status"))}
	if q.Status != "" && !q.Status.Valid() {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "status must be one of PENDING, GRANTED, DENIED, PAUSED, REVOKED, WITHDRAWN, EXPIRED, EXHAUSTED")
	}
	if err := ledgerPaging(qs, &q); err != nil {
		return err
	}
	page, err := s.Ledger.ListAuthorizationsByRequester(r.Context(), s.MSPID, q)
	if err != nil {
		return err
	}
	out := authorizationList{Items: page.Items, NextCursor: page.Bookmark}
	if out.Items == nil {
		out.Items = []model.Authorization{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ledgerPaging reads the cursor and the limit of a ledger listing into q.
func ledgerPaging(qs url.Values, q *ledger.ListQuery) error {
	q.Bookmark = qs.Get("cursor")
	if len(q.Bookmark) > 512 {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "cursor is not valid")
	}
	n, err := queryLimit(qs)
	q.PageSize = n
	return err
}

// queryLimit reads the limit parameter: 1–100, 0 if absent.
func queryLimit(qs url.Values) (int32, error) {
	l := qs.Get("limit")
	if l == "" {
		return 0, nil
	}
	n, ok := parseLimit(l)
	if !ok {
		return 0, apiErr(http.StatusBadRequest, CodeInvalidArgument, "limit must be 1–100")
	}
	return n, nil
}

func parseLimit(s string) (int32, bool) {
	if len(s) > 3 {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return int32(n), n >= 1 && n <= 100
}
