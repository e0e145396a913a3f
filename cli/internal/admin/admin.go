// Package admin holds `qc admin`: administration of a gateway through its
// admin API, as an API client with the admin scope.
package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/cli/internal/idpolicy"
	"github.com/quanchain/quanchain/cli/internal/operator"
)

// NewCmdAdmin returns `qc admin` and its subcommands.
func NewCmdAdmin(f *cmdutil.Factory) *cobra.Command {
	cmd := cmdutil.NewGroup("admin <command>", "Administer a gateway: API clients, webhook deliveries",
		`Administer a member's gateway through its admin API (not the ledger): qc
authenticates as an API client with the admin scope (OAuth2 client
credentials) from --client-id and --client-secret, else $QC_CLIENT_ID and
$QC_CLIENT_SECRET, else, on the local demo network, the demo admin client of
the gateway --gateway names (the operator's by default) in the state
directory.`)
	clients := cmdutil.NewGroup("clients <command>", "API clients of the gateway's organisation",
		`Register API clients of the gateway's organisation: institutions' back
offices call the gateway with them.`)
	clients.AddCommand(NewCmdClientsCreate(f, nil))
	cmd.AddCommand(clients, newCmdWebhooks(f), idpolicy.NewCmdAdminIdentityPolicy(f))
	return cmd
}

// scopes an API client can have.
var knownScopes = []string{"institution", "admin"}

// ClientsCreateOptions are the inputs of `qc admin clients create`.
type ClientsCreateOptions struct {
	IO     *cmdutil.IOStreams
	Admin  func(cmdutil.AdminFlags) (*operator.Admin, error)
	Output cmdutil.OutputFlags
	Ctx    context.Context

	Flags  cmdutil.AdminFlags
	Org    string
	Scopes []string
	// JWKFile, if set, holds the client's public key (a P-256 JWK): the
	// client authenticates with signed client assertions, without a secret.
	JWKFile string
	// RedirectURIs are the return URLs of the client's consent links.
	RedirectURIs []string
}

// NewCmdClientsCreate returns `qc admin clients create`.
func NewCmdClientsCreate(f *cmdutil.Factory, runF func(*ClientsCreateOptions) error) *cobra.Command {
	opts := &ClientsCreateOptions{IO: f.IOStreams, Admin: f.AdminClient}
	cmd := &cobra.Command{
		Use:   "create --org <msp> --scope institution [--scope admin] [--jwk-file key.jwk] [--redirect-uri URL]",
		Short: "Register an API client and show its secret once",
		Long: `Register an API client of the gateway's organisation with the given scopes
(institution: the institution API; admin: the admin API). The secret is
shown in this answer only: the gateway keeps only a hash of it.

With --jwk-file the client registers a public key (an ES256 JWK: kty EC, crv
P-256, x, y) instead and gets no secret: it authenticates with client
assertions it signs with the private key (private_key_jwt, RFC 7523).

--redirect-uri registers a return URL of the institution's app (repeatable):
a consent link brings the citizen back only to one of these, compared
exactly. https, or http on 127.0.0.1, [::1] or localhost for development.`,
		Example: `  qc admin clients create --org BureauMSP --scope institution
  qc admin clients create --org BureauMSP --scope institution --scope admin --json
  qc admin clients create --org BureauMSP --scope institution --jwk-file client.pub.jwk
  qc admin clients create --org BankMSP --scope institution --redirect-uri https://app.bank.example/loan/consent-return`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !model.ValidMSPID(opts.Org) {
				return cmdutil.UsageErrorf("--org %q: want an MSP ID such as BureauMSP", opts.Org)
			}
			if len(opts.Scopes) == 0 {
				return cmdutil.UsageErrorf("--scope is required: %s", strings.Join(knownScopes, " or "))
			}
			var scopes []string
			for _, s := range opts.Scopes {
				s = strings.ToLower(strings.TrimSpace(s))
				if !slices.Contains(knownScopes, s) {
					return cmdutil.UsageErrorf("--scope %q: want %s", s, strings.Join(knownScopes, " or "))
				}
				if !slices.Contains(scopes, s) {
					scopes = append(scopes, s)
				}
			}
			opts.Scopes = scopes
			if _, err := opts.Output.Resolve(); err != nil {
				return err
			}
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return clientsCreateRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Org, "org", "", "the client's organisation (MSP ID; the gateway's own)")
	cmd.Flags().StringSliceVar(&opts.Scopes, "scope", nil, "a scope of the client: institution or admin (repeatable)")
	cmd.Flags().StringVar(&opts.JWKFile, "jwk-file", "", "the client's public key, a P-256 JWK, instead of a secret (private_key_jwt)")
	cmd.Flags().StringArrayVar(&opts.RedirectURIs, "redirect-uri", nil, "a return URL of the institution's app for consent links (repeatable)")
	cmdutil.AddAdminFlags(cmd, &opts.Flags)
	cmdutil.AddJSONFlag(cmd, &opts.Output)
	return cmd
}

func clientsCreateRun(opts *ClientsCreateOptions) error {
	format, err := opts.Output.Resolve()
	if err != nil {
		return err
	}
	a, err := opts.Admin(opts.Flags)
	if err != nil {
		return err
	}
	var jwk json.RawMessage
	if opts.JWKFile != "" {
		b, err := os.ReadFile(opts.JWKFile)
		if err != nil {
			return fmt.Errorf("reading --jwk-file: %w", err)
		}
		if !json.Valid(b) {
			return cmdutil.UsageErrorf("--jwk-file %s: not JSON", opts.JWKFile)
		}
		jwk = json.RawMessage(b)
	}
	c, err := a.Register(opts.Ctx, operator.NewClient{Org: opts.Org, Scopes: opts.Scopes, JWK: jwk, RedirectURIs: opts.RedirectURIs})
	if err != nil {
		return err
	}
	if format == cmdutil.FormatJSON {
		return cmdutil.WriteJSON(opts.IO.Out, c)
	}
	t := cmdutil.NewTable(opts.IO.Out)
	t.Row("client_id", c.ClientID)
	if c.ClientSecret != "" {
		t.Row("client_secret", c.ClientSecret)
	}
	if c.TokenEndpointAuthMethod != "" {
		t.Row("token_endpoint_auth_method", c.TokenEndpointAuthMethod)
	}
	t.Row("org_msp", c.OrgMSP)
	t.Row("scopes", strings.Join(c.Scopes, ","))
	if len(c.RedirectURIs) > 0 {
		t.Row("redirect_uris", strings.Join(c.RedirectURIs, " "))
	}
	t.Row("created_at", c.CreatedAt)
	if err := t.Flush(); err != nil {
		return err
	}
	if c.ClientSecret != "" {
		fmt.Fprintln(opts.IO.ErrOut, "The secret is shown this once: store it now.")
	}
	return nil
}
