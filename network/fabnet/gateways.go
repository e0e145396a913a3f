package fabnet

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// KindGateway is the kind of a member's HTTP gateway process.
const KindGateway Kind = "gateway"

// DefaultGatewaySource is the gateway's main package, relative to the
// repository root.
const DefaultGatewaySource = "gateway/cmd/quanchain-gateway"

// demoCitizens is the size of the operator's synthetic digital safe.
const demoCitizens = 50

// OperatorPeerListen is the operator gateway's mutual-TLS listener, where
// the other gateways fetch authorised data and citizenRefs.
const OperatorPeerListen = "127.0.0.1:7090"

// GatewaySpec is one member organisation's gateway that `up` runs.
type GatewaySpec struct {
	Name   string // process name
	Org    string // MSP ID
	Roles  string // comma-separated gateway roles
	Listen string // host:port of its HTTP API
}

// Gateways are the gateways of the local network: the operator's (provider
// of the data, serving citizens) and the two requesters'.
func Gateways() []GatewaySpec {
	return []GatewaySpec{
		{Name: "gateway.bureau", Org: "BureauMSP", Roles: "provider", Listen: "127.0.0.1:7080"},
		{Name: "gateway.bank", Org: "BankMSP", Roles: "requester", Listen: "127.0.0.1:7081"},
		{Name: "gateway.insurer", Org: "InsurerMSP", Roles: "requester", Listen: "127.0.0.1:7082"},
	}
}

// GatewayBinary is where the gateway is built.
func (l Layout) GatewayBinary() string { return filepath.Join(l.StateDir, "bin", "quanchain-gateway") }

// GatewayDataDir is a gateway's own state: its store, keys and demo files.
func (l Layout) GatewayDataDir(g GatewaySpec) string {
	return filepath.Join(l.StateDir, "gateway", strings.TrimPrefix(g.Name, "gateway."))
}

func (l Layout) gatewayDeploymentFile() string {
	return filepath.Join(l.StateDir, "gateway", "deployment.json")
}

// gatewayEnv is a gateway's configuration (QC_… variables).
func (l Layout) gatewayEnv(g GatewaySpec) []string {
	data := l.GatewayDataDir(g)
	env := baseEnv(
		"QC_ORG="+g.Org,
		"QC_ROLES="+g.Roles,
		"QC_LISTEN="+g.Listen,
		"QC_STATE_DIR="+l.StateDir,
		"QC_DATA_DIR="+data,
		"QC_DEV=true",
	)
	if strings.Contains(g.Roles, "provider") {
		// Every demo citizen logs in from 127.0.0.1 here, and the tests
		// log the same citizens in many times a run, so the local network
		// allows more logins per address than a deployment's 5 a minute
		// and per citizen than its 5 in 15 minutes.
		// The load benchmark (make bench-load) creates authorisations by
		// the hundred a second, each with a pseudonym lookup: the local
		// network allows more lookups per institution than a
		// deployment's 600 a minute, which would otherwise be what it
		// measures.
		env = append(env, "QC_PSEUDONYM_KEY_FILE="+filepath.Join(data, "pseudonym.key"),
			"QC_PEER_LISTEN="+OperatorPeerListen, "QC_LOGIN_PER_MINUTE=120", "QC_LOGIN_STARTS_PER_CITIZEN=60",
			"QC_PSEUDONYM_LOOKUPS_PER_MINUTE=60000")
		// Citizens log in at the development identity provider
		// (devidp.go), and their passkeys are made for the consent app's
		// origin, the one the ledger's identity policy names
		// (identity.go).
		oidc := l.OperatorOIDC()
		env = append(env, "QC_OIDC_ISSUER="+oidc.Issuer, "QC_OIDC_CLIENT_ID="+oidc.ClientID,
			"QC_OIDC_CLIENT_SECRET_FILE="+oidc.ClientSecretFile, "QC_OIDC_REDIRECT_URL="+oidc.RedirectURL,
			"QC_OIDC_ID_CLAIM="+DevIDClaim, "QC_OIDC_ACR="+DevACR,
			"QC_WEBAUTHN_RP_ID=localhost", "QC_WEBAUTHN_ORIGINS="+operatorOrigin(), "QC_ALLOW_UNVERIFIED_KEYS=true")
	} else {
		// Consent links open the operator's consent app, served on its
		// gateway's HTTP listener.
		env = append(env, "QC_OPERATOR_URL=https://"+OperatorPeerListen, "QC_OPERATOR_APP_URL="+operatorAppURL())
		// The load benchmark drives up to 128 concurrent clients with one
		// demo API client: the local network raises the per-client limit
		// (a deployment's default is 50 requests a second, burst 100),
		// it does not remove it.
		env = append(env, "QC_RATE_LIMIT=2000", "QC_RATE_BURST=2000")
	}
	return env
}

// operatorAppURL is the local network's consent app: the provider
// gateway's HTTP listener, /app/, named localhost rather than by its
// address. Browsers refuse an IP address as a passkey's relying party, and
// treat http://localhost as a secure context.
func operatorAppURL() string {
	for _, g := range Gateways() {
		if strings.Contains(g.Roles, "provider") {
			_, port, _ := strings.Cut(g.Listen, ":")
			return "http://localhost:" + port + "/app/"
		}
	}
	return ""
}

// gatewayProc describes a gateway process.
func (l Layout) gatewayProc(g GatewaySpec) proc {
	return proc{
		Name:     g.Name,
		Kind:     KindGateway,
		Bin:      l.GatewayBinary(),
		Env:      l.gatewayEnv(g),
		Dir:      l.GatewayDataDir(g),
		Endpoint: g.Listen,
		Health: func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+g.Listen+"/readyz", nil)
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("gateway %s: %w", g.Name, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("gateway %s: /readyz answered %s", g.Name, resp.Status)
			}
			return nil
		},
	}
}

// gatewayProcs lists the gateway processes once the gateway is built.
func (l Layout) gatewayProcs() []proc {
	if _, err := os.Stat(l.GatewayBinary()); err != nil {
		return nil
	}
	var ps []proc
	for _, g := range Gateways() {
		ps = append(ps, l.gatewayProc(g))
	}
	return ps
}

// ensureGateways prepares each gateway's data directory (keys, demo API
// clients and, for the operator, the synthetic digital safe anchored on the
// ledger) and starts the gateways with extraEnv added to their
// configuration, restarting them if their binary, their configuration or
// extraEnv changed. It returns how many it started.
func (l Layout) ensureGateways(ctx context.Context, binHash string, extraEnv []string) (int, error) {
	type deployment struct {
		BinarySHA256 string
		Env          []string `json:",omitempty"`
		Config       []string `json:",omitempty"` // every gateway's own configuration
	}
	var config []string
	for _, g := range Gateways() {
		config = append(config, l.gatewayEnv(g)...)
	}
	var have deployment
	if b, err := os.ReadFile(l.gatewayDeploymentFile()); err == nil {
		_ = json.Unmarshal(b, &have)
	}
	changed := have.BinarySHA256 != binHash || !slices.Equal(have.Env, extraEnv) || !slices.Equal(have.Config, config)
	started := 0
	for _, g := range Gateways() {
		if err := l.setupGateway(ctx, g); err != nil {
			return started, err
		}
		p := l.gatewayProc(g)
		p.Env = append(p.Env, extraEnv...)
		if changed {
			if _, err := l.stop(p); err != nil {
				return started, err
			}
		}
		ok, err := l.start(ctx, p)
		if err != nil {
			return started, err
		}
		if ok {
			started++
		}
	}
	b, err := json.Marshal(deployment{BinarySHA256: binHash, Env: extraEnv, Config: config})
	if err != nil {
		return started, err
	}
	return started, writeFileAtomic(l.gatewayDeploymentFile(), b, 0o644)
}

// setupGateway runs `quanchain-gateway setup` for g; it is idempotent.
func (l Layout) setupGateway(ctx context.Context, g GatewaySpec) error {
	if err := os.MkdirAll(l.GatewayDataDir(g), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", l.GatewayDataDir(g), err)
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(sctx, l.GatewayBinary(), "setup", fmt.Sprintf("--citizens=%d", demoCitizens))
	cmd.Env = l.gatewayEnv(g)
	cmd.Dir = l.GatewayDataDir(g)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("set up %s: %w\n%s", g.Name, err, tail(string(out), 20))
	}
	return nil
}
