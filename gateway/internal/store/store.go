// Package store keeps the gateway's state: API clients, idempotency keys,
// webhooks and their outbox, the chaincode event cursor, the provider's
// digital safe (records, Merkle batches, delivery receipts), the pseudonym
// service's lookups and citizen login challenges.
//
// One code base serves two databases through database/sql: SQLite (the
// pure-Go modernc.org/sqlite driver, embedded, zero set-up) by default and
// PostgreSQL (pgx through its database/sql driver) in production. Both
// accept the same statements: positional parameters are written $1, $2, …
// (modernc binds $N to the N-th argument), upserts use INSERT … ON CONFLICT,
// and writes return rows with RETURNING. Where the databases differ — column
// types, row locking — the difference lives in the migrations and in the
// small dialect type below; the one exception is an import's bulk write,
// which uses PostgreSQL's COPY (safe_bulk.go).
//
// # Personal data
//
// No column holds personal data except the digital safe's record bodies,
// which are the provider's government data. Citizens appear only as their
// citizenRef (a keyed hash); error values never carry stored values.
//
// # Time
//
// Every timestamp is written in UTC with microsecond precision: timestamptz
// on PostgreSQL, fixed-width RFC 3339 text on SQLite (so that text order is
// time order). Times come from the Go side, never from database defaults, so
// both backends store the same values.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Errors returned by the store. Compare with [errors.Is]; none of them
// carries a stored value.
var (
	// ErrNotFound reports that the requested row does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrExists reports that a row with the same identity already exists.
	ErrExists = errors.New("store: already exists")
	// ErrInvalidArgument reports an argument the store refuses before
	// touching the database.
	ErrInvalidArgument = errors.New("store: invalid argument")
)

// dialect is what differs between the two databases in the statements the
// store runs. Column types differ too, but only in the migrations.
type dialect int

const (
	sqliteDialect dialect = iota + 1
	postgresDialect
)

func (d dialect) String() string {
	if d == postgresDialect {
		return "postgres"
	}
	return "sqlite"
}

// sqliteTimeLayout is fixed width (microseconds always written), so that
// SQLite compares times correctly as text.
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z"

// ts converts t to the value bound for a timestamp column: t in UTC,
// truncated to microseconds (PostgreSQL's precision), as time.Time for
// PostgreSQL and as fixed-width text for SQLite.
func (d dialect) ts(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if d == postgresDialect {
		return t
	}
	return t.Format(sqliteTimeLayout)
}

// lockSkipLocked ends a SELECT whose rows are about to be claimed. On
// PostgreSQL it locks them and skips rows other transactions hold, so
// concurrent claimers never take the same row. SQLite has a single writer:
// a claiming UPDATE is atomic on its own and needs no row locks.
func (d dialect) lockSkipLocked(table string) string {
	if d == postgresDialect {
		return " FOR UPDATE OF " + table + " SKIP LOCKED"
	}
	return ""
}

// timeValue scans a timestamp column written by [dialect.ts] on either
// backend; NULL scans as the zero time.
type timeValue struct{ t *time.Time }

func (v timeValue) Scan(src any) error {
	switch x := src.(type) {
	case nil:
		*v.t = time.Time{}
	case time.Time:
		*v.t = x.UTC()
	case string:
		return v.parse(x)
	case []byte:
		return v.parse(string(x))
	default:
		return fmt.Errorf("store: cannot scan %T as a time", src)
	}
	return nil
}

func (v timeValue) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("store: stored time is malformed: %w", err)
	}
	*v.t = t.UTC()
	return nil
}

// scanTime returns a destination for Rows.Scan that fills t.
func scanTime(t *time.Time) timeValue { return timeValue{t} }

// Store is the gateway's database. It is safe for concurrent use.
type Store struct {
	db *sql.DB
	d  dialect
	// now is the clock for the times the store writes itself; tests
	// replace it.
	now func() time.Time
	// pendingTimeout is when a pending idempotency key may be taken over
	// (SetPendingTimeout).
	pendingTimeout time.Duration
}

// Open connects to the database named by dsn and applies any pending
// migrations. dsn is one of
//
//	postgres://user@host:5432/db?sslmode=disable   (also postgresql://)
//	sqlite:///abs/path/gateway.db                  (sqlite: followed by a path)
//	sqlite://:memory:                              (a private in-memory database)
//	/abs/path/gateway.db                           (a plain file path)
//
// SQLite runs in WAL mode with a busy timeout, foreign keys enforced and
// immediate transactions, through a single connection: SQLite allows one
// writer at a time, and one connection turns lock contention inside the
// process into queueing instead of SQLITE_BUSY errors (readers are served
// from the same connection between writes, which suits a gateway's load).
func Open(ctx context.Context, dsn string) (*Store, error) {
	driver, source, d, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if err := createPrivate(d, source); err != nil {
		return nil, err
	}
	db, err := sql.Open(driver, source)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", d, err)
	}
	if d == sqliteDialect {
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0) // keep :memory: databases alive
		db.SetConnMaxIdleTime(0)
	}
	s := &Store{db: db, d: d, now: time.Now, pendingTimeout: PendingTimeout}
	if d == postgresDialect {
		s.SetMaxConns(DefaultMaxConns)
		db.SetConnMaxIdleTime(5 * time.Minute)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", d, err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// DefaultMaxConns is how many connections a store keeps open to
// PostgreSQL unless SetMaxConns says otherwise.
const DefaultMaxConns = 20

// SetMaxConns sets how many connections the store keeps open to
// PostgreSQL, busy or idle: as many idle as open, so that a burst of
// requests does not close connections the next burst opens again (a new
// PostgreSQL connection costs a process on the server and an
// authentication); an idle connection is closed after five minutes. A
// request beyond them waits for a connection. SQLite keeps its single
// connection (see Open); n < 1 changes nothing.
func (s *Store) SetMaxConns(n int) {
	if s.d != postgresDialect || n < 1 {
		return
	}
	s.db.SetMaxOpenConns(n)
	s.db.SetMaxIdleConns(n)
}

// parseDSN picks the driver for dsn and returns the driver's data source
// name. Errors do not repeat dsn, which may hold a password.
func parseDSN(dsn string) (driver, source string, d dialect, err error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		if _, err := url.Parse(dsn); err != nil {
			return "", "", 0, fmt.Errorf("%w: malformed PostgreSQL URL", ErrInvalidArgument)
		}
		return "pgx", dsn, postgresDialect, nil
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		path = strings.TrimPrefix(path, "//")
		return sqliteSource(path)
	case strings.Contains(dsn, "://"):
		return "", "", 0, fmt.Errorf("%w: unsupported database URL scheme (want postgres:// or sqlite://)", ErrInvalidArgument)
	default:
		return sqliteSource(dsn)
	}
}

// sqliteSource builds the modernc.org/sqlite data source for a file path or
// ":memory:". Pragmas run on every new connection.
func sqliteSource(path string) (string, string, dialect, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return "", "", 0, fmt.Errorf("%w: SQLite path must be non-empty and must not contain '?' or '#'", ErrInvalidArgument)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	// Statement journals (the undo of one statement that may fail halfway
	// through, such as a multi-row insert) in memory, not in temporary
	// files; and a page cache of up to 256 MiB (the default is 2 MiB), so
	// that a large transaction is not spilled to the WAL before it commits
	// and the indexes of a large safe stay in memory: importing 10^6
	// records took 110 s with 32 MiB, 77 s with 256 MiB (docs/benchmarks.md).
	// Pages are cached as they are read or written, so a small database
	// never uses the whole of it.
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", "cache_size(-262144)")
	if path != ":memory:" {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
	}
	q.Set("_txlock", "immediate")
	return "sqlite", path + "?" + q.Encode(), sqliteDialect, nil
}

// createPrivate creates a new SQLite database file readable by its owner
// only (it holds the digital safe); SQLite gives its -wal and -shm files the
// same permissions. An existing file is left as it is.
func createPrivate(d dialect, source string) error {
	path, _, _ := strings.Cut(source, "?")
	if d != sqliteDialect || path == ":memory:" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: create the database file: %w", err)
	}
	return f.Close()
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that the database answers (for readiness probes).
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Backend names the database in use: "sqlite" or "postgres".
func (s *Store) Backend() string { return s.d.String() }

// inTx runs fn in a transaction, committing if fn returns nil and rolling
// back otherwise.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// placeholders returns "$start, $start+1, …" with n parameters.
func placeholders(start, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", start+i)
	}
	return b.String()
}

// valuesList returns rows tuples of cols parameters each, numbered from
// start: "($1, $2), ($3, $4)" for start 1, 2 rows, 2 columns. Multi-row
// statements cut the per-statement cost of bulk writes.
func valuesList(start, rows, cols int) string {
	var b strings.Builder
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		b.WriteString(placeholders(start+r*cols, cols))
		b.WriteByte(')')
	}
	return b.String()
}

// bulkRows is how many rows one multi-row statement writes. Far below the
// databases' parameter limits (32766 for SQLite, 65535 for PostgreSQL):
// SQLite and its driver look numbered parameters up linearly, so a
// statement's binding cost grows with the square of its parameters, and
// about 50 rows is where fewer statements stop paying off.
const bulkRows = 50

// affectedOne maps a result that should have changed exactly one row: no
// row is ErrNotFound.
func affectedOne(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
