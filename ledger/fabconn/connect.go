package fabconn

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/hash"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/proto"
)

// Connection is a Fabric Gateway connection of one organisation's identity
// to that organisation's peer.
type Connection struct {
	// Gateway is the fabric-gateway client.
	Gateway *client.Gateway
	// ClientConn is the gRPC connection the gateway uses.
	ClientConn *grpc.ClientConn
	// Org is the organisation connected as.
	Org OrgProfile
	// Channel and Chaincode are the network's defaults.
	Channel, Chaincode string
}

type options struct {
	user      string
	keepAlive time.Duration
}

// DefaultKeepAlive is how long the connection to the peer may carry
// nothing before the client pings the peer. Fabric peers refuse pings more
// frequent than their peer.keepalive.minInterval (60 s by default) by
// closing the connection, so a shorter setting needs the peers' consent.
const DefaultKeepAlive = 60 * time.Second

// keepAliveTimeout is how long the client waits for the peer to answer a
// ping before it drops the connection and dials again.
const keepAliveTimeout = 20 * time.Second

// Option customises Connect.
type Option func(*options)

// WithUser connects as the given cryptogen user, "User1" (the default, a
// client identity) or "Admin".
func WithUser(name string) Option { return func(o *options) { o.user = name } }

// WithKeepAlive pings the peer after d without traffic, also while no call
// is in flight, so a connection that a firewall or a dead peer dropped
// silently is found and replaced before a transaction waits on it
// (default DefaultKeepAlive).
func WithKeepAlive(d time.Duration) Option { return func(o *options) { o.keepAlive = d } }

// Connect opens a gateway connection as an organisation (MSP ID or short
// name) using the profile in stateDir. It waits, within ctx, until the gRPC
// connection to the peer is ready, so an unreachable peer fails here.
func Connect(ctx context.Context, stateDir, org string, opts ...Option) (*Connection, error) {
	o := options{user: "User1", keepAlive: DefaultKeepAlive}
	for _, opt := range opts {
		opt(&o)
	}
	prof, err := LoadProfile(stateDir)
	if err != nil {
		return nil, err
	}
	op, err := prof.Org(org)
	if err != nil {
		return nil, err
	}
	user, ok := op.Users[o.user]
	if !ok {
		return nil, fmt.Errorf("organisation %s has no user %q", op.MSPID, o.user)
	}
	id, sign, err := loadIdentity(op.MSPID, abs(stateDir, user.Cert), abs(stateDir, user.Key))
	if err != nil {
		return nil, fmt.Errorf("identity %s of %s: %w", o.user, op.MSPID, err)
	}
	cc, err := dial(ctx, op.PeerEndpoint, op.PeerHostname, abs(stateDir, op.TLSRootCert), o.keepAlive)
	if err != nil {
		return nil, fmt.Errorf("connect to the peer of %s: %w", op.MSPID, err)
	}
	gw, err := client.Connect(id, client.WithSign(sign), client.WithHash(hash.SHA256), client.WithClientConnection(cc),
		client.WithEvaluateTimeout(30*time.Second), client.WithEndorseTimeout(30*time.Second),
		client.WithSubmitTimeout(30*time.Second), client.WithCommitStatusTimeout(time.Minute))
	if err != nil {
		cc.Close()
		return nil, fmt.Errorf("gateway connection for %s: %w", op.MSPID, err)
	}
	return &Connection{Gateway: gw, ClientConn: cc, Org: *op, Channel: prof.Channel, Chaincode: prof.Chaincode}, nil
}

// Network returns the network's channel.
func (c *Connection) Network() *client.Network { return c.Gateway.GetNetwork(c.Channel) }

// Contract returns one contract ("registry", "consent", …) of the network's
// chaincode; an empty name means the chaincode's default contract.
func (c *Connection) Contract(name string) *client.Contract {
	if name == "" {
		return c.Network().GetContract(c.Chaincode)
	}
	return c.Network().GetContractWithName(c.Chaincode, name)
}

// ChainInfo returns the channel's height and current block hash as the
// connected organisation's peer sees them (qscc GetChainInfo).
func (c *Connection) ChainInfo(ctx context.Context) (*common.BlockchainInfo, error) {
	b, err := c.Network().GetContract("qscc").EvaluateWithContext(ctx, "GetChainInfo", client.WithArguments(c.Channel))
	if err != nil {
		return nil, fmt.Errorf("qscc GetChainInfo via %s: %w", c.Org.MSPID, err)
	}
	var info common.BlockchainInfo
	if err := proto.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("decode chain info: %w", err)
	}
	return &info, nil
}

// Close closes the gateway and its gRPC connection.
func (c *Connection) Close() error {
	return errors.Join(c.Gateway.Close(), c.ClientConn.Close())
}

// abs resolves a profile path against the state directory.
func abs(stateDir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(stateDir, p)
}

// loadIdentity reads an X.509 certificate and its private key.
func loadIdentity(mspID, certPath, keyPath string) (*identity.X509Identity, identity.Sign, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, fmt.Errorf("read certificate: %w", err)
	}
	cert, err := identity.CertificateFromPEM(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("parse %s: %w", certPath, err)
	}
	id, err := identity.NewX509Identity(mspID, cert)
	if err != nil {
		return nil, nil, fmt.Errorf("identity: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("read private key: %w", err)
	}
	key, err := identity.PrivateKeyFromPEM(keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("parse %s: %w", keyPath, err)
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		return nil, nil, fmt.Errorf("signer: %w", err)
	}
	return id, sign, nil
}

// dial opens a TLS gRPC connection to a peer and waits until it is ready.
func dial(ctx context.Context, endpoint, serverName, caPath string, keepAlive time.Duration) (*grpc.ClientConn, error) {
	caPEM, err := os.ReadFile(caPath)
	if err != nil {
		return nil, fmt.Errorf("read TLS root certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("no certificate in %s", caPath)
	}
	cc, err := grpc.NewClient("dns:///"+endpoint,
		grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, serverName)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: keepAlive, Timeout: keepAliveTimeout, PermitWithoutStream: true}))
	if err != nil {
		return nil, fmt.Errorf("gRPC client for %s: %w", endpoint, err)
	}
	// Bound the wait even if the caller's context has no deadline.
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	cc.Connect()
	for {
		s := cc.GetState()
		if s == connectivity.Ready {
			return cc, nil
		}
		if !cc.WaitForStateChange(ctx, s) {
			cc.Close()
			return nil, fmt.Errorf("gRPC connection to %s (last state %s): %w", endpoint, s, ctx.Err())
		}
	}
}
