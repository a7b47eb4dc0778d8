package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/roster-app/roster"
)

// This file copies a whole SQLite installation into an empty PostgreSQL
// database (roster copy). Nothing in it names a Roster table: the tables,
// columns, types, foreign keys, identity columns and indexes are read from
// the two schemas, so tables added by later migrations are copied too.

// ErrTargetNotEmpty says the PostgreSQL database of a copy already holds
// data: a copy only fills an empty database.
var ErrTargetNotEmpty = errors.New("the PostgreSQL database already holds Roster data: copy only into an empty database")

// TableCount is the number of rows of one table.
type TableCount struct {
	Table string
	Rows  int64
}

// CopyReport says what CopySQLiteToPostgres copied.
type CopyReport struct {
	SchemaVersion int
	// Tables lists every copied table in copy order, with its rows; the
	// counts were verified equal on both sides before the commit.
	Tables []TableCount
	// Sequences is how many identity sequences were moved past the
	// highest id (or the highest id SQLite ever gave, with AUTOINCREMENT).
	Sequences int
	Took      time.Duration
}

// CopySQLiteToPostgres copies the SQLite installation in dataDir into the
// PostgreSQL database at databaseURL, which must hold no Roster data (an
// empty database, or one only migrated). The SQLite database must be up to
// date and not in use (ErrInUse): it stays locked and unchanged during the
// copy. The target is migrated to the same version, then every table is
// copied in one transaction with ids, hashes, encrypted secrets and jobs
// as they are; times (unix microseconds in SQLite) and booleans (0/1)
// become PostgreSQL's types; identity sequences are set past the highest
// id; secondary indexes (the trigram search ones among them) are rebuilt;
// and the row counts of every table are compared before the commit.
func CopySQLiteToPostgres(ctx context.Context, dataDir, databaseURL string, logger *slog.Logger) (*CopyReport, error) {
	start := time.Now()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	lock, err := lockSQLite(ctx, SQLitePath(dataDir))
	if err != nil {
		return nil, err
	}
	defer lock.release()
	src := lock.conn
	info, err := inspectSQLite(ctx, src, SQLitePath(dataDir), false)
	if err != nil {
		return nil, err
	}
	if info.Pending > 0 {
		return nil, fmt.Errorf("the SQLite database lacks %d migration(s) of this binary: run roster migrate --data %s first", info.Pending, dataDir)
	}

	dst, err := Open(ctx, Config{DatabaseURL: databaseURL, Logger: logger})
	if err != nil {
		return nil, err
	}
	defer dst.Close()
	if dst.d.name != dialectPostgres {
		return nil, errors.New("the target must be a postgres:// URL")
	}
	if err := dst.checkCopyTarget(ctx); err != nil {
		return nil, err
	}
	if err := dst.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrate the target: %w", err)
	}
	plan, err := planCopy(ctx, src, dst.db.DB)
	if err != nil {
		return nil, err
	}
	conn, err := dst.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	report := &CopyReport{SchemaVersion: info.SchemaVersion}
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		tx, err := pc.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		if err := plan.run(ctx, src, tx, report, logger); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
	if err != nil {
		return nil, err
	}
	report.Took = time.Since(start)
	return report, nil
}

// checkCopyTarget refuses a PostgreSQL schema that holds anything beyond
// what `roster migrate` writes (the platform company, the system roles and
// their permissions), tables that are not Roster's, or a newer schema.
func (s *Store) checkCopyTarget(ctx context.Context) error {
	tables, err := queryColumn[string](ctx, s.db, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY 1`)
	if err != nil {
		return err
	}
	if len(tables) == 0 {
		return nil
	}
	if !slices.Contains(tables, "schema_migrations") {
		return fmt.Errorf("the PostgreSQL database holds tables that are not Roster's (%s): copy only into an empty database", strings.Join(tables[:min(len(tables), 5)], ", "))
	}
	applied, err := s.appliedMigrations(ctx, s.db)
	if err != nil {
		return err
	}
	ms, err := s.migrations()
	if err != nil {
		return err
	}
	known := map[int]bool{}
	for _, m := range ms {
		known[m.version] = true
	}
	for v := range applied {
		if !known[v] {
			return fmt.Errorf("the PostgreSQL database has migration %d, unknown to this binary", v)
		}
	}
	// What Migrate itself writes.
	written := map[string]string{
		"schema_migrations": "FALSE",
		"auth_epoch":        "FALSE",
		"companies":         fmt.Sprintf("id <> %d", roster.PlatformCompanyID),
		"roles":             "company_id IS NOT NULL",
		"role_permissions":  "role_id NOT IN (SELECT id FROM roles WHERE company_id IS NULL)",
	}
	var holding []string
	for _, t := range tables {
		cond := "TRUE"
		if c, ok := written[t]; ok {
			cond = c
		}
		var found bool
		if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+pgx.Identifier{t}.Sanitize()+` WHERE `+cond+`)`).Scan(&found); err != nil {
			return fmt.Errorf("check %s: %w", t, err)
		}
		if found {
			holding = append(holding, t)
		}
	}
	if len(holding) > 0 {
		return fmt.Errorf("%w (rows in %s)", ErrTargetNotEmpty, strings.Join(holding, ", "))
	}
	return nil
}

// copyTable is one table to copy: its columns in PostgreSQL's order, and
// how to convert each SQLite value.
type copyTable struct {
	name    string
	columns []string
	convert []func(any) (any, error)
	// orderBy orders the SQLite rows: by the primary key, or by the column
	// a self-reference points to.
	orderBy []string
	// selfRefs are foreign keys of the table to itself, filled after the
	// rows they point to exist.
	selfRefs []selfRef
	// identity is the column fed by a sequence, "" when none.
	identity string
}

// selfRef is a single-column foreign key of a table to itself: col holds
// values of ref.
type selfRef struct{ col, ref string }

// copyPlan is the whole copy, worked out from both schemas.
type copyPlan struct {
	tables []*copyTable // in foreign-key order: parents first
	// sqliteSeq is SQLite's AUTOINCREMENT high-water mark per table.
	sqliteSeq map[string]int64
}

// planCopy compares the schemas and orders the tables. The two must hold
// the same tables with the same columns, apart from SQLite's virtual
// tables (the FTS5 search index), their shadow tables and the search
// index's name order (nameOrderTables), which PostgreSQL does without, and PostgreSQL's generated columns, which it computes.
func planCopy(ctx context.Context, src querier, dst *sql.DB) (*copyPlan, error) {
	srcCols, err := sqliteColumns(ctx, src)
	if err != nil {
		return nil, err
	}
	dstTables, err := postgresColumns(ctx, dst)
	if err != nil {
		return nil, err
	}
	var problems []string
	for t := range srcCols {
		if dstTables[t] == nil {
			problems = append(problems, "table "+t+" exists only in SQLite")
		}
	}
	plan := &copyPlan{sqliteSeq: map[string]int64{}}
	byName := map[string]*copyTable{}
	for t, cols := range dstTables {
		sc, ok := srcCols[t]
		if !ok {
			problems = append(problems, "table "+t+" exists only in PostgreSQL")
			continue
		}
		ct := &copyTable{name: t}
		for _, c := range cols {
			if c.generated {
				continue
			}
			if !slices.Contains(sc.columns, c.name) {
				problems = append(problems, "column "+t+"."+c.name+" exists only in PostgreSQL")
				continue
			}
			ct.columns = append(ct.columns, c.name)
			ct.convert = append(ct.convert, converterFor(c.typ))
			if c.identity {
				ct.identity = c.name
			}
		}
		for _, c := range sc.columns {
			if !slices.ContainsFunc(cols, func(d pgColumn) bool { return d.name == c }) {
				problems = append(problems, "column "+t+"."+c+" exists only in SQLite")
			}
		}
		ct.orderBy = sc.pk
		byName[t] = ct
		plan.tables = append(plan.tables, ct)
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("the SQLite and PostgreSQL schemas differ, nothing was copied: %s", strings.Join(problems, "; "))
	}

	fks, err := postgresForeignKeys(ctx, dst)
	if err != nil {
		return nil, err
	}
	deps := map[string][]string{}
	for _, fk := range fks {
		if byName[fk.table] == nil || byName[fk.parent] == nil {
			continue
		}
		if fk.table != fk.parent {
			deps[fk.table] = append(deps[fk.table], fk.parent)
			continue
		}
		if fk.col == "" {
			return nil, fmt.Errorf("table %s refers to itself with a foreign key of several columns: roster copy does not handle it", fk.table)
		}
		ct := byName[fk.table]
		ct.selfRefs = append(ct.selfRefs, selfRef{col: fk.col, ref: fk.ref})
		ct.orderBy = []string{fk.ref}
	}
	for _, ct := range plan.tables {
		if len(ct.selfRefs) > 1 && slices.ContainsFunc(ct.selfRefs, func(r selfRef) bool { return r.ref != ct.selfRefs[0].ref }) {
			return nil, fmt.Errorf("table %s refers to itself through different columns: roster copy does not handle it", ct.name)
		}
	}
	if plan.tables, err = topoSort(plan.tables, deps); err != nil {
		return nil, err
	}

	var hasSeq int
	if err := src.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'`).Scan(&hasSeq); err != nil {
		return nil, err
	}
	if hasSeq > 0 {
		rows, err := src.QueryContext(ctx, `SELECT name, seq FROM sqlite_sequence`)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			var seq int64
			if err := rows.Scan(&name, &seq); err != nil {
				return nil, err
			}
			plan.sqliteSeq[name] = seq
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return plan, nil
}

// topoSort orders tables so that every table comes after the tables its
// foreign keys point to; ties go by name.
func topoSort(tables []*copyTable, deps map[string][]string) ([]*copyTable, error) {
	sort.Slice(tables, func(i, j int) bool { return tables[i].name < tables[j].name })
	done := map[string]bool{}
	var out []*copyTable
	for len(out) < len(tables) {
		progress := false
		for _, t := range tables {
			if done[t.name] {
				continue
			}
			ready := true
			for _, p := range deps[t.name] {
				if !done[p] {
					ready = false
				}
			}
			if ready {
				done[t.name] = true
				out = append(out, t)
				progress = true
			}
		}
		if !progress {
			var left []string
			for _, t := range tables {
				if !done[t.name] {
					left = append(left, t.name)
				}
			}
			return nil, fmt.Errorf("foreign keys form a cycle among %s: roster copy does not handle it", strings.Join(left, ", "))
		}
	}
	return out, nil
}

// sqliteTable is a SQLite table's copyable columns and primary key.
type sqliteTable struct {
	columns []string
	pk      []string
}

// sqliteColumns lists the SQLite tables to copy with their columns. Left
// out: schema_migrations (the target records its own), SQLite's internal
// tables (sqlite_sequence, sqlite_stat*), virtual tables (the FTS5 search
// index) and their shadow tables, and hidden or generated columns.
func sqliteColumns(ctx context.Context, q querier) (map[string]*sqliteTable, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("read the SQLite schema: %w", err)
	}
	var names, virtual []string
	for rows.Next() {
		var name, ddl string
		if err := rows.Scan(&name, &ddl); err != nil {
			rows.Close()
			return nil, err
		}
		switch {
		case strings.HasPrefix(name, "sqlite_"), name == "schema_migrations", slices.Contains(nameOrderTables, name):
		case strings.HasPrefix(strings.ToUpper(strings.TrimSpace(ddl)), "CREATE VIRTUAL TABLE"):
			virtual = append(virtual, name)
		default:
			names = append(names, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := map[string]*sqliteTable{}
	for _, name := range names {
		if slices.ContainsFunc(virtual, func(v string) bool { return strings.HasPrefix(name, v+"_") }) {
			continue // a shadow table of a virtual table
		}
		rows, err := q.QueryContext(ctx, `SELECT name, pk, hidden FROM pragma_table_xinfo($1) ORDER BY cid`, name)
		if err != nil {
			return nil, fmt.Errorf("read the columns of %s: %w", name, err)
		}
		t := &sqliteTable{}
		pk := map[int]string{}
		for rows.Next() {
			var col string
			var pkPos, hidden int
			if err := rows.Scan(&col, &pkPos, &hidden); err != nil {
				rows.Close()
				return nil, err
			}
			if hidden != 0 {
				continue
			}
			t.columns = append(t.columns, col)
			if pkPos > 0 {
				pk[pkPos] = col
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for i := 1; i <= len(pk); i++ {
			t.pk = append(t.pk, pk[i])
		}
		out[name] = t
	}
	return out, nil
}

// pgColumn is one column of a PostgreSQL table.
type pgColumn struct {
	name, typ string
	generated bool
	identity  bool // fed by a sequence (identity or serial)
}

// postgresColumns lists the tables of the current schema with their
// columns, schema_migrations left out.
func postgresColumns(ctx context.Context, db *sql.DB) (map[string][]pgColumn, error) {
	rows, err := db.QueryContext(ctx, `SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
			a.attgenerated <> '', a.attidentity <> '' OR pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname), a.attname) IS NOT NULL
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
			AND c.relname <> 'schema_migrations'
		ORDER BY c.relname, a.attnum`)
	if err != nil {
		return nil, fmt.Errorf("read the PostgreSQL schema: %w", err)
	}
	defer rows.Close()
	out := map[string][]pgColumn{}
	for rows.Next() {
		var t string
		var c pgColumn
		if err := rows.Scan(&t, &c.name, &c.typ, &c.generated, &c.identity); err != nil {
			return nil, err
		}
		out[t] = append(out[t], c)
	}
	return out, rows.Err()
}

// pgForeignKey is a foreign key of table to parent; col and ref are set
// for a single-column key.
type pgForeignKey struct{ table, parent, col, ref string }

func postgresForeignKeys(ctx context.Context, db *sql.DB) ([]pgForeignKey, error) {
	rows, err := db.QueryContext(ctx, `SELECT ct.relname, pt.relname,
			CASE WHEN cardinality(k.conkey) = 1 THEN (SELECT attname FROM pg_attribute WHERE attrelid = k.conrelid AND attnum = k.conkey[1]) ELSE '' END,
			CASE WHEN cardinality(k.confkey) = 1 THEN (SELECT attname FROM pg_attribute WHERE attrelid = k.confrelid AND attnum = k.confkey[1]) ELSE '' END
		FROM pg_constraint k JOIN pg_class ct ON ct.oid = k.conrelid JOIN pg_namespace n ON n.oid = ct.relnamespace
		JOIN pg_class pt ON pt.oid = k.confrelid
		WHERE k.contype = 'f' AND n.nspname = current_schema()
		ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("read the foreign keys: %w", err)
	}
	defer rows.Close()
	var out []pgForeignKey
	for rows.Next() {
		var fk pgForeignKey
		if err := rows.Scan(&fk.table, &fk.parent, &fk.col, &fk.ref); err != nil {
			return nil, err
		}
		out = append(out, fk)
	}
	return out, rows.Err()
}

// actorVersionTriggers are the (table, trigger) pairs of migration 0013.
var actorVersionTriggers = [][2]string{
	{"users", "users_version"}, {"companies", "companies_version"}, {"companies", "companies_tree"},
	{"user_roles", "user_roles_version"}, {"work_group_members", "work_group_members_version"},
	{"operator_settings", "operator_settings_version"}, {"user_client_tags", "user_client_tags_version"},
	{"calls", "calls_version"}, {"roles", "roles_version"}, {"work_groups", "work_groups_version"},
	{"company_operations", "company_operations_version"}, {"role_permissions", "role_permissions_version"},
}

// run copies every table inside tx, then resets the sequences, rebuilds
// the secondary indexes and checks the counts.
func (p *copyPlan) run(ctx context.Context, src *sql.Conn, tx pgx.Tx, report *CopyReport, logger *slog.Logger) error {
	names := make([]string, len(p.tables))
	quoted := make([]string, len(p.tables))
	for i, t := range p.tables {
		names[i], quoted[i] = t.name, pgx.Identifier{t.name}.Sanitize()
	}
	// Migrate wrote the platform company and the system roles: the
	// copy brings SQLite's own, with their ids.
	if _, err := tx.Exec(ctx, `TRUNCATE TABLE `+strings.Join(quoted, ", ")+` RESTART IDENTITY`); err != nil {
		return fmt.Errorf("empty the target tables: %w", err)
	}
	// The actor-version triggers (migration 0013) would bump the copied
	// versions as the rows arrive; the copy keeps SQLite's. Disabled
	// inside tx only: DDL is transactional on PostgreSQL.
	for _, t := range actorVersionTriggers {
		if _, err := tx.Exec(ctx, `ALTER TABLE `+pgx.Identifier{t[0]}.Sanitize()+` DISABLE TRIGGER `+pgx.Identifier{t[1]}.Sanitize()); err != nil {
			return fmt.Errorf("pause trigger %s: %w", t[1], err)
		}
	}
	defer func() {
		for _, t := range actorVersionTriggers {
			tx.Exec(ctx, `ALTER TABLE `+pgx.Identifier{t[0]}.Sanitize()+` ENABLE TRIGGER `+pgx.Identifier{t[1]}.Sanitize())
		}
	}()
	// Secondary indexes (not those behind a primary key or unique
	// constraint) are built once after the rows, which is several times
	// faster than row by row, the trigram GIN indexes above all.
	indexes, err := secondaryIndexes(ctx, tx, names)
	if err != nil {
		return err
	}
	for _, ix := range indexes {
		if _, err := tx.Exec(ctx, `DROP INDEX `+ix.name); err != nil {
			return fmt.Errorf("drop index %s: %w", ix.name, err)
		}
	}
	for _, t := range p.tables {
		n, err := t.copyRows(ctx, src, tx)
		if err != nil {
			return err
		}
		report.Tables = append(report.Tables, TableCount{Table: t.name, Rows: n})
		logger.Info("copied", "table", t.name, "rows", n)
	}
	if _, err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '256MB'`); err != nil {
		return err
	}
	for _, ix := range indexes {
		if _, err := tx.Exec(ctx, ix.def); err != nil {
			return fmt.Errorf("rebuild index %s: %w", ix.name, err)
		}
	}
	for _, t := range p.tables {
		if t.identity == "" {
			continue
		}
		// Past the highest id, and past the highest id SQLite ever gave
		// (AUTOINCREMENT), so that no id of a deleted row comes back.
		table := pgx.Identifier{t.name}.Sanitize()
		if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, $2),
			GREATEST((SELECT coalesce(max(`+pgx.Identifier{t.identity}.Sanitize()+`), 0) FROM `+table+`), $3::bigint) + 1, false)`,
			table, t.identity, p.sqliteSeq[t.name]); err != nil {
			return fmt.Errorf("reset the sequence of %s: %w", t.name, err)
		}
		report.Sequences++
	}
	// The counts: rows read, rows in SQLite, rows in PostgreSQL.
	for _, tc := range report.Tables {
		var inSQLite, inPG int64
		if err := src.QueryRowContext(ctx, `SELECT count(*) FROM "`+tc.Table+`"`).Scan(&inSQLite); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{tc.Table}.Sanitize()).Scan(&inPG); err != nil {
			return err
		}
		if inSQLite != tc.Rows || inPG != tc.Rows {
			return fmt.Errorf("table %s: %d rows in SQLite, %d copied, %d in PostgreSQL: nothing was committed", tc.Table, inSQLite, tc.Rows, inPG)
		}
	}
	for _, q := range quoted {
		if _, err := tx.Exec(ctx, `ANALYZE `+q); err != nil {
			return fmt.Errorf("analyze %s: %w", q, err)
		}
	}
	return nil
}

type pgIndex struct{ name, def string }

func secondaryIndexes(ctx context.Context, tx pgx.Tx, tables []string) ([]pgIndex, error) {
	rows, err := tx.Query(ctx, `SELECT quote_ident(i.relname), pg_get_indexdef(x.indexrelid)
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = current_schema() AND t.relname = ANY($1)
			AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.contype IN ('p', 'u', 'x'))
		ORDER BY 1`, tables)
	if err != nil {
		return nil, fmt.Errorf("read the indexes: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (pgIndex, error) {
		var ix pgIndex
		err := r.Scan(&ix.name, &ix.def)
		return ix, err
	})
}

// copyRows streams the table's SQLite rows into PostgreSQL with COPY. A
// self-reference to a row not copied yet is written NULL and set after.
func (t *copyTable) copyRows(ctx context.Context, src *sql.Conn, tx pgx.Tx) (int64, error) {
	cols := make([]string, len(t.columns))
	for i, c := range t.columns {
		cols[i] = `"` + c + `"`
	}
	query := `SELECT ` + strings.Join(cols, ", ") + ` FROM "` + t.name + `"`
	if len(t.orderBy) > 0 {
		query += ` ORDER BY "` + strings.Join(t.orderBy, `", "`) + `"`
	}
	rows, err := src.QueryContext(ctx, query)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", t.name, err)
	}
	defer rows.Close()
	type pending struct{ col, ref string }
	deferred := map[pending][][2]int64{}
	var refIdx int
	var selfIdx []int
	for _, sr := range t.selfRefs {
		refIdx = slices.Index(t.columns, sr.ref)
		selfIdx = append(selfIdx, slices.Index(t.columns, sr.col))
	}
	raw := make([]any, len(t.columns))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	var read int64
	var rowErr error
	source := pgx.CopyFromFunc(func() ([]any, error) {
		if !rows.Next() {
			return nil, rows.Err()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out := make([]any, len(raw))
		for i, v := range raw {
			c, err := t.convert[i](v)
			if err != nil {
				rowErr = fmt.Errorf("%s.%s of the row %s: %w", t.name, t.columns[i], t.rowKey(raw), err)
				return nil, rowErr
			}
			out[i] = c
		}
		for k, i := range selfIdx {
			v, ok := out[i].(int64)
			if !ok {
				continue
			}
			key, ok := out[refIdx].(int64)
			if !ok || v >= key {
				// Rows come in order of the referenced column: one not
				// read yet is filled in after the copy.
				if !ok {
					return nil, fmt.Errorf("table %s: the self-reference %s is not an integer key", t.name, t.selfRefs[k].col)
				}
				p := pending{t.selfRefs[k].col, t.selfRefs[k].ref}
				deferred[p] = append(deferred[p], [2]int64{key, v})
				out[i] = nil
			}
		}
		read++
		return out, nil
	})
	n, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.columns, source)
	if err != nil {
		if rowErr != nil {
			return 0, rowErr
		}
		return 0, fmt.Errorf("copy %s: %w", t.name, err)
	}
	if n != read {
		return 0, fmt.Errorf("copy %s: %d rows read, %d written", t.name, read, n)
	}
	for p, pairs := range deferred {
		keys, vals := make([]int64, len(pairs)), make([]int64, len(pairs))
		for i, kv := range pairs {
			keys[i], vals[i] = kv[0], kv[1]
		}
		table := pgx.Identifier{t.name}.Sanitize()
		col, ref := pgx.Identifier{p.col}.Sanitize(), pgx.Identifier{p.ref}.Sanitize()
		if _, err := tx.Exec(ctx, `UPDATE `+table+` SET `+col+` = d.v FROM unnest($1::bigint[], $2::bigint[]) AS d(k, v)
			WHERE `+table+`.`+ref+` = d.k`, keys, vals); err != nil {
			return 0, fmt.Errorf("copy %s: set %s: %w", t.name, p.col, err)
		}
	}
	return n, nil
}

// rowKey names a row in an error by its primary key (or first column).
func (t *copyTable) rowKey(raw []any) string {
	cols := t.orderBy
	if len(cols) == 0 {
		cols = t.columns[:1]
	}
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprintf("%s=%v", c, raw[slices.Index(t.columns, c)])
	}
	return strings.Join(parts, ", ")
}

// converterFor turns a value as SQLite stores it into one PostgreSQL's
// column type takes. SQLite keeps times as unix microseconds (see
// sqliteDSN) and booleans as 0 or 1.
func converterFor(pgType string) func(any) (any, error) {
	switch {
	case pgType == "boolean":
		return func(v any) (any, error) {
			switch v := v.(type) {
			case nil, bool:
				return v, nil
			case int64:
				if v == 0 || v == 1 {
					return v == 1, nil
				}
			}
			return nil, fmt.Errorf("%v (%T) is not a boolean 0 or 1", v, v)
		}
	case strings.HasPrefix(pgType, "timestamp"), pgType == "date":
		return func(v any) (any, error) {
			switch v := v.(type) {
			case nil:
				return nil, nil
			case int64:
				return time.UnixMicro(v).UTC(), nil
			case time.Time:
				return v.UTC(), nil
			case string:
				for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
					if t, err := time.Parse(layout, v); err == nil {
						return t.UTC(), nil
					}
				}
			}
			return nil, fmt.Errorf("%v (%T) is not a time", v, v)
		}
	case pgType == "bytea":
		return func(v any) (any, error) {
			switch v := v.(type) {
			case nil, []byte:
				return v, nil
			case string:
				return []byte(v), nil
			}
			return nil, fmt.Errorf("%v (%T) is not bytes", v, v)
		}
	case pgType == "bigint", pgType == "integer", pgType == "smallint":
		return func(v any) (any, error) {
			switch v := v.(type) {
			case nil, int64:
				return v, nil
			case float64:
				if v == float64(int64(v)) {
					return int64(v), nil
				}
			}
			return nil, fmt.Errorf("%v (%T) is not an integer", v, v)
		}
	case pgType == "text", strings.HasPrefix(pgType, "character"):
		return func(v any) (any, error) {
			var s string
			switch v := v.(type) {
			case nil:
				return nil, nil
			case string:
				s = v
			case []byte:
				s = string(v)
			case int64, float64:
				return fmt.Sprint(v), nil
			default:
				return nil, fmt.Errorf("%v (%T) is not text", v, v)
			}
			if !utf8.ValidString(s) {
				return nil, errors.New("is not valid UTF-8, which PostgreSQL cannot store: correct the row and copy again")
			}
			if strings.ContainsRune(s, 0) {
				return nil, errors.New("holds a NUL character, which PostgreSQL cannot store: correct the row and copy again")
			}
			return s, nil
		}
	}
	return func(v any) (any, error) { return v, nil }
}
