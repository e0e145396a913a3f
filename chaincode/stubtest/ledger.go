// Package stubtest is an in-memory fake of the Fabric chaincode stub
// (shim.ChaincodeStubInterface) for the chaincode's unit tests, and for
// the tests of its clients, which run the real contracts over it through
// ledger/ledgertest.
//
// It models what a peer with a LevelDB state database does to a transaction:
//
//   - A Ledger holds the committed world state, the history of every key and
//     the log of committed transactions with their chaincode event.
//   - Ledger.NewTx starts a transaction simulation. Its Stub reads the state
//     as it was committed when the transaction started and never sees its own
//     writes; writes go to a write set.
//   - Stub.Commit validates the transaction like the committing peer
//     (duplicate transaction ID, MVCC read conflicts, phantom reads in range
//     queries) and applies the write set and the event atomically. A Stub that
//     is never committed leaves no trace on the ledger.
//
// Every commit is its own block, so a key's version is the block number that
// last wrote it.
package stubtest

import (
	"encoding/pem"
	"sort"
	"sync"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
)

// ChaincodeName is the chaincode name the fake peer reports: the namespace of
// query results and the chaincode ID of events and proposals.
const ChaincodeName = "quanchain"

// TotalQueryLimit caps the number of records one range query returns, as the
// peer's core.yaml ledger.state.totalQueryLimit does (default 100000).
const TotalQueryLimit = 100000

// KeyModification is one committed write to a key, as GetHistoryForKey
// reports it.
type KeyModification struct {
	TxID      string    // the writing transaction
	Timestamp time.Time // the writing transaction's timestamp
	IsDelete  bool      // the write deleted the key
	Value     []byte    // the value written; nil for a delete
}

// Write is one entry of a transaction's write set. Like Fabric, a PutState
// with an empty value is a delete.
type Write struct {
	Key      string // the key written
	Value    []byte // the value; empty for a delete
	IsDelete bool   // the write deletes the key
}

// MetadataWrite is one key-level metadata update (for example a state-based
// endorsement policy) in a transaction's write set.
type MetadataWrite struct {
	Key     string            // the key whose metadata is set
	Entries map[string][]byte // metadata name (e.g. VALIDATION_PARAMETER) to value
}

// Transaction is one transaction in the ledger's log. Transactions that fail
// validation are logged too, as Fabric keeps them in the block with their
// validation code, but they change neither state nor history.
type Transaction struct {
	Block          uint64                // block number; every commit is its own block
	TxID           string                // the transaction ID
	Timestamp      time.Time             // the proposal timestamp
	Creator        []byte                // the serialized identity of the submitter
	Args           [][]byte              // the chaincode input, function name first
	ReadKeys       []string              // public keys of the read set, range query results included
	Writes         []Write               // the public write set, sorted by key
	PrivateWrites  []PrivateWrite        // the hashed trace of the private writes
	MetadataWrites []MetadataWrite       // key-level metadata updates, sorted by key
	Event          *peer.ChaincodeEvent  // nil if the transaction set none
	ValidationCode peer.TxValidationCode // VALID or why the committer refused it
}

// entry is the state of one key from the block that wrote it on; a nil value
// is a tombstone.
type entry struct {
	block    uint64
	value    []byte
	metadata map[string][]byte
}

// historyEntry is a KeyModification with the block that committed it.
type historyEntry struct {
	block uint64
	mod   KeyModification
}

// Ledger is the committed side of the fake: world state, key history and the
// transaction log of one channel. It is safe for concurrent use.
type Ledger struct {
	mu      sync.RWMutex
	channel string
	height  uint64             // number of blocks committed
	states  map[string][]entry // every state of each key, oldest first
	keys    []string           // sorted; every key that ever had a state
	history map[string][]historyEntry
	txs     []Transaction
	txIDs   map[string]int // transaction ID to its first entry in txs
	// collections maps each private data collection to its members.
	collections map[string][]string
}

// NewLedger returns an empty ledger for the named channel.
func NewLedger(channel string) *Ledger {
	return &Ledger{
		channel: channel,
		states:  make(map[string][]entry),
		history: make(map[string][]historyEntry),
		txIDs:   make(map[string]int),
	}
}

// ChannelID returns the ledger's channel name.
func (l *Ledger) ChannelID() string { return l.channel }

// Height returns the number of blocks (committed transactions, valid or not).
func (l *Ledger) Height() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.height
}

// Get returns a copy of the committed value of key, or nil if it has none.
func (l *Ledger) Get(key string) []byte {
	l.mu.RLock()
	defer l.mu.RUnlock()
	e, ok := l.lookup(key, l.height)
	if !ok {
		return nil
	}
	return clone(e.value)
}

// Keys returns every key in the committed world state, sorted. Composite keys
// (which start with U+0000) sort first.
func (l *Ledger) Keys() []string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []string
	for _, k := range l.keys {
		if _, private, _ := splitPvtKey(k); private != "" {
			continue
		}
		if _, ok := l.lookup(k, l.height); ok {
			out = append(out, k)
		}
	}
	return out
}

// History returns the committed writes to key, oldest first. (The stub's
// GetHistoryForKey returns them newest first, as Fabric 2.x does.)
func (l *Ledger) History(key string) []KeyModification {
	l.mu.RLock()
	defer l.mu.RUnlock()
	hs := l.history[key]
	out := make([]KeyModification, len(hs))
	for i, h := range hs {
		out[i] = cloneMod(h.mod)
	}
	return out
}

// Transactions returns the transaction log in commit order, including the
// transactions that failed validation.
func (l *Ledger) Transactions() []Transaction {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]Transaction, len(l.txs))
	for i, tx := range l.txs {
		out[i] = cloneTx(tx)
	}
	return out
}

// Transaction returns the transaction committed under txID, valid or not,
// and whether there is one. An ID committed twice is the first transaction,
// as a peer's commit status reports it; the second is in Transactions,
// DUPLICATE_TXID.
func (l *Ledger) Transaction(txID string) (Transaction, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	i, ok := l.txIDs[txID]
	if !ok {
		return Transaction{}, false
	}
	return cloneTx(l.txs[i]), true
}

// Events returns the chaincode events of the valid transactions in commit
// order, as a client listening for chaincode events receives them.
func (l *Ledger) Events() []*peer.ChaincodeEvent {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []*peer.ChaincodeEvent
	for _, tx := range l.txs {
		if tx.Event != nil && tx.ValidationCode == peer.TxValidationCode_VALID {
			out = append(out, cloneEvent(tx.Event))
		}
	}
	return out
}

// AllBytes returns every byte string the ledger holds, so that a test can scan
// the whole ledger for data that must never be there: every committed key,
// value and metadata entry, every history value, and for every logged
// transaction (valid or not, as both stay in the blocks) its ID, creator
// (also the DER of its PEM certificate, where names appear in clear),
// arguments, read-set keys, write set and event. Transient data is not
// included: Fabric never writes it to the ledger.
func (l *Ledger) AllBytes() [][]byte {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out [][]byte
	add := func(b []byte) {
		if len(b) > 0 {
			out = append(out, clone(b))
		}
	}
	for _, k := range l.keys {
		if _, _, private := splitPvtKey(k); private {
			continue // in the members' private data stores only: PrivateBytes
		}
		if e, ok := l.lookup(k, l.height); ok {
			add([]byte(k))
			add(e.value)
			for _, v := range sortedValues(e.metadata) {
				add(v)
			}
		}
	}
	for _, k := range sortedKeys(l.history) {
		if _, _, private := splitPvtKey(k); private {
			continue
		}
		for _, h := range l.history[k] {
			add([]byte(k))
			add(h.mod.Value)
		}
	}
	for _, tx := range l.txs {
		add([]byte(tx.TxID))
		add(tx.Creator)
		add(creatorDER(tx.Creator))
		for _, a := range tx.Args {
			add(a)
		}
		for _, k := range tx.ReadKeys {
			add([]byte(k))
		}
		for _, w := range tx.Writes {
			add([]byte(w.Key))
			add(w.Value)
		}
		for _, w := range tx.PrivateWrites {
			add([]byte(w.Collection))
			add(w.KeyHash[:])
			add(w.ValueHash[:])
		}
		for _, m := range tx.MetadataWrites {
			add([]byte(m.Key))
			for _, v := range sortedValues(m.Entries) {
				add(v)
			}
		}
		if tx.Event != nil {
			add([]byte(tx.Event.EventName))
			add(tx.Event.Payload)
		}
	}
	return out
}

// lookup returns the live state of key as of block height h. The caller holds
// l.mu.
func (l *Ledger) lookup(key string, h uint64) (entry, bool) {
	es := l.states[key]
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].block <= h {
			return es[i], es[i].value != nil
		}
	}
	return entry{}, false
}

// version returns the block that wrote the live state of key as of height h,
// or 0 if the key had no state then. The caller holds l.mu.
func (l *Ledger) version(key string, h uint64) uint64 {
	if e, ok := l.lookup(key, h); ok {
		return e.block
	}
	return 0
}

// scan returns the live keys in [start, end) as of height h, or in
// [start, end] when inclusiveEnd is set; an empty end is unbounded. At most
// limit keys are returned; more reports whether further keys follow and next
// is the first of them. The caller holds l.mu.
func (l *Ledger) scan(start, end string, inclusiveEnd bool, h uint64, limit int) (keys []string, next string, more bool) {
	i := sort.SearchStrings(l.keys, start)
	for ; i < len(l.keys); i++ {
		k := l.keys[i]
		if end != "" && (k > end || (k == end && !inclusiveEnd)) {
			break
		}
		if _, ok := l.lookup(k, h); !ok {
			continue
		}
		if len(keys) == limit {
			return keys, k, true
		}
		keys = append(keys, k)
	}
	return keys, "", false
}

// addKey inserts key into the sorted key index. The caller holds l.mu.
func (l *Ledger) addKey(key string) {
	i := sort.SearchStrings(l.keys, key)
	if i < len(l.keys) && l.keys[i] == key {
		return
	}
	l.keys = append(l.keys, "")
	copy(l.keys[i+1:], l.keys[i:])
	l.keys[i] = key
}

// creatorDER returns the DER certificate inside a serialized identity, or nil.
func creatorDER(creator []byte) []byte {
	var sid msp.SerializedIdentity
	if proto.Unmarshal(creator, &sid) != nil {
		return nil
	}
	block, _ := pem.Decode(sid.IdBytes)
	if block == nil {
		return nil
	}
	return block.Bytes
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

func cloneMap(m map[string][]byte) map[string][]byte {
	if m == nil {
		return nil
	}
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = clone(v)
	}
	return out
}

func cloneMod(m KeyModification) KeyModification {
	m.Value = clone(m.Value)
	return m
}

func cloneEvent(ev *peer.ChaincodeEvent) *peer.ChaincodeEvent {
	if ev == nil {
		return nil
	}
	return &peer.ChaincodeEvent{ChaincodeId: ev.ChaincodeId, TxId: ev.TxId, EventName: ev.EventName, Payload: clone(ev.Payload)}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func sortedValues(m map[string][]byte) [][]byte {
	out := make([][]byte, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, m[k])
	}
	return out
}
