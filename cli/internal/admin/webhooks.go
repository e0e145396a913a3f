package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/cli/internal/operator"
	"github.com/quanchain/quanchain/ledger/fabconn"
)

// newCmdWebhooks returns `qc admin webhooks` and its subcommands.
func newCmdWebhooks(f *cmdutil.Factory) *cobra.Command {
	cmd := cmdutil.NewGroup("webhooks <command>", "Webhook deliveries of a requester gateway: list them, retry parked ones",
		`See and release a requester gateway's webhook deliveries (--gateway names the
gateway: the bank's or the insurer's; the operator's has no webhooks).

A webhook receives its organisation's events one at a time, in ledger order.
A delivery that failed every attempt of the gateway's backoff schedule is
parked: it is not tried again, and the webhook's later events wait behind it,
neither sent past it nor dropped. Retrying it sends it again, first, and the
held-back events follow in order.`)
	cmd.AddCommand(NewCmdWebhooksDeliveries(f, nil), NewCmdWebhooksRetry(f, nil))
	return cmd
}

// pageSize is how many deliveries qc asks for at a time.
const pageSize = 100

// WebhooksDeliveriesOptions are the inputs of `qc admin webhooks deliveries`.
type WebhooksDeliveriesOptions struct {
	IO     *cmdutil.IOStreams
	Admin  func(cmdutil.AdminFlags) (*operator.Admin, error)
	Output cmdutil.OutputFlags
	Ctx    context.Context
	// NetworkProfile names the local network's requester gateways when
	// --gateway names one without webhooks.
	NetworkProfile func() (*fabconn.Profile, *fabconn.OrgProfile, error)

	Flags   cmdutil.AdminFlags
	State   string
	Webhook string
	Limit   int
}

// NewCmdWebhooksDeliveries returns `qc admin webhooks deliveries`.
func NewCmdWebhooksDeliveries(f *cmdutil.Factory, runF func(*WebhooksDeliveriesOptions) error) *cobra.Command {
	opts := &WebhooksDeliveriesOptions{IO: f.IOStreams, Admin: f.AdminClient, NetworkProfile: f.NetworkProfile}
	cmd := &cobra.Command{
		Use:   "deliveries [--state parked|pending] [--webhook <id>]",
		Short: "List the undelivered webhook deliveries, oldest first",
		Long: `List the organisation's undelivered webhook deliveries, oldest first (for each
webhook, the order they go out in): parked ones, which wait for a retry, and
pending ones, which are due, waiting for a backoff, or held back behind a
parked one. Payloads are not shown.`,
		Example: `  qc admin webhooks deliveries --gateway http://127.0.0.1:7081 --state parked
  qc admin webhooks deliveries --gateway http://127.0.0.1:7081 --webhook wh-3f9c… --json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.State = strings.ToLower(strings.TrimSpace(opts.State))
			if opts.State != "" && opts.State != "parked" && opts.State != "pending" {
				return cmdutil.UsageErrorf("--state %q: want parked or pending", opts.State)
			}
			if opts.Limit < 1 {
				return cmdutil.UsageErrorf("--limit %d: want a positive number", opts.Limit)
			}
			if _, err := opts.Output.Resolve(); err != nil {
				return err
			}
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return webhooksDeliveriesRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.State, "state", "", "only parked or only pending deliveries (default both)")
	cmd.Flags().StringVar(&opts.Webhook, "webhook", "", "only this webhook's deliveries")
	cmd.Flags().IntVar(&opts.Limit, "limit", 1000, "show at most this many")
	cmdutil.AddAdminFlags(cmd, &opts.Flags)
	cmdutil.AddJSONFlag(cmd, &opts.Output)
	return cmd
}

func webhooksDeliveriesRun(opts *WebhooksDeliveriesOptions) error {
	format, err := opts.Output.Resolve()
	if err != nil {
		return err
	}
	a, err := opts.Admin(opts.Flags)
	if err != nil {
		return err
	}
	list, more, err := listDeliveries(opts.Ctx, a, operator.DeliveryQuery{State: opts.State, WebhookID: opts.Webhook}, opts.Limit)
	if err != nil {
		return webhooksHint(err, opts.NetworkProfile)
	}
	if more {
		fmt.Fprintf(opts.IO.ErrOut, "More deliveries are undelivered than the %d shown: raise --limit.\n", opts.Limit)
	}
	if format == cmdutil.FormatJSON {
		return cmdutil.WriteJSON(opts.IO.Out, list)
	}
	if len(list) == 0 {
		fmt.Fprintln(opts.IO.ErrOut, "No undelivered webhook deliveries.")
		return nil
	}
	t := cmdutil.NewTable(opts.IO.Out, "ID", "WEBHOOK", "EVENT", "NAME", "STATE", "ATTEMPTS", "SINCE", "LAST ERROR")
	for _, d := range list {
		state, since := d.State, d.CreatedAt
		switch {
		case d.State == "parked":
			since = d.ParkedAt
		case d.HeldBack:
			state = "held back"
		}
		t.Row(strconv.FormatInt(d.ID, 10), d.WebhookID, d.EventID, cmdutil.OrDash(d.EventName), state,
			strconv.Itoa(d.Attempts), since, cmdutil.OrDash(d.LastError))
	}
	return t.Flush()
}

// listDeliveries reads pages until limit deliveries or the last page;
// more reports that some were left unread.
func listDeliveries(ctx context.Context, a *operator.Admin, q operator.DeliveryQuery, limit int) (list []operator.WebhookDelivery, more bool, err error) {
	list = []operator.WebhookDelivery{}
	for {
		q.Limit = min(pageSize, limit-len(list))
		page, err := a.WebhookDeliveries(ctx, q)
		if err != nil {
			return nil, false, err
		}
		list = append(list, page.Items...)
		if page.NextCursor == "" {
			return list, false, nil
		}
		if len(list) >= limit {
			return list, true, nil
		}
		q.Cursor = page.NextCursor
	}
}

// WebhooksRetryOptions are the inputs of `qc admin webhooks retry`.
type WebhooksRetryOptions struct {
	IO     *cmdutil.IOStreams
	Admin  func(cmdutil.AdminFlags) (*operator.Admin, error)
	Output cmdutil.OutputFlags
	Ctx    context.Context
	// NetworkProfile names the local network's requester gateways when
	// --gateway names one without webhooks.
	NetworkProfile func() (*fabconn.Profile, *fabconn.OrgProfile, error)

	Flags        cmdutil.AdminFlags
	DeliveryID   int64
	Subscription string
	AllParked    bool
}

// NewCmdWebhooksRetry returns `qc admin webhooks retry`.
func NewCmdWebhooksRetry(f *cmdutil.Factory, runF func(*WebhooksRetryOptions) error) *cobra.Command {
	opts := &WebhooksRetryOptions{IO: f.IOStreams, Admin: f.AdminClient, NetworkProfile: f.NetworkProfile}
	cmd := &cobra.Command{
		Use:   "retry (<delivery-id> | --subscription <webhook-id> | --all-parked)",
		Short: "Send parked webhook deliveries again, in their original order",
		Long: `Retry parked webhook deliveries: one by its id, every parked delivery of one
webhook (--subscription), or every parked delivery of the organisation
(--all-parked). A retried delivery is due at once, with its attempts counted
from zero, ahead of the deliveries held back behind it, which follow in order.
Retrying what an earlier retry released changes nothing; a delivery that was
never parked is an error.`,
		Example: `  qc admin webhooks retry 42 --gateway http://127.0.0.1:7081
  qc admin webhooks retry --subscription wh-3f9c… --gateway http://127.0.0.1:7081
  qc admin webhooks retry --all-parked --gateway http://127.0.0.1:7081 --json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return cmdutil.UsageErrorf("%s takes at most one delivery id (got %d arguments)", cmd.CommandPath(), len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			targets := 0
			if len(args) == 1 {
				targets++
				id, err := strconv.ParseInt(args[0], 10, 64)
				if err != nil || id < 1 {
					return cmdutil.UsageErrorf("delivery id %q: want a positive number (qc admin webhooks deliveries lists them)", args[0])
				}
				opts.DeliveryID = id
			}
			if opts.Subscription != "" {
				targets++
			}
			if opts.AllParked {
				targets++
			}
			if targets != 1 {
				return cmdutil.UsageErrorf("give exactly one of a delivery id, --subscription or --all-parked")
			}
			if _, err := opts.Output.Resolve(); err != nil {
				return err
			}
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return webhooksRetryRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Subscription, "subscription", "", "retry every parked delivery of this webhook")
	cmd.Flags().BoolVar(&opts.AllParked, "all-parked", false, "retry every parked delivery of every webhook")
	cmdutil.AddAdminFlags(cmd, &opts.Flags)
	cmdutil.AddJSONFlag(cmd, &opts.Output)
	return cmd
}

// allParkedRetry is the --json answer of --all-parked.
type allParkedRetry struct {
	Retried  int                     `json:"retried"`
	Webhooks []operator.WebhookRetry `json:"webhooks"`
}

func webhooksRetryRun(opts *WebhooksRetryOptions) error {
	format, err := opts.Output.Resolve()
	if err != nil {
		return err
	}
	a, err := opts.Admin(opts.Flags)
	if err != nil {
		return err
	}
	switch {
	case opts.DeliveryID != 0:
		d, err := a.RetryDelivery(opts.Ctx, opts.DeliveryID)
		if err != nil {
			return webhooksHint(err, opts.NetworkProfile)
		}
		if format == cmdutil.FormatJSON {
			return cmdutil.WriteJSON(opts.IO.Out, d)
		}
		if d.State == "delivered" {
			fmt.Fprintf(opts.IO.Out, "Delivery %d of %s was delivered after an earlier retry.\n", d.ID, d.WebhookID)
			return nil
		}
		fmt.Fprintf(opts.IO.Out, "Delivery %d of %s (event %s) is due now; the deliveries held back behind it follow in order.\n",
			d.ID, d.WebhookID, d.EventID)
		return nil
	case opts.Subscription != "":
		r, err := a.RetryWebhook(opts.Ctx, opts.Subscription)
		if err != nil {
			return webhooksHint(err, opts.NetworkProfile)
		}
		if format == cmdutil.FormatJSON {
			return cmdutil.WriteJSON(opts.IO.Out, r)
		}
		fmt.Fprintf(opts.IO.Out, "Retried %d parked deliveries of %s.\n", r.Retried, r.WebhookID)
		return nil
	}
	parked, _, err := listDeliveries(opts.Ctx, a, operator.DeliveryQuery{State: "parked"}, 1<<30)
	if err != nil {
		return webhooksHint(err, opts.NetworkProfile)
	}
	out := allParkedRetry{Webhooks: []operator.WebhookRetry{}}
	var hooks []string
	for _, d := range parked {
		if !slices.Contains(hooks, d.WebhookID) {
			hooks = append(hooks, d.WebhookID)
		}
	}
	for _, id := range hooks {
		r, err := a.RetryWebhook(opts.Ctx, id)
		var ae *operator.APIError
		if errors.As(err, &ae) && ae.Code == "WEBHOOK_NOT_FOUND" {
			continue // deleted since it was listed: nothing of it is sent any more
		}
		if err != nil {
			return err
		}
		out.Retried += r.Retried
		out.Webhooks = append(out.Webhooks, *r)
	}
	if format == cmdutil.FormatJSON {
		return cmdutil.WriteJSON(opts.IO.Out, out)
	}
	fmt.Fprintf(opts.IO.Out, "Retried %d parked deliveries of %d webhooks.\n", out.Retried, len(out.Webhooks))
	return nil
}

// webhooksHint explains a gateway that has no webhook deliveries at all:
// not a requester gateway. It names the local network's requester gateways
// if its profile lists them.
func webhooksHint(err error, profile func() (*fabconn.Profile, *fabconn.OrgProfile, error)) error {
	var ae *operator.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || ae.Code != "NOT_FOUND" {
		return err
	}
	var requesters []string
	if prof, _, perr := profile(); perr == nil {
		for _, g := range prof.Gateways {
			if g.HasRole("requester") {
				requesters = append(requesters, fmt.Sprintf("%s (%s)", g.API, g.MSPID))
			}
		}
	}
	if len(requesters) == 0 {
		return fmt.Errorf("%w\n(webhook deliveries are a requester gateway's: name one with --gateway)", err)
	}
	return fmt.Errorf("%w\n(webhook deliveries are a requester gateway's: on the local network --gateway %s)",
		err, strings.Join(requesters, " or "))
}
