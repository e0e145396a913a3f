package stubtest

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/queryresult"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Key-space constants of the shim.
const (
	compositeKeyNamespace = "\x00"
	emptyKeySubstitute    = "\x01"
	maxUnicodeRune        = utf8.MaxRune
)

// rangeRead is the range query information a transaction records for phantom
// read detection: the keys and versions it read in [start, end), or in
// [start, end] when the scan stopped early (then end is the last key read).
type rangeRead struct {
	start, end   string
	inclusiveEnd bool
	keys         []string
	versions     []uint64
}

// CreateCompositeKey builds a composite key exactly as the shim does:
// U+0000, objectType, U+0000, then each attribute followed by U+0000.
func (s *Stub) CreateCompositeKey(objectType string, attributes []string) (string, error) {
	return shim.CreateCompositeKey(objectType, attributes)
}

// SplitCompositeKey splits a composite key into its object type and
// attributes, with the shim's algorithm. Where the shim would panic (a key
// without any U+0000 after its first byte) it returns an error.
func (s *Stub) SplitCompositeKey(compositeKey string) (string, []string, error) {
	componentIndex := 1
	var components []string
	for i := 1; i < len(compositeKey); i++ {
		if compositeKey[i] == 0 {
			components = append(components, compositeKey[componentIndex:i])
			componentIndex = i + 1
		}
	}
	if len(components) == 0 {
		return "", nil, fmt.Errorf("not a composite key: [%x]", compositeKey)
	}
	return components[0], components[1:], nil
}

// validateSimpleKeys refuses range bounds in the composite key namespace, with
// the shim's error text.
func validateSimpleKeys(keys ...string) error {
	for _, key := range keys {
		if len(key) > 0 && key[0] == compositeKeyNamespace[0] {
			return fmt.Errorf(`first character of the key [%s] contains a null character which is not allowed`, key)
		}
	}
	return nil
}

// partialKeyRange returns the key range the shim queries for a partial
// composite key.
func partialKeyRange(objectType string, attributes []string) (string, string, error) {
	prefix, err := shim.CreateCompositeKey(objectType, attributes)
	if err != nil {
		return "", "", err
	}
	return prefix, prefix + string(maxUnicodeRune), nil
}

// GetStateByRange returns the committed keys in [startKey, endKey) in lexical
// order. An empty startKey or endKey leaves that side unbounded (composite
// keys excluded); bounds starting with U+0000 are refused. The range is
// recorded for phantom read detection.
func (s *Stub) GetStateByRange(startKey, endKey string) (shim.StateQueryIteratorInterface, error) {
	if startKey == "" {
		startKey = emptyKeySubstitute
	}
	if err := validateSimpleKeys(startKey, endKey); err != nil {
		return nil, err
	}
	it, _, err := s.rangeQuery(startKey, endKey, 0, "")
	if err != nil {
		return nil, err
	}
	return it, nil
}

// GetStateByRangeWithPagination returns one page of GetStateByRange; see
// rangeQuery for the page and bookmark semantics.
func (s *Stub) GetStateByRangeWithPagination(startKey, endKey string, pageSize int32,
	bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	if startKey == "" {
		startKey = emptyKeySubstitute
	}
	if err := validateSimpleKeys(startKey, endKey); err != nil {
		return nil, nil, err
	}
	return s.rangeQuery(startKey, endKey, pageSize, bookmark)
}

// GetStateByPartialCompositeKey returns the committed composite keys that
// start with the given object type and attributes.
func (s *Stub) GetStateByPartialCompositeKey(objectType string, keys []string) (shim.StateQueryIteratorInterface, error) {
	start, end, err := partialKeyRange(objectType, keys)
	if err != nil {
		return nil, err
	}
	it, _, err := s.rangeQuery(start, end, 0, "")
	if err != nil {
		return nil, err
	}
	return it, nil
}

// GetStateByPartialCompositeKeyWithPagination returns one page of
// GetStateByPartialCompositeKey; see rangeQuery for the page and bookmark
// semantics.
func (s *Stub) GetStateByPartialCompositeKeyWithPagination(objectType string, keys []string,
	pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	start, end, err := partialKeyRange(objectType, keys)
	if err != nil {
		return nil, nil, err
	}
	return s.rangeQuery(start, end, pageSize, bookmark)
}

// rangeQuery runs a range query as the peer's handler does against LevelDB.
//
// A query is paginated unless pageSize is 0 and bookmark is empty. A
// paginated query starts at the bookmark when it is not empty (inclusive),
// otherwise at startKey; it returns at most pageSize records (no page limit
// when pageSize <= 0), and its metadata carries the number of records
// returned and, as bookmark, the first key after the page in the range, or ""
// when the range is exhausted. So "call with bookmark ""; repeat with the
// returned bookmark while it is not empty" visits every key exactly once.
// A paginated query is refused once the transaction has written, and writes
// are refused after one, as in Fabric. Every query returns at most
// TotalQueryLimit records; a non-paginated query returns empty metadata.
func (s *Stub) rangeQuery(startKey, endKey string, pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	if err := s.checkRead(startKey, endKey, bookmark); err != nil {
		return nil, nil, err
	}
	paginated := pageSize != 0 || bookmark != ""
	if paginated {
		if s.writePerformed {
			return nil, nil, fmt.Errorf("txid [%s]: unsuppored transaction. Paginated queries are supported only in a read-only transaction", s.txID)
		}
		s.paginatedQuery = true
		if bookmark != "" {
			startKey = bookmark
		}
	}
	limit := TotalQueryLimit
	if pageSize > 0 && int(pageSize) < limit {
		limit = int(pageSize)
	}

	l := s.ledger
	l.mu.RLock()
	defer l.mu.RUnlock()
	keys, next, more := l.scan(startKey, endKey, false, s.start, limit)
	rr := rangeRead{start: startKey, end: endKey}
	if len(keys) == limit {
		// The peer stops reading when the limit is reached, so only the
		// range up to the last key returned is validated.
		rr.end, rr.inclusiveEnd = keys[len(keys)-1], true
	}
	it := &stateIterator{}
	for _, k := range keys {
		e, _ := l.lookup(k, s.start)
		rr.keys = append(rr.keys, k)
		rr.versions = append(rr.versions, e.block)
		it.kvs = append(it.kvs, &queryresult.KV{Namespace: ChaincodeName, Key: k, Value: clone(e.value)})
	}
	s.ranges = append(s.ranges, rr)

	md := &peer.QueryResponseMetadata{}
	if paginated {
		md.FetchedRecordsCount = int32(len(keys))
		if more {
			md.Bookmark = next
		}
	}
	return it, md, nil
}

// GetHistoryForKey returns the committed writes to key as of the start of the
// transaction, newest first as in Fabric 2.x. History reads are not validated
// at commit.
func (s *Stub) GetHistoryForKey(key string) (shim.HistoryQueryIteratorInterface, error) {
	if err := s.checkRead(key); err != nil {
		return nil, err
	}
	l := s.ledger
	l.mu.RLock()
	defer l.mu.RUnlock()
	hs := l.history[key]
	it := &historyIterator{}
	for i := len(hs) - 1; i >= 0; i-- {
		if hs[i].block > s.start {
			continue
		}
		m := hs[i].mod
		it.mods = append(it.mods, &queryresult.KeyModification{
			TxId:      m.TxID,
			Value:     clone(m.Value),
			Timestamp: timestamppb.New(m.Timestamp),
			IsDelete:  m.IsDelete,
		})
	}
	return it, nil
}

// ErrRichQueryUnsupported is returned by the rich query methods: LevelDB, the
// state database of this network, has no rich queries.
var ErrRichQueryUnsupported = errors.New("ExecuteQuery not supported for leveldb")

// GetQueryResult fails with ErrRichQueryUnsupported.
func (s *Stub) GetQueryResult(string) (shim.StateQueryIteratorInterface, error) {
	return nil, ErrRichQueryUnsupported
}

// GetQueryResultWithPagination fails like the peer: first the read-only
// check of paginated queries, then ErrRichQueryUnsupported.
func (s *Stub) GetQueryResultWithPagination(string, int32, string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	if s.writePerformed {
		return nil, nil, fmt.Errorf("txid [%s]: unsuppored transaction. Paginated queries are supported only in a read-only transaction", s.txID)
	}
	s.paginatedQuery = true
	return nil, nil, ErrRichQueryUnsupported
}

// stateIterator serves the results of a range query.
type stateIterator struct {
	kvs []*queryresult.KV
	pos int
}

// HasNext reports whether Next has a result.
func (it *stateIterator) HasNext() bool { return it.pos < len(it.kvs) }

// Next returns the next key and value, or the shim's error when there is none.
func (it *stateIterator) Next() (*queryresult.KV, error) {
	if it.pos >= len(it.kvs) {
		return nil, errors.New("no such key")
	}
	it.pos++
	return it.kvs[it.pos-1], nil
}

// Close releases the iterator.
func (it *stateIterator) Close() error { return nil }

// historyIterator serves the results of a history query.
type historyIterator struct {
	mods []*queryresult.KeyModification
	pos  int
}

// HasNext reports whether Next has a result.
func (it *historyIterator) HasNext() bool { return it.pos < len(it.mods) }

// Next returns the next modification, or the shim's error when there is none.
func (it *historyIterator) Next() (*queryresult.KeyModification, error) {
	if it.pos >= len(it.mods) {
		return nil, errors.New("no such key")
	}
	it.pos++
	return it.mods[it.pos-1], nil
}

// Close releases the iterator.
func (it *historyIterator) Close() error { return nil }
