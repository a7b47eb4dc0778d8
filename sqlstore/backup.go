package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// This file holds the operations on a SQLite installation as a whole:
// an online backup, a checked restore, and the exclusive lock that tells
// whether a database is in use.

// sqliteFileName is the database file inside the data folder (see sqliteDSN).
const sqliteFileName = "roster.db"

// SQLitePath returns the database file of the SQLite installation in dir.
func SQLitePath(dir string) string { return filepath.Join(dir, sqliteFileName) }

// ErrInUse says a SQLite database is open in another process (a running
// `roster serve`): it cannot be restored over or copied consistently.
var ErrInUse = errors.New("the database is in use: stop roster serve (and any other program using it) first")

// SQLiteFileInfo describes a Roster SQLite database file.
type SQLiteFileInfo struct {
	Path  string
	Bytes int64
	// SchemaVersion is the highest migration applied; Pending counts this
	// binary's migrations not applied yet (applied at the next start).
	SchemaVersion int
	Pending       int
	Companies     int64
	Users         int64
	Events        int64
}

// sqliteMigrations are this binary's SQLite migrations.
func sqliteMigrations() ([]migration, error) {
	return (&Store{d: dialect{name: dialectSQLite}}).migrations()
}

// openSQLiteFile opens one database file without creating it and without
// the server's pragmas (no WAL switch, no query-time conversions): values
// are read as stored.
func openSQLiteFile(path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no database at %s: %w", path, err)
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: "mode=rw&_pragma=busy_timeout(1000)&_pragma=foreign_keys(0)"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// inspectSQLite checks that path is a sound Roster database that this
// binary can run (integrity_check "ok", schema_migrations present, no
// migration newer than this binary's) and describes it. full selects
// integrity_check over the faster quick_check.
func inspectSQLite(ctx context.Context, q querier, path string, full bool) (*SQLiteFileInfo, error) {
	info := &SQLiteFileInfo{Path: path}
	check := "quick_check"
	if full {
		check = "integrity_check"
	}
	problems, err := queryColumn[string](ctx, q, `PRAGMA `+check)
	var se *sqlite.Error
	switch {
	case errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CORRUPT:
		return nil, fmt.Errorf("%s is damaged (%s): %w", path, check, err)
	case err != nil:
		return nil, fmt.Errorf("%s is not a SQLite database: %w", path, err)
	}
	if len(problems) != 1 || problems[0] != "ok" {
		if len(problems) > 5 {
			problems = append(problems[:5], "…")
		}
		return nil, fmt.Errorf("%s is damaged (%s): %s", path, check, strings.Join(problems, "; "))
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("%s is not a Roster database: it has no schema_migrations table", path)
	}
	applied, err := (&Store{}).appliedMigrations(ctx, q)
	if err != nil {
		return nil, err
	}
	ms, err := sqliteMigrations()
	if err != nil {
		return nil, err
	}
	known := map[int]bool{}
	for _, m := range ms {
		known[m.version] = true
		if !applied[m.version] {
			info.Pending++
		}
	}
	for v := range applied {
		if !known[v] {
			return nil, fmt.Errorf("%s was written by a newer Roster (migration %d is unknown to this binary): use that version", path, v)
		}
		info.SchemaVersion = max(info.SchemaVersion, v)
	}
	for _, c := range []struct {
		table string
		n     *int64
	}{{"companies", &info.Companies}, {"users", &info.Users}, {"events", &info.Events}} {
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM `+c.table).Scan(c.n); err != nil {
			return nil, fmt.Errorf("%s is not a Roster database: %w", path, err)
		}
	}
	return info, nil
}

// sqliteLock is a connection holding the exclusive lock of a database:
// while it is held no other process reads or writes the file.
type sqliteLock struct {
	db   *sql.DB
	conn *sql.Conn
}

// lockSQLite takes the exclusive lock of the database at path, or answers
// ErrInUse. With locking_mode EXCLUSIVE the connection needs the file to
// itself; a WAL database open in any other process (even idle) refuses
// it, which is how "the server is running" is told from "it is stopped".
// The lock is held until release, across transactions.
func lockSQLite(ctx context.Context, path string) (*sqliteLock, error) {
	db, err := openSQLiteFile(path)
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	l := &sqliteLock{db: db, conn: conn}
	if _, err := conn.ExecContext(ctx, `PRAGMA locking_mode = EXCLUSIVE`); err != nil {
		l.release()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN EXCLUSIVE`); err != nil {
		l.release()
		if isBusy(err) {
			return nil, ErrInUse
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return l, nil
}

func (l *sqliteLock) release() {
	l.conn.ExecContext(context.Background(), `ROLLBACK`)
	l.conn.Close()
	l.db.Close()
}

func isBusy(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// BackupSQLite writes a consistent copy of the SQLite installation in
// dataDir to out with VACUUM INTO, while the server may be running: the
// copy is one read transaction, so it holds every change committed before
// it began and none after, and writers are not blocked. out must not
// exist; the file appears under its name only once complete.
func BackupSQLite(ctx context.Context, dataDir, out string) (*SQLiteFileInfo, error) {
	if _, err := os.Lstat(out); err == nil {
		return nil, fmt.Errorf("%s already exists: choose a new file name (a backup never overwrites)", out)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	src, err := openSQLiteFile(SQLitePath(dataDir))
	if err != nil {
		return nil, err
	}
	defer src.Close()
	tmp := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".partial-"+randomSuffix())
	defer os.Remove(tmp)
	if _, err := src.ExecContext(ctx, `VACUUM INTO $1`, tmp); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	// The copy holds password hashes and encrypted secrets: owner only.
	if err := os.Chmod(tmp, 0o600); err != nil {
		return nil, err
	}
	if err := syncFile(tmp); err != nil {
		return nil, err
	}
	info, err := inspectFile(ctx, tmp, out, false)
	if err != nil {
		return nil, fmt.Errorf("backup check: %w", err)
	}
	// A hard link fails when out appeared meanwhile: never an overwrite.
	if err := os.Link(tmp, out); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := syncDir(filepath.Dir(out)); err != nil {
		return nil, err
	}
	info.Path = out
	return info, nil
}

// inspectFile opens a database file on its own and inspects it; name is
// the file's name in messages.
func inspectFile(ctx context.Context, path, name string, full bool) (*SQLiteFileInfo, error) {
	db, err := openSQLiteFile(path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	info, err := inspectSQLite(ctx, db, name, full)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	info.Bytes = st.Size()
	return info, nil
}

// RestoreResult says what RestoreSQLite did.
type RestoreResult struct {
	// Restored describes the database now in place.
	Restored *SQLiteFileInfo
	// Previous is where the replaced database was kept; "" when there
	// was none.
	Previous string
}

// RestoreSQLite replaces the SQLite database of dataDir with the backup
// file from, once it is checked: integrity_check ok, a Roster schema, no
// migration newer than this binary's. It refuses while the database is in
// use (ErrInUse). The replaced database is kept beside it as
// roster.db.YYYYMMDD-HHMMSS.bak, with its write-ahead log folded in.
func RestoreSQLite(ctx context.Context, dataDir, from string, now time.Time) (*RestoreResult, error) {
	st, err := os.Stat(from)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a file", from)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	path := SQLitePath(dataDir)
	// The check reads a copy inside the data folder: the bytes checked are
	// the bytes put in place, and the rename below is atomic.
	tmp := path + ".restore-" + randomSuffix()
	defer os.Remove(tmp)
	if err := copyFile(from, tmp); err != nil {
		return nil, err
	}
	info, err := inspectFile(ctx, tmp, from, true)
	if err != nil {
		return nil, err
	}
	for _, leftover := range []string{tmp + "-wal", tmp + "-shm"} {
		os.Remove(leftover)
	}

	res := &RestoreResult{}
	if _, err := os.Stat(path); err == nil {
		lock, err := lockSQLite(ctx, path)
		if err != nil {
			return nil, err
		}
		defer lock.release()
		// Fold the write-ahead log into the file, so that the kept copy is
		// one self-contained file and no log is left to meet the new one.
		if _, err := lock.conn.ExecContext(ctx, `COMMIT`); err != nil {
			return nil, err
		}
		var mode string
		if err := lock.conn.QueryRowContext(ctx, `PRAGMA journal_mode = DELETE`).Scan(&mode); err != nil || mode != "delete" {
			return nil, fmt.Errorf("fold the write-ahead log of %s: %v (mode %q)", path, err, mode)
		}
		if st, err := os.Stat(path + "-wal"); err == nil && st.Size() > 0 {
			return nil, fmt.Errorf("%s-wal is still there after the checkpoint: nothing was changed", path)
		}
		res.Previous = fmt.Sprintf("%s.%s.bak", path, now.UTC().Format("20060102-150405"))
		if _, err := os.Lstat(res.Previous); err == nil {
			return nil, fmt.Errorf("%s already exists: try again in a second", res.Previous)
		}
		if err := os.Rename(path, res.Previous); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, stale := range []string{path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Remove(stale); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	if err := syncDir(dataDir); err != nil {
		return nil, err
	}
	info.Path = path
	res.Restored = info
	return res, nil
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// copyFile copies src to a new file dst and syncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
