package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/quanchain/quanchain/cli/internal/chain"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
)

// blockTimes places transactions among their neighbours, reading each
// block once.
type blockTimes struct {
	lc       *cmdutil.Ledger
	byNumber map[uint64][]time.Time
	txs      map[uint64][]string
}

// times returns the transaction times of block n in block order, and nil
// if the peer has no such block.
func (b *blockTimes) times(ctx context.Context, n uint64) ([]time.Time, []string, error) {
	if ts, ok := b.byNumber[n]; ok {
		return ts, b.txs[n], nil
	}
	blk, err := b.lc.Blocks.Block(ctx, "", n)
	if cmdutil.IsNotFound(err) {
		b.byNumber[n] = nil
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return b.add(blk.GetHeader().GetNumber(), chain.DecodeBlock(blk, b.lc.Chaincode)), b.txs[n], nil
}

func (b *blockTimes) add(n uint64, blk *chain.Block) []time.Time {
	if b.txs == nil {
		b.txs = map[uint64][]string{}
	}
	ts := make([]time.Time, len(blk.Transactions))
	ids := make([]string, len(blk.Transactions))
	for i, tx := range blk.Transactions {
		ts[i], _ = time.Parse(time.RFC3339Nano, tx.Timestamp)
		ids[i] = tx.TxID
	}
	b.byNumber[n], b.txs[n] = ts, ids
	return ts
}

// place finds transaction txID in its block; nil if the peer does not
// hold it.
func (b *blockTimes) place(ctx context.Context, txID string) (*TxPlace, error) {
	blk, err := b.lc.Blocks.BlockByTxID(ctx, "", txID)
	if cmdutil.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("the block of transaction %s: %w", txID, err)
	}
	n := blk.GetHeader().GetNumber()
	if _, ok := b.byNumber[n]; !ok {
		b.add(n, chain.DecodeBlock(blk, b.lc.Chaincode))
	}
	ts, ids := b.byNumber[n], b.txs[n]
	idx := -1
	for i, id := range ids {
		if id == txID {
			idx = i
		}
	}
	if idx < 0 {
		return nil, nil
	}
	pl := &TxPlace{Block: n, Timestamp: ts[idx]}
	latest := func(list []time.Time) {
		for _, t := range list {
			if !t.IsZero() && t.After(pl.Before) {
				pl.Before = t
			}
		}
	}
	earliest := func(list []time.Time) {
		for _, t := range list {
			if !t.IsZero() && (pl.After.IsZero() || t.Before(pl.After)) {
				pl.After = t
			}
		}
	}
	latest(ts[:idx])
	earliest(ts[idx+1:])
	if n > 0 {
		prev, _, err := b.times(ctx, n-1)
		if err != nil {
			return nil, err
		}
		latest(prev)
	}
	next, _, err := b.times(ctx, n+1)
	if err != nil {
		return nil, err
	}
	earliest(next)
	return pl, nil
}
