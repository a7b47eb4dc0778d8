package web_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/web"
	"github.com/roster-app/roster/web/webtest"
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

// TestSchemasMatchGoTypes: the document's schema of each domain type the
// API answers with lists exactly the type's JSON fields. The contract
// check sees only fields the tests produce; this one also covers those
// left out when empty (omitempty) that no test happens to fill.
func TestSchemasMatchGoTypes(t *testing.T) {
	raw, err := webtest.Document()
	must(t, err)
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	must(t, json.Unmarshal(raw, &doc))
	types := map[string]any{
		"User": roster.User{}, "UserCreated": roster.User{}, "RoleRef": roster.RoleRef{}, "UserPage": roster.UserPage{},
		"Role": roster.Role{}, "RoleImportChange": roster.RoleImportChange{}, "PermissionInfo": roster.PermissionInfo{},
		"Company": roster.Company{}, "CompanySettings": roster.CompanySettings{}, "CompanyOperations": roster.CompanyOperations{},
		"Event": roster.Event{}, "EventComment": roster.EventComment{}, "FieldError": roster.FieldError{}, "Refusal": roster.Refusal{},
		"BulkResult": roster.BulkResult{}, "WorkGroup": roster.WorkGroup{}, "Dialogue": roster.Dialogue{}, "Call": roster.Call{},
		"ClientTag": roster.ClientTag{}, "Client": roster.Client{}, "CountriesRule": roster.CountriesRule{},
		"NotificationPrefs": roster.NotificationPrefs{}, "Delivery": roster.Delivery{}, "Problem": web.Problem{},
	}
	for name, v := range types {
		fields := map[string]bool{}
		jsonFields(reflect.TypeOf(v), fields)
		if name == "UserCreated" {
			fields["temporary_password"], fields["password_link_emailed"] = true, true
		}
		props := doc.Components.Schemas[name].Properties
		if props == nil {
			t.Errorf("the document has no schema %s", name)
			continue
		}
		for f := range fields {
			if props[f] == nil {
				t.Errorf("%s: the API answers field %q, the schema does not list it", name, f)
			}
		}
		for p := range props {
			if !fields[p] {
				t.Errorf("%s: the schema lists %q, the API never answers it", name, p)
			}
		}
	}
}

// jsonFields collects the JSON names of a struct's fields.
func jsonFields(t reflect.Type, out map[string]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case f.Anonymous && name == "":
			jsonFields(f.Type, out)
		case !f.IsExported() || name == "-":
		case name == "":
			out[f.Name] = true
		default:
			out[name] = true
		}
	}
}
