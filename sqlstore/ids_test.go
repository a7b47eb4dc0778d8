package sqlstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestIDsNeverReused: deleting the newest user, role, company, work group,
// client tag or client does not hand its id (and with it its history) to
// the next one created (issue 11, finding 5).
func TestIDsNeverReused(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		ctx, sc := f.ctx, acme(f)

		old := f.user(f.co.ID, "Alice", "Fired", roster.RoleEmployee)
		_, err := s.BlockUser(ctx, all, old.ID, "fired for fraud")
		must(t, err)
		must(t, s.DeleteUser(ctx, all, old.ID))
		u := f.user(f.co.ID, "Bob", "New", roster.RoleEmployee)
		if u.ID <= old.ID {
			t.Errorf("user id %d after deleted user %d", u.ID, old.ID)
		}
		for _, e := range eventsOf(t, s, "", u.ID) {
			if e.Type != roster.EventUserCreated {
				t.Errorf("the new user has the deleted user's %s event", e.Type)
			}
		}

		r := &roster.Role{CompanyID: &f.co.ID, Name: "Temp"}
		must(t, s.CreateRole(ctx, r))
		must(t, s.DeleteRole(ctx, all, r.ID, false))
		r2 := &roster.Role{CompanyID: &f.co.ID, Name: "Temp"}
		must(t, s.CreateRole(ctx, r2))
		if r2.ID <= r.ID {
			t.Errorf("role id %d after deleted role %d", r2.ID, r.ID)
		}

		// Companies are not deleted through the store; an operator could.
		co := f.company("Gone", nil)
		for _, q := range []string{`DELETE FROM roles WHERE company_id = $1`, `DELETE FROM events WHERE company_id = $1`,
			`DELETE FROM companies WHERE id = $1`} {
			if _, err := s.DB().Exec(q, co.ID); err != nil {
				t.Fatal(err)
			}
		}
		if co2 := f.company("Next", nil); co2.ID <= co.ID {
			t.Errorf("company id %d after deleted company %d", co2.ID, co.ID)
		}

		g := &roster.WorkGroup{CompanyID: f.co.ID, Kind: roster.KindQueue, Name: "Q"}
		must(t, s.CreateWorkGroup(ctx, g))
		must(t, s.DeleteWorkGroup(ctx, sc, g.Kind, g.ID))
		g2 := &roster.WorkGroup{CompanyID: f.co.ID, Kind: roster.KindQueue, Name: "Q"}
		must(t, s.CreateWorkGroup(ctx, g2))
		if g2.ID <= g.ID {
			t.Errorf("work group id %d after deleted group %d", g2.ID, g.ID)
		}

		tag := &roster.ClientTag{CompanyID: f.co.ID, Name: "VIP"}
		must(t, s.CreateClientTag(ctx, tag))
		must(t, s.DeleteClientTag(ctx, sc, tag.ID))
		tag2 := &roster.ClientTag{CompanyID: f.co.ID, Name: "VIP"}
		must(t, s.CreateClientTag(ctx, tag2))
		if tag2.ID <= tag.ID {
			t.Errorf("client tag id %d after deleted tag %d", tag2.ID, tag.ID)
		}

		name := "Client"
		cl, err := s.CreateClient(ctx, f.co.ID, roster.ClientInput{Name: &name})
		must(t, err)
		must(t, s.DeleteClient(ctx, sc, nil, cl.ID))
		cl2, err := s.CreateClient(ctx, f.co.ID, roster.ClientInput{Name: &name})
		must(t, err)
		if cl2.ID <= cl.ID {
			t.Errorf("client id %d after deleted client %d", cl2.ID, cl.ID)
		}

		if s.Dialect() == sqlstoretest.SQLite {
			wantAutoincrement(t, s)
		}
	})
}

// wantAutoincrement checks that every SQLite table with an id of its own
// (an INTEGER PRIMARY KEY named id) is AUTOINCREMENT, tables added later
// included.
func wantAutoincrement(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	rows, err := s.DB().Query(`SELECT m.name, m.sql FROM sqlite_master m
		WHERE m.type = 'table' AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) p WHERE p.name = 'id' AND p.pk = 1)
		AND NOT EXISTS (SELECT 1 FROM sqlite_master v WHERE v.sql LIKE 'CREATE VIRTUAL TABLE%' AND m.name LIKE v.name || '\_%' ESCAPE '\')`)
	must(t, err)
	defer rows.Close()
	n := 0
	for rows.Next() {
		var name, ddl string
		must(t, rows.Scan(&name, &ddl))
		n++
		// A one-row table (id fixed to 1) has no ids to reuse.
		if !strings.Contains(ddl, "AUTOINCREMENT") && !strings.Contains(ddl, "CHECK (id = 1)") {
			t.Errorf("table %s reuses ids: %s", name, ddl)
		}
	}
	must(t, rows.Err())
	if n < 14 {
		t.Errorf("only %d tables with ids", n)
	}
}

// standIns are what today's store reads beyond migration 0006, and
// dropStandIns takes them away again.
var (
	standIns = []string{
		`CREATE TABLE webhooks (id INTEGER PRIMARY KEY, company_id INTEGER, event_types TEXT, active BOOLEAN)`,
		`ALTER TABLE companies ADD COLUMN plan TEXT NOT NULL DEFAULT 'standard'`,
		`ALTER TABLE companies ADD COLUMN reseller BOOLEAN NOT NULL DEFAULT FALSE`,
		`ALTER TABLE companies ADD COLUMN admins_appoint_admins BOOLEAN NOT NULL DEFAULT FALSE`,
		`CREATE TABLE notification_disabled_types (event_type TEXT PRIMARY KEY)`,
		`ALTER TABLE users ADD COLUMN external_id TEXT`,
		`ALTER TABLE users ADD COLUMN employee_number TEXT`,
		`ALTER TABLE users ADD COLUMN department TEXT`,
		`ALTER TABLE users ADD COLUMN manager_id INTEGER`,
		`ALTER TABLE users ADD COLUMN version INTEGER NOT NULL DEFAULT 0`,
	}
	dropStandIns = []string{
		`DROP TABLE webhooks`,
		`ALTER TABLE companies DROP COLUMN plan`,
		`ALTER TABLE companies DROP COLUMN reseller`,
		`ALTER TABLE companies DROP COLUMN admins_appoint_admins`,
		`DROP TABLE notification_disabled_types`,
		`ALTER TABLE users DROP COLUMN external_id`,
		`ALTER TABLE users DROP COLUMN employee_number`,
		`ALTER TABLE users DROP COLUMN department`,
		`ALTER TABLE users DROP COLUMN manager_id`,
		`ALTER TABLE users DROP COLUMN version`,
	}
)

// TestMigrationKeepsIDs: a SQLite database at migration 0006 with data,
// whose newest user, role, work group and client tag were deleted, keeps
// every row and id through 0007, and then gives none of the deleted ids
// again.
func TestMigrationKeepsIDs(t *testing.T) {
	ctx := context.Background()
	clock := sqlstoretest.NewClock(sqlstoretest.Start)
	s, err := sqlstore.Open(ctx, sqlstore.Config{DataDir: t.TempDir(), Clock: clock.Now, Logger: slog.New(slog.DiscardHandler)})
	must(t, err)
	defer s.Close()
	must(t, s.MigrateTo(ctx, 6))
	var version int
	must(t, s.DB().QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&version))
	if version != 6 {
		t.Fatalf("schema at %d, want 6", version)
	}

	// Data as a server at 0006 leaves it. Today's store also reads tables
	// and columns that later migrations add (the webhooks a change goes
	// to, the company's plan, the switched-off notification types, the
	// users' SCIM fields and version): stand-ins, dropped before migrating, let it
	// write 0006's rows.
	for _, ddl := range standIns {
		_, err = s.DB().ExecContext(ctx, ddl)
		must(t, err)
	}
	f := newFixture(t, s, clock)
	admin := &roster.User{CompanyID: f.co.ID, AuthMethod: roster.AuthEmail, Email: "ada@acme.example", FirstName: "Ada",
		LastName: "Admin", PasswordHash: "h"}
	must(t, s.CreateUser(ctx, admin, []int64{f.roles[roster.RoleCompanyAdmin].ID}, nil, time.Time{}))
	actx := f.actor(admin)
	alice := f.user(f.co.ID, "Alice", "Fraudster", roster.RoleEmployee, roster.RoleDispatcher)
	_, err = s.BlockUser(actx, all, alice.ID, "fired for fraud")
	must(t, err)
	bob := f.user(f.co.ID, "Bob", "Stays", roster.RoleChatOperator)
	must(t, s.SetNotificationPrefs(ctx, admin.ID, &roster.NotificationPrefs{
		Subscriptions: []roster.Subscription{{EventType: roster.EventUserDeleted, Channels: []string{roster.ChannelEmail}}}}))
	must(t, s.CreateSession(ctx, &roster.Session{TokenHash: []byte("session-token-hash"), Kind: roster.SessionAPI, UserID: bob.ID,
		CreatedAt: clock.Now(), LastSeenAt: clock.Now(), IdleTimeout: time.Hour, ExpiresAt: clock.Now().Add(time.Hour)}))
	q := &roster.WorkGroup{CompanyID: f.co.ID, Kind: roster.KindQueue, Name: "Support"}
	must(t, s.CreateWorkGroup(actx, q))
	_, err = s.AddWorkGroupMembers(actx, acme(f), q.Kind, q.ID, []int64{bob.ID})
	must(t, err)
	tag := &roster.ClientTag{CompanyID: f.co.ID, Name: "VIP"}
	must(t, s.CreateClientTag(actx, tag))
	name := "Client One"
	_, err = s.CreateClient(actx, f.co.ID, roster.ClientInput{Name: &name, TagIDs: &[]int64{tag.ID}})
	must(t, err)
	_, err = s.RecordCall(actx, &roster.Call{CompanyID: f.co.ID, CallID: "c-1", UserID: bob.ID, DurationSeconds: 30})
	must(t, err)
	ev, err := s.Events(ctx, all, roster.EventFilter{Limit: 1})
	must(t, err)
	_, err = s.AddEventComment(actx, all, ev.Items[0].ID, "checked")
	must(t, err)
	// The newest of each, deleted.
	gone := f.user(f.co.ID, "Carol", "Gone", roster.RoleEmployee)
	must(t, s.DeleteUser(actx, all, gone.ID))
	role := &roster.Role{CompanyID: &f.co.ID, Name: "Temp", Permissions: []roster.Permission{roster.PermUsersView}}
	must(t, s.CreateRole(actx, role))
	must(t, s.DeleteRole(actx, all, role.ID, false))
	g := &roster.WorkGroup{CompanyID: f.co.ID, Kind: roster.KindShift, Name: "Night"}
	must(t, s.CreateWorkGroup(actx, g))
	must(t, s.DeleteWorkGroup(actx, acme(f), g.Kind, g.ID))
	oldTag := &roster.ClientTag{CompanyID: f.co.ID, Name: "Old"}
	must(t, s.CreateClientTag(actx, oldTag))
	must(t, s.DeleteClientTag(actx, acme(f), oldTag.ID))

	for _, ddl := range dropStandIns {
		_, err = s.DB().ExecContext(ctx, ddl)
		must(t, err)
	}
	before, cols := dumpTables(t, s, nil), tableColumns(t, s)
	if len(before["notification_deliveries"]) == 0 || len(before["jobs"]) == 0 || len(before["event_comments"]) == 0 {
		t.Fatalf("fixture lacks rows: %d deliveries, %d jobs", len(before["notification_deliveries"]), len(before["jobs"]))
	}
	must(t, s.Migrate(ctx))

	// Columns later migrations add are left out: only what was kept matters.
	after := dumpTables(t, s, cols)
	for table, rows := range before {
		if table == "schema_migrations" {
			continue
		}
		if got := after[table]; strings.Join(got, "\n") != strings.Join(rows, "\n") {
			t.Errorf("table %s changed:\nbefore %q\nafter  %q", table, rows, got)
		}
	}
	wantAutoincrement(t, s)
	for _, pragma := range []string{`PRAGMA integrity_check`, `PRAGMA foreign_keys`} {
		var v string
		must(t, s.DB().QueryRow(pragma).Scan(&v))
		if v != "ok" && v != "1" {
			t.Errorf("%s: %s", pragma, v)
		}
	}
	if rows, err := s.DB().Query(`PRAGMA foreign_key_check`); err != nil {
		t.Fatal(err)
	} else {
		if rows.Next() {
			t.Error("foreign key violations after the migration")
		}
		rows.Close()
	}
	var triggers string
	must(t, s.DB().QueryRow(`SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master
		WHERE type = 'trigger' AND tbl_name = 'users' ORDER BY name)`).Scan(&triggers))
	// The search index's (0022) and users_version (0013).
	if want := "users_fts_update users_name_delete users_name_insert users_name_update users_version"; triggers != want {
		t.Errorf("triggers on users: %s, want %s", triggers, want)
	}

	// The search index still finds the users it had, and new ones.
	search := func(term string) []int64 {
		page, err := s.Users(ctx, acme(f), roster.UserFilter{Query: term, Limit: 10})
		must(t, err)
		var ids []int64
		for _, u := range page.Items {
			ids = append(ids, u.ID)
		}
		return ids
	}
	if got := search("fraudster"); fmt.Sprint(got) != fmt.Sprint([]int64{alice.ID}) {
		t.Errorf("search fraudster: %v, want [%d]", got, alice.ID)
	}
	if got := search("carol"); len(got) != 0 {
		t.Errorf("search carol finds the deleted user: %v", got)
	}

	// No deleted id comes back.
	next := f.user(f.co.ID, "Dave", "Newcomer", roster.RoleEmployee)
	if next.ID <= gone.ID {
		t.Errorf("new user id %d, deleted user had %d", next.ID, gone.ID)
	}
	if got := search("newcomer"); fmt.Sprint(got) != fmt.Sprint([]int64{next.ID}) {
		t.Errorf("search newcomer: %v, want [%d]", got, next.ID)
	}
	for _, e := range eventsOf(t, s, "", next.ID) {
		if e.Type != roster.EventUserCreated {
			t.Errorf("the new user has a deleted user's %s event", e.Type)
		}
	}
	role2 := &roster.Role{CompanyID: &f.co.ID, Name: "Temp"}
	must(t, s.CreateRole(actx, role2))
	if role2.ID <= role.ID {
		t.Errorf("new role id %d, deleted role had %d", role2.ID, role.ID)
	}
	g2 := &roster.WorkGroup{CompanyID: f.co.ID, Kind: roster.KindShift, Name: "Night"}
	must(t, s.CreateWorkGroup(actx, g2))
	if g2.ID <= g.ID {
		t.Errorf("new work group id %d, deleted group had %d", g2.ID, g.ID)
	}
	tag2 := &roster.ClientTag{CompanyID: f.co.ID, Name: "Old"}
	must(t, s.CreateClientTag(actx, tag2))
	if tag2.ID <= oldTag.ID {
		t.Errorf("new client tag id %d, deleted tag had %d", tag2.ID, oldTag.ID)
	}
	// And the rebuilt tables still cascade.
	must(t, s.DeleteUser(actx, all, bob.ID))
	var left int
	must(t, s.DB().QueryRow(`SELECT (SELECT count(*) FROM sessions WHERE user_id = $1) + (SELECT count(*) FROM calls WHERE user_id = $1)
		+ (SELECT count(*) FROM work_group_members WHERE user_id = $1)`, bob.ID).Scan(&left))
	if left != 0 {
		t.Errorf("%d rows of the deleted user remain", left)
	}
}

// dumpTables returns every row of every table (but the search index's
// own), as text, in key order.
// tableColumns names the columns of every table, for a dump of the same
// columns after a migration added some.
func tableColumns(t *testing.T, s *sqlstore.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	for table := range dumpTables(t, s, nil) {
		rows, err := s.DB().Query(`SELECT * FROM ` + table + ` LIMIT 0`)
		must(t, err)
		cols, err := rows.Columns()
		must(t, err)
		rows.Close()
		out[table] = strings.Join(cols, ", ")
	}
	return out
}

// dumpTables dumps every table's rows; columns, when it names a table's,
// limits the dump to them.
func dumpTables(t *testing.T, s *sqlstore.Store, columns map[string]string) map[string][]string {
	t.Helper()
	names, err := s.DB().Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
		AND name NOT LIKE 'users\_fts%' ESCAPE '\' ORDER BY name`)
	must(t, err)
	var tables []string
	for names.Next() {
		var n string
		must(t, names.Scan(&n))
		tables = append(tables, n)
	}
	names.Close()
	out := map[string][]string{}
	for _, table := range tables {
		sel := "*"
		if c := columns[table]; c != "" {
			sel = c
		}
		order := ` ORDER BY 1, 2`
		if sel == "*" {
			// A table of one column is ordered by that one.
			probe, err := s.DB().Query(`SELECT * FROM ` + table + ` LIMIT 0`)
			must(t, err)
			cols, err := probe.Columns()
			probe.Close()
			must(t, err)
			if len(cols) == 1 {
				order = ` ORDER BY 1`
			}
		}
		rows, err := s.DB().Query(`SELECT ` + sel + ` FROM ` + table + order)
		must(t, err)
		cols, err := rows.Columns()
		must(t, err)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			must(t, rows.Scan(ptrs...))
			out[table] = append(out[table], fmt.Sprintf("%v", vals))
		}
		must(t, rows.Err())
		rows.Close()
	}
	return out
}
