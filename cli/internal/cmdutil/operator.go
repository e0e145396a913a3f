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

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/cli/internal/operator"
	"github.com/quanchain/quanchain/ledger/fabconn"
	"github.com/quanchain/quanchain/network/fabnet"
)

// Environment variables of the admin client's credentials.
const (
	EnvClientID     = "QC_CLIENT_ID"
	EnvClientSecret = "QC_CLIENT_SECRET"
)

// DefaultOperatorURL is the operator gateway's mutual-TLS listener of the
// local network.
func DefaultOperatorURL() string { return "https://" + fabnet.OperatorPeerListen }

// operatorGateway is the operator's gateway of the local network: the one
// with the provider role.
func operatorGateway() fabnet.GatewaySpec {
	gws := fabnet.Gateways()
	for _, g := range gws {
		if slices.Contains(strings.Split(g.Roles, ","), "provider") {
			return g
		}
	}
	return gws[0]
}

// DefaultGatewayURL is the operator gateway's HTTP API of the local network.
func DefaultGatewayURL() string { return "http://" + operatorGateway().Listen }

// AddOperatorFlag adds --operator, the pseudonym service's address.
func AddOperatorFlag(cmd *cobra.Command, f *Factory) {
	cmd.Flags().StringVar(&f.OperatorURL, "operator", "",
		"the operator gateway's mutual-TLS address, which turns ID numbers into citizenRefs (default "+DefaultOperatorURL()+")")
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
	opMSP := operatorGateway().Org
	i := slices.IndexFunc(prof.Orgs, func(o fabconn.OrgProfile) bool { return o.MSPID == opMSP })
	if i < 0 {
		return nil, fmt.Errorf("the network profile has no operator organisation %s", opMSP)
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
		url = DefaultOperatorURL()
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
	cmd.Flags().StringVar(&a.Gateway, "gateway", "", "the gateway's HTTP API (default "+DefaultGatewayURL()+")")
	cmd.Flags().StringVar(&a.ClientID, "client-id", "",
		"an API client with the admin scope (default $"+EnvClientID+", else the local demo's admin client)")
	cmd.Flags().StringVar(&a.ClientSecret, "client-secret", "", "its secret (default $"+EnvClientSecret+")")
}

// AdminClient returns the admin API client the flags describe. Credentials
// come from the flags, else from QC_CLIENT_ID and QC_CLIENT_SECRET, else,
// for the local demo network, from the demo-clients.json of the gateway at
// that address (the operator's by default) in the state directory.
func (f *Factory) AdminClient(a AdminFlags) (*operator.Admin, error) {
	url := a.Gateway
	if url == "" {
		url = DefaultGatewayURL()
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
	gw := operatorGateway()
	for _, g := range fabnet.Gateways() {
		if strings.TrimRight(url, "/") == "http://"+g.Listen {
			gw = g
		}
	}
	path := filepath.Join(fabnet.Layout{StateDir: dir}.GatewayDataDir(gw), "demo-clients.json")
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

// Pseudonym turns an ID number into its citizenRef through the operator's
// pseudonym service.
func (f *Factory) Pseudonym(ctx context.Context, idNumber string) (string, error) {
	p, err := f.pseudonymClient()
	if err != nil {
		return "", err
	}
	return p.Ref(ctx, idNumber)
}
