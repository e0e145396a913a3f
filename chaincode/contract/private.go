package contract

import (
	"encoding/json"
	"fmt"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/queryresult"

	"github.com/quanchain/quanchain/chaincode/model"
)

// Private records (docs/privacy.md). An authorisation and an access each
// have a public record (model.Authorization.Public, model.Access.Public)
// in the world state and a private record, the whole object, in the
// collection of their requester (model.CollectionOf), under the same
// composite key. The citizen's indexes and device keys live only in the
// collection. Each write puts both records, so they never disagree; a read
// checks the private record against the hash in the public one.

// privateErr turns a peer's refusal of a private data call into a stable
// error: the collection is not in the chaincode definition, or this peer
// does not serve it to this client.
func privateErr(collection string, err error) error {
	return model.Errf(model.CodeCollectionNotFound,
		"private data collection %s is not available to this transaction: %v", collection, err)
}

// getPrivate reads the private value at k in collection into v and returns
// the stored bytes; found is false if there is none.
func getPrivate(ctx contractapi.TransactionContextInterface, collection, k string, v any) ([]byte, bool, error) {
	b, err := ctx.GetStub().GetPrivateData(collection, k)
	if err != nil {
		return nil, false, privateErr(collection, err)
	}
	if b == nil {
		return nil, false, nil
	}
	if err := unmarshalStored(b, v); err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// putPrivate writes v at k in collection and returns the stored bytes.
func putPrivate(ctx contractapi.TransactionContextInterface, collection, k string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", v, err)
	}
	if err := ctx.GetStub().PutPrivateData(collection, k, b); err != nil {
		return nil, privateErr(collection, err)
	}
	return b, nil
}

// putPrivateIndex writes an index entry in collection.
func putPrivateIndex(ctx contractapi.TransactionContextInterface, collection, objectType string, attrs ...string) error {
	k, err := key(ctx, objectType, attrs...)
	if err != nil {
		return err
	}
	if err := ctx.GetStub().PutPrivateData(collection, k, []byte{0}); err != nil {
		return privateErr(collection, err)
	}
	return nil
}

// transient decodes the private input name of the transaction into v,
// with the checks decodeStrict applies to arguments.
func transient(ctx contractapi.TransactionContextInterface, name string, v any) error {
	m, err := ctx.GetStub().GetTransient()
	if err != nil {
		return fmt.Errorf("reading transient data: %w", err)
	}
	b, ok := m[name]
	if !ok {
		return model.Errf(model.CodeInvalidArgument, "the private input %q is missing from the proposal's transient data", name)
	}
	return decodeStrict(string(b), v)
}

// mayRead checks that the caller may read the private records of
// requester: that requester itself, the operator or an auditor. Every
// other member gets FORBIDDEN_MSP, even though its peer could not serve
// the collection anyway: the rule holds on every peer.
func mayRead(ctx contractapi.TransactionContextInterface, requester string) error {
	msp, err := callerMSP(ctx)
	if err != nil {
		return err
	}
	if msp == requester {
		return nil
	}
	cfg, err := config.load(ctx, "")
	if err != nil {
		return err
	}
	if msp == cfg.OperatorMSP {
		return nil
	}
	inst, found, err := institutions.get(ctx, msp)
	if err != nil {
		return err
	}
	if found && inst.Kind == model.KindAuditor && inst.Status == model.StatusActive {
		return nil
	}
	return model.Errf(model.CodeForbiddenMSP, "%s may read only its own authorisations and accesses", msp)
}

// checkRequesterCollection checks that requester is a registered
// institution that may request, before a transaction writes its
// collection.
func checkRequesterCollection(ctx contractapi.TransactionContextInterface, requester string) error {
	inst, err := institutions.load(ctx, requester)
	if err != nil {
		return err
	}
	if !inst.Kind.MayRequest() {
		return model.Errf(model.CodeInvalidArgument, "%s is a %s and has no authorisations", requester, inst.Kind)
	}
	return nil
}

// loadAuth reads an authorisation's public record, checks that the caller
// may read it, and returns the private record (the whole authorisation).
func loadAuth(ctx contractapi.TransactionContextInterface, id string) (*model.Authorization, error) {
	pub, err := authorizations.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := mayRead(ctx, pub.Requester); err != nil {
		return nil, err
	}
	return privateAuth(ctx, pub)
}

// privateAuth returns the private record behind pub.
func privateAuth(ctx contractapi.TransactionContextInterface, pub *model.Authorization) (*model.Authorization, error) {
	k, err := authorizations.key(ctx, pub.ID)
	if err != nil {
		return nil, err
	}
	var a model.Authorization
	b, found, err := getPrivate(ctx, model.CollectionOf(pub.Requester), k, &a)
	if err != nil {
		return nil, err
	}
	if !found || model.PrivateHash(b) != pub.PrivateHash {
		return nil, model.Errf(model.CodeInternal, "this peer does not hold the private record of authorisation %s that the ledger commits to", pub.ID)
	}
	a.PrivateHash = pub.PrivateHash
	return &a, nil
}

// saveAuth writes an authorisation: the whole record in its requester's
// collection, the public record in the world state. It returns the public
// record, the only one a writing transaction may return (its answer is in
// the block).
func saveAuth(ctx contractapi.TransactionContextInterface, a *model.Authorization) (*model.Authorization, error) {
	k, err := authorizations.key(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	priv := *a
	priv.PrivateHash = ""
	b, err := putPrivate(ctx, model.CollectionOf(a.Requester), k, &priv)
	if err != nil {
		return nil, err
	}
	pub := a.Public(b)
	if err := putJSON(ctx, k, pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// loadAccess reads an access's public record, checks that the caller may
// read it and returns the private record.
func loadAccess(ctx contractapi.TransactionContextInterface, id string) (*model.Access, error) {
	pub, err := accesses.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := mayRead(ctx, pub.Requester); err != nil {
		return nil, err
	}
	k, err := accesses.key(ctx, id)
	if err != nil {
		return nil, err
	}
	var acc model.Access
	b, found, err := getPrivate(ctx, model.CollectionOf(pub.Requester), k, &acc)
	if err != nil {
		return nil, err
	}
	if !found || model.PrivateHash(b) != pub.PrivateHash {
		return nil, model.Errf(model.CodeInternal, "this peer does not hold the private record of access %s that the ledger commits to", id)
	}
	acc.PrivateHash = pub.PrivateHash
	return &acc, nil
}

// listPrivateIndex pages through a citizen's index in a collection, like
// listIndex over the world state. Fabric neither paginates private range
// queries nor starts them at a key, so the query reads the owner's whole
// index and a window keeps the entries from the bookmark on, at most
// maxScan of them per call.
func listPrivateIndex[T any](ctx contractapi.TransactionContextInterface, collection string, q indexQuery,
	load func(id string) (*T, error), keep func(*T) bool) (*model.Page[T], error) {
	size, start, err := q.bounds(ctx)
	if err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	it, err := stub.GetPrivateDataByPartialCompositeKey(collection, q.index, []string{q.owner})
	if err != nil {
		return nil, privateErr(collection, err)
	}
	defer it.Close()
	w := &window{it: it, start: start, left: maxScan}
	page := &model.Page[T]{Items: []T{}}
	next, done, err := consumeIndex(stub, w, q, size, page, load, keep)
	switch {
	case err != nil:
		return nil, err
	case w.err != nil:
		return nil, fmt.Errorf("listing %s: %w", q.index, w.err)
	case done:
		page.Bookmark = encodeBookmark(next)
	default:
		page.Bookmark = encodeBookmark(w.cut)
	}
	return page, nil
}

// window passes on a query's results from the key start on, at most left
// of them; cut is the first key it held back once full.
type window struct {
	it    shim.StateQueryIteratorInterface
	start string
	left  int
	next  *queryresult.KV
	cut   string
	err   error
}

// HasNext implements shim.StateQueryIteratorInterface.
func (w *window) HasNext() bool {
	for w.next == nil && w.err == nil && w.it.HasNext() {
		kv, err := w.it.Next()
		if err != nil {
			w.err = err
			return false
		}
		if kv.GetKey() >= w.start {
			w.next = kv
		}
	}
	if w.next != nil && w.left == 0 {
		w.cut = w.next.GetKey()
		return false
	}
	return w.next != nil
}

// Next implements shim.StateQueryIteratorInterface.
func (w *window) Next() (*queryresult.KV, error) {
	if !w.HasNext() {
		return nil, fmt.Errorf("no more entries")
	}
	kv := w.next
	w.next, w.left = nil, w.left-1
	return kv, nil
}

// Close implements shim.StateQueryIteratorInterface; the query is closed
// by its caller.
func (w *window) Close() error { return nil }
