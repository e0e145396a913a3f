package ledger

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/cli/internal/chain"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
)

// TxOptions are the inputs of `qc ledger tx`.
type TxOptions struct {
	IO     *cmdutil.IOStreams
	Ledger func(context.Context) (*cmdutil.Ledger, error)
	Output cmdutil.OutputFlags
	Ctx    context.Context

	TxID string
}

// TxResult is what `qc ledger tx` reports: the transaction and where it is.
type TxResult struct {
	Block uint64 `json:"block"`
	chain.Transaction
}

var txIDPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// NewCmdTx returns `qc ledger tx TXID`.
func NewCmdTx(f *cmdutil.Factory, runF func(*TxOptions) error) *cobra.Command {
	opts := &TxOptions{IO: f.IOStreams, Ledger: f.Ledger}
	cmd := &cobra.Command{
		Use:   "tx <txid>",
		Short: "Show one transaction, decoded, and the block that holds it",
		Long: `Show one committed transaction (qscc GetTransactionByID), decoded as in
` + "`qc ledger block`" + `, with the number of the block that holds it. Transaction ids
appear in every ledger object (tx_id, last_tx_id) and event.`,
		Example: "  qc ledger tx 740c5b985eab8978aef9a005a2640c5a3934ad824be19165453c020168cb56d4",
		Args:    cmdutil.ExactArgs(1, "a transaction id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := strings.ToLower(strings.TrimSpace(args[0]))
			if !txIDPattern.MatchString(id) {
				return cmdutil.UsageErrorf("transaction id %q: want 64 hex characters", args[0])
			}
			opts.TxID, opts.Ctx = id, cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return txRun(opts)
		},
	}
	cmdutil.AddJSONFlag(cmd, &opts.Output)
	return cmd
}

func txRun(opts *TxOptions) error {
	format, err := opts.Output.Resolve()
	if err != nil {
		return err
	}
	lc, err := opts.Ledger(opts.Ctx)
	if err != nil {
		return err
	}
	pt, err := lc.Blocks.Transaction(opts.Ctx, "", opts.TxID)
	if err != nil {
		if cmdutil.IsNotFound(err) {
			return cmdutil.NotFoundf("transaction %s not found on %s's peer", opts.TxID, lc.MSPID)
		}
		return err
	}
	res := TxResult{Transaction: chain.DecodeTransaction(pt, lc.Chaincode)}
	b, err := lc.Blocks.BlockByTxID(opts.Ctx, "", opts.TxID)
	if err != nil {
		return err
	}
	res.Block = b.GetHeader().GetNumber()
	for _, t := range chain.DecodeBlock(b, lc.Chaincode).Transactions {
		if t.TxID == opts.TxID {
			res.Index = t.Index
			break
		}
	}
	if format == cmdutil.FormatJSON {
		return cmdutil.WriteJSON(opts.IO.Out, res)
	}
	fmt.Fprintf(opts.IO.Out, "block %d, transaction %d\n", res.Block, res.Index)
	return writeTransaction(opts.IO.Out, &res.Transaction, false)
}
