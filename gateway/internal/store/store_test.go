package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
				if !errors.Is(err, ErrInvalidArgument) {
					t.Fatalf("parseDSN: %v, want %v", err, ErrInvalidArgument)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseDSN: %v", err)
			}
			if driver != tt.driver {
				t.Errorf("driver = %v, want %v", driver, tt.driver)
			}
			if driver == "sqlite" {
				if !strings.Contains(source, tt.wantPath+"?") || !strings.Contains(source, "foreign_keys") {
					t.Errorf("source %q, want %s? with foreign_keys", source, tt.wantPath)
				}
			} else {
				if source != tt.wantPath {
					t.Errorf("source = %v, want %v", source, tt.wantPath)
				}
			}
		})
	}
}

func TestOpenMemory(t *testing.T) {
	s := openTest(t, "sqlite://:memory:")
	_, err := s.CreateClient(ctx, Client{ID: "c1", OrgMSP: "BankMSP"}, "0123456789abcdef")
	if err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	// One connection: the in-memory database is the same on every call.
	_, err = s.GetClient(ctx, "c1")
	if err != nil {
		t.Fatalf("GetClient: %v", err)
	}
	if got := s.Backend(); got != "sqlite" {
		t.Errorf("s.Backend() = %q, want %q", got, "sqlite")
	}
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
			if err != nil {
				t.Fatal(err)
			}
		}

		s1 := openTest(t, dsn)
		v1, err := s1.SchemaVersion(ctx)
		if err != nil {
			t.Fatalf("SchemaVersion: %v", err)
		}
		want, err := migrations(s1.d)
		if err != nil {
			t.Fatalf("migrations: %v", err)
		}
		if got, want := v1, want[len(want)-1].version; got != want {
			t.Errorf("v1 = %v, want %v", got, want)
		}
		_, err = s1.CreateClient(ctx, Client{ID: "kept", OrgMSP: "BankMSP"}, "0123456789abcdef")
		if err != nil {
			t.Fatalf("CreateClient: %v", err)
		}
		if err := s1.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}

		s2 := openTest(t, dsn) // again: nothing to apply, data kept
		v2, err := s2.SchemaVersion(ctx)
		if err != nil {
			t.Fatalf("SchemaVersion: %v", err)
		}
		if v2 != v1 {
			t.Errorf("v2 = %v, want %v", v2, v1)
		}
		_, err = s2.GetClient(ctx, "kept")
		if err != nil {
			t.Fatalf("GetClient: %v", err)
		}

		// A changed migration is refused.
		_, err = s2.db.ExecContext(ctx, `UPDATE schema_migrations SET checksum = 'x' WHERE version = 1`)
		if err != nil {
			t.Fatalf("ExecContext: %v", err)
		}
		_, err = Open(ctx, dsn)
		if err == nil || !strings.Contains(err.Error(), "changed after it was applied") {
			t.Fatalf("Open: %v, want an error containing %q", err, "changed after it was applied")
		}
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
			if err == nil {
				t.Errorf("parseMigrationName(%q): got no error", tt.file)
			}
			continue
		}
		if err != nil {
			t.Fatalf("parseMigrationName(%q): %v", tt.file, err)
		}
		if v != tt.version || n != tt.name || variant != tt.variant {
			t.Errorf("parseMigrationName(%q) = %d, %q, %q, want %d, %q, %q", tt.file, v, n, variant,
				tt.version, tt.name, tt.variant)
		}
	}
	// Every version has a shared file or a file for each dialect.
	sq, err := migrations(sqliteDialect)
	if err != nil {
		t.Fatalf("migrations: %v", err)
	}
	pgm, err := migrations(postgresDialect)
	if err != nil {
		t.Fatalf("migrations: %v", err)
	}
	if got, want := len(pgm), len(sq); got != want {
		t.Fatalf("len(pgm) = %v, want %v", got, want)
	}
	for i := range sq {
		if pgm[i].version != sq[i].version {
			t.Errorf("pgm[i].version = %v, want %v", pgm[i].version, sq[i].version)
		}
	}
}

func TestClients(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		const secret = "correct horse battery staple"
		c, err := s.CreateClient(ctx, Client{ID: "bank-app", OrgMSP: "BankMSP", Scopes: []string{"authorizations", "data"}}, secret)
		if err != nil {
			t.Fatalf("CreateClient: %v", err)
		}
		_, err = s.CreateClient(ctx, Client{ID: "bank-app", OrgMSP: "BankMSP"}, secret)
		if !errors.Is(err, ErrExists) {
			t.Fatalf("CreateClient: %v, want %v", err, ErrExists)
		}
		_, err = s.CreateClient(ctx, Client{ID: "short", OrgMSP: "BankMSP"}, "short")
		if !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("CreateClient: %v, want %v", err, ErrInvalidArgument)
		}
		for _, bad := range []string{"http://bank.example/back", "https://bank.example/back#frag", "https://user@bank.example/", "javascript:alert(1)", "/relative"} {
			_, err = s.CreateClient(ctx, Client{ID: "bad-uri", OrgMSP: "BankMSP", RedirectURIs: []string{bad}}, secret)
			if !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("CreateClient(redirect %q): %v, want %v", bad, err, ErrInvalidArgument)
			}
		}
		uris := []string{"https://app.bank.example/loan/back", "http://127.0.0.1:8080/cb"}
		withURIs, err := s.CreateClient(ctx, Client{ID: "bank-web", OrgMSP: "BankMSP", Scopes: []string{}, RedirectURIs: uris}, secret)
		if err != nil {
			t.Fatalf("CreateClient(redirect URIs): %v", err)
		}
		if got, err := s.GetClient(ctx, "bank-web"); err != nil || !reflect.DeepEqual(got.RedirectURIs, uris) || !reflect.DeepEqual(got, withURIs) {
			t.Errorf("GetClient(bank-web) = %+v, %v; want redirect URIs %q", got, err, uris)
		}

		got, err := s.GetClient(ctx, "bank-app")
		if err != nil {
			t.Fatalf("GetClient: %v", err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("got = %+v, want %+v", got, c)
		}
		if got := got.CreatedAt.Location(); got != time.UTC {
			t.Errorf("got.CreatedAt.Location() = %v, want %v", got, time.UTC)
		}

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
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("%s: %v, want %v", tt.name, err, tt.wantErr)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if !slices.Equal(got.Scopes, []string{"authorizations", "data"}) {
				t.Errorf("got.Scopes = %v, want %v", got.Scopes, []string{"authorizations", "data"})
			}
		}

		if err := s.SetClientDisabled(ctx, "bank-app", true); err != nil {
			t.Fatalf("SetClientDisabled: %v", err)
		}
		_, err = s.VerifyClientSecret(ctx, "bank-app", secret)
		if !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("disabled client: %v, want %v", err, ErrInvalidCredentials)
		}
		if err := s.SetClientDisabled(ctx, "nobody", true); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetClientDisabled: %v, want %v", err, ErrNotFound)
		}
		_, err = s.GetClient(ctx, "nobody")
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("GetClient: %v, want %v", err, ErrNotFound)
		}
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
					if rec.Status != IdemPending {
						t.Errorf("rec.Status = %v, want %v", rec.Status, IdemPending)
					}
				default:
					t.Errorf("BeginIdempotent: rec %v, started %v, err %v", rec, ok, err)
				}
			}()
		}
		wg.Wait()
		if got := started.Load(); got != 1 {
			t.Fatalf("started.Load() = %v, want %v", got, 1)
		}

		_, _, err := s.BeginIdempotent(ctx, "c1", "key-1", "other")
		if !errors.Is(err, ErrIdempotencyMismatch) {
			t.Fatalf("BeginIdempotent: %v, want %v", err, ErrIdempotencyMismatch)
		}

		if err := s.CompleteIdempotent(ctx, "c1", "key-1", 201, []byte(`{"id":"a1"}`)); err != nil {
			t.Fatalf("CompleteIdempotent: %v", err)
		}
		if err := s.CompleteIdempotent(ctx, "c1", "key-1", 201, nil); !errors.Is(err, ErrNotFound) {
			t.Fatalf("CompleteIdempotent: %v, want %v", err, ErrNotFound)
		}
		rec, ok, err := s.BeginIdempotent(ctx, "c1", "key-1", "h1")
		if err != nil {
			t.Fatalf("BeginIdempotent: %v", err)
		}
		if ok {
			t.Fatal("BeginIdempotent: ok = true, want false")
		}
		if rec.Status != IdemDone {
			t.Errorf("rec.Status = %v, want %v", rec.Status, IdemDone)
		}
		if rec.ResponseStatus != 201 {
			t.Errorf("rec.ResponseStatus = %v, want %v", rec.ResponseStatus, 201)
		}
		if got := string(rec.ResponseBody); got != `{"id":"a1"}` {
			t.Errorf("string(rec.ResponseBody) = %v, want %v", got, `{"id":"a1"}`)
		}
		if rec.CompletedAt.IsZero() {
			t.Error("rec.CompletedAt.IsZero() = true, want false")
		}
		_, _, err = s.BeginIdempotent(ctx, "c1", "key-1", "other")
		if !errors.Is(err, ErrIdempotencyMismatch) {
			t.Fatalf("BeginIdempotent: %v, want %v", err, ErrIdempotencyMismatch)
		}

		// The same key of another principal is another key.
		_, ok, err = s.BeginIdempotent(ctx, "c2", "key-1", "other")
		if err != nil {
			t.Fatalf("BeginIdempotent: %v", err)
		}
		if !ok {
			t.Fatal("BeginIdempotent: ok = false, want true")
		}

		// A released key can start again.
		if err := s.ReleaseIdempotent(ctx, "c2", "key-1"); err != nil {
			t.Fatalf("ReleaseIdempotent: %v", err)
		}
		_, ok, err = s.BeginIdempotent(ctx, "c2", "key-1", "h2")
		if err != nil {
			t.Fatalf("BeginIdempotent: %v", err)
		}
		if !ok {
			t.Fatal("BeginIdempotent: ok = false, want true")
		}

		// A pending key older than PendingTimeout is taken over once.
		base := time.Now()
		s.now = func() time.Time { return base.Add(PendingTimeout + time.Second) }
		_, ok, err = s.BeginIdempotent(ctx, "c2", "key-1", "h2")
		if err != nil {
			t.Fatalf("BeginIdempotent: %v", err)
		}
		if !ok {
			t.Fatal("a stale pending key was not taken over")
		}
		_, ok, err = s.BeginIdempotent(ctx, "c2", "key-1", "h2")
		if !errors.Is(err, ErrIdempotencyInFlight) {
			t.Fatalf("BeginIdempotent: %v, want %v", err, ErrIdempotencyInFlight)
		}
		if ok {
			t.Fatal("BeginIdempotent: ok = true, want false")
		}

		// With a shorter pending timeout (a gateway's request timeout and
		// a margin), a key is taken over sooner, but not before it.
		s.SetPendingTimeout(50 * time.Second)
		_, ok, err = s.BeginIdempotent(ctx, "c2", "key-2", "h2")
		if err != nil {
			t.Fatalf("BeginIdempotent: %v", err)
		}
		if !ok {
			t.Fatal("BeginIdempotent: ok = false, want true")
		}
		s.now = func() time.Time { return base.Add(PendingTimeout + 49*time.Second) }
		_, _, err = s.BeginIdempotent(ctx, "c2", "key-2", "h2")
		if !errors.Is(err, ErrIdempotencyInFlight) {
			t.Fatalf("taken over before its pending timeout: %v, want %v", err, ErrIdempotencyInFlight)
		}
		s.now = func() time.Time { return base.Add(PendingTimeout + 52*time.Second) }
		_, ok, err = s.BeginIdempotent(ctx, "c2", "key-2", "h2")
		if err != nil {
			t.Fatalf("BeginIdempotent: %v", err)
		}
		if !ok {
			t.Fatal("a pending key past the shorter timeout was not taken over")
		}
		s.now = func() time.Time { return base.Add(PendingTimeout + time.Second) }

		n2, err := s.PurgeIdempotency(ctx, base.Add(time.Hour))
		if err != nil {
			t.Fatalf("PurgeIdempotency: %v", err)
		}
		if n2 != 3 {
			t.Errorf("n2 = %v, want %v", n2, 3)
		}

		_, _, err = s.BeginIdempotent(ctx, "c1", "", "h")
		if !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("BeginIdempotent: %v, want %v", err, ErrInvalidArgument)
		}
	})
}

func TestCursor(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		_, ok, err := s.GetCursor(ctx, "events")
		if err != nil {
			t.Fatalf("GetCursor: %v", err)
		}
		if ok {
			t.Fatal("GetCursor: ok = true, want false")
		}
		for _, b := range []uint64{0, 7, 1 << 40} {
			if err := s.SetCursor(ctx, "events", b); err != nil {
				t.Fatalf("SetCursor: %v", err)
			}
			got, ok, err := s.GetCursor(ctx, "events")
			if err != nil {
				t.Fatalf("GetCursor: %v", err)
			}
			if !ok {
				t.Fatal("GetCursor: ok = false, want true")
			}
			if got != b {
				t.Errorf("got = %v, want %v", got, b)
			}
		}
		if err := s.SetCursor(ctx, "events", 1<<63); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("SetCursor: %v, want %v", err, ErrInvalidArgument)
		}
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

// TestSetMaxConns: PostgreSQL keeps as many connections idle as it opens,
// 20 unless set; SQLite keeps its single connection whatever is asked.
func TestSetMaxConns(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		want := 1
		if s.d == postgresDialect {
			want = DefaultMaxConns
		}
		if got := s.db.Stats().MaxOpenConnections; got != want {
			t.Fatalf("%d connections at most, want %d", got, want)
		}
		s.SetMaxConns(64)
		if s.d == postgresDialect {
			want = 64
		}
		if got := s.db.Stats().MaxOpenConnections; got != want {
			t.Fatalf("after SetMaxConns(64): %d connections at most, want %d", got, want)
		}
		// As many kept idle as open: a burst leaves them all open.
		ctx := t.Context()
		conns := make([]*sql.Conn, want)
		for i := range conns {
			c, err := s.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns[i] = c
		}
		for _, c := range conns {
			c.Close()
		}
		if st := s.db.Stats(); st.Idle != want || st.MaxIdleClosed != 0 {
			t.Fatalf("after a burst of %d: %d idle, %d closed for the idle limit", want, st.Idle, st.MaxIdleClosed)
		}
	})
}
