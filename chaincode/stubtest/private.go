package stubtest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/queryresult"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
)

// Private data collections, as a peer with the chaincode's collection
// configuration serves them to a client:
//
//   - A collection has member organisations. Only a client of a member may
//     read it or write it (memberOnlyRead and memberOnlyWrite, which this
//     network sets on every collection).
//   - Private reads and writes are validated for MVCC like public ones.
//   - The block holds only the hashes of private keys and values
//     (Transaction.PrivateWrites); the values themselves reach only the
//     members' peers (Ledger.PrivateBytes).
//   - Range queries on private data are not paginated and not checked for
//     phantoms, as in Fabric.
//
// Private keys live in the same version space as public ones, under a key
// prefix no chaincode key can have, so the commit logic serves both.

// ErrCollectionUnknown is returned for a collection the chaincode
// definition does not define.
var ErrCollectionUnknown = errors.New("collection is not defined")

// ErrNotCollectionMember is returned when the transaction's creator is not
// a client of a member organisation of the collection.
var ErrNotCollectionMember = errors.New("tx creator is not a member of the collection")

// pvtPrefix starts every private key in the state: a composite key whose
// object type starts with U+0001, which the shim never creates.
const pvtPrefix = "\x00\x01pvt\x00"

func pvtKey(collection, key string) string { return pvtPrefix + collection + "\x00" + key }

// splitPvtKey returns the collection and key of an internal private key.
func splitPvtKey(k string) (collection, key string, ok bool) {
	rest, found := strings.CutPrefix(k, pvtPrefix)
	if !found {
		return "", "", false
	}
	collection, key, ok = strings.Cut(rest, "\x00")
	return collection, key, ok
}

// PrivateWrite is the trace of a private write in a block: the collection
// and the SHA-256 of the key and of the value, as Fabric's hashed
// read-write set carries them.
type PrivateWrite struct {
	Collection string
	KeyHash    [32]byte
	ValueHash  [32]byte // zero for a delete
	IsDelete   bool
}

// DefineCollection adds a private data collection whose members are the
// organisations mspIDs (replacing an earlier definition of the name).
func (l *Ledger) DefineCollection(name string, mspIDs ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.collections == nil {
		l.collections = make(map[string][]string)
	}
	l.collections[name] = slices.Clone(mspIDs)
}

// CollectionMembers returns the members of a collection, or nil if it is
// not defined.
func (l *Ledger) CollectionMembers(name string) []string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return slices.Clone(l.collections[name])
}

// GetPrivate returns a copy of the committed value of key in collection,
// or nil.
func (l *Ledger) GetPrivate(collection, key string) []byte { return l.Get(pvtKey(collection, key)) }

// PrivateKeys returns the live keys of collection, sorted.
func (l *Ledger) PrivateKeys(collection string) []string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []string
	for _, k := range l.keys {
		if c, key, ok := splitPvtKey(k); ok && c == collection {
			if _, live := l.lookup(k, l.height); live {
				out = append(out, key)
			}
		}
	}
	return out
}

// PrivateBytes returns every private key and value (current and past) of
// the collections mspID is a member of: what that organisation's peer
// holds in its private data store besides the blocks.
func (l *Ledger) PrivateBytes(mspID string) [][]byte {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out [][]byte
	for _, k := range sortedKeys(l.history) {
		c, key, ok := splitPvtKey(k)
		if !ok || !slices.Contains(l.collections[c], mspID) {
			continue
		}
		for _, h := range l.history[k] {
			out = append(out, []byte(key))
			if len(h.mod.Value) > 0 {
				out = append(out, clone(h.mod.Value))
			}
		}
	}
	return out
}

// creatorMSP returns the MSP ID of the transaction's creator.
func (s *Stub) creatorMSP() string {
	var sid msp.SerializedIdentity
	if proto.Unmarshal(s.creator, &sid) != nil {
		return ""
	}
	return sid.Mspid
}

// checkCollection applies the peer's collection checks to the creator.
func (s *Stub) checkCollection(collection, access string) error {
	if collection == "" {
		return errors.New("collection must not be an empty string")
	}
	s.ledger.mu.RLock()
	members, defined := s.ledger.collections[collection]
	s.ledger.mu.RUnlock()
	if !defined {
		return fmt.Errorf("collection [%s] of chaincode [%s]: %w", collection, ChaincodeName, ErrCollectionUnknown)
	}
	if !slices.Contains(members, s.creatorMSP()) {
		return fmt.Errorf("tx creator does not have %s access permission on privatedata in chaincodeName:%s collectionName: %s: %w",
			access, ChaincodeName, collection, ErrNotCollectionMember)
	}
	return nil
}

// GetPrivateData returns the committed value of key in collection as of the
// start of the transaction, or nil. The read is validated at commit.
func (s *Stub) GetPrivateData(collection, key string) ([]byte, error) {
	if err := s.checkCollection(collection, "read"); err != nil {
		return nil, err
	}
	return s.GetState(pvtKey(collection, key))
}

// GetPrivateDataHash returns the SHA-256 of the committed value of key in
// collection, or nil; any organisation's client may ask for it.
func (s *Stub) GetPrivateDataHash(collection, key string) ([]byte, error) {
	if collection == "" {
		return nil, errors.New("collection must not be an empty string")
	}
	v, err := s.GetState(pvtKey(collection, key))
	if err != nil || v == nil {
		return nil, err
	}
	sum := sha256.Sum256(v)
	return sum[:], nil
}

// PutPrivateData adds a write of value at key in collection to the write
// set. Unlike PutState, an empty value is refused, as in Fabric.
func (s *Stub) PutPrivateData(collection, key string, value []byte) error {
	if err := s.checkCollection(collection, "write"); err != nil {
		return err
	}
	if key == "" {
		return errors.New("key must not be an empty string")
	}
	if len(value) == 0 {
		return errors.New("value must not be empty")
	}
	return s.PutState(pvtKey(collection, key), value)
}

// DelPrivateData adds a delete of key in collection to the write set.
func (s *Stub) DelPrivateData(collection, key string) error {
	if err := s.checkCollection(collection, "write"); err != nil {
		return err
	}
	return s.DelState(pvtKey(collection, key))
}

// PurgePrivateData is DelPrivateData (the fake keeps no purge history).
func (s *Stub) PurgePrivateData(collection, key string) error {
	return s.DelPrivateData(collection, key)
}

// SetPrivateDataValidationParameter is not used by the chaincode.
func (s *Stub) SetPrivateDataValidationParameter(collection, _ string, _ []byte) error {
	return fmt.Errorf("stubtest: key-level endorsement on collection [%s] is not supported", collection)
}

// GetPrivateDataValidationParameter is not used by the chaincode.
func (s *Stub) GetPrivateDataValidationParameter(collection, _ string) ([]byte, error) {
	return nil, fmt.Errorf("stubtest: key-level endorsement on collection [%s] is not supported", collection)
}

// GetPrivateDataByRange returns the committed keys of collection in
// [startKey, endKey); an empty bound leaves that side open.
func (s *Stub) GetPrivateDataByRange(collection, startKey, endKey string) (shim.StateQueryIteratorInterface, error) {
	if err := s.checkCollection(collection, "read"); err != nil {
		return nil, err
	}
	if err := s.checkRead(startKey, endKey); err != nil {
		return nil, err
	}
	if err := validateSimpleKeys(startKey, endKey); err != nil {
		return nil, err
	}
	end := pvtKey(collection, endKey)
	if endKey == "" {
		end = pvtKey(collection, "") + string(maxUnicodeRune)
	}
	return s.privateScan(collection, pvtKey(collection, startKey), end), nil
}

// GetPrivateDataByPartialCompositeKey returns the committed keys of
// collection that start with the partial composite key.
func (s *Stub) GetPrivateDataByPartialCompositeKey(collection, objectType string, keys []string) (shim.StateQueryIteratorInterface, error) {
	if err := s.checkCollection(collection, "read"); err != nil {
		return nil, err
	}
	start, end, err := partialKeyRange(objectType, keys)
	if err != nil {
		return nil, err
	}
	return s.privateScan(collection, pvtKey(collection, start), pvtKey(collection, end)), nil
}

func (s *Stub) privateScan(collection, start, end string) shim.StateQueryIteratorInterface {
	l := s.ledger
	l.mu.RLock()
	defer l.mu.RUnlock()
	keys, _, _ := l.scan(start, end, false, s.start, TotalQueryLimit)
	it := &stateIterator{}
	for _, k := range keys {
		e, _ := l.lookup(k, s.start)
		_, key, _ := splitPvtKey(k)
		it.kvs = append(it.kvs, &queryresult.KV{Namespace: ChaincodeName, Key: key, Value: clone(e.value)})
	}
	return it
}

// GetPrivateDataQueryResult fails with ErrRichQueryUnsupported.
func (s *Stub) GetPrivateDataQueryResult(string, string) (shim.StateQueryIteratorInterface, error) {
	return nil, ErrRichQueryUnsupported
}

// splitWrites separates a write set into its public writes and the hashed
// trace of its private ones.
func splitWrites(ws []Write) (public []Write, private []PrivateWrite) {
	for _, w := range ws {
		c, key, ok := splitPvtKey(w.Key)
		if !ok {
			public = append(public, w)
			continue
		}
		pw := PrivateWrite{Collection: c, KeyHash: sha256.Sum256([]byte(key)), IsDelete: w.IsDelete}
		if !w.IsDelete {
			pw.ValueHash = sha256.Sum256(w.Value)
		}
		private = append(private, pw)
	}
	return public, private
}
