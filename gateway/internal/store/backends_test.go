package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The store test suite runs every test against SQLite (always) and
// PostgreSQL (when it answers). QUANCHAIN_TEST_PG names the PostgreSQL
// server; the run creates its own database qc_test_<random> there, gives
// each test a fresh schema in it, and drops the database at the end.

const defaultTestPG = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// pg describes the PostgreSQL server of this test run.
var pg struct {
	dsn string // the test database; "" if unavailable
	err error  // why PostgreSQL is unavailable
	at  string // the server, with any password redacted
}

func TestMain(m *testing.M) {
	cleanup := setupPostgres()
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// setupPostgres creates the run's database, or records why it cannot.
func setupPostgres() (cleanup func()) {
	admin := os.Getenv("QUANCHAIN_TEST_PG")
	if admin == "" {
		admin = defaultTestPG
	}
	u, err := url.Parse(admin)
	if err != nil {
		pg.err = fmt.Errorf("QUANCHAIN_TEST_PG is not a URL")
		return func() {}
	}
	pg.at = u.Redacted()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", admin)
	if err == nil {
		err = db.PingContext(ctx)
	}
	if err != nil {
		pg.err = err
		if db != nil {
			db.Close()
		}
		return func() {}
	}
	name := "qc_test_" + randomHex(6)
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		pg.err = fmt.Errorf("create test database: %w", err)
		db.Close()
		return func() {}
	}
	u.Path = "/" + name
	pg.dsn = u.String()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			fmt.Fprintf(os.Stderr, "store tests: drop database %s: %v\n", name, err)
		}
		db.Close()
	}
}

// TestPostgresAvailableInCI fails in CI (CI set) when PostgreSQL does not
// answer, so that CI cannot pass by skipping the PostgreSQL half of the
// suite.
func TestPostgresAvailableInCI(t *testing.T) {
	if pg.dsn != "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but PostgreSQL at %s is unavailable: %v", pg.at, pg.err)
	}
	t.Skipf("PostgreSQL at %s is unavailable (%v); not in CI", pg.at, pg.err)
}

// backend is a database the suite runs on.
type backend struct {
	name string
	// dsn returns the DSN of a fresh, empty database, which the test may
	// open several times.
	dsn func(t *testing.T) string
}

var backends = []backend{
	{name: "sqlite", dsn: sqliteDSN},
	{name: "postgres", dsn: postgresDSN},
}

func sqliteDSN(t *testing.T) string {
	return "sqlite://" + filepath.Join(t.TempDir(), "gateway.db")
}

// postgresDSN creates a schema for the test in the run's database and
// returns a DSN whose search_path selects it.
func postgresDSN(t *testing.T) string {
	if pg.dsn == "" {
		t.Skipf("PostgreSQL at %s is unavailable (%v): set QUANCHAIN_TEST_PG to a reachable server to run these tests", pg.at, pg.err)
	}
	schema := "t_" + randomHex(6)
	db, err := sql.Open("pgx", pg.dsn)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := db.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema: %v", err)
		}
		db.Close()
	})
	u, _ := url.Parse(pg.dsn)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// eachBackend runs test once per backend, as parallel subtests, each with a
// fresh store.
func eachBackend(t *testing.T, test func(t *testing.T, s *Store)) {
	t.Helper()
	eachBackendDSN(t, func(t *testing.T, dsn string) { test(t, openTest(t, dsn)) })
}

// eachBackendDSN runs test once per backend with the DSN of a fresh
// database, for tests that open it themselves.
func eachBackendDSN(t *testing.T, test func(t *testing.T, dsn string)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			test(t, b.dsn(t))
		})
	}
}

func openTest(t *testing.T, dsn string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
