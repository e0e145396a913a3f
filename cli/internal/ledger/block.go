package ledger

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/cli/internal/chain"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
)

// BlockOptions are the inputs of `qc ledger block`.
type BlockOptions struct {
	IO     *cmdutil.IOStreams
	Ledger func(context.Context) (*cmdutil.Ledger, error)
	Output cmdutil.OutputFlags
	Ctx    context.Context

	Number uint64
}

// NewCmdBlock returns `qc ledger block N`.
func NewCmdBlock(f *cmdutil.Factory, runF func(*BlockOptions) error) *cobra.Command {
	opts := &BlockOptions{IO: f.IOStreams, Ledger: f.Ledger}
	cmd := &cobra.Command{
		Use:   "block <number>",
		Short: "Show one block, its transactions decoded",
		Long: `Show one block as your own peer stores it: the header's hashes (and the
header's own hash, computed), then every transaction: id, type, time,
creator (MSP and certificate name), endorsers, the peer's validation code,
the chaincode function called and, for the network's own chaincode, its
arguments as JSON, the event it emitted and the keys it wrote.`,
		Example: "  qc ledger block 5\n  qc ledger block 5 --json | jq '.transactions[].event'",
		Args:    cmdutil.ExactArgs(1, "a block number"),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return cmdutil.UsageErrorf("block number %q: want a number from 0 up", args[0])
			}
			opts.Number, opts.Ctx = n, cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return blockRun(opts)
		},
	}
	cmdutil.AddJSONFlag(cmd, &opts.Output)
	return cmd
}

func blockRun(opts *BlockOptions) error {
	format, err := opts.Output.Resolve()
	if err != nil {
		return err
	}
	lc, err := opts.Ledger(opts.Ctx)
	if err != nil {
		return err
	}
	ci, err := lc.Blocks.ChainInfo(opts.Ctx, "")
	if err != nil {
		return err
	}
	if opts.Number >= ci.GetHeight() {
		return cmdutil.NotFoundf("block %d not found: the channel's height on %s's peer is %d (blocks 0 to %d)",
			opts.Number, lc.MSPID, ci.GetHeight(), ci.GetHeight()-1)
	}
	b, err := lc.Blocks.Block(opts.Ctx, "", opts.Number)
	if err != nil {
		return err
	}
	blk := chain.DecodeBlock(b, lc.Chaincode)
	if format == cmdutil.FormatJSON {
		return cmdutil.WriteJSON(opts.IO.Out, blk)
	}
	return writeBlock(opts.IO, blk)
}

func writeBlock(io *cmdutil.IOStreams, blk *chain.Block) error {
	t := cmdutil.NewTable(io.Out)
	t.Row("block", strconv.FormatUint(blk.Number, 10))
	t.Row("data hash", blk.DataHash.String())
	t.Row("previous hash", cmdutil.OrDash(blk.PreviousHash.String()))
	t.Row("header hash", blk.HeaderHash.String()+" (computed)")
	t.Row("transactions", strconv.Itoa(len(blk.Transactions)))
	if err := t.Flush(); err != nil {
		return err
	}
	for i := range blk.Transactions {
		fmt.Fprintln(io.Out)
		if err := writeTransaction(io.Out, &blk.Transactions[i], true); err != nil {
			return err
		}
	}
	return nil
}
