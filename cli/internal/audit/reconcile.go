package audit

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/cli/internal/operator"
	"github.com/quanchain/quanchain/ledger"
)

// Kinds of reconciliation findings.
const (
	// ReceiptWithoutAccess: a gateway kept a delivery of the period whose
	// access is not on the ledger.
	ReceiptWithoutAccess = "RECEIPT_WITHOUT_ACCESS"
	// AccessWithoutReceipt: the ledger records an access of the period
	// that the gateway's delivery log lacks.
	AccessWithoutReceipt = "ACCESS_WITHOUT_RECEIPT"
	// The gateway's entry and the ledger's access disagree.
	DigestMismatch        = "DIGEST_MISMATCH"
	ReceiptRequester      = "REQUESTER_MISMATCH"
	ReceiptProvider       = "PROVIDER_MISMATCH"
	ReceiptAuthorization  = "AUTHORIZATION_MISMATCH"
	ReceiptUseNumber      = "USE_NUMBER_MISMATCH"
	ReceiptTransaction    = "TX_MISMATCH"
	defaultReconcileSlack = 10 * time.Minute
)

// The delivery log's sides, and its answer to a gateway that has both
// when none is named.
const (
	sideServed       = "served"
	sideReceived     = "received"
	codeSideRequired = "SIDE_REQUIRED"
)

// ReconcileOptions are the inputs of `qc audit reconcile`.
type ReconcileOptions struct {
	IO     *cmdutil.IOStreams
	Ledger func(context.Context) (*cmdutil.Ledger, error)
	Output cmdutil.OutputFlags
	Ctx    context.Context

	Period cmdutil.TimeRange
	// Gateways are the admin APIs whose delivery logs are reconciled;
	// empty means every gateway of the local network (LocalGateways).
	Gateways      []string
	LocalGateways func() ([]string, error)
	Admin         cmdutil.AdminFlags
	AdminClient   func(cmdutil.AdminFlags) (*operator.Admin, error)
	// Slack widens the period on the gateways' side: a receipt is written
	// just before its access's transaction, a received delivery just after.
	Slack time.Duration
}

// Reconciliation is the outcome of `qc audit reconcile`.
type Reconciliation struct {
	Since    string             `json:"since,omitempty"`
	Until    string             `json:"until,omitempty"`
	Peer     string             `json:"peer"`
	Gateways []GatewayLog       `json:"gateways"`
	Findings []ReconcileFinding `json:"findings"`
	Notes    []string           `json:"notes"`
}

// GatewayLog sums up one gateway's delivery log against the ledger.
type GatewayLog struct {
	Gateway      string `json:"gateway"`
	Organization string `json:"organization"`
	Side         string `json:"side"`     // served or received
	Entries      int    `json:"entries"`  // in the period
	Accesses     int    `json:"accesses"` // on the ledger, in the period, of this organisation
	Matched      int    `json:"matched"`
}

// ReconcileFinding is one disagreement between a gateway's delivery log
// and the ledger.
type ReconcileFinding struct {
	Kind            string `json:"kind"`
	Gateway         string `json:"gateway"`
	Organization    string `json:"organization"`
	Side            string `json:"side"`
	AccessID        string `json:"access_id"`
	AuthorizationID string `json:"authorization_id"`
	Requester       string `json:"requester"`
	// TxID is the access's transaction on the ledger, else the one the
	// gateway recorded.
	TxID   string `json:"tx_id,omitempty"`
	Detail string `json:"detail"`
}

// NewCmdReconcile returns `qc audit reconcile`.
func NewCmdReconcile(f *cmdutil.Factory, runF func(*ReconcileOptions) error) *cobra.Command {
	opts := &ReconcileOptions{IO: f.IOStreams, Ledger: f.Ledger, AdminClient: f.AdminClient,
		LocalGateways: func() ([]string, error) { return localGateways(f) }}
	var since, until string
	cmd := &cobra.Command{
		Use:   "reconcile [--since T] [--until T] [--gateway URL]...",
		Short: "Hold the gateways' delivery receipts against the ledger's accesses",
		Long: `Hold what the gateways kept of the period's deliveries of data against the
accesses the ledger recorded, both ways: the operator's receipts of the
deliveries it served, and the deliveries a requester's gateway received
(GET /admin/v1/deliveries on each gateway's admin API), against
access:ListAccessesByRequester of every institution, read with your own
identity from your own peer.

Findings, each with the gateway, the access, its authorisation, requester
and transaction:

  RECEIPT_WITHOUT_ACCESS  the gateway kept a delivery of the period that is not on the ledger
  ACCESS_WITHOUT_RECEIPT  the ledger records an access of the period the gateway did not keep
  DIGEST_MISMATCH, REQUESTER_MISMATCH, PROVIDER_MISMATCH, AUTHORIZATION_MISMATCH,
  USE_NUMBER_MISMATCH, TX_MISMATCH
                          the gateway's entry and the ledger's access disagree

Findings exit with status 3. --gateway names a gateway's HTTP API (repeat it
for several); without it, every gateway of the local network. The admin
client is --client-id/--client-secret (or QC_CLIENT_ID/QC_CLIENT_SECRET) for
every gateway, else each local gateway's demo admin client. A receipt is
written just before its access's transaction and a received delivery just
after, so the gateways' side is read --slack wider than the period.
A requester's gateway keeps only the deliveries made under an
Idempotency-Key, for the keys' lifetime: reconcile within it.`,
		Example: `  qc audit reconcile --since 2026-11-01 --until 2026-11-30
  qc audit reconcile --since 2026-11-28 --gateway https://gw.bureau.example --json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if opts.Period, err = cmdutil.ParseTimeRange(since, until); err != nil {
				return err
			}
			if opts.Slack < 0 {
				return cmdutil.UsageErrorf("--slack %s is negative", opts.Slack)
			}
			for _, g := range opts.Gateways {
				if !strings.HasPrefix(g, "http://") && !strings.HasPrefix(g, "https://") {
					return cmdutil.UsageErrorf("--gateway %q: want an http:// or https:// address", g)
				}
			}
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return reconcileRun(opts)
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "first moment of the period")
	cmd.Flags().StringVar(&until, "until", "", "last moment of the period")
	cmd.Flags().StringArrayVar(&opts.Gateways, "gateway", nil, "a gateway's HTTP API whose delivery log to reconcile (repeatable; default: every gateway of the local network)")
	cmd.Flags().StringVar(&opts.Admin.ClientID, "client-id", "", "an API client with the admin scope, for every gateway (default $"+cmdutil.EnvClientID+", else each local gateway's demo admin client)")
	cmd.Flags().StringVar(&opts.Admin.ClientSecret, "client-secret", "", "its secret (default $"+cmdutil.EnvClientSecret+")")
	cmd.Flags().DurationVar(&opts.Slack, "slack", defaultReconcileSlack, "how much wider than the period the gateways' logs are read")
	cmdutil.AddFormatFlags(cmd, &opts.Output)
	return cmd
}

// localGateways are the HTTP APIs of the local network's gateways.
func localGateways(f *cmdutil.Factory) ([]string, error) {
	prof, _, err := f.NetworkProfile()
	if err != nil {
		return nil, fmt.Errorf("%w\n(or name the gateways with --gateway)", err)
	}
	var out []string
	for _, g := range prof.Gateways {
		if g.API != "" {
			out = append(out, g.API)
		}
	}
	if len(out) == 0 {
		return nil, cmdutil.UsageErrorf("the network profile names no gateway: name them with --gateway")
	}
	return out, nil
}

func reconcileRun(opts *ReconcileOptions) error {
	format, err := opts.Output.Resolve()
	if err != nil {
		return err
	}
	gateways := opts.Gateways
	if len(gateways) == 0 {
		if gateways, err = opts.LocalGateways(); err != nil {
			return err
		}
	}
	lc, err := opts.Ledger(opts.Ctx)
	if err != nil {
		return err
	}
	logs := make([]GatewayDeliveries, 0, len(gateways))
	for _, g := range gateways {
		a := opts.Admin
		a.Gateway = g
		admin, err := opts.AdminClient(a)
		if err != nil {
			return err
		}
		q := operator.DeliveryLogQuery{Limit: 100}
		if !opts.Period.Since.IsZero() {
			q.Since = opts.Period.Since.Add(-opts.Slack)
		}
		if !opts.Period.Until.IsZero() {
			q.Until = opts.Period.Until.Add(opts.Slack)
		}
		sides := []string{""} // the gateway's own side
		for len(sides) > 0 {
			q.Side, sides = sides[0], sides[1:]
			page, err := admin.AllDeliveries(opts.Ctx, q)
			var ae *operator.APIError
			if errors.As(err, &ae) && ae.Code == codeSideRequired && q.Side == "" {
				sides = []string{sideServed, sideReceived} // it serves and receives: read both
				continue
			}
			if err != nil {
				return err
			}
			logs = append(logs, GatewayDeliveries{Gateway: g, Organization: page.Organization, Side: page.Side, Entries: page.Items})
		}
	}
	rec, err := Reconcile(opts.Ctx, lc, opts.Period, logs)
	if err != nil {
		return err
	}
	switch format {
	case cmdutil.FormatJSON:
		err = cmdutil.WriteJSON(opts.IO.Out, rec)
	case cmdutil.FormatCSV:
		rows := make([][]string, len(rec.Findings))
		for i, f := range rec.Findings {
			rows[i] = []string{f.Kind, f.Gateway, f.Organization, f.Side, f.AccessID, f.AuthorizationID, f.Requester, f.TxID, f.Detail}
		}
		err = cmdutil.WriteCSV(opts.IO.Out, []string{"kind", "gateway", "organization", "side", "access_id", "authorization_id", "requester", "tx_id", "detail"}, rows)
	default:
		err = writeReconciliation(opts.IO, rec)
	}
	if err != nil {
		return err
	}
	if len(rec.Findings) > 0 {
		return cmdutil.FailedCheckf("%d finding(s) reconciling %d gateway(s) with the ledger", len(rec.Findings), len(rec.Gateways))
	}
	return nil
}

// GatewayDeliveries is one gateway's delivery log, read over the period
// widened by the slack.
type GatewayDeliveries struct {
	Gateway      string
	Organization string
	Side         string // served or received
	Entries      []operator.DeliveryLogEntry
}

// Reconcile holds each gateway's delivery log against the accesses the
// ledger recorded in the period: the accesses of every institution, of
// which a served log must hold those its organisation provided and a
// received log those its organisation requested.
func Reconcile(ctx context.Context, lc *cmdutil.Ledger, period cmdutil.TimeRange, logs []GatewayDeliveries) (*Reconciliation, error) {
	rec := &Reconciliation{Since: period.SinceArg(), Until: period.UntilArg(), Peer: lc.MSPID,
		Gateways: []GatewayLog{}, Findings: []ReconcileFinding{}, Notes: []string{}}
	insts, err := ledger.All(ctx, ledger.ListQuery{PageSize: cmdutil.PageSize}, lc.ListInstitutions)
	if err != nil {
		return nil, err
	}
	sort.Slice(insts, func(i, j int) bool { return insts[i].MSPID < insts[j].MSPID })
	var accesses []model.Access
	for _, inst := range insts {
		q := ledger.ListQuery{Since: period.SinceArg(), Until: period.UntilArg(), PageSize: cmdutil.PageSize}
		list, err := ledger.All(ctx, q, func(ctx context.Context, q ledger.ListQuery) (*model.Page[model.Access], error) {
			return lc.ListAccessesByRequester(ctx, inst.MSPID, q)
		})
		if err != nil {
			return nil, err
		}
		accesses = append(accesses, list...)
	}
	useKept, received := false, false
	for _, g := range logs {
		sum := GatewayLog{Gateway: g.Gateway, Organization: g.Organization, Side: g.Side}
		received = received || g.Side == sideReceived
		finding := func(kind string, e operator.DeliveryLogEntry, txID, format string, args ...any) {
			rec.Findings = append(rec.Findings, ReconcileFinding{Kind: kind, Gateway: g.Gateway, Organization: g.Organization, Side: g.Side,
				AccessID: e.AccessID, AuthorizationID: e.AuthorizationID, Requester: e.Requester, TxID: txID, Detail: fmt.Sprintf(format, args...)})
		}
		// The ledger's side: the accesses this organisation took part in.
		onLedger := map[string]model.Access{}
		for _, a := range accesses {
			if (g.Side == sideServed && a.Provider == g.Organization) || (g.Side == sideReceived && a.Requester == g.Organization) {
				onLedger[a.ID] = a
				sum.Accesses++
			}
		}
		kept := map[string]bool{}
		for _, e := range g.Entries {
			useKept = useKept || e.UseNumber != 0
			a, ok := onLedger[e.AccessID]
			if !ok {
				at, err := time.Parse(time.RFC3339Nano, e.At)
				if err != nil || !period.Contains(model.FormatTime(at)) {
					continue // written in the slack, and its access is not in the period: another period's
				}
				got, err := lc.GetAccess(ctx, e.AccessID)
				switch {
				case cmdutil.IsNotFound(err):
					finding(ReceiptWithoutAccess, e, e.TxID, "%s at %s; no access %s on the ledger%s", entryName(g.Side), e.At, e.AccessID, uncommitted(e))
					sum.Entries++
					continue
				case err != nil:
					return nil, err
				}
				a = *got // committed just outside the period
			}
			sum.Entries++
			kept[e.AccessID] = true
			n := len(rec.Findings)
			if e.Digest != a.Digest {
				finding(DigestMismatch, e, a.TxID, "the gateway's digest %s, the ledger's %s", e.Digest, a.Digest)
			}
			if e.Requester != a.Requester {
				finding(ReceiptRequester, e, a.TxID, "the gateway says delivered to %s, the ledger to %s", e.Requester, a.Requester)
			}
			if e.Provider != "" && e.Provider != a.Provider {
				finding(ReceiptProvider, e, a.TxID, "the gateway says delivered by %s, the ledger by %s", e.Provider, a.Provider)
			}
			// An access fetched by id may be another organisation's.
			if g.Side == sideServed && a.Provider != g.Organization {
				finding(ReceiptProvider, e, a.TxID, "the ledger's access was provided by %s, not by %s", a.Provider, g.Organization)
			}
			if g.Side == sideReceived && a.Requester != g.Organization && e.Requester == a.Requester {
				finding(ReceiptRequester, e, a.TxID, "the ledger's access was made to %s, not to %s", a.Requester, g.Organization)
			}
			if e.AuthorizationID != a.AuthorizationID {
				finding(ReceiptAuthorization, e, a.TxID, "the gateway says under %s, the ledger under %s", e.AuthorizationID, a.AuthorizationID)
			}
			if e.UseNumber != 0 && e.UseNumber != a.UseNumber {
				finding(ReceiptUseNumber, e, a.TxID, "the gateway says use %d, the ledger use %d", e.UseNumber, a.UseNumber)
			}
			if e.TxID != "" && e.TxID != a.TxID {
				finding(ReceiptTransaction, e, a.TxID, "the gateway names transaction %s, the access committed in %s", e.TxID, a.TxID)
			}
			if len(rec.Findings) == n {
				sum.Matched++
			}
		}
		ids := make([]string, 0, len(onLedger))
		for id := range onLedger {
			if !kept[id] {
				ids = append(ids, id)
			}
		}
		sort.Slice(ids, func(i, j int) bool {
			a, b := onLedger[ids[i]], onLedger[ids[j]]
			return a.AccessedAt < b.AccessedAt || a.AccessedAt == b.AccessedAt && a.ID < b.ID
		})
		for _, id := range ids {
			a := onLedger[id]
			finding(AccessWithoutReceipt, operator.DeliveryLogEntry{AccessID: a.ID, AuthorizationID: a.AuthorizationID, Requester: a.Requester},
				a.TxID, "access by %s to %s at %s; the gateway's log of %s deliveries lacks it", a.Provider, a.Requester, a.AccessedAt, g.Side)
		}
		rec.Gateways = append(rec.Gateways, sum)
	}
	if !useKept && len(logs) > 0 {
		rec.Notes = append(rec.Notes, "the gateways keep no use numbers: use numbers not compared")
	}
	if received {
		rec.Notes = append(rec.Notes, "a requester's gateway keeps only the deliveries made under an Idempotency-Key, for the keys' lifetime")
	}
	return rec, nil
}

func entryName(side string) string {
	if side == sideServed {
		return "receipt"
	}
	return "delivery received"
}

func uncommitted(e operator.DeliveryLogEntry) string {
	if e.TxID == "" {
		return " (the receipt names no transaction: its access may never have committed)"
	}
	return " (the gateway names transaction " + e.TxID + ")"
}

func writeReconciliation(ios *cmdutil.IOStreams, r *Reconciliation) error {
	w := ios.Out
	fmt.Fprintf(w, "Reconciliation, %s to %s, ledger from %s's peer\n\n", orOpen(r.Since, "the beginning"), orOpen(r.Until, "now"), r.Peer)
	t := cmdutil.NewTable(w, "GATEWAY", "ORGANIZATION", "SIDE", "ENTRIES", "ACCESSES", "MATCHED")
	for _, g := range r.Gateways {
		t.Row(g.Gateway, g.Organization, g.Side, strconv.Itoa(g.Entries), strconv.Itoa(g.Accesses), strconv.Itoa(g.Matched))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if len(r.Findings) == 0 {
		fmt.Fprintln(w, "\nresult: every delivery kept by the gateways is on the ledger, and every access is kept")
		return nil
	}
	fmt.Fprintf(w, "\n%d FINDING(S)\n", len(r.Findings))
	t = cmdutil.NewTable(w, "KIND", "ORGANIZATION", "SIDE", "ACCESS", "AUTHORIZATION", "REQUESTER", "TX", "DETAIL")
	for _, f := range r.Findings {
		t.Row(f.Kind, f.Organization, f.Side, f.AccessID, f.AuthorizationID, f.Requester, f.TxID, f.Detail)
	}
	return t.Flush()
}
