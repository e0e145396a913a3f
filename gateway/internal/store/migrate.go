package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Migrations are numbered SQL files in migrations/, applied in number order:
//
//	NNNN_name.sql            one file for both backends, or
//	NNNN_name.sqlite.sql     a pair of files, one per backend, where the
//	NNNN_name.postgres.sql   statements differ (column types, mostly)
//
// A version has either the shared file or both backend files. Applied
// versions are recorded in schema_migrations with the SHA-256 of the file
// that was run; a migration is never edited once released, and Open refuses
// a database whose recorded checksum differs from the embedded file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockKey is the PostgreSQL advisory lock that serialises gateways
// migrating the same database at once ("quanchain" in ASCII, truncated).
const migrationLockKey int64 = 0x7175616e636861

type migration struct {
	version  int
	name     string
	sql      string
	checksum string
}

// migrations returns the migrations of dialect d in version order.
func migrations(d dialect) ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	byVersion := map[int]migration{}
	for _, e := range entries {
		version, name, variant, err := parseMigrationName(e.Name())
		if err != nil {
			return nil, err
		}
		if variant != "" && variant != d.String() {
			continue
		}
		body, err := fs.ReadFile(migrationFiles, "migrations/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", e.Name(), err)
		}
		if prev, dup := byVersion[version]; dup {
			return nil, fmt.Errorf("store: migrations %s and %s share version %d", prev.name, name, version)
		}
		sum := sha256.Sum256(body)
		byVersion[version] = migration{version: version, name: name, sql: string(body), checksum: hex.EncodeToString(sum[:])}
	}
	list := make([]migration, 0, len(byVersion))
	for _, m := range byVersion {
		list = append(list, m)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].version < list[j].version })
	return list, nil
}

// parseMigrationName splits "0001_schema.sqlite.sql" into 1, "schema" and
// "sqlite"; the variant is empty for a shared file.
func parseMigrationName(file string) (version int, name, variant string, err error) {
	base, ok := strings.CutSuffix(file, ".sql")
	num, rest, ok2 := strings.Cut(base, "_")
	if !ok || !ok2 || len(num) != 4 {
		return 0, "", "", fmt.Errorf("store: migration file %q is not named NNNN_name[.dialect].sql", file)
	}
	version, err = strconv.Atoi(num)
	if err != nil || version < 1 {
		return 0, "", "", fmt.Errorf("store: migration file %q has no positive version", file)
	}
	name = rest
	if n, v, found := strings.Cut(rest, "."); found {
		if v != sqliteDialect.String() && v != postgresDialect.String() {
			return 0, "", "", fmt.Errorf("store: migration file %q names unknown dialect %q", file, v)
		}
		name, variant = n, v
	}
	return version, name, variant, nil
}

// migrate applies the pending migrations in one transaction, so a failed
// migration leaves the schema as it was. On PostgreSQL an advisory lock
// held to the end of the transaction keeps concurrent gateways from
// migrating together; on SQLite the transaction is immediate (it takes the
// write lock at BEGIN), which does the same.
func (s *Store) migrate(ctx context.Context) error {
	list, err := migrations(s.d)
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if s.d == postgresDialect {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER NOT NULL PRIMARY KEY,
			name       TEXT    NOT NULL,
			checksum   TEXT    NOT NULL,
			applied_at TEXT    NOT NULL)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		applied, err := appliedMigrations(ctx, tx)
		if err != nil {
			return err
		}
		for _, m := range list {
			if sum, ok := applied[m.version]; ok {
				if sum != m.checksum {
					return fmt.Errorf("migration %04d_%s was changed after it was applied", m.version, m.name)
				}
				continue
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("apply %04d_%s: %w", m.version, m.name, err)
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)`,
				m.version, m.name, m.checksum, s.now().UTC().Format(sqliteTimeLayout)); err != nil {
				return fmt.Errorf("record %04d_%s: %w", m.version, m.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", s.d, err)
	}
	return nil
}

func appliedMigrations(ctx context.Context, tx *sql.Tx) (map[int]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT version, checksum FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := map[int]string{}
	for rows.Next() {
		var v int
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, err
		}
		applied[v] = sum
	}
	return applied, rows.Err()
}

// SchemaVersion returns the highest applied migration version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return int(v.Int64), nil
}
