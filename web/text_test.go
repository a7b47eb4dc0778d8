package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/web"
)

// textCase is one request carrying text Roster refuses, and the field the
// 422 must name.
type textCase struct {
	name   string
	method string
	url    func(e *env) string
	who    string
	body   string // raw JSON, or "" for none
	field  string
}

func at(u string) func(*env) string { return func(*env) string { return u } }

// nulCases are the requests that answered 500 on PostgreSQL or SQLite
// before text was checked at the edge (issue 11, finding 2), and their
// neighbours.
func nulCases() []textCase {
	victim := func(suffix string) func(e *env) string {
		return func(e *env) string { return path("/api/v1/users/%d%s", e.victim().ID, suffix) }
	}
	return []textCase{
		{"LoginUsername", "POST", at("/api/v1/auth/login"), "", `{"username":"\u0000","password":"x"}`, "username"},
		{"LoginPassword", "POST", at("/api/v1/auth/login"), "", `{"username":"admin","password":"a\u0000"}`, "password"},
		{"ForgotPassword", "POST", at("/api/v1/auth/forgot-password"), "", `{"email":"a\u0000@example.com"}`, "email"},
		{"PasswordChange", "POST", at("/api/v1/auth/password-change"), "", `{"change_token":"\u0000","new_password":"x"}`, "change_token"},
		{"MFA", "POST", at("/api/v1/auth/mfa"), "", `{"mfa_token":"\u0000","code":"1"}`, "mfa_token"},
		{"UsersSearch", "GET", at("/api/v1/users?q=a%00b"), "admin", "", "q"},
		{"UsersSearchShort", "GET", at("/api/v1/users?q=%00"), "admin", "", "q"},
		{"UsersRole", "GET", at("/api/v1/users?role=a%00b"), "admin", "", "role"},
		{"UsersCursor", "GET", at("/api/v1/users?cursor=%00"), "admin", "", "cursor"},
		{"UsersStatus", "GET", at("/api/v1/users?status=%00"), "admin", "", "status"},
		{"UnknownParamName", "GET", at("/api/v1/users?a%00=1"), "admin", "", "a\uFFFD"},
		{"ClientsSearch", "GET", at("/api/v1/clients?q=a%00b"), "admin", "", "q"},
		{"ClientsCountry", "GET", at("/api/v1/clients?country=%00"), "admin", "", "country"},
		{"EventsType", "GET", at("/api/v1/events?type=%00"), "admin", "", "type"},
		{"EventsCursor", "GET", at("/api/v1/events?cursor=%00"), "admin", "", "cursor"},
		{"RolesCompany", "GET", at("/api/v1/roles?company_id=%00"), "admin", "", "company_id"},
		{"UserCreateName", "POST", at("/api/v1/users"), "admin", `{"auth_method":"login","login":"nul1","first_name":"A\u0000","last_name":"B","role_ids":[1]}`, "first_name"},
		{"UserCreateEmail", "POST", at("/api/v1/users"), "admin", `{"auth_method":"email","email":"a\u0000@example.com","role_ids":[1]}`, "email"},
		{"UserCreatePosition", "POST", at("/api/v1/users"), "admin", `{"auth_method":"login","login":"nul2","first_name":"A","last_name":"B","position":"x\u0000","role_ids":[1]}`, "position"},
		{"UserPatchPosition", "PATCH", victim(""), "admin", `{"position":"x\u0000y"}`, "position"},
		{"UserBlockComment", "POST", victim("/block"), "admin", `{"comment":"fired\u0000"}`, "comment"},
		{"BulkFilterQ", "POST", at("/api/v1/users/bulk"), "admin", `{"action":"delete","filter":{"q":"a\u0000b"}}`, "filter.q"},
		{"BulkFilterRole", "POST", at("/api/v1/users/bulk"), "admin", `{"action":"delete","filter":{"role":"a\u0000"}}`, "filter.role"},
		{"BulkComment", "POST", at("/api/v1/users/bulk"), "admin", `{"action":"block","user_ids":[1],"comment":"\u0000"}`, "comment"},
		{"RoleCreate", "POST", at("/api/v1/roles"), "admin", `{"name":"Night\u0000shift"}`, "name"},
		{"RolePatch", "PATCH", func(e *env) string { return path("/api/v1/roles/%d", e.customRole().ID) }, "admin", `{"name":"a\u0000"}`, "name"},
		{"RoleImport", "POST", at("/api/v1/roles/import?dry_run=true"), "admin", `{"roles":[{"key":"night","name":"N\u0000","permissions":[]}]}`, "roles[0].name"},
		{"CompanyCreate", "POST", at("/api/v1/companies"), "root", `{"name":"Evil\u0000Corp"}`, "name"},
		{"CompanyPatch", "PATCH", func(e *env) string { return path("/api/v1/companies/%d", e.acme.ID) }, "root", `{"name":"Evil\u0000Corp"}`, "name"},
		{"EventComment", "POST", func(e *env) string { return path("/api/v1/events/%d/comments", e.acmeEvent()) }, "admin", `{"body":"seen\u0000"}`, "body"},
		{"TagCreate", "POST", at("/api/v1/client-tags"), "admin", `{"name":"vip\u0000"}`, "name"},
		{"TagRename", "PATCH", func(e *env) string { return path("/api/v1/client-tags/%d", e.clientTag().ID) }, "admin", `{"name":"vip\u0000"}`, "name"},
		{"ClientCreate", "POST", at("/api/v1/clients"), "admin", `{"name":"Zed\u0000"}`, "name"},
		{"ClientPatch", "PATCH", func(e *env) string { return path("/api/v1/clients/%d", e.client().ID) }, "admin", `{"phone":"\u0000"}`, "phone"},
		{"QueueCreate", "POST", at("/api/v1/queues"), "admin", `{"name":"Q\u0000"}`, "name"},
		{"QueuePatch", "PATCH", func(e *env) string { return path("/api/v1/queues/%d", e.workGroup(roster.KindQueue).ID) }, "admin", `{"name":"Q\u0000"}`, "name"},
		{"Dialogue", "POST", at("/api/v1/dialogues"), "admin", `{"external_id":"\u0000"}`, "external_id"},
		{"Call", "POST", at("/api/v1/calls"), "admin", `{"call_id":"c\u0000","user_id":1}`, "call_id"},
		{"Notifications", "PUT", at("/api/v1/me/notifications"), "admin", `{"telegram_chat_id":"\u0000","subscriptions":[]}`, "telegram_chat_id"},
		{"CompanyOps", "PATCH", func(e *env) string { return path("/api/v1/companies/%d/operations", e.acme.ID) }, "admin", `{"slack_token":"x\u0000"}`, "slack_token"},
		{"Presence", "PUT", at("/api/v1/me/presence"), "admin", `{"status":"\u0000"}`, "status"},
		{"MyPassword", "POST", at("/api/v1/me/password"), "admin", `{"current_password":"\u0000","new_password":"x"}`, "current_password"},
	}
}

// TestOddTextRefused sends NUL bytes through every kind of input: each is a
// 422 naming the field, never a 500, on both engines.
func TestOddTextRefused(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		for _, c := range nulCases() {
			t.Run(c.name, func(t *testing.T) {
				defer func(old *testing.T) { e.t = old }(e.t)
				e.t = t
				var body any
				if c.body != "" {
					body = c.body
				}
				u, token := c.url(e), e.token(c.who)
				before := e.fingerprint()
				r := e.do(c.method, u, token, body)
				checkTextRefusal(t, r, c.field)
				if e.fingerprint() != before {
					t.Errorf("a refused request wrote to the database")
				}
			})
		}
	})
}

func checkTextRefusal(t *testing.T, r response, field string) {
	t.Helper()
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422: %s", r.Status, r.Body)
	}
	var p web.Problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("not a problem: %s", r.Body)
	}
	for _, f := range p.Errors {
		if f.Field == field {
			return
		}
	}
	t.Fatalf("no error on field %q: %s", field, r.Body)
}

// TestTextRules checks the rest of the rules of roster.CheckText at the
// API: invalid UTF-8 and lone surrogates are refused rather than stored as
// U+FFFD, single-line fields refuse line breaks and bidirectional
// controls, comments keep their lines.
func TestTextRules(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		admin := e.token("admin")
		v := e.victim()
		userURL := path("/api/v1/users/%d", v.ID)
		refused := []struct {
			name, method, url, body, field, code string
		}{
			{"RawInvalidUTF8", "PATCH", userURL, "{\"position\":\"Lead\xff\"}", "position", "invalid_unicode"},
			{"LoneSurrogate", "PATCH", userURL, `{"position":"Lead \ud800"}`, "position", "invalid_unicode"},
			{"LoneLowSurrogate", "PATCH", userURL, `{"first_name":"\udc00"}`, "first_name", "invalid_unicode"},
			{"Delete", "PATCH", userURL, `{"position":"a\u007fb"}`, "position", "control_character"},
			{"Escape", "PATCH", userURL, `{"last_name":"\u001b[31mRed"}`, "last_name", "control_character"},
			{"BidiInName", "PATCH", userURL, `{"first_name":"Ivan\u202Egnp"}`, "first_name", "bidi_control"},
			{"IsolateInName", "PATCH", userURL, `{"last_name":"\u2066x\u2069"}`, "last_name", "bidi_control"},
			{"LineBreakInPosition", "PATCH", userURL, `{"position":"Night\nshift"}`, "position", "line_break"},
			{"TabInName", "PATCH", userURL, `{"first_name":"I\tvan"}`, "first_name", "line_break"},
			{"LineBreakInRole", "POST", "/api/v1/roles", `{"name":"Night\r\nshift"}`, "name", "line_break"},
			{"BidiInTag", "POST", "/api/v1/client-tags", `{"name":"vip\u200F"}`, "name", "bidi_control"},
			{"BidiInQueue", "POST", "/api/v1/queues", `{"name":"\u061CQ"}`, "name", "bidi_control"},
			{"BidiInBulkFilter", "POST", "/api/v1/users/bulk", `{"action":"delete","filter":{"q":"a\u202Eb"}}`, "filter.q", "bidi_control"},
			{"InvalidUTF8Key", "PATCH", userURL, "{\"posi\xfftion\":\"x\"}", "posi\uFFFDtion", "invalid_unicode"},
			{"QueryInvalidUTF8", "GET", "/api/v1/users?q=%FF", "", "q", "invalid_unicode"},
			{"QueryBidi", "GET", "/api/v1/users?q=a%E2%80%AEb", "", "q", "bidi_control"},
			{"QueryLineBreak", "GET", "/api/v1/clients?q=a%0Ab", "", "q", "line_break"},
			{"QueryEscapeSequence", "GET", "/api/v1/events?cursor=%1B", "", "cursor", "control_character"},
		}
		for _, c := range refused {
			t.Run(c.name, func(t *testing.T) {
				defer func(old *testing.T) { e.t = old }(e.t)
				e.t = t
				var body any
				if c.body != "" {
					body = c.body
				}
				before := e.fingerprint()
				r := e.do(c.method, c.url, admin, body)
				checkTextRefusal(t, r, c.field)
				if !strings.Contains(string(r.Body), `"code":"`+c.code+`"`) {
					t.Errorf("code is not %s: %s", c.code, r.Body)
				}
				if e.fingerprint() != before {
					t.Errorf("a refused request wrote to the database")
				}
			})
		}
		t.Run("PathValue", func(t *testing.T) {
			for _, u := range []string{"/api/v1/users/1%00", "/api/v1/registration/a%00b", "/api/v1/users/%FF"} {
				if r := e.do("GET", u, admin, nil); r.Status != 404 {
					t.Errorf("%s: %d %s", u, r.Status, r.Body)
				}
			}
		})
		t.Run("Accepted", func(t *testing.T) {
			defer func(old *testing.T) { e.t = old }(e.t)
			e.t = t
			var u roster.User
			e.expect("PATCH", userURL, admin, `{"first_name":"Иван","last_name":"O'Brien-Smith","position":"Ночная смена 😀 \ud83d\ude00"}`, 200).JSON(t, &u)
			if u.FirstName != "Иван" || u.Position != "Ночная смена 😀 😀" {
				t.Errorf("stored %q %q", u.FirstName, u.Position)
			}
			// Comments are multi-line text: lines and tabs stay.
			e.expect("POST", userURL+"/block", admin, `{"comment":"Fired.\nSee ticket\t#12"}`, 200)
			var c struct{ Body string }
			e.expect("POST", path("/api/v1/events/%d/comments", e.acmeEvent()), admin, `{"body":"line one\r\nline two"}`, 201).JSON(t, &c)
			if c.Body != "line one\r\nline two" {
				t.Errorf("comment %q", c.Body)
			}
		})
	})
}

// TestRequestBodyRules checks the rules of decodeJSON on every JSON route
// that reads a body: the media type (415), a body that is not an object,
// null included (422), keys given twice at any depth (422 naming the key),
// a body over the limit (413) — and that none of these writes anything.
func TestRequestBodyRules(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		seen := map[string]bool{}
		for _, c := range nulCases() {
			if c.method == "GET" || seen[c.method+" "+c.name] {
				continue
			}
			seen[c.method+" "+c.name] = true
			t.Run(c.name, func(t *testing.T) {
				defer func(old *testing.T) { e.t = old }(e.t)
				e.t = t
				u, token := c.url(e), e.token(c.who)
				before := e.fingerprint()
				send := func(contentType, body string) response {
					req := httptest.NewRequest(c.method, u, strings.NewReader(body))
					if contentType != "" {
						req.Header.Set("Content-Type", contentType)
					}
					if token != "" {
						req.Header.Set("Authorization", "Bearer "+token)
					}
					rec := httptest.NewRecorder()
					e.h.ServeHTTP(rec, req)
					return response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
				}
				for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", "application/jsonx"} {
					if r := send(ct, c.body); r.Status != http.StatusUnsupportedMediaType || !strings.Contains(string(r.Body), "unsupported_media_type") {
						t.Errorf("Content-Type %q: %d %s", ct, r.Status, r.Body)
					}
				}
				// Accepted media types reach validation (the NUL is refused).
				for _, ct := range []string{"application/json; charset=utf-8", "application/json;charset=UTF-8", "application/merge-patch+json"} {
					if r := send(ct, c.body); r.Status != 422 {
						t.Errorf("Content-Type %q: %d %s", ct, r.Status, r.Body)
					}
				}
				for _, body := range []string{"null", " null\n", "[]", `"x"`, "1", "true"} {
					if r := send("application/json", body); r.Status != 422 {
						t.Errorf("body %s: %d %s", body, r.Status, r.Body)
					}
				}
				// The NUL case's first key, given twice.
				key := c.body[2 : strings.Index(c.body[2:], `"`)+2]
				dup := "{" + c.body[1:len(c.body)-1] + `,"` + strings.ToUpper(key) + `":null}`
				r := send("application/json", dup)
				checkTextRefusal(t, r, strings.ToUpper(key))
				if !strings.Contains(string(r.Body), "duplicate_key") {
					t.Errorf("duplicate %s: %s", dup, r.Body)
				}
				big := `{"` + key + `":"` + strings.Repeat("a", int(web.DefaultMaxBodyBytes)) + `"}`
				if r := send("application/json", big); r.Status != http.StatusRequestEntityTooLarge {
					t.Errorf("large body: %d %s", r.Status, r.Body)
				}
				if e.fingerprint() != before {
					t.Errorf("a refused request wrote to the database")
				}
			})
		}
		t.Run("NestedDuplicate", func(t *testing.T) {
			r := e.do("POST", "/api/v1/roles/import?dry_run=true", e.token("admin"),
				`{"roles":[{"key":"a","name":"A","permissions":[]},{"key":"b","name":"B","name":"C","permissions":[]}]}`)
			checkTextRefusal(t, r, "roles[1].name")
		})
	})
}
