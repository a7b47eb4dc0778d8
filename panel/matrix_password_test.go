package panel

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestRoleMatrixAllOrNothing: a matrix post changing two roles, one of them
// refused, changes neither and logs nothing.
func TestRoleMatrixAllOrNothing(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		ctx := context.Background()
		mgr := &roster.Role{CompanyID: &f.reseller.ID, Key: "role_keeper", Name: "Role keeper",
			Permissions: []roster.Permission{roster.PermRolesView, roster.PermRolesManage, roster.PermUsersView, roster.PermClientsView}}
		if err := s.CreateRole(ctx, mgr); err != nil {
			t.Fatal(err)
		}
		u := &roster.User{CompanyID: f.reseller.ID, AuthMethod: roster.AuthEmail, Email: "kira@northwind.test", FirstName: "Kira", LastName: "Lind",
			PasswordHash: f.users["olga"].PasswordHash}
		if err := s.CreateUser(ctx, u, []int64{mgr.ID}, nil, clock.Now()); err != nil {
			t.Fatal(err)
		}
		f.users["kira"] = u
		// The allowed change goes to the lower role ID so it is applied first.
		allowed, refused := f.roles[roster.RoleDispatcher], f.roles[roster.RoleEmployee]
		if allowed.ID > refused.ID {
			allowed, refused = refused, allowed
		}
		permsOf := func(id int64) []roster.Permission {
			r, err := s.RoleByID(ctx, roster.Scope{All: true}, id)
			if err != nil {
				t.Fatal(err)
			}
			return r.Permissions
		}
		events := func() int {
			p, err := s.Events(ctx, roster.Scope{All: true}, roster.EventFilter{Type: roster.EventRoleUpdated, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			return len(p.Items)
		}
		beforeAllowed, beforeRefused, beforeEvents := permsOf(allowed.ID), permsOf(refused.ID), events()
		strs := func(ps []roster.Permission) []string {
			out := []string{}
			for _, p := range ps {
				out = append(out, string(p))
			}
			return out
		}
		// Allowed: toggle clients.view (Kira holds it). Refused: add audit.view (she does not).
		toggled := slices.DeleteFunc(slices.Clone(beforeAllowed), func(p roster.Permission) bool { return p == roster.PermClientsView })
		if len(toggled) == len(beforeAllowed) {
			toggled = append(toggled, roster.PermClientsView)
		}
		withAudit := append(slices.Clone(beforeRefused), roster.PermAuditView)
		aid, rid := strconv.FormatInt(allowed.ID, 10), strconv.FormatInt(refused.ID, 10)
		c := f.signedIn("kira")
		rec := c.post("/roles/matrix", url.Values{"role": {aid, rid}, "perm_" + aid: strs(toggled), "perm_" + rid: strs(withAudit)})
		if rec.Code != http.StatusForbidden {
			t.Fatalf("refused matrix: status %d", rec.Code)
		}
		if got := permsOf(allowed.ID); !samePermissions(got, beforeAllowed) {
			t.Fatalf("allowed role changed despite the refusal: %v, was %v", got, beforeAllowed)
		}
		if got := permsOf(refused.ID); !samePermissions(got, beforeRefused) {
			t.Fatalf("refused role changed: %v", got)
		}
		if n := events(); n != beforeEvents {
			t.Fatalf("role events: %d, want %d", n, beforeEvents)
		}
		// Without the refused change, the other one is saved, with its event.
		rec = c.post("/roles/matrix", url.Values{"role": {aid, rid}, "perm_" + aid: strs(toggled), "perm_" + rid: strs(beforeRefused)})
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("allowed matrix: status %d\n%s", rec.Code, rec.Body)
		}
		if got := permsOf(allowed.ID); !samePermissions(got, toggled) {
			t.Fatalf("allowed role: %v, want %v", got, toggled)
		}
		if n := events(); n != beforeEvents+1 {
			t.Fatalf("role events: %d, want %d", n, beforeEvents+1)
		}
	})
}

// TestPanelPasswordChanges: the profile password change ends the user's
// other sessions and keeps the current one; it and the forced change use
// the company's minimum password length, shown in the hint.
func TestPanelPasswordChanges(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		ctx := context.Background()
		min := 16
		if _, err := s.UpdateCompanySettings(ctx, roster.Scope{All: true}, f.reseller.ID, roster.CompanySettingsUpdate{PasswordMinLength: &min}); err != nil {
			t.Fatal(err)
		}
		const short, long = "meadow-copper-1", "meadow-copper-violin"

		t.Run("Profile", func(t *testing.T) {
			here, other := f.signedIn("olga"), f.signedIn("olga")
			if rec := here.get("/profile"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "At least 16 characters") {
				t.Fatalf("profile hint: %d", rec.Code)
			}
			rec := here.post("/profile/password", url.Values{"current_password": {testPassword}, "new_password": {short}, "confirm_password": {short}})
			if rec.Code != 422 || !strings.Contains(rec.Body.String(), "A password needs at least 16 characters.") {
				t.Fatalf("15 characters: %d\n%s", rec.Code, rec.Body)
			}
			if rec := other.get("/profile"); rec.Code != 200 {
				t.Fatalf("a refused change ended the other session: %d", rec.Code)
			}
			rec = here.post("/profile/password", url.Values{"current_password": {testPassword}, "new_password": {long}, "confirm_password": {long}})
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("change: %d\n%s", rec.Code, rec.Body)
			}
			if rec := here.get("/profile"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "olga@northwind.test") {
				t.Fatalf("current session ended: %d", rec.Code)
			}
			if rec := other.get("/profile"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/signin") {
				t.Fatalf("other session still works: %d %s", rec.Code, rec.Header().Get("Location"))
			}
		})

		t.Run("Forced", func(t *testing.T) {
			c := f.client()
			rec := c.post("/signin", url.Values{"username": {f.users["temp"].Username()}, "password": {testPassword}})
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("sign in: %d", rec.Code)
			}
			if rec := c.get("/password/change"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "At least 16 characters") || strings.Contains(rec.Body.String(), "At least 12") {
				t.Fatalf("forced page hint: %d\n%s", rec.Code, rec.Body)
			}
			rec = c.post("/password/change", url.Values{"new_password": {short}, "confirm_password": {short}})
			if rec.Code != 422 || !strings.Contains(rec.Body.String(), "A password needs at least 16 characters.") || !strings.Contains(rec.Body.String(), "At least 16 characters") {
				t.Fatalf("15 characters: %d\n%s", rec.Code, rec.Body)
			}
			if rec := c.post("/password/change", url.Values{"new_password": {long}, "confirm_password": {long}}); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/users" {
				t.Fatalf("forced change: %d %s", rec.Code, rec.Header().Get("Location"))
			}
		})
	})
}
