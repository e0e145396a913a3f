package notify

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

// The outbox tests run on SQLite (always) and on PostgreSQL when it
// answers, as the store's own suite does: QUANCHAIN_TEST_PG names the
// server (default postgres://postgres@127.0.0.1:5432/postgres); the run
// creates a database of its own there, a schema per test in it, and drops
// the database at the end. In CI (CI set) an unreachable server fails the
// run instead of skipping the PostgreSQL half.

var pg struct {
	dsn string // the run's database; "" if unavailable
	err error
}

func TestMain(m *testing.M) {
	cleanup := setupPostgres()
	code := m.Run()
	cleanup()
	os.Exit(code)
}

func setupPostgres() (cleanup func()) {
	admin := os.Getenv("QUANCHAIN_TEST_PG")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	u, err := url.Parse(admin)
	if err != nil {
		pg.err = fmt.Errorf("QUANCHAIN_TEST_PG is not a URL")
		return func() {}
	}
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
	name := "qc_notify_test_" + randomHex(6)
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
			fmt.Fprintf(os.Stderr, "notify tests: drop database %s: %v\n", name, err)
		}
		db.Close()
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// eachBackend runs test once per backend, as parallel subtests, with the
// DSN of a fresh, empty database.
func eachBackend(t *testing.T, test func(t *testing.T, dsn string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		test(t, "sqlite://"+filepath.Join(t.TempDir(), "gateway.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		if pg.dsn == "" {
			if os.Getenv("CI") != "" {
				t.Fatalf("CI is set but PostgreSQL is unavailable: %v", pg.err)
			}
			t.Skipf("PostgreSQL is unavailable (%v): set QUANCHAIN_TEST_PG to a reachable server", pg.err)
		}
		test(t, postgresSchema(t))
	})
}

// postgresSchema creates a schema for the test in the run's database and
// returns a DSN whose search_path selects it.
func postgresSchema(t *testing.T) string {
	schema := "t_" + randomHex(6)
	db, err := sql.Open("pgx", pg.dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(context.Background(), `CREATE SCHEMA `+schema); err != nil {
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
