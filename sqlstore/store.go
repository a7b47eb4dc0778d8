// Package sqlstore is Roster's storage: one implementation of the domain's
// store interfaces over database/sql, for SQLite (modernc.org/sqlite, the
// default, embedded) and PostgreSQL (pgx). Engine differences live in
// dialect.go; migrations are embedded per dialect.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roster-app/roster"
)

// Compile-time checks that *Store implements every store interface.
var (
	_ roster.CompanyService  = (*Store)(nil)
	_ roster.UserService     = (*Store)(nil)
	_ roster.RoleService     = (*Store)(nil)
	_ roster.SessionService  = (*Store)(nil)
	_ roster.EventService    = (*Store)(nil)
	_ roster.PlatformService = (*Store)(nil)
)

//go:embed migrations
var migrationsFS embed.FS

// Config says which database to open.
type Config struct {
	// DatabaseURL selects PostgreSQL (postgres://…); empty means SQLite.
	DatabaseURL string
	// DataDir is the folder of the SQLite database file roster.db.
	DataDir string
	// Clock is the source of time (time.Now when nil).
	Clock roster.Clock
	// Logger receives migration notes (slog.Default when nil).
	Logger *slog.Logger
}

// Store implements the domain's store interfaces.
type Store struct {
	db    *sql.DB // writes (on SQLite a single connection)
	rdb   *sql.DB // reads (on PostgreSQL the same pool as db)
	d     dialect
	clock roster.Clock
	log   *slog.Logger

	secretsMu sync.Mutex
	secrets   map[string][]byte
}

// Open opens the database and checks that it answers. It does not migrate:
// call Migrate, or SchemaUpToDate to refuse an out-of-date schema.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	w, r, d, err := openDBs(cfg)
	if err != nil {
		return nil, err
	}
	s := &Store{db: w, rdb: r, d: d, clock: cfg.Clock, log: cfg.Logger, secrets: map[string][]byte{}}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database pools.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.rdb != s.db {
		if err2 := s.rdb.Close(); err == nil {
			err = err2
		}
	}
	return err
}

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.d.name, err)
	}
	return nil
}

// DB returns the writer pool, for tests and tools.
func (s *Store) DB() *sql.DB { return s.db }

// now is the current time from the clock, in UTC, truncated to the
// microsecond both engines store.
func (s *Store) now() time.Time { return s.clock().UTC().Truncate(time.Microsecond) }

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tx is a write transaction carrying the time of the change and the actor.
type Tx struct {
	*sql.Tx
	now   time.Time
	actor *roster.Actor
	s     *Store
}

// begin opens a write transaction; callers defer tx.Rollback().
func (s *Store) begin(ctx context.Context) (*Tx, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	return &Tx{Tx: tx, now: s.now(), actor: roster.ActorFromContext(ctx), s: s}, nil
}

func (tx *Tx) commit() error {
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// migration is one numbered .sql file.
type migration struct {
	version int
	name    string
	sql     string
}

func (s *Store) migrations() ([]migration, error) {
	dir := path.Join("migrations", s.d.name)
	entries, err := fs.ReadDir(migrationsFS, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		n, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: bad number", name)
		}
		b, err := migrationsFS.ReadFile(path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: n, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

func (s *Store) appliedMigrations(ctx context.Context, q querier) (map[int]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	done := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		done[v] = true
	}
	return done, rows.Err()
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	applied_at TIMESTAMP NOT NULL
)`

// Migrate applies the pending migrations, each in its own transaction, then
// makes sure the platform company exists and the system roles carry the
// permissions of the current catalog.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := s.migrations()
	if err != nil {
		return err
	}
	create := createMigrationsTable
	if s.d.name == dialectPostgres {
		create = strings.Replace(create, "TIMESTAMP", "TIMESTAMPTZ", 1)
	}
	if _, err := s.db.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		if err := s.applyMigration(ctx, m); err != nil {
			return err
		}
	}
	return s.syncSystemRows(ctx)
}

func (s *Store) applyMigration(ctx context.Context, m migration) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if s.d.name == dialectPostgres {
		// Several instances may migrate at once: one waits for the other.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7245917)`); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
	}
	done, err := s.appliedMigrations(ctx, tx)
	if err != nil {
		return err
	}
	if done[m.version] {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	// A few migrations change data in a way SQL cannot say the same on
	// both engines; their Go step runs in the same transaction.
	if step := migrationSteps[m.version]; step != nil {
		if err := step(ctx, s.d, tx); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
		m.version, m.name, tx.now); err != nil {
		return fmt.Errorf("record migration %s: %w", m.name, err)
	}
	s.log.Info("applied migration", "name", m.name, "dialect", s.d.name)
	return tx.commit()
}

// syncSystemRows creates the platform company and the system roles when
// missing and sets the system roles' permissions to the catalog's, so the
// catalog stays defined in one place (the domain).
func (s *Store) syncSystemRows(ctx context.Context) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM companies WHERE id = $1`, roster.PlatformCompanyID).Scan(&n); err != nil {
		return fmt.Errorf("platform company: %w", err)
	}
	if n == 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO companies (id, parent_id, name, created_at, updated_at) VALUES ($1, NULL, 'Roster', $2, $2)`,
			roster.PlatformCompanyID, tx.now); err != nil {
			return fmt.Errorf("create platform company: %w", err)
		}
		if err := s.d.afterExplicitID(ctx, tx.Tx, "companies"); err != nil {
			return fmt.Errorf("platform company sequence: %w", err)
		}
	}
	for _, sr := range roster.SystemRoles {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM roles WHERE company_id IS NULL AND key = $1`, sr.Key).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			err = tx.QueryRowContext(ctx, `INSERT INTO roles (company_id, key, name, system, created_at, updated_at)
				VALUES (NULL, $1, $2, TRUE, $3, $3) RETURNING id`, sr.Key, sr.Name, tx.now).Scan(&id)
		} else if err == nil {
			_, err = tx.ExecContext(ctx, `UPDATE roles SET name = $1 WHERE id = $2 AND name <> $1`, sr.Name, id)
		}
		if err != nil {
			return fmt.Errorf("system role %s: %w", sr.Key, err)
		}
		if err := setRolePermissions(ctx, tx, id, sr.Permissions); err != nil {
			return err
		}
	}
	return tx.commit()
}

// SchemaUpToDate reports whether every embedded migration has been applied.
func (s *Store) SchemaUpToDate(ctx context.Context) (bool, error) {
	ms, err := s.migrations()
	if err != nil {
		return false, err
	}
	done, err := s.appliedMigrations(ctx, s.rdb)
	if err != nil {
		// No schema_migrations table: a fresh database.
		var n int
		if s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM companies`).Scan(&n) != nil {
			return false, nil
		}
		return false, err
	}
	for _, m := range ms {
		if !done[m.version] {
			return false, nil
		}
	}
	return true, nil
}

// sqlBuilder accumulates numbered arguments for a query built from a filter.
type sqlBuilder struct {
	args  []any
	where []string
	// search is set when the filter has a search term.
	search *userSearch
}

// arg adds an argument and returns its placeholder.
func (b *sqlBuilder) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

// cond adds a WHERE condition.
func (b *sqlBuilder) cond(c string) { b.where = append(b.where, c) }

// whereSQL returns " WHERE a AND b" or "".
func (b *sqlBuilder) whereSQL() string {
	if len(b.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(b.where, " AND ")
}

// inInts returns "a, b, c" placeholders for ids.
func (b *sqlBuilder) inInts(ids []int64) string {
	ps := make([]string, len(ids))
	for i, id := range ids {
		ps[i] = b.arg(id)
	}
	return strings.Join(ps, ", ")
}

// scopeCond adds the scope condition on column col; it reports false when
// the scope is empty (nothing is visible).
func (b *sqlBuilder) scopeCond(scope roster.Scope, col string) bool {
	if scope.All {
		return true
	}
	switch len(scope.CompanyIDs) {
	case 0:
		return false
	case 1:
		b.cond(col + " = " + b.arg(scope.CompanyIDs[0]))
	default:
		b.cond(col + " IN (" + b.inInts(scope.CompanyIDs) + ")")
	}
	return true
}

func notFound(what string) error { return roster.Errorf(roster.ENOTFOUND, "%s not found.", what) }

// writeEvent appends an event in the transaction, filling the actor,
// impersonator, address and time from tx.
func writeEvent(ctx context.Context, tx *Tx, e *roster.Event) error {
	if a := tx.actor; a != nil {
		if e.ActorID == nil && a.User != nil {
			id := a.User.ID
			e.ActorID, e.ActorName = &id, a.User.DisplayName()
		}
		if e.ImpersonatorID == nil && a.Impersonator != nil {
			id := a.Impersonator.ID
			e.ImpersonatorID, e.ImpersonatorName = &id, a.Impersonator.DisplayName()
		}
		if e.Address == "" {
			e.Address = a.Address
		}
	}
	e.CreatedAt = tx.now
	before, err := jsonOrNil(e.Before)
	if err != nil {
		return err
	}
	after, err := jsonOrNil(e.After)
	if err != nil {
		return err
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO events (company_id, type, actor_id, actor_name, impersonator_id,
		impersonator_name, target_user_id, target_name, target_role_id, address, before, after, comment, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
		e.CompanyID, e.Type, e.ActorID, e.ActorName, e.ImpersonatorID, e.ImpersonatorName, e.TargetUserID,
		e.TargetName, e.TargetRoleID, e.Address, before, after, e.Comment, e.CreatedAt).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("write event %s: %w", e.Type, err)
	}
	return enqueueNotifications(ctx, tx, e)
}

func jsonOrNil(m map[string]any) (any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode event data: %w", err)
	}
	return string(b), nil
}

func int64Ptr(v int64) *int64 { return &v }
