package qscc_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/quanchain/quanchain/ledger"
	"github.com/quanchain/quanchain/ledger/qscc"
)

// peers answers qscc calls from one chain of blocks per organisation and
// records every call as "org|chaincode|function|args…".
type peers struct {
	chains map[string][]*common.Block
	calls  []string
}

func (p *peers) Evaluate(_ context.Context, org, chaincode, name string, args ...string) ([]byte, error) {
	p.calls = append(p.calls, strings.Join(append([]string{org, chaincode, name}, args...), "|"))
	if org == "" {
		org = "AuditMSP"
	}
	chain := p.chains[org]
	switch name {
	case "GetChainInfo":
		return proto.Marshal(&common.BlockchainInfo{Height: uint64(len(chain))})
	case "GetBlockByNumber":
		n, _ := strconv.Atoi(args[1])
		if n >= len(chain) {
			return nil, errors.New("chaincode response 500, Failed to get block number " + args[1] + ", error no such block number [" + args[1] + "] in index")
		}
		return proto.Marshal(chain[n])
	case "GetBlockByTxID":
		return proto.Marshal(chain[0])
	case "GetTransactionByID":
		if args[1] != "tx-1" {
			return nil, errors.New("chaincode response 500, Failed to get transaction with id x, error no such transaction ID [x] in index")
		}
		return proto.Marshal(&peer.ProcessedTransaction{ValidationCode: int32(peer.TxValidationCode_VALID)})
	}
	return nil, errors.New("qscc has no function " + name)
}

func chain(n int) []*common.Block {
	var out []*common.Block
	for i := range n {
		out = append(out, &common.Block{Header: &common.BlockHeader{Number: uint64(i)}})
	}
	return out
}

func TestCallsNameTheChannelAndThePeer(t *testing.T) {
	p := &peers{chains: map[string][]*common.Block{"AuditMSP": chain(2), "BankMSP": chain(3)}}
	c := qscc.New(p, "quanchain")
	ctx := context.Background()
	if info, err := c.ChainInfo(ctx, ""); err != nil || info.GetHeight() != 2 {
		t.Fatalf("own chain info %v %v", info, err)
	}
	if b, err := c.Block(ctx, "BankMSP", 2); err != nil || b.GetHeader().GetNumber() != 2 {
		t.Fatalf("bank's block 2: %v %v", b, err)
	}
	if _, err := c.BlockByTxID(ctx, "", "tx-1"); err != nil {
		t.Fatal(err)
	}
	if tx, err := c.Transaction(ctx, "", "tx-1"); err != nil || tx.GetValidationCode() != int32(peer.TxValidationCode_VALID) {
		t.Fatalf("transaction %v %v", tx, err)
	}
	want := []string{"|qscc|GetChainInfo|quanchain", "BankMSP|qscc|GetBlockByNumber|quanchain|2",
		"|qscc|GetBlockByTxID|quanchain|tx-1", "|qscc|GetTransactionByID|quanchain|tx-1"}
	if strings.Join(p.calls, "\n") != strings.Join(want, "\n") {
		t.Fatalf("calls\n%s\nwant\n%s", strings.Join(p.calls, "\n"), strings.Join(want, "\n"))
	}
}

func TestNotFound(t *testing.T) {
	p := &peers{chains: map[string][]*common.Block{"AuditMSP": chain(2)}}
	c := qscc.New(p, "quanchain")
	ctx := context.Background()
	_, err := c.Block(ctx, "", 2)
	var le *ledger.Error
	if !errors.As(err, &le) || le.Code != ledger.CodeBlockNotFound || !le.NotFound() {
		t.Fatalf("block beyond the height: %v", err)
	}
	if _, err := c.Transaction(ctx, "", "x"); ledger.CodeOf(err) != ledger.CodeTxNotFound {
		t.Fatalf("unknown transaction: %v", err)
	}
}
