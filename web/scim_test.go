package web_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/web"
)

// scim sends a SCIM request (outside the OpenAPI document) and decodes
// the answer.
func (e *env) scim(method, url, token string, body any, headers ...string) (int, map[string]any, *httptest.ResponseRecorder) {
	e.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		must(e.t, err)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/scim+json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	var out map[string]any
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			e.t.Fatalf("%s %s: not JSON: %s", method, url, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
			e.t.Errorf("%s %s: content type %q", method, url, ct)
		}
	}
	return rec.Code, out, rec
}

func TestSCIMUsers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		// Employee, the role new users get, has clients.view and calls.handle.
		scimTok := *e.acmeServiceToken(roster.PermSCIMProvision, roster.PermClientsView, roster.PermCallsHandle).Token
		plain := *e.acmeServiceToken(roster.PermUsersView).Token

		t.Run("Auth", func(t *testing.T) {
			if code, body, _ := e.scim("GET", "/scim/v2/Users", "", nil); code != 401 || body["schemas"].([]any)[0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
				t.Errorf("anonymous: %d %v", code, body)
			}
			if code, _, _ := e.scim("GET", "/scim/v2/Users", plain, nil); code != 403 {
				t.Errorf("without scim.provision: %d", code)
			}
			if code, _, _ := e.scim("GET", "/scim/v2/Users", e.token("admin"), nil); code != 401 {
				t.Errorf("a person's session: %d", code)
			}
			// scim.provision gives nothing outside the SCIM door.
			if r := e.do("GET", "/api/v1/users", scimTok, nil); r.Status != 403 {
				t.Errorf("scim token on the API: %d", r.Status)
			}
		})

		t.Run("Discovery", func(t *testing.T) {
			for _, u := range []string{"/scim/v2/ServiceProviderConfig", "/scim/v2/ResourceTypes", "/scim/v2/Schemas"} {
				if code, _, _ := e.scim("GET", u, scimTok, nil); code != 200 {
					t.Errorf("%s: %d", u, code)
				}
			}
		})

		var id string
		t.Run("CreateGetList", func(t *testing.T) {
			code, body, rec := e.scim("POST", "/scim/v2/Users", scimTok, map[string]any{
				"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "Anna.Petrova@Acme.example",
				"name": map[string]any{"givenName": "Anna", "familyName": "Petrova"}, "title": "Agent", "active": true,
				"phoneNumbers": []any{map[string]any{"value": "+7 900 000-00-01", "type": "work"}}})
			if code != 201 {
				t.Fatalf("create: %d %v", code, body)
			}
			id = body["id"].(string)
			if body["userName"] != "anna.petrova@acme.example" || rec.Header().Get("ETag") == "" || rec.Header().Get("Location") == "" {
				t.Errorf("created %v %v", body, rec.Header())
			}
			if code, body, _ := e.scim("POST", "/scim/v2/Users", scimTok, map[string]any{"userName": "anna.petrova@acme.example",
				"name": map[string]any{"givenName": "A", "familyName": "P"}}); code != 409 || body["scimType"] != "uniqueness" {
				t.Errorf("duplicate: %d %v", code, body)
			}
			e.scim("POST", "/scim/v2/Users", scimTok, map[string]any{"userName": "boris", "name": map[string]any{"givenName": "Boris", "familyName": "Ivanov"}})
			for _, tc := range []struct {
				filter string
				want   int
			}{
				{`userName eq "ANNA.PETROVA@acme.example"`, 1},
				{`name.familyName sw "Iva" or title eq "Agent"`, 2},
				{`emails[type eq "work" and value ew "acme.example"]`, 1},
				{`not (userName eq "boris") and userName co "petrova"`, 1},
				{`phoneNumbers.value pr and name.familyName eq "Petrova"`, 1},
				{`active eq true and userName eq "boris"`, 1},
				{`userName eq "nobody"`, 0},
			} {
				code, body, _ := e.scim("GET", "/scim/v2/Users?filter="+urlQuery(tc.filter), scimTok, nil)
				if code != 200 || int(body["totalResults"].(float64)) != tc.want {
					t.Errorf("filter %s: %d %v, want %d", tc.filter, code, body["totalResults"], tc.want)
				}
			}
			code, body, _ = e.scim("GET", "/scim/v2/Users?filter="+urlQuery(`userName eq`), scimTok, nil)
			if code != 400 || body["scimType"] != "invalidFilter" {
				t.Errorf("malformed filter: %d %v", code, body)
			}
			code, body, _ = e.scim("GET", "/scim/v2/Users?sortBy=userName&sortOrder=descending&startIndex=1&count=1&attributes=userName", scimTok, nil)
			res := body["Resources"].([]any)
			if code != 200 || len(res) != 1 || res[0].(map[string]any)["name"] != nil {
				t.Errorf("paged list: %d %v", code, body)
			}
			if code, _, _ := e.scim("GET", "/scim/v2/Users/"+path("%d", e.users["other"].ID), scimTok, nil); code != 404 {
				t.Errorf("other company's user: %d", code)
			}
		})

		t.Run("PatchBlockAndBack", func(t *testing.T) {
			_, got, rec := e.scim("GET", "/scim/v2/Users/"+id, scimTok, nil)
			etag := rec.Header().Get("ETag")
			_ = got
			patch := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": []any{
				map[string]any{"op": "replace", "path": "active", "value": false},
				map[string]any{"op": "replace", "path": "name.familyName", "value": "Sidorova"},
				map[string]any{"op": "replace", "path": `phoneNumbers[type eq "work"].value`, "value": "+7 900 000-00-02"},
			}}
			code, body, _ := e.scim("PATCH", "/scim/v2/Users/"+id, scimTok, patch, "If-Match", etag)
			if code != 200 || body["active"] != false || body["name"].(map[string]any)["familyName"] != "Sidorova" {
				t.Fatalf("patch: %d %v", code, body)
			}
			if code, body, _ := e.scim("PATCH", "/scim/v2/Users/"+id, scimTok, patch, "If-Match", etag); code != 412 {
				t.Errorf("stale If-Match: %d %v", code, body)
			}
			var page struct {
				Items []struct {
					Comment   string `json:"comment"`
					ActorName string `json:"actor_name"`
				} `json:"items"`
			}
			e.expect("GET", "/api/v1/events?type="+roster.EventUserBlocked+"&user_id="+id, e.token("admin"), nil, 200).JSON(t, &page)
			if len(page.Items) != 1 || !strings.Contains(page.Items[0].Comment, "SCIM") || !strings.Contains(page.Items[0].ActorName, "Service token") {
				t.Errorf("block event %+v", page.Items)
			}
			code, body, _ = e.scim("PATCH", "/scim/v2/Users/"+id, scimTok, map[string]any{"Operations": []any{
				map[string]any{"op": "replace", "value": map[string]any{"active": true}}}})
			if code != 200 || body["active"] != true {
				t.Errorf("unblock: %d %v", code, body)
			}
			if code, body, _ := e.scim("PATCH", "/scim/v2/Users/"+id, scimTok, map[string]any{"Operations": []any{
				map[string]any{"op": "replace", "path": "userName", "value": "x@acme.example"}}}); code != 400 || body["scimType"] != "mutability" {
				t.Errorf("userName change: %d %v", code, body)
			}
		})

		t.Run("PutAndDelete", func(t *testing.T) {
			code, body, _ := e.scim("PUT", "/scim/v2/Users/"+id, scimTok, map[string]any{"userName": "anna.petrova@acme.example",
				"name": map[string]any{"givenName": "Anna", "familyName": "Petrova"}, "title": "Lead", "active": true})
			if code != 200 || body["title"] != "Lead" || body["phoneNumbers"] != nil {
				t.Errorf("put: %d %v", code, body)
			}
			if code, _, _ := e.scim("DELETE", "/scim/v2/Users/"+id, scimTok, nil); code != 204 {
				t.Errorf("delete: %d", code)
			}
			if code, _, _ := e.scim("GET", "/scim/v2/Users/"+id, scimTok, nil); code != 404 {
				t.Errorf("after delete: %d", code)
			}
		})

		t.Run("Groups", func(t *testing.T) {
			code, body, _ := e.scim("GET", "/scim/v2/Groups?filter="+urlQuery(`displayName eq "Employee"`), scimTok, nil)
			if code != 200 || int(body["totalResults"].(float64)) != 1 {
				t.Errorf("groups: %d %v", code, body)
			}
		})
	})
}

func urlQuery(s string) string {
	r := strings.NewReplacer(" ", "%20", `"`, "%22", "[", "%5B", "]", "%5D", "(", "%28", ")", "%29")
	return r.Replace(s)
}

// FuzzSCIMFilter: no filter makes the parser or the evaluator panic, and
// a filter that parses evaluates against a representative user.
func FuzzSCIMFilter(f *testing.F) {
	for _, s := range []string{`userName eq "a"`, `emails[type eq "work" and value co "@"]`, `not (active eq true) or title pr`,
		`meta.lastModified gt "2020-01-01T00:00:00Z"`, `name.familyName sw "I"`, `x eq 1.5`, `userName eq`, `((a eq "b")`,
		`emails[type eq "work"].value eq "a@b"`, `emails[type eq "w" or type eq "h"].value pr`, `x[a eq "]"].b sw "\"" and c pr`} {
		f.Add(s)
	}
	res := map[string]any{"userName": "anna@acme.example", "active": true, "title": "Agent",
		"name":   map[string]any{"familyName": "Ivanova"},
		"emails": []any{map[string]any{"value": "anna@acme.example", "type": "work"}},
		"meta":   map[string]any{"lastModified": "2026-01-01T00:00:00Z"}}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := web.ParseSCIMFilter(s)
		if err != nil {
			return
		}
		web.MatchSCIMFilter(e, res)
	})
}
