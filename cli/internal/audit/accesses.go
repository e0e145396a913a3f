package audit

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/ledger"
)

// AccessesOptions are the inputs of `qc audit accesses`.
type AccessesOptions struct {
	IO     *cmdutil.IOStreams
	Ledger func(context.Context) (*cmdutil.Ledger, error)
	Output cmdutil.OutputFlags
	Ctx    context.Context

	Institution string
	// Citizen is --citizen as given; CitizenRef is its ref once resolved
	// (Pseudonym turns an ID number into one).
	Citizen    cmdutil.Citizen
	Pseudonym  func(ctx context.Context, idNumber, requester string) (string, error)
	CitizenRef string
	// Requester is --requester: a citizenRef is the name one requester
	// knows the citizen by, so a citizen listing reads that requester's
	// records.
	Requester       string
	AuthorizationID string
	Period          cmdutil.TimeRange
}

// NewCmdAccesses returns `qc audit accesses`.
func NewCmdAccesses(f *cmdutil.Factory, runF func(*AccessesOptions) error) *cobra.Command {
	opts := &AccessesOptions{IO: f.IOStreams, Ledger: f.Ledger, Pseudonym: f.Pseudonym}
	var citizen, since, until string
	cmd := &cobra.Command{
		Use:   "accesses (--institution <msp> | --citizen <ref|id> | --authorization <id>) [--since T] [--until T]",
		Short: "List deliveries of data to an institution, of a citizen, or under an authorisation",
		Long: `List every recorded delivery of data (access:ListAccessesByRequester,
ListAccessesByCitizen or ListAccessesByAuthorization), oldest first: when,
to whom, by which provider, for which purpose, which categories, in which
mode (records or a yes/no answer), which use of the authorisation it was,
and the digest of exactly what was delivered. --since and --until bound the
delivery time, inclusive.`,
		Example: `  qc audit accesses --institution BankMSP --since 2026-11-01 --until 2026-11-30
  qc audit accesses --authorization loan-2026-0042 --json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := exactlyOne(cmd, "institution", "citizen", "authorization"); err != nil {
				return err
			}
			var err error
			switch {
			case citizen != "":
				if opts.Citizen, err = cmdutil.ParseCitizen("--citizen", citizen); err != nil {
					return err
				}
				if !model.ValidMSPID(opts.Requester) {
					return cmdutil.UsageErrorf("--citizen needs --requester <MSP ID>: a citizenRef is the name one requesting institution knows the citizen by")
				}
				opts.CitizenRef = opts.Citizen.Ref
			case opts.AuthorizationID != "":
				if !model.ValidID(opts.AuthorizationID) {
					return cmdutil.UsageErrorf("--authorization %q is not a valid authorisation id", opts.AuthorizationID)
				}
			default:
				if opts.Institution, err = parseMSP(opts.Institution); err != nil {
					return err
				}
			}
			if opts.Period, err = cmdutil.ParseTimeRange(since, until); err != nil {
				return err
			}
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return accessesRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Institution, "institution", "", "the receiving institution's MSP ID")
	cmd.Flags().StringVar(&opts.Requester, "requester", "", "with --citizen: the requesting institution (MSP ID) whose records to read; each knows the citizen by its own citizenRef")
	cmd.Flags().StringVar(&citizen, "citizen", "", "the citizen: a citizenRef (64 hex characters), or an ID number that the operator's gateway turns into one")
	cmdutil.AddOperatorFlag(cmd, f)
	cmd.Flags().StringVar(&opts.AuthorizationID, "authorization", "", "an authorisation id")
	cmd.Flags().StringVar(&since, "since", "", "delivered at or after this time")
	cmd.Flags().StringVar(&until, "until", "", "delivered at or before this time")
	cmdutil.AddFormatFlags(cmd, &opts.Output)
	return cmd
}

func accessesRun(opts *AccessesOptions) error {
	format, err := opts.Output.Resolve()
	if err != nil {
		return err
	}
	if opts.Citizen.IDNumber != "" {
		if opts.CitizenRef, err = cmdutil.ResolveCitizen(opts.Ctx, opts.Citizen, func(ctx context.Context, id string) (string, error) {
			return opts.Pseudonym(ctx, id, opts.Requester)
		}); err != nil {
			return err
		}
	}
	lc, err := opts.Ledger(opts.Ctx)
	if err != nil {
		return err
	}
	q := ledger.ListQuery{Since: opts.Period.SinceArg(), Until: opts.Period.UntilArg(), PageSize: cmdutil.PageSize}
	var list []model.Access
	switch {
	case opts.CitizenRef != "":
		list, err = ledger.All(opts.Ctx, q, func(ctx context.Context, q ledger.ListQuery) (*model.Page[model.Access], error) {
			return lc.ListAccessesByCitizen(ctx, opts.Requester, opts.CitizenRef, q)
		})
	case opts.AuthorizationID != "":
		if _, err := lc.GetAuthorization(opts.Ctx, opts.AuthorizationID); err != nil {
			if cmdutil.IsNotFound(err) {
				return cmdutil.NotFoundf("authorisation %s is not on the ledger", opts.AuthorizationID)
			}
			return err
		}
		var all []model.Access
		all, err = ledger.All(opts.Ctx, q, func(ctx context.Context, q ledger.ListQuery) (*model.Page[model.Access], error) {
			return lc.ListAccessesByAuthorization(ctx, opts.AuthorizationID, q)
		})
		if err == nil {
			list = []model.Access{}
			for _, a := range all { // this listing has no time bounds on the ledger
				if opts.Period.Contains(a.AccessedAt) {
					list = append(list, a)
				}
			}
		}
	default:
		list, err = ledger.All(opts.Ctx, q, func(ctx context.Context, q ledger.ListQuery) (*model.Page[model.Access], error) {
			return lc.ListAccessesByRequester(ctx, opts.Institution, q)
		})
	}
	if err != nil {
		return err
	}
	return writeAccesses(opts.IO, format, list)
}

var accessColumns = []string{"id", "accessed_at", "requester", "provider", "purpose", "categories", "mode", "predicate",
	"use_number", "record_count", "authorization_id", "citizen_ref", "digest", "tx_id"}

func accessRow(a model.Access) []string {
	return []string{a.ID, a.AccessedAt, a.Requester, a.Provider, a.Purpose, strings.Join(a.Categories, ";"), a.Mode, a.Predicate,
		strconv.Itoa(a.UseNumber), strconv.Itoa(a.RecordCount), a.AuthorizationID, a.CitizenRef, a.Digest, a.TxID}
}

func writeAccesses(ios *cmdutil.IOStreams, format cmdutil.Format, list []model.Access) error {
	switch format {
	case cmdutil.FormatJSON:
		return cmdutil.WriteJSON(ios.Out, list)
	case cmdutil.FormatCSV:
		rows := make([][]string, len(list))
		for i, a := range list {
			rows[i] = accessRow(a)
		}
		return cmdutil.WriteCSV(ios.Out, accessColumns, rows)
	}
	if len(list) == 0 {
		fmt.Fprintln(ios.Out, "no accesses")
		return nil
	}
	t := cmdutil.NewTable(ios.Out, "ID", "ACCESSED", "REQUESTER", "PROVIDER", "PURPOSE", "CATEGORIES", "MODE", "USE", "AUTHORIZATION", "CITIZEN")
	for _, a := range list {
		mode := a.Mode
		if a.Predicate != "" {
			mode += ":" + a.Predicate
		}
		t.Row(a.ID, a.AccessedAt, a.Requester, a.Provider, a.Purpose, strings.Join(a.Categories, ","), mode,
			strconv.Itoa(a.UseNumber), a.AuthorizationID, cmdutil.Short(a.CitizenRef))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(ios.Out, "%d access(es)\n", len(list))
	return nil
}
