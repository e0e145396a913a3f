// Package peerlink is the mutual TLS between member gateways: a requester
// gateway calling the operator's provider API, and the provider finding
// out which organisation is calling.
//
// Each gateway presents its organisation's Fabric TLS identity (the
// cryptogen client TLS certificate of the identity it runs as; it carries
// both the client and server authentication usages) and trusts the TLS CAs
// of the organisations in the network profile. A peer is identified by
// its organisation — the TLS CA its certificate chains to — not by a host
// name: the server learns the caller's MSP from the verified chain, and a
// client pins the MSP it expects to reach, so a bank cannot stand in for
// the operator even on the same host.
package peerlink

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"slices"
)

// Errors of the package. Compare with [errors.Is].
var (
	// ErrNoPeerCertificate: the connection has no client certificate (or is
	// not TLS at all).
	ErrNoPeerCertificate = errors.New("peerlink: no peer certificate")
	// ErrUnknownOrg: the peer certificate does not chain to the TLS CA of
	// any organisation this gateway knows, or of the one it expects.
	ErrUnknownOrg = errors.New("peerlink: peer certificate is not from a known organisation")
)

// Org is one organisation's trust anchor: its MSP ID and TLS CA.
type Org struct {
	MSPID string
	TLSCA *x509.Certificate
}

// Link is this gateway's side of the gateway-to-gateway links: its own
// TLS identity and the organisations it trusts. It is safe for concurrent
// use.
type Link struct {
	self string
	cert tls.Certificate
	orgs []Org
	pool *x509.CertPool
}

// New returns the link of organisation self, presenting cert (a chain and
// its private key) and trusting orgs, which must include self. Two
// organisations may not share a TLS CA: the CA is what names a peer's
// organisation.
func New(self string, cert tls.Certificate, orgs []Org) (*Link, error) {
	if len(cert.Certificate) == 0 || cert.PrivateKey == nil {
		return nil, errors.New("peerlink: a certificate and its private key are required")
	}
	l := &Link{self: self, cert: cert, pool: x509.NewCertPool()}
	for _, o := range orgs {
		if o.MSPID == "" || o.TLSCA == nil {
			return nil, errors.New("peerlink: every organisation needs an MSP ID and a TLS CA")
		}
		for _, have := range l.orgs {
			if have.MSPID == o.MSPID {
				return nil, fmt.Errorf("peerlink: organisation %s listed twice", o.MSPID)
			}
			if have.TLSCA.Equal(o.TLSCA) {
				return nil, fmt.Errorf("peerlink: %s and %s share a TLS CA", have.MSPID, o.MSPID)
			}
		}
		l.orgs = append(l.orgs, o)
		l.pool.AddCert(o.TLSCA)
	}
	leaf := cert.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("peerlink: own certificate: %w", err)
		}
		l.cert.Leaf = leaf
	}
	chain := []*x509.Certificate{leaf}
	for _, der := range cert.Certificate[1:] {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("peerlink: own certificate chain: %w", err)
		}
		chain = append(chain, c)
	}
	// The one certificate serves both ends of a link.
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth} {
		msp, err := l.verify(chain, usage, nil)
		if err != nil || msp != self {
			return nil, fmt.Errorf("peerlink: own certificate is not a client and server TLS certificate of %s's TLS CA", self)
		}
	}
	return l, nil
}

// MSPID returns this gateway's organisation.
func (l *Link) MSPID() string { return l.self }

// ServerConfig returns the TLS configuration of a server that admits only
// gateways of known organisations: TLS 1.3, a client certificate required
// and verified against the organisations' TLS CAs, and exactly one
// organisation behind it. Read the caller's organisation with
// [Link.PeerMSP] or [Link.RequestMSP].
func (l *Link) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{l.cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    l.pool,
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, err := l.PeerMSP(&cs)
			return err
		},
	}
}

// ClientConfig returns the TLS configuration of a client that presents
// this gateway's identity and accepts only a server of one of serverMSPs
// (any known organisation if none is given). The server is identified by
// the TLS CA its certificate chains to, not by host name, so the usual
// host-name check is replaced by VerifyConnection.
func (l *Link) ClientConfig(serverMSPs ...string) (*tls.Config, error) {
	allowed := l.orgs
	if len(serverMSPs) > 0 {
		allowed = nil
		for _, m := range serverMSPs {
			i := slices.IndexFunc(l.orgs, func(o Org) bool { return o.MSPID == m })
			if i < 0 {
				return nil, fmt.Errorf("peerlink: organisation %s is not in the network profile", m)
			}
			allowed = append(allowed, l.orgs[i])
		}
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{l.cert},
		// Verification is not skipped: VerifyConnection below checks the
		// chain against the allowed organisations' TLS CAs.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, err := l.verify(cs.PeerCertificates, x509.ExtKeyUsageServerAuth, allowed)
			return err
		},
	}, nil
}

// PeerMSP returns the organisation of the peer of a TLS connection, from
// its verified certificate chain: the MSP whose TLS CA the chain ends at.
// A chain that the handshake did not verify is verified here.
func (l *Link) PeerMSP(cs *tls.ConnectionState) (string, error) {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return "", ErrNoPeerCertificate
	}
	if len(cs.VerifiedChains) == 0 {
		return l.verify(cs.PeerCertificates, x509.ExtKeyUsageClientAuth, nil)
	}
	msp := ""
	for _, chain := range cs.VerifiedChains {
		m, ok := l.orgOf(chain[len(chain)-1], l.orgs)
		if !ok || (msp != "" && m != msp) {
			return "", ErrUnknownOrg
		}
		msp = m
	}
	return msp, nil
}

// RequestMSP returns the organisation of the client of an HTTP request
// received over mutual TLS ([Link.ServerConfig]). A request without a
// verified client certificate has none: it fails with ErrNoPeerCertificate.
func (l *Link) RequestMSP(r *http.Request) (string, error) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
		return "", ErrNoPeerCertificate
	}
	return l.PeerMSP(r.TLS)
}

// verify checks that certs[0], with certs[1:] as intermediates, chains to
// the TLS CA of one of orgs (all known organisations if nil) for the given
// usage, and returns that organisation.
func (l *Link) verify(certs []*x509.Certificate, usage x509.ExtKeyUsage, orgs []Org) (string, error) {
	if len(certs) == 0 {
		return "", ErrNoPeerCertificate
	}
	if orgs == nil {
		orgs = l.orgs
	}
	roots := x509.NewCertPool()
	for _, o := range orgs {
		roots.AddCert(o.TLSCA)
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	chains, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}})
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrUnknownOrg, err)
	}
	msp := ""
	for _, chain := range chains {
		m, ok := l.orgOf(chain[len(chain)-1], orgs)
		if !ok || (msp != "" && m != msp) {
			return "", ErrUnknownOrg
		}
		msp = m
	}
	return msp, nil
}

func (l *Link) orgOf(root *x509.Certificate, orgs []Org) (string, bool) {
	for _, o := range orgs {
		if o.TLSCA.Equal(root) {
			return o.MSPID, true
		}
	}
	return "", false
}
