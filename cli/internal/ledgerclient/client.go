// Package ledgerclient is qc's typed, read-only view of the ledger: the
// peer's query system chaincode (qscc: chain info, blocks, transactions) and
// the evaluate transactions of the quanchain chaincode, decoded into the
// types of chaincode/model.
//
// Every call is an evaluation through a Transport; GatewayTransport
// evaluates through the Fabric Gateway of the connected organisation's own
// peer, with that organisation's own identity. A call may name another
// organisation whose peer must answer it (for cross-checking blocks): the
// gateway then forwards the signed proposal to that organisation's peer.
package ledgerclient

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/quanchain/quanchain/chaincode/model"
)

// QSCC is the name of the peer's query system chaincode.
const QSCC = "qscc"

// Request is one evaluation.
type Request struct {
	Chaincode   string   // QSCC or the network's chaincode
	Transaction string   // "GetBlockByNumber", "consent:GetAuthorization", …
	Args        []string // string arguments
	// Org, if not empty, is the MSP ID of the organisation whose peer must
	// evaluate the request; empty means the connected organisation's peer.
	Org string
}

// Transport evaluates requests. It is the seam where tests put a fake.
type Transport interface {
	Evaluate(ctx context.Context, req Request) ([]byte, error)
}

// Client reads the ledger of one channel through a Transport.
type Client struct {
	t         Transport
	channel   string
	chaincode string
	mspID     string
}

// New returns a client for a channel and chaincode; mspID is the
// organisation the transport is connected as.
func New(t Transport, channel, chaincode, mspID string) *Client {
	return &Client{t: t, channel: channel, chaincode: chaincode, mspID: mspID}
}

// Channel is the channel the client reads.
func (c *Client) Channel() string { return c.channel }

// Chaincode is the network's chaincode, whose transactions the client
// evaluates.
func (c *Client) Chaincode() string { return c.chaincode }

// MSPID is the organisation the client is connected as; its peer answers
// every request that names no other organisation.
func (c *Client) MSPID() string { return c.mspID }

// peerName names the peer a request goes to, for error messages.
func (c *Client) peerName(org string) string {
	if org == "" {
		org = c.mspID
	}
	return org + "'s peer"
}

func (c *Client) qscc(ctx context.Context, org, fn string, args ...string) ([]byte, error) {
	b, err := c.t.Evaluate(ctx, Request{Chaincode: QSCC, Transaction: fn, Args: append([]string{c.channel}, args...), Org: org})
	if err != nil {
		return nil, wrap("qscc "+fn+" on "+c.peerName(org), err)
	}
	return b, nil
}

// ChainInfo returns the channel's height and current and previous block
// hashes as org's peer (empty: the connected peer) sees them.
func (c *Client) ChainInfo(ctx context.Context, org string) (*common.BlockchainInfo, error) {
	b, err := c.qscc(ctx, org, "GetChainInfo")
	if err != nil {
		return nil, err
	}
	var info common.BlockchainInfo
	if err := proto.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("decode chain info from %s: %w", c.peerName(org), err)
	}
	return &info, nil
}

// Block returns block n as org's peer (empty: the connected peer) stores it.
func (c *Client) Block(ctx context.Context, org string, n uint64) (*common.Block, error) {
	b, err := c.qscc(ctx, org, "GetBlockByNumber", strconv.FormatUint(n, 10))
	if err != nil {
		return nil, err
	}
	return decodeBlock(b, c.peerName(org))
}

// BlockByTxID returns the block that holds a transaction.
func (c *Client) BlockByTxID(ctx context.Context, txID string) (*common.Block, error) {
	b, err := c.qscc(ctx, "", "GetBlockByTxID", txID)
	if err != nil {
		return nil, err
	}
	return decodeBlock(b, c.peerName(""))
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

// Transaction returns a committed transaction: its envelope and validation
// code.
func (c *Client) Transaction(ctx context.Context, txID string) (*peer.ProcessedTransaction, error) {
	b, err := c.qscc(ctx, "", "GetTransactionByID", txID)
	if err != nil {
		return nil, err
	}
	var tx peer.ProcessedTransaction
	if err := proto.Unmarshal(b, &tx); err != nil {
		return nil, fmt.Errorf("decode transaction %s: %w", txID, err)
	}
	return &tx, nil
}

// evaluate runs a transaction of the quanchain chaincode on the connected
// peer and decodes its JSON result into out.
func (c *Client) evaluate(ctx context.Context, out any, fn string, args ...string) error {
	b, err := c.t.Evaluate(ctx, Request{Chaincode: c.chaincode, Transaction: fn, Args: args})
	if err != nil {
		return wrap(fn, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s: decode result: %w", fn, err)
	}
	return nil
}

// PageSize is the page size qc asks for when it follows bookmarks.
const PageSize = 100

// all follows a listing's bookmarks to its end. next fetches one page.
func all[T any](ctx context.Context, next func(bookmark string) (*model.Page[T], error)) ([]T, error) {
	items := []T{}
	bookmark := ""
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p, err := next(bookmark)
		if err != nil {
			return nil, err
		}
		items = append(items, p.Items...)
		if p.Bookmark == "" || p.Bookmark == bookmark {
			return items, nil
		}
		bookmark = p.Bookmark
	}
}

// ListInstitutions returns every registered institution.
func (c *Client) ListInstitutions(ctx context.Context) ([]model.Institution, error) {
	return all(ctx, func(bm string) (*model.Page[model.Institution], error) {
		var p model.Page[model.Institution]
		return &p, c.evaluate(ctx, &p, "registry:ListInstitutions", strconv.Itoa(PageSize), bm)
	})
}

// History returns the committed versions of one ledger key, newest first.
func (c *Client) History(ctx context.Context, objectType, id string) ([]model.HistoryEntry, error) {
	var h []model.HistoryEntry
	return h, c.evaluate(ctx, &h, "registry:History", objectType, id)
}

// GetAuthorization returns one authorisation as of now.
func (c *Client) GetAuthorization(ctx context.Context, id string) (*model.Authorization, error) {
	var a model.Authorization
	return &a, c.evaluate(ctx, &a, "consent:GetAuthorization", id)
}

// AuthorizationsByCitizen returns every authorisation of a citizen,
// optionally only those in one (effective) status.
func (c *Client) AuthorizationsByCitizen(ctx context.Context, ref string, status model.AuthStatus) ([]model.Authorization, error) {
	return all(ctx, func(bm string) (*model.Page[model.Authorization], error) {
		var p model.Page[model.Authorization]
		return &p, c.evaluate(ctx, &p, "consent:ListAuthorizationsByCitizen", ref, string(status), strconv.Itoa(PageSize), bm)
	})
}

// AuthorizationsByRequester returns every authorisation an institution
// requested within [since, until] (RFC 3339, "" for open), optionally only
// those in one (effective) status.
func (c *Client) AuthorizationsByRequester(ctx context.Context, msp string, status model.AuthStatus, since, until string) ([]model.Authorization, error) {
	return all(ctx, func(bm string) (*model.Page[model.Authorization], error) {
		var p model.Page[model.Authorization]
		return &p, c.evaluate(ctx, &p, "consent:ListAuthorizationsByRequester", msp, string(status), since, until, strconv.Itoa(PageSize), bm)
	})
}

// AccessesByCitizen returns every delivery of a citizen's data within
// [since, until].
func (c *Client) AccessesByCitizen(ctx context.Context, ref, since, until string) ([]model.Access, error) {
	return all(ctx, func(bm string) (*model.Page[model.Access], error) {
		var p model.Page[model.Access]
		return &p, c.evaluate(ctx, &p, "access:ListAccessesByCitizen", ref, since, until, strconv.Itoa(PageSize), bm)
	})
}

// AccessesByRequester returns every delivery to an institution within
// [since, until].
func (c *Client) AccessesByRequester(ctx context.Context, msp, since, until string) ([]model.Access, error) {
	return all(ctx, func(bm string) (*model.Page[model.Access], error) {
		var p model.Page[model.Access]
		return &p, c.evaluate(ctx, &p, "access:ListAccessesByRequester", msp, since, until, strconv.Itoa(PageSize), bm)
	})
}

// AccessesByAuthorization returns every delivery under one authorisation.
func (c *Client) AccessesByAuthorization(ctx context.Context, authID string) ([]model.Access, error) {
	return all(ctx, func(bm string) (*model.Page[model.Access], error) {
		var p model.Page[model.Access]
		return &p, c.evaluate(ctx, &p, "access:ListAccessesByAuthorization", authID, strconv.Itoa(PageSize), bm)
	})
}

// VerifyRecord checks a single record or document anchor.
func (c *Client) VerifyRecord(ctx context.Context, hash string) (*model.Verification, error) {
	var v model.Verification
	return &v, c.evaluate(ctx, &v, "anchor:VerifyRecord", hash)
}

// GetBatch returns a Merkle batch anchor.
func (c *Client) GetBatch(ctx context.Context, id string) (*model.BatchAnchor, error) {
	var b model.BatchAnchor
	return &b, c.evaluate(ctx, &b, "anchor:GetBatch", id)
}

// VerifyProof has the chaincode check an inclusion proof against a batch.
func (c *Client) VerifyProof(ctx context.Context, req model.ProofRequest) (*model.Verification, error) {
	arg, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode proof request: %w", err)
	}
	var v model.Verification
	return &v, c.evaluate(ctx, &v, "anchor:VerifyProof", string(arg))
}
