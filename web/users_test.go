package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/roster-app/roster"
)

// userPage is a decoded users list.
type userPage struct {
	Items []struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
	} `json:"items"`
	Total      int    `json:"total"`
	NextCursor string `json:"next_cursor"`
}

func TestUsersCRUDAndBadInput(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.t = t
		admin := e.login("admin", testPassword)
		emp := e.roles[roster.RoleEmployee]
		otherRole := e.roleID(e.other.ID, roster.RoleEmployee)
		loginUser := func(login string) map[string]any {
			return map[string]any{"auth_method": "login", "login": login, "first_name": "Ivan", "last_name": "Petrov", "role_ids": []int64{emp}}
		}
		with := func(m map[string]any, k string, v any) map[string]any {
			out := map[string]any{}
			for a, b := range m {
				out[a] = b
			}
			if v == nil {
				delete(out, k)
			} else {
				out[k] = v
			}
			return out
		}
		e.expect("POST", "/api/v1/users", admin, loginUser("Ivanov7"), 201)
		e.expect("POST", "/api/v1/users", admin, map[string]any{"auth_method": "email", "email": "Maria@Acme.example", "role_ids": []int64{emp}}, 201)

		e.run(t, []scenario{
			{name: "OK/Invitation", method: "POST", url: "/api/v1/users", token: admin,
				body:       map[string]any{"auth_method": "email", "email": "new@acme.example", "phone": "+7 900 123-45-67", "role_ids": []int64{emp}},
				wantStatus: 201, wantBody: []string{`"status":"invited"`, `"invitation_expires_at"`}},
			{name: "OK/Generated", method: "POST", url: "/api/v1/users", token: admin,
				body: map[string]any{"auth_method": "email", "email": "gen@acme.example", "credentials": "generated", "role_ids": []int64{emp}}, wantStatus: 201,
				wantBody: []string{`"temporary_password"`, `"password_change_required":true`}},
			{name: "OK/Manual", method: "POST", url: "/api/v1/users", token: admin,
				body: with(loginUser("manual1"), "credentials", "manual"), wantStatus: 422, wantField: "password"},
			{name: "OK/ManualWithPassword", method: "POST", url: "/api/v1/users", token: admin,
				body: with(with(loginUser("manual2"), "credentials", "manual"), "password", "a fine long phrase"), wantStatus: 201},
			{name: "ErrInvalid/ManualWeakPassword", method: "POST", url: "/api/v1/users", token: admin,
				body: with(with(loginUser("manual3"), "credentials", "manual"), "password", "qwerty123"), wantStatus: 422, wantField: "password"},
			{name: "ErrInvalid/MalformedEmail", method: "POST", url: "/api/v1/users", token: admin,
				body: map[string]any{"auth_method": "email", "email": "not-an-email", "role_ids": []int64{emp}}, wantStatus: 422, wantField: "email"},
			{name: "ErrInvalid/NonLatinLogin", method: "POST", url: "/api/v1/users", token: admin,
				body: loginUser("иван"), wantStatus: 422, wantField: "login"},
			{name: "ErrInvalid/InvitationForLogin", method: "POST", url: "/api/v1/users", token: admin,
				body: with(loginUser("inv1"), "credentials", "invitation"), wantStatus: 422, wantField: "credentials"},
			{name: "ErrInvalid/NoRoles", method: "POST", url: "/api/v1/users", token: admin,
				body: with(loginUser("noroles"), "role_ids", nil), wantStatus: 422, wantField: "role_ids"},
			{name: "ErrInvalid/UnknownRole", method: "POST", url: "/api/v1/users", token: admin,
				body: with(loginUser("badrole"), "role_ids", []int64{999999}), wantStatus: 422, wantField: "role_ids"},
			{name: "ErrInvalid/OtherCompanysRole", method: "POST", url: "/api/v1/users", token: admin,
				body: with(loginUser("badrole2"), "role_ids", []int64{otherRole}), wantStatus: 422, wantField: "role_ids"},
			{name: "ErrInvalid/OtherCompany", method: "POST", url: "/api/v1/users", token: admin,
				body: with(loginUser("elsewhere"), "company_id", e.other.ID), wantStatus: 422, wantField: "company_id"},
			{name: "ErrConflict/DuplicateLogin", method: "POST", url: "/api/v1/users", token: admin,
				body: loginUser("IVANOV7"), wantStatus: 409, wantField: "login"},
			{name: "ErrConflict/DuplicateEmail", method: "POST", url: "/api/v1/users", token: admin,
				body: map[string]any{"auth_method": "email", "email": "maria@ACME.example", "role_ids": []int64{emp}}, wantStatus: 409, wantField: "email"},
			{name: "ErrInvalid/UnknownField", method: "POST", url: "/api/v1/users", token: admin,
				body: with(loginUser("unk"), "nickname", "x"), wantStatus: 422, wantField: "nickname"},
			{name: "ErrInvalid/WrongType", method: "POST", url: "/api/v1/users", token: admin,
				body: with(loginUser("wt"), "role_ids", "dispatcher"), wantStatus: 422, wantField: "role_ids"},
			{name: "ErrInvalid/WrongTypeString", method: "POST", url: "/api/v1/users", token: admin,
				body: with(loginUser("wt2"), "first_name", 5), wantStatus: 422, wantField: "first_name"},
			{name: "ErrBadRequest/BadJSON", method: "POST", url: "/api/v1/users", token: admin,
				body: `{"auth_method": "login",`, wantStatus: 400, wantBody: []string{"not valid JSON"}},
			{name: "ErrBadRequest/Syntax", method: "POST", url: "/api/v1/users", token: admin,
				body: `{"auth_method": login}`, wantStatus: 400, wantBody: []string{"byte"}},
			{name: "ErrBadRequest/Empty", method: "POST", url: "/api/v1/users", token: admin,
				body: ``, wantStatus: 400},
			{name: "ErrBadRequest/TwoValues", method: "POST", url: "/api/v1/users", token: admin,
				body: `{} {}`, wantStatus: 400},
			{name: "ErrTooLarge", method: "POST", url: "/api/v1/users", token: admin,
				body: `{"first_name": "` + strings.Repeat("a", 2<<20) + `"}`, wantStatus: 413},

			{name: "ErrNotFound/BadID", method: "GET", url: "/api/v1/users/abc", token: admin, wantStatus: 404},
			{name: "ErrNotFound/Zero", method: "GET", url: "/api/v1/users/0", token: admin, wantStatus: 404},
			{name: "ErrNotFound/Missing", method: "GET", url: "/api/v1/users/99999999", token: admin, wantStatus: 404},
			{name: "ErrNotFound/OtherCompany", method: "GET", url: path("/api/v1/users/%d", e.users["other"].ID), token: admin, wantStatus: 404},
			{name: "ErrNotFound/NoRoute", method: "GET", url: "/api/v1/nothing", token: admin, wantStatus: 404},
			{name: "ErrMethodNotAllowed", method: "PUT", url: "/api/v1/users", token: admin, wantStatus: 405, wantBody: []string{"GET, POST"}},

			{name: "ErrInvalid/Status", method: "GET", url: "/api/v1/users?status=foo", token: admin, wantStatus: 422, wantField: "status"},
			{name: "ErrInvalid/Sort", method: "GET", url: "/api/v1/users?sort=bar", token: admin, wantStatus: 422, wantField: "sort"},
			{name: "OK/SortLastSignIn", method: "GET", url: "/api/v1/users?sort=-last_login_at", token: admin, wantStatus: 200, wantBody: []string{`"sort":"-last_login_at"`, `"offset":0`}},
			{name: "OK/SortStatus", method: "GET", url: "/api/v1/users?sort=status&limit=1", token: admin, wantStatus: 200, wantBody: []string{`"sort":"status"`, `"next_cursor":"`}},
			{name: "ErrInvalid/Limit", method: "GET", url: "/api/v1/users?limit=abc", token: admin, wantStatus: 422, wantField: "limit"},
			{name: "ErrInvalid/LimitRange", method: "GET", url: "/api/v1/users?limit=500", token: admin, wantStatus: 422, wantField: "limit"},
			{name: "ErrInvalid/Invitation", method: "GET", url: "/api/v1/users?invitation=soon", token: admin, wantStatus: 422, wantField: "invitation"},
			{name: "ErrInvalid/CompanyID", method: "GET", url: "/api/v1/users?company_id=x", token: admin, wantStatus: 422, wantField: "company_id"},
			{name: "ErrInvalid/UnknownParameter", method: "GET", url: "/api/v1/users?colour=red", token: admin, wantStatus: 422, wantField: "colour"},
			{name: "ErrInvalid/UnknownRole", method: "GET", url: "/api/v1/users?role=astronaut", token: admin, wantStatus: 422, wantField: "role"},
			{name: "ErrInvalid/TamperedCursor", method: "GET", url: "/api/v1/users?cursor=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", token: admin, wantStatus: 422, wantField: "cursor"},
		})

		t.Run("NothingHalfWritten", func(t *testing.T) {
			e.t = t
			// Company administrator is granted only by the Main administrator:
			// the refused create leaves no user behind.
			e.expect("POST", "/api/v1/users", admin, with(loginUser("sneaky"), "role_ids", []int64{e.roles[roster.RoleCompanyAdmin], emp}), 403)
			var p userPage
			e.expect("GET", "/api/v1/users?q=sneaky", admin, nil, 200).JSON(t, &p)
			if p.Total != 0 {
				t.Fatalf("refused create left %+v", p)
			}
		})

		t.Run("GetPatchDelete", func(t *testing.T) {
			e.t = t
			v := e.victim()
			u := path("/api/v1/users/%d", v.ID)
			e.expect("GET", u, admin, nil, 200)
			e.run(t, []scenario{
				{name: "OK", method: "PATCH", url: u, token: admin, body: map[string]any{"position": " Shift lead ", "work_phone": "+1 555 0100"},
					wantStatus: 200, wantBody: []string{`"position":"Shift lead"`, `"work_phone":"+1 555 0100"`}},
				{name: "ErrInvalid/Email", method: "PATCH", url: u, token: admin, body: map[string]any{"email": "x@y.example"},
					wantStatus: 422, wantField: "email", wantBody: []string{"E-mail never changes after creation."}},
				{name: "ErrInvalid/Login", method: "PATCH", url: u, token: admin, body: map[string]any{"login": "other"}, wantStatus: 422, wantField: "login"},
				{name: "ErrInvalid/AuthMethod", method: "PATCH", url: u, token: admin, body: map[string]any{"auth_method": "email"}, wantStatus: 422, wantField: "auth_method"},
				{name: "ErrInvalid/Phone", method: "PATCH", url: u, token: admin, body: map[string]any{"phone": "call me"}, wantStatus: 422, wantField: "phone"},
				{name: "ErrInvalid/Name", method: "PATCH", url: u, token: admin, body: map[string]any{"first_name": "<script>"}, wantStatus: 422, wantField: "first_name"},
				{name: "ErrInvalid/BlockNoComment", method: "POST", url: u + "/block", token: admin, body: map[string]any{"comment": "  "}, wantStatus: 422, wantField: "comment"},
				{name: "ErrInvalid/BlockNoBody", method: "POST", url: u + "/block", token: admin, wantStatus: 400},
				{name: "ErrInvalid/RolesEmpty", method: "PUT", url: u + "/roles", token: admin, body: map[string]any{"role_ids": []int64{}}, wantStatus: 422, wantField: "role_ids"},
				{name: "OK/PasswordReset", method: "POST", url: u + "/password-reset", token: admin, wantStatus: 200, wantBody: []string{"temporary_password"}},
				{name: "ErrConflict/InviteActive", method: "POST", url: u + "/invitation", token: admin, wantStatus: 409},
				{name: "OK/Delete", method: "DELETE", url: u, token: admin, wantStatus: 204},
				{name: "ErrNotFound/Deleted", method: "GET", url: u, token: admin, wantStatus: 404},
			})
			inv := e.invited()
			e.expect("POST", path("/api/v1/users/%d/password-reset", inv.ID), admin, nil, 202)
			e.expect("POST", path("/api/v1/users/%d/invitation", inv.ID), admin, nil, 200)
		})

		t.Run("SearchFiltersCursor", func(t *testing.T) {
			e.t = t
			for _, l := range []string{"zeta1", "zeta2", "zeta3", "zeta4", "zeta5"} {
				e.user(e.acme.ID, l, roster.RoleChatOperator)
			}
			var p userPage
			e.expect("GET", "/api/v1/users?q=ZETA", admin, nil, 200).JSON(t, &p)
			if p.Total != 5 {
				t.Fatalf("q=ZETA total %d", p.Total)
			}
			id := p.Items[0].ID
			e.expect("GET", path("/api/v1/users?q=%d", id), admin, nil, 200).JSON(t, &p)
			if len(p.Items) == 0 || p.Items[0].ID != id {
				t.Fatalf("q=id: %+v", p)
			}
			e.expect("GET", "/api/v1/users?role=chat_operator", admin, nil, 200).JSON(t, &p)
			if p.Total != 5 {
				t.Fatalf("role=chat_operator total %d", p.Total)
			}
			e.expect("GET", path("/api/v1/users?role=%d", e.roles[roster.RoleChatOperator]), admin, nil, 200).JSON(t, &p)
			if p.Total != 5 {
				t.Fatalf("role=id total %d", p.Total)
			}
			e.expect("GET", "/api/v1/users?invitation=pending&status=invited", admin, nil, 200).JSON(t, &p)
			if p.Total < 1 {
				t.Fatalf("pending invitations: %+v", p)
			}
			// Walk pages of two by cursor, sorted by name descending.
			seen := map[int64]bool{}
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 5 {
					t.Fatal("too many pages")
				}
				e.expect("GET", "/api/v1/users?q=zeta&limit=2&sort=-name&cursor="+cursor, admin, nil, 200).JSON(t, &p)
				for _, it := range p.Items {
					if seen[it.ID] {
						t.Fatalf("user %d on two pages", it.ID)
					}
					seen[it.ID] = true
				}
				if p.NextCursor == "" {
					break
				}
				cursor = p.NextCursor
			}
			if len(seen) != 5 {
				t.Fatalf("cursor walk saw %d users", len(seen))
			}
			// The reseller sees Acme's users too; a company filter narrows.
			res := e.login("reseller", testPassword)
			e.expect("GET", path("/api/v1/users?company_id=%d&q=zeta", e.acme.ID), res, nil, 200).JSON(t, &p)
			if p.Total != 5 {
				t.Fatalf("reseller company filter total %d", p.Total)
			}
			e.expect("GET", path("/api/v1/users?company_id=%d", e.other.ID), res, nil, 422)
		})
	})
}

// TestEscalation checks U7: nobody grants more than they have.
func TestEscalation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.t = t
		mgr := e.user(e.acme.ID, "mgr", roster.RoleManager)
		_ = mgr
		mgrTok := e.login("mgr", testPassword)
		admin := e.login("admin", testPassword)
		root := e.login("root@example.com", testPassword)
		v := e.victim()
		rolesURL := path("/api/v1/users/%d/roles", v.ID)
		e.run(t, []scenario{
			{name: "ManagerCannotGrantCompanyAdmin", method: "PUT", url: rolesURL, token: mgrTok,
				body: map[string]any{"role_ids": []int64{e.roles[roster.RoleCompanyAdmin]}}, wantStatus: 403},
			{name: "ManagerCannotCreateCompanyAdmin", method: "POST", url: "/api/v1/users", token: mgrTok,
				body: map[string]any{"auth_method": "login", "login": "boss2", "first_name": "B", "last_name": "B", "role_ids": []int64{e.roles[roster.RoleCompanyAdmin]}}, wantStatus: 403},
			{name: "ManagerCannotGiveRolePermissionsTheyLack", method: "POST", url: "/api/v1/roles", token: mgrTok,
				body: map[string]any{"name": "Power"}, wantStatus: 403},
			{name: "CompanyAdminCannotGrantCompanyAdmin", method: "PUT", url: rolesURL, token: admin,
				body: map[string]any{"role_ids": []int64{e.roles[roster.RoleCompanyAdmin]}}, wantStatus: 403},
			{name: "ManagerCannotBlockAdmin", method: "POST", url: path("/api/v1/users/%d/block", e.users["admin"].ID), token: mgrTok,
				body: map[string]any{"comment": "coup"}, wantStatus: 403},
			{name: "CannotBlockSelf", method: "POST", url: path("/api/v1/users/%d/block", e.users["admin"].ID), token: admin,
				body: map[string]any{"comment": "oops"}, wantStatus: 403},
			{name: "CannotDeleteSelf", method: "DELETE", url: path("/api/v1/users/%d", e.users["admin"].ID), token: admin, wantStatus: 403},
			{name: "SystemRoleReadOnly", method: "PATCH", url: path("/api/v1/roles/%d", e.roles[roster.RoleCompanyAdmin]), token: admin,
				body: map[string]any{"name": "Boss"}, wantStatus: 403},
			{name: "PlatformPermissionRefused", method: "POST", url: "/api/v1/roles", token: admin,
				body: map[string]any{"name": "Maker", "permissions": []string{"companies.manage"}}, wantStatus: 422, wantField: "permissions"},
			{name: "MainAdminGrantsCompanyAdmin", method: "PUT", url: rolesURL, token: root,
				body: map[string]any{"role_ids": []int64{e.roles[roster.RoleCompanyAdmin]}}, wantStatus: 200, wantBody: []string{`"company_admin"`}},
		})
	})
}

// TestBulk checks U12: all or nothing, with per-user refusals.
func TestBulk(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.t = t
		e.user(e.acme.ID, "mgr", roster.RoleManager)
		mgr := e.login("mgr", testPassword)
		admin := e.login("admin", testPassword)
		// Dispatchers: the Manager holds every permission they have, so may
		// manage them (an Employee's calls.handle the Manager lacks).
		v1, v2, v3 := e.user(e.acme.ID, "bulk1", roster.RoleDispatcher), e.user(e.acme.ID, "bulk2", roster.RoleDispatcher), e.user(e.acme.ID, "bulk3", roster.RoleDispatcher)
		e.run(t, []scenario{
			{name: "ErrInvalid/Action", method: "POST", url: "/api/v1/users/bulk", token: admin,
				body: map[string]any{"action": "promote", "user_ids": []int64{v1.ID}}, wantStatus: 422, wantField: "action"},
			{name: "ErrInvalid/NoUsers", method: "POST", url: "/api/v1/users/bulk", token: admin,
				body: map[string]any{"action": "delete"}, wantStatus: 422, wantField: "user_ids"},
			{name: "ErrInvalid/BlockNoComment", method: "POST", url: "/api/v1/users/bulk", token: admin,
				body: map[string]any{"action": "block", "user_ids": []int64{v1.ID}}, wantStatus: 422, wantField: "comment"},
			{name: "ErrInvalid/FilterStatus", method: "POST", url: "/api/v1/users/bulk", token: admin,
				body: map[string]any{"action": "delete", "filter": map[string]any{"status": "gone"}}, wantStatus: 422, wantField: "filter.status"},
			{name: "ErrForbidden/ManagerCannotDelete", method: "POST", url: "/api/v1/users/bulk", token: mgr,
				body: map[string]any{"action": "delete", "user_ids": []int64{v1.ID}}, wantStatus: 403},
			{name: "ErrConflict/Refused", method: "POST", url: "/api/v1/users/bulk", token: mgr,
				body:       map[string]any{"action": "block", "comment": "all out", "user_ids": []int64{v1.ID, e.users["admin"].ID}},
				wantStatus: 409, wantBody: []string{`"refused"`, path(`"user_id":%d`, e.users["admin"].ID)}},
			{name: "OK/Block", method: "POST", url: "/api/v1/users/bulk", token: mgr,
				body: map[string]any{"action": "block", "comment": "all out", "user_ids": []int64{v1.ID, v2.ID}}, wantStatus: 200, wantBody: []string{`"affected":2`}},
			{name: "OK/AddRoleByFilter", method: "POST", url: "/api/v1/users/bulk", token: admin,
				body: map[string]any{"action": "add_role", "role_id": e.roles[roster.RoleChatOperator], "filter": map[string]any{"q": v3.Login}}, wantStatus: 200, wantBody: []string{`"affected":1`}},
		})
		// The refused request changed nothing: v1 was blocked only by the later one.
		var u roster.User
		e.expect("GET", path("/api/v1/users/%d", v3.ID), admin, nil, 200).JSON(t, &u)
		if !u.HasRole(roster.RoleChatOperator) {
			t.Errorf("add_role by filter: %+v", u.Roles)
		}
		e.expect("GET", path("/api/v1/users/%d", e.users["admin"].ID), admin, nil, 200).JSON(t, &u)
		if u.Status != roster.StatusActive {
			t.Errorf("refused bulk block changed admin: %s", u.Status)
		}
	})
}

// TestUserPatchAllOrNothing: a PATCH refused for one field saves no field
// and writes no event (issue 11, finding 1), whichever part is refused.
func TestUserPatchAllOrNothing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.t = t
		admin := e.login("admin", testPassword)
		ot := &roster.ClientTag{CompanyID: e.other.ID, Name: "Other VIP"}
		must(t, e.store.CreateClientTag(context.Background(), ot))
		otherTag := ot.ID
		bad := []map[string]any{
			{"position": "Night shift lead", "max_dialogues": 100000},
			{"position": "Night shift lead", "client_tags": []int64{999999}},
			{"position": "Night shift lead", "client_tags": []int64{otherTag}},
			{"position": "Night shift lead", "countries_rule": map[string]any{"mode": "only", "countries": []string{"XYZ"}}},
			{"position": "Night shift lead", "countries_rule": map[string]any{"mode": "only", "countries": []string{"DE", "XX"}}},
			{"position": "Night shift lead", "ip_allowlist": []string{"not an address"}},
			{"position": "Night shift lead", "idle_timeout_seconds": 5},
			{"position": "Night shift lead", "lang": "de"},
			{"position": "Night shift lead", "email": "x@acme.example"},
		}
		for _, body := range bad {
			v := e.victim()
			before := e.eventCount(v.ID)
			e.expect("PATCH", path("/api/v1/users/%d", v.ID), admin, body, 422)
			got, err := e.store.UserByID(context.Background(), roster.Scope{All: true}, v.ID)
			must(t, err)
			if got.Position != "" {
				t.Errorf("%v: position saved as %q by a refused PATCH", body, got.Position)
			}
			if n := e.eventCount(v.ID); n != before {
				t.Errorf("%v: %d events written by a refused PATCH", body, n-before)
			}
		}
		v := e.victim()
		e.expect("PATCH", path("/api/v1/users/%d", v.ID), admin,
			map[string]any{"position": "Night shift lead", "max_dialogues": 7, "lang": "ru"}, 200)
		got, err := e.store.UserByID(context.Background(), roster.Scope{All: true}, v.ID)
		must(t, err)
		if got.Position != "Night shift lead" || got.MaxDialogues != 7 || got.Lang != "ru" {
			t.Errorf("valid PATCH: got position %q, max %d, lang %q", got.Position, got.MaxDialogues, got.Lang)
		}
	})
}

// eventCount counts the events about a user.
func (e *env) eventCount(userID int64) int {
	e.t.Helper()
	page, err := e.store.Events(context.Background(), roster.Scope{All: true}, roster.EventFilter{UserID: &userID, Limit: 200})
	must(e.t, err)
	return len(page.Items)
}
