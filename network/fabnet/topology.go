// Package fabnet brings up, resumes, stops and inspects the local quanchain
// Hyperledger Fabric 2.5 network: three Raft orderers and one peer for each
// of the four member organisations, all native processes on 127.0.0.1 with
// TLS, plus the quanchain chaincode running as a service (CCaaS).
//
// Every operation is idempotent: identities and the channel's genesis block
// are generated once and never again over a live ledger, running processes
// are left alone, joined channels are skipped and a chaincode definition that
// is already committed is not approved again.
package fabnet

import (
	"fmt"
	"strings"
	"time"
)

// Names of the channel and the chaincode.
const (
	ChannelName   = "quanchain"
	ChaincodeName = "quanchain"
	// ChaincodeVersion is the version of the chaincode definition and the
	// suffix of the package label. Bump it to change the definition (for
	// example its endorsement policy): `up` then approves and commits the
	// next sequence.
	// 2.0 keeps authorisations and accesses in private data collections.
	ChaincodeVersion = "2.0"
	// EndorsementPolicy is the chaincode's signature policy: the operator
	// (the data provider) endorses every write, together with at least one
	// requesting institution; AuditMSP never endorses.
	EndorsementPolicy = "AND('BureauMSP.peer', OR('BankMSP.peer', 'InsurerMSP.peer'))"
	// BatchTimeout is how long an orderer waits for more transactions
	// before it cuts a block (see docs/network.md for the trade-off).
	BatchTimeout = 100 * time.Millisecond
	// MaxMessageCount caps the transactions in one block.
	MaxMessageCount = 100
	// FabricVersion is the Fabric release the binaries are built from.
	FabricVersion = "2.5.0"
	// FabricModule is the pinned Go module of Fabric 2.5.0 (the
	// release-2.5 branch at v2.5.0).
	FabricModule = "github.com/hyperledger/fabric@v1.4.0-rc1.0.20230401164317-bd8e24856939"
)

// host is the address every process listens on.
const host = "127.0.0.1"

// Kind is the kind of a supervised process.
type Kind string

// Process kinds.
const (
	KindOrderer   Kind = "orderer"
	KindPeer      Kind = "peer"
	KindChaincode Kind = "chaincode"
)

// Org is one organisation of the network.
type Org struct {
	Name   string // short name, lower case: orderer, bureau, bank, insurer, audit
	MSPID  string // BureauMSP, …
	Domain string // bureau.quanchain.local, …
	// Endorser reports whether the chaincode's endorsement policy names
	// this organisation's peers.
	Endorser bool
}

// Node is one orderer or peer.
type Node struct {
	Kind          Kind
	Org           Org
	Host          string // short host name: orderer0, peer0
	Port          int    // gRPC (client, gossip and Raft cluster traffic)
	AdminPort     int    // orderers: channel participation API (mutual TLS)
	OpsPort       int    // operations endpoint: /healthz, /metrics (TLS)
	ChaincodePort int    // peers: chaincode listen port (unused by CCaaS, reserved)
}

// Name is the process name used for logs and pid files, e.g. "peer0.bureau".
func (n Node) Name() string { return n.Host + "." + n.Org.Name }

// FQDN is the node's name in its certificates, e.g. peer0.bureau.quanchain.local.
func (n Node) FQDN() string { return n.Host + "." + n.Org.Domain }

// Address is the node's gRPC endpoint.
func (n Node) Address() string { return fmt.Sprintf("%s:%d", host, n.Port) }

// AdminAddress is an orderer's channel participation endpoint.
func (n Node) AdminAddress() string { return fmt.Sprintf("%s:%d", host, n.AdminPort) }

// OpsAddress is the node's operations endpoint.
func (n Node) OpsAddress() string { return fmt.Sprintf("%s:%d", host, n.OpsPort) }

// ProfileAddress is a peer's Go profiler endpoint (/debug/pprof, plain
// HTTP, loopback only): its operations port + 100.
func (n Node) ProfileAddress() string { return fmt.Sprintf("%s:%d", host, n.OpsPort+100) }

// Topology is the whole local network.
type Topology struct {
	OrdererOrg Org
	Orderers   []Node
	PeerOrgs   []Org
	Peers      []Node // one per peer organisation, in PeerOrgs order
	// ChaincodeAddress is where the chaincode service listens.
	ChaincodeAddress string
}

// DefaultTopology returns the local network: OrdererMSP with three Raft
// orderers and one peer each for BureauMSP, BankMSP, InsurerMSP and AuditMSP.
func DefaultTopology() Topology {
	ordererOrg := Org{Name: "orderer", MSPID: "OrdererMSP", Domain: "orderer.quanchain.local"}
	t := Topology{OrdererOrg: ordererOrg, ChaincodeAddress: fmt.Sprintf("%s:%d", host, 9999)}
	for i := range 3 {
		t.Orderers = append(t.Orderers, Node{
			Kind:      KindOrderer,
			Org:       ordererOrg,
			Host:      fmt.Sprintf("orderer%d", i),
			Port:      7050 + 100*i,
			AdminPort: 7053 + 100*i,
			OpsPort:   8443 + 100*i,
		})
	}
	peers := []struct {
		name, msp string
		port      int
		endorser  bool
	}{
		{"bureau", "BureauMSP", 7051, true},
		{"bank", "BankMSP", 9051, true},
		{"insurer", "InsurerMSP", 11051, true},
		{"audit", "AuditMSP", 13051, false},
	}
	for i, p := range peers {
		org := Org{Name: p.name, MSPID: p.msp, Domain: p.name + ".quanchain.local", Endorser: p.endorser}
		t.PeerOrgs = append(t.PeerOrgs, org)
		t.Peers = append(t.Peers, Node{
			Kind:          KindPeer,
			Org:           org,
			Host:          "peer0",
			Port:          p.port,
			ChaincodePort: p.port + 1,
			OpsPort:       9444 + i,
		})
	}
	return t
}

// PeerOf returns the peer of an organisation named by MSP ID or short name
// (case-insensitive).
func (t Topology) PeerOf(org string) (Node, error) {
	for _, p := range t.Peers {
		if strings.EqualFold(p.Org.MSPID, org) || strings.EqualFold(p.Org.Name, org) {
			return p, nil
		}
	}
	return Node{}, fmt.Errorf("unknown peer organisation %q", org)
}

// Nodes returns the orderers then the peers.
func (t Topology) Nodes() []Node {
	return append(append([]Node(nil), t.Orderers...), t.Peers...)
}
