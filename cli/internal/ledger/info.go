package ledger

import (
	"context"
	"encoding/hex"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/cli/internal/cmdutil"
)

// InfoOptions are the inputs of `qc ledger info`.
type InfoOptions struct {
	IO     *cmdutil.IOStreams
	Ledger func(context.Context) (*cmdutil.Ledger, error)
	Output cmdutil.OutputFlags
	Ctx    context.Context
}

// Info is what `qc ledger info` reports.
type Info struct {
	Channel           string `json:"channel"`
	Peer              string `json:"peer"` // the MSP ID of the peer that answered
	Height            uint64 `json:"height"`
	CurrentBlockHash  string `json:"current_block_hash"`
	PreviousBlockHash string `json:"previous_block_hash"`
}

// NewCmdInfo returns `qc ledger info`.
func NewCmdInfo(f *cmdutil.Factory, runF func(*InfoOptions) error) *cobra.Command {
	opts := &InfoOptions{IO: f.IOStreams, Ledger: f.Ledger}
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Show the channel's height and latest block hashes",
		Long: `Show the channel's height and the hashes of its last two blocks as your own
peer reports them (qscc GetChainInfo). The current block hash is the SHA-256
of the last block's header: ` + "`qc ledger verify`" + ` recomputes it.`,
		Example: "  qc ledger info\n  qc ledger info --json",
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return infoRun(opts)
		},
	}
	cmdutil.AddJSONFlag(cmd, &opts.Output)
	return cmd
}

func infoRun(opts *InfoOptions) error {
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
	info := Info{Channel: lc.Channel, Peer: lc.MSPID, Height: ci.GetHeight(),
		CurrentBlockHash: hex.EncodeToString(ci.GetCurrentBlockHash()), PreviousBlockHash: hex.EncodeToString(ci.GetPreviousBlockHash())}
	if format == cmdutil.FormatJSON {
		return cmdutil.WriteJSON(opts.IO.Out, info)
	}
	t := cmdutil.NewTable(opts.IO.Out)
	t.Row("channel", info.Channel)
	t.Row("peer", info.Peer)
	t.Row("height", strconv.FormatUint(info.Height, 10))
	t.Row("current block hash", info.CurrentBlockHash)
	t.Row("previous block hash", cmdutil.OrDash(info.PreviousBlockHash))
	return t.Flush()
}
