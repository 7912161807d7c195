// Package store keeps the fleet's crash buckets in SQLite (embedded) or
// PostgreSQL through database/sql: one code path, one schema and its
// numbered migrations. The dialects differ only in placeholders, the
// auto-numbered key's type and the lock that serialises migrations; both take
// the same INSERT … ON CONFLICT upserts.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	// The two drivers, registered as "pgx" and "sqlite".
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// ErrNotFound is returned for a bucket the store does not hold.
var ErrNotFound = errors.New("not found")

// DefaultSampleCap is how many raw samples a bucket keeps; its counters go
// on counting past it.
const DefaultSampleCap = 10

// dialect is all that differs between the databases.
type dialect struct {
	name     string
	driver   string
	autoID   string
	blob     string // the type of a column of bytes
	numbered bool   // $1, $2 … rather than ?
	lock     string // run first in the migration transaction
}

var (
	sqliteDialect = dialect{
		name:   "sqlite",
		driver: "sqlite",
		autoID: "INTEGER PRIMARY KEY",
		blob:   "BLOB",
	}
	postgresDialect = dialect{
		name:     "postgres",
		driver:   "pgx",
		autoID:   "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
		blob:     "BYTEA",
		numbered: true,
		// Two servers starting at once must not both apply a migration.
		lock: "SELECT pg_advisory_xact_lock(7318149020)",
	}
)

// Store is an open fleet database.
type Store struct {
	db *sql.DB
	d  dialect
	// SampleCap bounds the raw samples kept per bucket (DefaultSampleCap).
	SampleCap int
}

// Open connects to url: "sqlite:PATH" (the file is created) or
// "postgres://…" / "postgresql://…" (a pgx connection string), and applies
// the migrations the database lacks.
func Open(ctx context.Context, url string) (*Store, error) {
	var (
		d   dialect
		dsn string
	)
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		d = sqliteDialect
		path := strings.TrimPrefix(url, "sqlite:")
		path = strings.TrimPrefix(path, "//")
		if path == "" {
			return nil, fmt.Errorf("database %q: sqlite needs a file path", url)
		}
		// WAL with synchronous=FULL: a committed ingest survives power
		// loss; immediate transactions take the write lock up front, so two
		// writers wait (busy_timeout) instead of failing on an upgrade.
		dsn = path + "?_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate"
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		d = postgresDialect
		dsn = url
	default:
		return nil, fmt.Errorf("database %q: want sqlite:PATH or postgres://…", url)
	}
	db, err := sql.Open(d.driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("opening %s database: %w", d.name, err)
	}
	s := &Store{db: db, d: d, SampleCap: DefaultSampleCap}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to %s database: %w", d.name, err)
	}
	if err := s.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// DB is the database, for what shares its transactions (the job queue,
// whose jobs are enqueued in the transaction that stores their upload).
func (s *Store) DB() *sql.DB { return s.db }

// Dialect names the database: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// q rewrites a query written with ? placeholders for the dialect.
func (s *Store) q(query string) string {
	if !s.d.numbered {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// Migration is one numbered schema step and its undoing.
type Migration struct {
	Version  int
	Name     string
	Up, Down string
}

// Migrations lists the embedded migrations in order, as the dialect runs
// them: migrations/NNN_name.up.sql, each with its NNN_name.down.sql.
func (s *Store) Migrations() ([]Migration, error) {
	ents, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("reading embedded migrations: %w", err)
	}
	byVersion := map[int]*Migration{}
	for _, e := range ents {
		base, dir, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), ".")
		num, name, ok2 := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || !ok2 || err != nil || (dir != "up" && dir != "down") {
			return nil, fmt.Errorf("embedded migration %s: name is not NNN_name.up.sql or NNN_name.down.sql", e.Name())
		}
		b, err := migrationFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("reading embedded migration %s: %w", e.Name(), err)
		}
		m := byVersion[v]
		if m == nil {
			m = &Migration{Version: v, Name: name}
			byVersion[v] = m
		}
		text := strings.NewReplacer("{{id}}", s.d.autoID, "{{blob}}", s.d.blob).Replace(string(b))
		if dir == "up" {
			m.Up = text
		} else {
			m.Down = text
		}
	}
	var ms []Migration
	for _, m := range byVersion {
		if m.Up == "" || m.Down == "" {
			return nil, fmt.Errorf("embedded migration %03d_%s lacks its up or down file", m.Version, m.Name)
		}
		ms = append(ms, *m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// MigrationLock holds, until unlock, the lock the store's own migrations
// take, for another schema kept in the same database (the job queue's,
// whose migrations run in transactions of their own) that must not be
// migrated by two processes at once. On PostgreSQL it is a session
// advisory lock on a connection of its own; SQLite, one machine's file,
// takes none.
func (s *Store) MigrationLock(ctx context.Context) (unlock func(), err error) {
	if s.d.name != "postgres" {
		return func() {}, nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("locking for migration: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(7318149020)"); err != nil {
		conn.Close()
		return nil, fmt.Errorf("locking for migration: %w", err)
	}
	return func() {
		conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(7318149020)")
		conn.Close()
	}, nil
}

// Migrate applies, in one transaction, the migrations the database has not
// recorded in schema_migrations.
func (s *Store) Migrate(ctx context.Context) error { return s.migrate(ctx, -1) }

// MigrateDown undoes, in one transaction, the applied migrations above
// version to (0 undoes them all).
func (s *Store) MigrateDown(ctx context.Context, to int) error {
	if to < 0 {
		return fmt.Errorf("migrating down to version %d", to)
	}
	return s.migrate(ctx, to)
}

// migrate applies every missing migration (down < 0), or undoes those
// above version down.
func (s *Store) migrate(ctx context.Context, down int) error {
	ms, err := s.Migrations()
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	defer tx.Rollback()
	if s.d.lock != "" {
		if _, err := tx.ExecContext(ctx, s.d.lock); err != nil {
			return fmt.Errorf("locking for migration: %w", err)
		}
	}
	applied := map[int]bool{}
	rows, err := tx.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("reading schema_migrations: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("reading schema_migrations: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading schema_migrations: %w", err)
	}
	if down >= 0 {
		for i := len(ms) - 1; i >= 0; i-- {
			m := ms[i]
			if m.Version <= down || !applied[m.Version] {
				continue
			}
			for _, stmt := range statements(m.Down) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("undoing migration %03d_%s on %s: %w", m.Version, m.Name, s.d.name, err)
				}
			}
			if _, err := tx.ExecContext(ctx, s.q("DELETE FROM schema_migrations WHERE version = ?"), m.Version); err != nil {
				return fmt.Errorf("unrecording migration %03d_%s: %w", m.Version, m.Name, err)
			}
		}
	} else {
		for _, m := range ms {
			if applied[m.Version] {
				continue
			}
			for _, stmt := range statements(m.Up) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("migration %03d_%s on %s: %w", m.Version, m.Name, s.d.name, err)
				}
			}
			if _, err := tx.ExecContext(ctx, s.q("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
				m.Version, m.Name, time.Now().Unix()); err != nil {
				return fmt.Errorf("recording migration %03d_%s: %w", m.Version, m.Name, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing migrations: %w", err)
	}
	return nil
}

// Version is the highest migration the database has applied.
func (s *Store) Version(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("reading schema version: %w", err)
	}
	return int(v.Int64), nil
}

// statements splits a migration at the semicolons that end lines, dropping
// comment-only pieces (the migrations keep semicolons out of comments).
func statements(src string) []string {
	var out []string
	for _, part := range strings.Split(src, ";\n") {
		code := false
		for _, line := range strings.Split(part, "\n") {
			l := strings.TrimSpace(line)
			if l != "" && !strings.HasPrefix(l, "--") {
				code = true
				break
			}
		}
		if code {
			out = append(out, strings.TrimSpace(part))
		}
	}
	return out
}
