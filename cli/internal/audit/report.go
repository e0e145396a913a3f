package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/ledger"
)

// ReportOptions are the inputs of `qc audit report`.
type ReportOptions struct {
	IO     *cmdutil.IOStreams
	Ledger func(context.Context) (*cmdutil.Ledger, error)
	Output cmdutil.OutputFlags
	Ctx    context.Context

	Period cmdutil.TimeRange
}

// Report is the access report of a period.
type Report struct {
	Since        string       `json:"since,omitempty"`
	Until        string       `json:"until,omitempty"`
	Peer         string       `json:"peer"`
	Institutions int          `json:"institutions"`
	Accesses     int          `json:"accesses"`
	Summary      []SummaryRow `json:"summary"`
	Findings     []Finding    `json:"findings"`
	// NotMe counts, per requester, the requests citizens denied in the
	// period as not theirs (不是我申请的: a DENY with the reason NOT_ME).
	NotMe   []NotMeRow    `json:"not_me_denials"`
	Checked []CheckedItem `json:"-"` // every access with its findings, for CSV
}

// SummaryRow counts the accesses of one institution, purpose and category;
// an access of several categories counts once under each.
type SummaryRow struct {
	Institution string `json:"institution"`
	Purpose     string `json:"purpose"`
	Category    string `json:"category"`
	Accesses    int    `json:"accesses"`
	Citizens    int    `json:"citizens"` // distinct citizenRefs
}

// NotMeRow is one requester's count of requests denied as not the
// citizen's.
type NotMeRow struct {
	Institution string `json:"institution"`
	Denials     int    `json:"denials"`
}

// CheckedItem is one access and what was found wrong with it.
type CheckedItem struct {
	Access   model.Access
	Findings []Finding
}

// NewCmdReport returns `qc audit report`.
func NewCmdReport(f *cmdutil.Factory, runF func(*ReportOptions) error) *cobra.Command {
	opts := &ReportOptions{IO: f.IOStreams, Ledger: f.Ledger}
	var since, until string
	cmd := &cobra.Command{
		Use:   "report [--since T] [--until T] [--format table|json|csv]",
		Short: "Report the period's accesses and check each against its authorisation",
		Long: `Report every delivery of data in the period (every institution from
registry:ListInstitutions, then access:ListAccessesByRequester for each),
counted by institution, purpose and category, and check each delivery against
the authorisation it was made under, as that authorisation stood just before
the delivery (from the key's history, registry:History):

` + findingTable() + `
Findings are listed and qc exits with status 3. The table shows the summary
and the findings; JSON has both; CSV has one row per delivery with its
findings. Without --since or --until, the period is open on that side.

It also counts, per institution, the requests citizens denied in the period
as not theirs (不是我申请的: a DENY with the reason NOT_ME), from each
requester's DENIED authorisations (consent:ListAuthorizationsByRequester).`,
		Example: `  qc audit report --since 2026-11-01 --until 2026-11-30
  qc audit report --since 2026-11-01 --until 2026-11-30 --format csv > accesses.csv`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if opts.Period, err = cmdutil.ParseTimeRange(since, until); err != nil {
				return err
			}
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return reportRun(opts)
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "first moment of the period")
	cmd.Flags().StringVar(&until, "until", "", "last moment of the period")
	cmdutil.AddFormatFlags(cmd, &opts.Output)
	return cmd
}

func reportRun(opts *ReportOptions) error {
	format, err := opts.Output.Resolve()
	if err != nil {
		return err
	}
	lc, err := opts.Ledger(opts.Ctx)
	if err != nil {
		return err
	}
	rep, err := BuildReport(opts.Ctx, lc, opts.Period)
	if err != nil {
		return err
	}
	switch format {
	case cmdutil.FormatJSON:
		err = cmdutil.WriteJSON(opts.IO.Out, rep)
	case cmdutil.FormatCSV:
		err = writeReportCSV(opts.IO, rep)
	default:
		err = writeReportTable(opts.IO, rep)
	}
	if err != nil {
		return err
	}
	if len(rep.Findings) > 0 {
		return cmdutil.FailedCheckf("%d finding(s) in %d access(es)", len(rep.Findings), rep.Accesses)
	}
	return nil
}

// BuildReport reads the period's accesses of every institution and checks
// each against its authorisation.
func BuildReport(ctx context.Context, lc *cmdutil.Ledger, period cmdutil.TimeRange) (*Report, error) {
	insts, err := ledger.All(ctx, ledger.ListQuery{PageSize: cmdutil.PageSize}, lc.ListInstitutions)
	if err != nil {
		return nil, err
	}
	sort.Slice(insts, func(i, j int) bool { return insts[i].MSPID < insts[j].MSPID })
	rep := &Report{Since: period.SinceArg(), Until: period.UntilArg(), Peer: lc.MSPID,
		Institutions: len(insts), Summary: []SummaryRow{}, Findings: []Finding{}, NotMe: []NotMeRow{}}
	histories := map[string][]model.HistoryEntry{}
	type key struct{ inst, purpose, category string }
	counts := map[key]*SummaryRow{}
	citizens := map[key]map[string]bool{}
	for _, inst := range insts {
		q := ledger.ListQuery{Since: period.SinceArg(), Until: period.UntilArg(), PageSize: cmdutil.PageSize}
		accs, err := ledger.All(ctx, q, func(ctx context.Context, q ledger.ListQuery) (*model.Page[model.Access], error) {
			return lc.ListAccessesByRequester(ctx, inst.MSPID, q)
		})
		if err != nil {
			return nil, err
		}
		for _, a := range accs {
			h, ok := histories[a.AuthorizationID]
			if !ok {
				if h, err = lc.History(ctx, "auth", a.AuthorizationID); err != nil {
					return nil, err
				}
				// The key's history is of the public record; the terms
				// (citizen, purpose, categories, period), which never
				// change, are in the private one.
				cur, err := lc.GetAuthorization(ctx, a.AuthorizationID)
				if err != nil {
					return nil, err
				}
				if h, err = withTerms(h, cur); err != nil {
					return nil, err
				}
				histories[a.AuthorizationID] = h
			}
			found := CheckAccess(a, h)
			rep.Findings = append(rep.Findings, found...)
			rep.Checked = append(rep.Checked, CheckedItem{Access: a, Findings: found})
			rep.Accesses++
			for _, c := range a.Categories {
				k := key{inst.MSPID, a.Purpose, c}
				if counts[k] == nil {
					counts[k] = &SummaryRow{Institution: k.inst, Purpose: k.purpose, Category: k.category}
					citizens[k] = map[string]bool{}
				}
				counts[k].Accesses++
				citizens[k][a.CitizenRef] = true
			}
		}
	}
	for _, inst := range insts {
		if !inst.Kind.MayRequest() {
			continue
		}
		n, err := notMeDenials(ctx, lc, inst.MSPID, period)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			rep.NotMe = append(rep.NotMe, NotMeRow{Institution: inst.MSPID, Denials: n})
		}
	}
	for k, row := range counts {
		row.Citizens = len(citizens[k])
		rep.Summary = append(rep.Summary, *row)
	}
	sort.Slice(rep.Summary, func(i, j int) bool {
		a, b := rep.Summary[i], rep.Summary[j]
		if a.Institution != b.Institution {
			return a.Institution < b.Institution
		}
		if a.Purpose != b.Purpose {
			return a.Purpose < b.Purpose
		}
		return a.Category < b.Category
	})
	return rep, nil
}

// notMeDenials counts requester's authorisations denied with the reason
// NOT_ME at a time within period. A denial is final, so every one is
// among the DENIED authorisations, whenever they were requested.
func notMeDenials(ctx context.Context, lc *cmdutil.Ledger, requester string, period cmdutil.TimeRange) (int, error) {
	denied, err := ledger.All(ctx, ledger.ListQuery{Status: model.AuthDenied, PageSize: cmdutil.PageSize},
		func(ctx context.Context, q ledger.ListQuery) (*model.Page[model.Authorization], error) {
			return lc.ListAuthorizationsByRequester(ctx, requester, q)
		})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range denied {
		if d := a.LastDecision; d != nil && d.Reason == model.ReasonNotMe && period.Contains(d.At) {
			n++
		}
	}
	return n, nil
}

func writeReportTable(ios *cmdutil.IOStreams, r *Report) error {
	w := ios.Out
	fmt.Fprintf(w, "Access report, %s to %s, from %s's peer\n\n", orOpen(r.Since, "the beginning"), orOpen(r.Until, "now"), r.Peer)
	if len(r.Summary) == 0 {
		fmt.Fprintln(w, "no accesses in the period")
	} else {
		t := cmdutil.NewTable(w, "INSTITUTION", "PURPOSE", "CATEGORY", "ACCESSES", "CITIZENS")
		for _, s := range r.Summary {
			t.Row(s.Institution, s.Purpose, s.Category, strconv.Itoa(s.Accesses), strconv.Itoa(s.Citizens))
		}
		if err := t.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\n%d access(es), %d institution(s) registered, %d finding(s)\n", r.Accesses, r.Institutions, len(r.Findings))
	for _, n := range r.NotMe {
		fmt.Fprintf(w, "%s: %d request(s) denied by citizens as not theirs (NOT_ME)\n", n.Institution, n.Denials)
	}
	if len(r.Findings) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nFINDINGS")
	t := cmdutil.NewTable(w, "ACCESS", "ACCESSED", "INSTITUTION", "AUTHORIZATION", "FINDING", "DETAIL")
	for _, f := range r.Findings {
		t.Row(f.AccessID, f.AccessedAt, f.Requester, f.AuthorizationID, f.Code, f.Detail)
	}
	return t.Flush()
}

func writeReportCSV(ios *cmdutil.IOStreams, r *Report) error {
	rows := make([][]string, len(r.Checked))
	for i, c := range r.Checked {
		codes := make([]string, len(c.Findings))
		for j, f := range c.Findings {
			codes[j] = f.Code
		}
		rows[i] = append(accessRow(c.Access), strings.Join(codes, ";"))
	}
	return cmdutil.WriteCSV(ios.Out, append(append([]string{}, accessColumns...), "findings"), rows)
}

// findingTable lists the finding codes for the help text.
func findingTable() string {
	var b strings.Builder
	for _, f := range [][2]string{
		{FindingAuthorizationMissing, "no version of the authorisation before the delivery"},
		{FindingRequesterMismatch, "the authorisation names another requester"},
		{FindingCitizenMismatch, "it concerns another citizen"},
		{FindingNotGranted, "it was not GRANTED at the delivery"},
		{FindingExpired, "the delivery came after valid_until"},
		{FindingCategoryNotCovered, "a delivered category is not in it"},
		{FindingUsesExceeded, "the delivery's use number is over max_uses"},
	} {
		fmt.Fprintf(&b, "  %-22s  %s\n", f[0], f[1])
	}
	return b.String()
}

func orOpen(s, open string) string {
	if s == "" {
		return open
	}
	return s
}

// withTerms completes each version of an authorisation's public record
// with the terms of its private record, which no transaction changes.
func withTerms(h []model.HistoryEntry, cur *model.Authorization) ([]model.HistoryEntry, error) {
	out := make([]model.HistoryEntry, len(h))
	for i, e := range h {
		out[i] = e
		if e.IsDelete || e.Value == "" {
			continue
		}
		var a model.Authorization
		if err := json.Unmarshal([]byte(e.Value), &a); err != nil {
			return nil, fmt.Errorf("authorisation %s: a version on the ledger does not decode: %w", cur.ID, err)
		}
		a.CitizenRef, a.Purpose, a.Categories = cur.CitizenRef, cur.Purpose, cur.Categories
		a.DataFrom, a.DataTo, a.ReferenceHash = cur.DataFrom, cur.DataTo, cur.ReferenceHash
		b, err := json.Marshal(&a)
		if err != nil {
			return nil, err
		}
		out[i].Value = string(b)
	}
	return out, nil
}
