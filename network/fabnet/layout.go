package fabnet

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/quanchain/quanchain/ledger/fabconn"
)

// Environment variables that move the network's directories.
const (
	// EnvHome overrides the runtime state directory (default <repo>/.quanchain).
	EnvHome = fabconn.EnvHome
	// EnvCache overrides the base cache directory (default $XDG_CACHE_HOME
	// or ~/.cache); binaries go to <base>/quanchain/fabric-<FabricBuild>/bin.
	EnvCache = "QUANCHAIN_CACHE"
)

// Layout says where everything lives: the source tree (for the external
// builder and the chaincode sources), the runtime state and the cache of
// Fabric binaries.
type Layout struct {
	RepoRoot string // directory holding go.mod
	StateDir string // runtime state: crypto, config, ledgers, logs, pids
	CacheDir string // <cache>/quanchain
}

// DefaultLayout resolves the layout from the working directory and the
// environment: the repository root is the nearest directory above the
// working directory that holds go.mod.
func DefaultLayout() (Layout, error) {
	wd, err := os.Getwd()
	if err != nil {
		return Layout{}, fmt.Errorf("working directory: %w", err)
	}
	root, err := FindRepoRoot(wd)
	if err != nil {
		return Layout{}, err
	}
	// The clients' rule (fabconn.StateDir): $QUANCHAIN_HOME, else
	// <repository>/.quanchain.
	state, err := fabconn.StateDir("")
	if err != nil {
		return Layout{}, fmt.Errorf("state directory: %w", err)
	}
	cache := os.Getenv(EnvCache)
	if cache == "" {
		if cache, err = os.UserCacheDir(); err != nil {
			return Layout{}, fmt.Errorf("cache directory (set %s): %w", EnvCache, err)
		}
	}
	if cache, err = filepath.Abs(cache); err != nil {
		return Layout{}, fmt.Errorf("cache directory: %w", err)
	}
	return Layout{RepoRoot: root, StateDir: state, CacheDir: filepath.Join(cache, "quanchain")}, nil
}

// FindRepoRoot walks up from dir to the first directory holding go.mod
// (fabconn.RepoRoot, the clients' rule).
func FindRepoRoot(dir string) (string, error) { return fabconn.RepoRoot(dir) }

// FabricDir is the cached Fabric build: bin/ and config/ (Fabric's sampleconfig).
func (l Layout) FabricDir() string { return filepath.Join(l.CacheDir, "fabric-"+FabricBuild) }

// Bin is the path of a Fabric binary.
func (l Layout) Bin(name string) string { return filepath.Join(l.FabricDir(), "bin", name) }

// SampleConfig is the path of one of Fabric's sample configuration files.
func (l Layout) SampleConfig(name string) string {
	return filepath.Join(l.FabricDir(), "config", name)
}

// BuilderDir is the external builder declared to every peer.
func (l Layout) BuilderDir() string { return filepath.Join(l.RepoRoot, "network", "builder") }

// CryptoDir holds the cryptogen output.
func (l Layout) CryptoDir() string { return filepath.Join(l.StateDir, "crypto") }

// ConfigDir is a process's FABRIC_CFG_PATH (or, for "configtx", configtxgen's).
func (l Layout) ConfigDir(name string) string { return filepath.Join(l.StateDir, "config", name) }

// DataDir holds a node's ledger.
func (l Layout) DataDir(name string) string { return filepath.Join(l.StateDir, "data", name) }

// LogFile is a process's log.
func (l Layout) LogFile(name string) string { return filepath.Join(l.StateDir, "logs", name+".log") }

// PidFile records a running process's pid.
func (l Layout) PidFile(name string) string { return filepath.Join(l.StateDir, "run", name+".pid") }

// RunDir holds pid files and small run records.
func (l Layout) RunDir() string { return filepath.Join(l.StateDir, "run") }

// GenesisBlock is the channel's genesis block.
func (l Layout) GenesisBlock() string {
	return filepath.Join(l.StateDir, "channel", ChannelName+".block")
}

// ChaincodeDir holds the chaincode package and binary.
func (l Layout) ChaincodeDir() string { return filepath.Join(l.StateDir, "chaincode") }

// ProfileFile is the connection profile the clients read (see package ledger/fabconn).
func (l Layout) ProfileFile() string { return filepath.Join(l.StateDir, "network.json") }

// OrgDir is an organisation's cryptogen directory.
func (l Layout) OrgDir(o Org) string {
	kind := "peerOrganizations"
	if o.MSPID == "OrdererMSP" {
		kind = "ordererOrganizations"
	}
	return filepath.Join(l.CryptoDir(), kind, o.Domain)
}

// OrgMSPDir is an organisation's verifying MSP (for the channel config).
func (l Layout) OrgMSPDir(o Org) string { return filepath.Join(l.OrgDir(o), "msp") }

// TLSCA is an organisation's TLS root certificate.
func (l Layout) TLSCA(o Org) string {
	return filepath.Join(l.OrgDir(o), "tlsca", "tlsca."+o.Domain+"-cert.pem")
}

// NodeDir is a node's cryptogen directory (msp/ and tls/).
func (l Layout) NodeDir(n Node) string {
	sub := "peers"
	if n.Kind == KindOrderer {
		sub = "orderers"
	}
	return filepath.Join(l.OrgDir(n.Org), sub, n.FQDN())
}

// UserDir is a user's cryptogen directory (msp/ and tls/), user "Admin" or "User1".
func (l Layout) UserDir(o Org, user string) string {
	return filepath.Join(l.OrgDir(o), "users", user+"@"+o.Domain)
}
