package httpapi

import (
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/chaincode/sig"
	"github.com/quanchain/quanchain/gateway/internal/citizens"
	"github.com/quanchain/quanchain/ledger"
)

// keyIDPattern is an RFC 7638 thumbprint: unpadded base64url of SHA-256.
var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// keyView is one of the citizen's devices as the app lists it.
type keyView struct {
	KeyID      string `json:"key_id"`
	Name       string `json:"name,omitempty"`
	Kind       string `json:"kind"`
	Proof      string `json:"proof"`
	ApprovedBy string `json:"approved_by,omitempty"`
	Status     string `json:"status"`
	AddedAt    string `json:"added_at"`
	RevokedAt  string `json:"revoked_at,omitempty"`
	// UserVerifying is whether the device verifies the citizen (a PIN or
	// a biometric) for each decision: a passkey.
	UserVerifying bool `json:"user_verifying"`
}

type keyList struct {
	Keys []keyView `json:"keys"`
}

// citizenListKeys lists the caller's device keys, revoked ones included,
// with how each was enrolled.
func (s *Server) citizenListKeys(w http.ResponseWriter, r *http.Request) error {
	c, ref, err := s.citizenCaller(r)
	if err != nil {
		return err
	}
	keys, err := c.records.Keys(r.Context(), ref)
	if err != nil {
		return err
	}
	out := keyList{Keys: make([]keyView, 0, len(keys))}
	for _, k := range keys {
		out.Keys = append(out.Keys, keyView{KeyID: k.KeyID, Name: k.Name, Kind: k.Kind, Proof: k.Proof, ApprovedBy: k.ApprovedBy,
			Status: k.Status, AddedAt: k.AddedAt, RevokedAt: k.RevokedAt, UserVerifying: k.Kind == model.KeyWebAuthn})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// citizenRevokeKey revokes one of the caller's device keys (a lost
// device). The chaincode refuses a key id the citizen does not hold.
func (s *Server) citizenRevokeKey(w http.ResponseWriter, r *http.Request) error {
	c, ref, err := s.citizenCaller(r)
	if err != nil {
		return err
	}
	kid := chi.URLParam(r, "key_id")
	if !keyIDPattern.MatchString(kid) {
		return apiErr(http.StatusNotFound, string(model.CodeKeyNotFound), "no such key")
	}
	err = c.records.RevokeKey(r.Context(), ref, kid)
	if errors.Is(err, citizens.ErrNoKey) {
		return apiErr(http.StatusNotFound, string(model.CodeKeyNotFound), "no such key")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ownAuthorization returns the authorisation named in the path if
// it is the caller's; another citizen's is "not found".
func (c *CitizenAPI) ownAuthorization(r *http.Request, ref string) (*model.Authorization, error) {
	id := chi.URLParam(r, "id")
	notFound := apiErr(http.StatusNotFound, string(model.CodeAuthNotFound), "no such authorisation")
	if !model.ValidID(id) {
		return nil, notFound
	}
	a, err := c.cfg.Ledger.GetAuthorization(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if a.CitizenRef != c.records.RefFor(a.Requester, ref) {
		return nil, notFound
	}
	return a, nil
}

// citizenListAuthorizations lists the caller's authorisations, newest
// request last, each with what PIPL Art. 23 asks the citizen be told.
func (s *Server) citizenListAuthorizations(w http.ResponseWriter, r *http.Request) error {
	c, ref, err := s.citizenCaller(r)
	if err != nil {
		return err
	}
	q, err := citizenListQuery(r, true)
	if err != nil {
		return err
	}
	all, err := citizens.All(r.Context(), c.records, ref, q, c.cfg.Ledger.ListAuthorizationsByCitizen)
	if err != nil {
		return err
	}
	slices.SortStableFunc(all, func(a, b model.Authorization) int { return strings.Compare(a.RequestedAt, b.RequestedAt) })
	items, next, err := pageOf(all, q)
	if err != nil {
		return err
	}
	out := citizenAuthorizationList{Items: make([]citizenAuthorization, 0, len(items)), NextCursor: next}
	for i := range items {
		ca, err := c.describe(r.Context(), &items[i])
		if err != nil {
			return err
		}
		out.Items = append(out.Items, ca)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// citizenListQuery reads status (if allowed), cursor and limit.
func citizenListQuery(r *http.Request, withStatus bool) (ledger.ListQuery, error) {
	var q ledger.ListQuery
	qs := r.URL.Query()
	for k, v := range qs {
		if (k != "status" || !withStatus) && k != "cursor" && k != "limit" {
			return q, apiErr(http.StatusBadRequest, CodeInvalidArgument, "unknown query parameter %q", k)
		}
		if len(v) != 1 {
			return q, apiErr(http.StatusBadRequest, CodeInvalidArgument, "query parameter %q is repeated", k)
		}
	}
	q.Status = model.AuthStatus(qs.Get("status"))
	if q.Status != "" && !q.Status.Valid() {
		return q, apiErr(http.StatusBadRequest, CodeInvalidArgument, "status must be one of PENDING, GRANTED, DENIED, PAUSED, REVOKED, WITHDRAWN, EXPIRED, EXHAUSTED")
	}
	return q, ledgerPaging(qs, &q)
}

// payloadRequest is the body of POST /citizen/v1/authorizations/{id}/payload:
// the action and, for a DENY of a request the citizen did not make, the
// reason NOT_ME (不是我申请的).
type payloadRequest struct {
	Action model.Action `json:"action"`
	Reason string       `json:"reason"`
}

// Validate checks the action and the reason.
func (q *payloadRequest) Validate() error {
	if !q.Action.Valid() {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "action must be one of GRANT, DENY, PAUSE, RESUME, REVOKE")
	}
	if q.Reason != "" && (q.Reason != model.ReasonNotMe || q.Action != model.ActionDeny) {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "reason may only be NOT_ME, with the action DENY")
	}
	return nil
}

// checkTransition checks the action against the authorisation's state, so
// the citizen is never asked to sign a decision the chaincode must refuse.
// The chaincode's state machine remains the authority.
func (q *payloadRequest) checkTransition(a *model.Authorization) error {
	allowed := map[model.AuthStatus][]model.Action{
		model.AuthPending: {model.ActionGrant, model.ActionDeny},
		model.AuthGranted: {model.ActionPause, model.ActionRevoke},
		model.AuthPaused:  {model.ActionResume, model.ActionRevoke},
	}
	for _, act := range allowed[a.Status] {
		if act == q.Action {
			return nil
		}
	}
	return apiErr(http.StatusConflict, string(model.CodeInvalidTransition), "%s is not possible on a %s authorisation", q.Action, a.Status)
}

// payloadResponse carries the exact bytes to sign. PayloadJSON is the same
// bytes as text, for display; the device signs the decoded Payload.
type payloadResponse struct {
	AuthorizationID string       `json:"authorization_id"`
	Action          model.Action `json:"action"`
	Payload         string       `json:"payload"`
	PayloadJSON     string       `json:"payload_json"`
	// Challenge is the WebAuthn challenge a passkey signs the payload
	// with: the base64url SHA-256 of the payload bytes.
	Challenge string `json:"challenge"`
}

// citizenPayload builds the decision payload for one of the caller's
// authorisations as of its current state.
func (s *Server) citizenPayload(w http.ResponseWriter, r *http.Request) error {
	c, ref, err := s.citizenCaller(r)
	if err != nil {
		return err
	}
	var q payloadRequest
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	if err := q.Validate(); err != nil {
		return err
	}
	a, err := c.ownAuthorization(r, ref)
	if err != nil {
		return err
	}
	if err := q.checkTransition(a); err != nil {
		return err
	}
	terms, err := c.terms(r.Context(), a)
	if err != nil {
		return err
	}
	p := model.NewDecisionPayload(c.cfg.Channel, a, terms, q.Action, s.Now())
	p.Reason = q.Reason
	b := p.Bytes()
	writeJSON(w, http.StatusOK, payloadResponse{AuthorizationID: a.ID, Action: q.Action,
		Payload: base64.StdEncoding.EncodeToString(b), PayloadJSON: string(b), Challenge: challengeOf(b)})
	return nil
}

// decisionRequest is the body of POST /citizen/v1/authorizations/{id}/decision.
type decisionRequest struct {
	Payload   string `json:"payload"`   // base64 of the exact signed bytes
	Signature string `json:"signature"` // base64 of r‖s or DER, as the device made it
	KeyID     string `json:"key_id"`
	// AuthenticatorData and ClientDataJSON (base64url) are a passkey's
	// assertion; Signature is then the assertion's signature.
	AuthenticatorData string `json:"authenticator_data"`
	ClientDataJSON    string `json:"client_data_json"`
}

// Validate decodes the payload and checks the form of the rest; it
// returns the payload's bytes exactly as sent and what they say.
func (q *decisionRequest) Validate(id string) ([]byte, *model.DecisionPayload, error) {
	bad := func(format string, args ...any) error {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, format, args...)
	}
	raw, err := sig.DecodeBase64(q.Payload)
	if err != nil || len(raw) == 0 {
		return nil, nil, bad("payload must be the base64 of the signed bytes")
	}
	if s, err := sig.DecodeBase64(q.Signature); err != nil || len(s) < 8 || len(s) > 72 {
		return nil, nil, bad("signature must be the base64 of an ECDSA P-256 signature")
	}
	if !keyIDPattern.MatchString(q.KeyID) {
		return nil, nil, bad("key_id must be the key's RFC 7638 thumbprint")
	}
	if (q.AuthenticatorData == "") != (q.ClientDataJSON == "") {
		return nil, nil, bad("authenticator_data and client_data_json come together, from a passkey's assertion")
	}
	for _, f := range []string{q.AuthenticatorData, q.ClientDataJSON} {
		if b, err := sig.DecodeBase64(f); f != "" && (err != nil || len(b) == 0) {
			return nil, nil, bad("authenticator_data and client_data_json must be base64url")
		}
	}
	p, err := model.ParseDecisionPayload(raw)
	if err != nil {
		return nil, nil, modelError(err)
	}
	if p.AuthorizationID != id {
		return nil, nil, apiErr(http.StatusConflict, string(model.CodePayloadMismatch), "the payload is for another authorisation")
	}
	return raw, p, nil
}

// citizenDecision submits a signed decision on one of the caller's
// authorisations: the payload bytes go to the ledger exactly as sent,
// never re-encoded, and the chaincode checks the signature.
func (s *Server) citizenDecision(w http.ResponseWriter, r *http.Request) error {
	c, ref, err := s.citizenCaller(r)
	if err != nil {
		return err
	}
	var q decisionRequest
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	id := chi.URLParam(r, "id")
	if !model.ValidID(id) {
		return apiErr(http.StatusNotFound, string(model.CodeAuthNotFound), "no such authorisation")
	}
	payload, p, err := q.Validate(id)
	if err != nil {
		return err
	}
	a, err := c.ownAuthorization(r, ref)
	if err != nil {
		return err
	}
	if p.CitizenRef != a.CitizenRef {
		return apiErr(http.StatusConflict, string(model.CodePayloadMismatch), "the payload is for another authorisation")
	}
	// A requester registered after the device was enrolled does not hold
	// the key (KEY_NOT_FOUND): enrolling it there needs a proof, so the
	// citizen enrols the device again (a login with it, or an approval).
	out, err := c.cfg.Decide(r.Context(), a.ID, payload, model.DecisionInput{Payload: q.Payload, Signature: q.Signature,
		KeyID: q.KeyID, AuthenticatorData: q.AuthenticatorData, ClientDataJSON: q.ClientDataJSON})
	if err != nil {
		return err
	}
	if p.Reason == model.ReasonNotMe {
		// Someone asked in this citizen's name: the operator looks into the
		// requester. No personal data in the log: the ids say enough.
		s.log.WarnContext(r.Context(), "citizen denied a request as not theirs",
			slog.String("request_id", requestIDFrom(r.Context())), slog.String("reason", model.ReasonNotMe),
			slog.String("authorization_id", a.ID), slog.String("requester", a.Requester),
			slog.String("tx_id", out.LastTxID))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// citizenAccesses lists every delivery of the caller's data, oldest
// first, with the transaction that recorded it.
func (s *Server) citizenAccesses(w http.ResponseWriter, r *http.Request) error {
	c, ref, err := s.citizenCaller(r)
	if err != nil {
		return err
	}
	q, err := citizenListQuery(r, false)
	if err != nil {
		return err
	}
	all, err := citizens.All(r.Context(), c.records, ref, q, c.cfg.Ledger.ListAccessesByCitizen)
	if err != nil {
		return err
	}
	slices.SortStableFunc(all, func(a, b model.Access) int { return strings.Compare(a.AccessedAt, b.AccessedAt) })
	items, next, err := pageOf(all, q)
	if err != nil {
		return err
	}
	out := citizenAccessList{Items: make([]citizenAccess, 0, len(items)), NextCursor: next}
	for _, a := range items {
		inst, err := c.institution(r.Context(), a.Requester)
		if err != nil {
			return err
		}
		ca := citizenAccess{Access: a, RequesterInfo: inst, CategoryInfo: make([]categoryView, 0, len(a.Categories))}
		for _, code := range a.Categories {
			cv, err := c.category(r.Context(), code)
			if err != nil {
				return err
			}
			ca.CategoryInfo = append(ca.CategoryInfo, cv)
		}
		out.Items = append(out.Items, ca)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// citizenSafe summarises the caller's digital safe: categories held,
// record counts and the batches holding them, with their anchors.
func (s *Server) citizenSafe(w http.ResponseWriter, r *http.Request) error {
	c, ref, err := s.citizenCaller(r)
	if err != nil {
		return err
	}
	sums, err := c.cfg.Store.SafeSummary(r.Context(), ref)
	if err != nil {
		return err
	}
	out := safeView{Categories: make([]safeCategory, 0, len(sums))}
	for _, sum := range sums {
		cat, err := c.category(r.Context(), sum.Category)
		if err != nil {
			return err
		}
		sc := safeCategory{categoryView: cat, Count: sum.Count, FirstDate: sum.FirstDate, LastDate: sum.LastDate,
			Unbatched: sum.Unbatched, Batches: make([]safeBatch, 0, len(sum.Batches))}
		for _, b := range sum.Batches {
			sb := safeBatch{BatchID: b.ID, Root: b.Root, LeafCount: b.LeafCount, Records: b.Records,
				CreatedAt: model.FormatTime(b.CreatedAt), Anchored: b.AnchoredTxID != "", AnchorTxID: b.AnchoredTxID}
			if !b.AnchoredAt.IsZero() {
				sb.AnchoredAt = model.FormatTime(b.AnchoredAt)
			}
			sc.Batches = append(sc.Batches, sb)
		}
		out.Categories = append(out.Categories, sc)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
