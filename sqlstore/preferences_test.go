package sqlstore_test

import (
	"strings"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestUserPreferences: unset is "", set and replace, per user and per name,
// removal by an empty value, limits, unknown users, and removal with the user.
func TestUserPreferences(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		ann := f.user(f.co.ID, "Ann", "Lee", roster.RoleEmployee)
		bob := f.user(f.co.ID, "Bob", "Ray", roster.RoleEmployee)
		want := func(userID int64, name, value string) {
			t.Helper()
			got, err := s.UserPreference(f.ctx, userID, name)
			must(t, err)
			if got != value {
				t.Fatalf("preference %d/%s = %q, want %q", userID, name, got, value)
			}
		}

		want(ann.ID, roster.PrefUsersView, "")
		must(t, s.SetUserPreference(f.ctx, ann.ID, roster.PrefUsersView, "cards"))
		want(ann.ID, roster.PrefUsersView, "cards")
		want(bob.ID, roster.PrefUsersView, "")
		want(ann.ID, "other", "")
		must(t, s.SetUserPreference(f.ctx, ann.ID, roster.PrefUsersView, "table"))
		want(ann.ID, roster.PrefUsersView, "table")
		must(t, s.SetUserPreference(f.ctx, ann.ID, "other", "x"))
		must(t, s.SetUserPreference(f.ctx, ann.ID, "other", ""))
		want(ann.ID, "other", "")
		want(ann.ID, roster.PrefUsersView, "table")

		wantCode(t, s.SetUserPreference(f.ctx, ann.ID, "", "x"), roster.EINVALID)
		wantCode(t, s.SetUserPreference(f.ctx, ann.ID, "big", strings.Repeat("x", 1000)), roster.EINVALID)
		wantCode(t, s.SetUserPreference(f.ctx, 1<<40, roster.PrefUsersView, "cards"), roster.ENOTFOUND)

		must(t, s.SetUserPreference(f.ctx, bob.ID, roster.PrefUsersView, "cards"))
		must(t, s.DeleteUser(f.ctx, all, bob.ID))
		want(bob.ID, roster.PrefUsersView, "")
		want(ann.ID, roster.PrefUsersView, "table")
	})
}
