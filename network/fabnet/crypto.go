package fabnet

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"text/template"
)

//go:embed templates/*.tmpl
var templates embed.FS

// renderTemplate executes one of the embedded templates.
func renderTemplate(name string, data any) ([]byte, error) {
	t, err := template.ParseFS(templates, "templates/"+name)
	if err != nil {
		return nil, fmt.Errorf("parse template %s: %w", name, err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("render template %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// ensureCrypto generates every identity with cryptogen, once: if the crypto
// directory exists it is never regenerated (the ledger is bound to it).
// Generation happens in a temporary directory renamed into place at the end.
func ensureCrypto(ctx context.Context, l Layout, t Topology) (bool, error) {
	if exists(l.CryptoDir()) {
		return false, nil
	}
	cfg, err := renderTemplate("crypto-config.yaml.tmpl", t)
	if err != nil {
		return false, err
	}
	cfgPath := filepath.Join(l.ConfigDir("cryptogen"), "crypto-config.yaml")
	if err := writeFileAtomic(cfgPath, cfg, 0o644); err != nil {
		return false, err
	}
	tmp := l.CryptoDir() + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return false, fmt.Errorf("remove stale %s: %w", tmp, err)
	}
	cmd := exec.CommandContext(ctx, l.Bin("cryptogen"), "generate", "--config", cfgPath, "--output", tmp)
	cmd.Env = baseEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return false, fmt.Errorf("cryptogen generate: %w: %s", err, bytes.TrimSpace(out))
	}
	if err := os.Rename(tmp, l.CryptoDir()); err != nil {
		return false, fmt.Errorf("move crypto material into place: %w", err)
	}
	return true, nil
}

// ensureGenesis creates the channel's genesis block with configtxgen, once.
func ensureGenesis(ctx context.Context, l Layout, t Topology) (bool, error) {
	if exists(l.GenesisBlock()) {
		return false, nil
	}
	type orgView struct {
		MSPID, MSPDir, AnchorHost string
		AnchorPort                int
	}
	type ordererView struct {
		Host    string
		Port    int
		TLSCert string
	}
	view := struct {
		BatchTimeout    string
		MaxMessageCount int
		OrdererOrg      orgView
		Orderers        []ordererView
		PeerOrgs        []orgView
	}{
		BatchTimeout:    BatchTimeout.String(),
		MaxMessageCount: MaxMessageCount,
		OrdererOrg:      orgView{MSPID: t.OrdererOrg.MSPID, MSPDir: l.OrgMSPDir(t.OrdererOrg)},
	}
	for _, o := range t.Orderers {
		view.Orderers = append(view.Orderers, ordererView{
			Host: host, Port: o.Port, TLSCert: filepath.Join(l.NodeDir(o), "tls", "server.crt"),
		})
	}
	for _, p := range t.Peers {
		view.PeerOrgs = append(view.PeerOrgs, orgView{
			MSPID: p.Org.MSPID, MSPDir: l.OrgMSPDir(p.Org), AnchorHost: host, AnchorPort: p.Port,
		})
	}
	cfg, err := renderTemplate("configtx.yaml.tmpl", view)
	if err != nil {
		return false, err
	}
	dir := l.ConfigDir("configtx")
	if err := writeFileAtomic(filepath.Join(dir, "configtx.yaml"), cfg, 0o644); err != nil {
		return false, err
	}
	tmp := l.GenesisBlock() + ".tmp"
	if err := os.MkdirAll(filepath.Dir(tmp), 0o755); err != nil {
		return false, fmt.Errorf("create channel directory: %w", err)
	}
	cmd := exec.CommandContext(ctx, l.Bin("configtxgen"), "-configPath", dir,
		"-profile", "QuanchainChannel", "-channelID", ChannelName, "-outputBlock", tmp)
	cmd.Env = baseEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return false, fmt.Errorf("configtxgen -outputBlock: %w: %s", err, tail(string(out), 10))
	}
	if err := os.Rename(tmp, l.GenesisBlock()); err != nil {
		return false, fmt.Errorf("move genesis block into place: %w", err)
	}
	return true, nil
}
