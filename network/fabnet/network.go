package fabnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultChaincodeSource is the chaincode service's main package, relative
// to the repository root.
const DefaultChaincodeSource = "chaincode/cmd/quanchain-cc"

// Options configures Up.
type Options struct {
	// Out receives progress lines and the final summary; nil discards them.
	Out io.Writer
	// ChaincodeSource is the chaincode main package relative to the
	// repository root (default DefaultChaincodeSource).
	ChaincodeSource string
	// SkipBootstrap leaves the registry empty (no demo data) and starts no
	// gateways.
	SkipBootstrap bool
	// SkipGateways starts the network without the members' gateways.
	SkipGateways bool
	// GatewayEnv are extra QC_… settings for every gateway (a test's
	// shortened timeouts, say). Gateways running with other settings are
	// restarted; a later Up without them restores the defaults.
	GatewayEnv []string
}

// Up brings the network to its running state from wherever it is: nothing,
// stopped, partly started or running. It builds what is missing, generates
// identities and the genesis block only if they do not exist, starts the
// processes that are not running, joins what has not joined, deploys the
// chaincode if its current package is not committed, waits until every
// organisation can get a transaction endorsed and bootstraps the registry.
func Up(ctx context.Context, l Layout, opts Options) error {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	if opts.ChaincodeSource == "" {
		opts.ChaincodeSource = DefaultChaincodeSource
	}
	t := DefaultTopology()
	start := time.Now()
	step := func(name, format string, args ...any) {
		fmt.Fprintf(out, "%6.1fs  %-12s %s\n", time.Since(start).Seconds(), name, fmt.Sprintf(format, args...))
	}
	stamped := &stampWriter{start: start, w: out}
	fmt.Fprintf(out, "quanchain-net up: state %s\n", l.StateDir)
	if err := os.MkdirAll(l.StateDir, 0o755); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	unlock, err := LockFile(ctx, filepath.Join(l.StateDir, ".lock"))
	if err != nil {
		return err
	}
	defer unlock()

	if err := EnsureBinaries(ctx, l, out); err != nil {
		return err
	}
	step("binaries", "%s", filepath.Dir(l.Bin("peer")))
	if err := checkBuilder(l); err != nil {
		return err
	}
	// The chaincode build (a second or more when the code changed) overlaps
	// with the start-up of the nodes; an early return cancels it.
	type buildResult struct {
		hash string
		err  error
	}
	built := make(chan buildResult, 1)
	bctx, cancelBuild := context.WithCancel(ctx)
	defer cancelBuild()
	go func() {
		h, err := l.buildBinary(bctx, opts.ChaincodeSource, l.ChaincodeBinary())
		built <- buildResult{h, err}
	}()
	gwBuilt := make(chan buildResult, 1)
	go func() {
		if opts.SkipGateways {
			gwBuilt <- buildResult{}
			return
		}
		h, err := l.buildBinary(bctx, DefaultGatewaySource, l.GatewayBinary())
		gwBuilt <- buildResult{h, err}
	}()
	idpBuilt := make(chan buildResult, 1)
	go func() {
		if opts.SkipGateways {
			idpBuilt <- buildResult{}
			return
		}
		h, err := l.buildBinary(bctx, DefaultDevIDPSource, l.DevIDPBinary())
		idpBuilt <- buildResult{h, err}
	}()
	made, err := ensureCrypto(ctx, l, t)
	if err != nil {
		return err
	}
	step("crypto", "%s", keptOrMade(made, "generated", "kept")+" "+l.CryptoDir())
	if made, err = ensureGenesis(ctx, l, t); err != nil {
		return err
	}
	step("genesis", "%s", keptOrMade(made, "created", "kept")+" "+l.GenesisBlock())
	if err := writeNodeConfigs(l, t); err != nil {
		return err
	}
	if err := writeProfile(l, t); err != nil {
		return err
	}

	if err := l.startNodes(ctx, t.Orderers); err != nil {
		return err
	}
	step("orderers", "%d healthy", len(t.Orderers))
	joined, err := countTrue(t.Orderers, func(o Node) (bool, error) { return l.joinOrderer(ctx, o) })
	if err != nil {
		return err
	}
	step("channel", "orderers: %d joined now, %d already", joined, len(t.Orderers)-joined)
	if err := l.startNodes(ctx, t.Peers); err != nil {
		return err
	}
	step("peers", "%d healthy", len(t.Peers))
	leader, err := l.waitRaftLeader(ctx, t)
	if err != nil {
		return err
	}
	step("raft", "leader %s", leader.Name())
	if err := l.waitOrderersInStep(ctx, ordererCatchUpTimeout); err != nil {
		return err
	}
	step("raft", "every orderer follows the leader at its height")
	if joined, err = countTrue(t.Peers, func(p Node) (bool, error) { return l.joinPeer(ctx, p) }); err != nil {
		return err
	}
	step("channel", "peers: %d joined now, %d already", joined, len(t.Peers)-joined)

	b := <-built
	if b.err != nil {
		return b.err
	}
	binHash := b.hash
	packageID, err := l.writePackage(ctx, t)
	if err != nil {
		return err
	}
	restarted, err := l.ensureChaincodeService(ctx, t, packageID, binHash)
	if err != nil {
		return err
	}
	step("chaincode", "service %s at %s (%s)", keptOrMade(restarted, "started", "running"), t.ChaincodeAddress, packageID)
	installed, err := countTrue(t.Peers, func(p Node) (bool, error) { return l.installChaincode(ctx, p, packageID) })
	if err != nil {
		return err
	}
	step("chaincode", "installed on %d peers now, %d already", installed, len(t.Peers)-installed)
	state, err := l.defineChaincode(ctx, t, packageID)
	if err != nil {
		return err
	}
	step("chaincode", "definition %s", state)
	if err := waitEndorsable(ctx, l, t); err != nil {
		return err
	}
	step("ready", "every organisation gets endorsements for %s", ChaincodeName)
	if !opts.SkipBootstrap {
		n, err := Bootstrap(ctx, l.StateDir, stamped)
		if err != nil {
			return err
		}
		step("bootstrap", "%d registry entries submitted", n)
	}
	if !opts.SkipBootstrap && !opts.SkipGateways {
		gb, ib := <-gwBuilt, <-idpBuilt
		if err := errors.Join(gb.err, ib.err); err != nil {
			return err
		}
		// The operator's gateway logs citizens in with the development
		// OpenID provider: it runs first.
		idpStarted, err := l.ensureDevIDP(ctx, ib.hash)
		if err != nil {
			return err
		}
		step("devidp", "%s at %s; codes in %s", keptOrMade(idpStarted, "started", "running"), DevIDPIssuer(), l.DevIDPCodesDir())
		wrote, err := ensureIdentityPolicy(ctx, l.StateDir)
		if err != nil {
			return err
		}
		step("identity", "%s: the development provider's keys, app origin %s", keptOrMade(!wrote, "in force", "proposed by BureauMSP, approved by "+supervisorMSP), operatorOrigin())
		started, err := l.ensureGateways(ctx, gb.hash, opts.GatewayEnv)
		if err != nil {
			return err
		}
		step("gateways", "%d started, %d running; demo clients and citizens in %s", started,
			len(Gateways())-started, filepath.Join(l.StateDir, "gateway"))
	}
	fmt.Fprintf(out, "up in %s\n\n", time.Since(start).Round(100*time.Millisecond))
	rep, err := Status(ctx, l)
	if err != nil {
		return err
	}
	rep.Print(out)
	return nil
}

// stampWriter prefixes every line written to it with the time elapsed
// since start, in the format of Up's progress lines.
type stampWriter struct {
	start time.Time
	w     io.Writer
}

// Write implements io.Writer.
func (s *stampWriter) Write(p []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line == "" {
			continue
		}
		if _, err := fmt.Fprintf(s.w, "%6.1fs  %-12s %s", time.Since(s.start).Seconds(), "", line); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// startNodes starts the given nodes in parallel (each waits for its health).
func (l Layout) startNodes(ctx context.Context, nodes []Node) error {
	return parallel(nodes, func(n Node) error {
		_, err := l.start(ctx, l.nodeProc(n))
		return err
	})
}

// countTrue runs fn for every node in parallel and counts the true results.
func countTrue(nodes []Node, fn func(Node) (bool, error)) (int, error) {
	res := make([]bool, len(nodes))
	err := parallel(indexes(len(nodes)), func(i int) error {
		var err error
		res[i], err = fn(nodes[i])
		return err
	})
	n := 0
	for _, r := range res {
		if r {
			n++
		}
	}
	return n, err
}

func keptOrMade(made bool, yes, no string) string {
	if made {
		return yes
	}
	return no
}

// checkBuilder verifies that the external builder's scripts are executable.
func checkBuilder(l Layout) error {
	for _, s := range []string{"detect", "build", "release"} {
		p := filepath.Join(l.BuilderDir(), "bin", s)
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("external builder: %w", err)
		}
		if fi.Mode()&0o111 == 0 {
			return fmt.Errorf("external builder: %s is not executable (chmod +x)", p)
		}
	}
	return nil
}

// Down stops every process by its recorded pid (gateways, identity
// provider, chaincode, peers, then orderers), keeping all state: `up`
// resumes the same ledger.
func Down(ctx context.Context, l Layout, out io.Writer) error {
	if out == nil {
		out = io.Discard
	}
	if !exists(l.StateDir) {
		fmt.Fprintf(out, "nothing to stop: %s does not exist\n", l.StateDir)
		return nil
	}
	unlock, err := LockFile(ctx, filepath.Join(l.StateDir, ".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	return l.stopAll(out)
}

// stopAll stops the gateways, then the development identity provider,
// then the chaincode, then the peers, then the orderers.
func (l Layout) stopAll(out io.Writer) error {
	t := DefaultTopology()
	procs := l.allProcs(t)
	tiers := [][]proc{{}, {}, {}, {}, {}}
	for _, p := range procs {
		switch p.Kind {
		case KindGateway:
			tiers[0] = append(tiers[0], p)
		case KindIdentityProvider:
			tiers[1] = append(tiers[1], p)
		case KindChaincode:
			tiers[2] = append(tiers[2], p)
		case KindPeer:
			tiers[3] = append(tiers[3], p)
		default:
			tiers[4] = append(tiers[4], p)
		}
	}
	var errs []error
	for _, tier := range tiers {
		errs = append(errs, parallel(tier, func(p proc) error {
			stopped, err := l.stop(p)
			if stopped {
				fmt.Fprintf(out, "stopped %s\n", p.Name)
			}
			return err
		}))
	}
	return errors.Join(errs...)
}

// Clean stops every process and deletes the state directory. The cache of
// Fabric binaries is kept.
func Clean(ctx context.Context, l Layout, out io.Writer) error {
	if out == nil {
		out = io.Discard
	}
	if !exists(l.StateDir) {
		fmt.Fprintf(out, "nothing to clean: %s does not exist\n", l.StateDir)
		return nil
	}
	if err := checkStateDir(l); err != nil {
		return err
	}
	unlock, err := LockFile(ctx, filepath.Join(l.StateDir, ".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	if err := l.stopAll(out); err != nil {
		return err
	}
	if err := os.RemoveAll(l.StateDir); err != nil {
		return fmt.Errorf("remove state directory: %w", err)
	}
	fmt.Fprintf(out, "removed %s\n", l.StateDir)
	return nil
}

// checkStateDir refuses to delete a directory that is not a network's
// state directory (a mistyped QUANCHAIN_HOME must not wipe a home).
func checkStateDir(l Layout) error {
	home, _ := os.UserHomeDir()
	for _, bad := range []string{"/", l.RepoRoot, home} {
		if bad != "" && filepath.Clean(l.StateDir) == filepath.Clean(bad) {
			return fmt.Errorf("refusing to delete %s: not a state directory", l.StateDir)
		}
	}
	entries, err := os.ReadDir(l.StateDir)
	if err != nil {
		return fmt.Errorf("read state directory: %w", err)
	}
	if len(entries) == 0 {
		return nil
	}
	for _, marker := range []string{"network.json", "crypto", "run", "logs", "config"} {
		if exists(filepath.Join(l.StateDir, marker)) {
			return nil
		}
	}
	return fmt.Errorf("refusing to delete %s: it does not look like a quanchain state directory", l.StateDir)
}
