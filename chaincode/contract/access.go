package contract

import (
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/quanchain/quanchain/chaincode/model"
)

// maxRecordCount bounds the records one delivery may report.
const maxRecordCount = 100000

// AccessContract records every delivery of a citizen's data (全程留痕) and
// answers who used whose data, when and under which authorisation.
type AccessContract struct {
	contractapi.Contract
}

// GetEvaluateTransactions lists the read-only transactions of the contract.
func (c *AccessContract) GetEvaluateTransactions() []string {
	return []string{"GetAccess", "ListAccessesByCitizen", "ListAccessesByRequester", "ListAccessesByAuthorization"}
}

// RecordAccess records a delivery under an authorisation and uses one of its
// uses. Only the provider of every delivered category may record it, only
// for the requester named in the authorisation, only while the authorisation
// is GRANTED, within its validity and uses, and for categories it covers.
// The authorisation's key is written, so a concurrent revocation and a
// delivery conflict and exactly one of them commits. The delivery (a
// model.AccessRequest) is the private input model.TransientAccess; the
// answer is the public record.
func (c *AccessContract) RecordAccess(ctx contractapi.TransactionContextInterface) (string, error) {
	inst, err := requireActiveCaller(ctx)
	if err != nil {
		return "", err
	}
	var req model.AccessRequest
	if err := transient(ctx, model.TransientAccess, &req); err != nil {
		return "", err
	}
	cats, err := normaliseCategories(req.Categories)
	if err != nil {
		return "", err
	}
	if err := checkProviderOf(ctx, inst, cats...); err != nil {
		return "", err
	}
	provider := inst.MSPID
	if err := validateAccessRequest(&req); err != nil {
		return "", err
	}
	k, err := accesses.newKey(ctx, req.ID)
	if err != nil {
		return "", err
	}
	pub, err := authorizations.load(ctx, req.AuthorizationID)
	if err != nil {
		return "", err
	}
	auth, err := privateAuth(ctx, pub)
	if err != nil {
		return "", err
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	if err := checkUsable(ctx, auth, &req, cats, now); err != nil {
		return "", err
	}
	auth.Uses++
	if auth.Uses >= auth.MaxUses {
		auth.Status = model.AuthExhausted
	}
	ts := model.FormatTime(now)
	txID := ctx.GetStub().GetTxID()
	auth.UpdatedAt = ts
	auth.LastTxID = txID
	acc := model.Access{ID: req.ID, AuthorizationID: auth.ID, CitizenRef: auth.CitizenRef,
		Requester: auth.Requester, Provider: provider, Purpose: auth.Purpose, Categories: cats,
		Mode: req.Mode, Predicate: req.Predicate, Digest: req.Digest, RecordCount: req.RecordCount,
		UseNumber: auth.Uses, AccessedAt: ts, TxID: txID}
	coll := model.CollectionOf(auth.Requester)
	b, err := putPrivate(ctx, coll, k, &acc)
	if err != nil {
		return "", err
	}
	accPub := acc.Public(b)
	if err := putJSON(ctx, k, accPub); err != nil {
		return "", err
	}
	if _, err := saveAuth(ctx, auth); err != nil {
		return "", err
	}
	if err := putPrivateIndex(ctx, coll, keyAccessByCitizen, acc.CitizenRef, ts, acc.ID); err != nil {
		return "", err
	}
	for _, idx := range [][2]string{{keyAccessByReq, acc.Requester}, {keyAccessByAuth, acc.AuthorizationID}} {
		if err := putIndex(ctx, idx[0], idx[1], ts, acc.ID); err != nil {
			return "", err
		}
	}
	ev := model.Event{Name: model.EventAccessRecorded, AccessID: acc.ID, AuthorizationID: auth.ID,
		Requester: auth.Requester, Provider: provider, Status: auth.Status, UseNumber: acc.UseNumber}
	if err := emit(ctx, ev); err != nil {
		return "", err
	}
	return marshalString(accPub)
}

// validateAccessRequest checks the fields of a delivery that do not depend on
// the ledger; it normalises the digest.
func validateAccessRequest(req *model.AccessRequest) error {
	if !model.ValidID(req.ID) {
		return model.Errf(model.CodeInvalidArgument, "id must be 3-64 letters, digits, '_', '.' or '-'")
	}
	if !model.ValidMSPID(req.Requester) {
		return model.Errf(model.CodeInvalidArgument, "requester %q is not a valid MSP ID", req.Requester)
	}
	switch req.Mode {
	case model.ModeRecords:
		if req.Predicate != "" {
			return model.Errf(model.CodeInvalidArgument, "predicate is only allowed in predicate mode")
		}
	case model.ModePredicate:
		if !model.ValidPurposeCode(req.Predicate) {
			return model.Errf(model.CodeInvalidArgument, "predicate must be a code such as DECEASED_BEFORE")
		}
		if req.RecordCount != 0 {
			return model.Errf(model.CodeInvalidArgument, "a predicate answer delivers no records")
		}
	default:
		return model.Errf(model.CodeInvalidArgument, "mode must be records or predicate")
	}
	if req.RecordCount < 0 || req.RecordCount > maxRecordCount {
		return model.Errf(model.CodeInvalidArgument, "record_count must be between 0 and %d", maxRecordCount)
	}
	d, err := normaliseHash("digest", req.Digest)
	if err != nil {
		return err
	}
	req.Digest = d
	return nil
}

// checkUsable checks that auth may be used for this delivery now, by the
// model's rule (Authorization.Usable), which the gateways apply too.
func checkUsable(ctx contractapi.TransactionContextInterface, auth *model.Authorization,
	req *model.AccessRequest, cats []string, now time.Time) error {
	if auth.Requester != req.Requester {
		return model.Errf(model.CodeRequesterMismatch, "authorisation %s was not granted to %s", auth.ID, req.Requester)
	}
	requester, err := institutions.load(ctx, auth.Requester)
	if err != nil {
		return err
	}
	if err := auth.Usable(requester, now); err != nil {
		return err
	}
	if !auth.Covers(cats) {
		return model.Errf(model.CodeCategoryOutOfScope, "authorisation %s does not cover every requested category", auth.ID)
	}
	return nil
}

// GetAccess returns one access record, to its requester, the operator and
// the auditor.
func (c *AccessContract) GetAccess(ctx contractapi.TransactionContextInterface, accessID string) (string, error) {
	acc, err := loadAccess(ctx, accessID)
	if err != nil {
		return "", err
	}
	return marshalString(acc)
}

// ListAccessesByCitizen returns a page of the deliveries to requester of the
// data of a citizen it knows as citizenRef, within [since, until] (RFC
// 3339, each optional), oldest first. For the requester itself, the
// operator and the auditor.
func (c *AccessContract) ListAccessesByCitizen(ctx contractapi.TransactionContextInterface,
	requester string, citizenRef string, since string, until string, pageSize int32, bookmark string) (string, error) {
	if err := citizens.checkID(citizenRef); err != nil {
		return "", err
	}
	if err := mayRead(ctx, requester); err != nil {
		return "", err
	}
	return listAccesses(ctx, model.CollectionOf(requester),
		indexQuery{index: keyAccessByCitizen, owner: citizenRef, pageSize: pageSize, bookmark: bookmark}, since, until)
}

// ListAccessesByRequester returns a page of the deliveries to an institution
// within [since, until] (RFC 3339, each optional), oldest first. For the
// institution itself, the operator and the auditor.
func (c *AccessContract) ListAccessesByRequester(ctx contractapi.TransactionContextInterface,
	mspID string, since string, until string, pageSize int32, bookmark string) (string, error) {
	if err := institutions.checkID(mspID); err != nil {
		return "", err
	}
	if err := mayRead(ctx, mspID); err != nil {
		return "", err
	}
	return listAccesses(ctx, "", indexQuery{index: keyAccessByReq, owner: mspID, pageSize: pageSize, bookmark: bookmark}, since, until)
}

// ListAccessesByAuthorization returns a page of the deliveries made under one
// authorisation, oldest first, to those who may read the authorisation.
func (c *AccessContract) ListAccessesByAuthorization(ctx contractapi.TransactionContextInterface,
	authorizationID string, pageSize int32, bookmark string) (string, error) {
	pub, err := authorizations.load(ctx, authorizationID)
	if err != nil {
		return "", err
	}
	if err := mayRead(ctx, pub.Requester); err != nil {
		return "", err
	}
	return listAccesses(ctx, "", indexQuery{index: keyAccessByAuth, owner: authorizationID, pageSize: pageSize, bookmark: bookmark}, "", "")
}

// listAccesses lists an index of the world state, or of collection if it
// is not empty; the caller has checked that the records may be read.
func listAccesses(ctx contractapi.TransactionContextInterface, collection string, q indexQuery, since, until string) (string, error) {
	var err error
	if q.since, q.until, err = timeBounds(since, until); err != nil {
		return "", err
	}
	load := func(id string) (*model.Access, error) { return loadAccess(ctx, id) }
	var page *model.Page[model.Access]
	if collection != "" {
		page, err = listPrivateIndex(ctx, collection, q, load, nil)
	} else {
		page, err = listIndex(ctx, q, load, nil)
	}
	if err != nil {
		return "", err
	}
	return marshalString(page)
}
