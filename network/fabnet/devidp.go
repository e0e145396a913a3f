package fabnet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The development OpenID provider (gateway/cmd/quanchain-devidp) stands in
// for the government's real-name identity provider: the operator's gateway
// logs citizens in with it. `up` starts it before the gateways; it checks
// logins against the register `quanchain-gateway setup` writes into the
// operator gateway's data directory, which it reads again whenever the file
// changes, so it may start before that file exists.

// KindIdentityProvider is the kind of the development OpenID provider.
const KindIdentityProvider Kind = "idp"

// Names and addresses of the development OpenID provider.
const (
	DevIDPName   = "devidp"
	DevIDPListen = "127.0.0.1:7085"
	// DefaultDevIDPSource is its main package, relative to the repository root.
	DefaultDevIDPSource = "gateway/cmd/quanchain-devidp"
	// DevIDPClientID is the operator gateway's client id at the provider.
	DevIDPClientID = "gateway.bureau"
	// devIDPLoginsPerMinute: every demo citizen logs in from 127.0.0.1,
	// as for the gateway's own limit (QC_LOGIN_PER_MINUTE).
	devIDPLoginsPerMinute = 120
	// devIDPPerCitizen: the integration tests log the same demo citizens
	// in many times within a run; a deployment's provider allows 5
	// logins and 5 code attempts per citizen in 15 minutes.
	devIDPPerCitizen = 60
)

// DevIDPIssuer is the provider's issuer URL.
func DevIDPIssuer() string { return "http://" + DevIDPListen }

// DevIDPBinary is where the provider is built.
func (l Layout) DevIDPBinary() string { return filepath.Join(l.StateDir, "bin", "quanchain-devidp") }

// DevIDPDir is the provider's state: its signing and subject keys, the
// client secret, the one-time codes (codes/) and client.json.
func (l Layout) DevIDPDir() string { return filepath.Join(l.StateDir, DevIDPName) }

// DevIDPCodesDir is where the provider writes one-time login codes, one
// 0600 file per code, named by the number the login page shows.
func (l Layout) DevIDPCodesDir() string { return filepath.Join(l.DevIDPDir(), "codes") }

// DevIDPClientSecretFile holds the operator gateway's client secret (0600).
func (l Layout) DevIDPClientSecretFile() string { return filepath.Join(l.DevIDPDir(), "client-secret") }

// DevIDPClientFile is OIDCClient as JSON, for the operator's gateway and
// the tests.
func (l Layout) DevIDPClientFile() string { return filepath.Join(l.DevIDPDir(), "client.json") }

func (l Layout) devIDPDeploymentFile() string { return filepath.Join(l.DevIDPDir(), "deployment.json") }

// OIDCClient is what the operator's gateway needs to log citizens in with
// the development provider.
type OIDCClient struct {
	Issuer           string `json:"issuer"`
	ClientID         string `json:"client_id"`
	ClientSecretFile string `json:"client_secret_file"`
	RedirectURL      string `json:"redirect_url"`
}

// OperatorOIDC is the operator gateway's client at the development
// provider. Its redirect URL is on the gateway's app origin, the origin the
// citizen's browser uses (operatorAppURL).
func (l Layout) OperatorOIDC() OIDCClient {
	return OIDCClient{Issuer: DevIDPIssuer(), ClientID: DevIDPClientID,
		ClientSecretFile: l.DevIDPClientSecretFile(), RedirectURL: operatorOrigin() + "/citizen/v1/oidc/callback"}
}

// operatorOrigin is scheme://host:port of the operator gateway's app.
func operatorOrigin() string {
	u := operatorAppURL()
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
			return u[:i+3+j]
		}
	}
	return u
}

// operatorGateway is the operator's gateway spec.
func operatorGateway() GatewaySpec {
	for _, g := range Gateways() {
		if strings.Contains(g.Roles, "provider") {
			return g
		}
	}
	return GatewaySpec{}
}

// devIDPArgs are the provider's flags.
func (l Layout) devIDPArgs() []string {
	c := l.OperatorOIDC()
	data := l.GatewayDataDir(operatorGateway())
	return []string{
		"--listen=" + DevIDPListen,
		"--issuer=" + c.Issuer,
		"--state-dir=" + l.DevIDPDir(),
		"--codes-dir=" + l.DevIDPCodesDir(),
		// The gateway's demo population, then its named test personas
		// (the files `quanchain-gateway setup` writes).
		"--register-file=" + filepath.Join(data, "demo-citizens.jsonl"),
		"--register-file=" + filepath.Join(data, "demo-personas.jsonl"),
		"--client-id=" + c.ClientID,
		"--client-secret-file=" + c.ClientSecretFile,
		"--redirect-uri=" + c.RedirectURL,
		"--acr=" + DevACR,
		"--id-number-claim=" + DevIDClaim,
		fmt.Sprintf("--logins-per-minute=%d", devIDPLoginsPerMinute),
		fmt.Sprintf("--starts-per-citizen=%d", devIDPPerCitizen),
		fmt.Sprintf("--codes-per-citizen=%d", devIDPPerCitizen),
	}
}

// devIDPProc describes the provider's process; it is healthy once its
// discovery document names its issuer.
func (l Layout) devIDPProc() proc {
	return proc{
		Name:     DevIDPName,
		Kind:     KindIdentityProvider,
		Bin:      l.DevIDPBinary(),
		Args:     l.devIDPArgs(),
		Env:      baseEnv(),
		Dir:      l.DevIDPDir(),
		Endpoint: DevIDPListen,
		Health:   func(ctx context.Context) error { return discoveryReady(ctx, DevIDPIssuer()) },
	}
}

// discoveryReady checks that issuer serves its discovery document.
func discoveryReady(ctx context.Context, issuer string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, issuer+"/.well-known/openid-configuration", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("identity provider: %w", err)
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("identity provider: discovery answered %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || doc.Issuer != issuer {
		return fmt.Errorf("identity provider: discovery names issuer %q, want %q", doc.Issuer, issuer)
	}
	return nil
}

// devIDPProcs lists the provider's process once it is built.
func (l Layout) devIDPProcs() []proc {
	if _, err := os.Stat(l.DevIDPBinary()); err != nil {
		return nil
	}
	return []proc{l.devIDPProc()}
}

// ensureDevIDPClient creates the provider's directory (0700) and the
// operator gateway's client secret (a 0600 file) if missing, and writes
// client.json.
func (l Layout) ensureDevIDPClient() (OIDCClient, error) {
	c := l.OperatorOIDC()
	if err := os.MkdirAll(l.DevIDPDir(), 0o700); err != nil {
		return c, fmt.Errorf("create %s: %w", l.DevIDPDir(), err)
	}
	if _, err := os.Stat(c.ClientSecretFile); errors.Is(err, fs.ErrNotExist) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return c, err
		}
		if err := writeFileAtomic(c.ClientSecretFile, []byte(hex.EncodeToString(b)+"\n"), 0o600); err != nil {
			return c, err
		}
	} else if err != nil {
		return c, err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return c, err
	}
	return c, writeFileAtomic(l.DevIDPClientFile(), append(b, '\n'), 0o644)
}

// ensureDevIDP starts the provider, restarting it if its binary or its
// flags changed. It reports whether it started it.
func (l Layout) ensureDevIDP(ctx context.Context, binHash string) (bool, error) {
	if _, err := l.ensureDevIDPClient(); err != nil {
		return false, err
	}
	type deployment struct {
		BinarySHA256 string
		Args         []string
	}
	p := l.devIDPProc()
	var have deployment
	if b, err := os.ReadFile(l.devIDPDeploymentFile()); err == nil {
		_ = json.Unmarshal(b, &have)
	}
	if have.BinarySHA256 != binHash || !slices.Equal(have.Args, p.Args) {
		if _, err := l.stop(p); err != nil {
			return false, err
		}
	}
	started, err := l.start(ctx, p)
	if err != nil {
		return started, err
	}
	b, err := json.Marshal(deployment{BinarySHA256: binHash, Args: p.Args})
	if err != nil {
		return started, err
	}
	return started, writeFileAtomic(l.devIDPDeploymentFile(), b, 0o644)
}
