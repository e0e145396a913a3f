package contract

import (
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/chaincode/sig"
)

// ConsentContract keeps authorisations: a requester asks (逐笔授权, one per
// loan application or claim), the citizen decides with a signature made on
// their own device, the requester may withdraw its own request.
type ConsentContract struct {
	contractapi.Contract
}

// GetEvaluateTransactions lists the read-only transactions of the contract.
func (c *ConsentContract) GetEvaluateTransactions() []string {
	return []string{"GetAuthorization", "ListAuthorizationsByCitizen", "ListAuthorizationsByRequester"}
}

// RequestAuthorization records a requester's request for a citizen's
// authorisation as PENDING, within the purpose template's ceilings. Banks and
// insurers only. The request (a model.AuthorizationRequest) is the private
// input model.TransientRequest. It returns the public record; the caller
// reads the whole authorisation with GetAuthorization.
func (c *ConsentContract) RequestAuthorization(ctx contractapi.TransactionContextInterface) (string, error) {
	inst, err := requireActiveCaller(ctx)
	if err != nil {
		return "", err
	}
	if !inst.Kind.MayRequest() {
		return "", model.Errf(model.CodeForbiddenMSP, "%s is a %s and cannot request authorisations", inst.MSPID, inst.Kind)
	}
	var req model.AuthorizationRequest
	if err := transient(ctx, model.TransientRequest, &req); err != nil {
		return "", err
	}
	if !model.ValidHash(req.Subject) {
		return "", model.Errf(model.CodeInvalidArgument, "subject must be the applicant's subject digest (64 lower-case hex characters)")
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	auth, err := newAuthorization(ctx, inst, &req, now)
	if err != nil {
		return "", err
	}
	if _, err := authorizations.newKey(ctx, auth.ID); err != nil {
		return "", err
	}
	pub, err := saveAuth(ctx, auth)
	if err != nil {
		return "", err
	}
	if err := putPrivateIndex(ctx, model.CollectionOf(auth.Requester), keyAuthByCitizen, auth.CitizenRef, auth.RequestedAt, auth.ID); err != nil {
		return "", err
	}
	if err := putIndex(ctx, keyAuthByRequester, auth.Requester, auth.RequestedAt, auth.ID); err != nil {
		return "", err
	}
	if err := emit(ctx, authEvent(model.EventAuthorizationRequested, auth)); err != nil {
		return "", err
	}
	return marshalString(pub)
}

// newAuthorization validates a request against the registry and the purpose
// template and builds the PENDING authorisation.
func newAuthorization(ctx contractapi.TransactionContextInterface, inst *model.Institution,
	req *model.AuthorizationRequest, now time.Time) (*model.Authorization, error) {
	if !model.ValidID(req.ID) {
		return nil, model.Errf(model.CodeInvalidArgument, "id must be 3-64 letters, digits, '_', '.' or '-'")
	}
	if err := citizens.checkID(req.CitizenRef); err != nil {
		return nil, err
	}
	ref, err := normaliseHash("reference_hash", req.ReferenceHash)
	if err != nil {
		return nil, err
	}
	purpose, err := purposes.loadHidden(ctx, req.Purpose)
	if err != nil {
		return nil, err
	}
	allowedKind := false
	for _, k := range purpose.RequesterKinds {
		allowedKind = allowedKind || k == inst.Kind
	}
	if !allowedKind {
		return nil, model.Errf(model.CodeForbiddenMSP, "purpose %s is not open to institutions of kind %s", purpose.Code, inst.Kind)
	}
	cats, err := normaliseCategories(req.Categories)
	if err != nil {
		return nil, err
	}
	for _, code := range cats {
		cat, err := categories.loadHidden(ctx, code)
		if err != nil {
			return nil, err
		}
		if cat.Status != model.StatusActive {
			return nil, model.Errf(model.CodeCategoryNotFound, "category %s is not active", code)
		}
		if !contains(purpose.AllowedCategories, code) {
			return nil, model.Errf(model.CodePurposeLimitExceeded, "purpose %s does not allow category %s", purpose.Code, code)
		}
	}
	from, errFrom := time.Parse(model.DateFormat, req.DataFrom)
	to, errTo := time.Parse(model.DateFormat, req.DataTo)
	if errFrom != nil || errTo != nil {
		return nil, model.Errf(model.CodeInvalidArgument, "data_from and data_to must be dates (YYYY-MM-DD)")
	}
	if to.Before(from) {
		return nil, model.Errf(model.CodeInvalidArgument, "data_to is before data_from")
	}
	if days := int(to.Sub(from).Hours()/24) + 1; days > purpose.MaxDataRangeDays {
		return nil, model.Errf(model.CodePurposeLimitExceeded, "data range of %d days exceeds the %d days purpose %s allows", days, purpose.MaxDataRangeDays, purpose.Code)
	}
	until, err := time.Parse(time.RFC3339Nano, req.ValidUntil)
	if err != nil {
		return nil, model.Errf(model.CodeInvalidArgument, "valid_until must be an RFC 3339 time")
	}
	if !until.After(now) {
		return nil, model.Errf(model.CodeInvalidArgument, "valid_until is not in the future")
	}
	if until.Sub(now) > time.Duration(purpose.MaxValidityDays)*24*time.Hour {
		return nil, model.Errf(model.CodePurposeLimitExceeded, "validity exceeds the %d days purpose %s allows", purpose.MaxValidityDays, purpose.Code)
	}
	if req.MaxUses < 1 {
		return nil, model.Errf(model.CodeInvalidArgument, "max_uses must be at least 1")
	}
	if req.MaxUses > purpose.MaxUses {
		return nil, model.Errf(model.CodePurposeLimitExceeded, "max_uses %d exceeds the %d uses purpose %s allows", req.MaxUses, purpose.MaxUses, purpose.Code)
	}
	ts := model.FormatTime(now)
	txID := ctx.GetStub().GetTxID()
	return &model.Authorization{
		ID: req.ID, CitizenRef: req.CitizenRef, Requester: inst.MSPID, Purpose: purpose.Code,
		Categories: cats, DataFrom: req.DataFrom, DataTo: req.DataTo,
		ValidUntil: model.FormatTime(until), MaxUses: req.MaxUses, Status: model.AuthPending,
		ReferenceHash: ref, Subject: req.Subject, RequestedAt: ts, UpdatedAt: ts, RequestTxID: txID, LastTxID: txID,
	}, nil
}

// Decide applies a citizen's decision (GRANT, DENY, PAUSE, RESUME, REVOKE).
// payload is the base64 of the exact bytes the citizen's device signed,
// signature the base64 of its ES256 signature (raw r‖s or ASN.1 DER), keyID
// the enrolled device key. The payload must name this channel, this
// authorisation at its current seq and exactly its terms, and what the
// registry says now of the requester's licence, the purpose's retention
// and the categories' schema versions, so a signature cannot be replayed
// or moved to another authorisation or action, nor stand for terms the
// citizen was not shown. A DENY may give the reason model.ReasonNotMe,
// kept in the decision. The signature is checked by the key's kind: a
// passkey's WebAuthn assertion (with user verification, whose challenge is
// the SHA-256 of the payload), or, where the identity policy allows it, a
// WebCrypto key's raw signature; and the key must have been enrolled for
// the authorisation's subject (docs/ledger.md, "Citizen identity").
// Submitted by the operator, which serves the citizen, but it cannot forge
// a decision.
// The decision (a model.DecisionInput) is the private input
// model.TransientDecision; the answer is the public record.
func (c *ConsentContract) Decide(ctx contractapi.TransactionContextInterface, authorizationID string) (string, error) {
	if _, err := requireOperator(ctx); err != nil {
		return "", err
	}
	var in model.DecisionInput
	if err := transient(ctx, model.TransientDecision, &in); err != nil {
		return "", err
	}
	payload, keyID := in.Payload, in.KeyID
	auth, err := loadAuth(ctx, authorizationID)
	if err != nil {
		return "", err
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	raw, err := sig.DecodeBase64(payload)
	if err != nil {
		return "", model.Errf(model.CodePayloadInvalid, "payload must be base64")
	}
	p, err := model.ParseDecisionPayload(raw)
	if err != nil {
		return "", err
	}
	terms, err := registryTerms(ctx, auth)
	if err != nil {
		return "", err
	}
	if err := p.Match(ctx.GetStub().GetChannelID(), auth, terms); err != nil {
		return "", err
	}
	if err := p.CheckFresh(now); err != nil {
		return "", err
	}
	userVerified, err := verifyDecision(ctx, auth, &in, raw)
	if err != nil {
		return "", err
	}
	next, err := transition(auth.EffectiveStatus(now), p.Action)
	if err != nil {
		return "", err
	}
	ts := model.FormatTime(now)
	txID := ctx.GetStub().GetTxID()
	auth.Status = next
	auth.Seq++
	auth.UpdatedAt = ts
	auth.LastTxID = txID
	if p.Action == model.ActionGrant {
		auth.GrantedAt = ts
	}
	auth.LastDecision = &model.Decision{Action: p.Action, Reason: p.Reason, KeyID: keyID, Payload: payload,
		Signature: in.Signature, AuthenticatorData: in.AuthenticatorData, ClientDataJSON: in.ClientDataJSON,
		UserVerified: userVerified, At: ts, TxID: txID}
	pub, err := saveAuth(ctx, auth)
	if err != nil {
		return "", err
	}
	if err := emit(ctx, authEvent(decisionEvents[p.Action], auth)); err != nil {
		return "", err
	}
	return marshalString(pub)
}

// registryTerms reads what the registry says now of auth's requester,
// purpose and categories. The purpose and categories are read hidden, as
// when the request was made: they are the authorisation's private terms.
func registryTerms(ctx contractapi.TransactionContextInterface, auth *model.Authorization) (model.Terms, error) {
	inst, err := institutions.load(ctx, auth.Requester)
	if err != nil {
		return model.Terms{}, err
	}
	purpose, err := purposes.loadHidden(ctx, auth.Purpose)
	if err != nil {
		return model.Terms{}, err
	}
	cats := make([]*model.Category, len(auth.Categories))
	for i, code := range auth.Categories {
		if cats[i], err = categories.loadHidden(ctx, code); err != nil {
			return model.Terms{}, err
		}
	}
	return model.TermsOf(inst, purpose, cats), nil
}

var decisionEvents = map[model.Action]string{
	model.ActionGrant:  model.EventAuthorizationGranted,
	model.ActionDeny:   model.EventAuthorizationDenied,
	model.ActionPause:  model.EventAuthorizationPaused,
	model.ActionResume: model.EventAuthorizationResumed,
	model.ActionRevoke: model.EventAuthorizationRevoked,
}

// verifyDecision checks the citizen's signature of a decision: by an
// enrolled, unrevoked device key of the citizen, as enrolled in the
// requester's collection, verified by the key's kind (deviceSignature),
// and enrolled for the authorisation's subject, so that only the person
// the requester asked may decide. It returns whether the device verified
// the citizen.
func verifyDecision(ctx contractapi.TransactionContextInterface, auth *model.Authorization, in *model.DecisionInput, msg []byte) (bool, error) {
	cz, err := loadCitizen(ctx, auth.Requester, auth.CitizenRef)
	if model.CodeOf(err) == model.CodeCitizenNotFound {
		return false, model.Errf(model.CodeKeyNotFound, "the citizen has no enrolled device key")
	}
	if err != nil {
		return false, err
	}
	dk, found, active := cz.ActiveKey(in.KeyID)
	if !found {
		return false, model.Errf(model.CodeKeyNotFound, "key %q is not enrolled for this citizen", in.KeyID)
	}
	if !active {
		return false, model.Errf(model.CodeKeyRevoked, "key %s was revoked", in.KeyID)
	}
	pol, err := activePolicy(ctx)
	if err != nil {
		return false, err
	}
	uv, err := deviceSignature(&dk, pol, model.Signature{KeyID: in.KeyID, Signature: in.Signature,
		AuthenticatorData: in.AuthenticatorData, ClientDataJSON: in.ClientDataJSON}, msg, model.CodeSignatureInvalid)
	if err != nil {
		return false, err
	}
	if dk.Subject == "" || dk.Subject != auth.Subject {
		return false, model.Errf(model.CodeSubjectMismatch, "key %s was enrolled for another person than the one asked", in.KeyID)
	}
	return uv, nil
}

// transition is the authorisation state machine for citizen decisions.
func transition(from model.AuthStatus, action model.Action) (model.AuthStatus, error) {
	switch {
	case action == model.ActionGrant && from == model.AuthPending:
		return model.AuthGranted, nil
	case action == model.ActionDeny && from == model.AuthPending:
		return model.AuthDenied, nil
	case action == model.ActionPause && from == model.AuthGranted:
		return model.AuthPaused, nil
	case action == model.ActionResume && from == model.AuthPaused:
		return model.AuthGranted, nil
	case action == model.ActionRevoke && (from == model.AuthGranted || from == model.AuthPaused):
		return model.AuthRevoked, nil
	}
	if err := from.Err(); err != nil {
		return "", err
	}
	return "", model.Errf(model.CodeInvalidTransition, "cannot %s an authorisation that is %s", action, from)
}

// Withdraw lets the requester withdraw its own request or authorisation
// (PENDING, GRANTED or PAUSED become WITHDRAWN).
func (c *ConsentContract) Withdraw(ctx contractapi.TransactionContextInterface, authorizationID string) (string, error) {
	msp, err := callerMSP(ctx)
	if err != nil {
		return "", err
	}
	pub, err := authorizations.load(ctx, authorizationID)
	if err != nil {
		return "", err
	}
	if pub.Requester != msp {
		return "", model.Errf(model.CodeForbiddenMSP, "%s did not request authorisation %s", msp, authorizationID)
	}
	auth, err := privateAuth(ctx, pub)
	if err != nil {
		return "", err
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	switch s := auth.EffectiveStatus(now); s {
	case model.AuthPending, model.AuthGranted, model.AuthPaused:
	default:
		return "", s.Err()
	}
	auth.Status = model.AuthWithdrawn
	auth.Seq++
	auth.UpdatedAt = model.FormatTime(now)
	auth.LastTxID = ctx.GetStub().GetTxID()
	if pub, err = saveAuth(ctx, auth); err != nil {
		return "", err
	}
	if err := emit(ctx, authEvent(model.EventAuthorizationWithdrawn, auth)); err != nil {
		return "", err
	}
	return marshalString(pub)
}

// GetAuthorization returns one authorisation, its status as of the
// transaction time (EXPIRED once past its validity), to its requester, the
// operator and the auditor.
func (c *ConsentContract) GetAuthorization(ctx contractapi.TransactionContextInterface, authorizationID string) (string, error) {
	auth, err := loadAuth(ctx, authorizationID)
	if err != nil {
		return "", err
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	auth.Status = auth.EffectiveStatus(now)
	return marshalString(auth)
}

// ListAuthorizationsByCitizen returns a page of the authorisations a
// citizen, known to requester as citizenRef, gave that requester, in
// request order, optionally only those with the given (effective) status.
// For the requester itself, the operator and the auditor.
func (c *ConsentContract) ListAuthorizationsByCitizen(ctx contractapi.TransactionContextInterface,
	requester string, citizenRef string, status string, pageSize int32, bookmark string) (string, error) {
	if err := citizens.checkID(citizenRef); err != nil {
		return "", err
	}
	if err := mayRead(ctx, requester); err != nil {
		return "", err
	}
	return listAuthorizations(ctx, model.CollectionOf(requester), indexQuery{index: keyAuthByCitizen, owner: citizenRef,
		pageSize: pageSize, bookmark: bookmark}, status)
}

// ListAuthorizationsByRequester returns a page of an institution's
// authorisations requested within [since, until] (RFC 3339, each optional),
// optionally only those with the given (effective) status. For the
// institution itself, the operator and the auditor.
func (c *ConsentContract) ListAuthorizationsByRequester(ctx contractapi.TransactionContextInterface,
	mspID string, status string, since string, until string, pageSize int32, bookmark string) (string, error) {
	if err := institutions.checkID(mspID); err != nil {
		return "", err
	}
	if err := mayRead(ctx, mspID); err != nil {
		return "", err
	}
	q := indexQuery{index: keyAuthByRequester, owner: mspID, pageSize: pageSize, bookmark: bookmark}
	var err error
	if q.since, q.until, err = timeBounds(since, until); err != nil {
		return "", err
	}
	return listAuthorizations(ctx, "", q, status)
}

// listAuthorizations lists an index of the world state, or of collection
// if it is not empty.
func listAuthorizations(ctx contractapi.TransactionContextInterface, collection string, q indexQuery, status string) (string, error) {
	want := model.AuthStatus(status)
	if status != "" && !want.Valid() {
		return "", model.Errf(model.CodeInvalidArgument, "status %q is not an authorisation status", status)
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	load := func(id string) (*model.Authorization, error) {
		pub, err := authorizations.load(ctx, id)
		if err != nil {
			return nil, err
		}
		a, err := privateAuth(ctx, pub)
		if err != nil {
			return nil, err
		}
		a.Status = a.EffectiveStatus(now)
		return a, nil
	}
	keep := func(a *model.Authorization) bool { return status == "" || a.Status == want }
	var page *model.Page[model.Authorization]
	if collection != "" {
		page, err = listPrivateIndex(ctx, collection, q, load, keep)
	} else {
		page, err = listIndex(ctx, q, load, keep)
	}
	if err != nil {
		return "", err
	}
	return marshalString(page)
}

// authEvent is the public event of a change to a: what its public record
// shows.
func authEvent(name string, a *model.Authorization) model.Event {
	return model.Event{Name: name, AuthorizationID: a.ID, Requester: a.Requester, Status: a.Status}
}

// timeBounds normalises optional RFC 3339 bounds to TimeFormat.
func timeBounds(since, until string) (string, string, error) {
	var out [2]string
	for i, s := range []string{since, until} {
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return "", "", model.Errf(model.CodeInvalidArgument, "time bound %q is not RFC 3339", s)
		}
		out[i] = model.FormatTime(t)
	}
	if out[0] != "" && out[1] != "" && out[1] < out[0] {
		return "", "", model.Errf(model.CodeInvalidArgument, "until is before since")
	}
	return out[0], out[1], nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
