package integration

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/network/fabnet"
)

// TestFaultPostgresRestart runs a bank gateway on PostgreSQL and restarts
// the PostgreSQL server under it: while the server is down the gateway is
// not ready and refuses work with a 5xx, never a partial write; once the
// server is back the gateway serves again without a restart of its own,
// and the idempotency key of a request made before the restart still
// replays it.
func TestFaultPostgresRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ver := postgresVersion(t)
	db := "qc_fault_" + strings.ReplaceAll(runID, "-", "_")
	psql(t, "CREATE DATABASE "+db)
	t.Cleanup(func() { psql(t, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)") })

	const listen = "127.0.0.1:7181"
	base := "http://" + listen
	data := t.TempDir()
	env := append(os.Environ(), "QC_ORG=BankMSP", "QC_ROLES=requester", "QC_LISTEN="+listen,
		"QC_STATE_DIR="+testNet.StateDir(), "QC_DATA_DIR="+data, "QC_DEV=true",
		"QC_STORE_DSN=postgres://postgres@127.0.0.1:5432/"+db+"?sslmode=disable",
		"QC_OPERATOR_URL=https://"+fabnet.OperatorPeerListen)
	bin := testNet.Layout().GatewayBinary()
	useBankKey(t, data)
	setup := exec.CommandContext(ctx, bin, "setup", "--citizens=0")
	setup.Env, setup.Dir = env, data
	if out, err := setup.CombinedOutput(); err != nil {
		t.Fatalf("gateway setup: %v\n%s", err, out)
	}
	logf, err := os.Create(filepath.Join(data, "gateway.log"))
	if err != nil {
		t.Fatal(err)
	}
	gw := exec.Command(bin)
	gw.Env, gw.Dir, gw.Stdout, gw.Stderr = env, data, logf, logf
	if err := gw.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = gw.Process.Signal(os.Interrupt)
		_ = gw.Wait()
		logf.Close()
	})
	if code, _ := ready(base, http.StatusOK, 60*time.Second); code != http.StatusOK {
		b, _ := os.ReadFile(filepath.Join(data, "gateway.log"))
		t.Fatalf("the PostgreSQL gateway is not ready: %d\n%s", code, b)
	}
	bank := institutionAt(t, base, data)
	people := demoCitizens(t)
	validUntil := time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)
	body := func(n int) map[string]any {
		return map[string]any{"citizen_id": people[35].IDNumber, "purpose": "CREDIT_ASSESSMENT", "categories": []string{"tax"},
			"data_from": "2025-11-01", "data_to": "2026-10-31", "max_uses": 1, "reference": fmt.Sprintf("FAULT-PG-%d-%s", n, runID),
			"valid_until": validUntil}
	}
	var first model.Authorization
	bank.must("POST", "/v1/authorizations", body(0), &first, http.StatusCreated, "Idempotency-Key", id("fault-pg-0"))

	restarted := make(chan error, 1)
	go func() {
		out, err := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", ver, "main", "restart", "-m", "fast").CombinedOutput()
		if err != nil {
			err = fmt.Errorf("%w: %s", err, out)
		}
		restarted <- err
	}()
	start := time.Now()
	statuses := map[int]int{}
	for n := 1; ; n++ {
		code, raw := bank.call("POST", "/v1/authorizations", body(n), nil, "Idempotency-Key", id(fmt.Sprintf("fault-pg-%d", n)))
		statuses[code]++
		if code != http.StatusCreated && code < 500 {
			t.Fatalf("during the restart: %d %s", code, raw)
		}
		if code == http.StatusCreated && len(restarted) == 1 {
			break
		}
		if time.Since(start) > 90*time.Second {
			t.Fatalf("no success within 90 s of the restart: %v", statuses)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := <-restarted; err != nil {
		t.Fatalf("restart PostgreSQL: %v", err)
	}
	if code, took := ready(base, http.StatusOK, 30*time.Second); code != http.StatusOK {
		t.Fatalf("/readyz after the restart: %d after %s", code, took)
	}
	var replay model.Authorization
	bank.must("POST", "/v1/authorizations", body(0), &replay, http.StatusCreated, "Idempotency-Key", id("fault-pg-0"))
	if replay.ID != first.ID {
		t.Fatalf("replay after the restart created %s, first was %s", replay.ID, first.ID)
	}
	codes := make([]string, 0, len(statuses))
	for c, n := range statuses {
		codes = append(codes, fmt.Sprintf("%d×%d", n, c))
	}
	sort.Strings(codes)
	t.Logf("PostgreSQL restarted under the gateway: answers %v; serving again %s after the restart began",
		codes, time.Since(start).Round(100*time.Millisecond))
}

// useBankKey gives a second gateway of the bank the bank's
// data-encryption key: the ledger holds one key per organisation, which
// every gateway of the organisation must share (a gateway registers its
// key at start, so one with a key of its own would take the deliveries
// away from the others).
func useBankKey(t *testing.T, dataDir string) {
	t.Helper()
	key, err := os.ReadFile(filepath.Join(testNet.StateDir(), "gateway", "bank", "encryption-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "encryption-key.pem"), key, 0o600); err != nil {
		t.Fatal(err)
	}
}

// postgresVersion is the version of the local PostgreSQL cluster.
func postgresVersion(t *testing.T) string {
	t.Helper()
	entries, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(entries) == 0 {
		t.Fatalf("no local PostgreSQL cluster: %v", err)
	}
	return entries[len(entries)-1].Name()
}

// psql runs one statement as postgres on the local server.
func psql(t *testing.T, sql string) {
	t.Helper()
	if out, err := exec.Command("psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql).CombinedOutput(); err != nil {
		t.Fatalf("psql %q: %v\n%s", sql, err, out)
	}
}
