// Package root builds qc's command tree and runs it. It is the one place
// that turns errors into exit codes.
package root

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/cli/internal/admin"
	"github.com/quanchain/quanchain/cli/internal/audit"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/cli/internal/config"
	"github.com/quanchain/quanchain/cli/internal/data"
	"github.com/quanchain/quanchain/cli/internal/docs"
	"github.com/quanchain/quanchain/cli/internal/idpolicy"
	"github.com/quanchain/quanchain/cli/internal/ledger"
	"github.com/quanchain/quanchain/cli/internal/verify"
)

// Exit codes.
const (
	ExitOK          = 0 // success
	ExitError       = 1 // any other failure: network, I/O, unexpected answers
	ExitUsage       = 2 // bad flags or arguments
	ExitFailedCheck = 3 // a verification failed, or a report has findings
	ExitNotFound    = 4 // the block, transaction or object is not on the ledger
)

// NewCmdRoot builds the command tree on a factory.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	cmd := cmdutil.NewGroup("qc <command>", "The quanchain auditor's command line",
		`qc reads the quanchain ledger straight from your organisation's own peer,
with your organisation's own identity, never through any gateway: blocks and
transactions, authorisations and data accesses, key histories, integrity of
the block chain across the peers of every organisation, and verification of
records and documents against their anchors. The admin and data commands
are the exception: they call a gateway's admin API.

It finds the network in the state directory the network tool writes
(--state-dir, else $QUANCHAIN_HOME, else <repository>/.quanchain) and
connects as the organisation --profile names (default: audit, i.e. AuditMSP).

Exit status: 0 success, 1 failure, 2 usage error, 3 verification failed or
findings present, 4 not found.`)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	cmd.CompletionOptions.DisableDefaultCmd = true
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &cmdutil.UsageError{Err: fmt.Errorf("%w (see `%s --help`)", err, c.CommandPath())}
	})
	cmd.PersistentFlags().StringVar(&f.StateDir, "state-dir", "", "the network's state directory (default $QUANCHAIN_HOME or <repository>/.quanchain)")
	cmd.PersistentFlags().StringVar(&f.Profile, "profile", cmdutil.DefaultProfile, "organisation to connect as: short name or MSP ID")

	cmd.AddCommand(
		config.NewCmdConfig(f, nil),
		ledger.NewCmdLedger(f),
		audit.NewCmdAudit(f),
		verify.NewCmdVerify(f),
		admin.NewCmdAdmin(f),
		idpolicy.NewCmdIdentityPolicy(f),
		data.NewCmdData(f),
		docs.NewCmdDocs(f, nil),
	)
	return cmd
}

// Main runs qc with the process's arguments and streams and returns the
// exit code.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, cmdutil.System(), os.Args[1:])
}

// Run runs qc with the given streams and arguments and returns the exit
// code; errors are written to ios.ErrOut.
func Run(ctx context.Context, ios *cmdutil.IOStreams, args []string) int {
	f := cmdutil.NewFactory(ios)
	cmd := NewCmdRoot(f)
	cmd.SetArgs(args)
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	err := cmd.ExecuteContext(ctx)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	code := ExitCode(err)
	if err != nil {
		fmt.Fprintln(ios.ErrOut, "qc:", err)
		for _, d := range cmdutil.PeerDetails(err) {
			fmt.Fprintln(ios.ErrOut, "  "+d)
		}
	}
	return code
}

// ExitCode maps an error to qc's exit code.
func ExitCode(err error) int {
	var (
		usage  *cmdutil.UsageError
		failed *cmdutil.FailedCheckError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &usage):
		return ExitUsage
	case errors.As(err, &failed):
		return ExitFailedCheck
	case cmdutil.IsNotFound(err):
		return ExitNotFound
	default:
		return ExitError
	}
}
