package web_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// Tables and columns a refused request may still write: sign-in
// bookkeeping (sessions touched on every request, failure counters and
// throttles that a wrong password must write) and the schema's own; and
// the installation secrets in settings, made on first use.
var (
	fingerprintSkipTables  = []string{"sessions", "login_throttle", "mfa_challenges", "schema_migrations", "goose_db_version"}
	fingerprintSkipColumns = []string{"failed_logins", "locked_until", "last_login_at", "last_seen_at"}
)

// fingerprint is a digest of every row of every table a change writes,
// so that "nothing was written" is one comparison: a refused request must
// leave it as it was.
func (e *env) fingerprint() string {
	e.t.Helper()
	ctx := context.Background()
	db := e.store.DB()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if e.store.Dialect() == "postgres" {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	tables, err := queryStrings(ctx, db, q)
	must(e.t, err)
	h := sha256.New()
	for _, table := range tables {
		if slices.Contains(fingerprintSkipTables, table) || strings.HasSuffix(table, "_fts") || strings.Contains(table, "_fts_") {
			continue
		}
		rows, err := tableRows(ctx, db, table)
		must(e.t, err)
		if table == "settings" {
			// Installation secrets are made on first use, whatever the answer.
			rows = slices.DeleteFunc(rows, func(r string) bool { return strings.HasPrefix(r, "name=secret:") })
		}
		fmt.Fprintf(h, "%s:%d\n", table, len(rows))
		for _, r := range rows {
			fmt.Fprintln(h, r)
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func queryStrings(ctx context.Context, db *sql.DB, q string) ([]string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// tableRows renders a table's rows as sorted strings: heap order changes
// with updates on PostgreSQL, the set of rows does not.
func tableRows(ctx context.Context, db *sql.DB, table string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT * FROM `+table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		var b strings.Builder
		for i, c := range cols {
			if slices.Contains(fingerprintSkipColumns, c) {
				continue
			}
			fmt.Fprintf(&b, "%s=%v;", c, vals[i])
		}
		out = append(out, b.String())
	}
	slices.Sort(out)
	return out, rows.Err()
}
