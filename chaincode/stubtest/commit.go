package stubtest

import (
	"errors"
	"fmt"

	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
)

// Validation failures returned (wrapped) by Stub.Commit; test them with
// errors.Is.
var (
	// ErrMVCCReadConflict: a key the transaction read was changed by a
	// transaction committed after it started (TxValidationCode
	// MVCC_READ_CONFLICT).
	ErrMVCCReadConflict = errors.New(peer.TxValidationCode_MVCC_READ_CONFLICT.String())
	// ErrPhantomReadConflict: the results of a range query the transaction
	// made changed before it committed (TxValidationCode
	// PHANTOM_READ_CONFLICT).
	ErrPhantomReadConflict = errors.New(peer.TxValidationCode_PHANTOM_READ_CONFLICT.String())
	// ErrDuplicateTxID: a transaction with the same ID is already on the
	// ledger (TxValidationCode DUPLICATE_TXID).
	ErrDuplicateTxID = errors.New(peer.TxValidationCode_DUPLICATE_TXID.String())
	// ErrAlreadyCommitted: Commit was called twice on one Stub.
	ErrAlreadyCommitted = errors.New("transaction already committed")
)

// Commit submits the transaction: it appends it to the ledger as a new block
// and validates it the way the committing peer does. A valid transaction's
// write set, metadata writes and event are applied atomically: state, key
// history and event log change together. A transaction that fails validation
// is logged with its validation code but changes nothing else, and Commit
// returns an error wrapping ErrDuplicateTxID, ErrMVCCReadConflict or
// ErrPhantomReadConflict. The Stub cannot be used after Commit.
func (s *Stub) Commit() error {
	if s.done {
		return fmt.Errorf("txid [%s]: %w", s.txID, ErrAlreadyCommitted)
	}
	s.done = true

	l := s.ledger
	l.mu.Lock()
	defer l.mu.Unlock()

	code, verr := s.validate()
	l.height++
	writes := s.WriteSet()
	public, private := splitWrites(writes)
	tx := Transaction{
		Block:          l.height,
		TxID:           s.txID,
		Timestamp:      s.ts,
		Creator:        clone(s.creator),
		Args:           cloneArgs(s.args),
		ReadKeys:       s.readKeys(),
		Writes:         public,
		PrivateWrites:  private,
		MetadataWrites: s.metadataWrites(),
		Event:          cloneEvent(s.event),
		ValidationCode: code,
	}
	l.txs = append(l.txs, tx)
	// Like the block store's index, the ID of an invalid transaction is
	// taken too.
	if _, dup := l.txIDs[s.txID]; !dup {
		l.txIDs[s.txID] = len(l.txs) - 1
	}
	if verr != nil {
		return verr
	}

	for _, w := range writes {
		l.applyWrite(w, s.metaWrites[w.Key], l.height)
		l.history[w.Key] = append(l.history[w.Key], historyEntry{block: l.height, mod: KeyModification{
			TxID: s.txID, Timestamp: s.ts, IsDelete: w.IsDelete, Value: clone(w.Value),
		}})
	}
	for _, m := range tx.MetadataWrites {
		if _, written := s.writes[m.Key]; written {
			continue
		}
		// A metadata-only update keeps the value, takes a new version, and
		// is dropped when the key has no value (as in Fabric).
		if e, ok := l.lookup(m.Key, l.height); ok {
			l.states[m.Key] = append(l.states[m.Key], entry{block: l.height, value: e.value, metadata: cloneMap(m.Entries)})
		}
	}
	return nil
}

// applyWrite applies one write at block h. A value write without a metadata
// write keeps the key's metadata; a delete removes both. The caller holds
// l.mu.
func (l *Ledger) applyWrite(w Write, meta map[string][]byte, h uint64) {
	prev, live := l.lookup(w.Key, h)
	if w.IsDelete {
		if live {
			l.states[w.Key] = append(l.states[w.Key], entry{block: h})
		}
		return
	}
	md := prev.metadata
	if meta != nil {
		md = cloneMap(meta)
	} else if !live {
		md = nil
	}
	l.states[w.Key] = append(l.states[w.Key], entry{block: h, value: clone(w.Value), metadata: md})
	l.addKey(w.Key)
}

// validate checks the transaction against the current ledger. The caller
// holds the ledger's write lock.
func (s *Stub) validate() (peer.TxValidationCode, error) {
	l := s.ledger
	if _, dup := l.txIDs[s.txID]; dup {
		return peer.TxValidationCode_DUPLICATE_TXID, fmt.Errorf("txid [%s]: %w", s.txID, ErrDuplicateTxID)
	}
	for _, k := range sortedKeys(s.reads) {
		if got, want := l.version(k, l.height), s.reads[k]; got != want {
			return peer.TxValidationCode_MVCC_READ_CONFLICT, fmt.Errorf(
				"txid [%s]: %w: key [%q] was read at version %d but is now at version %d", s.txID, ErrMVCCReadConflict, k, want, got)
		}
	}
	for _, rr := range s.ranges {
		keys, _, _ := l.scan(rr.start, rr.end, rr.inclusiveEnd, l.height, TotalQueryLimit+1)
		if !sameRange(l, rr, keys) {
			return peer.TxValidationCode_PHANTOM_READ_CONFLICT, fmt.Errorf(
				"txid [%s]: %w: results of range [%q, %q) changed", s.txID, ErrPhantomReadConflict, rr.start, rr.end)
		}
	}
	return peer.TxValidationCode_VALID, nil
}

// sameRange reports whether the committed keys of a range, and their
// versions, are still those the transaction read.
func sameRange(l *Ledger, rr rangeRead, keys []string) bool {
	if len(keys) != len(rr.keys) {
		return false
	}
	for i, k := range keys {
		if k != rr.keys[i] || l.version(k, l.height) != rr.versions[i] {
			return false
		}
	}
	return true
}

// readKeys returns the keys of the read set, range query results included,
// sorted and without duplicates.
func (s *Stub) readKeys() []string {
	set := make(map[string]struct{}, len(s.reads))
	for k := range s.reads {
		if _, _, private := splitPvtKey(k); !private {
			set[k] = struct{}{}
		}
	}
	for _, rr := range s.ranges {
		for _, k := range rr.keys {
			set[k] = struct{}{}
		}
	}
	return sortedKeys(set)
}

// metadataWrites returns the pending metadata writes sorted by key.
func (s *Stub) metadataWrites() []MetadataWrite {
	out := make([]MetadataWrite, 0, len(s.metaWrites))
	for _, k := range sortedKeys(s.metaWrites) {
		out = append(out, MetadataWrite{Key: k, Entries: cloneMap(s.metaWrites[k])})
	}
	return out
}

func cloneArgs(args [][]byte) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = clone(a)
	}
	return out
}

// cloneTx deep-copies a logged transaction.
func cloneTx(tx Transaction) Transaction {
	tx.Creator = clone(tx.Creator)
	tx.Args = cloneArgs(tx.Args)
	tx.ReadKeys = append([]string(nil), tx.ReadKeys...)
	ws := make([]Write, len(tx.Writes))
	for i, w := range tx.Writes {
		w.Value = clone(w.Value)
		ws[i] = w
	}
	tx.Writes = ws
	ms := make([]MetadataWrite, len(tx.MetadataWrites))
	for i, m := range tx.MetadataWrites {
		ms[i] = MetadataWrite{Key: m.Key, Entries: cloneMap(m.Entries)}
	}
	tx.MetadataWrites = ms
	tx.PrivateWrites = append([]PrivateWrite(nil), tx.PrivateWrites...)
	tx.Event = cloneEvent(tx.Event)
	return tx
}
