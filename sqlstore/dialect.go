package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// This file holds every difference between SQLite and PostgreSQL. Elsewhere
// SQL is written once, with $1-style placeholders, which modernc's SQLite
// driver binds by number as well.

const (
	dialectSQLite   = "sqlite"
	dialectPostgres = "postgres"
)

// dialect describes one database engine.
type dialect struct {
	name string
}

// sqliteDSN returns the DSN of the database file in dir. Times are stored as
// UTC unix microseconds and read back as time.Time; write transactions take
// the write lock at BEGIN (IMMEDIATE), so read-then-write never fails with
// SQLITE_BUSY.
func sqliteDSN(dir string, readOnly bool) string {
	q := "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(FULL)&_txlock=immediate&_time_integer_format=unix_micro&_inttotime=1"
	if readOnly {
		q += "&_pragma=query_only(1)"
	}
	return "file:" + filepath.Join(dir, "roster.db") + "?" + q
}

// openDBs opens the writer and reader pools. On SQLite the writer is a
// single connection (the PocketBase pattern) and reads use a separate pool;
// on PostgreSQL both are the same pool.
func openDBs(cfg Config) (writer, reader *sql.DB, d dialect, err error) {
	if cfg.DatabaseURL != "" {
		u, perr := url.Parse(cfg.DatabaseURL)
		if perr != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return nil, nil, d, fmt.Errorf("database URL must start with postgres://")
		}
		pc, perr := pgx.ParseConfig(cfg.DatabaseURL)
		if perr != nil {
			return nil, nil, d, fmt.Errorf("parse database URL: %w", perr)
		}
		db := stdlib.OpenDB(*pc)
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(20)
		return db, db, dialect{name: dialectPostgres}, nil
	}
	if cfg.DataDir == "" {
		return nil, nil, d, errors.New("sqlstore: DataDir or DatabaseURL is required")
	}
	w, err := sql.Open("sqlite", sqliteDSN(cfg.DataDir, false))
	if err != nil {
		return nil, nil, d, fmt.Errorf("open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", sqliteDSN(cfg.DataDir, true))
	if err != nil {
		w.Close()
		return nil, nil, d, fmt.Errorf("open sqlite: %w", err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	r.SetConnMaxIdleTime(0)
	return w, r, dialect{name: dialectSQLite}, nil
}

// uniqueViolation reports whether err is a unique-constraint violation, and
// the constraint's name where the driver tells it (PostgreSQL).
func (d dialect) uniqueViolation(err error) (constraint string, ok bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.ConstraintName, pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return "", c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return "", false
}

// afterExplicitID realigns the ID sequence after a row was inserted with an
// explicit id (the platform company). SQLite needs nothing.
func (d dialect) afterExplicitID(ctx context.Context, tx *sql.Tx, table string) error {
	if d.name != dialectPostgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('`+table+`', 'id'), (SELECT max(id) FROM `+table+`))`)
	return err
}

// ftsCandidateLimit is how many matching users the SQLite trigram index may
// return before a search is considered common: above it the company's
// ordered index is walked with a LIKE filter instead, which stops early.
const ftsCandidateLimit = 2000

// searchCondition returns the SQL condition (on alias u) for the lowered
// search text term, adding its arguments to b. On PostgreSQL a LIKE served by
// the pg_trgm GIN index, which the planner weighs against the ordered company
// index. On SQLite terms of 3+ characters first ask the FTS5 trigram index
// for at most ftsCandidateLimit rowids; a rarer term becomes an id list, a
// commoner one a LIKE on the ordered walk. Terms under 3 characters never
// match in FTS and are always LIKE.
func (d dialect) searchCondition(ctx context.Context, q querier, b *sqlBuilder, term string) (string, error) {
	like := `u.search LIKE ` + b.arg("%"+escapeLike(term)+"%") + ` ESCAPE '\'`
	if d.name == dialectPostgres || len([]rune(term)) < 3 {
		return like, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT rowid FROM users_fts WHERE users_fts MATCH $1 LIMIT $2`,
		`"`+strings.ReplaceAll(term, `"`, `""`)+`"`, ftsCandidateLimit+1)
	if err != nil {
		return "", fmt.Errorf("search index: %w", err)
	}
	defer rows.Close()
	ids := make([]string, 0, 64)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return "", fmt.Errorf("search index: %w", err)
		}
		ids = append(ids, strconv.FormatInt(id, 10))
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("search index: %w", err)
	}
	if len(ids) > ftsCandidateLimit {
		return like, nil
	}
	if len(ids) == 0 {
		return "0 = 1", nil
	}
	// The ids come from the database as integers: safe to inline, and an
	// inline list lets SQLite's planner see a rowid lookup.
	return `u.id IN (` + strings.Join(ids, ",") + `) AND ` + like, nil
}

func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// deleteExpiredSessions deletes sessions past their absolute or idle expiry:
// interval arithmetic on PostgreSQL, integer microseconds on SQLite.
func (d dialect) deleteExpiredSessions(ctx context.Context, q querier, now time.Time) (sql.Result, error) {
	if d.name == dialectPostgres {
		return q.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1
			OR last_seen_at + idle_timeout_seconds * interval '1 second' <= $1`, now)
	}
	return q.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1
		OR last_seen_at + idle_timeout_seconds * 1000000 <= $2`, now, now.UnixMicro())
}
