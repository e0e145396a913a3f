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

// AuthorizationsOptions are the inputs of `qc audit authorizations`.
type AuthorizationsOptions struct {
	IO     *cmdutil.IOStreams
	Ledger func(context.Context) (*cmdutil.Ledger, error)
	Output cmdutil.OutputFlags
	Ctx    context.Context

	// Citizen is --citizen as given; CitizenRef is its ref once resolved
	// (Pseudonym turns an ID number into one).
	Citizen    cmdutil.Citizen
	Pseudonym  func(ctx context.Context, idNumber, requester string) (string, error)
	CitizenRef string
	// Requester is --requester: a citizenRef is the name one requester
	// knows the citizen by, so a citizen listing reads that requester's
	// records.
	Requester   string
	Institution string
	Status      model.AuthStatus
	Period      cmdutil.TimeRange
}

// NewCmdAuthorizations returns `qc audit authorizations`.
func NewCmdAuthorizations(f *cmdutil.Factory, runF func(*AuthorizationsOptions) error) *cobra.Command {
	opts := &AuthorizationsOptions{IO: f.IOStreams, Ledger: f.Ledger, Pseudonym: f.Pseudonym}
	var citizen, status, since, until string
	cmd := &cobra.Command{
		Use:   "authorizations (--citizen <ref|id> | --institution <msp>) [--status S] [--since T] [--until T]",
		Short: "List a citizen's or an institution's authorisations",
		Long: `List every authorisation of one citizen (consent:ListAuthorizationsByCitizen)
or every authorisation one institution requested
(consent:ListAuthorizationsByRequester), following the ledger's bookmarks to
the end. --citizen takes a citizenRef, or an ID number that the operator's
gateway turns into the citizenRef. --status keeps one status as of now (EXPIRED is derived from
valid_until); --since and --until bound the request time, inclusive (RFC 3339
times, or dates meaning whole UTC days).`,
		Example: `  qc audit authorizations --citizen <citizenRef> --status GRANTED
  qc audit authorizations --citizen <18-character ID number> --json
  qc audit authorizations --institution BankMSP --since 2026-11-01 --until 2026-11-30 --format csv`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := exactlyOne(cmd, "citizen", "institution"); err != nil {
				return err
			}
			var err error
			if citizen != "" {
				if opts.Citizen, err = cmdutil.ParseCitizen("--citizen", citizen); err != nil {
					return err
				}
				if !model.ValidMSPID(opts.Requester) {
					return cmdutil.UsageErrorf("--citizen needs --requester <MSP ID>: a citizenRef is the name one requesting institution knows the citizen by")
				}
				opts.CitizenRef = opts.Citizen.Ref
			} else if opts.Institution, err = parseMSP(opts.Institution); err != nil {
				return err
			}
			if opts.Status, err = parseStatus(status); err != nil {
				return err
			}
			if opts.Period, err = cmdutil.ParseTimeRange(since, until); err != nil {
				return err
			}
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return authorizationsRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Requester, "requester", "", "with --citizen: the requesting institution (MSP ID) whose records to read; each knows the citizen by its own citizenRef")
	cmd.Flags().StringVar(&citizen, "citizen", "", "the citizen: a citizenRef (64 hex characters), or an ID number that the operator's gateway turns into one")
	cmdutil.AddOperatorFlag(cmd, f)
	cmd.Flags().StringVar(&opts.Institution, "institution", "", "the requesting institution's MSP ID")
	cmd.Flags().StringVar(&status, "status", "", "only this status: PENDING, GRANTED, DENIED, PAUSED, REVOKED, WITHDRAWN, EXPIRED, EXHAUSTED")
	cmd.Flags().StringVar(&since, "since", "", "requested at or after this time")
	cmd.Flags().StringVar(&until, "until", "", "requested at or before this time")
	cmdutil.AddFormatFlags(cmd, &opts.Output)
	return cmd
}

func authorizationsRun(opts *AuthorizationsOptions) error {
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
	q := ledger.ListQuery{Status: opts.Status, PageSize: cmdutil.PageSize}
	var list []model.Authorization
	if opts.CitizenRef != "" {
		all, err := ledger.All(opts.Ctx, q, func(ctx context.Context, q ledger.ListQuery) (*model.Page[model.Authorization], error) {
			return lc.ListAuthorizationsByCitizen(ctx, opts.Requester, opts.CitizenRef, q)
		})
		if err != nil {
			return err
		}
		// The citizen listing has no time bounds on the ledger: apply them here.
		list = []model.Authorization{}
		for _, a := range all {
			if opts.Period.Contains(a.RequestedAt) {
				list = append(list, a)
			}
		}
	} else {
		q.Since, q.Until = opts.Period.SinceArg(), opts.Period.UntilArg()
		list, err = ledger.All(opts.Ctx, q, func(ctx context.Context, q ledger.ListQuery) (*model.Page[model.Authorization], error) {
			return lc.ListAuthorizationsByRequester(ctx, opts.Institution, q)
		})
		if err != nil {
			return err
		}
	}
	return writeAuthorizations(opts.IO, format, list)
}

var authorizationColumns = []string{"id", "citizen_ref", "requester", "purpose", "categories", "status", "uses", "max_uses",
	"data_from", "data_to", "requested_at", "granted_at", "valid_until", "updated_at", "seq", "request_tx_id", "last_tx_id"}

func writeAuthorizations(ios *cmdutil.IOStreams, format cmdutil.Format, list []model.Authorization) error {
	switch format {
	case cmdutil.FormatJSON:
		return cmdutil.WriteJSON(ios.Out, list)
	case cmdutil.FormatCSV:
		rows := make([][]string, len(list))
		for i, a := range list {
			rows[i] = []string{a.ID, a.CitizenRef, a.Requester, a.Purpose, strings.Join(a.Categories, ";"), string(a.Status),
				strconv.Itoa(a.Uses), strconv.Itoa(a.MaxUses), a.DataFrom, a.DataTo, a.RequestedAt, a.GrantedAt,
				a.ValidUntil, a.UpdatedAt, strconv.Itoa(a.Seq), a.RequestTxID, a.LastTxID}
		}
		return cmdutil.WriteCSV(ios.Out, authorizationColumns, rows)
	}
	if len(list) == 0 {
		fmt.Fprintln(ios.Out, "no authorisations")
		return nil
	}
	t := cmdutil.NewTable(ios.Out, "ID", "CITIZEN", "REQUESTER", "PURPOSE", "CATEGORIES", "STATUS", "USES", "REQUESTED", "VALID UNTIL")
	for _, a := range list {
		t.Row(a.ID, cmdutil.Short(a.CitizenRef), a.Requester, a.Purpose, strings.Join(a.Categories, ","), string(a.Status),
			fmt.Sprintf("%d/%d", a.Uses, a.MaxUses), a.RequestedAt, a.ValidUntil)
	}
	if err := t.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(ios.Out, "%d authorisation(s)\n", len(list))
	return nil
}
