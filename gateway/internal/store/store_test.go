package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The suite: every test below (and in safe_test.go) runs on SQLite and on
// PostgreSQL through eachBackend; see backends_test.go.

var ctx = context.Background()

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn      string
		driver   string
		wantPath string // SQLite path before the query, or the DSN for pgx
		wantErr  bool
	}{
		{dsn: "postgres://u@h:5432/db?sslmode=disable", driver: "pgx", wantPath: "postgres://u@h:5432/db?sslmode=disable"},
		{dsn: "postgresql://u@h/db", driver: "pgx", wantPath: "postgresql://u@h/db"},
		{dsn: "sqlite:///var/lib/qc/gateway.db", driver: "sqlite", wantPath: "/var/lib/qc/gateway.db"},
		{dsn: "sqlite://:memory:", driver: "sqlite", wantPath: ":memory:"},
		{dsn: "sqlite:relative.db", driver: "sqlite", wantPath: "relative.db"},
		{dsn: "/tmp/gateway.db", driver: "sqlite", wantPath: "/tmp/gateway.db"},
		{dsn: "mysql://u@h/db", wantErr: true},
		{dsn: "", wantErr: true},
		{dsn: "sqlite://", wantErr: true},
		{dsn: "sqlite:///tmp/x.db?mode=ro", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.dsn, func(t *testing.T) {
			driver, source, _, err := parseDSN(tt.dsn)
			if tt.wantErr {
				require.ErrorIs(t, err, ErrInvalidArgument)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.driver, driver)
			if driver == "sqlite" {
				assert.Contains(t, source, tt.wantPath+"?")
				assert.Contains(t, source, "foreign_keys")
			} else {
				assert.Equal(t, tt.wantPath, source)
			}
		})
	}
}

func TestOpenMemory(t *testing.T) {
	s := openTest(t, "sqlite://:memory:")
	_, err := s.CreateClient(ctx, Client{ID: "c1", OrgMSP: "BankMSP"}, "0123456789abcdef")
	require.NoError(t, err)
	// One connection: the in-memory database is the same on every call.
	_, err = s.GetClient(ctx, "c1")
	require.NoError(t, err)
	assert.Equal(t, "sqlite", s.Backend())
}

func TestMigrationsIdempotent(t *testing.T) {
	eachBackendDSN(t, func(t *testing.T, dsn string) {
		// Concurrent first opens: exactly one applies the migrations.
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := Open(ctx, dsn)
				if err == nil {
					s.Close()
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}

		s1 := openTest(t, dsn)
		v1, err := s1.SchemaVersion(ctx)
		require.NoError(t, err)
		want, err := migrations(s1.d)
		require.NoError(t, err)
		assert.Equal(t, want[len(want)-1].version, v1)
		_, err = s1.CreateClient(ctx, Client{ID: "kept", OrgMSP: "BankMSP"}, "0123456789abcdef")
		require.NoError(t, err)
		require.NoError(t, s1.Close())

		s2 := openTest(t, dsn) // again: nothing to apply, data kept
		v2, err := s2.SchemaVersion(ctx)
		require.NoError(t, err)
		assert.Equal(t, v1, v2)
		_, err = s2.GetClient(ctx, "kept")
		require.NoError(t, err)

		// A changed migration is refused.
		_, err = s2.db.ExecContext(ctx, `UPDATE schema_migrations SET checksum = 'x' WHERE version = 1`)
		require.NoError(t, err)
		_, err = Open(ctx, dsn)
		require.ErrorContains(t, err, "changed after it was applied")
	})
}

func TestMigrationNames(t *testing.T) {
	tests := []struct {
		file    string
		version int
		name    string
		variant string
		wantErr bool
	}{
		{file: "0001_schema.sqlite.sql", version: 1, name: "schema", variant: "sqlite"},
		{file: "0002_indexes.sql", version: 2, name: "indexes"},
		{file: "0003_x.postgres.sql", version: 3, name: "x", variant: "postgres"},
		{file: "0003_x.mysql.sql", wantErr: true},
		{file: "3_x.sql", wantErr: true},
		{file: "0000_x.sql", wantErr: true},
		{file: "abcd_x.sql", wantErr: true},
	}
	for _, tt := range tests {
		v, n, variant, err := parseMigrationName(tt.file)
		if tt.wantErr {
			assert.Error(t, err, tt.file)
			continue
		}
		require.NoError(t, err, tt.file)
		assert.Equal(t, []any{tt.version, tt.name, tt.variant}, []any{v, n, variant}, tt.file)
	}
	// Every version has a shared file or a file for each dialect.
	sq, err := migrations(sqliteDialect)
	require.NoError(t, err)
	pgm, err := migrations(postgresDialect)
	require.NoError(t, err)
	require.Equal(t, len(sq), len(pgm))
	for i := range sq {
		assert.Equal(t, sq[i].version, pgm[i].version)
	}
}

func TestClients(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		const secret = "correct horse battery staple"
		c, err := s.CreateClient(ctx, Client{ID: "bank-app", OrgMSP: "BankMSP", Scopes: []string{"authorizations", "data"}}, secret)
		require.NoError(t, err)
		_, err = s.CreateClient(ctx, Client{ID: "bank-app", OrgMSP: "BankMSP"}, secret)
		require.ErrorIs(t, err, ErrExists)
		_, err = s.CreateClient(ctx, Client{ID: "short", OrgMSP: "BankMSP"}, "short")
		require.ErrorIs(t, err, ErrInvalidArgument)

		got, err := s.GetClient(ctx, "bank-app")
		require.NoError(t, err)
		assert.Equal(t, c, got)
		assert.Equal(t, time.UTC, got.CreatedAt.Location())

		tests := []struct {
			name, id, secret string
			wantErr          error
		}{
			{"right secret", "bank-app", secret, nil},
			{"wrong secret", "bank-app", secret + "!", ErrInvalidCredentials},
			{"empty secret", "bank-app", "", ErrInvalidCredentials},
			{"unknown client", "nobody", secret, ErrInvalidCredentials},
		}
		for _, tt := range tests {
			got, err := s.VerifyClientSecret(ctx, tt.id, tt.secret)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr, tt.name)
				continue
			}
			require.NoError(t, err, tt.name)
			assert.Equal(t, []string{"authorizations", "data"}, got.Scopes)
		}

		require.NoError(t, s.SetClientDisabled(ctx, "bank-app", true))
		_, err = s.VerifyClientSecret(ctx, "bank-app", secret)
		assert.ErrorIs(t, err, ErrInvalidCredentials, "disabled client")
		assert.ErrorIs(t, s.SetClientDisabled(ctx, "nobody", true), ErrNotFound)
		_, err = s.GetClient(ctx, "nobody")
		assert.ErrorIs(t, err, ErrNotFound)
	})
}

func TestIdempotency(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		// N concurrent requests with one key: exactly one starts.
		const n = 16
		var started atomic.Int32
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rec, ok, err := s.BeginIdempotent(ctx, "c1", "key-1", "h1")
				switch {
				case ok:
					started.Add(1)
				case errors.Is(err, ErrIdempotencyInFlight):
					assert.Equal(t, IdemPending, rec.Status)
				default:
					t.Errorf("BeginIdempotent: rec %v, started %v, err %v", rec, ok, err)
				}
			}()
		}
		wg.Wait()
		require.EqualValues(t, 1, started.Load())

		_, _, err := s.BeginIdempotent(ctx, "c1", "key-1", "other")
		require.ErrorIs(t, err, ErrIdempotencyMismatch)

		require.NoError(t, s.CompleteIdempotent(ctx, "c1", "key-1", 201, []byte(`{"id":"a1"}`)))
		require.ErrorIs(t, s.CompleteIdempotent(ctx, "c1", "key-1", 201, nil), ErrNotFound)
		rec, ok, err := s.BeginIdempotent(ctx, "c1", "key-1", "h1")
		require.NoError(t, err)
		require.False(t, ok)
		assert.Equal(t, IdemDone, rec.Status)
		assert.Equal(t, 201, rec.ResponseStatus)
		assert.Equal(t, `{"id":"a1"}`, string(rec.ResponseBody))
		assert.False(t, rec.CompletedAt.IsZero())
		_, _, err = s.BeginIdempotent(ctx, "c1", "key-1", "other")
		require.ErrorIs(t, err, ErrIdempotencyMismatch)

		// The same key of another principal is another key.
		_, ok, err = s.BeginIdempotent(ctx, "c2", "key-1", "other")
		require.NoError(t, err)
		require.True(t, ok)

		// A released key can start again.
		require.NoError(t, s.ReleaseIdempotent(ctx, "c2", "key-1"))
		_, ok, err = s.BeginIdempotent(ctx, "c2", "key-1", "h2")
		require.NoError(t, err)
		require.True(t, ok)

		// A pending key older than PendingTimeout is taken over once.
		base := time.Now()
		s.now = func() time.Time { return base.Add(PendingTimeout + time.Second) }
		_, ok, err = s.BeginIdempotent(ctx, "c2", "key-1", "h2")
		require.NoError(t, err)
		require.True(t, ok, "stale pending key is taken over")
		_, ok, err = s.BeginIdempotent(ctx, "c2", "key-1", "h2")
		require.ErrorIs(t, err, ErrIdempotencyInFlight)
		require.False(t, ok)

		// With a shorter pending timeout (a gateway's request timeout and
		// a margin), a key is taken over sooner, but not before it.
		s.SetPendingTimeout(50 * time.Second)
		_, ok, err = s.BeginIdempotent(ctx, "c2", "key-2", "h2")
		require.NoError(t, err)
		require.True(t, ok)
		s.now = func() time.Time { return base.Add(PendingTimeout + 49*time.Second) }
		_, _, err = s.BeginIdempotent(ctx, "c2", "key-2", "h2")
		require.ErrorIs(t, err, ErrIdempotencyInFlight, "taken over before its pending timeout")
		s.now = func() time.Time { return base.Add(PendingTimeout + 52*time.Second) }
		_, ok, err = s.BeginIdempotent(ctx, "c2", "key-2", "h2")
		require.NoError(t, err)
		require.True(t, ok, "pending key past the shorter timeout is taken over")
		s.now = func() time.Time { return base.Add(PendingTimeout + time.Second) }

		n2, err := s.PurgeIdempotency(ctx, base.Add(time.Hour))
		require.NoError(t, err)
		assert.EqualValues(t, 3, n2)

		_, _, err = s.BeginIdempotent(ctx, "c1", "", "h")
		require.ErrorIs(t, err, ErrInvalidArgument)
	})
}

func TestCursor(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		_, ok, err := s.GetCursor(ctx, "events")
		require.NoError(t, err)
		require.False(t, ok)
		for _, b := range []uint64{0, 7, 1 << 40} {
			require.NoError(t, s.SetCursor(ctx, "events", b))
			got, ok, err := s.GetCursor(ctx, "events")
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, b, got)
		}
		require.ErrorIs(t, s.SetCursor(ctx, "events", 1<<63), ErrInvalidArgument)
	})
}

// TestSQLiteFileIsPrivate: the database holds the digital safe, so a new
// file is readable by its owner only.
func TestSQLiteFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.db")
	s, err := Open(context.Background(), "sqlite://"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Fatalf("database file mode %o, want 600", mode)
	}
}
