package verify

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
)

// DocumentOptions are the inputs of `qc verify document`.
type DocumentOptions struct {
	IO     *cmdutil.IOStreams
	Ledger func(context.Context) (*cmdutil.Ledger, error)
	Output cmdutil.OutputFlags
	Ctx    context.Context

	SHA256 string
}

// DocumentResult is what `qc verify document` reports.
type DocumentResult struct {
	SHA256 string              `json:"sha256"`
	Valid  bool                `json:"valid"`
	Reason string              `json:"reason,omitempty"`
	Ledger *model.Verification `json:"ledger"`
}

// NewCmdDocument returns `qc verify document`.
func NewCmdDocument(f *cmdutil.Factory, runF func(*DocumentOptions) error) *cobra.Command {
	opts := &DocumentOptions{IO: f.IOStreams, Ledger: f.Ledger}
	cmd := &cobra.Command{
		Use:   "document --sha256 <hash>",
		Short: "Verify a document by its SHA-256 against its anchor",
		Long: `Check a document (an e-licence, a certificate) by its SHA-256 hash, as printed
on it or computed by whoever holds it: it must be anchored (anchor:VerifyRecord)
and not revoked. The document itself is never needed.`,
		Example: "  qc verify document --sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := cmdutil.ParseHash("--sha256", opts.SHA256)
			if err != nil {
				return err
			}
			opts.SHA256, opts.Ctx = h, cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return documentRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.SHA256, "sha256", "", "the document's SHA-256, 64 hex characters")
	cmdutil.AddJSONFlag(cmd, &opts.Output)
	return cmd
}

func documentRun(opts *DocumentOptions) error {
	format, err := opts.Output.Resolve()
	if err != nil {
		return err
	}
	lc, err := opts.Ledger(opts.Ctx)
	if err != nil {
		return err
	}
	v, err := lc.VerifyRecord(opts.Ctx, opts.SHA256)
	if err != nil {
		return err
	}
	res := DocumentResult{SHA256: opts.SHA256, Valid: v.Valid, Reason: v.Reason, Ledger: v}
	if format == cmdutil.FormatJSON {
		err = cmdutil.WriteJSON(opts.IO.Out, res)
	} else {
		t := cmdutil.NewTable(opts.IO.Out)
		t.Row("sha256", res.SHA256)
		writeLedger(t, v)
		t.Row("result", verdict(res.Valid, res.Reason))
		err = t.Flush()
	}
	if err != nil {
		return err
	}
	if !res.Valid {
		return cmdutil.FailedCheckf("document %s is not valid: %s", res.SHA256, res.Reason)
	}
	return nil
}
