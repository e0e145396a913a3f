package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/synth"
	"github.com/quanchain/quanchain/gateway/internal/vault"
	"github.com/quanchain/quanchain/ledger"
	"github.com/quanchain/quanchain/ledger/fabconn"
)

// DemoClient is an API client that setup creates for the demo; its secret
// is kept only in the gateway's data directory (mode 0600).
type DemoClient struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	Org          string   `json:"org"`
	Scopes       []string `json:"scopes"`
	// RedirectURIs are the return URLs of consent links (the app client's:
	// DemoReturnURL).
	RedirectURIs []string `json:"redirect_uris,omitempty"`
}

// DemoReturnURL is the demo app client's registered return URL for consent
// links: a loopback address, as development allows.
const DemoReturnURL = "http://127.0.0.1:7999/consent-return"

// Demo files in the gateway's data directory.
const (
	demoClientsFile  = "demo-clients.json"
	demoCitizensFile = "demo-citizens.jsonl"
	demoPersonasFile = "demo-personas.jsonl"
)

// runSetup prepares a gateway's data directory for the demo, idempotently:
// the store and its schema, the token signing key, demo API clients, and
// for the provider role a synthetic digital safe imported and anchored on
// the ledger. The gateway's settings come from QC_… variables, as for the
// server; setup's own flags say how large the demo data set is.
func runSetup(ctx context.Context, args, env []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("quanchain-gateway setup", flag.ContinueOnError)
	fs.SetOutput(stdout)
	citizens := fs.Int("citizens", 50, "synthetic citizens in the provider's demo data set (0: none)")
	seed := fs.Int64("seed", 20261128, "seed of the synthetic data set")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(nil, env, stdout)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	if _, err := auth.LoadOrCreateSigningKey(cfg.JWTKeyFile); err != nil {
		return err
	}
	if cfg.PseudonymKeyFile != "" {
		if err := ensureSecretFile(cfg.PseudonymKeyFile, 32); err != nil {
			return err
		}
	}
	st, err := store.Open(ctx, cfg.StoreDSN)
	if err != nil {
		return fmt.Errorf("open the store: %w", err)
	}
	defer st.Close()

	conn, err := fabconn.Connect(ctx, cfg.StateDir, cfg.Org)
	if err != nil {
		return fmt.Errorf("connect to the ledger: %w", err)
	}
	defer conn.Close()
	clients, err := ensureDemoClients(ctx, st, cfg, conn.Org.MSPID)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo clients: %d in %s\n", len(clients), filepath.Join(cfg.DataDir, demoClientsFile))
	if !cfg.HasRole(config.RoleProvider) || *citizens == 0 {
		return nil
	}
	res, err := seedSafe(ctx, st, cfg, ledger.FromConnection(conn), *citizens, *seed)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "digital safe: %d records imported now, %d batches anchored now (citizens in %s)\n",
		res.Inserted, res.Anchored, filepath.Join(cfg.DataDir, demoCitizensFile))
	return nil
}

// ensureDemoClients creates the demo API clients once and returns them.
func ensureDemoClients(ctx context.Context, st *store.Store, cfg *config.Config, msp string) ([]DemoClient, error) {
	path := filepath.Join(cfg.DataDir, demoClientsFile)
	if b, err := os.ReadFile(path); err == nil {
		var have []DemoClient
		if err := json.Unmarshal(b, &have); err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		return have, nil
	}
	short := strings.ToLower(strings.TrimSuffix(msp, "MSP"))
	var want []DemoClient
	if cfg.HasRole(config.RoleRequester) {
		want = append(want, DemoClient{ClientID: short + "-app", Org: msp, Scopes: []string{"institution"}, RedirectURIs: []string{DemoReturnURL}})
	}
	// Every gateway has an admin API: the operator's registers clients and
	// imports datasets, a requester's retries its webhook deliveries.
	want = append(want, DemoClient{ClientID: short + "-admin", Org: msp, Scopes: []string{"institution", "admin"}})
	for i := range want {
		secret := make([]byte, 24)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		want[i].ClientSecret = base64.RawURLEncoding.EncodeToString(secret)
		_, err := st.CreateClient(ctx, store.Client{ID: want[i].ClientID, OrgMSP: msp, Scopes: want[i].Scopes,
			RedirectURIs: want[i].RedirectURIs}, want[i].ClientSecret)
		if err != nil {
			return nil, fmt.Errorf("create demo client %s: %w", want[i].ClientID, err)
		}
	}
	b, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return want, nil
}

// seedSafe imports the synthetic demo data set into the digital safe and
// anchors its batches; a second run imports nothing and anchors only what
// an interrupted run left.
func seedSafe(ctx context.Context, st *store.Store, cfg *config.Config, l *ledger.Ledger, n int, seed int64) (vault.ImportResult, error) {
	var total vault.ImportResult
	ps, err := operatorPseudonymiser(cfg)
	if err != nil {
		return total, err
	}
	// The random population, and the named test personas whose records
	// cover every category (docs/personas.md), each listed in a file of
	// its own: demo-citizens.jsonl stays the population alone.
	population, personas := synth.Citizens(seed, n), synth.PersonaCitizens()
	for _, f := range []struct {
		name   string
		people []synth.Citizen
	}{{demoCitizensFile, population}, {demoPersonasFile, personas}} {
		var cz bytes.Buffer
		if err := synth.WriteCitizensJSONL(&cz, f.people); err != nil {
			return total, err
		}
		if err := os.WriteFile(filepath.Join(cfg.DataDir, f.name), cz.Bytes(), 0o600); err != nil {
			return total, fmt.Errorf("write demo citizens: %w", err)
		}
	}
	people := append(population, personas...)
	im := &vault.Importer{Store: st, Pseudonymiser: ps, Anchorer: ledger.BatchAnchorer{Ledger: l}}
	to := time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC)
	from := to.AddDate(-2, 0, 1)
	for _, cat := range synth.Categories() {
		recs, err := synth.Records(seed, people, []string{cat}, from, to)
		if err != nil {
			return total, err
		}
		var buf bytes.Buffer
		if _, err := synth.WriteJSONL(&buf, recs); err != nil {
			return total, err
		}
		res, err := im.Import(ctx, cat, &buf)
		if err != nil {
			return total, fmt.Errorf("import %s: %w", cat, err)
		}
		total.Lines += res.Lines
		total.Inserted += res.Inserted
		total.Anchored += res.Anchored
	}
	anchored, err := im.AnchorPending(ctx)
	total.Anchored += anchored
	return total, err
}

// ensureSecretFile creates a file of n random bytes (mode 0600) unless it
// exists.
func ensureSecretFile(path string, n int) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}
