// Package idpolicy holds the identity policy commands: `qc identity-policy
// show`, which anyone may run, and `qc admin identity-policy propose` and
// `approve`, the operator's proposal and the supervisor's approval, which
// qc submits to the ledger as the organisation --profile selects.
package idpolicy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
)

// maxPolicyFile bounds the policy file qc reads.
const maxPolicyFile = 64 << 10

// NewCmdIdentityPolicy returns `qc identity-policy` and its subcommands.
func NewCmdIdentityPolicy(f *cmdutil.Factory) *cobra.Command {
	cmd := cmdutil.NewGroup("identity-policy <command>", "The citizen identity policy the ledger trusts",
		`Read the identity policy on the ledger: the identity provider whose ID
tokens may enrol a citizen's device, and the passkey relying party whose
assertions sign decisions (docs/ledger.md, "Citizen identity").`)
	cmd.AddCommand(NewCmdShow(f, nil))
	return cmd
}

// NewCmdAdminIdentityPolicy returns `qc admin identity-policy` and its
// subcommands.
func NewCmdAdminIdentityPolicy(f *cmdutil.Factory) *cobra.Command {
	cmd := cmdutil.NewGroup("identity-policy <command>", "Propose or approve the citizen identity policy",
		`Change the identity policy on the ledger, as the organisation --profile
selects: the operator proposes a policy, the supervisor (an auditor
organisation) approves its digest, and only then is it in force.`)
	cmd.AddCommand(NewCmdPropose(f, nil), NewCmdApprove(f, nil))
	return cmd
}

// ShowOptions are the inputs of `qc identity-policy show`.
type ShowOptions struct {
	IO     *cmdutil.IOStreams
	Ledger func(context.Context) (*cmdutil.Ledger, error)
	Output cmdutil.OutputFlags
	Ctx    context.Context
}

// NewCmdShow returns `qc identity-policy show`.
func NewCmdShow(f *cmdutil.Factory, runF func(*ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{IO: f.IOStreams, Ledger: f.Ledger}
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show the identity policy in force and the one awaiting approval",
		Long: `Show the identity policy in force and the one awaiting the supervisor's
approval, each with its digest, who proposed and who approved it.`,
		Example: "  qc identity-policy show\n  qc identity-policy show --json",
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return showRun(opts)
		},
	}
	cmdutil.AddJSONFlag(cmd, &opts.Output)
	return cmd
}

func showRun(opts *ShowOptions) error {
	format, err := opts.Output.Resolve()
	if err != nil {
		return err
	}
	lc, err := opts.Ledger(opts.Ctx)
	if err != nil {
		return err
	}
	st, err := lc.GetIdentityPolicy(opts.Ctx)
	if err != nil {
		return err
	}
	if format == cmdutil.FormatJSON {
		return cmdutil.WriteJSON(opts.IO.Out, st)
	}
	t := cmdutil.NewTable(opts.IO.Out)
	for _, r := range []struct {
		label string
		rec   *model.IdentityPolicyRecord
	}{{"active", st.Active}, {"pending", st.Pending}} {
		if r.rec == nil {
			t.Row(r.label, "-")
			continue
		}
		p := r.rec.Policy
		t.Row(r.label, r.rec.Digest)
		t.Row("  issuer", p.Issuer)
		t.Row("  audience", p.Audience)
		t.Row("  id claim", p.IDClaim)
		t.Row("  acr values", strings.Join(p.ACRValues, ", "))
		t.Row("  max token age", strconv.Itoa(p.MaxTokenAgeSeconds)+"s")
		t.Row("  rp id", p.RPID)
		t.Row("  origins", strings.Join(p.Origins, ", "))
		t.Row("  webcrypto keys", strconv.FormatBool(p.AllowUnverifiedKeys))
		t.Row("  proposed", r.rec.ProposedBy+" "+r.rec.ProposedAt)
		t.Row("  approved", cmdutil.OrDash(strings.TrimSpace(r.rec.ApprovedBy+" "+r.rec.ApprovedAt)))
	}
	return t.Flush()
}

// ProposeOptions are the inputs of `qc admin identity-policy propose`.
type ProposeOptions struct {
	IO     *cmdutil.IOStreams
	Ledger func(context.Context) (*cmdutil.Ledger, error)
	Ctx    context.Context
	File   string
}

// NewCmdPropose returns `qc admin identity-policy propose`.
func NewCmdPropose(f *cmdutil.Factory, runF func(*ProposeOptions) error) *cobra.Command {
	opts := &ProposeOptions{IO: f.IOStreams, Ledger: f.Ledger}
	cmd := &cobra.Command{
		Use:   "propose --file <policy.json>",
		Short: "Propose an identity policy (the operator)",
		Long: `Propose the identity policy in --file (a JSON model.IdentityPolicy: issuer,
audience, id_claim, acr_values, jwks, max_token_age_seconds, rp_id, origins,
allow_unverified_keys) as the operator, and print its digest, which the
supervisor approves with ` + "`qc admin identity-policy approve`" + `.`,
		Example: "  qc admin identity-policy propose --file policy.json",
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return proposeRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.File, "file", "", "the policy's JSON file")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func proposeRun(opts *ProposeOptions) error {
	p, err := readPolicy(opts.File)
	if err != nil {
		return err
	}
	lc, err := opts.Ledger(opts.Ctx)
	if err != nil {
		return err
	}
	if lc.Writer == nil {
		return errors.New("this ledger connection cannot submit transactions")
	}
	digest, err := lc.Writer.ProposeIdentityPolicy(opts.Ctx, *p)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(opts.IO.Out, digest)
	return err
}

// readPolicy reads a policy file strictly: unknown fields are refused.
func readPolicy(path string) (*model.IdentityPolicy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) > maxPolicyFile {
		return nil, fmt.Errorf("%s: %d bytes, the limit is %d", path, len(b), maxPolicyFile)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var p model.IdentityPolicy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

// ApproveOptions are the inputs of `qc admin identity-policy approve`.
type ApproveOptions struct {
	IO     *cmdutil.IOStreams
	Ledger func(context.Context) (*cmdutil.Ledger, error)
	Ctx    context.Context
	Digest string
}

// NewCmdApprove returns `qc admin identity-policy approve`.
func NewCmdApprove(f *cmdutil.Factory, runF func(*ApproveOptions) error) *cobra.Command {
	opts := &ApproveOptions{IO: f.IOStreams, Ledger: f.Ledger}
	cmd := &cobra.Command{
		Use:   "approve <digest>",
		Short: "Approve the pending identity policy (the supervisor)",
		Long: `Approve the identity policy awaiting approval, named by its digest (see
` + "`qc identity-policy show`" + `), as the supervisor: it is in force from then on.`,
		Example: "  qc --profile audit admin identity-policy approve 3f9a…",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Digest = args[0]
			if runF != nil {
				return runF(opts)
			}
			return approveRun(opts)
		},
	}
	return cmd
}

func approveRun(opts *ApproveOptions) error {
	lc, err := opts.Ledger(opts.Ctx)
	if err != nil {
		return err
	}
	if lc.Writer == nil {
		return errors.New("this ledger connection cannot submit transactions")
	}
	if err := lc.Writer.ApproveIdentityPolicy(opts.Ctx, opts.Digest); err != nil {
		return err
	}
	_, err = fmt.Fprintf(opts.IO.Out, "identity policy %s is in force\n", opts.Digest)
	return err
}
