// Package cmdutil is what qc's commands share: the Factory that gives them
// the streams, the global flags, the ledger (opened on first use) and the
// clients of the operator's gateway; the errors that decide qc's exit
// status (UsageError, NotFoundError, FailedCheckError), which package root
// maps to codes in one place; --json and --format output, tables and CSV;
// and the arguments several commands take: citizens, digests and time
// ranges.
package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/quanchain/quanchain/ledger"
	"github.com/quanchain/quanchain/ledger/fabconn"
)

// DefaultProfile is the organisation qc connects as unless --profile says
// otherwise: the auditor, reading from its own peer.
const DefaultProfile = "audit"

// Factory gives commands what they share: the streams, the global flags and
// the ledger client, opened on first use so that commands which never touch
// the ledger (help, docs) never connect.
type Factory struct {
	IOStreams *IOStreams

	// StateDir and Profile are the global --state-dir and --profile flags.
	StateDir string
	Profile  string
	// OperatorURL is --operator: the operator gateway's mutual-TLS address
	// (empty: the local network's).
	OperatorURL string

	// NetworkProfile returns the network's connection profile and the
	// organisation selected by --profile.
	NetworkProfile func() (*fabconn.Profile, *fabconn.OrgProfile, error)
	// Ledger returns the ledger as the selected organisation's peer
	// answers it.
	Ledger func(ctx context.Context) (*Ledger, error)

	mu      sync.Mutex
	closers []func() error
}

// NewFactory returns a factory that reads the profile from the state
// directory and connects through the selected organisation's peer with that
// organisation's own client identity.
func NewFactory(ios *IOStreams) *Factory {
	f := &Factory{IOStreams: ios, Profile: DefaultProfile}
	var (
		profOnce sync.Once
		prof     *fabconn.Profile
		org      *fabconn.OrgProfile
		profErr  error
	)
	f.NetworkProfile = func() (*fabconn.Profile, *fabconn.OrgProfile, error) {
		profOnce.Do(func() { prof, org, profErr = loadProfile(f.StateDir, f.Profile) })
		return prof, org, profErr
	}
	var (
		connMu sync.Mutex
		lc     *Ledger
	)
	f.Ledger = func(ctx context.Context) (*Ledger, error) {
		connMu.Lock()
		defer connMu.Unlock()
		if lc != nil {
			return lc, nil
		}
		_, org, err := f.NetworkProfile()
		if err != nil {
			return nil, err
		}
		dir, err := ResolveStateDir(f.StateDir)
		if err != nil {
			return nil, err
		}
		conn, err := fabconn.Connect(ctx, dir, org.MSPID)
		if err != nil {
			return nil, fmt.Errorf("%w\n(is the network running? `make up` starts it)", err)
		}
		f.AddCloser(conn.Close)
		lc = NewLedger(conn, conn.Channel, conn.Chaincode, conn.Org.MSPID)
		lc.Writer = ledger.New(conn.Contract(""), conn.Network(), conn.Chaincode, conn.Org.MSPID)
		return lc, nil
	}
	return f
}

// AddCloser registers something to close when the command is done.
func (f *Factory) AddCloser(c func() error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closers = append(f.closers, c)
}

// Close closes whatever the command opened.
func (f *Factory) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []error
	for i := len(f.closers) - 1; i >= 0; i-- {
		errs = append(errs, f.closers[i]())
	}
	f.closers = nil
	return errors.Join(errs...)
}

// ResolveStateDir returns the network's state directory: the flag's value,
// else $QUANCHAIN_HOME, else <repository>/.quanchain, where the network
// tool keeps it (fabconn.StateDir).
func ResolveStateDir(flag string) (string, error) {
	dir, err := fabconn.StateDir(flag)
	if err != nil {
		return "", fmt.Errorf("%w, or pass --state-dir", err)
	}
	return dir, nil
}

func loadProfile(stateFlag, name string) (*fabconn.Profile, *fabconn.OrgProfile, error) {
	dir, err := ResolveStateDir(stateFlag)
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, fabconn.ProfileFile)); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("no network profile found in %s: run `make up` first, or point --state-dir (or %s) at the network's state directory",
			dir, fabconn.EnvHome)
	}
	prof, err := fabconn.LoadProfile(dir)
	if err != nil {
		return nil, nil, err
	}
	org, err := prof.Org(name)
	if err != nil {
		return nil, nil, &UsageError{Err: fmt.Errorf("--profile %q: %w (known: %s)", name, err, orgNames(prof))}
	}
	return prof, org, nil
}

func orgNames(p *fabconn.Profile) string {
	s := ""
	for i, o := range p.Orgs {
		if i > 0 {
			s += ", "
		}
		s += o.Name + " (" + o.MSPID + ")"
	}
	return s
}
