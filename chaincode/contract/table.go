package contract

import (
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/quanchain/quanchain/chaincode/model"
)

// table is how one type of primary object is stored: the object type of its
// composite key, the rule its id meets, and the errors a reader or a creator
// gets. Each stored type is declared once, below; transactions read, create
// and write through it, so a type's error codes and messages, which reach
// clients, are written in one place.
type table[T any] struct {
	objectType string
	singleton  bool              // one object, stored under a key without an id
	validID    func(string) bool // nil where ids are checked by the transaction
	invalid    fault             // an id validID refuses
	notFound   fault             // load found nothing
	exists     fault             // newKey found an object already
}

// fault is one error of a table: its stable code and its message, in which
// the one verb (%s or %q) stands for the object's id. A message without a
// verb does not name the id.
type fault struct {
	code   model.Code
	format string
}

func (f fault) err(id string) error {
	if !strings.Contains(f.format, "%") {
		return &model.Error{Code: f.code, Message: f.format}
	}
	return model.Errf(f.code, f.format, id)
}

var (
	config = table[model.Config]{
		objectType: keyConfig,
		singleton:  true,
		notFound:   fault{model.CodeNotBootstrapped, "the registry has not been bootstrapped"},
		exists:     fault{model.CodeAlreadyBootstrapped, "the registry is already bootstrapped"},
	}
	institutions = table[model.Institution]{
		objectType: keyInstitution,
		validID:    model.ValidMSPID,
		invalid:    fault{model.CodeInvalidArgument, "MSP ID %q is not valid"},
		notFound:   fault{model.CodeInstitutionNotFound, "institution %s is not registered"},
		exists:     fault{model.CodeAlreadyExists, "institution %s is already registered"},
	}
	categories = table[model.Category]{
		objectType: keyCategory,
		validID:    model.ValidCategoryCode,
		invalid:    fault{model.CodeInvalidArgument, "category code %q is not valid"},
		notFound:   fault{model.CodeCategoryNotFound, "category %s is not registered"},
		exists:     fault{model.CodeAlreadyExists, "category %s is already registered"},
	}
	purposes = table[model.Purpose]{
		objectType: keyPurpose,
		validID:    model.ValidPurposeCode,
		invalid:    fault{model.CodeInvalidArgument, "purpose code %q is not valid"},
		notFound:   fault{model.CodePurposeNotFound, "purpose %s is not registered"},
		exists:     fault{model.CodeAlreadyExists, "purpose %s is already registered"},
	}
	// citizens are created by their first device key, never refused as
	// duplicates, so the table has no exists error.
	citizens = table[model.Citizen]{
		objectType: keyCitizen,
		validID:    model.ValidHash,
		invalid:    fault{model.CodeInvalidArgument, "citizen_ref must be a pseudonym (64 lower-case hex characters)"},
		notFound:   fault{model.CodeCitizenNotFound, "no device key is enrolled for this citizen"},
	}
	authorizations = table[model.Authorization]{
		objectType: keyAuth,
		validID:    model.ValidID,
		invalid:    fault{model.CodeInvalidArgument, "authorisation id %q is not valid"},
		notFound:   fault{model.CodeAuthNotFound, "authorisation %s does not exist"},
		exists:     fault{model.CodeAlreadyExists, "authorisation %s already exists"},
	}
	// anchors and revocations are keyed by a record hash the transaction has
	// normalised; a missing one is an answer (VerifyRecord), not an error.
	anchors = table[model.RecordAnchor]{
		objectType: keyAnchor,
		exists:     fault{model.CodeAlreadyExists, "record %s is already anchored"},
	}
	revocations = table[model.Revocation]{
		objectType: keyRevocation,
		exists:     fault{model.CodeRecordRevoked, "record %s is already revoked"},
	}
	batches = table[model.BatchAnchor]{
		objectType: keyBatch,
		validID:    model.ValidID,
		invalid:    fault{model.CodeInvalidArgument, "batch id %q is not valid"},
		notFound:   fault{model.CodeBatchNotFound, "batch %s is not anchored"},
		exists:     fault{model.CodeAlreadyExists, "batch %s is already anchored"},
	}
	accesses = table[model.Access]{
		objectType: keyAccess,
		validID:    model.ValidID,
		invalid:    fault{model.CodeInvalidArgument, "access id %q is not valid"},
		notFound:   fault{model.CodeAccessNotFound, "access %s does not exist"},
		exists:     fault{model.CodeAlreadyExists, "access %s is already recorded"},
	}
)

// checkID applies the table's id rule.
func (t table[T]) checkID(id string) error {
	if t.validID != nil && !t.validID(id) {
		return t.invalid.err(id)
	}
	return nil
}

// key builds the primary key of the object with this id.
func (t table[T]) key(ctx contractapi.TransactionContextInterface, id string) (string, error) {
	if t.singleton {
		return key(ctx, t.objectType)
	}
	return key(ctx, t.objectType, id)
}

// get reads the object with this id; found is false if there is none.
func (t table[T]) get(ctx contractapi.TransactionContextInterface, id string) (v *T, found bool, err error) {
	if err := t.checkID(id); err != nil {
		return nil, false, err
	}
	k, err := t.key(ctx, id)
	if err != nil {
		return nil, false, err
	}
	v = new(T)
	if found, err = getJSON(ctx, k, v); err != nil || !found {
		return nil, false, err
	}
	return v, true, nil
}

// load reads the object with this id, or returns the table's not-found error.
func (t table[T]) load(ctx contractapi.TransactionContextInterface, id string) (*T, error) {
	v, found, err := t.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, t.notFound.err(id)
	}
	return v, nil
}

// newKey returns the key for a new object with this id, or the table's
// exists error if the key holds one already. The id comes validated with the
// request. Checking and writing are two steps so that a transaction checks
// the rest of its request in between and writes the object with putJSON once
// built: RecordAccess, for one, refuses a duplicate delivery before it looks
// at the authorisation, and a retry keeps getting ALREADY_EXISTS.
func (t table[T]) newKey(ctx contractapi.TransactionContextInterface, id string) (string, error) {
	k, err := t.key(ctx, id)
	if err != nil {
		return "", err
	}
	dup, err := exists(ctx, k)
	if err != nil {
		return "", err
	}
	if dup {
		return "", t.exists.err(id)
	}
	return k, nil
}

// put writes the object with this id.
func (t table[T]) put(ctx contractapi.TransactionContextInterface, id string, v *T) error {
	k, err := t.key(ctx, id)
	if err != nil {
		return err
	}
	return putJSON(ctx, k, v)
}

// loadHidden is load for a transaction whose choice of object is private:
// it reads every object of the table, so the read set, which every
// member's peer holds, does not say which one the transaction needed. A
// claim's categories, say, would otherwise show in the keys its request
// read. For the small catalogue tables (categories, purposes) only.
func (t table[T]) loadHidden(ctx contractapi.TransactionContextInterface, id string) (*T, error) {
	if err := t.checkID(id); err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	it, err := stub.GetStateByPartialCompositeKey(t.objectType, nil)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", t.objectType, err)
	}
	defer it.Close()
	var found *T
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", t.objectType, err)
		}
		_, attrs, err := stub.SplitCompositeKey(kv.GetKey())
		if err != nil || len(attrs) != 1 {
			return nil, fmt.Errorf("reading %s: malformed key", t.objectType)
		}
		if attrs[0] != id {
			continue
		}
		v := new(T)
		if err := unmarshalStored(kv.GetValue(), v); err != nil {
			return nil, err
		}
		found = v
	}
	if found == nil {
		return nil, t.notFound.err(id)
	}
	return found, nil
}
