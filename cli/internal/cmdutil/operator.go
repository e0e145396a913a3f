package cmdutil

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/cli/internal/operator"
	"github.com/quanchain/quanchain/ledger/fabconn"
)

// Environment variables of the admin client's credentials.
const (
	EnvClientID     = "QC_CLIENT_ID"
	EnvClientSecret = "QC_CLIENT_SECRET"
)

// provider returns the local network's provider gateway, the operator's,
// as the network profile in the state directory names it.
func (f *Factory) provider() (*fabconn.GatewayProfile, error) {
	prof, _, err := f.NetworkProfile()
	if err != nil {
		return nil, err
	}
	return prof.Provider()
}

// AddOperatorFlag adds --operator, the pseudonym service's address.
func AddOperatorFlag(cmd *cobra.Command, f *Factory) {
	cmd.Flags().StringVar(&f.OperatorURL, "operator", "",
		"the operator gateway's mutual-TLS address, which turns ID numbers into citizenRefs (default: the local network's, from its profile)")
}

// pseudonymClient builds the client of the operator's pseudonym service:
// it presents the TLS client identity (User1's cryptogen client.crt) of the
// organisation --profile selects and trusts only the operator's TLS CA.
func (f *Factory) pseudonymClient() (*operator.Pseudonyms, error) {
	prof, org, err := f.NetworkProfile()
	if err != nil {
		return nil, err
	}
	dir, err := ResolveStateDir(f.StateDir)
	if err != nil {
		return nil, err
	}
	op, err := prof.Provider()
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(prof.Orgs, func(o fabconn.OrgProfile) bool { return o.MSPID == op.MSPID })
	if i < 0 {
		return nil, fmt.Errorf("the network profile has no operator organisation %s", op.MSPID)
	}
	user, ok := org.Users["User1"]
	if !ok {
		return nil, fmt.Errorf("the network profile has no User1 identity for %s", org.MSPID)
	}
	// users/User1@org/msp/signcerts/cert.pem → users/User1@org/tls/client.*
	userDir := filepath.Dir(filepath.Dir(filepath.Dir(abs(dir, user.Cert))))
	conf, err := operator.LoadMTLSConfig(filepath.Join(userDir, "tls", "client.crt"),
		filepath.Join(userDir, "tls", "client.key"), abs(dir, prof.Orgs[i].TLSRootCert))
	if err != nil {
		return nil, fmt.Errorf("the %s TLS client identity for the operator's gateway: %w", org.MSPID, err)
	}
	url := f.OperatorURL
	if url == "" {
		url = op.PeerAPI
	}
	if !strings.HasPrefix(url, "https://") {
		return nil, UsageErrorf("--operator %q: want an https:// address (the pseudonym service speaks mutual TLS only)", url)
	}
	return operator.NewPseudonyms(url, conf), nil
}

func abs(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// AdminFlags are the flags of commands that use a gateway's admin API.
type AdminFlags struct {
	Gateway      string
	ClientID     string
	ClientSecret string
}

// AddAdminFlags adds --gateway, --client-id and --client-secret.
func AddAdminFlags(cmd *cobra.Command, a *AdminFlags) {
	cmd.Flags().StringVar(&a.Gateway, "gateway", "", "the gateway's HTTP API (default: the local network's operator gateway, from its profile)")
	cmd.Flags().StringVar(&a.ClientID, "client-id", "",
		"an API client with the admin scope (default $"+EnvClientID+", else the local demo's admin client)")
	cmd.Flags().StringVar(&a.ClientSecret, "client-secret", "", "its secret (default $"+EnvClientSecret+")")
}

// AdminClient returns the admin API client the flags describe. The gateway
// is --gateway, else the local network's operator gateway. Credentials
// come from the flags, else from QC_CLIENT_ID and QC_CLIENT_SECRET, else,
// for the local demo network, from the demo-clients.json of the gateway at
// that address (the operator's by default) in the state directory.
func (f *Factory) AdminClient(a AdminFlags) (*operator.Admin, error) {
	url := a.Gateway
	if url == "" {
		op, err := f.provider()
		if err != nil {
			return nil, fmt.Errorf("%w\n(or name the gateway with --gateway)", err)
		}
		url = op.API
	}
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return nil, UsageErrorf("--gateway %q: want an http:// or https:// address", url)
	}
	id, secret := a.ClientID, a.ClientSecret
	if id == "" {
		id = os.Getenv(EnvClientID)
	}
	if secret == "" {
		secret = os.Getenv(EnvClientSecret)
	}
	switch {
	case id != "" && secret != "":
	case id == "" && secret == "":
		var err error
		if id, secret, err = f.demoAdmin(url); err != nil {
			return nil, err
		}
	default:
		return nil, UsageErrorf("give both --client-id and --client-secret (or %s and %s)", EnvClientID, EnvClientSecret)
	}
	return operator.NewAdmin(url, id, secret), nil
}

// demoAdmin returns the demo admin client of the local gateway at url, or
// of the operator's gateway if no local gateway listens there.
func (f *Factory) demoAdmin(url string) (string, string, error) {
	dir, err := ResolveStateDir(f.StateDir)
	if err != nil {
		return "", "", err
	}
	prof, _, err := f.NetworkProfile()
	if err != nil {
		return "", "", err
	}
	gw, err := prof.Provider()
	if err != nil {
		return "", "", err
	}
	for i, g := range prof.Gateways {
		if strings.TrimRight(url, "/") == strings.TrimRight(g.API, "/") {
			gw = &prof.Gateways[i]
		}
	}
	path := filepath.Join(abs(dir, gw.DataDir), "demo-clients.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", "", UsageErrorf("no admin credentials: pass --client-id and --client-secret, or set %s and %s (the local demo's %s is missing: run `make up`)",
			EnvClientID, EnvClientSecret, path)
	}
	if err != nil {
		return "", "", err
	}
	var clients []struct {
		ClientID     string   `json:"client_id"`
		ClientSecret string   `json:"client_secret"`
		Scopes       []string `json:"scopes"`
	}
	if err := json.Unmarshal(b, &clients); err != nil {
		return "", "", fmt.Errorf("%s: %w", path, err)
	}
	for _, c := range clients {
		if slices.Contains(c.Scopes, "admin") {
			return c.ClientID, c.ClientSecret, nil
		}
	}
	return "", "", UsageErrorf("%s holds no client with the admin scope: pass --client-id and --client-secret", path)
}

// Pseudonym turns an ID number into the citizenRef requester knows the
// citizen by, through the operator's pseudonym service, as an audit
// lookup of the case named by the current time (the operator records it
// for the citizen to see).
func (f *Factory) Pseudonym(ctx context.Context, idNumber, requester string) (string, error) {
	p, err := f.pseudonymClient()
	if err != nil {
		return "", err
	}
	return p.Ref(ctx, idNumber, requester, "qc-audit-"+time.Now().UTC().Format("20060102T150405"))
}
