package fabnet

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestDevIDPPorts: the identity provider's port is its own in the port
// plan.
func TestDevIDPPorts(t *testing.T) {
	t.Parallel()
	_, port, _ := net.SplitHostPort(DevIDPListen)
	used := map[string]string{}
	add := func(what, addr string) {
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		used[p] = what
	}
	topo := DefaultTopology()
	for _, n := range topo.Nodes() {
		add(n.Name(), n.Address())
		add(n.Name()+" ops", n.OpsAddress())
		add(n.Name()+" profile", n.ProfileAddress())
		if n.Kind == KindOrderer {
			add(n.Name()+" admin", n.AdminAddress())
		} else {
			add(n.Name()+" chaincode", fmt.Sprintf("127.0.0.1:%d", n.ChaincodePort))
		}
	}
	add("chaincode", topo.ChaincodeAddress)
	for _, g := range Gateways() {
		add(g.Name, g.Listen)
	}
	add("operator peer listener", OperatorPeerListen)
	if other, ok := used[port]; ok {
		t.Fatalf("port %s is %s's too", port, other)
	}
}

// TestDevIDPConfig: the provider reads the register the operator gateway's
// setup writes, sends the browser back to the operator gateway's app
// origin, and gets its client secret from a 0600 file that stays the same
// over later ups.
func TestDevIDPConfig(t *testing.T) {
	t.Parallel()
	l := Layout{RepoRoot: t.TempDir(), StateDir: filepath.Join(t.TempDir(), "state")}
	c := l.OperatorOIDC()
	want := OIDCClient{Issuer: "http://127.0.0.1:7085", ClientID: "gateway.bureau",
		ClientSecretFile: filepath.Join(l.StateDir, "devidp", "client-secret"),
		RedirectURL:      "http://localhost:7080/citizen/v1/oidc/callback"}
	if c != want {
		t.Fatalf("OperatorOIDC = %+v, want %+v", c, want)
	}
	p := l.devIDPProc()
	bureau := filepath.Join(l.StateDir, "gateway", "bureau")
	for _, arg := range []string{
		"--listen=127.0.0.1:7085", "--issuer=http://127.0.0.1:7085",
		"--state-dir=" + filepath.Join(l.StateDir, "devidp"),
		"--register-file=" + filepath.Join(bureau, "demo-citizens.jsonl"),
		"--register-file=" + filepath.Join(bureau, "demo-personas.jsonl"),
		"--client-id=gateway.bureau", "--client-secret-file=" + want.ClientSecretFile,
		"--redirect-uri=" + want.RedirectURL,
	} {
		if !slices.Contains(p.Args, arg) {
			t.Errorf("provider flags %v lack %s", p.Args, arg)
		}
	}
	if p.Name != "devidp" || p.Kind != KindIdentityProvider || p.Bin != filepath.Join(l.StateDir, "bin", "quanchain-devidp") ||
		l.LogFile(p.Name) != filepath.Join(l.StateDir, "logs", "devidp.log") {
		t.Errorf("process %+v", p)
	}

	if _, err := l.ensureDevIDPClient(); err != nil {
		t.Fatal(err)
	}
	secret, err := os.ReadFile(want.ClientSecretFile)
	if err != nil || len(strings.TrimSpace(string(secret))) != 64 {
		t.Fatalf("secret %q %v", secret, err)
	}
	if fi, _ := os.Stat(want.ClientSecretFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("secret mode %v", fi.Mode().Perm())
	}
	if di, _ := os.Stat(l.DevIDPDir()); di.Mode().Perm() != 0o700 {
		t.Errorf("provider directory mode %v", di.Mode().Perm())
	}
	if _, err := l.ensureDevIDPClient(); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(want.ClientSecretFile); string(again) != string(secret) {
		t.Error("a later up replaced the client secret")
	}
	var file OIDCClient
	b, _ := os.ReadFile(l.DevIDPClientFile())
	if err := json.Unmarshal(b, &file); err != nil || file != want {
		t.Errorf("client.json = %s (%v)", b, err)
	}
}

// TestDevIDPProcs: the provider is supervised once built, before the
// gateways.
func TestDevIDPProcs(t *testing.T) {
	t.Parallel()
	l := Layout{RepoRoot: t.TempDir(), StateDir: t.TempDir()}
	if len(l.devIDPProcs()) != 0 {
		t.Fatal("an unbuilt provider is listed")
	}
	for _, bin := range []string{l.DevIDPBinary(), l.GatewayBinary()} {
		if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for _, p := range l.allProcs(DefaultTopology()) {
		names = append(names, p.Name)
	}
	i, j := slices.Index(names, DevIDPName), slices.Index(names, "gateway.bureau")
	if i < 0 || j < 0 || i > j {
		t.Fatalf("processes %v: the provider must come before the gateways", names)
	}
}
