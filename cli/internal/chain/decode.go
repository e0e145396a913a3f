package chain

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset/kvrwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/quanchain/quanchain/chaincode/model"
)

// Hex is bytes written as lower-case hex in JSON.
type Hex []byte

// MarshalText implements encoding.TextMarshaler.
func (h Hex) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }

// String returns the hex form.
func (h Hex) String() string { return hex.EncodeToString(h) }

// Block is a decoded block.
type Block struct {
	Number       uint64 `json:"number"`
	PreviousHash Hex    `json:"previous_hash"`
	DataHash     Hex    `json:"data_hash"`
	// HeaderHash is computed here (SHA-256 of the header's ASN.1 encoding):
	// the next block's previous hash.
	HeaderHash   Hex           `json:"header_hash"`
	Transactions []Transaction `json:"transactions"`
}

// Identity is a Fabric identity: its MSP and its certificate's subject.
type Identity struct {
	MSPID   string `json:"msp_id"`
	Subject string `json:"subject,omitempty"` // certificate common name
}

func (id Identity) String() string {
	if id.Subject == "" {
		return id.MSPID
	}
	return id.MSPID + " (" + id.Subject + ")"
}

// Transaction is one decoded transaction of a block.
type Transaction struct {
	Index     int    `json:"index"`
	TxID      string `json:"tx_id"`
	Type      string `json:"type"`
	Timestamp string `json:"timestamp,omitempty"`
	Channel   string `json:"channel,omitempty"`
	// ValidationCode is the committing peer's verdict (VALID,
	// MVCC_READ_CONFLICT, ENDORSEMENT_POLICY_FAILURE, …); empty if the
	// block carries no flag for the transaction.
	ValidationCode string     `json:"validation_code"`
	Creator        *Identity  `json:"creator,omitempty"`
	Endorsers      []Identity `json:"endorsers,omitempty"`
	Chaincode      string     `json:"chaincode,omitempty"`
	Function       string     `json:"function,omitempty"`
	// Args are the call's arguments, for the network's own chaincode only:
	// each a JSON value (JSON objects and arrays as they are, anything else
	// as a string). Other chaincodes' arguments (lifecycle, system
	// chaincodes) are protobuf: ArgSizes gives only their lengths.
	Args     []json.RawMessage `json:"args,omitempty"`
	ArgSizes []int             `json:"arg_sizes,omitempty"`
	Response *Response         `json:"response,omitempty"`
	Event    *Event            `json:"event,omitempty"`
	Writes   []Write           `json:"writes,omitempty"`
	// DecodeError says why the transaction could not be fully decoded.
	DecodeError string `json:"decode_error,omitempty"`
}

// Response is the chaincode's response status as endorsed.
type Response struct {
	Status  int32  `json:"status"`
	Message string `json:"message,omitempty"`
}

// Event is the chaincode event a transaction set.
type Event struct {
	Name    string          `json:"name"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Write is one key the transaction wrote (values are not shown).
type Write struct {
	Namespace string `json:"namespace"`
	Key       string `json:"key"`
	Delete    bool   `json:"delete,omitempty"`
}

// ValidationFlags returns the block's TRANSACTIONS_FILTER metadata: one
// validation code per transaction; nil if the block has none.
func ValidationFlags(b *common.Block) []byte {
	md := b.GetMetadata().GetMetadata()
	if len(md) <= int(common.BlockMetadataIndex_TRANSACTIONS_FILTER) {
		return nil
	}
	return md[common.BlockMetadataIndex_TRANSACTIONS_FILTER]
}

// DecodeBlock decodes a block. ownChaincode is the network's chaincode, whose
// arguments are JSON strings and are shown; a transaction that does not
// decode gets a DecodeError instead of failing the block.
func DecodeBlock(b *common.Block, ownChaincode string) *Block {
	out := &Block{
		Number:       b.GetHeader().GetNumber(),
		PreviousHash: b.GetHeader().GetPreviousHash(),
		DataHash:     b.GetHeader().GetDataHash(),
		HeaderHash:   HeaderHash(b.GetHeader()),
		Transactions: []Transaction{},
	}
	flags := ValidationFlags(b)
	for i, data := range b.GetData().GetData() {
		code := ""
		if i < len(flags) {
			code = validationCode(int32(flags[i]))
		}
		var env common.Envelope
		tx := Transaction{Index: i, ValidationCode: code}
		if err := proto.Unmarshal(data, &env); err != nil {
			tx.DecodeError = fmt.Sprintf("envelope: %v", err)
		} else {
			decodeEnvelope(&env, ownChaincode, &tx)
		}
		out.Transactions = append(out.Transactions, tx)
	}
	return out
}

// DecodeTransaction decodes a committed transaction as qscc
// GetTransactionByID returns it.
func DecodeTransaction(pt *peer.ProcessedTransaction, ownChaincode string) Transaction {
	tx := Transaction{ValidationCode: validationCode(pt.GetValidationCode())}
	decodeEnvelope(pt.GetTransactionEnvelope(), ownChaincode, &tx)
	return tx
}

func validationCode(c int32) string {
	if name, ok := peer.TxValidationCode_name[c]; ok {
		return name
	}
	return fmt.Sprintf("UNKNOWN(%d)", c)
}

func decodeEnvelope(env *common.Envelope, own string, tx *Transaction) {
	if err := decodeEnvelopeErr(env, own, tx); err != nil {
		tx.DecodeError = err.Error()
	}
}

func decodeEnvelopeErr(env *common.Envelope, own string, tx *Transaction) error {
	var payload common.Payload
	if err := proto.Unmarshal(env.GetPayload(), &payload); err != nil {
		return fmt.Errorf("payload: %w", err)
	}
	var ch common.ChannelHeader
	if err := proto.Unmarshal(payload.GetHeader().GetChannelHeader(), &ch); err != nil {
		return fmt.Errorf("channel header: %w", err)
	}
	tx.TxID, tx.Channel = ch.GetTxId(), ch.GetChannelId()
	tx.Type = common.HeaderType(ch.GetType()).String()
	if ts := ch.GetTimestamp(); ts != nil {
		tx.Timestamp = model.FormatTime(ts.AsTime())
	}
	var sh common.SignatureHeader
	if err := proto.Unmarshal(payload.GetHeader().GetSignatureHeader(), &sh); err != nil {
		return fmt.Errorf("signature header: %w", err)
	}
	if len(sh.GetCreator()) > 0 {
		id, err := decodeIdentity(sh.GetCreator())
		if err != nil {
			return fmt.Errorf("creator: %w", err)
		}
		tx.Creator = &id
	}
	if ch.GetType() != int32(common.HeaderType_ENDORSER_TRANSACTION) {
		return nil
	}
	return decodeEndorserTransaction(payload.GetData(), own, tx)
}

func decodeEndorserTransaction(data []byte, own string, tx *Transaction) error {
	var t peer.Transaction
	if err := proto.Unmarshal(data, &t); err != nil {
		return fmt.Errorf("transaction: %w", err)
	}
	for _, action := range t.GetActions() { // Fabric puts exactly one action in a transaction
		var cap peer.ChaincodeActionPayload
		if err := proto.Unmarshal(action.GetPayload(), &cap); err != nil {
			return fmt.Errorf("chaincode action payload: %w", err)
		}
		for _, e := range cap.GetAction().GetEndorsements() {
			id, err := decodeIdentity(e.GetEndorser())
			if err != nil {
				return fmt.Errorf("endorser: %w", err)
			}
			tx.Endorsers = append(tx.Endorsers, id)
		}
		if err := decodeProposal(cap.GetChaincodeProposalPayload(), own, tx); err != nil {
			return err
		}
		if err := decodeResult(cap.GetAction().GetProposalResponsePayload(), tx); err != nil {
			return err
		}
	}
	return nil
}

func decodeProposal(b []byte, own string, tx *Transaction) error {
	var cpp peer.ChaincodeProposalPayload
	if err := proto.Unmarshal(b, &cpp); err != nil {
		return fmt.Errorf("proposal payload: %w", err)
	}
	var cis peer.ChaincodeInvocationSpec
	if err := proto.Unmarshal(cpp.GetInput(), &cis); err != nil {
		return fmt.Errorf("invocation spec: %w", err)
	}
	tx.Chaincode = cis.GetChaincodeSpec().GetChaincodeId().GetName()
	args := cis.GetChaincodeSpec().GetInput().GetArgs()
	if len(args) == 0 {
		return nil
	}
	tx.Function = printable(args[0])
	for _, a := range args[1:] {
		if tx.Chaincode == own {
			tx.Args = append(tx.Args, jsonArg(a))
		} else {
			tx.ArgSizes = append(tx.ArgSizes, len(a))
		}
	}
	return nil
}

func decodeResult(b []byte, tx *Transaction) error {
	var prp peer.ProposalResponsePayload
	if err := proto.Unmarshal(b, &prp); err != nil {
		return fmt.Errorf("proposal response payload: %w", err)
	}
	var ca peer.ChaincodeAction
	if err := proto.Unmarshal(prp.GetExtension(), &ca); err != nil {
		return fmt.Errorf("chaincode action: %w", err)
	}
	if r := ca.GetResponse(); r != nil {
		tx.Response = &Response{Status: r.GetStatus(), Message: r.GetMessage()}
	}
	if len(ca.GetEvents()) > 0 {
		var ev peer.ChaincodeEvent
		if err := proto.Unmarshal(ca.GetEvents(), &ev); err != nil {
			return fmt.Errorf("chaincode event: %w", err)
		}
		if ev.GetEventName() != "" {
			tx.Event = &Event{Name: ev.GetEventName(), Payload: jsonValue(ev.GetPayload())}
		}
	}
	if len(ca.GetResults()) > 0 {
		var rws rwset.TxReadWriteSet
		if err := proto.Unmarshal(ca.GetResults(), &rws); err != nil {
			return fmt.Errorf("read-write set: %w", err)
		}
		for _, ns := range rws.GetNsRwset() {
			var kv kvrwset.KVRWSet
			if err := proto.Unmarshal(ns.GetRwset(), &kv); err != nil {
				return fmt.Errorf("read-write set of %s: %w", ns.GetNamespace(), err)
			}
			for _, w := range kv.GetWrites() {
				tx.Writes = append(tx.Writes, Write{Namespace: ns.GetNamespace(), Key: RenderKey(w.GetKey()), Delete: w.GetIsDelete()})
			}
		}
	}
	return nil
}

// decodeIdentity reads a serialized identity: its MSP and, if its bytes are
// an X.509 certificate, the certificate's common name.
func decodeIdentity(b []byte) (Identity, error) {
	var sid msp.SerializedIdentity
	if err := proto.Unmarshal(b, &sid); err != nil {
		return Identity{}, err
	}
	id := Identity{MSPID: sid.GetMspid()}
	if blk, _ := pem.Decode(sid.GetIdBytes()); blk != nil {
		if cert, err := x509.ParseCertificate(blk.Bytes); err == nil {
			id.Subject = cert.Subject.CommonName
		}
	}
	return id, nil
}

// RenderKey makes a ledger key readable: a composite key
// ("\x00type\x00a\x00b\x00") becomes "type/a/b"; other bytes that are not
// printable are escaped.
func RenderKey(k string) string {
	if strings.HasPrefix(k, "\x00") {
		parts := strings.Split(strings.TrimSuffix(k[1:], "\x00"), "\x00")
		for i, p := range parts {
			parts[i] = printable([]byte(p))
		}
		return strings.Join(parts, "/")
	}
	return printable([]byte(k))
}

// printable returns b as text, escaping what is not printable UTF-8.
func printable(b []byte) string {
	if utf8.Valid(b) && !strings.ContainsFunc(string(b), func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return string(b)
	}
	q := fmt.Sprintf("%q", b)
	return q[1 : len(q)-1]
}

// jsonArg renders a chaincode argument: a JSON object or array as itself,
// anything else as a JSON string.
func jsonArg(b []byte) json.RawMessage {
	t := strings.TrimSpace(string(b))
	if (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) && json.Valid(b) {
		return compact(b)
	}
	return stringValue(b)
}

// jsonValue renders an event payload: valid JSON as itself, else a string.
func jsonValue(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	if json.Valid(b) {
		return compact(b)
	}
	return stringValue(b)
}

func compact(b []byte) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return json.RawMessage(b)
	}
	return buf.Bytes()
}

// stringValue renders bytes as a JSON string: text as itself, anything else
// as "base64:…".
func stringValue(b []byte) json.RawMessage {
	s := string(b)
	if !utf8.Valid(b) {
		s = "base64:" + base64.StdEncoding.EncodeToString(b)
	}
	out, _ := json.Marshal(s) // a string always marshals
	return out
}
