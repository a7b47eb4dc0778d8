package sqlstore_test

import (
	"context"
	"database/sql"
	"log/slog"
	"slices"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// Issue 13: the seed rules made explicit (items 2, 4, 9).

// fullActor builds an actor as the web layer does: with the user's company
// and the scope of it and its dependent companies.
func (f *fixture) fullActor(u *roster.User) context.Context {
	f.t.Helper()
	u, err := f.s.UserByID(f.ctx, all, u.ID)
	must(f.t, err)
	perms, err := f.s.UserPermissions(f.ctx, u.ID)
	must(f.t, err)
	c, err := f.s.CompanyByID(f.ctx, all, u.CompanyID)
	must(f.t, err)
	deps, err := f.s.DependentIDs(f.ctx, c.ID)
	must(f.t, err)
	a := &roster.Actor{User: u, Company: c, Permissions: perms, MainAdmin: u.HasRole(roster.RoleMainAdmin),
		Scope: roster.Scope{CompanyIDs: append([]int64{c.ID}, deps...)}}
	return roster.NewContextWithActor(f.ctx, a)
}

// TestAppointCompanyAdmin: a Company administrator grants the Company
// administrator role in a dependent company only while their own company
// is a reseller, in their own company only while the Main administrator
// allows it there, and a Manager never (U7).
func TestAppointCompanyAdmin(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s, nil)
		twin := f.company("Twin", nil)
		dep := f.company("Twin Dependent", &twin.ID)
		twinAdmin := f.user(twin.ID, "Tom", "Twin", roster.RoleCompanyAdmin)
		twinMgr := f.user(twin.ID, "Mia", "Twin", roster.RoleManager)
		depEmp := f.user(dep.ID, "Dan", "Dep", roster.RoleEmployee)
		adminRole := f.rolesOf(dep.ID)[roster.RoleCompanyAdmin]
		employee := f.rolesOf(dep.ID)[roster.RoleEmployee]
		n := 0
		create := func(ctx context.Context, company int64, roles ...int64) error {
			n++
			u := &roster.User{CompanyID: company, AuthMethod: roster.AuthLogin, Login: "appointed" + string(rune('a'+n)),
				FirstName: "New", LastName: "Admin", PasswordHash: "h"}
			return s.CreateUser(ctx, u, roles, nil, sqlstoretest.Start)
		}
		set := func(company int64, upd roster.CompanySettingsUpdate) {
			_, err := s.UpdateCompanySettings(f.ctx, all, company, upd)
			must(t, err)
		}
		yes, no := true, false
		depScope := roster.Scope{CompanyIDs: []int64{twin.ID, dep.ID}}

		wantCode(t, create(f.fullActor(twinAdmin), dep.ID, adminRole.ID), roster.EFORBIDDEN)
		_, err := s.SetUserRoles(f.fullActor(twinAdmin), depScope, depEmp.ID, []int64{employee.ID, adminRole.ID})
		wantCode(t, err, roster.EFORBIDDEN)

		set(twin.ID, roster.CompanySettingsUpdate{Reseller: &yes})
		must(t, create(f.fullActor(twinAdmin), dep.ID, adminRole.ID))
		_, err = s.SetUserRoles(f.fullActor(twinAdmin), depScope, depEmp.ID, []int64{employee.ID, adminRole.ID})
		must(t, err)
		_, err = s.BulkUsers(f.fullActor(twinAdmin), depScope, roster.BulkAction{Action: roster.BulkRemoveRole, RoleID: adminRole.ID, UserIDs: []int64{depEmp.ID}})
		must(t, err)
		// A Manager of the reseller holds no Company administrator role.
		wantCode(t, create(f.fullActor(twinMgr), dep.ID, adminRole.ID), roster.EFORBIDDEN)
		// Not in the reseller's own company, until the Main administrator allows it there.
		wantCode(t, create(f.fullActor(twinAdmin), twin.ID, adminRole.ID), roster.EFORBIDDEN)
		_, err = s.BulkUsers(f.fullActor(twinAdmin), depScope, roster.BulkAction{Action: roster.BulkAddRole, RoleID: adminRole.ID, UserIDs: []int64{twinMgr.ID}})
		wantCode(t, err, roster.ECONFLICT) // refused for that user: nothing changes
		set(twin.ID, roster.CompanySettingsUpdate{AdminsAppointAdmins: &yes})
		must(t, create(f.fullActor(twinAdmin), twin.ID, adminRole.ID))
		// The dependent company's own flag does not let the reseller's rule widen:
		// with reseller off, the dependent company is out of reach again.
		set(twin.ID, roster.CompanySettingsUpdate{Reseller: &no})
		wantCode(t, create(f.fullActor(twinAdmin), dep.ID, adminRole.ID), roster.EFORBIDDEN)
		// Acme's administrator never reaches Twin's dependent company at all.
		acmeAdmin := f.user(f.co.ID, "Ann", "Acme", roster.RoleCompanyAdmin)
		set(f.co.ID, roster.CompanySettingsUpdate{Reseller: &yes})
		wantCode(t, create(f.fullActor(acmeAdmin), dep.ID, adminRole.ID), roster.EFORBIDDEN)
	})
}

// TestPlanDrivesCallStatistics: call statistics are on exactly for the
// Professional and Pro Plus plans, whichever of the two is changed (U13).
func TestPlanDrivesCallStatistics(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s, nil)
		check := func(plan string, stats bool) {
			t.Helper()
			cs, err := s.CompanySettings(f.ctx, all, f.co.ID)
			must(t, err)
			co, err := s.CompanyOperations(f.ctx, all, f.co.ID)
			must(t, err)
			if cs.Plan != plan || co.CallStatistics != stats {
				t.Fatalf("plan %s, call statistics %v; want %s, %v", cs.Plan, co.CallStatistics, plan, stats)
			}
		}
		check(roster.PlanStandard, false)
		for _, c := range []struct {
			plan  string
			stats bool
		}{{roster.PlanProPlus, true}, {roster.PlanProfessional, true}, {roster.PlanStandard, false}} {
			plan := c.plan
			_, err := s.UpdateCompanySettings(f.ctx, all, f.co.ID, roster.CompanySettingsUpdate{Plan: &plan})
			must(t, err)
			check(c.plan, c.stats)
		}
		on, off := true, false
		_, err := s.UpdateCompanyOperations(f.ctx, all, f.co.ID, roster.CompanyOperationsUpdate{CallStatistics: &on})
		must(t, err)
		check(roster.PlanProfessional, true)
		_, err = s.UpdateCompanyOperations(f.ctx, all, f.co.ID, roster.CompanyOperationsUpdate{CallStatistics: &off})
		must(t, err)
		check(roster.PlanStandard, false)
		bad := "gold"
		_, err = s.UpdateCompanySettings(f.ctx, all, f.co.ID, roster.CompanySettingsUpdate{Plan: &bad})
		wantField(t, err, roster.EINVALID, "plan")
		page, err := s.Events(f.ctx, all, roster.EventFilter{Type: roster.EventCompanySettings, Limit: 10})
		must(t, err)
		if len(page.Items) == 0 || page.Items[0].After["plan"] == nil {
			t.Fatalf("plan change not logged: %+v", page.Items)
		}
	})
}

// TestRoleNamesUniqueInAnyCase: creating or renaming a role to a name
// another role of the company has, in any case (Cyrillic too), is a
// conflict on "name" (R1).
func TestRoleNamesUniqueInAnyCase(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s, nil)
		leads := &roster.Role{CompanyID: &f.co.ID, Name: "Team Leads"}
		must(t, s.CreateRole(f.ctx, leads))
		wantField(t, s.CreateRole(f.ctx, &roster.Role{CompanyID: &f.co.ID, Name: "team LEADS", Key: "other_key"}), roster.ECONFLICT, "name")
		senior := &roster.Role{CompanyID: &f.co.ID, Name: "Старшие операторы", Key: "senior"}
		must(t, s.CreateRole(f.ctx, senior))
		rename := func(id int64, name string) error {
			_, err := s.UpdateRole(f.ctx, all, id, roster.RoleUpdate{Name: &name})
			return err
		}
		wantField(t, rename(leads.ID, "СТАРШИЕ ОПЕРАТОРЫ"), roster.ECONFLICT, "name")
		wantField(t, rename(senior.ID, "TEAM leads"), roster.ECONFLICT, "name")
		wantField(t, rename(senior.ID, "company ADMINISTRATOR"), roster.ECONFLICT, "name")
		wantField(t, rename(senior.ID, "dispatcher"), roster.ECONFLICT, "name")
		must(t, rename(leads.ID, "TEAM LEADS")) // its own name in another case
		// Another company may use the name.
		other := f.company("Other", nil)
		must(t, s.CreateRole(f.ctx, &roster.Role{CompanyID: &other.ID, Name: "Team Leads"}))
	})
}

// TestAdministratorsGetNewPermissions: a permission added to the catalog
// after a database was made reaches the Company administrator ("has all
// permissions", seed 003) and the Main administrator: until migrated, the
// schema is out of date; migrating grants it.
func TestAdministratorsGetNewPermissions(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s, nil)
		admin := f.user(f.co.ID, "Ann", "Admin", roster.RoleCompanyAdmin)
		// The database as a release without webhooks.manage left it.
		must(t, s.Write(f.ctx, func(tx *sql.Tx) error {
			_, err := tx.Exec(`DELETE FROM role_permissions WHERE permission = 'webhooks.manage'
				AND role_id IN (SELECT id FROM roles WHERE company_id IS NULL)`)
			return err
		}))
		perms, err := s.UserPermissions(f.ctx, admin.ID)
		must(t, err)
		if perms.Has(roster.PermWebhooksManage) {
			t.Fatal("setup: the permission was not removed")
		}
		ok, err := s.SchemaUpToDate(f.ctx)
		must(t, err)
		if ok {
			t.Fatal("a system role lacking a catalog permission counts as up to date")
		}
		must(t, s.Migrate(f.ctx))
		ok, err = s.SchemaUpToDate(f.ctx)
		must(t, err)
		if !ok {
			t.Fatal("not up to date after Migrate")
		}
		perms, err = s.UserPermissions(f.ctx, admin.ID)
		must(t, err)
		if !perms.Equal(roster.NewPermissionSet(roster.CompanyPermissions()...)) {
			t.Fatalf("company administrator holds %v, want every company permission", perms.Sorted())
		}
		role, err := s.RoleByKey(f.ctx, f.co.ID, roster.RoleCompanyAdmin)
		must(t, err)
		if !slices.Contains(role.Permissions, roster.PermWebhooksManage) {
			t.Fatalf("company administrator role = %v", role.Permissions)
		}
	})
}

// TestMigrationPlanFromCallStatistics: migration 0018 makes companies with
// call statistics on Professional and the others Standard (SQLite; the
// PostgreSQL file is the same statements).
func TestMigrationPlanFromCallStatistics(t *testing.T) {
	ctx := context.Background()
	clock := sqlstoretest.NewClock(sqlstoretest.Start)
	s, err := sqlstore.Open(ctx, sqlstore.Config{DataDir: t.TempDir(), Clock: clock.Now, Logger: slog.New(slog.DiscardHandler)})
	must(t, err)
	defer s.Close()
	must(t, s.MigrateTo(ctx, 12))
	_, err = s.DB().Exec(`INSERT INTO companies (id, name, created_at, updated_at) VALUES
		(2, 'Calls', '2026-01-01 00:00:00', '2026-01-01 00:00:00'), (3, 'Quiet', '2026-01-01 00:00:00', '2026-01-01 00:00:00'),
		(4, 'Off', '2026-01-01 00:00:00', '2026-01-01 00:00:00')`)
	must(t, err)
	_, err = s.DB().Exec(`INSERT INTO company_operations (company_id, call_statistics, updated_at) VALUES
		(2, TRUE, '2026-01-01 00:00:00'), (4, FALSE, '2026-01-01 00:00:00')`)
	must(t, err)
	must(t, s.Migrate(ctx))
	for id, want := range map[int64]string{2: roster.PlanProfessional, 3: roster.PlanStandard, 4: roster.PlanStandard} {
		cs, err := s.CompanySettings(ctx, all, id)
		must(t, err)
		if cs.Plan != want || cs.Reseller || cs.AdminsAppointAdmins {
			t.Errorf("company %d: %+v, want plan %s", id, cs, want)
		}
	}
}
