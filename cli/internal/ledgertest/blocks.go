// Package ledgertest builds Fabric blocks and a fake ledger.Evaluator for
// qc's unit tests. Hashes are computed here with code of its own (the ASN.1
// DER of a block header is written byte by byte), so the tests cross-check
// package chain rather than repeat it.
package ledgertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset/kvrwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Tx describes a transaction to put in a block.
type Tx struct {
	ID        string
	Config    bool // a CONFIG transaction instead of an endorser transaction
	Time      time.Time
	Creator   string // MSP ID; its certificate's CN is "User1@<msp>"
	Endorsers []string
	Chaincode string
	Args      []string // Args[0] is the function
	Event     string
	Payload   []byte // the event's payload
	Writes    []string
	Code      peer.TxValidationCode
}

// Envelope returns the transaction's serialized envelope.
func (tx Tx) Envelope() []byte {
	typ := common.HeaderType_ENDORSER_TRANSACTION
	if tx.Config {
		typ = common.HeaderType_CONFIG
	}
	ts := tx.Time
	if ts.IsZero() {
		ts = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	}
	ch := must(proto.Marshal(&common.ChannelHeader{Type: int32(typ), ChannelId: "quanchain", TxId: tx.ID, Timestamp: timestamppb.New(ts)}))
	var creator []byte
	if tx.Creator != "" {
		creator = identity(tx.Creator, "User1@"+strings.ToLower(tx.Creator))
	}
	sh := must(proto.Marshal(&common.SignatureHeader{Creator: creator, Nonce: []byte("nonce")}))
	var data []byte
	if tx.Config {
		data = []byte("config envelope")
	} else {
		data = endorserTransaction(tx)
	}
	payload := must(proto.Marshal(&common.Payload{Header: &common.Header{ChannelHeader: ch, SignatureHeader: sh}, Data: data}))
	return must(proto.Marshal(&common.Envelope{Payload: payload, Signature: []byte("signature")}))
}

func endorserTransaction(tx Tx) []byte {
	args := make([][]byte, len(tx.Args))
	for i, a := range tx.Args {
		args[i] = []byte(a)
	}
	cis := must(proto.Marshal(&peer.ChaincodeInvocationSpec{ChaincodeSpec: &peer.ChaincodeSpec{
		ChaincodeId: &peer.ChaincodeID{Name: tx.Chaincode}, Input: &peer.ChaincodeInput{Args: args}}}))
	cpp := must(proto.Marshal(&peer.ChaincodeProposalPayload{Input: cis}))
	action := &peer.ChaincodeAction{Response: &peer.Response{Status: 200}, ChaincodeId: &peer.ChaincodeID{Name: tx.Chaincode}}
	if tx.Event != "" {
		action.Events = must(proto.Marshal(&peer.ChaincodeEvent{ChaincodeId: tx.Chaincode, TxId: tx.ID, EventName: tx.Event, Payload: tx.Payload}))
	}
	if len(tx.Writes) > 0 {
		kv := &kvrwset.KVRWSet{}
		for _, k := range tx.Writes {
			kv.Writes = append(kv.Writes, &kvrwset.KVWrite{Key: k, Value: []byte("{}")})
		}
		action.Results = must(proto.Marshal(&rwset.TxReadWriteSet{DataModel: rwset.TxReadWriteSet_KV,
			NsRwset: []*rwset.NsReadWriteSet{{Namespace: tx.Chaincode, Rwset: must(proto.Marshal(kv))}}}))
	}
	prp := must(proto.Marshal(&peer.ProposalResponsePayload{ProposalHash: []byte("hash"), Extension: must(proto.Marshal(action))}))
	var endorsements []*peer.Endorsement
	for _, e := range tx.Endorsers {
		endorsements = append(endorsements, &peer.Endorsement{Endorser: identity(e, "peer0."+strings.ToLower(e)), Signature: []byte("sig")})
	}
	cap := must(proto.Marshal(&peer.ChaincodeActionPayload{ChaincodeProposalPayload: cpp,
		Action: &peer.ChaincodeEndorsedAction{ProposalResponsePayload: prp, Endorsements: endorsements}}))
	return must(proto.Marshal(&peer.Transaction{Actions: []*peer.TransactionAction{{Payload: cap}}}))
}

var (
	certMu sync.Mutex
	certs  = map[string][]byte{}
)

// identity returns a serialized identity with a self-signed certificate.
func identity(mspID, cn string) []byte {
	certMu.Lock()
	defer certMu.Unlock()
	pemCert, ok := certs[cn]
	if !ok {
		key := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<33, 0)}
		der := must(x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key))
		pemCert = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		certs[cn] = pemCert
	}
	return must(proto.Marshal(&msp.SerializedIdentity{Mspid: mspID, IdBytes: pemCert}))
}

// Block builds block n after prev (nil for block 0) with the given
// transactions, its hashes and its validation flags.
func Block(n uint64, prev *common.Block, txs ...Tx) *common.Block {
	data := make([][]byte, len(txs))
	flags := make([]byte, len(txs))
	for i, tx := range txs {
		data[i] = tx.Envelope()
		flags[i] = byte(tx.Code)
	}
	var all []byte
	for _, d := range data {
		all = append(all, d...)
	}
	dataHash := sha256.Sum256(all)
	h := &common.BlockHeader{Number: n, DataHash: dataHash[:]}
	if prev != nil {
		h.PreviousHash = HeaderHash(prev.Header)
	}
	return &common.Block{Header: h, Data: &common.BlockData{Data: data},
		Metadata: &common.BlockMetadata{Metadata: [][]byte{{}, {}, flags, {}, {}}}}
}

// Chain builds blocks 0..len(txs)-1, block i holding txs[i].
func Chain(txs ...[]Tx) []*common.Block {
	var out []*common.Block
	var prev *common.Block
	for i, t := range txs {
		b := Block(uint64(i), prev, t...)
		out = append(out, b)
		prev = b
	}
	return out
}

// SimpleChain builds n blocks of one transaction each.
func SimpleChain(n int) []*common.Block {
	txs := make([][]Tx, n)
	for i := range txs {
		txs[i] = []Tx{{ID: strings.Repeat("0", 60) + hex4(i), Creator: "BureauMSP", Endorsers: []string{"BureauMSP", "BankMSP"},
			Chaincode: "quanchain", Args: []string{"anchor:AnchorRecord", "tax", strings.Repeat("ab", 32)}}}
	}
	return Chain(txs...)
}

func hex4(i int) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[i>>12&15], digits[i>>8&15], digits[i>>4&15], digits[i&15]})
}

// HeaderHash is the SHA-256 of the header's DER encoding, SEQUENCE {
// INTEGER number, OCTET STRING previous hash, OCTET STRING data hash },
// written out by hand.
func HeaderHash(h *common.BlockHeader) []byte {
	sum := sha256.Sum256(HeaderDER(h))
	return sum[:]
}

// HeaderDER is the DER encoding Fabric hashes.
func HeaderDER(h *common.BlockHeader) []byte {
	num := new(big.Int).SetUint64(h.GetNumber()).Bytes()
	if len(num) == 0 || num[0]&0x80 != 0 { // INTEGER is two's complement: keep it positive
		num = append([]byte{0}, num...)
	}
	body := append(tlv(0x02, num), tlv(0x04, h.GetPreviousHash())...)
	body = append(body, tlv(0x04, h.GetDataHash())...)
	return tlv(0x30, body)
}

func tlv(tag byte, v []byte) []byte {
	out := []byte{tag}
	switch n := len(v); {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	default:
		out = append(out, 0x82, byte(n>>8), byte(n))
	}
	return append(out, v...)
}

// BlockFile writes blocks as a Fabric 2.5 block file: each block a varint
// length, then number, data hash, previous hash, transactions and metadata
// in Fabric's own serialization (common/ledger/blkstorage).
func BlockFile(blocks ...*common.Block) []byte {
	var out []byte
	for _, b := range blocks {
		var rec []byte
		rec = protowire.AppendVarint(rec, b.GetHeader().GetNumber())
		rec = protowire.AppendBytes(rec, b.GetHeader().GetDataHash())
		rec = protowire.AppendBytes(rec, b.GetHeader().GetPreviousHash())
		rec = protowire.AppendVarint(rec, uint64(len(b.GetData().GetData())))
		for _, d := range b.GetData().GetData() {
			rec = protowire.AppendBytes(rec, d)
		}
		rec = protowire.AppendVarint(rec, uint64(len(b.GetMetadata().GetMetadata())))
		for _, m := range b.GetMetadata().GetMetadata() {
			rec = protowire.AppendBytes(rec, m)
		}
		out = protowire.AppendVarint(out, uint64(len(rec)))
		out = append(out, rec...)
	}
	return out
}

func must[T any](v T, err error) T {
	if err != nil {
		panic("ledgertest: " + err.Error())
	}
	return v
}
