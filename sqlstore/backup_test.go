package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestBackupWhileWriting: a backup taken while another connection keeps
// writing is a sound Roster database holding every user committed before
// it and the writer is never blocked for long; an existing file is never
// overwritten.
func TestBackupWhileWriting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	clock := sqlstoretest.NewClock(sqlstoretest.Start)
	s := openSQLite(t, dir, clock)
	f := newFixture(t, s, clock)
	for range 20 {
		f.user(f.co.ID, "Before", "Backup", roster.RoleEmployee)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var werr error
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			u := &roster.User{CompanyID: f.co.ID, AuthMethod: roster.AuthLogin, Login: "during" + string(rune('a'+i%26)) + time.Now().Format("150405.000000"),
				FirstName: "During", LastName: "Backup", PasswordHash: "h"}
			if err := s.CreateUser(ctx, u, []int64{f.roles[roster.RoleEmployee].ID}, nil, time.Time{}); err != nil {
				werr = err
				return
			}
		}
	})
	out := filepath.Join(t.TempDir(), "backup.db")
	info, err := sqlstore.BackupSQLite(ctx, dir, out)
	close(stop)
	wg.Wait()
	must(t, err)
	must(t, werr)
	if info.Path != out || info.Users < 20 || info.SchemaVersion == 0 || info.Pending != 0 || info.Bytes == 0 {
		t.Fatalf("backup info %+v", info)
	}
	st, err := os.Stat(out)
	must(t, err)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", st.Mode().Perm())
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*partial*"))
	if len(leftovers) > 0 {
		t.Errorf("partial files left: %v", leftovers)
	}
	db, err := sql.Open("sqlite", "file:"+out+"?mode=ro")
	must(t, err)
	defer db.Close()
	var check string
	var n int64
	must(t, db.QueryRow(`PRAGMA integrity_check`).Scan(&check))
	must(t, db.QueryRow(`SELECT count(*) FROM users`).Scan(&n))
	if check != "ok" || n != info.Users {
		t.Fatalf("backup: integrity %q, %d users (info says %d)", check, n, info.Users)
	}

	before, _ := os.ReadFile(out)
	if _, err := sqlstore.BackupSQLite(ctx, dir, out); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("backup over an existing file: %v", err)
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
		t.Fatal("the existing file was changed")
	}
	if _, err := sqlstore.BackupSQLite(ctx, t.TempDir(), filepath.Join(t.TempDir(), "x.db")); err == nil {
		t.Fatal("backup of a folder without a database succeeded")
	}
}

// TestRestore: a restore refuses while the database is open, refuses a
// damaged file, a file that is not a Roster database and one from a newer
// Roster, each time leaving the database as it was; otherwise it puts the
// backup in place and keeps the replaced database, write-ahead log folded
// in, as a dated .bak.
func TestRestore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	clock := sqlstoretest.NewClock(sqlstoretest.Start)
	s := openSQLite(t, dir, clock)
	f := newFixture(t, s, clock)
	kept := f.user(f.co.ID, "In", "Backup", roster.RoleEmployee)
	backup := filepath.Join(t.TempDir(), "backup.db")
	_, err := sqlstore.BackupSQLite(ctx, dir, backup)
	must(t, err)
	late := f.user(f.co.ID, "After", "Backup", roster.RoleEmployee)
	now := time.Date(2026, 11, 28, 10, 30, 0, 0, time.UTC)

	if _, err := sqlstore.RestoreSQLite(ctx, dir, backup, now); !errors.Is(err, sqlstore.ErrInUse) {
		t.Fatalf("restore while open: %v, want ErrInUse", err)
	}
	// The installation as a crash leaves it: the last commits are only in
	// the write-ahead log. The restore must keep them in the .bak.
	srcDir := dir
	dir = t.TempDir()
	live := sqlstore.SQLitePath(dir)
	for _, suffix := range []string{"", "-wal"} {
		data, err := os.ReadFile(sqlstore.SQLitePath(srcDir) + suffix)
		must(t, err)
		must(t, os.WriteFile(live+suffix, data, 0o600))
	}
	must(t, s.Close())
	if st, err := os.Stat(live + "-wal"); err != nil || st.Size() == 0 {
		t.Fatalf("no write-ahead log to fold: %v", err)
	}
	fingerprint := func() string {
		var b strings.Builder
		for _, p := range []string{live, live + "-wal"} {
			data, _ := os.ReadFile(p)
			b.Write(data)
		}
		return b.String()
	}
	orig := fingerprint()

	damaged := filepath.Join(t.TempDir(), "damaged.db")
	data, err := os.ReadFile(backup)
	must(t, err)
	for i := 2 * 4096; i < len(data)-4096; i += 4096 {
		copy(data[i+100:], bytes.Repeat([]byte{0xA5}, 200))
	}
	must(t, os.WriteFile(damaged, data, 0o600))
	foreign := filepath.Join(t.TempDir(), "foreign.db")
	fdb, err := sql.Open("sqlite", "file:"+foreign)
	must(t, err)
	_, err = fdb.Exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)`)
	must(t, err)
	must(t, fdb.Close())
	newer := filepath.Join(t.TempDir(), "newer.db")
	raw, err := os.ReadFile(backup)
	must(t, err)
	must(t, os.WriteFile(newer, raw, 0o600))
	ndb, err := sql.Open("sqlite", "file:"+newer)
	must(t, err)
	_, err = ndb.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`)
	must(t, err)
	must(t, ndb.Close())
	text := filepath.Join(t.TempDir(), "notes.txt")
	must(t, os.WriteFile(text, bytes.Repeat([]byte("not a database\n"), 400), 0o600))

	for _, tc := range []struct{ name, file, want string }{
		{"Damaged", damaged, "damaged"},
		{"NotRoster", foreign, "not a Roster database"},
		{"Newer", newer, "newer Roster"},
		{"NotSQLite", text, "not a SQLite database"},
		{"Missing", filepath.Join(t.TempDir(), "none.db"), "no such file"},
	} {
		if _, err := sqlstore.RestoreSQLite(ctx, dir, tc.file, now); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: restore %v, want %q", tc.name, err, tc.want)
		}
		if fingerprint() != orig {
			t.Fatalf("%s: the refused restore changed the database", tc.name)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*restore*")); len(left) > 0 {
		t.Errorf("files left by refused restores: %v", left)
	}

	res, err := sqlstore.RestoreSQLite(ctx, dir, backup, now)
	must(t, err)
	wantBak := live + ".20261128-103000.bak"
	if res.Previous != wantBak || res.Restored.Path != live {
		t.Fatalf("restore result %+v", res)
	}
	for _, p := range []string{live + "-wal", live + "-shm"} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is left beside the restored database", p)
		}
	}
	// The restored database has the backup's users, the kept one every user.
	s2 := openSQLite(t, dir, clock)
	if _, err := s2.UserByID(ctx, all, kept.ID); err != nil {
		t.Fatalf("user from the backup: %v", err)
	}
	if _, err := s2.UserByID(ctx, all, late.ID); roster.ErrorCode(err) != roster.ENOTFOUND {
		t.Fatalf("user created after the backup: %v", err)
	}
	must(t, s2.Close())
	bak, err := sql.Open("sqlite", "file:"+wantBak+"?mode=ro")
	must(t, err)
	defer bak.Close()
	var n int
	must(t, bak.QueryRow(`SELECT count(*) FROM users WHERE id = $1`, late.ID).Scan(&n))
	if n != 1 {
		t.Fatal("the kept database lacks the last user: its write-ahead log was lost")
	}
}
