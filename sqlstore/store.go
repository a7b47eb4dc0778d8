// Package sqlstore is Roster's storage: one implementation of the domain's
// store interfaces over database/sql, for SQLite (modernc.org/sqlite, the
// default, embedded) and PostgreSQL (pgx). Engine differences live in
// dialect.go; migrations are embedded per dialect.
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	// SQLiteSynchronous is SQLiteSyncFull (the default when empty) or
	// SQLiteSyncNormal.
	SQLiteSynchronous string
	// Clock is the source of time (time.Now when nil).
	Clock roster.Clock
	// Logger receives migration notes (slog.Default when nil).
	Logger *slog.Logger
}

// Store implements the domain's store interfaces.
type Store struct {
	db    *pool // writes (on SQLite a single connection)
	rdb   *pool // reads (on PostgreSQL the same pool as db)
	d     dialect
	clock roster.Clock
	log   *slog.Logger

	actors *roster.ActorCache
	batch  *batcher // SQLite's group commit; nil on PostgreSQL

	secretsMu sync.Mutex
	secrets   map[string][]byte

	// nameOrder says whether the schema has SQLite's name order
	// (nameorder.go): nameOrderYes, nameOrderNo or 0 for not known yet.
	nameOrder atomic.Int32
}

// Open opens the database and checks that it answers. It does not migrate:
// call Migrate, or SchemaUpToDate to refuse an out-of-date schema.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	w, r, d, err := openDBs(cfg)
	if err != nil {
		return nil, err
	}
	// SQLite prepares statements once per connection through a cache;
	// pgx caches them per connection itself.
	cache := d.name == dialectSQLite
	s := &Store{db: newPool(w, cache), d: d, clock: cfg.Clock, log: cfg.Logger, secrets: map[string][]byte{},
		actors: roster.NewActorCache()}
	s.rdb = s.db
	if d.name == dialectSQLite {
		s.batch = &batcher{s: s}
	}
	if r != w {
		s.rdb = newPool(r, cache)
	}
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
func (s *Store) DB() *sql.DB { return s.db.DB }

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
	// detached runs the statements without their contexts' cancellation
	// (a batch shares the transaction; see batcher).
	detached bool
}

// begin opens a write transaction; only write and the migration runner
// call it, so that every transaction is retried as write retries it.
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

// write runs fn in a write transaction and commits it when fn returns nil;
// an error rolls everything back. It is the one way the store changes
// data. When the database gives up on the transaction because of other
// transactions (a deadlock or serialization failure on PostgreSQL, a busy
// database on SQLite), the whole of fn runs again in a new transaction, a
// few times (see retry). fn may therefore run more than once: it must keep
// its effects inside tx, and derive what it writes from what it reads in tx
// (or from arguments it does not change in a way a second run would see).
func (s *Store) write(ctx context.Context, fn func(tx *Tx) error) error {
	fn = s.withNamesPlaced(ctx, fn)
	err := s.retry(ctx, func() error {
		if s.batch != nil {
			return s.batch.do(ctx, fn)
		}
		tx, err := s.begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if err := fn(tx); err != nil {
			return err
		}
		return tx.commit()
	})
	// Statements first run inside the transaction are prepared now that
	// it no longer holds the writer's connection.
	s.db.stmts.preparePending(context.WithoutCancel(ctx))
	return err
}

// writeResult is write for a transaction that returns a value: the value
// of the run that committed, or the zero value with the error.
func writeResult[T any](ctx context.Context, s *Store, fn func(tx *Tx) (T, error)) (T, error) {
	var out T
	err := s.write(ctx, func(tx *Tx) error {
		v, err := fn(tx)
		if err != nil {
			return err
		}
		out = v
		return nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// exec runs one statement in its own transaction, retried as write does.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := s.retry(ctx, func() error {
		var err error
		res, err = s.db.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}

// Retries of a transaction the database gave up on because of others.
const (
	retryAttempts = 6                      // runs in all, the first included
	retryBase     = 4 * time.Millisecond   // longest first wait
	retryMax      = 250 * time.Millisecond // longest wait
)

// errUnavailable answers a change that failed retryAttempts times for
// contention alone: the web layer turns it into 503 with Retry-After.
var errUnavailable = roster.Errorf(roster.EUNAVAILABLE, "The database is busy; try again in a moment.")

// errUnreachable answers a request the database could not serve because
// it could not be reached (see dialect.unreachable): 503 with Retry-After.
var errUnreachable = roster.Errorf(roster.EUNAVAILABLE, "The database cannot be reached; try again in a moment.")

// ClassifyError implements roster.ErrorClassifier: an error that says the
// database could not be reached is returned as errUnreachable wrapping it.
// It is applied where errors leave for a client (the transports), not in
// each method: a lost connection surfaces from any query, a row's Scan
// included.
func (s *Store) ClassifyError(err error) error {
	if err == nil || roster.ErrorCode(err) != roster.EINTERNAL || !s.d.unreachable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", errUnreachable, err)
}

// retry runs fn until it succeeds, fails for a reason other than
// contention (see dialect.transient), or has run retryAttempts times, then
// answers errUnavailable. Between runs it waits a random time up to a limit
// that doubles each time (full jitter), so that the transactions that
// collided do not collide again.
func (s *Store) retry(ctx context.Context, fn func() error) error {
	wait := retryBase
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !s.d.transient(err) {
			return err
		}
		if attempt == retryAttempts {
			s.log.Warn("database busy: transaction given up", "attempts", attempt, "err", err)
			return errUnavailable
		}
		t := time.NewTimer(rand.N(wait) + time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return errUnavailable
		case <-t.C:
		}
		wait = min(2*wait, retryMax)
	}
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
	return s.migrate(ctx, -1)
}

// migrate applies the pending migrations up to version upTo (all when
// negative): tests build an older schema with it.
func (s *Store) migrate(ctx context.Context, upTo int) error {
	ms, err := s.migrations()
	if err != nil {
		return err
	}
	create := createMigrationsTable
	if s.d.name == dialectPostgres {
		create = strings.Replace(create, "TIMESTAMP", "TIMESTAMPTZ", 1)
	}
	if _, err := s.exec(ctx, create); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		if upTo >= 0 && m.version > upTo {
			break
		}
		applied, err := s.applyMigration(ctx, m)
		if err != nil {
			return err
		}
		if applied {
			s.log.Info("applied migration", "name", m.name, "dialect", s.d.name)
		}
	}
	s.nameOrder.Store(0) // the schema changed: look again
	return s.write(ctx, func(tx *Tx) error { return syncSystemRows(ctx, tx) })
}

// migrationLock is the PostgreSQL advisory lock that makes several
// instances migrating at once wait for each other. It is taken per schema
// (the first of the search path): instances of one installation share it,
// and databases that hold several installations side by side, one per
// schema (as the tests do), migrate them in parallel.
const migrationLock = `SELECT pg_advisory_xact_lock(7245917, hashtext(current_schema()))`

// applyMigration applies m unless it was applied, in one transaction with
// its record in schema_migrations.
//
// On SQLite the transaction runs with foreign keys off, as SQLite's own
// procedure for schema changes requires: rebuilding a table (create the
// new one, copy, drop the old one, rename) would otherwise delete every
// row that refers to it, by ON DELETE CASCADE, when the old table is
// dropped. The foreign keys are checked (PRAGMA foreign_key_check) before
// the commit and switched on again after it.
func (s *Store) applyMigration(ctx context.Context, m migration) (applied bool, err error) {
	apply := func(tx *Tx) error {
		if s.d.name == dialectPostgres {
			if _, err := tx.ExecContext(ctx, migrationLock); err != nil {
				return fmt.Errorf("migration lock: %w", err)
			}
		}
		done, err := s.appliedMigrations(ctx, tx)
		if err != nil {
			return err
		}
		if applied = !done[m.version]; !applied {
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
		if s.d.name == dialectSQLite {
			if err := foreignKeyCheck(ctx, tx); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.version, m.name, tx.now); err != nil {
			return fmt.Errorf("record migration %s: %w", m.name, err)
		}
		return nil
	}
	if s.d.name == dialectPostgres {
		return applied, s.write(ctx, apply)
	}
	return applied, s.retry(ctx, func() error { return s.withoutForeignKeys(ctx, apply) })
}

// withoutForeignKeys runs fn in a write transaction on the SQLite writer
// connection with foreign key enforcement off (it cannot change inside a
// transaction), and switches it on again.
func (s *Store) withoutForeignKeys(ctx context.Context, fn func(tx *Tx) error) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migration connection: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return fmt.Errorf("foreign keys off: %w", err)
	}
	defer func() {
		if _, onErr := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`); onErr != nil {
			// A connection left without foreign keys must not be reused.
			conn.Raw(func(any) error { return driver.ErrBadConn })
			if err == nil {
				err = fmt.Errorf("foreign keys on: %w", onErr)
			}
		}
	}()
	sqlTx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{Tx: sqlTx, now: s.now(), s: s}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.commit()
}

// foreignKeyCheck fails when any row of the SQLite database refers to a
// row that does not exist.
func foreignKeyCheck(ctx context.Context, tx *Tx) error {
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return fmt.Errorf("foreign key check: %w", err)
		}
		return fmt.Errorf("foreign key check: row %d of %s refers to a missing %s", rowid.Int64, table, parent)
	}
	return rows.Err()
}

// syncSystemRows creates the platform company and the system roles when
// missing and sets the system roles' permissions to the catalog's, so the
// catalog stays defined in one place (the domain).
func syncSystemRows(ctx context.Context, tx *Tx) error {
	s := tx.s
	if s.d.name == dialectPostgres {
		// Instances starting at once would both create the platform company.
		if _, err := tx.ExecContext(ctx, migrationLock); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
	}
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
	return nil
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
	return s.systemRolesCurrent(ctx)
}

// systemRolesCurrent reports whether every system role holds exactly the
// catalog's permissions for it. A release that adds a permission to the
// catalog thereby makes the schema out of date, and migrating gives the
// Company administrator ("has all permissions", seed 003) and the Main
// administrator the new permission (syncSystemRows).
func (s *Store) systemRolesCurrent(ctx context.Context) (bool, error) {
	for _, sr := range roster.SystemRoles {
		rows, err := s.rdb.QueryContext(ctx, `SELECT p.permission FROM roles r JOIN role_permissions p ON p.role_id = r.id
			WHERE r.company_id IS NULL AND r.key = $1`, sr.Key)
		if err != nil {
			return false, fmt.Errorf("system role permissions: %w", err)
		}
		have := roster.PermissionSet{}
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				rows.Close()
				return false, fmt.Errorf("system role permissions: %w", err)
			}
			have[roster.Permission(p)] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return false, fmt.Errorf("system role permissions: %w", err)
		}
		if !have.Equal(roster.NewPermissionSet(sr.Permissions...)) {
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
		if e.ActorID == nil && e.ActorName == "" && a.Token != nil {
			e.ActorName = a.Token.ActorName()
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
	if err := enqueueNotifications(ctx, tx, e); err != nil {
		return err
	}
	return enqueueWebhooks(ctx, tx, e)
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
