// Package contract holds the quanchain smart contracts: registry, consent,
// anchor and access. Every transaction checks the caller's MSP first, then
// reads, validates and writes; time is the transaction timestamp; every
// writing transaction emits exactly one chaincode event.
package contract

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/quanchain/quanchain/chaincode/model"
)

// Object types of the composite keys. The primary object of each type is
// stored under CreateCompositeKey(type, [id]); the "~" types are secondary
// indexes whose values are empty.
const (
	keyConfig          = "config"
	keyInstitution     = "institution"
	keyCategory        = "category"
	keyPurpose         = "purpose"
	keyCitizen         = "citizen"
	keyAuth            = "auth"
	keyAuthByCitizen   = "auth~citizen"   // citizenRef, requestedAt, authID
	keyAuthByRequester = "auth~requester" // requester MSP, requestedAt, authID
	keyAnchor          = "anchor"
	keyBatch           = "batch"
	keyRevocation      = "revocation"
	keyAccess          = "access"
	keyAccessByCitizen = "access~citizen"   // citizenRef, accessedAt, accessID
	keyAccessByReq     = "access~requester" // requester MSP, accessedAt, accessID
	keyAccessByAuth    = "access~auth"      // authID, accessedAt, accessID
	keyCeiling         = "ceiling"          // the load test's writes (CeilingContract)
	keyIdentityPolicy  = "idpolicy"         // "active" or "pending"
)

// Input limits.
const (
	maxJSONInput    = 16 << 10 // any JSON argument
	maxCategories   = 16       // categories in one request
	maxNameLen      = 128      // institution, category and purpose names
	maxProofLen     = 64       // nodes in an inclusion proof
	maxProofsInput  = 4 << 20  // anchor:VerifyProofs's list: model.MaxProofs proofs of a batch of 2^24 leaves
	maxLeafCount    = 1 << 24  // leaves in one batch
	defaultPageSize = 20
	maxPageSize     = 100
	maxScan         = 2000 // index entries one listing call may read
)

// txTime returns the transaction timestamp, the only clock the chaincode has.
func txTime(ctx contractapi.TransactionContextInterface) (time.Time, error) {
	ts, err := ctx.GetStub().GetTxTimestamp()
	if err != nil {
		return time.Time{}, fmt.Errorf("reading transaction timestamp: %w", err)
	}
	return ts.AsTime().UTC(), nil
}

// callerMSP returns the MSP ID of the submitting client.
func callerMSP(ctx contractapi.TransactionContextInterface) (string, error) {
	id, err := ctx.GetClientIdentity().GetMSPID()
	if err != nil {
		return "", fmt.Errorf("reading caller identity: %w", err)
	}
	return id, nil
}

// key builds the primary key of an object.
func key(ctx contractapi.TransactionContextInterface, objectType string, attrs ...string) (string, error) {
	k, err := ctx.GetStub().CreateCompositeKey(objectType, attrs)
	if err != nil {
		return "", model.Errf(model.CodeInvalidArgument, "invalid key attribute for %s", objectType)
	}
	return k, nil
}

// getJSON reads the object at k into v; found is false if there is none.
func getJSON(ctx contractapi.TransactionContextInterface, k string, v any) (bool, error) {
	b, err := ctx.GetStub().GetState(k)
	if err != nil {
		return false, fmt.Errorf("reading state: %w", err)
	}
	if b == nil {
		return false, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("decoding stored %T: %w", v, err)
	}
	return true, nil
}

// putJSON writes v at k.
func putJSON(ctx contractapi.TransactionContextInterface, k string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %T: %w", v, err)
	}
	if err := ctx.GetStub().PutState(k, b); err != nil {
		return fmt.Errorf("writing state: %w", err)
	}
	return nil
}

// putIndex writes an empty-valued secondary index entry.
func putIndex(ctx contractapi.TransactionContextInterface, objectType string, attrs ...string) error {
	k, err := key(ctx, objectType, attrs...)
	if err != nil {
		return err
	}
	if err := ctx.GetStub().PutState(k, []byte{0}); err != nil {
		return fmt.Errorf("writing index: %w", err)
	}
	return nil
}

// exists reports whether there is a value at k.
func exists(ctx contractapi.TransactionContextInterface, k string) (bool, error) {
	b, err := ctx.GetStub().GetState(k)
	if err != nil {
		return false, fmt.Errorf("reading state: %w", err)
	}
	return b != nil, nil
}

// decodeStrict decodes one JSON object from s into v: size-limited, unknown
// fields and trailing data refused.
func decodeStrict(s string, v any) error {
	return decodeStrictLimit(s, maxJSONInput, v)
}

// decodeStrictLimit is decodeStrict for an input of at most limit bytes.
func decodeStrictLimit(s string, limit int, v any) error {
	if len(s) > limit {
		return model.Errf(model.CodeInputTooLarge, "input is %d bytes, limit %d", len(s), limit)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return model.Errf(model.CodeMalformedJSON, "field %q has the wrong type", typeErr.Field)
		}
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			return model.Errf(model.CodeMalformedJSON, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return model.Errf(model.CodeMalformedJSON, "input is not a valid JSON object")
	}
	if _, err := dec.Token(); err == nil {
		return model.Errf(model.CodeMalformedJSON, "input has trailing data")
	}
	return nil
}

// emit sets the transaction's single chaincode event.
func emit(ctx contractapi.TransactionContextInterface, ev model.Event) error {
	now, err := txTime(ctx)
	if err != nil {
		return err
	}
	ev.TxID = ctx.GetStub().GetTxID()
	ev.Time = model.FormatTime(now)
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encoding event: %w", err)
	}
	if err := ctx.GetStub().SetEvent(ev.Name, b); err != nil {
		return fmt.Errorf("setting event: %w", err)
	}
	return nil
}

// marshalString renders v as the JSON string a transaction returns.
func marshalString(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encoding %T: %w", v, err)
	}
	return string(b), nil
}

// normaliseCategories validates a category list and returns it sorted with
// duplicates refused.
func normaliseCategories(cats []string) ([]string, error) {
	if len(cats) == 0 {
		return nil, model.Errf(model.CodeInvalidArgument, "categories must not be empty")
	}
	if len(cats) > maxCategories {
		return nil, model.Errf(model.CodeInputTooLarge, "at most %d categories", maxCategories)
	}
	out := append([]string(nil), cats...)
	sort.Strings(out)
	for i, c := range out {
		if !model.ValidCategoryCode(c) {
			return nil, model.Errf(model.CodeInvalidArgument, "category code %q is not valid", c)
		}
		if i > 0 && out[i-1] == c {
			return nil, model.Errf(model.CodeInvalidArgument, "category %q is listed twice", c)
		}
	}
	return out, nil
}

// normaliseHash lower-cases a hex SHA-256 digest and validates it.
func normaliseHash(field, h string) (string, error) {
	h = strings.ToLower(h)
	if !model.ValidHash(h) {
		return "", model.Errf(model.CodeInvalidArgument, "%s must be a hex SHA-256 digest", field)
	}
	return h, nil
}

// checkName validates a human-readable name of an organisation or a category.
func checkName(field, s string) error {
	if strings.TrimSpace(s) == "" {
		return model.Errf(model.CodeInvalidArgument, "%s must not be empty", field)
	}
	if len(s) > maxNameLen {
		return model.Errf(model.CodeInvalidArgument, "%s is longer than %d bytes", field, maxNameLen)
	}
	if strings.ContainsAny(s, "\x00\n\r") {
		return model.Errf(model.CodeInvalidArgument, "%s contains control characters", field)
	}
	return nil
}

// unmarshalStored decodes a stored JSON value.
func unmarshalStored(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decoding stored %T: %w", v, err)
	}
	return nil
}
