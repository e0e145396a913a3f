package peerlink_test

import (
	"crypto/x509"
	"errors"
	"net"
	"testing"

	"github.com/quanchain/quanchain/gateway/internal/peerlink"
	"github.com/quanchain/quanchain/gateway/internal/peerlink/peerlinktest"
)

// TestGatewayIdentity: a member's user TLS certificate (cryptogen's, or one
// with OU=client or OU=admin) is a gateway identity; a peer's or an
// orderer's is not, whether it says so with a NodeOU or, as cryptogen's
// node TLS certificates do, by naming its host.
func TestGatewayIdentity(t *testing.T) {
	ca := peerlinktest.NewCA(t, "BankMSP")
	ou := func(ous ...string) peerlinktest.CertOption {
		return func(c *x509.Certificate) { c.Subject.OrganizationalUnit = ous }
	}
	for _, tc := range []struct {
		name string
		opts []peerlinktest.CertOption
		ok   bool
	}{
		{"cryptogen user", nil, true},
		{"OU=client", []peerlinktest.CertOption{ou("client")}, true},
		{"OU=admin", []peerlinktest.CertOption{ou("admin")}, true},
		{"cryptogen peer server certificate", []peerlinktest.CertOption{peerlinktest.PeerServer}, false},
		{"OU=peer", []peerlinktest.CertOption{ou("peer")}, false},
		{"OU=orderer", []peerlinktest.CertOption{ou("orderer")}, false},
		{"OU=client and OU=peer", []peerlinktest.CertOption{ou("client", "peer")}, false},
		{"OU=client naming a host", []peerlinktest.CertOption{ou("client"), func(c *x509.Certificate) { c.DNSNames = []string{"gw.bank.test"} }}, true},
		{"an IP address", []peerlinktest.CertOption{func(c *x509.Certificate) { c.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)} }}, false},
		{"server authentication only", []peerlinktest.CertOption{peerlinktest.ServerOnly}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert := ca.Issue(t, tc.opts...).Leaf
			err := peerlink.GatewayIdentity(cert)
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, peerlink.ErrNotGatewayIdentity) {
				t.Fatalf("accepted (%v); subject %s, DNS %v", err, cert.Subject, cert.DNSNames)
			}
		})
	}
}
