package sqlstore_test

import (
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestUserDirectoryFields: the SCIM fields (migration 0020) are stored on
// creation and update, the manager is a user of the same company (not the
// user), the manager's deletion clears the field, and a list filters by
// userName (e-mail or login) and externalId exactly.
func TestUserDirectoryFields(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		ctx := adminCtx(f)
		boss := f.user(f.co.ID, "Bob", "Boss", roster.RoleEmployee)
		u := &roster.User{CompanyID: f.co.ID, AuthMethod: roster.AuthEmail, Email: "vera@acme.example", FirstName: "Vera",
			ExternalID: "Ext-1", EmployeeNumber: "E-1", Department: "Sales", ManagerID: &boss.ID}
		must(t, s.CreateUser(ctx, u, []int64{f.roles[roster.RoleEmployee].ID}, nil, time.Time{}))
		got, err := s.UserByID(ctx, all, u.ID)
		must(t, err)
		if got.ExternalID != "Ext-1" || got.EmployeeNumber != "E-1" || got.Department != "Sales" || got.ManagerID == nil || *got.ManagerID != boss.ID {
			t.Fatalf("created %+v", got)
		}

		other := f.company("Other", nil)
		stranger := f.user(other.ID, "Sam", "Stranger", roster.RoleEmployee)
		for _, m := range []int64{stranger.ID, u.ID, 999999} {
			_, err := s.UpdateUser(ctx, all, u.ID, roster.UserUpdate{ManagerID: &m})
			if roster.ErrorCode(err) != roster.EINVALID {
				t.Errorf("manager %d: %v", m, err)
			}
		}
		dept, none := "Support", int64(0)
		got, err = s.UpdateUser(ctx, all, u.ID, roster.UserUpdate{Department: &dept, ManagerID: &none})
		must(t, err)
		if got.Department != "Support" || got.ManagerID != nil || got.ExternalID != "Ext-1" {
			t.Errorf("updated %+v", got)
		}
		_, err = s.UpdateUser(ctx, all, u.ID, roster.UserUpdate{ManagerID: &boss.ID})
		must(t, err)
		must(t, s.DeleteUser(ctx, all, boss.ID))
		if got, err = s.UserByID(ctx, all, u.ID); err != nil || got.ManagerID != nil {
			t.Errorf("after the manager's deletion: %+v %v", got, err)
		}

		cid := f.co.ID
		for _, tc := range []struct {
			f    roster.UserFilter
			want int
		}{
			{roster.UserFilter{UserName: "VERA@acme.example"}, 1},
			{roster.UserFilter{UserName: "vera"}, 0},
			{roster.UserFilter{ExternalID: "Ext-1"}, 1},
			{roster.UserFilter{ExternalID: "ext-1"}, 0},
			{roster.UserFilter{ExternalID: "Ext-1", UserName: "other@acme.example"}, 0},
		} {
			tc.f.CompanyID, tc.f.Limit = &cid, 10
			page, err := s.Users(ctx, all, tc.f)
			must(t, err)
			if len(page.Items) != tc.want || page.Total != tc.want {
				t.Errorf("%+v: %d users (total %d), want %d", tc.f, len(page.Items), page.Total, tc.want)
			}
		}
	})
}
