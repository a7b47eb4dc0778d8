package web_test

import (
	"testing"

	"github.com/roster-app/roster"
)

// TestSwitch covers U15: a reseller administrator acts as a dependent
// company's administrator and comes back; events record both identities.
func TestSwitch(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.t = t
		res := e.login("reseller", testPassword)
		admin := e.login("admin", testPassword)
		kid := e.company("Acme Kid", &e.acme.ID)
		e.user(kid.ID, "kidboss", roster.RoleCompanyAdmin)
		empty := e.company("Empty Child", &e.reseller.ID)

		e.run(t, []scenario{
			{name: "ErrForbidden/Own", method: "POST", url: path("/api/v1/companies/%d/switch", e.reseller.ID), token: res, wantStatus: 403},
			{name: "ErrNotFound/Unrelated", method: "POST", url: path("/api/v1/companies/%d/switch", e.other.ID), token: res, wantStatus: 404},
			{name: "ErrNotFound/Parent", method: "POST", url: path("/api/v1/companies/%d/switch", e.reseller.ID), token: admin, wantStatus: 404},
			{name: "ErrNotFound/Grandchild", method: "POST", url: path("/api/v1/companies/%d/switch", kid.ID), token: res, wantStatus: 404},
			{name: "ErrConflict/NoAdministrator", method: "POST", url: path("/api/v1/companies/%d/switch", empty.ID), token: res, wantStatus: 409,
				wantBody: []string{"has no active administrator to switch to."}},
			{name: "ErrInvalid/UserNotAdmin", method: "POST", url: path("/api/v1/companies/%d/switch", e.acme.ID), token: res,
				body: map[string]any{"user_id": e.users["emp"].ID}, wantStatus: 422, wantField: "user_id"},
			{name: "ErrConflict/SwitchBackWithoutSwitch", method: "POST", url: "/api/v1/auth/switch-back", token: res, wantStatus: 409},
		})

		var sw struct {
			Token        string       `json:"token"`
			User         *roster.User `json:"user"`
			Impersonator *roster.User `json:"impersonator"`
		}
		e.expect("POST", path("/api/v1/companies/%d/switch", e.acme.ID), res, nil, 200).JSON(t, &sw)
		if sw.Token == "" || sw.User.ID != e.users["admin"].ID || sw.Impersonator.ID != e.users["reseller"].ID {
			t.Fatalf("switch: %+v", sw)
		}
		var me struct {
			User         roster.User  `json:"user"`
			Impersonator *roster.User `json:"impersonator"`
			Session      struct{ Kind string }
		}
		e.expect("GET", "/api/v1/me", sw.Token, nil, 200).JSON(t, &me)
		if me.User.ID != e.users["admin"].ID || me.Impersonator == nil || me.Impersonator.ID != e.users["reseller"].ID || me.Session.Kind != "switch" {
			t.Fatalf("me while switched: %+v", me)
		}
		// Never chained: a switch session cannot switch again, even into a
		// dependent of the company it acts in.
		e.expect("POST", path("/api/v1/companies/%d/switch", kid.ID), sw.Token, nil, 403)

		// An action while switched is logged with both identities.
		v := e.victim()
		e.expect("POST", path("/api/v1/users/%d/block", v.ID), sw.Token, map[string]string{"comment": "by reseller"}, 200)
		var events struct {
			Items []roster.Event `json:"items"`
		}
		e.expect("GET", path("/api/v1/events?type=user.blocked&user_id=%d", v.ID), admin, nil, 200).JSON(t, &events)
		if len(events.Items) != 1 {
			t.Fatalf("events: %+v", events)
		}
		ev := events.Items[0]
		if ev.ActorID == nil || *ev.ActorID != e.users["admin"].ID || ev.ImpersonatorID == nil || *ev.ImpersonatorID != e.users["reseller"].ID {
			t.Fatalf("event actor %v impersonator %v", ev.ActorID, ev.ImpersonatorID)
		}
		e.expect("GET", "/api/v1/events?type=auth.switch", res, nil, 200).JSON(t, &events)
		if len(events.Items) != 1 || events.Items[0].ActorID == nil || *events.Items[0].ActorID != e.users["reseller"].ID {
			t.Fatalf("switch event: %+v", events.Items)
		}

		// Switch back: the switch token dies, the original one lives on.
		var back struct {
			User roster.User `json:"user"`
		}
		e.expect("POST", "/api/v1/auth/switch-back", sw.Token, nil, 200).JSON(t, &back)
		if back.User.ID != e.users["reseller"].ID {
			t.Fatalf("switch-back user %d", back.User.ID)
		}
		e.expect("GET", "/api/v1/me", sw.Token, nil, 401)
		e.expect("GET", "/api/v1/me", res, nil, 200)
		e.expect("GET", "/api/v1/events?type=auth.switch_back", res, nil, 200).JSON(t, &events)
		if len(events.Items) != 1 {
			t.Fatalf("switch_back events: %+v", events.Items)
		}

		// A named administrator account.
		second := e.user(e.acme.ID, "admin2", roster.RoleCompanyAdmin)
		e.expect("POST", path("/api/v1/companies/%d/switch", e.acme.ID), res, map[string]any{"user_id": second.ID}, 200).JSON(t, &sw)
		if sw.User.ID != second.ID {
			t.Fatalf("switch as %d, got %d", second.ID, sw.User.ID)
		}
		e.expect("GET", "/api/v1/me", sw.Token, nil, 200)

		// The reseller administrator loses companies.switch: the switch
		// session dies on its next request.
		root := e.login("root@example.com", testPassword)
		e.expect("PUT", path("/api/v1/users/%d/roles", e.users["reseller"].ID), root,
			map[string]any{"role_ids": []int64{e.roleID(e.reseller.ID, roster.RoleManager)}}, 200)
		e.expect("GET", "/api/v1/me", sw.Token, nil, 401)
	})
}

// TestEvents covers reading the event log and commenting.
func TestEvents(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.t = t
		admin := e.login("admin", testPassword)
		v := e.victim()
		e.expect("POST", path("/api/v1/users/%d/block", v.ID), admin, map[string]string{"comment": "late"}, 200)
		var page struct {
			Items      []roster.Event `json:"items"`
			NextCursor string         `json:"next_cursor"`
		}
		e.expect("GET", path("/api/v1/events?user_id=%d&type=user.blocked", v.ID), admin, nil, 200).JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].Comment != "late" || page.Items[0].ActorID == nil || *page.Items[0].ActorID != e.users["admin"].ID {
			t.Fatalf("events: %+v", page.Items)
		}
		id := page.Items[0].ID
		e.run(t, []scenario{
			{name: "ErrInvalid/Type", method: "GET", url: "/api/v1/events?type=party", token: admin, wantStatus: 422, wantField: "type"},
			{name: "ErrInvalid/Since", method: "GET", url: "/api/v1/events?since=yesterday", token: admin, wantStatus: 422, wantField: "since"},
			{name: "ErrInvalid/UserID", method: "GET", url: "/api/v1/events?user_id=-1", token: admin, wantStatus: 422, wantField: "user_id"},
			{name: "ErrInvalid/Cursor", method: "GET", url: "/api/v1/events?cursor=bogus", token: admin, wantStatus: 422, wantField: "cursor"},
			{name: "OK/Since", method: "GET", url: "/api/v1/events?since=2000-01-01T00:00:00Z", token: admin, wantStatus: 200},
			{name: "ErrInvalid/EmptyComment", method: "POST", url: path("/api/v1/events/%d/comments", id), token: admin, body: map[string]string{"body": " "}, wantStatus: 422, wantField: "body"},
			{name: "OK/Comment", method: "POST", url: path("/api/v1/events/%d/comments", id), token: admin, body: map[string]string{"body": "Checked with the shift lead."}, wantStatus: 201},
			{name: "OK/GetWithComment", method: "GET", url: path("/api/v1/events/%d", id), token: admin, wantStatus: 200, wantBody: []string{"Checked with the shift lead."}},
			{name: "ErrNotFound/OtherCompany", method: "GET", url: path("/api/v1/events/%d", id), token: e.login("other", testPassword), wantStatus: 404},
		})
		// The list carries the comments too.
		e.expect("GET", path("/api/v1/events?user_id=%d&type=user.blocked", v.ID), admin, nil, 200).JSON(t, &page)
		if len(page.Items) != 1 || len(page.Items[0].Comments) != 1 || page.Items[0].Comments[0].Body != "Checked with the shift lead." ||
			page.Items[0].Comments[0].AuthorID != e.users["admin"].ID {
			t.Fatalf("listed comments: %+v", page.Items)
		}
		// Paging by cursor.
		e.expect("GET", "/api/v1/events?limit=1", admin, nil, 200).JSON(t, &page)
		if len(page.Items) != 1 || page.NextCursor == "" {
			t.Fatalf("first page: %+v", page)
		}
		first := page.Items[0].ID
		e.expect("GET", "/api/v1/events?limit=1&cursor="+page.NextCursor, admin, nil, 200).JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID == first {
			t.Fatalf("second page: %+v", page)
		}
	})
}

// TestRolesAndCompanies covers the roles and companies endpoints beyond the matrix.
func TestRolesAndCompanies(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.t = t
		admin := e.login("admin", testPassword)
		root := e.login("root@example.com", testPassword)
		var role roster.Role
		e.expect("POST", "/api/v1/roles", admin, map[string]any{"name": "Night Shift Lead", "permissions": []string{"users.view", "audit.view"}}, 201).JSON(t, &role)
		if role.Key != "night_shift_lead" || role.System {
			t.Fatalf("role: %+v", role)
		}
		v := e.victim()
		e.expect("PUT", path("/api/v1/users/%d/roles", v.ID), admin, map[string]any{"role_ids": []int64{role.ID}}, 200)
		e.run(t, []scenario{
			{name: "ErrConflict/DuplicateKey", method: "POST", url: "/api/v1/roles", token: admin, body: map[string]any{"name": "Night shift lead"}, wantStatus: 409},
			{name: "ErrInvalid/UnknownPermission", method: "POST", url: "/api/v1/roles", token: admin, body: map[string]any{"name": "X", "permissions": []string{"fly"}}, wantStatus: 422, wantField: "permissions"},
			{name: "ErrInvalid/NoName", method: "POST", url: "/api/v1/roles", token: admin, body: map[string]any{"permissions": []string{}}, wantStatus: 422, wantField: "name"},
			{name: "OK/Rename", method: "PATCH", url: path("/api/v1/roles/%d", role.ID), token: admin, body: map[string]any{"name": "Night lead"}, wantStatus: 200, wantBody: []string{`"Night lead"`}},
			{name: "OK/Users", method: "GET", url: path("/api/v1/roles/%d/users", role.ID), token: admin, wantStatus: 200, wantBody: []string{`"total":1`}},
			{name: "ErrConflict/DeleteHeld", method: "DELETE", url: path("/api/v1/roles/%d", role.ID), token: admin, wantStatus: 409},
			{name: "ErrInvalid/Force", method: "DELETE", url: path("/api/v1/roles/%d?force=perhaps", role.ID), token: admin, wantStatus: 422, wantField: "force"},
			{name: "OK/Export", method: "GET", url: "/api/v1/roles/export", token: admin, wantStatus: 200, wantBody: []string{`"night_shift_lead"`, `"dispatcher"`}},
			{name: "OK/ImportDryRun", method: "POST", url: "/api/v1/roles/import?dry_run=true", token: admin,
				body: map[string]any{"roles": []map[string]any{{"key": "auditor", "name": "Auditor", "permissions": []string{"audit.view"}}}}, wantStatus: 200, wantBody: []string{`"create"`, `"dry_run":true`}},
			{name: "ErrInvalid/ImportBadKey", method: "POST", url: "/api/v1/roles/import", token: admin,
				body: map[string]any{"roles": []map[string]any{{"key": "Bad Key", "name": "Auditor", "permissions": []string{}}}}, wantStatus: 422, wantField: "roles[0].key"},
			{name: "OK/Permissions", method: "GET", url: "/api/v1/permissions", token: admin, wantStatus: 200, wantBody: []string{`"users.view"`}},
			{name: "OK/CompaniesForAdmin", method: "GET", url: "/api/v1/companies", token: admin, wantStatus: 200, wantBody: []string{`"Acme"`}},
			{name: "ErrInvalid/CompanyParent", method: "POST", url: "/api/v1/companies", token: root, body: map[string]any{"name": "X", "parent_id": 999999}, wantStatus: 422, wantField: "parent_id"},
			{name: "ErrInvalid/CompanyName", method: "POST", url: "/api/v1/companies", token: root, body: map[string]any{"name": " "}, wantStatus: 422, wantField: "name"},
			{name: "OK/CompanyDependent", method: "POST", url: "/api/v1/companies", token: root, body: map[string]any{"name": "Acme West", "parent_id": e.acme.ID}, wantStatus: 201,
				wantBody: []string{path(`"parent_id":%d`, e.acme.ID)}},
			{name: "OK/CompanyRename", method: "PATCH", url: path("/api/v1/companies/%d", e.other.ID), token: root, body: map[string]any{"name": "Other Ltd"}, wantStatus: 200, wantBody: []string{`"Other Ltd"`}},
		})
		e.expect("DELETE", path("/api/v1/roles/%d?force=true", role.ID), admin, nil, 409) // v would be left without roles
		e.expect("PUT", path("/api/v1/users/%d/roles", v.ID), admin, map[string]any{"role_ids": []int64{role.ID, e.roles[roster.RoleEmployee]}}, 200)
		e.expect("DELETE", path("/api/v1/roles/%d?force=true", role.ID), admin, nil, 204)
		e.expect("POST", "/api/v1/roles/import", admin, map[string]any{"roles": []map[string]any{{"key": "auditor", "name": "Auditor", "permissions": []string{"audit.view"}}}}, 200)
		e.expect("GET", "/api/v1/roles", admin, nil, 200)
	})
}
