// Package verify holds `qc verify`: check a record or a document against
// its anchor on the ledger, alone or in a Merkle batch, and a consent
// artefact offline and against the ledger.
package verify

import (
	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/cli/internal/cmdutil"
)

// NewCmdVerify returns `qc verify` and its subcommands.
func NewCmdVerify(f *cmdutil.Factory) *cobra.Command {
	cmd := cmdutil.NewGroup("verify <command>", "Verify a record or a document against its anchor, or a consent artefact",
		`Check that a record or a document is the one the data provider anchored on the
ledger and that it has not been revoked. Records stay with the provider
(数据源不上链): only their SHA-256 hashes, single or as the root of a Merkle
batch (RFC 6962), are on the ledger. A consent artefact proves a citizen's
decision offline, and --ledger checks it against the ledger too. qc exits
with status 3 when the record, document or artefact is not valid.`)
	cmd.AddCommand(NewCmdRecord(f, nil), NewCmdDocument(f, nil), NewCmdArtefact(f, nil))
	return cmd
}
