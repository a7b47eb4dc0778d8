// Package sqlstoretest opens throwaway stores for tests, on SQLite (a temp
// file) and PostgreSQL (a fresh schema per test), so one suite runs on both.
//
// PostgreSQL comes from ROSTER_TEST_POSTGRES_URL. Unset, the PostgreSQL
// variant is skipped, except with CI=true where it fails; set but
// unreachable, it fails.
package sqlstoretest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/roster-app/roster/internal/ci"
	"github.com/roster-app/roster/sqlstore"
)

// Engine names, as Store.Dialect returns them.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// PostgresURLEnv names the variable holding the test PostgreSQL URL.
const PostgresURLEnv = "ROSTER_TEST_POSTGRES_URL"

// Engines returns the engines every store test runs on. PostgreSQL is
// always listed; Open skips or fails it as the environment says.
func Engines(tb testing.TB) []string {
	tb.Helper()
	return []string{SQLite, Postgres}
}

// Clock is a fake clock for Config.Clock that moves only when told.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t.UTC()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t.UTC()
	c.mu.Unlock()
}

// Start is where every test clock starts.
var Start = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

// PostgresURL returns the test PostgreSQL URL, skipping tb when it is unset
// (failing it on CI).
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(PostgresURLEnv)
	if u == "" {
		ci.Missing(tb, "PostgreSQL: set %s=postgres://… to run the PostgreSQL half", PostgresURLEnv)
	}
	return u
}

// Open returns a migrated store on engine, with a fake clock at Start,
// removed when the test ends.
func Open(tb testing.TB, engine string) *sqlstore.Store {
	tb.Helper()
	s, _ := OpenClock(tb, engine)
	return s
}

// OpenClock is Open that also returns the store's fake clock.
func OpenClock(tb testing.TB, engine string) (*sqlstore.Store, *Clock) {
	tb.Helper()
	clock := NewClock(Start)
	cfg := sqlstore.Config{Clock: clock.Now, Logger: slog.New(slog.DiscardHandler)}
	switch engine {
	case SQLite:
		cfg.DataDir = tb.TempDir()
		db, err := migratedSQLite()
		if err != nil {
			tb.Fatalf("migrated SQLite database: %v", err)
		}
		if err := os.WriteFile(sqlstore.SQLitePath(cfg.DataDir), db, 0o600); err != nil {
			tb.Fatal(err)
		}
	case Postgres:
		cfg.DatabaseURL = freshSchema(tb)
	default:
		tb.Fatalf("unknown engine %q", engine)
	}
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		tb.Fatalf("open %s store: %v", engine, err)
	}
	tb.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		tb.Fatalf("migrate %s store: %v", engine, err)
	}
	return s, clock
}

// migratedSQLite returns a migrated, empty SQLite database file, made once
// per test process: every SQLite store of a test starts as a copy of it,
// and Migrate then finds nothing to do. Running the migrations for each
// store cost a test seconds under -race (the workflow cases open hundreds
// of stores).
var migratedSQLite = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "roster-sqlite-migrated-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Config{DataDir: dir, Clock: NewClock(Start).Now,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	// A backup is one self-contained file, with nothing left in a WAL.
	file := filepath.Join(dir, "migrated.db")
	if _, err := sqlstore.BackupSQLite(ctx, dir, file); err != nil {
		return nil, err
	}
	return os.ReadFile(file)
})

var trgmOnce sync.Once

// freshSchema creates schema rt_<random> and returns a URL whose
// search_path starts with it; the schema is dropped at cleanup.
func freshSchema(tb testing.TB) string {
	tb.Helper()
	base := PostgresURL(tb)
	db, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("open PostgreSQL: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		tb.Fatalf("PostgreSQL at %s is unreachable: %v", PostgresURLEnv, err)
	}
	// pg_trgm lives in public, once per database: a migration running in a
	// test schema must find it rather than create it there. Another test
	// process may create it at the same moment; that is fine.
	trgmOnce.Do(func() {
		if _, err := db.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public`); err != nil {
			var n int
			if db.QueryRowContext(ctx, `SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'`).Scan(&n); n == 0 {
				tb.Logf("create pg_trgm: %v", err)
			}
		}
	})
	b := make([]byte, 6)
	rand.Read(b)
	schema := "rt_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		db.Close()
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			tb.Logf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("parse %s: %v", PostgresURLEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	return u.String()
}

// ForEachEngine runs fn as a subtest on each engine with a fresh store.
func ForEachEngine(t *testing.T, fn func(t *testing.T, s *sqlstore.Store)) {
	t.Helper()
	ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, _ *Clock) { fn(t, s) })
}

// ForEachEngineClock is ForEachEngine that also passes the store's clock.
// The engines run in parallel.
func ForEachEngineClock(t *testing.T, fn func(t *testing.T, s *sqlstore.Store, c *Clock)) {
	t.Helper()
	for _, e := range Engines(t) {
		t.Run(e, func(t *testing.T) {
			t.Parallel()
			s, c := OpenClock(t, e)
			fn(t, s, c)
		})
	}
}

// EmptyPostgres returns the URL of a fresh, empty PostgreSQL schema (first
// in its search_path; pg_trgm is available from public), dropped when the
// test ends: for tests of tools that migrate or fill a database themselves.
func EmptyPostgres(tb testing.TB) string {
	tb.Helper()
	return freshSchema(tb)
}
