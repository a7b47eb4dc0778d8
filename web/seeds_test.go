package web_test

import (
	"strings"
	"testing"

	"github.com/roster-app/roster"
)

// TestAppointAdminsAPI: the Company administrator role through the API
// (U7): a reseller's administrator grants it in a dependent company only
// while the Main administrator marks the reseller so; an administrator
// grants it in their own company only while allowed there; only the Main
// administrator changes those settings and the plan (403).
func TestAppointAdminsAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		root, admin, reseller := e.token("root"), e.token("admin"), e.token("reseller")
		n := 0
		newAdmin := func(token string, companyID int64, want int) {
			t.Helper()
			n++
			e.expect("POST", "/api/v1/users", token, map[string]any{"company_id": companyID, "auth_method": "login",
				"login": path("appointed%d", n), "first_name": "New", "last_name": "Admin",
				"role_ids": []int64{e.roleID(companyID, roster.RoleCompanyAdmin)}}, want)
		}
		newAdmin(reseller, e.acme.ID, 403)
		newAdmin(admin, e.acme.ID, 403)
		for _, body := range []map[string]any{{"reseller": true}, {"admins_appoint_admins": true}, {"plan": "standard"}} {
			e.expect("PATCH", path("/api/v1/companies/%d/settings", e.reseller.ID), reseller, body, 403)
			e.expect("PATCH", path("/api/v1/companies/%d/settings", e.acme.ID), admin, body, 403)
		}
		e.expect("PATCH", path("/api/v1/companies/%d/settings", e.acme.ID), root, map[string]any{"plan": "gold"}, 422)
		r := e.expect("PATCH", path("/api/v1/companies/%d/settings", e.reseller.ID), root, map[string]any{"reseller": true}, 200)
		if !strings.Contains(string(r.Body), `"reseller":true`) {
			t.Fatalf("settings: %s", r.Body)
		}
		newAdmin(reseller, e.acme.ID, 201)
		newAdmin(admin, e.acme.ID, 403) // Acme itself is not allowed yet
		e.expect("PATCH", path("/api/v1/companies/%d/settings", e.acme.ID), root, map[string]any{"admins_appoint_admins": true}, 200)
		newAdmin(admin, e.acme.ID, 201)
		newAdmin(root, e.other.ID, 201) // the Main administrator always may
		r = e.expect("GET", path("/api/v1/events?type=company.settings_changed"), root, nil, 200)
		if !strings.Contains(string(r.Body), `"admins_appoint_admins":true`) {
			t.Fatalf("settings change not logged: %s", r.Body)
		}
	})
}

// TestRoleRenameConflictAPI: renaming a role to a name another role of the
// company has, in any case, is 409 like creating one (R1).
func TestRoleRenameConflictAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		admin := e.token("admin")
		var a, b roster.Role
		e.expect("POST", "/api/v1/roles", admin, map[string]any{"name": "Night Desk"}, 201).JSON(t, &a)
		e.expect("POST", "/api/v1/roles", admin, map[string]any{"name": "night desk", "key": "night_two"}, 409)
		e.expect("POST", "/api/v1/roles", admin, map[string]any{"name": "Day Desk"}, 201).JSON(t, &b)
		r := e.expect("PATCH", path("/api/v1/roles/%d", b.ID), admin, map[string]any{"name": "NIGHT DESK"}, 409)
		if !strings.Contains(string(r.Body), `"field":"name"`) {
			t.Fatalf("conflict does not name the field: %s", r.Body)
		}
		e.expect("PATCH", path("/api/v1/roles/%d", b.ID), admin, map[string]any{"name": "Manager"}, 409)
		e.expect("PATCH", path("/api/v1/roles/%d", a.ID), admin, map[string]any{"name": "Night desk"}, 200)
	})
}
