package fabnet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// nodeProc describes the daemon of an orderer or a peer.
func (l Layout) nodeProc(n Node) proc {
	p := proc{
		Name:     n.Name(),
		Kind:     n.Kind,
		Dir:      l.DataDir(n.Name()),
		Endpoint: n.Address(),
		Env: baseEnv(
			"FABRIC_CFG_PATH="+l.ConfigDir(n.Name()),
			"FABRIC_LOGGING_SPEC=info",
			// Fabric's default format colours its output even into a file.
			"FABRIC_LOGGING_FORMAT=%{time:2006-01-02 15:04:05.000 MST} [%{module}] %{shortfunc} -> %{level:.4s} %{id:03x} %{message}",
		),
	}
	if n.Kind == KindOrderer {
		p.Bin = l.Bin("orderer")
	} else {
		p.Bin, p.Args = l.Bin("peer"), []string{"node", "start"}
	}
	p.Health = func(ctx context.Context) error { return l.nodeReady(ctx, n) }
	return p
}

// ChaincodeServiceName is the chaincode service's process name.
const ChaincodeServiceName = "quanchain-cc"

// chaincodeProc describes the chaincode service for the given package id.
func (l Layout) chaincodeProc(t Topology, packageID string) proc {
	return proc{
		Name:     ChaincodeServiceName,
		Kind:     KindChaincode,
		Bin:      l.ChaincodeBinary(),
		Dir:      l.ChaincodeDir(),
		Endpoint: t.ChaincodeAddress,
		Env: baseEnv(
			"CHAINCODE_ID="+packageID,
			"CHAINCODE_SERVER_ADDRESS="+t.ChaincodeAddress,
			// The development network carries the load test's trivial
			// write (ceiling:Put), the Fabric ceiling BenchmarkLoad
			// compares quanchain's transactions with; a deployment's
			// chaincode service is started without it.
			"QUANCHAIN_CEILING_CONTRACT=1",
		),
		Health: func(ctx context.Context) error {
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", t.ChaincodeAddress)
			if err != nil {
				return fmt.Errorf("chaincode service: %w", err)
			}
			return c.Close()
		},
	}
}

// ChaincodeBinary is where the chaincode service is built.
func (l Layout) ChaincodeBinary() string { return filepath.Join(l.StateDir, "bin", "quanchain-cc") }

// allProcs lists every supervised process in start order; the chaincode
// service is included only if its package id is known, the identity
// provider and the gateways only once built.
func (l Layout) allProcs(t Topology) []proc {
	var ps []proc
	for _, n := range t.Nodes() {
		ps = append(ps, l.nodeProc(n))
	}
	if id, err := l.recordedPackageID(); err == nil && id != "" {
		ps = append(ps, l.chaincodeProc(t, id))
	}
	ps = append(ps, l.devIDPProcs()...)
	return append(ps, l.gatewayProcs()...)
}

// nodeReady reports whether a node serves: its operations /healthz answers
// OK and its gRPC port (and an orderer's admin port) completes a TLS
// handshake. The operations endpoint comes up before the others, so
// /healthz alone is not enough.
func (l Layout) nodeReady(ctx context.Context, n Node) error {
	if err := l.healthz(ctx, n); err != nil {
		return err
	}
	addrs := []string{n.Address()}
	if n.Kind == KindOrderer {
		addrs = append(addrs, n.AdminAddress())
	}
	cfg, err := l.tlsConfig(n)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		d := tls.Dialer{Config: cfg}
		c, err := d.DialContext(ctx, "tcp", a)
		if err != nil {
			return fmt.Errorf("TLS handshake with %s: %w", a, err)
		}
		c.Close()
	}
	return nil
}

// tlsConfig trusts the node's organisation's TLS CA and presents the
// organisation admin's TLS client certificate.
func (l Layout) tlsConfig(n Node) (*tls.Config, error) {
	ca, err := os.ReadFile(l.TLSCA(n.Org))
	if err != nil {
		return nil, fmt.Errorf("read TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("no certificate in %s", l.TLSCA(n.Org))
	}
	admin := filepath.Join(l.UserDir(n.Org, "Admin"), "tls")
	cert, err := tls.LoadX509KeyPair(filepath.Join(admin, "client.crt"), filepath.Join(admin, "client.key"))
	if err != nil {
		return nil, fmt.Errorf("load admin TLS client certificate: %w", err)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// opsClient returns an HTTPS client for a node's operations endpoint:
// it trusts the organisation's TLS CA and presents the organisation
// admin's TLS client certificate (needed for /metrics, not for /healthz).
func (l Layout) opsClient(n Node) (*http.Client, error) {
	cfg, err := l.tlsConfig(n)
	if err != nil {
		return nil, err
	}
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true},
	}, nil
}

// opsGet fetches a path from a node's operations endpoint.
func (l Layout) opsGet(ctx context.Context, n Node, path string) (string, error) {
	c, err := l.opsClient(n)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+n.OpsAddress()+path, nil)
	if err != nil {
		return "", fmt.Errorf("build request: %w", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s%s: %w", n.OpsAddress(), path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return "", fmt.Errorf("GET %s%s: %w", n.OpsAddress(), path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("GET %s%s: %s: %s", n.OpsAddress(), path, resp.Status, strings.TrimSpace(string(body)))
	}
	return string(body), nil
}

// healthz checks a node's operations /healthz.
func (l Layout) healthz(ctx context.Context, n Node) error {
	_, err := l.opsGet(ctx, n, "/healthz")
	return err
}
