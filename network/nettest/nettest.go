// Package nettest gives integration tests a real, running quanchain
// network. Start brings the network up through the same code as
// `quanchain-net up` (resuming or reusing what is already there, in the
// state directory QUANCHAIN_HOME or <repo>/.quanchain); Stop takes down
// what Start brought up, once the last test process using it is done.
//
// Typical use, one per integration test package:
//
//	var testNet *nettest.Network
//
//	func TestMain(m *testing.M) {
//		os.Exit(nettest.Main(m, "integration", func(n *nettest.Network) { testNet = n }))
//	}
package nettest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/quanchain/quanchain/ledger/fabconn"
	"github.com/quanchain/quanchain/network/fabnet"
)

// Network is a running network used by one test process.
type Network struct {
	layout fabnet.Layout
	lease  string

	mu    sync.Mutex
	conns map[string]*fabconn.Connection
}

// Orgs returns the MSP IDs of the peer organisations.
func Orgs() []string { return []string{"BureauMSP", "BankMSP", "InsurerMSP", "AuditMSP"} }

// Start returns the network in the default state directory, running: it
// calls fabnet.Up, which leaves running processes alone, starts what is
// stopped, deploys the current chaincode (restarting the service if its
// binary changed) and waits until transactions can be endorsed. If Start
// had to start any process, the network is taken down again by the Stop of
// the last test process that uses it.
func Start(ctx context.Context) (*Network, error) {
	l, err := fabnet.DefaultLayout()
	if err != nil {
		return nil, err
	}
	n := &Network{layout: l, conns: map[string]*fabconn.Connection{}}
	unlock, err := n.lockLeases(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	before, err := fabnet.Status(ctx, l)
	if err != nil {
		return nil, err
	}
	var log bytes.Buffer
	if err := fabnet.Up(ctx, l, fabnet.Options{Out: &log}); err != nil {
		err = fmt.Errorf("bring the test network up: %w\n%s", err, lastLines(log.String(), 40))
		if !allRunning(before) { // leave no half-started network behind
			err = errors.Join(err, fabnet.Down(context.WithoutCancel(ctx), l, nil))
		}
		return nil, err
	}
	if !allRunning(before) {
		// We started it: whoever stops last takes it down.
		if err := os.WriteFile(n.startedMarker(), nil, 0o644); err != nil {
			return nil, fmt.Errorf("record harness start: %w", err)
		}
	}
	n.lease = filepath.Join(l.RunDir(), fmt.Sprintf("nettest-%d.lease", os.Getpid()))
	if err := os.WriteFile(n.lease, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, fmt.Errorf("record harness lease: %w", err)
	}
	return n, nil
}

// Kill crashes one process of the network (SIGKILL to its process group).
func (n *Network) Kill(name string) error {
	return fabnet.Kill(n.layout, name, syscall.SIGKILL)
}

// Up starts whatever is not running (after Kill, say) and waits until the
// network serves again: every orderer at the Raft leader's height and
// every organisation able to get endorsements.
func (n *Network) Up(ctx context.Context) error { return n.UpWith(ctx, nil) }

// UpWith is Up with extra QC_… settings for every gateway (restarting the
// gateways if their settings change); Up restores the defaults.
func (n *Network) UpWith(ctx context.Context, gatewayEnv []string) error {
	var log bytes.Buffer
	if err := fabnet.Up(ctx, n.layout, fabnet.Options{Out: &log, GatewayEnv: gatewayEnv}); err != nil {
		return fmt.Errorf("%w\n%s", err, lastLines(log.String(), 40))
	}
	return nil
}

// Down stops every process of the network, keeping its state (`make
// down`); connections opened through the harness are closed first.
func (n *Network) Down(ctx context.Context) error {
	n.mu.Lock()
	for k, c := range n.conns {
		_ = c.Close()
		delete(n.conns, k)
	}
	n.mu.Unlock()
	return fabnet.Down(ctx, n.layout, nil)
}

// Orderers reports every orderer's channel membership, height and Raft
// leadership.
func (n *Network) Orderers(ctx context.Context) []fabnet.OrdererState {
	return fabnet.OrdererStates(ctx, n.layout)
}

// Main is an integration test package's TestMain body: it starts (or
// reuses) the network, hands it to the package through use, runs the tests
// and stops what it started. name prefixes its messages.
//
//	func TestMain(m *testing.M) { os.Exit(nettest.Main(m, "integration", func(n *nettest.Network) { testNet = n })) }
func Main(m interface{ Run() int }, name string, use func(*Network)) int {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	n, err := Start(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		return 1
	}
	use(n)
	code := m.Run()
	if err := n.Stop(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, name+": stop network:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// StateDir is the network's state directory.
func (n *Network) StateDir() string { return n.layout.StateDir }

// Layout is the network's directory layout.
func (n *Network) Layout() fabnet.Layout { return n.layout }

// Connection returns a gateway connection as the organisation's User1,
// opened on first use and closed by Stop.
func (n *Network) Connection(ctx context.Context, org string) (*fabconn.Connection, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	key := strings.ToLower(org)
	if c, ok := n.conns[key]; ok {
		return c, nil
	}
	c, err := fabconn.Connect(ctx, n.layout.StateDir, org)
	if err != nil {
		return nil, err
	}
	n.conns[key] = c
	return c, nil
}

// Contract returns the quanchain chaincode as seen by an organisation
// (MSP ID or short name): transaction names are qualified by contract, as
// in "registry:GetConfig".
func (n *Network) Contract(org string) (*client.Contract, error) {
	c, err := n.Connection(context.Background(), org)
	if err != nil {
		return nil, err
	}
	return c.Contract(""), nil
}

// Height returns the channel height on an organisation's peer.
func (n *Network) Height(ctx context.Context, org string) (uint64, error) {
	c, err := n.Connection(ctx, org)
	if err != nil {
		return 0, err
	}
	info, err := c.ChainInfo(ctx)
	if err != nil {
		return 0, err
	}
	return info.GetHeight(), nil
}

// Status reports every process's state and health and each peer's height.
func (n *Network) Status(ctx context.Context) (*fabnet.Report, error) {
	return fabnet.Status(ctx, n.layout)
}

// Stop closes the connections and releases this process's lease; if the
// harness started the network and no other test process still holds a
// lease, it stops every process (state is kept, so the next run resumes).
func (n *Network) Stop(ctx context.Context) error {
	n.mu.Lock()
	var errs []error
	for k, c := range n.conns {
		errs = append(errs, c.Close())
		delete(n.conns, k)
	}
	n.mu.Unlock()
	unlock, err := n.lockLeases(ctx)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	defer unlock()
	if err := os.Remove(n.lease); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("release harness lease: %w", err))
	}
	if others, err := n.liveLeases(); err != nil || others > 0 || !exists(n.startedMarker()) {
		return errors.Join(append(errs, err)...)
	}
	errs = append(errs, fabnet.Down(ctx, n.layout, nil))
	if err := os.Remove(n.startedMarker()); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("remove harness marker: %w", err))
	}
	return errors.Join(errs...)
}

func (n *Network) startedMarker() string {
	return filepath.Join(n.layout.RunDir(), "nettest-started")
}

// lockLeases serialises harness bookkeeping across test processes.
func (n *Network) lockLeases(ctx context.Context) (func(), error) {
	return fabnet.LockFile(ctx, filepath.Join(n.layout.RunDir(), "nettest.lock"))
}

// liveLeases counts the leases of other live test processes, removing
// those of processes that died without Stop.
func (n *Network) liveLeases() (int, error) {
	leases, err := filepath.Glob(filepath.Join(n.layout.RunDir(), "nettest-*.lease"))
	if err != nil {
		return 0, fmt.Errorf("list leases: %w", err)
	}
	live := 0
	for _, lf := range leases {
		b, err := os.ReadFile(lf)
		pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
		if err == nil && perr == nil && pid != os.Getpid() && syscall.Kill(pid, 0) == nil {
			live++
			continue
		}
		_ = os.Remove(lf)
	}
	return live, nil
}

func allRunning(r *fabnet.Report) bool {
	for _, p := range r.Processes {
		if !p.Running {
			return false
		}
	}
	return len(r.Processes) > 0
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
