package fabnet

import (
	"fmt"
	"os"
	"path/filepath"
)

// writeNodeConfigs writes every node's configuration: Fabric's sample
// core.yaml / orderer.yaml with this network's settings applied. They hold
// no secrets and no state, so they are rewritten on every `up`.
func writeNodeConfigs(l Layout, t Topology) error {
	for _, o := range t.Orderers {
		if err := writeConfig(l, o, "orderer.yaml", ordererSettings(l, o)); err != nil {
			return err
		}
	}
	for _, p := range t.Peers {
		if err := writeConfig(l, p, "core.yaml", peerSettings(l, p)); err != nil {
			return err
		}
	}
	return nil
}

// writeConfig patches one sample configuration file into the node's
// config directory.
func writeConfig(l Layout, n Node, file string, settings []setting) error {
	src, err := os.ReadFile(l.SampleConfig(file))
	if err != nil {
		return fmt.Errorf("read sample %s: %w", file, err)
	}
	out, err := patchYAML(src, settings)
	if err != nil {
		return fmt.Errorf("%s for %s: %w", file, n.Name(), err)
	}
	return writeFileAtomic(filepath.Join(l.ConfigDir(n.Name()), file), out, 0o644)
}

// ordererSettings configures one Raft orderer: TLS on its client/cluster
// port, channel participation on a mutual-TLS admin port, no system
// channel, operations and Prometheus metrics over TLS.
func ordererSettings(l Layout, o Node) []setting {
	tls := filepath.Join(l.NodeDir(o), "tls")
	tlsCA := l.TLSCA(o.Org)
	data := l.DataDir(o.Name())
	return []setting{
		{"General.ListenAddress", host},
		{"General.ListenPort", o.Port},
		{"General.TLS.Enabled", true},
		{"General.TLS.PrivateKey", filepath.Join(tls, "server.key")},
		{"General.TLS.Certificate", filepath.Join(tls, "server.crt")},
		{"General.TLS.RootCAs", []string{filepath.Join(tls, "ca.crt")}},
		{"General.TLS.ClientAuthRequired", false},
		// Raft traffic shares the client port and its TLS server identity.
		{"General.Cluster.ClientCertificate", filepath.Join(tls, "server.crt")},
		{"General.Cluster.ClientPrivateKey", filepath.Join(tls, "server.key")},
		{"General.BootstrapMethod", "none"},
		{"General.BootstrapFile", ""},
		{"General.LocalMSPDir", filepath.Join(l.NodeDir(o), "msp")},
		{"General.LocalMSPID", o.Org.MSPID},
		{"FileLedger.Location", filepath.Join(data, "ledger")},
		{"Consensus.WALDir", filepath.Join(data, "etcdraft", "wal")},
		{"Consensus.SnapDir", filepath.Join(data, "etcdraft", "snapshot")},
		{"ChannelParticipation.Enabled", true},
		{"Admin.ListenAddress", o.AdminAddress()},
		{"Admin.TLS.Enabled", true},
		{"Admin.TLS.Certificate", filepath.Join(tls, "server.crt")},
		{"Admin.TLS.PrivateKey", filepath.Join(tls, "server.key")},
		{"Admin.TLS.ClientAuthRequired", true},
		{"Admin.TLS.ClientRootCAs", []string{tlsCA}},
		{"Operations.ListenAddress", o.OpsAddress()},
		{"Operations.TLS.Enabled", true},
		{"Operations.TLS.Certificate", filepath.Join(tls, "server.crt")},
		{"Operations.TLS.PrivateKey", filepath.Join(tls, "server.key")},
		{"Operations.TLS.ClientAuthRequired", false},
		{"Operations.TLS.ClientRootCAs", []string{tlsCA}},
		{"Metrics.Provider", "prometheus"},
	}
}

// builderConfig is one entry of core.yaml's chaincode.externalBuilders.
type builderConfig struct {
	Name                 string   `yaml:"name"`
	Path                 string   `yaml:"path"`
	PropagateEnvironment []string `yaml:"propagateEnvironment"`
}

// peerSettings configures one peer: TLS, LevelDB, gateway, gossip that
// bootstraps from itself and is reachable by other organisations, no Docker
// and the CCaaS external builder, operations and metrics over TLS.
func peerSettings(l Layout, p Node) []setting {
	tls := filepath.Join(l.NodeDir(p), "tls")
	data := l.DataDir(p.Name())
	cc := fmt.Sprintf("%s:%d", host, p.ChaincodePort)
	return []setting{
		{"peer.id", p.FQDN()},
		{"peer.networkId", "quanchain"},
		{"peer.listenAddress", p.Address()},
		{"peer.address", p.Address()},
		{"peer.chaincodeListenAddress", cc},
		{"peer.chaincodeAddress", cc},
		{"peer.mspConfigPath", filepath.Join(l.NodeDir(p), "msp")},
		{"peer.localMspId", p.Org.MSPID},
		{"peer.fileSystemPath", filepath.Join(data, "ledger")},
		{"peer.gateway.enabled", true},
		{"peer.gossip.bootstrap", p.Address()},
		{"peer.gossip.externalEndpoint", p.Address()},
		{"peer.gossip.useLeaderElection", false},
		{"peer.gossip.orgLeader", true},
		// The default 25 s retry leaves the gateway unable to find other
		// organisations' peers for half a minute after start-up.
		{"peer.gossip.reconnectInterval", "2s"},
		// Clients may ping every 5 s or more: the short soak runs the
		// gateways with a 10 s gRPC keep-alive, so that its idle gaps
		// cross it (Fabric's default of 60 s refuses pings more frequent).
		{"peer.keepalive.minInterval", "5s"},
		{"peer.tls.enabled", true},
		{"peer.tls.clientAuthRequired", false},
		{"peer.tls.cert.file", filepath.Join(tls, "server.crt")},
		{"peer.tls.key.file", filepath.Join(tls, "server.key")},
		{"peer.tls.rootcert.file", filepath.Join(tls, "ca.crt")},
		{"peer.tls.clientRootCAs.files", []string{filepath.Join(tls, "ca.crt")}},
		{"vm.endpoint", ""},
		{"chaincode.externalBuilders", []builderConfig{{
			Name: "quanchain-ccaas", Path: l.BuilderDir(), PropagateEnvironment: []string{},
		}}},
		{"ledger.state.stateDatabase", "goleveldb"},
		{"ledger.snapshots.rootDir", filepath.Join(data, "snapshots")},
		{"operations.listenAddress", p.OpsAddress()},
		{"operations.tls.enabled", true},
		{"operations.tls.cert.file", filepath.Join(tls, "server.crt")},
		{"operations.tls.key.file", filepath.Join(tls, "server.key")},
		{"operations.tls.clientAuthRequired", false},
		{"operations.tls.clientRootCAs.files", []string{l.TLSCA(p.Org)}},
		{"metrics.provider", "prometheus"},
		// Go's profiler on loopback (/debug/pprof), to find where a peer's
		// time goes under load (docs/benchmarks.md).
		{"peer.profile.enabled", true},
		{"peer.profile.listenAddress", p.ProfileAddress()},
	}
}
