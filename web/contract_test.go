package web_test

import (
	"testing"
)

// TestCompanyOutsideScope: every endpoint that takes a company_id — in a
// query or in a body — answers a company outside the caller's scope the
// same way: 422 naming company_id (issue 13, item 11). Work group and
// client tag lists answered 404 before.
func TestCompanyOutsideScope(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		admin := e.token("admin")
		other := e.other.ID
		var scenarios []scenario
		for _, u := range []string{"/api/v1/users", "/api/v1/roles", "/api/v1/roles/export", "/api/v1/queues", "/api/v1/shifts",
			"/api/v1/agent-groups", "/api/v1/client-tags"} {
			scenarios = append(scenarios, scenario{name: "GET" + u, method: "GET", url: path("%s?company_id=%d", u, other), token: admin,
				wantStatus: 422, wantField: "company_id"})
		}
		for _, u := range []string{"/api/v1/queues", "/api/v1/client-tags", "/api/v1/roles"} {
			scenarios = append(scenarios, scenario{name: "POST" + u, method: "POST", url: u, token: admin,
				body: map[string]any{"name": "Elsewhere", "company_id": other}, wantStatus: 422, wantField: "company_id"})
		}
		scenarios = append(scenarios, scenario{name: "POST/api/v1/roles/import", method: "POST", url: path("/api/v1/roles/import?company_id=%d", other),
			token: admin, body: map[string]any{"roles": []any{}}, wantStatus: 422, wantField: "company_id"})
		e.run(t, scenarios)
	})
}
