// Package data holds `qc data`: datasets of a gateway's digital safe,
// imported through its admin API.
package data

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/cli/internal/operator"
)

// NewCmdData returns `qc data` and its subcommands.
func NewCmdData(f *cmdutil.Factory) *cobra.Command {
	cmd := cmdutil.NewGroup("data <command>", "Datasets of a gateway's digital safe",
		`Load data into a provider gateway's digital safe through its admin API: the
gateway stores the records, seals them into Merkle batches and anchors each
batch's root on the ledger. Credentials as for qc admin.`)
	cmd.AddCommand(NewCmdImport(f, nil))
	return cmd
}

var categoryPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{1,31}$`)

// ImportOptions are the inputs of `qc data import`.
type ImportOptions struct {
	IO     *cmdutil.IOStreams
	Admin  func(cmdutil.AdminFlags) (*operator.Admin, error)
	Output cmdutil.OutputFlags
	Ctx    context.Context

	Flags    cmdutil.AdminFlags
	Category string
	File     string
}

// NewCmdImport returns `qc data import`.
func NewCmdImport(f *cmdutil.Factory, runF func(*ImportOptions) error) *cobra.Command {
	opts := &ImportOptions{IO: f.IOStreams, Admin: f.AdminClient}
	cmd := &cobra.Command{
		Use:   "import --category <c> --file <f.jsonl>",
		Short: "Import a dataset (JSON Lines) and anchor it on the ledger",
		Long: `Send a dataset to the gateway: JSON Lines, one record a line, each an object
with string members category (--category), citizen_id (an ID number) and
record_date (YYYY-MM-DD). All or nothing: a bad line fails the whole import,
named by its line number. Records already stored are skipped, so an import
can be repeated; batches an earlier failure left unanchored are anchored.`,
		Example: `  qc data import --category tax --file tax-2026-11.jsonl
  qc data import --category tax --file tax-2026-11.jsonl --json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !categoryPattern.MatchString(opts.Category) {
				return cmdutil.UsageErrorf("--category %q: want a category name such as tax or housing_fund", opts.Category)
			}
			if opts.File == "" {
				return cmdutil.UsageErrorf("--file is required: the dataset, JSON Lines")
			}
			if _, err := opts.Output.Resolve(); err != nil {
				return err
			}
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return importRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Category, "category", "", "the data category (the gateway organisation's own)")
	cmd.Flags().StringVar(&opts.File, "file", "", "the dataset: JSON Lines, one record a line")
	cmdutil.AddAdminFlags(cmd, &opts.Flags)
	cmdutil.AddJSONFlag(cmd, &opts.Output)
	return cmd
}

func importRun(opts *ImportOptions) error {
	format, err := opts.Output.Resolve()
	if err != nil {
		return err
	}
	file, err := os.Open(opts.File)
	if err != nil {
		return fmt.Errorf("--file: %w", err)
	}
	defer file.Close()
	a, err := opts.Admin(opts.Flags)
	if err != nil {
		return err
	}
	r, err := a.Import(opts.Ctx, opts.Category, file)
	if err != nil {
		return err
	}
	if format == cmdutil.FormatJSON {
		return cmdutil.WriteJSON(opts.IO.Out, r)
	}
	fmt.Fprintf(opts.IO.Out, "%s: %d record(s), %d inserted, %d already stored, %d batch(es) sealed\n",
		r.Category, r.Records, r.Inserted, r.Duplicates, r.Batches)
	if len(r.Anchored) == 0 {
		fmt.Fprintln(opts.IO.Out, "no batches anchored")
		return nil
	}
	t := cmdutil.NewTable(opts.IO.Out, "BATCH", "CATEGORY", "LEAVES", "ROOT", "TX")
	for _, b := range r.Anchored {
		t.Row(b.BatchID, b.Category, strconv.Itoa(b.LeafCount), cmdutil.Short(b.Root), b.TxID)
	}
	return t.Flush()
}
