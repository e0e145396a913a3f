package peerlink

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	"github.com/quanchain/quanchain/ledger/fabconn"
)

// DefaultUser is the cryptogen identity whose TLS certificate a gateway
// presents.
const DefaultUser = "User1"

// Load builds the link of organisation org (MSP ID or short name) from the
// network profile in stateDir (<stateDir>/network.json): every peer
// organisation's TLS CA (tls_root_cert), and org's own TLS identity, the
// cryptogen client TLS certificate and key of its DefaultUser, which
// cryptogen writes next to the user's MSP directory:
//
//	users/User1@<domain>/msp/signcerts/…   (the profile's "cert")
//	users/User1@<domain>/tls/client.crt
//	users/User1@<domain>/tls/client.key
func Load(stateDir, org string) (*Link, error) {
	prof, err := fabconn.LoadProfile(stateDir)
	if err != nil {
		return nil, fmt.Errorf("peerlink: %w", err)
	}
	self, err := prof.Org(org)
	if err != nil {
		return nil, fmt.Errorf("peerlink: %w", err)
	}
	var orgs []Org
	for _, o := range prof.Orgs {
		ca, err := readCertificate(abs(stateDir, o.TLSRootCert))
		if err != nil {
			return nil, fmt.Errorf("peerlink: TLS CA of %s: %w", o.MSPID, err)
		}
		orgs = append(orgs, Org{MSPID: o.MSPID, TLSCA: ca})
	}
	user, ok := self.Users[DefaultUser]
	if !ok {
		return nil, fmt.Errorf("peerlink: organisation %s has no user %s in the profile", self.MSPID, DefaultUser)
	}
	msp := filepath.Dir(filepath.Dir(abs(stateDir, user.Cert)))
	if filepath.Base(msp) != "msp" {
		return nil, fmt.Errorf("peerlink: %s's certificate is not in a cryptogen msp/signcerts directory", DefaultUser)
	}
	tlsDir := filepath.Join(filepath.Dir(msp), "tls")
	cert, err := tls.LoadX509KeyPair(filepath.Join(tlsDir, "client.crt"), filepath.Join(tlsDir, "client.key"))
	if err != nil {
		return nil, fmt.Errorf("peerlink: TLS identity of %s: %w", self.MSPID, err)
	}
	return New(self.MSPID, cert, orgs)
}

// ServerTLS returns the TLS configuration of the provider API's listener
// for organisation org: see [Link.ServerConfig]. Use [Load] instead when
// the handler must learn the caller's organisation.
func ServerTLS(stateDir, org string) (*tls.Config, error) {
	l, err := Load(stateDir, org)
	if err != nil {
		return nil, err
	}
	return l.ServerConfig(), nil
}

// ClientTLS returns the TLS configuration of organisation org's gateway
// calling another gateway of any known organisation: see
// [Link.ClientConfig], which can also pin the server's organisation.
func ClientTLS(stateDir, org string) (*tls.Config, error) {
	l, err := Load(stateDir, org)
	if err != nil {
		return nil, err
	}
	return l.ClientConfig()
}

func readCertificate(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s is not a PEM certificate", path)
	}
	return x509.ParseCertificate(blk.Bytes)
}

func abs(stateDir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(stateDir, p)
}
