// Package qscc reads a channel's blocks and transactions through the
// peers' query system chaincode (qscc): chain info, blocks by number or by
// transaction id, and committed transactions with their validation codes.
//
// Every call names the organisation whose peer must answer it (empty: the
// connected organisation's own) and is evaluated there through a
// ledger.Evaluator, so the blocks of every member's peer can be compared
// with one organisation's identity. Failures are *ledger.Error: a block or
// transaction the peer does not hold is ledger.CodeBlockNotFound or
// ledger.CodeTxNotFound (NotFound reports true).
package qscc

import (
	"context"
	"fmt"
	"strconv"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/quanchain/quanchain/ledger"
)

// Chaincode is the name of the peer's query system chaincode.
const Chaincode = "qscc"

// Client reads one channel.
type Client struct {
	ev      ledger.Evaluator
	channel string
}

// New returns a client of a channel that evaluates through ev.
func New(ev ledger.Evaluator, channel string) *Client {
	return &Client{ev: ev, channel: channel}
}

// Channel is the channel the client reads.
func (c *Client) Channel() string { return c.channel }

// call evaluates a qscc function on org's peer; the channel is the first
// argument of every one.
func (c *Client) call(ctx context.Context, org, fn string, args ...string) ([]byte, error) {
	b, err := c.ev.Evaluate(ctx, org, Chaincode, fn, append([]string{c.channel}, args...)...)
	if err != nil {
		return nil, ledger.MapError(fmt.Sprintf("qscc %s on %s", fn, peerName(org)), err)
	}
	return b, nil
}

// peerName names the peer a call goes to, for messages.
func peerName(org string) string {
	if org == "" {
		return "the connected peer"
	}
	return org + "'s peer"
}

// ChainInfo returns the channel's height and its current and previous
// block hashes as org's peer sees them.
func (c *Client) ChainInfo(ctx context.Context, org string) (*common.BlockchainInfo, error) {
	b, err := c.call(ctx, org, "GetChainInfo")
	if err != nil {
		return nil, err
	}
	var info common.BlockchainInfo
	if err := proto.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("decode chain info from %s: %w", peerName(org), err)
	}
	return &info, nil
}

// Block returns block n as org's peer stores it.
func (c *Client) Block(ctx context.Context, org string, n uint64) (*common.Block, error) {
	b, err := c.call(ctx, org, "GetBlockByNumber", strconv.FormatUint(n, 10))
	if err != nil {
		return nil, err
	}
	return decodeBlock(b, peerName(org))
}

// BlockByTxID returns the block that holds a transaction, from org's peer.
func (c *Client) BlockByTxID(ctx context.Context, org, txID string) (*common.Block, error) {
	b, err := c.call(ctx, org, "GetBlockByTxID", txID)
	if err != nil {
		return nil, err
	}
	return decodeBlock(b, peerName(org))
}

func decodeBlock(b []byte, from string) (*common.Block, error) {
	var blk common.Block
	if err := proto.Unmarshal(b, &blk); err != nil {
		return nil, fmt.Errorf("decode block from %s: %w", from, err)
	}
	if blk.GetHeader() == nil {
		return nil, fmt.Errorf("block from %s has no header", from)
	}
	return &blk, nil
}

// Transaction returns a committed transaction from org's peer: its
// envelope and its validation code.
func (c *Client) Transaction(ctx context.Context, org, txID string) (*peer.ProcessedTransaction, error) {
	b, err := c.call(ctx, org, "GetTransactionByID", txID)
	if err != nil {
		return nil, err
	}
	var tx peer.ProcessedTransaction
	if err := proto.Unmarshal(b, &tx); err != nil {
		return nil, fmt.Errorf("decode transaction %s from %s: %w", txID, peerName(org), err)
	}
	return &tx, nil
}
