package ledgertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/ledger/fabconn"
	"github.com/quanchain/quanchain/ledger/qscc"
)

// The fake network's names.
const (
	Channel   = "quanchain"
	Chaincode = "quanchain"
	OwnMSP    = "AuditMSP"
)

// Handler answers one chaincode transaction: its result is marshalled to
// JSON (a string is returned as is).
type Handler func(args []string) (any, error)

// Call is one evaluation the fake answered.
type Call struct {
	Org         string // the organisation whose peer was named ("": the connected one)
	Chaincode   string // qscc or the network's chaincode
	Transaction string
	Args        []string
}

// Fake is a ledger.Evaluator over in-memory blocks (one chain per
// organisation) and chaincode handlers: the seam where the real client
// evaluates through the Fabric Gateway. It records every call.
type Fake struct {
	mu       sync.Mutex
	blocks   map[string][]*common.Block
	handlers map[string]Handler
	calls    []Call
}

// NewFake returns a fake whose peers all hold blocks.
func NewFake(blocks []*common.Block) *Fake {
	f := &Fake{blocks: map[string][]*common.Block{}, handlers: map[string]Handler{}}
	for _, org := range Profile().MSPIDs() {
		f.blocks[org] = blocks
	}
	return f
}

// SetBlocks gives one organisation's peer its own chain.
func (f *Fake) SetBlocks(org string, blocks []*common.Block) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blocks[org] = blocks
}

// On installs the handler of a chaincode transaction ("consent:GetAuthorization").
func (f *Fake) On(transaction string, h Handler) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers[transaction] = h
}

// Calls returns the calls made so far.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Client returns qc's view of the ledger over the fake, connected as
// AuditMSP.
func (f *Fake) Client() *cmdutil.Ledger {
	return cmdutil.NewLedger(f, Channel, Chaincode, OwnMSP)
}

// Evaluate implements ledger.Evaluator.
func (f *Fake) Evaluate(_ context.Context, org, chaincode, name string, args ...string) ([]byte, error) {
	req := Call{Org: org, Chaincode: chaincode, Transaction: name, Args: args}
	f.mu.Lock()
	f.calls = append(f.calls, req)
	f.mu.Unlock()
	if req.Chaincode == qscc.Chaincode {
		return f.qscc(req)
	}
	f.mu.Lock()
	h, ok := f.handlers[req.Transaction]
	f.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("fake: no handler for %s", req.Transaction)
	}
	v, err := h(req.Args)
	if err != nil {
		return nil, err
	}
	if s, ok := v.(string); ok {
		return []byte(s), nil
	}
	return json.Marshal(v)
}

func (f *Fake) qscc(req Call) ([]byte, error) {
	org := req.Org
	if org == "" {
		org = OwnMSP
	}
	f.mu.Lock()
	chain, ok := f.blocks[org]
	f.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("fake: no peer of %s", org)
	}
	if len(req.Args) == 0 || req.Args[0] != Channel {
		return nil, errors.New("fake: qscc called without the channel")
	}
	switch req.Transaction {
	case "GetChainInfo":
		info := &common.BlockchainInfo{Height: uint64(len(chain))}
		if len(chain) > 0 {
			info.CurrentBlockHash = HeaderHash(chain[len(chain)-1].Header)
			info.PreviousBlockHash = chain[len(chain)-1].Header.PreviousHash
		}
		return proto.Marshal(info)
	case "GetBlockByNumber":
		n, err := strconv.ParseUint(req.Args[1], 10, 64)
		if err != nil || n >= uint64(len(chain)) {
			return nil, fmt.Errorf("chaincode response 500, Failed to get block number %s, error no such block number [%s] in index", req.Args[1], req.Args[1])
		}
		return proto.Marshal(chain[n])
	case "GetBlockByTxID", "GetTransactionByID":
		for _, b := range chain {
			for i, d := range b.Data.Data {
				var env common.Envelope
				var pl common.Payload
				var ch common.ChannelHeader
				_ = proto.Unmarshal(d, &env)
				_ = proto.Unmarshal(env.Payload, &pl)
				_ = proto.Unmarshal(pl.GetHeader().GetChannelHeader(), &ch)
				if ch.TxId != req.Args[1] {
					continue
				}
				if req.Transaction == "GetBlockByTxID" {
					return proto.Marshal(b)
				}
				return proto.Marshal(&peer.ProcessedTransaction{TransactionEnvelope: &env,
					ValidationCode: int32(b.Metadata.Metadata[common.BlockMetadataIndex_TRANSACTIONS_FILTER][i])})
			}
		}
		return nil, fmt.Errorf("chaincode response 500, Failed to get transaction with id %s, error no such transaction ID [%s] in index", req.Args[1], req.Args[1])
	}
	return nil, fmt.Errorf("fake: qscc %s not supported", req.Transaction)
}

// Profile is the fake network's connection profile.
func Profile() *fabconn.Profile {
	p := &fabconn.Profile{Channel: Channel, Chaincode: Chaincode}
	for _, o := range [][2]string{{"bureau", "BureauMSP"}, {"bank", "BankMSP"}, {"insurer", "InsurerMSP"}, {"audit", "AuditMSP"}} {
		p.Orgs = append(p.Orgs, fabconn.OrgProfile{Name: o[0], MSPID: o[1], PeerEndpoint: "127.0.0.1:7051",
			PeerHostname: "peer0." + o[0] + ".quanchain.local"})
	}
	return p
}

// NewFactory returns a command factory over the fake, with buffers for
// standard output and error.
func NewFactory(f *Fake) (*cmdutil.Factory, *bytes.Buffer, *bytes.Buffer) {
	ios, _, out, errOut := cmdutil.Test()
	fac := cmdutil.NewFactory(ios)
	prof := Profile()
	own, _ := prof.Org(OwnMSP)
	fac.NetworkProfile = func() (*fabconn.Profile, *fabconn.OrgProfile, error) { return prof, own, nil }
	fac.Ledger = func(context.Context) (*cmdutil.Ledger, error) { return f.Client(), nil }
	return fac, out, errOut
}
