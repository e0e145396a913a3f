// Package peerlinktest makes throw-away TLS CAs and certificates in the
// shape cryptogen gives a Fabric organisation, for tests of gateway-to-
// gateway mutual TLS.
package peerlinktest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/peerlink"
)

// CA is one organisation's TLS CA.
type CA struct {
	MSPID  string
	Domain string
	Cert   *x509.Certificate
	Key    *ecdsa.PrivateKey
}

// PKI is a set of organisations' TLS CAs.
type PKI struct {
	t   testing.TB
	CAs map[string]*CA
}

// New makes a TLS CA for each MSP ID ("BankMSP" gets the domain
// bank.quanchain.test).
func New(t testing.TB, mspIDs ...string) *PKI {
	t.Helper()
	p := &PKI{t: t, CAs: map[string]*CA{}}
	for _, m := range mspIDs {
		p.CAs[m] = NewCA(t, m)
	}
	return p
}

// NewCA makes one organisation's TLS CA, as cryptogen does (self-signed,
// ECDSA P-256, for client and server authentication).
func NewCA(t testing.TB, mspID string) *CA {
	t.Helper()
	domain := strings.ToLower(strings.TrimSuffix(mspID, "MSP")) + ".quanchain.test"
	key := mustKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{Organization: []string{domain}, CommonName: "tlsca." + domain},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &CA{MSPID: mspID, Domain: domain, Cert: cert, Key: key}
}

// CertOption changes a leaf certificate before it is signed.
type CertOption func(*x509.Certificate)

// Expired makes the certificate expired an hour ago.
func Expired(c *x509.Certificate) {
	c.NotBefore, c.NotAfter = time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour)
}

// ServerOnly gives the certificate the server authentication usage only.
func ServerOnly(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} }

// PeerServer makes the certificate the TLS certificate of the
// organisation's peer0, as cryptogen issues it (peers/peer0.<domain>/tls/
// server.crt): common name and DNS names peer0.<domain>, plus localhost and
// 127.0.0.1, both authentication usages and no NodeOU.
func PeerServer(c *x509.Certificate) {
	_, domain, _ := strings.Cut(c.Subject.CommonName, "@")
	host := "peer0." + domain
	c.Subject.CommonName = host
	c.DNSNames = []string{host, "peer0", "localhost"}
	c.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
}

// Issue signs a TLS certificate for User1 of the organisation, with both
// client and server authentication usages and no host names, like
// cryptogen's users/User1@<domain>/tls/client.crt.
func (ca *CA) Issue(t testing.TB, opts ...CertOption) tls.Certificate {
	t.Helper()
	key := mustKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: "User1@" + ca.Domain},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, o := range opts {
		o(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// Orgs returns every organisation's trust anchor.
func (p *PKI) Orgs() []peerlink.Org {
	var out []peerlink.Org
	for _, ca := range p.CAs {
		out = append(out, peerlink.Org{MSPID: ca.MSPID, TLSCA: ca.Cert})
	}
	return out
}

// Link returns the link of organisation msp with a fresh certificate,
// trusting every organisation of the PKI.
func (p *PKI) Link(msp string) *peerlink.Link {
	p.t.Helper()
	l, err := peerlink.New(msp, p.CAs[msp].Issue(p.t), p.Orgs())
	if err != nil {
		p.t.Fatal(err)
	}
	return l
}

// WriteState writes the organisations as a network state directory, the
// way the network tool and cryptogen lay it out: network.json with each
// organisation's TLS CA and User1's MSP certificate, and User1's TLS
// certificate and key under users/User1@<domain>/tls.
func (p *PKI) WriteState(dir string) {
	p.t.Helper()
	type user struct {
		Cert string `json:"cert"`
		Key  string `json:"key"`
	}
	type org struct {
		Name        string          `json:"name"`
		MSPID       string          `json:"msp_id"`
		TLSRootCert string          `json:"tls_root_cert"`
		Users       map[string]user `json:"users"`
	}
	var orgs []org
	for _, ca := range p.CAs {
		base := filepath.Join("crypto", "peerOrganizations", ca.Domain)
		caPath := filepath.Join(base, "tlsca", "tlsca."+ca.Domain+"-cert.pem")
		userDir := filepath.Join(base, "users", "User1@"+ca.Domain)
		signcert := filepath.Join(userDir, "msp", "signcerts", "User1@"+ca.Domain+"-cert.pem")
		keyPath := filepath.Join(userDir, "msp", "keystore", "priv_sk")
		leaf := ca.Issue(p.t)
		keyDER, _ := x509.MarshalPKCS8PrivateKey(leaf.PrivateKey)
		for path, blk := range map[string]*pem.Block{
			caPath:   {Type: "CERTIFICATE", Bytes: ca.Cert.Raw},
			signcert: {Type: "CERTIFICATE", Bytes: leaf.Certificate[0]}, // stands in for the MSP certificate
			keyPath:  {Type: "PRIVATE KEY", Bytes: keyDER},
			filepath.Join(userDir, "tls", "client.crt"): {Type: "CERTIFICATE", Bytes: leaf.Certificate[0]},
			filepath.Join(userDir, "tls", "client.key"): {Type: "PRIVATE KEY", Bytes: keyDER},
			filepath.Join(userDir, "tls", "ca.crt"):     {Type: "CERTIFICATE", Bytes: ca.Cert.Raw},
		} {
			writeFile(p.t, filepath.Join(dir, path), pem.EncodeToMemory(blk))
		}
		orgs = append(orgs, org{Name: strings.Split(ca.Domain, ".")[0], MSPID: ca.MSPID, TLSRootCert: caPath,
			Users: map[string]user{"User1": {Cert: signcert, Key: keyPath}}})
	}
	b, _ := json.MarshalIndent(map[string]any{"channel": "quanchain", "chaincode": "quanchain", "orgs": orgs}, "", "  ")
	writeFile(p.t, filepath.Join(dir, "network.json"), b)
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatal(err)
	}
	return n
}
