package contract

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/quanchain/quanchain/chaincode/model"
)

// maxHistory bounds the versions History returns.
const maxHistory = 1000

// historyTypes are the object types whose key history may be read.
// Authorisations and accesses show the history of their public records;
// citizens have none in the world state.
var historyTypes = []string{keyConfig, keyInstitution, keyCategory, keyPurpose,
	keyAuth, keyAnchor, keyBatch, keyRevocation, keyAccess}

// History returns the committed versions of one object's key, newest first
// as the peer's history database returns them (at most 1000):
// objectType is one of config, institution, category, purpose, auth,
// anchor, batch, revocation, access; id is the object's id (empty for config).
func (c *RegistryContract) History(ctx contractapi.TransactionContextInterface, objectType string, id string) (string, error) {
	known := false
	for _, t := range historyTypes {
		known = known || t == objectType
	}
	if !known {
		return "", model.Errf(model.CodeInvalidArgument, "object type must be one of %s", strings.Join(historyTypes, ", "))
	}
	var attrs []string
	if objectType != keyConfig {
		if id == "" {
			return "", model.Errf(model.CodeInvalidArgument, "id must not be empty")
		}
		attrs = []string{id}
	}
	k, err := key(ctx, objectType, attrs...)
	if err != nil {
		return "", err
	}
	it, err := ctx.GetStub().GetHistoryForKey(k)
	if err != nil {
		return "", fmt.Errorf("reading key history: %w", err)
	}
	defer it.Close()
	out := []model.HistoryEntry{}
	for it.HasNext() && len(out) < maxHistory {
		m, err := it.Next()
		if err != nil {
			return "", fmt.Errorf("reading key history: %w", err)
		}
		e := model.HistoryEntry{TxID: m.GetTxId(), IsDelete: m.GetIsDelete(), Value: string(m.GetValue())}
		if ts := m.GetTimestamp(); ts != nil {
			e.Timestamp = model.FormatTime(ts.AsTime())
		}
		out = append(out, e)
	}
	return marshalString(out)
}

// pageSizeOf validates a requested page size; 0 means the default.
func pageSizeOf(n int32) (int32, error) {
	switch {
	case n == 0:
		return defaultPageSize, nil
	case n < 0 || n > maxPageSize:
		return 0, model.Errf(model.CodeInvalidArgument, "page size must be between 1 and %d", maxPageSize)
	}
	return n, nil
}

// encodeBookmark makes a peer bookmark (a composite key) opaque to clients.
func encodeBookmark(k string) string {
	if k == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(k))
}

// decodeBookmark reverses encodeBookmark and checks that the key lies in the
// listing's key space, so a bookmark cannot be used to read another index.
func decodeBookmark(bookmark, prefix string) (string, error) {
	if bookmark == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(bookmark)
	if err != nil || !strings.HasPrefix(string(b), prefix) {
		return "", model.Errf(model.CodeInvalidArgument, "bookmark is not valid for this listing")
	}
	return string(b), nil
}

// list pages through the table's objects in key order.
func (t table[T]) list(ctx contractapi.TransactionContextInterface, pageSize int32, bookmark string) (string, error) {
	objectType := t.objectType
	size, err := pageSizeOf(pageSize)
	if err != nil {
		return "", err
	}
	prefix, err := key(ctx, objectType)
	if err != nil {
		return "", err
	}
	start, err := decodeBookmark(bookmark, prefix)
	if err != nil {
		return "", err
	}
	it, meta, err := ctx.GetStub().GetStateByPartialCompositeKeyWithPagination(objectType, nil, size, start)
	if err != nil {
		return "", fmt.Errorf("listing %s: %w", objectType, err)
	}
	defer it.Close()
	page := model.Page[T]{Items: []T{}}
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return "", fmt.Errorf("listing %s: %w", objectType, err)
		}
		var v T
		if err := unmarshalStored(kv.GetValue(), &v); err != nil {
			return "", err
		}
		page.Items = append(page.Items, v)
	}
	page.Bookmark = encodeBookmark(meta.GetBookmark())
	return marshalString(page)
}

// indexQuery selects entries of a time-ordered secondary index whose
// attributes are [owner, time, id].
type indexQuery struct {
	index    string
	owner    string
	since    string // inclusive lower bound on time, TimeFormat; may be empty
	until    string // inclusive upper bound on time, TimeFormat; may be empty
	pageSize int32
	bookmark string
}

// bounds validates the page size and returns it with the key the listing
// starts at: the bookmark's, else the first of since, else "" (the index's
// start).
func (q indexQuery) bounds(ctx contractapi.TransactionContextInterface) (int32, string, error) {
	size, err := pageSizeOf(q.pageSize)
	if err != nil {
		return 0, "", err
	}
	prefix, err := key(ctx, q.index, q.owner)
	if err != nil {
		return 0, "", err
	}
	start, err := decodeBookmark(q.bookmark, prefix)
	if err != nil {
		return 0, "", err
	}
	if start == "" && q.since != "" {
		if start, err = key(ctx, q.index, q.owner, q.since); err != nil {
			return 0, "", err
		}
	}
	return size, start, nil
}

// listIndex pages through an index, loading each object and keeping those
// keep accepts. It reads at most maxScan index entries per call; the
// bookmark then lets the caller go on.
func listIndex[T any](ctx contractapi.TransactionContextInterface, q indexQuery,
	load func(id string) (*T, error), keep func(*T) bool) (*model.Page[T], error) {
	size, start, err := q.bounds(ctx)
	if err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	page := &model.Page[T]{Items: []T{}}
	scanned := 0
	for {
		it, meta, err := stub.GetStateByPartialCompositeKeyWithPagination(q.index, []string{q.owner}, size, start)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", q.index, err)
		}
		next, done, err := consumeIndex(stub, it, q, size, page, load, keep)
		it.Close()
		if err != nil {
			return nil, err
		}
		if done {
			page.Bookmark = encodeBookmark(next)
			return page, nil
		}
		scanned += int(meta.GetFetchedRecordsCount())
		start = meta.GetBookmark()
		if start == "" || int32(len(page.Items)) >= size || scanned >= maxScan {
			page.Bookmark = encodeBookmark(start)
			return page, nil
		}
	}
}

// consumeIndex reads one fetched page of index entries into page. It reports
// done when the listing ends inside this fetch (page full, or past until),
// with next the key to resume from ("" when nothing is left).
func consumeIndex[T any](stub shim.ChaincodeStubInterface, it shim.StateQueryIteratorInterface, q indexQuery,
	size int32, page *model.Page[T], load func(string) (*T, error), keep func(*T) bool) (string, bool, error) {
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return "", false, fmt.Errorf("listing %s: %w", q.index, err)
		}
		if int32(len(page.Items)) >= size {
			return kv.GetKey(), true, nil
		}
		_, attrs, err := stub.SplitCompositeKey(kv.GetKey())
		if err != nil || len(attrs) != 3 {
			return "", false, fmt.Errorf("listing %s: malformed index key", q.index)
		}
		if q.until != "" && attrs[1] > q.until {
			return "", true, nil
		}
		v, err := load(attrs[2])
		if err != nil {
			return "", false, err
		}
		if keep == nil || keep(v) {
			page.Items = append(page.Items, *v)
		}
	}
	return "", false, nil
}
