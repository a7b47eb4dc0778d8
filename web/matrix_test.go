package web_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/web"
)

// personas are the callers of the authorization matrix, in column order:
// anonymous, Main administrator, Acme's Company administrator, Dispatcher,
// Employee, the administrator of an unrelated company, and the
// administrator of Acme's reseller.
var personas = []string{"", "root", "admin", "disp", "emp", "other", "reseller"}

// w lists expected statuses in persona order.
type w [7]int

// matrixRow is one route of the matrix. req makes a fresh request (and
// fresh objects to act on) for one cell, so cells do not disturb each other.
type matrixRow struct {
	method, pattern string
	req             func(e *env) (url string, body any)
	want            w
}

func fixed(u string, body any) func(*env) (string, any) {
	return func(*env) (string, any) { return u, body }
}

func matrixRows() []matrixRow {
	comment := map[string]string{"comment": "matrix test"}
	onVictim := func(suffix string, body any) func(e *env) (string, any) {
		return func(e *env) (string, any) { return path("/api/v1/users/%d%s", e.victim().ID, suffix), body }
	}
	onRole := func(suffix string, body any) func(e *env) (string, any) {
		return func(e *env) (string, any) { return path("/api/v1/roles/%d%s", e.customRole().ID, suffix), body }
	}
	onEvent := func(suffix string, body any) func(e *env) (string, any) {
		return func(e *env) (string, any) { return path("/api/v1/events/%d%s", e.acmeEvent(), suffix), body }
	}
	onAcme := func(format string, body any) func(e *env) (string, any) {
		return func(e *env) (string, any) { return path(format, e.acme.ID), body }
	}
	return []matrixRow{
		//                                                                                  anon root admin disp emp other reseller
		{"GET", "/healthz", fixed("/healthz", nil), w{200, 200, 200, 200, 200, 200, 200}},
		{"GET", "/readyz", fixed("/readyz", nil), w{200, 200, 200, 200, 200, 200, 200}},
		{"GET", "/api/v1/openapi.json", fixed("/api/v1/openapi.json", nil), w{200, 200, 200, 200, 200, 200, 200}},
		{"GET", "/setup", fixed("/setup?token=x", nil), w{404, 404, 404, 404, 404, 404, 404}},
		{"POST", "/setup", fixed("/setup", nil), w{404, 404, 404, 404, 404, 404, 404}},
		{"POST", "/api/v1/auth/login", fixed("/api/v1/auth/login", map[string]string{"username": "emp", "password": testPassword}), w{200, 200, 200, 200, 200, 200, 200}},
		{"POST", "/api/v1/auth/password-change", fixed("/api/v1/auth/password-change", map[string]string{"change_token": "nope", "new_password": "x"}), w{401, 401, 401, 401, 401, 401, 401}},
		{"POST", "/api/v1/auth/logout", fixed("/api/v1/auth/logout", nil), w{401, 204, 204, 204, 204, 204, 204}},
		{"POST", "/api/v1/auth/switch-back", fixed("/api/v1/auth/switch-back", nil), w{401, 409, 409, 409, 409, 409, 409}},
		{"GET", "/api/v1/me", fixed("/api/v1/me", nil), w{401, 200, 200, 200, 200, 200, 200}},

		{"GET", "/api/v1/users", fixed("/api/v1/users", nil), w{401, 200, 200, 200, 403, 200, 200}},
		{"POST", "/api/v1/users", func(e *env) (string, any) {
			return "/api/v1/users", map[string]any{"auth_method": "login", "login": path("new%d", e.seq.Add(1)), "first_name": "N", "last_name": "M",
				"role_ids": []int64{e.roles[roster.RoleEmployee]}, "company_id": e.acme.ID}
		}, w{401, 201, 201, 403, 403, 422, 201}},
		{"POST", "/api/v1/users/bulk", func(e *env) (string, any) {
			return "/api/v1/users/bulk", map[string]any{"action": "block", "user_ids": []int64{e.victim().ID}, "comment": "bulk"}
		}, w{401, 200, 200, 403, 403, 409, 200}},
		{"GET", "/api/v1/users/{id}", onVictim("", nil), w{401, 200, 200, 200, 403, 404, 200}},
		{"PATCH", "/api/v1/users/{id}", onVictim("", map[string]string{"position": "Lead"}), w{401, 200, 200, 403, 403, 404, 200}},
		{"DELETE", "/api/v1/users/{id}", onVictim("", nil), w{401, 204, 204, 403, 403, 404, 204}},
		{"POST", "/api/v1/users/{id}/block", onVictim("/block", comment), w{401, 200, 200, 403, 403, 404, 200}},
		{"POST", "/api/v1/users/{id}/unblock", func(e *env) (string, any) {
			v := e.victim()
			_, err := e.store.BlockUser(context.Background(), roster.Scope{All: true}, v.ID, "setup")
			must(e.t, err)
			return path("/api/v1/users/%d/unblock", v.ID), comment
		}, w{401, 200, 200, 403, 403, 404, 200}},
		{"PUT", "/api/v1/users/{id}/roles", func(e *env) (string, any) {
			return path("/api/v1/users/%d/roles", e.victim().ID), map[string]any{"role_ids": []int64{e.roles[roster.RoleChatOperator]}}
		}, w{401, 200, 200, 403, 403, 404, 200}},
		{"POST", "/api/v1/users/{id}/password-reset", onVictim("/password-reset", nil), w{401, 200, 200, 403, 403, 404, 200}},
		{"POST", "/api/v1/users/{id}/invitation", func(e *env) (string, any) {
			return path("/api/v1/users/%d/invitation", e.invited().ID), nil
		}, w{401, 200, 200, 403, 403, 404, 200}},

		{"GET", "/api/v1/roles", onAcme("/api/v1/roles?company_id=%d", nil), w{401, 200, 200, 200, 403, 422, 200}},
		{"POST", "/api/v1/roles", func(e *env) (string, any) {
			return "/api/v1/roles", map[string]any{"name": path("Night shift %d", e.seq.Add(1)), "permissions": []string{"users.view"}, "company_id": e.acme.ID}
		}, w{401, 201, 201, 403, 403, 422, 201}},
		{"GET", "/api/v1/roles/export", onAcme("/api/v1/roles/export?company_id=%d", nil), w{401, 200, 200, 403, 403, 422, 200}},
		{"POST", "/api/v1/roles/import", onAcme("/api/v1/roles/import?dry_run=true&company_id=%d",
			map[string]any{"roles": []map[string]any{{"key": "auditor", "name": "Auditor", "permissions": []string{"audit.view"}}}}),
			w{401, 200, 200, 403, 403, 422, 200}},
		{"GET", "/api/v1/roles/{id}", onRole("", nil), w{401, 200, 200, 200, 403, 404, 200}},
		{"PATCH", "/api/v1/roles/{id}", func(e *env) (string, any) {
			// A fresh name per cell: role names are unique in a company (R1).
			return path("/api/v1/roles/%d", e.customRole().ID), map[string]any{"name": path("Renamed %d", e.seq.Add(1))}
		}, w{401, 200, 200, 403, 403, 404, 200}},
		{"DELETE", "/api/v1/roles/{id}", onRole("", nil), w{401, 204, 204, 403, 403, 404, 204}},
		{"GET", "/api/v1/roles/{id}/users", onRole("/users", nil), w{401, 200, 200, 200, 403, 404, 200}},
		{"GET", "/api/v1/permissions", fixed("/api/v1/permissions", nil), w{401, 200, 200, 200, 200, 200, 200}},

		{"GET", "/api/v1/companies", fixed("/api/v1/companies", nil), w{401, 200, 200, 403, 403, 200, 200}},
		{"POST", "/api/v1/companies", fixed("/api/v1/companies", map[string]any{"name": "New Co"}), w{401, 201, 403, 403, 403, 403, 403}},
		{"GET", "/api/v1/companies/{id}", onAcme("/api/v1/companies/%d", nil), w{401, 200, 200, 403, 403, 404, 200}},
		{"PATCH", "/api/v1/companies/{id}", onAcme("/api/v1/companies/%d", map[string]any{"name": "Acme"}), w{401, 200, 403, 403, 403, 403, 403}},
		{"POST", "/api/v1/companies/{id}/switch", onAcme("/api/v1/companies/%d/switch", nil), w{401, 403, 403, 403, 403, 404, 200}},

		{"GET", "/api/v1/events", fixed("/api/v1/events", nil), w{401, 200, 200, 403, 403, 200, 200}},
		{"GET", "/api/v1/events/{id}", onEvent("", nil), w{401, 200, 200, 403, 403, 404, 200}},
		{"POST", "/api/v1/events/{id}/comments", onEvent("/comments", map[string]string{"body": "seen"}), w{401, 201, 201, 403, 403, 404, 201}},
	}
}

// customRole creates a fresh custom role in Acme.
func (e *env) customRole() *roster.Role {
	e.t.Helper()
	n := e.seq.Add(1)
	r := &roster.Role{CompanyID: &e.acme.ID, Key: path("custom%d", n), Name: path("Custom %d", n),
		Permissions: []roster.Permission{roster.PermUsersView}}
	must(e.t, e.store.CreateRole(context.Background(), r))
	return r
}

// invited creates a fresh invited e-mail user in Acme.
func (e *env) invited() *roster.User {
	e.t.Helper()
	_, hash := secureToken()
	u := &roster.User{CompanyID: e.acme.ID, AuthMethod: roster.AuthEmail, Email: path("inv%d@acme.example", e.seq.Add(1)),
		Status: roster.StatusInvited}
	must(e.t, e.store.CreateUser(context.Background(), u, []int64{e.roles[roster.RoleEmployee]}, hash, e.now().Add(roster.InvitationTTL)))
	return u
}

// acmeEvent returns the ID of an event of Acme.
func (e *env) acmeEvent() int64 {
	e.t.Helper()
	page, err := e.store.Events(context.Background(), roster.Scope{CompanyIDs: []int64{e.acme.ID}}, roster.EventFilter{Limit: 1})
	must(e.t, err)
	if len(page.Items) == 0 {
		e.t.Fatal("Acme has no events")
	}
	return page.Items[0].ID
}

// TestAuthorizationMatrix calls every route as every persona.
func TestAuthorizationMatrix(t *testing.T) {
	rows := append(append(append(matrixRows(), credentialMatrixRows()...), operationMatrixRows()...), webhookMatrixRows()...)
	rows = append(rows, userCSVMatrixRows()...)
	rows = append(rows, serviceTokenMatrixRows()...)
	t.Run("EveryRouteCovered", func(t *testing.T) {
		inMatrix := map[string]bool{}
		for _, r := range rows {
			inMatrix[r.method+" "+r.pattern] = true
		}
		for _, rt := range web.NewServer(web.Deps{}).Routes() {
			if !inMatrix[rt] {
				t.Errorf("route %s is missing from the authorization matrix", rt)
			}
			delete(inMatrix, rt)
		}
		for rt := range inMatrix {
			t.Errorf("matrix row %s is not a route", rt)
		}
	})
	forEachEngine(t, func(t *testing.T, e *env) {
		for _, row := range rows {
			for i, who := range personas {
				name := who
				if name == "" {
					name = "anonymous"
				}
				t.Run(row.method+" "+row.pattern+"/"+name, func(t *testing.T) {
					defer func(old *testing.T) { e.t = old }(e.t)
					e.t = t
					u, body := row.req(e)
					var r response
					if row.pattern == "/setup" && row.method == "POST" {
						r = e.form(u, e.token(who), url.Values{"token": {"wrong"}, "email": {"a@b.example"}})
					} else {
						r = e.do(row.method, u, e.token(who), body)
					}
					if r.Status != row.want[i] {
						t.Errorf("%s %s as %s: status %d, want %d: %s", row.method, u, name, r.Status, row.want[i], r.Body)
					}
				})
			}
		}
	})
}

// form posts an HTML form.
func (e *env) form(u, token string, vals url.Values) response {
	req := httptest.NewRequest("POST", u, strings.NewReader(vals.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.serve(req)
}
