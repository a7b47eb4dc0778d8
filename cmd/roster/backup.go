package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/roster-app/roster/sqlstore"
)

// pgDumpAdvice is the answer of backup and restore on PostgreSQL.
const pgDumpAdvice = `this installation uses PostgreSQL (--database-url / ROSTER_DATABASE_URL): ` +
	`back it up with pg_dump --format=custom --file roster.dump "$ROSTER_DATABASE_URL" and restore it with ` +
	`pg_restore --no-owner --dbname "$NEW_DATABASE_URL" roster.dump (see README.md, "Backup and restore")`

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg Config
	var out string
	fs := newFlagSet("backup")
	cfg.registerCommon(fs)
	cfg.add(fs, setting{flag: "out", parse: stringValue(&out), usage: "the backup file to write; must not exist (required)"})
	if err := parse(fs, "Writes a consistent copy of the SQLite database, also while roster serve runs.", args, &cfg, stdout); err != nil {
		return err
	}
	if out == "" {
		return usageError{errors.New("--out FILE is required (see roster backup --help)")}
	}
	if cfg.DatabaseURL != "" {
		return errors.New(pgDumpAdvice)
	}
	info, err := sqlstore.BackupSQLite(ctx, cfg.DataDir, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Wrote %s: %s, schema version %d, %d companies, %d users, %d events.\n",
		info.Path, size(info.Bytes), info.SchemaVersion, info.Companies, info.Users, info.Events)
	fmt.Fprintf(stdout, "Restore it, with the server stopped, by: roster restore --data %s --from %s\n", cfg.DataDir, info.Path)
	return nil
}

func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg Config
	var from string
	fs := newFlagSet("restore")
	cfg.registerCommon(fs)
	cfg.add(fs, setting{flag: "from", parse: stringValue(&from), usage: "the backup file to restore (required)"})
	if err := parse(fs, "Replaces the SQLite database with a checked backup; the server must be stopped. The replaced database is kept as a dated .bak file.", args, &cfg, stdout); err != nil {
		return err
	}
	if from == "" {
		return usageError{errors.New("--from FILE is required (see roster restore --help)")}
	}
	if cfg.DatabaseURL != "" {
		return errors.New(pgDumpAdvice)
	}
	res, err := sqlstore.RestoreSQLite(ctx, cfg.DataDir, from, time.Now())
	if err != nil {
		return err
	}
	r := res.Restored
	fmt.Fprintf(stdout, "Restored %s into %s: schema version %d, %d companies, %d users, %d events.\n",
		from, r.Path, r.SchemaVersion, r.Companies, r.Users, r.Events)
	if res.Previous != "" {
		fmt.Fprintf(stdout, "The replaced database is kept as %s.\n", res.Previous)
	}
	if r.Pending > 0 {
		fmt.Fprintf(stdout, "%d migration(s) of this version are pending: roster serve applies them at start (or run roster migrate).\n", r.Pending)
	}
	return nil
}

func runCopy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg Config
	var to string
	fs := newFlagSet("copy")
	cfg.add(fs, setting{flag: "data", env: "DATA_DIR", def: "./roster-data", parse: stringValue(&cfg.DataDir),
		usage: "folder of the SQLite installation to copy"})
	cfg.add(fs, setting{flag: "to", parse: databaseURLValue(&to), secret: true,
		usage: "the empty PostgreSQL database to copy into, postgres://… (required)"})
	cfg.add(fs, setting{flag: "log-level", env: "LOG_LEVEL", def: "warn", parse: levelValue(&cfg.LogLevel),
		usage: "debug, info, warn or error"})
	cfg.add(fs, setting{flag: "log-json", env: "LOG_JSON", def: "false", isBool: true, parse: boolValue(&cfg.LogJSON),
		usage: "log as JSON lines: true or false"})
	if err := parse(fs, "Copies a whole SQLite installation into an empty PostgreSQL database; the server must be stopped.", args, &cfg, stdout); err != nil {
		return err
	}
	if to == "" {
		return usageError{errors.New("--to postgres://… is required (see roster copy --help)")}
	}
	rep, err := sqlstore.CopySQLiteToPostgres(ctx, cfg.DataDir, to, newLogger(&cfg, stderr))
	if err != nil {
		return err
	}
	var total int64
	for _, t := range rep.Tables {
		fmt.Fprintf(stdout, "  %-28s %10d rows\n", t.Table, t.Rows)
		total += t.Rows
	}
	fmt.Fprintf(stdout, "Copied %d rows in %d tables (schema version %d) in %s; row counts verified, %d sequences reset.\n",
		total, len(rep.Tables), rep.SchemaVersion, rep.Took.Round(time.Millisecond), rep.Sequences)
	fmt.Fprintln(stdout, "Start Roster on it with --database-url (ROSTER_DATABASE_URL) and the same ROSTER_SECRET_KEY, if you set one.")
	return nil
}

// size formats a byte count.
func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
