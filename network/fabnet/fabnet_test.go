package fabnet

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// untar returns the files of a gzipped tar archive.
func untar(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[hdr.Name] = data
	}
}

func TestChaincodePackage(t *testing.T) {
	pkg1, id1, err := ChaincodePackage("127.0.0.1:9999")
	if err != nil {
		t.Fatal(err)
	}
	pkg2, id2, err := ChaincodePackage("127.0.0.1:9999")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pkg1, pkg2) || id1 != id2 {
		t.Fatalf("package is not deterministic: %s vs %s", id1, id2)
	}
	if !regexp.MustCompile(`^quanchain_` + regexp.QuoteMeta(ChaincodeVersion) + `:[0-9a-f]{64}$`).MatchString(id1) {
		t.Errorf("package id %q", id1)
	}
	files := untar(t, pkg1)
	if got, want := string(files["metadata.json"]), `{"type":"ccaas","label":"`+ChaincodeLabel()+`"}`; got != want {
		t.Errorf("metadata.json = %s, want %s", got, want)
	}
	if len(files) != 2 {
		t.Errorf("package holds %d files, want metadata.json and code.tar.gz", len(files))
	}
	code := untar(t, files["code.tar.gz"])
	want := `{"address":"127.0.0.1:9999","dial_timeout":"10s","tls_required":false}`
	if got := string(code["connection.json"]); got != want || len(code) != 1 {
		t.Errorf("code.tar.gz = %v, want only connection.json = %s", code, want)
	}
	if _, other, _ := ChaincodePackage("127.0.0.1:9998"); other == id1 {
		t.Error("a different address must give a different package id")
	}
}

func TestPatchYAML(t *testing.T) {
	src := []byte("# comment\npeer:\n    id: jdoe\n    gossip:\n        bootstrap: 127.0.0.1:7051\n    empty:\nvm:\n    endpoint: unix:///var/run/docker.sock\n")
	out, err := patchYAML(src, []setting{
		{"peer.ID", "peer0"},                          // case-insensitive match
		{"peer.gossip.reconnectInterval", "2s"},       // new key
		{"peer.empty.child", 3},                       // null becomes a mapping
		{"vm.endpoint", ""},                           // empty string
		{"chaincode.externalBuilders", []string{"x"}}, // new subtree
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# comment", "id: peer0", "reconnectInterval: 2s", "child: 3", `endpoint: ""`, "- x", "bootstrap: 127.0.0.1:7051"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("patched YAML lacks %q:\n%s", want, out)
		}
	}
	if _, err := patchYAML([]byte("peer: 1\n"), []setting{{"peer.id", "x"}}); err == nil {
		t.Error("setting below a scalar must fail")
	}
}

func TestTopology(t *testing.T) {
	top := DefaultTopology()
	if len(top.Orderers) != 3 || len(top.Peers) != 4 {
		t.Fatalf("%d orderers, %d peers", len(top.Orderers), len(top.Peers))
	}
	// Ports other services on the machine use.
	reserved := map[int]bool{5432: true, 3306: true, 6379: true, 5672: true, 15672: true, 25672: true, 4369: true, 1883: true, 4222: true, 8080: true}
	seen := map[int]string{}
	use := func(port int, what string) {
		if port == 0 {
			return
		}
		if reserved[port] {
			t.Errorf("%s uses reserved port %d", what, port)
		}
		if other, dup := seen[port]; dup {
			t.Errorf("%s and %s both use port %d", what, other, port)
		}
		seen[port] = what
	}
	for _, n := range top.Nodes() {
		use(n.Port, n.Name())
		use(n.AdminPort, n.Name()+" admin")
		use(n.OpsPort, n.Name()+" ops")
		use(n.ChaincodePort, n.Name()+" chaincode")
	}
	use(9999, "chaincode service")
	endorsers := 0
	for _, o := range top.PeerOrgs {
		if o.Endorser {
			endorsers++
			if !strings.Contains(EndorsementPolicy, "'"+o.MSPID+".peer'") {
				t.Errorf("policy %s does not name endorser %s", EndorsementPolicy, o.MSPID)
			}
		} else if strings.Contains(EndorsementPolicy, o.MSPID) {
			t.Errorf("policy %s names non-endorser %s", EndorsementPolicy, o.MSPID)
		}
	}
	if endorsers != 3 {
		t.Errorf("%d endorsing organisations, want 3", endorsers)
	}
	if p, err := top.PeerOf("bank"); err != nil || p.Port != 9051 {
		t.Errorf("PeerOf(bank) = %v, %v", p, err)
	}
	if _, err := top.PeerOf("nobody"); err == nil {
		t.Error("PeerOf(nobody) must fail")
	}
}

func TestFindRepoRoot(t *testing.T) {
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "network", "builder", "bin", "detect")); err != nil {
		t.Errorf("root %s: %v", root, err)
	}
	if _, err := FindRepoRoot(t.TempDir()); err == nil {
		t.Error("a directory outside any module must fail")
	}
}

// TestExternalBuilder runs the builder's scripts the way a peer does.
func TestExternalBuilder(t *testing.T) {
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "network", "builder", "bin")
	run := func(script string, args ...string) error {
		cmd := exec.Command(filepath.Join(bin, script), args...)
		cmd.Env = baseEnv()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("%s: %s", script, out)
		}
		return err
	}
	dir := t.TempDir()
	src, meta, bld, rel := filepath.Join(dir, "src"), filepath.Join(dir, "meta"), filepath.Join(dir, "bld"), filepath.Join(dir, "rel")
	for _, d := range []string{src, meta, bld, rel, filepath.Join(src, "META-INF", "statedb")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conn := []byte(`{"address":"127.0.0.1:9999","dial_timeout":"10s","tls_required":false}`)
	write := func(p string, b []byte) {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(src, "connection.json"), conn)
	write(filepath.Join(src, "META-INF", "statedb", "x"), []byte("x"))

	write(filepath.Join(meta, "metadata.json"), []byte(`{"type":"golang","label":"x"}`))
	if err := run("detect", src, meta); err == nil {
		t.Error("detect claimed a golang package")
	}
	write(filepath.Join(meta, "metadata.json"), []byte("{\"type\": \"ccaas\",\n \"label\":\"quanchain_1.0\"}"))
	if err := run("detect", src, meta); err != nil {
		t.Fatalf("detect refused a ccaas package: %v", err)
	}
	if err := run("build", src, meta, bld); err != nil {
		t.Fatal(err)
	}
	if err := run("release", bld, rel); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(rel, "chaincode", "server", "connection.json"))
	if err != nil || !bytes.Equal(got, conn) {
		t.Errorf("released connection.json = %s, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(rel, "statedb", "x")); err != nil {
		t.Errorf("META-INF/statedb not released: %v", err)
	}
	if err := run("build", t.TempDir(), meta, t.TempDir()); err == nil {
		t.Error("build must fail without connection.json")
	}
}
