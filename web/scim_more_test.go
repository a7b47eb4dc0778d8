package web_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/roster-app/roster"
)

const enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// scimOps is a PatchOp body.
func scimOps(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": list}
}

func total(t *testing.T, body map[string]any) int {
	t.Helper()
	n, ok := body["totalResults"].(float64)
	if !ok {
		t.Fatalf("no totalResults in %v", body)
	}
	return int(n)
}

func TestSCIMEnterpriseAndExternalID(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		tok := *e.acmeServiceToken(roster.PermSCIMProvision, roster.PermClientsView, roster.PermCallsHandle).Token
		boss := e.user(e.acme.ID, "boss", roster.RoleEmployee)
		bossID := strconv.FormatInt(boss.ID, 10)
		code, body, _ := e.scim("POST", "/scim/v2/Users", tok, map[string]any{
			"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User", enterpriseURN},
			"userName": "vera@acme.example", "externalId": "8f1c-AB", "name": map[string]any{"givenName": "Vera", "familyName": "Lis"},
			enterpriseURN: map[string]any{"employeeNumber": "E-042", "department": "Sales", "manager": map[string]any{"value": bossID}}})
		if code != 201 {
			t.Fatalf("create: %d %v", code, body)
		}
		id := body["id"].(string)
		ent, _ := body[enterpriseURN].(map[string]any)
		if body["externalId"] != "8f1c-AB" || ent["employeeNumber"] != "E-042" || ent["department"] != "Sales" ||
			ent["manager"].(map[string]any)["value"] != bossID {
			t.Fatalf("created %v", body)
		}
		// The REST API shows the same fields.
		var api struct {
			ExternalID     string `json:"external_id"`
			EmployeeNumber string `json:"employee_number"`
			Department     string `json:"department"`
			ManagerID      *int64 `json:"manager_id"`
		}
		e.expect("GET", "/api/v1/users/"+id, e.token("admin"), nil, 200).JSON(t, &api)
		if api.ExternalID != "8f1c-AB" || api.Department != "Sales" || api.EmployeeNumber != "E-042" || api.ManagerID == nil || *api.ManagerID != boss.ID {
			t.Errorf("API user %+v", api)
		}

		for _, tc := range []struct {
			filter string
			want   int
		}{
			{`externalId eq "8f1c-AB"`, 1},
			{`externalId eq "8F1C-ab"`, 0}, // caseExact (RFC 7643 §3.1)
			{`externalId eq "8f1c-AB" and userName eq "VERA@acme.example"`, 1},
			{`userName eq "vera@acme.example" and active eq false`, 0},
			{enterpriseURN + `:department eq "sales"`, 1},
			{enterpriseURN + `:manager.value eq "` + bossID + `"`, 1},
			{`externalId pr`, 1},
		} {
			code, body, _ := e.scim("GET", "/scim/v2/Users?filter="+urlQuery(tc.filter), tok, nil)
			if code != 200 || total(t, body) != tc.want {
				t.Errorf("filter %s: %d %v, want %d", tc.filter, code, body["totalResults"], tc.want)
			}
		}

		// Entra ID's forms: the manager as a bare id under the extension's
		// path, attributes under the extension's URN without a path.
		code, body, _ = e.scim("PATCH", "/scim/v2/Users/"+id, tok, scimOps(
			map[string]any{"op": "Replace", "path": enterpriseURN + ":department", "value": "Support"},
			map[string]any{"op": "Add", "value": map[string]any{enterpriseURN: map[string]any{"employeeNumber": "E-043"}, "externalId": "x-1"}},
			map[string]any{"op": "Remove", "path": enterpriseURN + ":manager"}))
		ent, _ = body[enterpriseURN].(map[string]any)
		if code != 200 || ent["department"] != "Support" || ent["employeeNumber"] != "E-043" || ent["manager"] != nil || body["externalId"] != "x-1" {
			t.Fatalf("patch: %d %v", code, body)
		}
		code, body, _ = e.scim("PATCH", "/scim/v2/Users/"+id, tok, scimOps(
			map[string]any{"op": "Add", "path": enterpriseURN + ":manager", "value": bossID}))
		if ent, _ = body[enterpriseURN].(map[string]any); code != 200 || ent["manager"].(map[string]any)["value"] != bossID {
			t.Fatalf("manager by bare id: %d %v", code, body)
		}
		for _, bad := range []any{strconv.FormatInt(e.users["other"].ID, 10), "boss", id} {
			code, body, _ := e.scim("PATCH", "/scim/v2/Users/"+id, tok, scimOps(
				map[string]any{"op": "replace", "path": enterpriseURN + ":manager.value", "value": bad}))
			if code != 400 || body["scimType"] != "invalidValue" {
				t.Errorf("manager %v: %d %v", bad, code, body)
			}
		}
		var events struct {
			Items []struct {
				Before map[string]any `json:"before"`
				After  map[string]any `json:"after"`
			} `json:"items"`
		}
		e.expect("GET", "/api/v1/events?type="+roster.EventUserUpdated+"&user_id="+id, e.token("admin"), nil, 200).JSON(t, &events)
		if len(events.Items) < 2 {
			t.Errorf("update events %+v", events.Items)
		}

		// The manager's deletion leaves the field empty.
		e.expect("DELETE", "/api/v1/users/"+bossID, e.token("admin"), nil, 204)
		code, body, _ = e.scim("GET", "/scim/v2/Users/"+id, tok, nil)
		if ent, _ = body[enterpriseURN].(map[string]any); code != 200 || ent["manager"] != nil || ent["department"] != "Support" {
			t.Errorf("after the manager's deletion: %d %v", code, body)
		}

		// PUT replaces: what it leaves out is cleared.
		code, body, _ = e.scim("PUT", "/scim/v2/Users/"+id, tok, map[string]any{"userName": "vera@acme.example",
			"name": map[string]any{"givenName": "Vera", "familyName": "Lis"}, "active": true})
		if code != 200 || body["externalId"] != nil || body[enterpriseURN] != nil {
			t.Errorf("put: %d %v", code, body)
		}
	})
}

// scimValues reads the SCIM resource at path and returns the values of its
// multi-valued attribute attr (a group's members, a user's groups).
func (e *env) scimValues(path, token, attr string) []string {
	e.t.Helper()
	code, body, _ := e.scim("GET", path, token, nil)
	if code != 200 {
		e.t.Fatalf("GET %s: %d %v", path, code, body)
	}
	var out []string
	for _, el := range body[attr].([]any) {
		out = append(out, el.(map[string]any)["value"].(string))
	}
	return out
}

// nightShift creates Acme's custom role "Night shift" and returns its id.
func (e *env) nightShift() int64 {
	e.t.Helper()
	var role struct {
		ID int64 `json:"id"`
	}
	e.expect("POST", "/api/v1/roles", e.token("admin"), map[string]any{"name": "Night shift",
		"permissions": []string{string(roster.PermClientsView)}}, 201).JSON(e.t, &role)
	return role.ID
}

func TestSCIMGroups(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		tok := *e.acmeServiceToken(roster.PermSCIMProvision, roster.PermClientsView, roster.PermCallsHandle).Token
		nightID := e.nightShift()
		night := strconv.FormatInt(nightID, 10)
		employee := strconv.FormatInt(e.roleID(e.acme.ID, roster.RoleEmployee), 10)
		admins := strconv.FormatInt(e.roleID(e.acme.ID, roster.RoleCompanyAdmin), 10)
		mk := func(name string) string {
			code, body, _ := e.scim("POST", "/scim/v2/Users", tok, map[string]any{"userName": name + "@acme.example",
				"name": map[string]any{"givenName": name, "familyName": "Test"}})
			if code != 201 {
				t.Fatalf("create %s: %d %v", name, code, body)
			}
			return body["id"].(string)
		}
		a, b := mk("alla"), mk("bella")
		members := func(g string) []string { t.Helper(); return e.scimValues("/scim/v2/Groups/"+g, tok, "members") }
		has := func(list []string, id string) bool {
			for _, x := range list {
				if x == id {
					return true
				}
			}
			return false
		}

		code, body, rec := e.scim("GET", "/scim/v2/Groups/"+night, tok, nil)
		etag := rec.Header().Get("ETag")
		if code != 200 || body["displayName"] != "Night shift" || etag == "" {
			t.Fatalf("get: %d %v", code, body)
		}
		// Add members (RFC form), with If-Match.
		code, body, _ = e.scim("PATCH", "/scim/v2/Groups/"+night, tok, scimOps(
			map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": a}, map[string]any{"value": b}}}), "If-Match", etag)
		if code != 200 || len(body["members"].([]any)) != 2 {
			t.Fatalf("add members: %d %v", code, body)
		}
		if code, _, _ := e.scim("PATCH", "/scim/v2/Groups/"+night, tok, scimOps(
			map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": a}}}), "If-Match", etag); code != 412 {
			t.Errorf("stale If-Match: %d", code)
		}
		_, user, _ := e.scim("GET", "/scim/v2/Users/"+a, tok, nil)
		if len(user["groups"].([]any)) != 2 {
			t.Errorf("user's groups %v", user["groups"])
		}
		var events struct {
			Items []struct {
				Comment string `json:"comment"`
			} `json:"items"`
		}
		e.expect("GET", "/api/v1/events?type="+roster.EventUserRolesChanged+"&user_id="+a, e.token("admin"), nil, 200).JSON(t, &events)
		if len(events.Items) != 1 || !strings.Contains(events.Items[0].Comment, "SCIM") {
			t.Errorf("roles event %+v", events.Items)
		}

		// Remove by value filter; Entra ID's remove with a value list.
		if code, body, _ := e.scim("PATCH", "/scim/v2/Groups/"+employee, tok, scimOps(
			map[string]any{"op": "remove", "path": `members[value eq "` + a + `"]`})); code != 200 || has(members(employee), a) {
			t.Errorf("remove by filter: %d %v", code, body)
		}
		// Night shift is now a's only role: removing it is refused, and
		// nothing changes — not even b's removal in the same request.
		code, body, _ = e.scim("PATCH", "/scim/v2/Groups/"+night, tok, scimOps(
			map[string]any{"op": "Remove", "path": "members", "value": []any{map[string]any{"value": a}, map[string]any{"value": b}}}))
		if code != 400 || body["scimType"] != "mutability" || !strings.Contains(body["detail"].(string), "only role") {
			t.Errorf("last role: %d %v", code, body)
		}
		if m := members(night); !has(m, a) || !has(m, b) {
			t.Errorf("after a refused change: %v", m)
		}
		if code, body, _ := e.scim("PATCH", "/scim/v2/Groups/"+night, tok, scimOps(
			map[string]any{"op": "Remove", "path": "members", "value": []any{map[string]any{"value": b}}})); code != 200 || has(members(night), b) {
			t.Errorf("Entra remove: %d %v", code, body)
		}
		// PUT replaces the members; emp keeps Employee, their only role.
		emp := strconv.FormatInt(e.users["emp"].ID, 10)
		code, body, _ = e.scim("PUT", "/scim/v2/Groups/"+employee, tok, map[string]any{"displayName": "Employee",
			"members": []any{map[string]any{"value": a}, map[string]any{"value": b}}})
		if code != 400 || body["scimType"] != "mutability" || has(members(employee), a) {
			t.Errorf("put dropping emp's only role: %d %v", code, body)
		}
		code, body, _ = e.scim("PUT", "/scim/v2/Groups/"+employee, tok, map[string]any{"displayName": "Employee",
			"members": []any{map[string]any{"value": a}, map[string]any{"value": b}, map[string]any{"value": emp}}})
		if m := members(employee); code != 200 || !has(m, a) || !has(m, b) || !has(m, emp) {
			t.Errorf("put: %d %v %v", code, body, m)
		}

		// No escalation: the token lacks the Company administrator's permissions.
		if code, body, _ := e.scim("PATCH", "/scim/v2/Groups/"+admins, tok, scimOps(
			map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": a}}})); code != 403 || has(members(admins), a) {
			t.Errorf("escalation: %d %v", code, body)
		}
		for _, tc := range []struct {
			method, url string
			body        any
			code        int
			scimType    string
		}{
			{"PATCH", "/scim/v2/Groups/" + night, scimOps(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": strconv.FormatInt(e.users["other"].ID, 10)}}}), 400, "invalidValue"},
			{"PATCH", "/scim/v2/Groups/" + night, scimOps(map[string]any{"op": "replace", "path": "displayName", "value": "Day shift"}), 400, "mutability"},
			{"PATCH", "/scim/v2/Groups/" + night, scimOps(map[string]any{"op": "replace", "path": "members[value eq", "value": "x"}), 400, "invalidPath"},
			{"POST", "/scim/v2/Groups", map[string]any{"displayName": "New"}, 403, ""},
			{"DELETE", "/scim/v2/Groups/" + night, nil, 403, ""},
			{"GET", "/scim/v2/Groups/" + strconv.FormatInt(e.roleID(e.other.ID, roster.RoleCompanyAdmin)+100000, 10), nil, 404, ""},
			{"PATCH", "/scim/v2/Users/" + a, scimOps(map[string]any{"op": "add", "path": "groups", "value": []any{map[string]any{"value": admins}}}), 400, "mutability"},
		} {
			code, body, _ := e.scim(tc.method, tc.url, tok, tc.body)
			if code != tc.code || (tc.scimType != "" && body["scimType"] != tc.scimType) {
				t.Errorf("%s %s %v: %d %v", tc.method, tc.url, tc.body, code, body)
			}
		}
		code, body, _ = e.scim("GET", "/scim/v2/Groups?filter="+urlQuery(`members[value eq "`+a+`"]`)+"&sortBy=displayName", tok, nil)
		if code != 200 || total(t, body) != 2 {
			t.Errorf("groups of a: %d %v", code, body)
		}
	})
}

// TestSCIMBigGroups: Groups read per role, so they keep working in a
// company with more users than a SCIM request may read (lowered here to
// 5): a small group is named in full; a group bigger than that is read
// with excludedAttributes=members and changed by PATCH, which answers 204.
func TestSCIMBigGroups(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.server.SCIMMaxScan = 5
		tok := *e.acmeServiceToken(roster.PermSCIMProvision, roster.PermClientsView, roster.PermCallsHandle).Token
		nightID := e.nightShift()
		night := strconv.FormatInt(nightID, 10)
		employee := strconv.FormatInt(e.roleID(e.acme.ID, roster.RoleEmployee), 10)
		for i := range 6 {
			e.user(e.acme.ID, "staff"+strconv.Itoa(i), roster.RoleEmployee)
		}
		owl := e.user(e.acme.ID, "owl", roster.RoleEmployee)
		e.expect("PUT", "/api/v1/users/"+strconv.FormatInt(owl.ID, 10)+"/roles", e.token("admin"),
			map[string]any{"role_ids": []int64{nightID}}, 200)
		o := strconv.FormatInt(owl.ID, 10)
		groupsOf := func(id string) []string { t.Helper(); return e.scimValues("/scim/v2/Users/"+id, tok, "groups") }

		// A small group is named in full, display names included.
		code, body, _ := e.scim("GET", "/scim/v2/Groups/"+night, tok, nil)
		if ms, _ := body["members"].([]any); code != 200 || len(ms) != 1 || ms[0].(map[string]any)["display"] == nil {
			t.Fatalf("small group: %d %v", code, body)
		}
		// The big one only without its members.
		code, body, _ = e.scim("GET", "/scim/v2/Groups/"+employee, tok, nil)
		if code != 400 || body["scimType"] != "tooMany" || !strings.Contains(body["detail"].(string), "excludedAttributes=members") {
			t.Fatalf("big group with members: %d %v", code, body)
		}
		code, body, rec := e.scim("GET", "/scim/v2/Groups/"+employee+"?excludedAttributes=members", tok, nil)
		etag := rec.Header().Get("ETag")
		if code != 200 || body["members"] != nil || etag == "" || body["meta"].(map[string]any)["version"] != etag {
			t.Fatalf("big group without members: %d %v %q", code, body, etag)
		}
		// Entra ID's lookup by name, and the whole list.
		code, body, _ = e.scim("GET", "/scim/v2/Groups?excludedAttributes=members&filter="+urlQuery(`displayName eq "Employee"`), tok, nil)
		if code != 200 || total(t, body) != 1 {
			t.Errorf("by displayName: %d %v", code, body)
		}
		code, body, _ = e.scim("GET", "/scim/v2/Groups?excludedAttributes=members", tok, nil)
		if code != 200 || total(t, body) < 3 {
			t.Errorf("list: %d %v", code, body)
		}
		if code, body, _ = e.scim("GET", "/scim/v2/Groups", tok, nil); code != 400 || body["scimType"] != "tooMany" {
			t.Errorf("list naming the big group's members: %d %v", code, body)
		}

		// Adding to the big group answers 204 with the new version.
		code, _, rec = e.scim("PATCH", "/scim/v2/Groups/"+employee, tok, scimOps(
			map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": o}}}), "If-Match", etag)
		if code != 204 || rec.Header().Get("ETag") == "" || rec.Header().Get("ETag") == etag {
			t.Fatalf("add to the big group: %d %q", code, rec.Header().Get("ETag"))
		}
		if g := groupsOf(o); len(g) != 2 {
			t.Errorf("owl's groups after the add: %v", g)
		}
		if code, _, _ := e.scim("PATCH", "/scim/v2/Groups/"+employee, tok, scimOps(
			map[string]any{"op": "remove", "path": `members[value eq "` + o + `"]`}), "If-Match", etag); code != 412 {
			t.Errorf("stale If-Match: %d", code)
		}
		// Another company's user is refused, and nothing changes.
		other := strconv.FormatInt(e.users["other"].ID, 10)
		code, body, _ = e.scim("PATCH", "/scim/v2/Groups/"+employee, tok, scimOps(
			map[string]any{"op": "remove", "path": `members[value eq "` + o + `"]`},
			map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": other}}}))
		if code != 400 || body["scimType"] != "invalidValue" || !strings.Contains(body["detail"].(string), other) {
			t.Errorf("another company's user: %d %v", code, body)
		}
		if g := groupsOf(o); len(g) != 2 {
			t.Errorf("owl's groups after a refused change: %v", g)
		}
		// Asked without the members, a change answers the group.
		code, body, _ = e.scim("PATCH", "/scim/v2/Groups/"+employee+"?excludedAttributes=members", tok, scimOps(
			map[string]any{"op": "remove", "path": `members[value eq "` + o + `"]`}))
		if code != 200 || body["displayName"] != "Employee" || body["members"] != nil {
			t.Errorf("remove from the big group: %d %v", code, body)
		}
		if g := groupsOf(o); len(g) != 1 || g[0] != night {
			t.Errorf("owl's groups after the remove: %v", g)
		}
		// Users: a filter the store applies still works; one evaluated in
		// memory over more users than the bound says how to narrow it.
		code, body, _ = e.scim("GET", "/scim/v2/Users?filter="+urlQuery(`userName eq "owl"`), tok, nil)
		if code != 200 || total(t, body) != 1 {
			t.Errorf("userName eq: %d %v", code, body)
		}
		if code, body, _ = e.scim("GET", "/scim/v2/Users?filter="+urlQuery(`title pr`), tok, nil); code != 400 || body["scimType"] != "tooMany" {
			t.Errorf("in-memory filter: %d %v", code, body)
		}
	})
}
