package config

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/cli/internal/cmdutil"
)

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "User1@audit.quanchain.local", OrganizationalUnit: []string{"client"}},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	certPath := filepath.Join("crypto", "user1.pem")
	_ = os.MkdirAll(filepath.Join(dir, "crypto"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, certPath), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	prof := `{"channel":"quanchain","chaincode":"quanchain","orgs":[{"name":"audit","msp_id":"AuditMSP","peer_endpoint":"127.0.0.1:13051",
	  "peer_hostname":"peer0.audit.quanchain.local","tls_root_cert":"x","users":{"User1":{"cert":"` + certPath + `","key":"k"}}}]}`
	if err := os.WriteFile(filepath.Join(dir, "network.json"), []byte(prof), 0o644); err != nil {
		t.Fatal(err)
	}
	ios, _, out, _ := cmdutil.Test()
	f := cmdutil.NewFactory(ios)
	f.StateDir = dir
	f.Profile = "AuditMSP"
	cmd := NewCmdConfig(f, nil)
	cmd.SetArgs([]string{"--json"})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	var c Config
	if err := json.Unmarshal(out.Bytes(), &c); err != nil {
		t.Fatal(err)
	}
	if c.Profile != "audit" || c.MSPID != "AuditMSP" || c.PeerEndpoint != "127.0.0.1:13051" || c.Channel != "quanchain" ||
		c.Identity != "CN=User1@audit.quanchain.local,OU=client" || c.Certificate != filepath.Join(dir, certPath) || c.StateDir != dir {
		t.Fatalf("config %+v", c)
	}
	if !strings.Contains(out.String(), `"identity": "CN=User1@audit.quanchain.local,OU=client"`) {
		t.Fatalf("json %s", out)
	}
}
