package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// openSQLite opens and migrates a SQLite store in dir on the test clock.
func openSQLite(t *testing.T, dir string, c *sqlstoretest.Clock) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{DataDir: dir, Clock: c.Now, Logger: slog.New(slog.DiscardHandler)})
	must(t, err)
	t.Cleanup(func() { s.Close() })
	must(t, s.Migrate(context.Background()))
	return s
}

// populated is what populate made, for the checks after a copy.
type populated struct {
	admin, ivan, blocked, deleted *roster.User
	company                       *roster.Company
}

// populate fills a store the way using Roster does: companies with a
// reseller, users with system and custom roles, an invited user, a
// session, a blocked user with the event and a comment, a deleted user,
// TOTP secrets and recovery codes, a running and a pending job, sign-in
// failures, an installation secret, preferences, an avatar, queues,
// operator settings, a dialogue, client tags and clients, notification
// settings and deliveries.
func populate(t *testing.T, f *fixture) *populated {
	t.Helper()
	s, ctx := f.s, f.ctx
	p := &populated{company: f.co}
	child := f.company("Acme Night Shift", &f.co.ID)
	root := &roster.User{CompanyID: roster.PlatformCompanyID, AuthMethod: roster.AuthEmail, Email: "root@example.com",
		FirstName: "Main", LastName: "Admin", Status: roster.StatusActive, NameSetBySelf: true, PasswordHash: "$argon2id$root"}
	must(t, s.CreateMainAdmin(ctx, root))
	p.admin = f.user(f.co.ID, "Olga", "Petrova", roster.RoleCompanyAdmin)
	p.ivan = f.user(f.co.ID, "Ivan", "Ivanov", roster.RoleEmployee, roster.RoleChatOperator)
	p.blocked = f.user(f.co.ID, "Boris", "Blokhin", roster.RoleEmployee)
	f.user(child.ID, "Nina", "Nochnaya", roster.RoleDispatcher)
	as := f.actor(p.admin)
	custom := &roster.Role{CompanyID: &f.co.ID, Name: "Shift lead", Permissions: []roster.Permission{roster.PermUsersView, roster.PermUsersBlock}}
	must(t, s.CreateRole(as, custom))
	invited := &roster.User{CompanyID: f.co.ID, AuthMethod: roster.AuthEmail, Email: "maria@acme.example", Status: roster.StatusInvited}
	must(t, s.CreateUser(as, invited, []int64{custom.ID}, []byte("invitation-hash-0123456789abcdef"), f.clock.Now().Add(8*time.Hour)))

	must(t, s.CreateSession(ctx, &roster.Session{TokenHash: []byte("token-of-ivan"), Kind: roster.SessionAPI, UserID: p.ivan.ID,
		Address: "203.0.113.9", UserAgent: "curl", IdleTimeout: time.Hour, ExpiresAt: f.clock.Now().Add(12 * time.Hour)}))
	_, err := s.BlockUser(as, all, p.blocked.ID, "Fired for fraud")
	must(t, err)
	ev, err := s.Events(ctx, all, roster.EventFilter{UserID: &p.blocked.ID, Type: roster.EventUserBlocked})
	must(t, err)
	_, err = s.AddEventComment(as, all, ev.Items[0].ID, "Confirmed by HR")
	must(t, err)
	p.deleted = f.user(f.co.ID, "Dmitri", "Deleted", roster.RoleEmployee)
	must(t, s.DeleteUser(as, all, p.deleted.ID))

	must(t, s.SetPendingTOTP(ctx, p.ivan.ID, "sealed:totp-secret"))
	must(t, s.ConfirmTOTP(ctx, p.ivan.ID, 1234567, [][]byte{[]byte("recovery-1"), []byte("recovery-2")}))
	must(t, s.CreateMFAChallenge(ctx, &roster.MFAChallenge{TokenHash: []byte("mfa-token"), UserID: p.ivan.ID, Method: "totp",
		IssuedAt: f.clock.Now(), Address: "203.0.113.9", ExpiresAt: f.clock.Now().Add(5 * time.Minute)}, nil))
	for _, kind := range []string{"email", "notification"} {
		j, err := roster.NewJob(kind, map[string]string{"to": "ivan@acme.example"})
		must(t, err)
		must(t, s.EnqueueJob(ctx, j))
	}
	_, err = s.ClaimJobs(ctx, "worker-a", []string{"email"}, 1, time.Minute)
	must(t, err)
	_, err = s.RecordLoginFailure(ctx, roster.FailedLogin{Key: roster.LoginKey(p.ivan.Username()), UserID: p.ivan.ID,
		Address: "198.51.100.4", Reason: "wrong_password"})
	must(t, err)
	_, err = s.Secret(ctx, "master_key")
	must(t, err)
	must(t, s.SetUserPreference(ctx, p.ivan.ID, roster.PrefUsersView, "cards"))
	must(t, s.SetAvatar(ctx, &roster.Avatar{UserID: p.ivan.ID, ContentType: "image/png", Data: []byte("\x89PNG\r\n\x1a\n\x00binary")}))

	q := &roster.WorkGroup{CompanyID: f.co.ID, Kind: roster.KindQueue, Name: "Support"}
	must(t, s.CreateWorkGroup(ctx, q))
	_, err = s.AddWorkGroupMembers(ctx, acme(f), roster.KindQueue, q.ID, []int64{p.ivan.ID})
	must(t, err)
	vip := &roster.ClientTag{CompanyID: f.co.ID, Name: "VIP"}
	must(t, s.CreateClientTag(ctx, vip))
	name, email, country, tags := "Anna Berg", "anna@example.de", "DE", []int64{vip.ID}
	_, err = s.CreateClient(ctx, f.co.ID, roster.ClientInput{Name: &name, Email: &email, Country: &country, TagIDs: &tags})
	must(t, err)
	maxD, mask := 3, true
	_, err = s.UpdateOperator(ctx, acme(f), p.ivan.ID, roster.OperatorUpdate{MaxDialogues: &maxD, MaskData: &mask, ClientTagIDs: &tags})
	must(t, err)
	must(t, s.SetPresence(ctx, p.ivan.ID, roster.PresenceOnline))
	_, err = s.AssignDialogue(ctx, f.co.ID, "chat-1")
	must(t, err)
	_, err = s.RecordCall(ctx, &roster.Call{CompanyID: f.co.ID, CallID: "call-1", UserID: p.ivan.ID, Direction: "inbound", DurationSeconds: 42})
	must(t, err)
	must(t, s.SetNotificationPrefs(ctx, p.admin.ID, &roster.NotificationPrefs{TelegramChatID: "12345",
		Subscriptions: []roster.Subscription{{EventType: roster.EventUserBlocked, Channels: []string{roster.ChannelTelegram}}}}))
	_, err = s.BlockUser(as, all, f.user(f.co.ID, "Second", "Blocked", roster.RoleEmployee).ID, "Notified")
	must(t, err)
	return p
}

// TestCopySQLiteToPostgres copies a populated SQLite installation into an
// empty PostgreSQL schema and checks that every table holds the same rows,
// that the PostgreSQL store then works on it (sign-in data, search, the
// event log, the next ids), and the refusals.
func TestCopySQLiteToPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	target := sqlstoretest.EmptyPostgres(t)
	dir := t.TempDir()
	clock := sqlstoretest.NewClock(sqlstoretest.Start)
	src := openSQLite(t, dir, clock)
	p := populate(t, newFixture(t, src, clock))

	// SQLite's AUTOINCREMENT keeps the highest id it ever gave in
	// sqlite_sequence, above the highest id left after deletions: the
	// copy must not give those ids again. (A table made and dropped
	// creates sqlite_sequence whatever the migrations hold.)
	for _, q := range []string{`CREATE TABLE zz_autoincrement (id INTEGER PRIMARY KEY AUTOINCREMENT)`, `DROP TABLE zz_autoincrement`,
		`DELETE FROM sqlite_sequence WHERE name = 'users'`, `INSERT INTO sqlite_sequence (name, seq) VALUES ('users', 1000)`} {
		_, err := src.DB().ExecContext(ctx, q)
		must(t, err)
	}
	var maxCompany int64
	must(t, src.DB().QueryRowContext(ctx, `SELECT max(id) FROM companies`).Scan(&maxCompany))

	// The server (here: an open store) holds the database: refused.
	if _, err := sqlstore.CopySQLiteToPostgres(ctx, dir, target, nil); !errors.Is(err, sqlstore.ErrInUse) {
		t.Fatalf("copy of a database in use: %v, want ErrInUse", err)
	}
	must(t, src.Close())

	rep, err := sqlstore.CopySQLiteToPostgres(ctx, dir, target, nil)
	must(t, err)
	copied := map[string]int64{}
	for _, tc := range rep.Tables {
		copied[tc.Table] = tc.Rows
	}
	for _, table := range []string{"companies", "users", "user_roles", "roles", "role_permissions", "sessions", "events",
		"event_comments", "jobs", "recovery_codes", "settings", "login_throttle", "avatars", "dialogues", "clients"} {
		if copied[table] == 0 {
			t.Errorf("table %s: %d rows copied, want some (report %+v)", table, copied[table], rep.Tables)
		}
	}
	if _, ok := copied["users_fts"]; ok {
		t.Error("the SQLite search index was copied")
	}

	// Every table holds the same rows on both sides, value for value.
	lite, err := sql.Open("sqlite", "file:"+sqlstore.SQLitePath(dir)+"?mode=ro")
	must(t, err)
	pg, err := sql.Open("pgx", target)
	must(t, err)
	defer pg.Close()
	for _, tc := range rep.Tables {
		a, b := tableRows(t, lite, tc.Table), tableRows(t, pg, tc.Table)
		if int64(len(a)) != tc.Rows || !slices.Equal(a, b) {
			t.Errorf("table %s differs after the copy:\nSQLite     %q\nPostgreSQL %q", tc.Table, a, b)
		}
	}
	must(t, lite.Close())
	var empty []string
	for _, tc := range rep.Tables {
		if tc.Rows == 0 {
			empty = append(empty, tc.Table)
		}
	}
	t.Logf("copied %d tables; empty in this installation: %v", len(rep.Tables), empty)

	// The PostgreSQL store works on the copy.
	dst, err := sqlstore.Open(ctx, sqlstore.Config{DatabaseURL: target, Clock: clock.Now, Logger: slog.New(slog.DiscardHandler)})
	must(t, err)
	defer dst.Close()
	if ok, err := dst.SchemaUpToDate(ctx); err != nil || !ok {
		t.Fatalf("schema up to date: %v %v", ok, err)
	}
	ivan, err := dst.UserByID(ctx, all, p.ivan.ID)
	must(t, err)
	if ivan.PasswordHash != p.ivan.PasswordHash || ivan.Login != p.ivan.Login || !ivan.HasRole(roster.RoleChatOperator) {
		t.Fatalf("ivan after the copy: %+v", ivan)
	}
	if ok, err := dst.UseRecoveryCode(ctx, p.ivan.ID, []byte("recovery-2")); err != nil || !ok {
		t.Fatalf("recovery code after the copy: %v %v", ok, err)
	}
	if _, err := dst.SessionByTokenHash(ctx, []byte("token-of-ivan")); err != nil {
		t.Fatalf("session after the copy: %v", err)
	}
	page, err := dst.Users(ctx, all, roster.UserFilter{Query: "ivanov", CompanyID: &p.company.ID})
	must(t, err)
	if len(page.Items) != 1 || page.Items[0].ID != p.ivan.ID {
		t.Fatalf("search after the copy: %+v", page.Items)
	}
	ev, err := dst.Events(ctx, all, roster.EventFilter{UserID: &p.blocked.ID, Type: roster.EventUserBlocked})
	must(t, err)
	if len(ev.Items) != 1 || ev.Items[0].Comment != "Fired for fraud" || !ev.Items[0].CreatedAt.Equal(clock.Now()) {
		t.Fatalf("event log after the copy: %+v", ev.Items)
	}

	// New rows get ids past every id SQLite gave: past the AUTOINCREMENT
	// high-water mark where there is one, past the highest id elsewhere.
	role, err := dst.RoleByKey(ctx, p.company.ID, roster.RoleEmployee)
	must(t, err)
	u := &roster.User{CompanyID: p.company.ID, AuthMethod: roster.AuthLogin, Login: "newcomer", FirstName: "New", LastName: "Comer", PasswordHash: "h"}
	must(t, dst.CreateUser(ctx, u, []int64{role.ID}, nil, time.Time{}))
	co := &roster.Company{Name: "After the move"}
	must(t, dst.CreateCompany(ctx, co))
	if u.ID != 1001 || co.ID != maxCompany+1 {
		t.Fatalf("next ids on PostgreSQL: user %d (want 1001), company %d (want %d)", u.ID, co.ID, maxCompany+1)
	}

	// The target now holds Roster data: a second copy is refused.
	if _, err := sqlstore.CopySQLiteToPostgres(ctx, dir, target, nil); !errors.Is(err, sqlstore.ErrTargetNotEmpty) {
		t.Fatalf("second copy: %v, want ErrTargetNotEmpty", err)
	}
	// So is a database with tables that are not Roster's.
	other := sqlstoretest.EmptyPostgres(t)
	odb, err := sql.Open("pgx", other)
	must(t, err)
	defer odb.Close()
	_, err = odb.ExecContext(ctx, `CREATE TABLE invoices (id bigint PRIMARY KEY)`)
	must(t, err)
	if _, err := sqlstore.CopySQLiteToPostgres(ctx, dir, other, nil); err == nil || !strings.Contains(err.Error(), "not Roster's") {
		t.Fatalf("copy into a foreign database: %v", err)
	}
}

// tableRows reads a table as sorted canonical rows: columns by name,
// times as unix microseconds, booleans as 0/1, bytes as hex, so that a
// SQLite row and its PostgreSQL copy read the same.
func tableRows(t *testing.T, db *sql.DB, table string) []string {
	t.Helper()
	rows, err := db.Query(`SELECT * FROM "` + table + `"`)
	must(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	must(t, err)
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		must(t, rows.Scan(ptrs...))
		fields := make([]string, len(cols))
		for i, v := range vals {
			var s string
			switch v := v.(type) {
			case nil:
				s = "NULL"
			case time.Time:
				s = strconv.FormatInt(v.UnixMicro(), 10)
			case bool:
				s = map[bool]string{false: "0", true: "1"}[v]
			case []byte:
				s = "x" + hex.EncodeToString(v)
			default:
				s = fmt.Sprint(v)
			}
			fields[i] = cols[i] + "=" + s
		}
		sort.Strings(fields)
		out = append(out, strings.Join(fields, " "))
	}
	must(t, rows.Err())
	sort.Strings(out)
	return out
}
