package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

var all = roster.Scope{All: true}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if roster.ErrorCode(err) != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
}

func wantField(t *testing.T, err error, code, field string) {
	t.Helper()
	wantCode(t, err, code)
	e := err.(*roster.Error)
	for _, f := range e.Fields {
		if f.Field == field {
			return
		}
	}
	t.Fatalf("error %v has no field %q: %+v", err, field, e.Fields)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fixture is a store with a company, its roles and a few helpers.
type fixture struct {
	t     *testing.T
	s     *sqlstore.Store
	clock *sqlstoretest.Clock
	ctx   context.Context
	co    *roster.Company
	roles map[string]*roster.Role // by key: the company's and system roles
	n     int
}

func newFixture(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) *fixture {
	f := &fixture{t: t, s: s, clock: c, ctx: context.Background()}
	f.co = f.company("Acme", nil)
	f.roles = f.rolesOf(f.co.ID)
	return f
}

func (f *fixture) company(name string, parent *int64) *roster.Company {
	f.t.Helper()
	c := &roster.Company{Name: name, ParentID: parent}
	must(f.t, f.s.CreateCompany(f.ctx, c))
	return c
}

func (f *fixture) rolesOf(companyID int64) map[string]*roster.Role {
	f.t.Helper()
	rs, err := f.s.Roles(f.ctx, companyID)
	must(f.t, err)
	m := map[string]*roster.Role{}
	for _, r := range rs {
		m[r.Key] = r
	}
	return m
}

// user creates a login-method user in company with roles given by key.
func (f *fixture) user(companyID int64, first, last string, keys ...string) *roster.User {
	f.t.Helper()
	f.n++
	roles := f.rolesOf(companyID)
	var ids []int64
	for _, k := range keys {
		ids = append(ids, roles[k].ID)
	}
	u := &roster.User{CompanyID: companyID, AuthMethod: roster.AuthLogin, Login: fmt.Sprintf("user%d", f.n),
		FirstName: first, LastName: last, Phone: fmt.Sprintf("+7 (900) 000-%04d", f.n), PasswordHash: "h"}
	must(f.t, f.s.CreateUser(f.ctx, u, ids, nil, time.Time{}))
	return u
}

// actor builds an actor from a stored user, as the web layer would.
func (f *fixture) actor(u *roster.User) context.Context {
	f.t.Helper()
	u, err := f.s.UserByID(f.ctx, all, u.ID)
	must(f.t, err)
	perms, err := f.s.UserPermissions(f.ctx, u.ID)
	must(f.t, err)
	a := &roster.Actor{User: u, Permissions: perms, MainAdmin: u.HasRole(roster.RoleMainAdmin),
		Scope: roster.Scope{CompanyIDs: []int64{u.CompanyID}}, Address: "203.0.113.7"}
	if a.MainAdmin {
		a.Scope = all
	}
	return roster.NewContextWithActor(f.ctx, a)
}

func TestMigrateIdempotent(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		must(t, s.Migrate(ctx))
		must(t, s.Migrate(ctx))
		ok, err := s.SchemaUpToDate(ctx)
		must(t, err)
		if !ok {
			t.Fatal("schema not up to date after Migrate")
		}
		c, err := s.CompanyByID(ctx, all, roster.PlatformCompanyID)
		must(t, err)
		if c.Name != "Roster" {
			t.Fatalf("platform company = %+v", c)
		}
		rs, err := s.Roles(ctx, roster.PlatformCompanyID)
		must(t, err)
		if len(rs) != 2 || !rs[0].System || len(rs[0].Permissions) != len(roster.AllPermissions()) {
			t.Fatalf("system roles = %+v", rs)
		}
		// A new company gets an ID after the platform company's.
		co := &roster.Company{Name: "Next"}
		must(t, s.CreateCompany(ctx, co))
		if co.ID <= roster.PlatformCompanyID {
			t.Fatalf("company id = %d", co.ID)
		}
	})
}

func TestCompanies(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		for _, dr := range roster.DefaultRoles {
			r := f.roles[dr.Key]
			if r == nil || r.System || r.Name != dr.Name || len(r.Permissions) != len(dr.Permissions) {
				t.Fatalf("default role %s = %+v", dr.Key, r)
			}
		}
		child := f.company("Child", &f.co.ID)
		ids, err := s.DependentIDs(f.ctx, f.co.ID)
		must(t, err)
		if !slices.Equal(ids, []int64{child.ID}) {
			t.Fatalf("dependents = %v", ids)
		}
		err = s.CreateCompany(f.ctx, &roster.Company{Name: "Orphan", ParentID: new(int64(9999))})
		wantField(t, err, roster.EINVALID, "parent_id")
		_, err = s.CompanyByID(f.ctx, roster.Scope{CompanyIDs: []int64{child.ID}}, f.co.ID)
		wantCode(t, err, roster.ENOTFOUND)
		got, err := s.RenameCompany(f.ctx, all, child.ID, "Kid")
		must(t, err)
		if got.Name != "Kid" {
			t.Fatal(got)
		}
		cs, err := s.Companies(f.ctx, roster.Scope{CompanyIDs: []int64{f.co.ID, child.ID}})
		must(t, err)
		if len(cs) != 2 || cs[0].Name != "Acme" {
			t.Fatalf("companies = %+v", cs)
		}
	})
}

func TestCreateUser(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		exp := c.Now().Add(roster.InvitationTTL)
		u := &roster.User{CompanyID: f.co.ID, AuthMethod: roster.AuthEmail, Email: "Anna@Example.com", Phone: "+1 555 0100"}
		must(t, s.CreateUser(f.ctx, u, []int64{f.roles["dispatcher"].ID}, []byte("invhash"), exp))
		got, err := s.UserByID(f.ctx, all, u.ID)
		must(t, err)
		if got.Email != "anna@example.com" || got.Status != roster.StatusInvited || got.InvitationExpiresAt == nil ||
			!got.InvitationExpiresAt.Equal(exp) || len(got.Roles) != 1 || got.Roles[0].Key != "dispatcher" || !got.CreatedAt.Equal(c.Now()) {
			t.Fatalf("user = %+v", got)
		}
		byName, err := s.UserByUsername(f.ctx, " ANNA@example.COM ")
		must(t, err)
		if byName.ID != u.ID {
			t.Fatal(byName)
		}
		// Duplicates, case-insensitively, in another company too.
		other := f.company("Other", nil)
		oroles := f.rolesOf(other.ID)
		dup := &roster.User{CompanyID: other.ID, AuthMethod: roster.AuthEmail, Email: "ANNA@example.com"}
		wantField(t, s.CreateUser(f.ctx, dup, []int64{oroles["employee"].ID}, nil, time.Time{}), roster.ECONFLICT, "email")
		l := f.user(f.co.ID, "Lev", "Tolstoy", "employee")
		dup = &roster.User{CompanyID: other.ID, AuthMethod: roster.AuthLogin, Login: "USER" + l.Login[4:], FirstName: "A", LastName: "B"}
		wantField(t, s.CreateUser(f.ctx, dup, []int64{oroles["employee"].ID}, nil, time.Time{}), roster.ECONFLICT, "login")
		// Roles of another company are unknown; none at all is refused.
		x := &roster.User{CompanyID: other.ID, AuthMethod: roster.AuthEmail, Email: "x@example.com"}
		wantField(t, s.CreateUser(f.ctx, x, []int64{f.roles["employee"].ID}, nil, time.Time{}), roster.EINVALID, "role_ids")
		wantField(t, s.CreateUser(f.ctx, x, nil, nil, time.Time{}), roster.EINVALID, "role_ids")
		// Scope: another company's user is not found.
		_, err = s.UserByID(f.ctx, roster.Scope{CompanyIDs: []int64{other.ID}}, u.ID)
		wantCode(t, err, roster.ENOTFOUND)
		perms, err := s.UserPermissions(f.ctx, u.ID)
		must(t, err)
		if !perms.Has(roster.PermUsersView) || perms.Has(roster.PermUsersCreate) {
			t.Fatalf("perms = %v", perms)
		}
	})
}

func TestEscalation(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s, nil)
		manager := f.user(f.co.ID, "Mona", "Manager", "manager")
		admin := f.user(f.co.ID, "Adam", "Admin", "company_admin")
		emp := f.user(f.co.ID, "Eve", "Employee", "dispatcher")
		ctx := f.actor(manager)
		scope := roster.Scope{CompanyIDs: []int64{f.co.ID}}
		// Granting Company administrator needs the Main administrator.
		u := &roster.User{CompanyID: f.co.ID, AuthMethod: roster.AuthLogin, Login: "newbie", FirstName: "N", LastName: "B"}
		wantCode(t, s.CreateUser(ctx, u, []int64{f.roles["company_admin"].ID}, nil, time.Time{}), roster.EFORBIDDEN)
		_, err := s.SetUserRoles(ctx, scope, emp.ID, []int64{f.roles["company_admin"].ID})
		wantCode(t, err, roster.EFORBIDDEN)
		// A manager cannot touch an administrator.
		_, err = s.BlockUser(ctx, scope, admin.ID, "no")
		wantCode(t, err, roster.EFORBIDDEN)
		wantCode(t, s.SetPassword(ctx, scope, admin.ID, "x", true), roster.EFORBIDDEN)
		wantCode(t, s.DeleteUser(ctx, scope, admin.ID), roster.EFORBIDDEN)
		// Blocking or deleting oneself is refused.
		_, err = s.BlockUser(ctx, scope, manager.ID, "me")
		wantCode(t, err, roster.EFORBIDDEN)
		wantCode(t, s.DeleteUser(ctx, scope, manager.ID), roster.EFORBIDDEN)
		// But the manager may add the agent group manager role; not the
		// employee role, which can handle calls, as the manager cannot.
		_, err = s.SetUserRoles(ctx, scope, emp.ID, []int64{f.roles["employee"].ID, f.roles["dispatcher"].ID})
		wantCode(t, err, roster.EFORBIDDEN)
		got, err := s.SetUserRoles(ctx, scope, emp.ID, []int64{f.roles["agent_group_manager"].ID, f.roles["dispatcher"].ID})
		must(t, err)
		if len(got.Roles) != 2 {
			t.Fatal(got.Roles)
		}
		_, err = s.SetUserRoles(ctx, scope, emp.ID, nil)
		wantField(t, err, roster.EINVALID, "role_ids")
		// Updating names: an admin cannot change a name the user set.
		name := "Evelyn"
		_, err = s.UpdateUser(f.actor(emp), scope, emp.ID, roster.UserUpdate{FirstName: &name})
		must(t, err)
		other := "Eva"
		_, err = s.UpdateUser(f.actor(admin), scope, emp.ID, roster.UserUpdate{FirstName: &other})
		wantCode(t, err, roster.EFORBIDDEN)
		phone := "+1 222 333"
		got, err = s.UpdateUser(f.actor(admin), scope, emp.ID, roster.UserUpdate{Phone: &phone})
		must(t, err)
		if got.Phone != phone || got.FirstName != "Evelyn" {
			t.Fatal(got)
		}
	})
}

func TestBlockEndsSessions(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		admin := f.user(f.co.ID, "Adam", "Admin", "company_admin")
		emp := f.user(f.co.ID, "Eve", "Employee", "employee")
		ss := &roster.Session{TokenHash: []byte("tok-eve"), Kind: roster.SessionAPI, UserID: emp.ID,
			IdleTimeout: time.Hour, ExpiresAt: c.Now().Add(2 * time.Hour)}
		must(t, s.CreateSession(f.ctx, ss))
		_, err := s.SessionByTokenHash(f.ctx, []byte("tok-eve"))
		must(t, err)
		got, err := s.BlockUser(f.actor(admin), all, emp.ID, "left the company")
		must(t, err)
		if got.Status != roster.StatusBlocked {
			t.Fatal(got.Status)
		}
		_, err = s.SessionByTokenHash(f.ctx, []byte("tok-eve"))
		wantCode(t, err, roster.ENOTFOUND)
		got, err = s.UnblockUser(f.actor(admin), all, emp.ID, "back")
		must(t, err)
		if got.Status != roster.StatusActive {
			t.Fatal(got.Status)
		}
		ev, err := s.Events(f.ctx, all, roster.EventFilter{UserID: &emp.ID, Type: roster.EventUserBlocked})
		must(t, err)
		if len(ev.Items) != 1 || ev.Items[0].Comment != "left the company" || ev.Items[0].Before["status"] != "active" ||
			ev.Items[0].After["status"] != "blocked" || *ev.Items[0].ActorID != admin.ID || ev.Items[0].Address != "203.0.113.7" {
			t.Fatalf("events = %+v", ev.Items)
		}
	})
}

func TestSessionsExpire(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		u := f.user(f.co.ID, "Ivan", "Idle", "employee")
		mk := func(tok string, idle, abs time.Duration) *roster.Session {
			ss := &roster.Session{TokenHash: []byte(tok), Kind: roster.SessionAPI, UserID: u.ID,
				IdleTimeout: idle, ExpiresAt: c.Now().Add(abs), Address: "198.51.100.1", UserAgent: "test"}
			must(t, s.CreateSession(f.ctx, ss))
			return ss
		}
		idle := mk("idle", 10*time.Minute, 12*time.Hour)
		abs := mk("abs", time.Hour, 50*time.Minute)
		c.Advance(9 * time.Minute)
		must(t, s.TouchSession(f.ctx, idle.ID, c.Now()))
		c.Advance(9 * time.Minute) // idle: 9 since touch; abs: 18 since start
		_, err := s.SessionByTokenHash(f.ctx, []byte("idle"))
		must(t, err)
		c.Advance(2 * time.Minute)
		_, err = s.SessionByTokenHash(f.ctx, []byte("idle"))
		wantCode(t, err, roster.ENOTFOUND)
		for range 4 {
			must(t, s.TouchSession(f.ctx, abs.ID, c.Now()))
			c.Advance(10 * time.Minute)
		}
		_, err = s.SessionByTokenHash(f.ctx, []byte("abs"))
		wantCode(t, err, roster.ENOTFOUND)
		live := mk("live", time.Hour, 2*time.Hour)
		n, err := s.DeleteExpiredSessions(f.ctx)
		must(t, err)
		if n != 2 {
			t.Fatalf("deleted %d expired sessions, want 2", n)
		}
		got, err := s.SessionByTokenHash(f.ctx, []byte("live"))
		must(t, err)
		if got.ID != live.ID || got.IdleTimeout != time.Hour || got.UserAgent != "test" {
			t.Fatal(got)
		}
		must(t, s.DeleteSession(f.ctx, live.ID))
		_, err = s.SessionByTokenHash(f.ctx, []byte("live"))
		wantCode(t, err, roster.ENOTFOUND)
	})
}

func TestBulk(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s, nil)
		manager := f.user(f.co.ID, "Mona", "Manager", "manager")
		admin := f.user(f.co.ID, "Adam", "Admin", "company_admin")
		a := f.user(f.co.ID, "Al", "One", "dispatcher")
		b := f.user(f.co.ID, "Bo", "Two", "dispatcher")
		ctx := f.actor(manager)
		scope := roster.Scope{CompanyIDs: []int64{f.co.ID}}
		_, err := s.BulkUsers(ctx, scope, roster.BulkAction{Action: roster.BulkBlock, Comment: "x",
			UserIDs: []int64{a.ID, admin.ID, 99999, b.ID}})
		wantCode(t, err, roster.ECONFLICT)
		refs := err.(*roster.Error).Refusals
		if len(refs) != 2 || refs[0].UserID != admin.ID || refs[0].Code != "forbidden" || refs[1].Code != "not_found" {
			t.Fatalf("refusals = %+v", refs)
		}
		got, _ := s.UserByID(f.ctx, all, a.ID)
		if got.Status != roster.StatusActive {
			t.Fatal("bulk changed a user although refused")
		}
		res, err := s.BulkUsers(ctx, scope, roster.BulkAction{Action: roster.BulkBlock, Comment: "x", UserIDs: []int64{a.ID, b.ID}})
		must(t, err)
		if res.Affected != 2 {
			t.Fatal(res)
		}
		// Already blocked: a no-op, not a refusal.
		res, err = s.BulkUsers(ctx, scope, roster.BulkAction{Action: roster.BulkBlock, Comment: "x", UserIDs: []int64{a.ID}})
		must(t, err)
		if res.Affected != 0 {
			t.Fatal(res)
		}
		// By filter: every blocked user gets the dispatcher role.
		res, err = s.BulkUsers(ctx, scope, roster.BulkAction{Action: roster.BulkAddRole, RoleID: f.roles["agent_group_manager"].ID,
			Filter: &roster.UserFilter{Status: roster.StatusBlocked}})
		must(t, err)
		if res.Affected != 2 {
			t.Fatal(res)
		}
		// Removing the last role is refused.
		_, err = s.BulkUsers(ctx, scope, roster.BulkAction{Action: roster.BulkRemoveRole, RoleID: f.roles["manager"].ID, UserIDs: []int64{manager.ID}})
		wantCode(t, err, roster.ECONFLICT)
		// The manager cannot grant company_admin in bulk: who may appoint
		// one depends on each user's company, so it is a refusal per user.
		_, err = s.BulkUsers(ctx, scope, roster.BulkAction{Action: roster.BulkAddRole, RoleID: f.roles["company_admin"].ID, UserIDs: []int64{a.ID}})
		wantCode(t, err, roster.ECONFLICT)
		var rerr *roster.Error
		if !errors.As(err, &rerr) || len(rerr.Refusals) != 1 || rerr.Refusals[0].UserID != a.ID || rerr.Refusals[0].Code != "forbidden" {
			t.Fatalf("refusals = %+v", err)
		}
		res, err = s.BulkUsers(f.actor(admin), scope, roster.BulkAction{Action: roster.BulkDelete, UserIDs: []int64{a.ID, b.ID}})
		must(t, err)
		if res.Affected != 2 {
			t.Fatal(res)
		}
		_, err = s.UserByID(f.ctx, all, a.ID)
		wantCode(t, err, roster.ENOTFOUND)
		ev, err := s.Events(f.ctx, all, roster.EventFilter{UserID: &a.ID, Type: roster.EventUserDeleted})
		must(t, err)
		if len(ev.Items) != 1 || ev.Items[0].TargetName != "Al One" {
			t.Fatalf("delete events = %+v", ev.Items)
		}
	})
}

// TestBulkInTurn: actions applied in turn in one transaction; a refusal
// in the second undoes the first.
func TestBulkInTurn(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s, nil)
		admin := f.user(f.co.ID, "Adam", "Admin", "company_admin")
		a := f.user(f.co.ID, "Al", "One", "dispatcher")
		b := f.user(f.co.ID, "Bo", "Two", "employee")
		ctx := f.actor(admin)
		scope := roster.Scope{CompanyIDs: []int64{f.co.ID}}
		manager, employee := f.roles["manager"].ID, f.roles["employee"].ID
		_, err := s.BulkUsersInTurn(ctx, scope, []roster.BulkAction{
			{Action: roster.BulkAddRole, RoleID: manager, UserIDs: []int64{a.ID}},
			{Action: roster.BulkRemoveRole, RoleID: employee, UserIDs: []int64{b.ID}}, // Bo's only role
		})
		wantCode(t, err, roster.ECONFLICT)
		if got, _ := s.UserByID(f.ctx, all, a.ID); got.HasRole("manager") {
			t.Fatal("the first action stayed although the second was refused")
		}
		res, err := s.BulkUsersInTurn(ctx, scope, []roster.BulkAction{
			{Action: roster.BulkAddRole, RoleID: manager, UserIDs: []int64{a.ID, b.ID}},
			{Action: roster.BulkRemoveRole, RoleID: employee, UserIDs: []int64{b.ID}},
		})
		must(t, err)
		if len(res) != 2 || res[0].Affected != 2 || res[1].Affected != 1 {
			t.Fatalf("results = %+v", res)
		}
		if got, _ := s.UserByID(f.ctx, all, b.ID); !got.HasRole("manager") || got.HasRole("employee") {
			t.Fatalf("Bo's roles: %+v", got.Roles)
		}
	})
}

func TestRoles(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s, nil)
		scope := roster.Scope{CompanyIDs: []int64{f.co.ID}}
		r := &roster.Role{CompanyID: &f.co.ID, Name: "Night shift", Permissions: []roster.Permission{roster.PermUsersView}}
		must(t, s.CreateRole(f.ctx, r))
		if r.Key != "night_shift" {
			t.Fatal(r.Key)
		}
		wantField(t, s.CreateRole(f.ctx, &roster.Role{CompanyID: &f.co.ID, Name: "Night shift"}), roster.ECONFLICT, "name")
		_, err := s.UpdateRole(f.ctx, scope, f.roles["company_admin"].ID, roster.RoleUpdate{Name: new("X")})
		wantCode(t, err, roster.EFORBIDDEN)
		perms := []roster.Permission{roster.PermUsersView, roster.PermAuditView}
		got, err := s.UpdateRole(f.ctx, scope, r.ID, roster.RoleUpdate{Name: new("Nights"), Permissions: &perms})
		must(t, err)
		if got.Name != "Nights" || len(got.Permissions) != 2 {
			t.Fatal(got)
		}
		// A dispatcher-level actor cannot add permissions they lack.
		disp := f.user(f.co.ID, "Dan", "Disp", "dispatcher")
		more := []roster.Permission{roster.PermUsersDelete}
		_, err = s.UpdateRole(f.actor(disp), scope, r.ID, roster.RoleUpdate{Permissions: &more})
		wantCode(t, err, roster.EFORBIDDEN)
		// Delete refused while held, forced works unless it is someone's last role.
		u := f.user(f.co.ID, "Hal", "Holder", "employee", "night_shift")
		wantCode(t, s.DeleteRole(f.ctx, scope, r.ID, false), roster.ECONFLICT)
		only := f.user(f.co.ID, "Ola", "Only", "night_shift")
		err = s.DeleteRole(f.ctx, scope, r.ID, true)
		wantCode(t, err, roster.ECONFLICT)
		if refs := err.(*roster.Error).Refusals; len(refs) != 1 || refs[0].UserID != only.ID {
			t.Fatal(refs)
		}
		_, err = s.SetUserRoles(f.ctx, scope, only.ID, []int64{f.roles["employee"].ID})
		must(t, err)
		must(t, s.DeleteRole(f.ctx, scope, r.ID, true))
		got2, err := s.UserByID(f.ctx, all, u.ID)
		must(t, err)
		if len(got2.Roles) != 1 || got2.Roles[0].Key != "employee" {
			t.Fatal(got2.Roles)
		}
		_, err = s.RoleByID(f.ctx, scope, r.ID)
		wantCode(t, err, roster.ENOTFOUND)
		// System roles are visible by id; another company's role is not.
		other := f.company("Other", nil)
		_, err = s.RoleByID(f.ctx, scope, f.rolesOf(other.ID)["employee"].ID)
		wantCode(t, err, roster.ENOTFOUND)
		sys, err := s.RoleByKey(f.ctx, f.co.ID, roster.RoleCompanyAdmin)
		must(t, err)
		if !sys.System {
			t.Fatal(sys)
		}
		page, err := s.RoleUsers(f.ctx, scope, f.roles["employee"].ID, roster.UserFilter{})
		must(t, err)
		if page.Total != 2 {
			t.Fatalf("employee holders = %d", page.Total)
		}
	})
}

func TestImportRoles(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s, nil)
		in := []roster.RoleExport{
			{Key: "dispatcher", Name: "Dispatcher", Permissions: []roster.Permission{roster.PermUsersView}},
			{Key: "auditor", Name: "Auditor", Permissions: []roster.Permission{roster.PermAuditView}},
			{Key: "employee", Name: "Employee", Permissions: roster.DefaultRoles[3].Permissions},
		}
		ch, err := s.ImportRoles(f.ctx, f.co.ID, in, true)
		must(t, err)
		if ch[0].Action != "update" || len(ch[0].Removed) != 2 || ch[1].Action != "create" || ch[2].Action != "unchanged" {
			t.Fatalf("dry run = %+v", ch)
		}
		if _, ok := f.rolesOf(f.co.ID)["auditor"]; ok {
			t.Fatal("dry run created a role")
		}
		_, err = s.ImportRoles(f.ctx, f.co.ID, in, false)
		must(t, err)
		rs := f.rolesOf(f.co.ID)
		if rs["auditor"] == nil || len(rs["dispatcher"].Permissions) != 1 {
			t.Fatalf("after import: %+v", rs)
		}
		ch, err = s.ImportRoles(f.ctx, f.co.ID, in, true)
		must(t, err)
		for _, c := range ch {
			if c.Action != "unchanged" {
				t.Fatalf("second import = %+v", ch)
			}
		}
	})
}

func TestEventsAndComments(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s, nil)
		admin := f.user(f.co.ID, "Adam", "Admin", "company_admin")
		reseller := f.user(f.co.ID, "Rita", "Reseller", "company_admin")
		emp := f.user(f.co.ID, "Eve", "Employee", "employee")
		ctx := f.actor(admin)
		a := roster.ActorFromContext(ctx)
		a.Impersonator = reseller
		scope := roster.Scope{CompanyIDs: []int64{f.co.ID}}
		pos := "Lead"
		_, err := s.UpdateUser(ctx, scope, emp.ID, roster.UserUpdate{Position: &pos})
		must(t, err)
		page, err := s.Events(f.ctx, scope, roster.EventFilter{UserID: &emp.ID, Type: roster.EventUserUpdated})
		must(t, err)
		if len(page.Items) != 1 {
			t.Fatalf("events = %+v", page.Items)
		}
		e := page.Items[0]
		if *e.ActorID != admin.ID || e.ActorName != "Adam Admin" || *e.ImpersonatorID != reseller.ID ||
			e.ImpersonatorName != "Rita Reseller" || e.Address != "203.0.113.7" || e.Before["position"] != "" ||
			e.After["position"] != "Lead" || e.TargetName != "Eve Employee" {
			t.Fatalf("event = %+v", e)
		}
		// The filter by user matches the actor too.
		page, err = s.Events(f.ctx, scope, roster.EventFilter{UserID: &admin.ID})
		must(t, err)
		if len(page.Items) != 2 { // created (target) and the update (actor)
			t.Fatalf("admin events = %d", len(page.Items))
		}
		cm, err := s.AddEventComment(ctx, scope, e.ID, "checked")
		must(t, err)
		got, err := s.EventByID(f.ctx, scope, e.ID)
		must(t, err)
		if len(got.Comments) != 1 || got.Comments[0].ID != cm.ID || got.Comments[0].AuthorName != "Adam Admin" {
			t.Fatal(got.Comments)
		}
		_, err = s.EventByID(f.ctx, roster.Scope{CompanyIDs: []int64{9999}}, e.ID)
		wantCode(t, err, roster.ENOTFOUND)
		// The list carries every event's comments (filled by one query per
		// page), oldest first, and an event without comments has [].
		cm2, err := s.AddEventComment(ctx, scope, e.ID, "and again")
		must(t, err)
		listed, err := s.Events(f.ctx, scope, roster.EventFilter{})
		must(t, err)
		for _, it := range listed.Items {
			switch {
			case it.ID == e.ID:
				if len(it.Comments) != 2 || it.Comments[0].ID != cm.ID || it.Comments[1].ID != cm2.ID ||
					it.Comments[1].Body != "and again" || it.Comments[0].AuthorID != admin.ID {
					t.Fatalf("listed comments = %+v", it.Comments)
				}
			case it.Comments == nil || len(it.Comments) != 0:
				t.Fatalf("event %d comments = %#v", it.ID, it.Comments)
			}
		}
		// Paging: newest first, every event once.
		seen := map[int64]bool{}
		cur := ""
		for {
			p, err := s.Events(f.ctx, scope, roster.EventFilter{Limit: 2, Cursor: cur})
			must(t, err)
			for _, it := range p.Items {
				if seen[it.ID] {
					t.Fatal("event seen twice")
				}
				seen[it.ID] = true
			}
			if cur = p.NextCursor; cur == "" {
				break
			}
		}
		if len(seen) != 5 { // 3 created, 1 updated, 1 company created
			t.Fatalf("paged %d events", len(seen))
		}
		must(t, s.LogEvent(ctx, &roster.Event{Type: roster.EventSignOut, TargetUserID: &admin.ID}))
		must(t, s.RecordSignIn(f.ctx, emp.ID))
		must(t, s.RecordSignInFailure(f.ctx, emp.ID, "bad_password"))
		must(t, s.RecordSignInFailure(f.ctx, 99999, "bad_password"))
		got2, err := s.UserByID(f.ctx, all, emp.ID)
		must(t, err)
		if got2.LastLoginAt == nil {
			t.Fatal("last login not set")
		}
	})
}

func TestPlatform(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		has, err := s.HasMainAdmin(ctx)
		must(t, err)
		if has {
			t.Fatal("main admin on a fresh database")
		}
		must(t, s.SetBootstrapToken(ctx, []byte("boot")))
		wantCode(t, s.UseBootstrapToken(ctx, []byte("wrong"), &roster.User{}), roster.ENOTFOUND)
		u := &roster.User{AuthMethod: roster.AuthEmail, Email: "root@example.com", FirstName: "Root", PasswordHash: "h"}
		must(t, s.UseBootstrapToken(ctx, []byte("boot"), u))
		wantCode(t, s.UseBootstrapToken(ctx, []byte("boot"), &roster.User{AuthMethod: roster.AuthEmail, Email: "b@example.com"}), roster.ENOTFOUND)
		if has, _ = s.HasMainAdmin(ctx); !has {
			t.Fatal("no main admin after bootstrap")
		}
		got, err := s.UserByID(ctx, all, u.ID)
		must(t, err)
		if got.CompanyID != roster.PlatformCompanyID || !got.HasRole(roster.RoleMainAdmin) {
			t.Fatal(got)
		}
		wantCode(t, s.CreateMainAdmin(ctx, &roster.User{AuthMethod: roster.AuthEmail, Email: "c@example.com"}), roster.ECONFLICT)
		k1, err := s.Secret(ctx, "cursor")
		must(t, err)
		k2, err := s.Secret(ctx, "cursor")
		must(t, err)
		if len(k1) != 32 || string(k1) != string(k2) {
			t.Fatal("secret not stable")
		}
	})
}

func TestPasswords(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		u := &roster.User{CompanyID: f.co.ID, AuthMethod: roster.AuthEmail, Email: "inv@example.com"}
		must(t, s.CreateUser(f.ctx, u, []int64{f.roles["employee"].ID}, []byte("h1"), c.Now().Add(time.Hour)))
		must(t, s.ResendInvitation(f.ctx, all, u.ID, []byte("h2"), c.Now().Add(8*time.Hour)))
		s1 := &roster.Session{TokenHash: []byte("a"), Kind: roster.SessionPasswordChange, UserID: u.ID, IdleTimeout: time.Hour, ExpiresAt: c.Now().Add(time.Hour)}
		s2 := &roster.Session{TokenHash: []byte("b"), Kind: roster.SessionAPI, UserID: u.ID, IdleTimeout: time.Hour, ExpiresAt: c.Now().Add(time.Hour)}
		must(t, s.CreateSession(f.ctx, s1))
		must(t, s.CreateSession(f.ctx, s2))
		ctx := roster.NewContextWithActor(f.ctx, &roster.Actor{User: u, SessionID: s1.ID})
		must(t, s.ChangeOwnPassword(ctx, u.ID, "newhash"))
		got, err := s.UserByID(f.ctx, all, u.ID)
		must(t, err)
		if got.Status != roster.StatusActive || got.PasswordHash != "newhash" || got.PasswordTemporary {
			t.Fatal(got)
		}
		_, err = s.SessionByTokenHash(f.ctx, []byte("a"))
		must(t, err)
		_, err = s.SessionByTokenHash(f.ctx, []byte("b"))
		wantCode(t, err, roster.ENOTFOUND)
		wantCode(t, s.ResendInvitation(f.ctx, all, u.ID, []byte("h3"), c.Now()), roster.ECONFLICT)
		must(t, s.SetPassword(f.ctx, all, u.ID, "temp", true))
		_, err = s.SessionByTokenHash(f.ctx, []byte("a"))
		wantCode(t, err, roster.ENOTFOUND)
		got, _ = s.UserByID(f.ctx, all, u.ID)
		if !got.PasswordTemporary {
			t.Fatal("not temporary")
		}
		// Unblocking a never-registered user makes them invited again.
		inv := &roster.User{CompanyID: f.co.ID, AuthMethod: roster.AuthEmail, Email: "never@example.com"}
		must(t, s.CreateUser(f.ctx, inv, []int64{f.roles["employee"].ID}, []byte("h4"), c.Now().Add(time.Hour)))
		_, err = s.BlockUser(f.ctx, all, inv.ID, "x")
		must(t, err)
		got, err = s.UnblockUser(f.ctx, all, inv.ID, "y")
		must(t, err)
		if got.Status != roster.StatusInvited {
			t.Fatal(got.Status)
		}
	})
}
