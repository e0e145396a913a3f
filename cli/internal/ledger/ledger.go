// Package ledger holds `qc ledger`: chain info, blocks and transactions
// decoded for auditors, and verification of the block chain across the
// peers of several organisations or in a copy of a peer's block store.
package ledger

import (
	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/cli/internal/cmdutil"
)

// NewCmdLedger returns `qc ledger` and its subcommands.
func NewCmdLedger(f *cmdutil.Factory) *cobra.Command {
	cmd := cmdutil.NewGroup("ledger <command>", "Read blocks and transactions; verify the block chain",
		`Read the channel's blocks and transactions from your own peer (qscc), decoded:
who submitted each transaction, which organisations endorsed it, whether the
peers validated it, which chaincode function it called with which arguments,
and which event it emitted. Verify that the chain has not been rewritten.`)
	cmd.AddCommand(NewCmdInfo(f, nil), NewCmdBlock(f, nil), NewCmdTx(f, nil), NewCmdVerify(f, nil))
	return cmd
}
