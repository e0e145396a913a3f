package peerlink

import (
	"crypto/x509"
	"errors"
	"slices"
	"strings"
)

// ErrNotGatewayIdentity reports a certificate that is a member's but not a
// client identity of it (a peer's or an orderer's TLS certificate, say), so
// not what a member gateway presents.
var ErrNotGatewayIdentity = errors.New("peerlink: certificate is not a client identity of its organisation")

// Fabric NodeOUs, the organisational units that name an identity's role.
const (
	OUClient  = "client"
	OUAdmin   = "admin"
	OUPeer    = "peer"
	OUOrderer = "orderer"
)

// GatewayIdentity checks that cert, a TLS certificate already verified
// against a member's TLS CA, is a client identity of that organisation —
// what a member gateway presents (the TLS certificate of the user it runs
// as) — and not one of its nodes' (a peer's or an orderer's).
//
// Fabric names an identity's role with NodeOUs: OU=client or OU=admin for
// users, OU=peer or OU=orderer for nodes. Fabric CA writes the enrolled
// identity's type into the OU of every certificate it issues, TLS ones
// included. cryptogen writes NodeOUs only into MSP certificates and gives
// every TLS certificate, a node's as a user's, both the client and server
// usages; but a node's TLS certificate always names its host (its common
// name and host name are added as DNS names) and a user's names none. So
// the rule is:
//
//   - the certificate allows client authentication (ExtKeyUsage clientAuth);
//   - if it carries a NodeOU, that is client or admin, and no other NodeOU;
//   - if it carries none, it names no host: no DNS name, IP address or URI.
func GatewayIdentity(cert *x509.Certificate) error {
	if cert == nil || !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		return ErrNotGatewayIdentity
	}
	var client, node bool
	for _, ou := range cert.Subject.OrganizationalUnit {
		switch strings.ToLower(ou) {
		case OUClient, OUAdmin:
			client = true
		case OUPeer, OUOrderer:
			node = true
		}
	}
	switch {
	case node:
		return ErrNotGatewayIdentity
	case client:
		return nil
	case len(cert.DNSNames)+len(cert.IPAddresses)+len(cert.URIs) > 0:
		return ErrNotGatewayIdentity
	}
	return nil
}
