package stubtest

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Stub is one transaction simulation against a Ledger. It implements
// shim.ChaincodeStubInterface with the semantics of a peer using LevelDB:
// reads see the state committed when the transaction started, never the
// transaction's own writes; writes are collected in a write set until Commit.
//
// Like the shim's stub, a Stub is not safe for concurrent use; distinct Stubs
// on one Ledger are.
type Stub struct {
	ledger      *Ledger
	txID        string
	ts          time.Time
	creator     []byte
	args        [][]byte
	transient   map[string][]byte
	decorations map[string][]byte
	start       uint64 // ledger height when the transaction started

	reads      map[string]uint64 // key -> version read (0: no state)
	ranges     []rangeRead
	writes     map[string]Write
	metaWrites map[string]map[string][]byte
	event      *peer.ChaincodeEvent

	writePerformed bool
	paginatedQuery bool
	done           bool
}

var _ shim.ChaincodeStubInterface = (*Stub)(nil)

// NewTx starts a transaction that invokes function with string args, created
// by creator (a serialized identity, see Identity.Creator) at time ts.
func (l *Ledger) NewTx(txID string, ts time.Time, creator []byte, function string, args ...string) *Stub {
	all := make([][]byte, 0, len(args)+1)
	all = append(all, []byte(function))
	for _, a := range args {
		all = append(all, []byte(a))
	}
	return l.NewTxBytes(txID, ts, creator, all)
}

// NewTxBytes starts a transaction whose chaincode input is args; args[0] is
// the function name, as in the chaincode input the shim receives.
func (l *Ledger) NewTxBytes(txID string, ts time.Time, creator []byte, args [][]byte) *Stub {
	cp := cloneArgs(args)
	l.mu.RLock()
	start := l.height
	l.mu.RUnlock()
	return &Stub{
		ledger:      l,
		txID:        txID,
		ts:          ts,
		creator:     clone(creator),
		args:        cp,
		transient:   map[string][]byte{},
		decorations: map[string][]byte{},
		start:       start,
		reads:       make(map[string]uint64),
		writes:      make(map[string]Write),
		metaWrites:  make(map[string]map[string][]byte),
	}
}

// WithTransient sets the proposal's transient map and returns s. Transient
// data reaches the chaincode but is never written to the ledger.
func (s *Stub) WithTransient(m map[string][]byte) *Stub {
	s.transient = cloneMap(m)
	if s.transient == nil {
		s.transient = map[string][]byte{}
	}
	return s
}

// WithDecorations sets the decorations a peer's decorators added to the
// chaincode input and returns s.
func (s *Stub) WithDecorations(m map[string][]byte) *Stub {
	s.decorations = cloneMap(m)
	if s.decorations == nil {
		s.decorations = map[string][]byte{}
	}
	return s
}

// GetArgs returns the chaincode input: the function name, then its arguments.
func (s *Stub) GetArgs() [][]byte { return s.args }

// GetStringArgs returns the chaincode input as strings.
func (s *Stub) GetStringArgs() []string {
	out := make([]string, 0, len(s.args))
	for _, a := range s.args {
		out = append(out, string(a))
	}
	return out
}

// GetFunctionAndParameters returns the first argument as the function name and
// the rest as its parameters.
func (s *Stub) GetFunctionAndParameters() (string, []string) {
	all := s.GetStringArgs()
	if len(all) == 0 {
		return "", []string{}
	}
	return all[0], all[1:]
}

// GetArgsSlice returns the arguments concatenated into one byte slice.
func (s *Stub) GetArgsSlice() ([]byte, error) {
	res := []byte{}
	for _, a := range s.args {
		res = append(res, a...)
	}
	return res, nil
}

// GetTxID returns the transaction ID.
func (s *Stub) GetTxID() string { return s.txID }

// GetChannelID returns the ledger's channel.
func (s *Stub) GetChannelID() string { return s.ledger.channel }

// GetCreator returns the serialized identity of the transaction's creator.
func (s *Stub) GetCreator() ([]byte, error) { return s.creator, nil }

// GetTransient returns the proposal's transient map (empty unless set with
// WithTransient).
func (s *Stub) GetTransient() (map[string][]byte, error) { return s.transient, nil }

// GetDecorations returns the chaincode input's decorations.
func (s *Stub) GetDecorations() map[string][]byte { return s.decorations }

// GetTxTimestamp returns the timestamp given to NewTx.
func (s *Stub) GetTxTimestamp() (*timestamppb.Timestamp, error) {
	return timestamppb.New(s.ts), nil
}

// nonce is the proposal nonce, derived from the transaction ID so that the
// proposal and binding are deterministic.
func (s *Stub) nonce() []byte {
	sum := sha256.Sum256([]byte("stubtest nonce " + s.txID))
	return sum[:24]
}

// GetBinding returns the proposal binding as the shim computes it:
// SHA-256(nonce || creator || epoch), epoch 0 as 8 little-endian bytes.
func (s *Stub) GetBinding() ([]byte, error) {
	epoch := make([]byte, 8)
	binary.LittleEndian.PutUint64(epoch, 0)
	sum := sha256.Sum256(append(append(s.nonce(), s.creator...), epoch...))
	return sum[:], nil
}

// GetSignedProposal returns an endorser proposal carrying the transaction's
// channel header (type, channel, ID, timestamp), signature header (creator,
// nonce) and chaincode input with the transient map. It is not signed: the
// Signature field is empty.
func (s *Stub) GetSignedProposal() (*peer.SignedProposal, error) {
	ext, err := proto.Marshal(&peer.ChaincodeHeaderExtension{ChaincodeId: &peer.ChaincodeID{Name: ChaincodeName}})
	if err != nil {
		return nil, fmt.Errorf("marshal header extension: %w", err)
	}
	chdr, err := proto.Marshal(&common.ChannelHeader{
		Type:      int32(common.HeaderType_ENDORSER_TRANSACTION),
		ChannelId: s.ledger.channel,
		TxId:      s.txID,
		Timestamp: timestamppb.New(s.ts),
		Extension: ext,
	})
	if err != nil {
		return nil, fmt.Errorf("marshal channel header: %w", err)
	}
	shdr, err := proto.Marshal(&common.SignatureHeader{Creator: s.creator, Nonce: s.nonce()})
	if err != nil {
		return nil, fmt.Errorf("marshal signature header: %w", err)
	}
	hdr, err := proto.Marshal(&common.Header{ChannelHeader: chdr, SignatureHeader: shdr})
	if err != nil {
		return nil, fmt.Errorf("marshal header: %w", err)
	}
	input, err := proto.Marshal(&peer.ChaincodeInvocationSpec{ChaincodeSpec: &peer.ChaincodeSpec{
		Type:        peer.ChaincodeSpec_GOLANG,
		ChaincodeId: &peer.ChaincodeID{Name: ChaincodeName},
		Input:       &peer.ChaincodeInput{Args: s.args, Decorations: s.decorations},
	}})
	if err != nil {
		return nil, fmt.Errorf("marshal invocation spec: %w", err)
	}
	payload, err := proto.Marshal(&peer.ChaincodeProposalPayload{Input: input, TransientMap: s.transient})
	if err != nil {
		return nil, fmt.Errorf("marshal proposal payload: %w", err)
	}
	prop, err := proto.Marshal(&peer.Proposal{Header: hdr, Payload: payload})
	if err != nil {
		return nil, fmt.Errorf("marshal proposal: %w", err)
	}
	return &peer.SignedProposal{ProposalBytes: prop}, nil
}

// SetEvent sets the transaction's chaincode event. As in Fabric, only the
// last call survives.
func (s *Stub) SetEvent(name string, payload []byte) error {
	if name == "" {
		return errors.New("event name can not be empty string")
	}
	s.event = &peer.ChaincodeEvent{ChaincodeId: ChaincodeName, TxId: s.txID, EventName: name, Payload: clone(payload)}
	return nil
}

// Event returns the event the transaction set, or nil.
func (s *Stub) Event() *peer.ChaincodeEvent { return cloneEvent(s.event) }

// Events returns the transaction's event as a slice of zero or one element:
// Fabric keeps only the last SetEvent of a transaction.
func (s *Stub) Events() []*peer.ChaincodeEvent {
	if s.event == nil {
		return nil
	}
	return []*peer.ChaincodeEvent{cloneEvent(s.event)}
}

// WriteSet returns the transaction's pending writes, sorted by key.
func (s *Stub) WriteSet() []Write {
	out := make([]Write, 0, len(s.writes))
	for _, k := range sortedKeys(s.writes) {
		w := s.writes[k]
		w.Value = clone(w.Value)
		out = append(out, w)
	}
	return out
}

// InvokeChaincode is not supported: the fake runs a single chaincode.
func (s *Stub) InvokeChaincode(chaincodeName string, _ [][]byte, _ string) *peer.Response {
	return &peer.Response{Status: shim.ERROR, Message: fmt.Sprintf("stubtest: InvokeChaincode(%q) is not supported", chaincodeName)}
}

// GetState returns the committed value of key as of the start of the
// transaction, or nil if it has none. The transaction's own writes are not
// visible. The read is recorded for MVCC validation.
func (s *Stub) GetState(key string) ([]byte, error) {
	if err := s.checkRead(key); err != nil {
		return nil, err
	}
	l := s.ledger
	l.mu.RLock()
	defer l.mu.RUnlock()
	e, ok := l.lookup(key, s.start)
	s.recordRead(key, e.block, ok)
	if !ok {
		return nil, nil
	}
	return clone(e.value), nil
}

// PutState adds a write of value at key to the write set. As in Fabric, an
// empty or nil value is recorded as a delete.
func (s *Stub) PutState(key string, value []byte) error {
	if key == "" {
		return errors.New("key must not be an empty string")
	}
	if err := s.checkWrite(key); err != nil {
		return err
	}
	s.writes[key] = Write{Key: key, Value: clone(value), IsDelete: len(value) == 0}
	return nil
}

// DelState adds a delete of key to the write set.
func (s *Stub) DelState(key string) error {
	if err := s.checkWrite(key); err != nil {
		return err
	}
	s.writes[key] = Write{Key: key, IsDelete: true}
	return nil
}

// SetStateValidationParameter records a key-level endorsement policy for key.
// At commit it is applied only if the key then has a value, as in Fabric.
func (s *Stub) SetStateValidationParameter(key string, ep []byte) error {
	if err := s.checkWrite(key); err != nil {
		return err
	}
	s.metaWrites[key] = map[string][]byte{peer.MetaDataKeys_VALIDATION_PARAMETER.String(): clone(ep)}
	return nil
}

// GetStateValidationParameter returns the committed key-level endorsement
// policy of key, or nil. Like Fabric, it adds key to the read set.
func (s *Stub) GetStateValidationParameter(key string) ([]byte, error) {
	if err := s.checkRead(key); err != nil {
		return nil, err
	}
	l := s.ledger
	l.mu.RLock()
	defer l.mu.RUnlock()
	e, ok := l.lookup(key, s.start)
	s.recordRead(key, e.block, ok)
	if !ok {
		return nil, nil
	}
	return clone(e.metadata[peer.MetaDataKeys_VALIDATION_PARAMETER.String()]), nil
}

// checkRead applies the checks the shim and peer make before a read.
func (s *Stub) checkRead(keys ...string) error {
	if s.done {
		return errors.New("this instance should not be used after calling Done()")
	}
	for _, k := range keys {
		if !utf8.ValidString(k) {
			return fmt.Errorf("key [%x]: string field contains invalid UTF-8", k)
		}
	}
	return nil
}

// checkWrite applies the checks the shim and the peer's transaction simulator
// make before a write, and marks the transaction as writing.
func (s *Stub) checkWrite(key string) error {
	if err := s.checkRead(key); err != nil {
		return err
	}
	if s.paginatedQuery {
		return fmt.Errorf("txid [%s]: unsuppored transaction. Transaction has already performed a paginated query. Writes are not allowed", s.txID)
	}
	s.writePerformed = true
	return nil
}

// recordRead adds key to the read set with the version seen (0 when the key
// had no state). A key keeps the version of its first read. The caller holds
// the ledger's read lock.
func (s *Stub) recordRead(key string, block uint64, live bool) {
	if _, seen := s.reads[key]; seen {
		return
	}
	if !live {
		block = 0
	}
	s.reads[key] = block
}
