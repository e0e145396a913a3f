package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/expiring"
	"github.com/quanchain/quanchain/gateway/internal/peerlink"
	"github.com/quanchain/quanchain/gateway/internal/ratelimit"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/vault"
	"github.com/quanchain/quanchain/internal/resident"
	"github.com/quanchain/quanchain/ledger"
)

// Pseudonyms. A citizen has one vault ref, the operator's own name for
// them (the digital safe's records and the citizen's login tokens), and one
// pairwise ref per requester, the citizenRef on that requester's
// authorisations (vault.Pseudonymiser). A requester gateway (bank,
// insurer) knows the applicant's ID number from the loan application or
// claim, so it asks the operator's gateway for its pairwise ref, stating
// the purpose and the authorisation it is for (peerlink.RemotePseudonymiser, POST
// /internal/v1/pseudonyms over mutual TLS). The operator answers only a
// registered, active bank or insurer calling with its gateway's client
// certificate, at most PseudonymLookupsPerMinute times a minute, and
// records every answer (store.PseudonymLookup): the provider finds the
// citizen of an authorisation through that record, and the citizen sees
// who looked them up (GET /citizen/v1/lookups). Requesters never receive
// the vault ref, nor one another's refs.

// RequesterPseudonymiser gives a requester gateway the citizenRef its own
// organisation knows a citizen by (the pairwise ref), for one purpose and
// authorisation: *peerlink.RemotePseudonymiser asks the operator's
// gateway; a gateway that holds the pseudonym key and plays both roles
// computes it in process (see Deps.CitizenRefs).
type RequesterPseudonymiser interface {
	PairwiseRef(ctx context.Context, q PseudonymQuery) (string, error)
}

// PseudonymQuery is a pseudonym lookup: the ID number, the purpose code and
// the authorisation id it is for.
type PseudonymQuery = peerlink.PseudonymRequest

// PseudonymLog records the pseudonym service's answers and lists a
// citizen's; *store.Store implements it.
type PseudonymLog interface {
	RecordPseudonymLookup(ctx context.Context, l store.PseudonymLookup) (store.PseudonymLookup, error)
	PseudonymLookups(ctx context.Context, vaultRef string, limit int) ([]store.PseudonymLookup, error)
}

var _ PseudonymLog = (*store.Store)(nil)

// ErrPseudonymUnavailable reports that no citizenRef could be obtained; the
// request is answered 503 PSEUDONYM_UNAVAILABLE.
var ErrPseudonymUnavailable = peerlink.ErrPseudonymUnavailable

// Error codes of the pseudonym service.
const (
	// CodeGatewayIdentityRequired: the client certificate is a member's,
	// but a node's (peer, orderer), not its gateway's client identity.
	CodeGatewayIdentityRequired = "GATEWAY_IDENTITY_REQUIRED"
	// CodePurposeRequired: a lookup without its purpose or authorisation.
	CodePurposeRequired = "PURPOSE_REQUIRED"
)

// DefaultPseudonymLookupsPerMinute is the pseudonym service's default
// limit per requesting institution.
const DefaultPseudonymLookupsPerMinute = 600

// pseudonymsPattern is the operator's pseudonym route, served on the
// mutual-TLS listener only (PeerHandler).
const pseudonymsPattern = peerlink.PseudonymsPath

type pseudonymRequest PseudonymQuery

// Validate checks the ID number (GB 11643), then that the lookup states its
// purpose and authorisation.
func (q *pseudonymRequest) Validate() error {
	q.IDNumber = resident.Normalise(q.IDNumber)
	if resident.Valid(q.IDNumber, time.Now()) != nil {
		return apiErr(http.StatusBadRequest, CodeInvalidIDNumber, "id_number is not a valid resident identity number")
	}
	if q.Purpose == peerlink.PurposeAudit {
		if !model.ValidMSPID(q.ForRequester) || !model.ValidID(q.CaseID) {
			return apiErr(http.StatusBadRequest, CodePurposeRequired,
				"an audit lookup names the requester whose citizenRef it needs (for_requester) and its case (case_id)")
		}
		return nil
	}
	if q.Purpose == "" || q.AuthorizationID == "" {
		return apiErr(http.StatusBadRequest, CodePurposeRequired,
			"a lookup states its purpose and the authorization_id of the authorisation it is for")
	}
	if !model.ValidPurposeCode(q.Purpose) {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "purpose must be a purpose code such as CREDIT_ASSESSMENT")
	}
	if !model.ValidID(q.AuthorizationID) {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "authorization_id is not a valid id")
	}
	return nil
}

type pseudonymResponse = peerlink.PseudonymResponse

// pseudonymState is the pseudonym service's own state: the limiter per
// requesting institution and the purposes, cached like the institutions.
type pseudonymState struct {
	perInstitution *ratelimit.Buckets
	purposes       *expiring.Cache[*model.Purpose]
}

func newPseudonymState(perMinute int, l Ledger) *pseudonymState {
	if perMinute < 1 {
		perMinute = DefaultPseudonymLookupsPerMinute
	}
	return &pseudonymState{perInstitution: ratelimit.NewBuckets(float64(perMinute)/60, perMinute),
		purposes: expiring.NewCache(time.Minute, l.GetPurpose)}
}

// pseudonymRef answers a member gateway's request for a citizen's pairwise
// ref: caller (organisation and role of its verified client certificate)
// → its limit → its registry entry → the request → the ref, recorded. The
// ID number is neither logged nor stored.
func (s *Server) pseudonymRef(w http.ResponseWriter, r *http.Request) error {
	caller, err := s.pseudonymCaller(r)
	if err != nil {
		return err
	}
	if wait, ok := s.pseudo.take(caller); !ok {
		return rateLimited(w, wait, fmt.Sprintf("too many pseudonym lookups by %s; slow down", caller))
	}
	ctx := r.Context()
	var q pseudonymRequest
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	if err := q.Validate(); err != nil {
		return err
	}
	if q.Purpose == peerlink.PurposeAudit {
		ref, err := s.auditLookup(ctx, caller, PseudonymQuery(q))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, pseudonymResponse{CitizenRef: ref})
		return nil
	}
	inst, err := s.requestingInstitution(ctx, caller)
	if err != nil {
		return err
	}
	pur, err := s.pseudo.purposes.Get(ctx, q.Purpose)
	if err != nil {
		return err
	}
	if !slices.Contains(pur.RequesterKinds, inst.Kind) {
		return apiErr(http.StatusForbidden, string(model.CodeForbiddenMSP),
			"purpose %s is not open to institutions of kind %s", q.Purpose, inst.Kind)
	}
	ref, err := s.issuePairwiseRef(ctx, caller, PseudonymQuery(q))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pseudonymResponse{CitizenRef: ref})
	return nil
}

// pseudonymCaller returns the organisation of the member gateway calling
// the pseudonym service, from its verified client certificate, which must
// be a client identity of that organisation, not one of its nodes'.
func (s *Server) pseudonymCaller(r *http.Request) (string, error) {
	if s.PeerMSP == nil {
		return "", apiErr(http.StatusServiceUnavailable, CodePseudonymUnavailable, "the pseudonym service is not configured on this gateway")
	}
	caller, err := s.PeerMSP(r)
	if err != nil || !model.ValidMSPID(caller) || r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return "", apiErr(http.StatusUnauthorized, CodeClientCertRequired, "a verified client certificate of a member organisation is required")
	}
	if ri, ok := r.Context().Value(reqInfoKey{}).(*reqInfo); ok {
		ri.client = caller
	}
	if err := peerlink.GatewayIdentity(r.TLS.PeerCertificates[0]); err != nil {
		return "", apiErr(http.StatusForbidden, CodeGatewayIdentityRequired,
			"the client certificate is not a client identity of %s's gateway (a peer's or an orderer's is not)", caller)
	}
	return caller, nil
}

// requestingInstitution returns the registry entry of caller if it is an
// active institution of a kind that may request data; its entry is cached
// for a minute, like every registry entry the gateway checks before the
// chaincode does.
func (s *Server) requestingInstitution(ctx context.Context, caller string) (*model.Institution, error) {
	inst, err := s.institutions.Get(ctx, caller)
	if ledger.CodeOf(err) == model.CodeInstitutionNotFound {
		return nil, apiErr(http.StatusForbidden, string(model.CodeForbiddenMSP), "%s is not a registered institution", caller)
	}
	if err != nil {
		return nil, err
	}
	if !inst.Kind.MayRequest() {
		return nil, apiErr(http.StatusForbidden, string(model.CodeForbiddenMSP),
			"institutions of kind %s do not request citizens' data", inst.Kind)
	}
	if inst.Status != model.StatusActive {
		return nil, apiErr(http.StatusForbidden, string(model.CodeInstitutionInactive), "institution %s is %s", caller, inst.Status)
	}
	return inst, nil
}

// auditLookup answers an auditor's lookup: the ref the named requester
// knows the citizen by, recorded as the auditor's, for its case, so the
// citizen's tracker shows that the auditor looked.
func (s *Server) auditLookup(ctx context.Context, caller string, q PseudonymQuery) (string, error) {
	inst, err := s.institutions.Get(ctx, caller)
	if ledger.CodeOf(err) == model.CodeInstitutionNotFound {
		return "", apiErr(http.StatusForbidden, string(model.CodeForbiddenMSP), "%s is not a registered institution", caller)
	}
	if err != nil {
		return "", err
	}
	if inst.Kind != model.KindAuditor {
		return "", apiErr(http.StatusForbidden, string(model.CodeForbiddenMSP), "only an auditor makes lookups for purpose %s", peerlink.PurposeAudit)
	}
	if inst.Status != model.StatusActive {
		return "", apiErr(http.StatusForbidden, string(model.CodeInstitutionInactive), "institution %s is %s", caller, inst.Status)
	}
	target, err := s.institutions.Get(ctx, q.ForRequester)
	if err != nil || !target.Kind.MayRequest() {
		return "", apiErr(http.StatusBadRequest, CodeInvalidArgument, "for_requester %s is not a requesting institution", q.ForRequester)
	}
	q.AuthorizationID = q.CaseID
	return s.issueRef(ctx, caller, q.ForRequester, q)
}

// take counts one lookup of caller; if it is over its limit, it returns
// false and how long until its next lookup is allowed.
func (p *pseudonymState) take(caller string) (wait time.Duration, ok bool) {
	ok, wait = p.perInstitution.Take(caller)
	return wait, ok
}

// issuePairwiseRef computes the pairwise ref of requester for q's citizen
// and records the lookup; without the record there is no answer. It is the
// one path of the pseudonym service and of a gateway that plays both
// roles.
func (s *Server) issuePairwiseRef(ctx context.Context, requester string, q PseudonymQuery) (string, error) {
	return s.issueRef(ctx, requester, requester, q)
}

// issueRef computes the ref forRequester knows q's citizen by and records
// the lookup as caller's (vault.Pseudonymiser.IssueRef).
func (s *Server) issueRef(ctx context.Context, caller, forRequester string, q PseudonymQuery) (string, error) {
	if s.Pseudonyms == nil || s.PseudonymLog == nil {
		return "", apiErr(http.StatusServiceUnavailable, CodePseudonymUnavailable, "this gateway does not hold the pseudonym key or cannot record lookups")
	}
	ref, err := s.Pseudonyms.IssueRef(ctx, s.PseudonymLog, vault.Lookup{Caller: caller, ForRequester: forRequester,
		IDNumber: q.IDNumber, Purpose: q.Purpose, AuthorizationID: q.AuthorizationID, At: s.Now()})
	switch {
	case errors.Is(err, vault.ErrLookupNotRecorded):
		s.log.ErrorContext(ctx, "pseudonym lookup not recorded", slog.String("request_id", requestIDFrom(ctx)),
			slog.String("requester", caller), slog.String("error", err.Error()))
		return "", apiErr(http.StatusServiceUnavailable, CodePseudonymUnavailable, "the lookup could not be recorded; retry later")
	case err != nil:
		return "", apiErr(http.StatusBadRequest, CodeInvalidIDNumber, "id_number is not a valid resident identity number")
	}
	return ref, nil
}

// localPseudonyms is the requester side of a gateway that holds the
// pseudonym key: the pairwise refs of its own organisation, computed and
// recorded in process.
type localPseudonyms struct{ s *Server }

// PairwiseRef implements RequesterPseudonymiser.
func (l localPseudonyms) PairwiseRef(ctx context.Context, q PseudonymQuery) (string, error) {
	return l.s.issuePairwiseRef(ctx, l.s.MSPID, q)
}

// pseudonymUnavailable turns a failed lookup into the requester's answer:
// a refusal by the operator keeps its status and code (a suspended
// institution learns it is suspended), anything temporary is 503
// PSEUDONYM_UNAVAILABLE with the operator's Retry-After.
func pseudonymUnavailable(w http.ResponseWriter, err error) error {
	var ref *peerlink.PseudonymRefusal
	if errors.As(err, &ref) {
		if ref.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(ref.RetryAfter/time.Second)))
		}
		if ref.Status == http.StatusForbidden && ref.Code != "" {
			return apiErr(http.StatusForbidden, ref.Code, "the operator refused the pseudonym lookup: %s", ref.Message)
		}
	}
	return apiErr(http.StatusServiceUnavailable, CodePseudonymUnavailable, "the citizen pseudonym service is unavailable; retry later")
}
