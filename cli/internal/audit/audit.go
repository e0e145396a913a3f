// Package audit holds `qc audit`: authorisations and data accesses by
// citizen, institution or period, the history of any ledger object with who
// submitted each change, the access report that ties every delivery to the
// authorisation it was made under, the reconciliation of the gateways'
// delivery logs with the ledger's accesses, and the re-verification of
// every citizen decision from the ledger alone.
package audit

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
)

// NewCmdAudit returns `qc audit` and its subcommands.
func NewCmdAudit(f *cmdutil.Factory) *cobra.Command {
	cmd := cmdutil.NewGroup("audit <command>", "Authorisations, accesses, key histories, access reports, reconciliation and decisions",
		`Query what the ledger records about the use of citizens' data (全程留痕): every
authorisation a citizen gave or was asked for, every delivery of data to an
institution, the full history of any ledger object, and a report that checks
every delivery against the authorisation it was made under, the gateways'
delivery receipts held against the ledger's accesses both ways, and every
citizen decision's signature verified again from the ledger alone.

Citizens appear on the ledger only as citizenRefs (64 hex characters, a
keyed hash of the ID number that only the operator can compute). --citizen
takes a citizenRef, or an ID number that qc sends, over mutual TLS with your
organisation's TLS client identity, to the operator's gateway to be turned
into the citizenRef (--operator): qc never holds the key, and never prints
or logs the ID number.`)
	cmd.AddCommand(NewCmdAuthorizations(f, nil), NewCmdAccesses(f, nil), NewCmdHistory(f, nil), NewCmdReport(f, nil),
		NewCmdReconcile(f, nil), NewCmdDecisions(f, nil))
	return cmd
}

// parseStatus checks a --status value.
func parseStatus(s string) (model.AuthStatus, error) {
	if s == "" {
		return "", nil
	}
	st := model.AuthStatus(strings.ToUpper(s))
	if !st.Valid() {
		return "", cmdutil.UsageErrorf("--status %q: want one of PENDING, GRANTED, DENIED, PAUSED, REVOKED, WITHDRAWN, EXPIRED, EXHAUSTED", s)
	}
	return st, nil
}

// parseMSP checks an --institution value.
func parseMSP(s string) (string, error) {
	if !model.ValidMSPID(s) {
		return "", cmdutil.UsageErrorf("--institution %q: want an MSP ID such as BankMSP", s)
	}
	return s, nil
}

// exactlyOne checks that exactly one of the named flags was given.
func exactlyOne(cmd *cobra.Command, names ...string) error {
	n := 0
	for _, name := range names {
		if cmd.Flags().Changed(name) {
			n++
		}
	}
	if n != 1 {
		return cmdutil.UsageErrorf("give exactly one of --%s", strings.Join(names, ", --"))
	}
	return nil
}
