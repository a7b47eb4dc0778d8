package panel

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// step is one request of a scenario. Paths and form values may name
// fixture objects: {olga} is that user's ID, {child} the dependent company,
// {role:dispatcher} a reseller role.
type step struct {
	name         string
	as           string // fixture user whose signed-in client sends it; "" anonymous
	method       string
	path         string
	form         url.Values
	header       map[string]string
	wantStatus   int
	wantLocation string
	want         []string
	notWant      []string
}

func (f *fixture) expand(s string) string {
	pairs := []string{"{child}", strconv.FormatInt(f.child.ID, 10), "{reseller}", strconv.FormatInt(f.reseller.ID, 10)}
	for name, u := range f.users {
		pairs = append(pairs, "{"+name+"}", strconv.FormatInt(u.ID, 10))
	}
	for key, r := range f.roles {
		pairs = append(pairs, "{role:"+key+"}", strconv.FormatInt(r.ID, 10))
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// runScenario runs steps in order on one fixture: later steps see the
// effects of earlier ones, as a person clicking through would.
func runScenario(t *testing.T, f *fixture, steps []step) {
	t.Helper()
	clients := map[string]*client{"": f.client()}
	for _, st := range steps {
		c, ok := clients[st.as]
		if !ok {
			c = f.signedIn(st.as)
			clients[st.as] = c
		}
		path := f.expand(st.path)
		var req *http.Request
		if st.method == http.MethodPost {
			form := url.Values{}
			for k, vs := range st.form {
				for _, v := range vs {
					form.Add(k, f.expand(v))
				}
			}
			if len(st.header) == 0 {
				rec := c.post(path, form)
				check(t, f, st, rec.Code, rec.Header(), body(rec))
				continue
			}
			req = newFormRequest(path, form, c)
		} else {
			req = newGetRequest(path)
		}
		for k, v := range st.header {
			req.Header.Set(k, v)
		}
		rec := c.do(req)
		check(t, f, st, rec.Code, rec.Header(), body(rec))
	}
}

func check(t *testing.T, f *fixture, st step, code int, h http.Header, b string) {
	t.Helper()
	st.wantLocation = f.expand(st.wantLocation)
	for i := range st.want {
		st.want[i] = f.expand(st.want[i])
	}
	for i := range st.notWant {
		st.notWant[i] = f.expand(st.notWant[i])
	}
	if code != st.wantStatus {
		t.Errorf("%s: status %d, want %d\n%.3000s", st.name, code, st.wantStatus, b)
		return
	}
	if st.wantLocation != "" && h.Get("Location") != st.wantLocation {
		t.Errorf("%s: Location %q, want %q", st.name, h.Get("Location"), st.wantLocation)
	}
	for _, w := range st.want {
		if !strings.Contains(b, w) {
			t.Errorf("%s: body lacks %q\n%.4000s", st.name, w, b)
		}
	}
	for _, w := range st.notWant {
		if strings.Contains(b, w) {
			t.Errorf("%s: body has %q", st.name, w)
		}
	}
}

func TestPanelScenarios(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		const get, post = http.MethodGet, http.MethodPost
		t.Run("SignIn", func(t *testing.T) {
			runScenario(t, f, []step{
				{name: "anonymous is sent to sign-in", method: get, path: "/users", wantStatus: 303, wantLocation: "/signin?next=%2Fusers"},
				{name: "sign-in page", method: get, path: "/signin", wantStatus: 200, want: []string{"Sign in to Roster", `name="username"`}},
				{name: "Russian from Accept-Language", method: get, path: "/signin", header: map[string]string{"Accept-Language": "ru-RU,ru;q=0.9"}, wantStatus: 200, want: []string{"Вход в Roster"}},
				{name: "wrong password", method: post, path: "/signin", form: url.Values{"username": {"anna@northwind.test"}, "password": {"nope-nope-nope"}}, wantStatus: 401, want: []string{"The e-mail or password is wrong, or the account is blocked."}},
				{name: "unknown user, same message", method: post, path: "/signin", form: url.Values{"username": {"ghost@northwind.test"}, "password": {testPassword}}, wantStatus: 401, want: []string{"The e-mail or password is wrong, or the account is blocked."}},
				{name: "blocked user, same message", method: post, path: "/signin", form: url.Values{"username": {"bella@northwind.test"}, "password": {testPassword}}, wantStatus: 401, want: []string{"The e-mail or password is wrong, or the account is blocked."}},
				{name: "login-method user refused clearly", method: post, path: "/signin", form: url.Values{"username": {"agent7"}, "password": {testPassword}}, wantStatus: 401, want: []string{"signs in with a login"}},
				{name: "cross-site post refused", method: post, path: "/signin", form: url.Values{"username": {"anna@northwind.test"}, "password": {testPassword}}, header: map[string]string{"Sec-Fetch-Site": "cross-site"}, wantStatus: 403},
				{name: "good sign-in", method: post, path: "/signin", form: url.Values{"username": {"Anna@Northwind.test"}, "password": {testPassword}, "next": {"/roles"}}, wantStatus: 303, wantLocation: "/roles"},
				{name: "open redirect refused", method: post, path: "/signin", form: url.Values{"username": {"anna@northwind.test"}, "password": {testPassword}, "next": {"//evil.test/x"}}, wantStatus: 303, wantLocation: "/users"},
				{name: "temporary password forces a change", method: post, path: "/signin", form: url.Values{"username": {"tara@northwind.test"}, "password": {testPassword}}, wantStatus: 303, wantLocation: "/password/change"},
			})
		})
		t.Run("ForcedPasswordChange", func(t *testing.T) {
			c := f.client()
			rec := c.post("/signin", url.Values{"username": {"tara@northwind.test"}, "password": {testPassword}})
			if rec.Header().Get("Location") != "/password/change" {
				t.Fatalf("location %q", rec.Header().Get("Location"))
			}
			if rec := c.get("/users"); rec.Code != 303 || rec.Header().Get("Location") != "/password/change" {
				t.Fatalf("a password-change session must not open pages: %d %s", rec.Code, rec.Header().Get("Location"))
			}
			rec = c.post("/password/change", url.Values{"new_password": {"short"}, "confirm_password": {"short"}})
			if rec.Code != 422 || !strings.Contains(body(rec), "at least 12 characters") {
				t.Fatalf("weak password: %d %s", rec.Code, body(rec))
			}
			rec = c.post("/password/change", url.Values{"new_password": {"velvet-harbor-lantern"}, "confirm_password": {"velvet-harbor-lantern"}})
			if rec.Code != 303 || rec.Header().Get("Location") != "/users" {
				t.Fatalf("change: %d %s", rec.Code, body(rec))
			}
			if rec := c.get("/profile"); rec.Code != 200 || !strings.Contains(body(rec), "Password changed.") {
				t.Fatalf("after change: %d", rec.Code)
			}
		})
		t.Run("Users", func(t *testing.T) {
			runScenario(t, f, []step{
				{name: "list", as: "admin", method: get, path: "/users", wantStatus: 200,
					want:    []string{"Olga Ivanova", "Boris Kuznetsov", "Hugo Berg", "Harbor Taxi", "agent7", `data-dialog="add-user"`, `data-bulk-action`, `class="badge badge-blocked tip"`, `role="tooltip"`, "left the company"},
					notWant: []string{"Rita Root"}},
				{name: "search narrows", as: "admin", method: get, path: "/users?q=olg", wantStatus: 200, want: []string{"Olga Ivanova", "1 user"}, notWant: []string{"Boris Kuznetsov"}},
				{name: "fragment is only the results", as: "admin", method: get, path: "/users?q=kuzn&fragment=1", wantStatus: 200, want: []string{"Boris Kuznetsov", `id="bulk"`}, notWant: []string{"<html", "Olga Ivanova"}},
				{name: "status filter", as: "admin", method: get, path: "/users?status=blocked", wantStatus: 200, want: []string{"Bella Stone"}, notWant: []string{"Olga Ivanova"}},
				{name: "role filter", as: "admin", method: get, path: "/users?role={role:dispatcher}", wantStatus: 200, want: []string{"Dmitri Volkov"}, notWant: []string{"Olga Ivanova"}},
				{name: "card view", as: "admin", method: get, path: "/users?view=cards", wantStatus: 200, want: []string{`<ul class="cards"`}},
				{name: "card view remembered", as: "admin", method: get, path: "/users", wantStatus: 200, want: []string{`<ul class="cards"`}},
				{name: "back to table", as: "admin", method: get, path: "/users?view=table", wantStatus: 200, want: []string{`<table class="grid users-grid"`}},
				{name: "tampered cursor falls back to the first page", as: "admin", method: get, path: "/users?cursor=garbage", wantStatus: 200, want: []string{"Olga Ivanova"}},
				{name: "card", as: "admin", method: get, path: "/users/{olga}", wantStatus: 200, want: []string{"olga@northwind.test", "Employee", "/users/{olga}/block", "/users/{olga}/delete", "Recent events"}},
				{name: "another company's user is not found", as: "admin", method: get, path: "/users/{main}", wantStatus: 404},
				{name: "missing user", as: "admin", method: get, path: "/users/999999", wantStatus: 404},
				{name: "garbage id", as: "admin", method: get, path: "/users/abc", wantStatus: 404},
				{name: "block needs the form token", as: "admin", method: post, path: "/users/{olga}/block", form: url.Values{"comment": {"x"}, "csrf": {"forged"}}, wantStatus: 403},
				{name: "block needs a comment", as: "admin", method: post, path: "/users/{olga}/block", form: url.Values{"comment": {"  "}}, wantStatus: 422, want: []string{"field-error", "Write a comment."}},
				{name: "block", as: "admin", method: post, path: "/users/{olga}/block", form: url.Values{"comment": {"on leave"}}, wantStatus: 303, wantLocation: "/users/{olga}"},
				{name: "flash and status", as: "admin", method: get, path: "/users/{olga}", wantStatus: 200, want: []string{"User blocked.", "badge-blocked", "/users/{olga}/unblock"}},
				{name: "unblock", as: "admin", method: post, path: "/users/{olga}/unblock", form: url.Values{"comment": {"back"}}, wantStatus: 303},
				{name: "edit with a bad phone", as: "admin", method: post, path: "/users/{boris}/edit", form: url.Values{"phone": {"call me"}, "position": {"Driver"}}, wantStatus: 422, want: []string{"Enter a phone number", `value="call me"`}},
				{name: "edit", as: "admin", method: post, path: "/users/{boris}/edit", form: url.Values{"phone": {"+7 900 123-45-67"}, "position": {"Night driver"}}, wantStatus: 303},
				{name: "edited", as: "admin", method: get, path: "/users/{boris}", wantStatus: 200, want: []string{"User saved.", "900 123-45-67", "Night driver"}},
				{name: "roles change", as: "admin", method: post, path: "/users/{boris}/roles", form: url.Values{"role_ids": {"{role:manager}"}}, wantStatus: 303},
				{name: "roles changed", as: "admin", method: get, path: "/users/{boris}", wantStatus: 200, want: []string{"Roles changed.", "Manager"}},
				{name: "add login user with generated password", as: "admin", method: post, path: "/users", form: url.Values{"auth_method": {"login"}, "login": {"Driver42"}, "first_name": {"Nina"}, "last_name": {"Kaur"}, "role_ids": {"{role:employee}"}, "credentials": {"generated"}, "company_id": {"{reseller}"}},
					wantStatus: 200, want: []string{"shown only once", `value="driver42"`, `id="once-password"`}},
				{name: "duplicate login", as: "admin", method: post, path: "/users", form: url.Values{"auth_method": {"login"}, "login": {"driver42"}, "first_name": {"N"}, "last_name": {"K"}, "role_ids": {"{role:employee}"}, "credentials": {"generated"}},
					wantStatus: 409, want: []string{"already"}},
				{name: "invalid e-mail shown beside the field", as: "admin", method: post, path: "/users", form: url.Values{"auth_method": {"email"}, "email": {"not-an-email"}, "role_ids": {"{role:employee}"}, "credentials": {"invitation"}},
					wantStatus: 422, want: []string{"Enter a valid e-mail address", `value="not-an-email"`}},
				{name: "invite by e-mail", as: "admin", method: post, path: "/users", form: url.Values{"auth_method": {"email"}, "email": {"newbie@northwind.test"}, "role_ids": {"{role:employee}"}, "credentials": {"invitation"}},
					wantStatus: 303},
				{name: "invited shows", as: "admin", method: get, path: "/users?status=invited", wantStatus: 200, want: []string{"newbie@northwind.test", "Invited"}},
				{name: "cannot grant Company administrator", as: "admin", method: post, path: "/users", form: url.Values{"auth_method": {"email"}, "email": {"boss@northwind.test"}, "role_ids": {"{role:company_admin}"}, "credentials": {"invitation"}},
					wantStatus: 403},
				{name: "generated first password offers Send to e-mail", as: "admin", method: post, path: "/users", form: url.Values{"auth_method": {"email"}, "email": {"typed@northwind.test"}, "first_name": {"Tina"}, "last_name": {"Typed"}, "role_ids": {"{role:employee}"}, "credentials": {"generated"}},
					wantStatus: 200, want: []string{`id="once-password"`, "Send to e-mail", "/password-reset", "never sent"}},
				{name: "a login user has no Send to e-mail", as: "admin", method: post, path: "/users", form: url.Values{"auth_method": {"login"}, "login": {"Driver43"}, "first_name": {"Nina"}, "last_name": {"Kaur"}, "role_ids": {"{role:employee}"}, "credentials": {"generated"}},
					wantStatus: 200, notWant: []string{"Send to e-mail"}},
				{name: "the add-user form says why the work phone matters", as: "admin", method: get, path: "/users", wantStatus: 200, want: []string{"cannot be recorded as handling calls"}},
				{name: "reset password of a login user", as: "admin", method: post, path: "/users/{agent}/password-reset", wantStatus: 200, want: []string{"New temporary password", "agent7"}},
				{name: "bulk block asks to confirm", as: "admin", method: post, path: "/users/bulk", form: url.Values{"action": {"block"}, "id": {"{olga}", "{ivan}"}}, wantStatus: 200, want: []string{"This affects 2 users.", `name="comment"`}},
				{name: "bulk block needs a comment", as: "admin", method: post, path: "/users/bulk", form: url.Values{"action": {"block"}, "id": {"{olga}", "{ivan}"}, "confirm": {"1"}}, wantStatus: 422, want: []string{"Write a comment."}},
				{name: "bulk block", as: "admin", method: post, path: "/users/bulk", form: url.Values{"action": {"block"}, "id": {"{olga}", "{ivan}"}, "confirm": {"1"}, "comment": {"audit"}}, wantStatus: 303},
				{name: "bulk flash", as: "admin", method: get, path: "/users?status=blocked", wantStatus: 200, want: []string{"2 users blocked.", "Olga Ivanova", "Ivan Sidorov"}},
				{name: "bulk unblock all matching", as: "admin", method: post, path: "/users/bulk", form: url.Values{"action": {"unblock"}, "all": {"1"}, "q": {"northwind"}, "status": {"blocked"}, "confirm": {"1"}, "comment": {"ok"}}, wantStatus: 303},
				{name: "bulk refusal per user", as: "admin", method: post, path: "/users/bulk", form: url.Values{"action": {"remove_role"}, "role_id": {"{role:employee}"}, "id": {"{olga}"}, "confirm": {"1"}}, wantStatus: 409, want: []string{"Nothing was changed", "Olga Ivanova"}},
				{name: "delete returns to where the list was", as: "admin", method: post, path: "/users/{ivan}/delete", wantStatus: 303, wantLocation: "/users?status=blocked"},
				{name: "deleted", as: "admin", method: get, path: "/users/{ivan}", wantStatus: 404},
			})
		})
		t.Run("ViewFollowsUser", func(t *testing.T) {
			// U3: the view is remembered per user in the database, not
			// in a cookie, so a new session (another browser) keeps it.
			isCards := func(name string, c *client, want bool) {
				t.Helper()
				rec := c.get("/users")
				b := body(rec)
				if rec.Code != 200 || strings.Contains(b, `<ul class="cards"`) != want || strings.Contains(b, `<table class="grid users-grid"`) == want {
					t.Fatalf("%s: status %d, want cards %v\n%.2000s", name, rec.Code, want, b)
				}
			}
			first := f.signedIn("admin")
			if rec := first.get("/users?view=cards"); rec.Code != 200 || !strings.Contains(body(rec), `<ul class="cards"`) {
				t.Fatalf("switch to cards: %d", rec.Code)
			}
			for name := range first.cookies {
				if strings.Contains(name, "view") {
					t.Fatalf("the view is kept in cookie %q", name)
				}
			}
			second := f.signedIn("admin")
			isCards("sign in again", second, true)
			isCards("another user keeps theirs", f.signedIn("dispatcher"), false)
			if rec := second.post("/users/view", url.Values{"view": {"tiles"}}); rec.Code < 400 || rec.Code >= 500 {
				t.Fatalf("invalid view accepted: %d", rec.Code)
			}
			isCards("invalid view changes nothing", second, true)
			if rec := second.post("/users/view", url.Values{"view": {"table"}, "return": {"/users"}}); rec.Code != 303 {
				t.Fatalf("post table: %d", rec.Code)
			}
			isCards("first session sees the change", first, false)
			isCards("sign in once more", f.signedIn("admin"), false)
		})
		t.Run("ReadOnlyDispatcher", func(t *testing.T) {
			runScenario(t, f, []step{
				{name: "list without actions", as: "dispatcher", method: get, path: "/users", wantStatus: 200, want: []string{"Olga Ivanova"}, notWant: []string{`data-dialog="add-user"`, "data-bulk-action", `name="id"`}},
				{name: "card without actions", as: "dispatcher", method: get, path: "/users/{olga}", wantStatus: 200, want: []string{"olga@northwind.test"}, notWant: []string{"/block", "/delete", "/edit", "/users/{olga}/roles"}},
				{name: "block refused", as: "dispatcher", method: post, path: "/users/{olga}/block", form: url.Values{"comment": {"x"}}, wantStatus: 403},
				{name: "add refused", as: "dispatcher", method: get, path: "/users/new", wantStatus: 403},
				{name: "bulk refused", as: "dispatcher", method: post, path: "/users/bulk", form: url.Values{"action": {"delete"}, "id": {"{olga}"}, "confirm": {"1"}}, wantStatus: 403},
				{name: "roles read-only", as: "dispatcher", method: get, path: "/roles", wantStatus: 200, notWant: []string{"Save permissions", "/roles/import"}},
				{name: "no event log", as: "dispatcher", method: get, path: "/events", wantStatus: 403},
			})
		})
		t.Run("Roles", func(t *testing.T) {
			runScenario(t, f, []step{
				{name: "matrix", as: "admin", method: get, path: "/roles", wantStatus: 200, want: []string{"Permission matrix", `name="perm_{role:dispatcher}"`, "Dispatcher", "Company administrator"}},
				{name: "export", as: "admin", method: get, path: "/roles/export", wantStatus: 200, want: []string{`"key": "dispatcher"`, `"key": "company_admin",
      "name": "Company administrator",
      "system": true`}},
				{name: "import preview changes nothing", as: "admin", method: post, path: "/roles/import", form: url.Values{"data": {`[{"key":"night_shift","name":"Night shift","permissions":["users.view"]}]`}}, wantStatus: 200, want: []string{"Import preview", "night_shift", "Apply import"}},
				{name: "not yet created", as: "admin", method: get, path: "/roles", wantStatus: 200, notWant: []string{"Night shift</a>"}},
				{name: "import apply", as: "admin", method: post, path: "/roles/import", form: url.Values{"data": {`[{"key":"night_shift","name":"Night shift","permissions":["users.view"]}]`}, "apply": {"1"}}, wantStatus: 303},
				{name: "bad import", as: "admin", method: post, path: "/roles/import", form: url.Values{"data": {`{nope`}}, wantStatus: 422, want: []string{"not a roles export"}},
				{name: "create role", as: "admin", method: post, path: "/roles", form: url.Values{"name": {"Auditors"}}, wantStatus: 303},
				{name: "create role needs a name", as: "admin", method: post, path: "/roles", form: url.Values{"name": {""}}, wantStatus: 422, want: []string{"This field is required."}},
				{name: "role users tab", as: "admin", method: get, path: "/roles/{role:dispatcher}?tab=users", wantStatus: 200, want: []string{"Dmitri Volkov"}},
				{name: "dispatcher can add nothing yet", as: "dispatcher", method: get, path: "/users", wantStatus: 200},
				{name: "take users.view from Dispatcher", as: "admin", method: post, path: "/roles/matrix", form: url.Values{"role": {"{role:dispatcher}"}, "perm_{role:dispatcher}": {"roles.view", "clients.view"}}, wantStatus: 303},
				{name: "applies on the next request", as: "dispatcher", method: get, path: "/users", wantStatus: 403},
				{name: "give it back", as: "admin", method: post, path: "/roles/matrix", form: url.Values{"role": {"{role:dispatcher}"}, "perm_{role:dispatcher}": {"users.view", "roles.view", "clients.view"}}, wantStatus: 303},
				{name: "system role read-only", as: "admin", method: post, path: "/roles/{role:company_admin}", form: url.Values{"name": {"Boss"}}, wantStatus: 403},
			})
		})
		t.Run("EventsCompaniesProfile", func(t *testing.T) {
			runScenario(t, f, []step{
				{name: "event log", as: "admin", method: get, path: "/events", wantStatus: 200, want: []string{"User blocked", "audit"}},
				{name: "events of one user", as: "admin", method: get, path: "/events?user={boris}&type=user.updated", wantStatus: 200, want: []string{"Events of Boris Kuznetsov", "User changed"}, notWant: []string{"User blocked</span>"}},
				{name: "companies", as: "admin", method: get, path: "/companies", wantStatus: 200, want: []string{"Harbor Taxi", "/companies/{child}/switch"}, notWant: []string{"New company"}},
				{name: "main admin creates a company", as: "main", method: post, path: "/companies", form: url.Values{"name": {"Lakeside Couriers"}}, wantStatus: 303},
				{name: "main admin sees it", as: "main", method: get, path: "/companies", wantStatus: 200, want: []string{"Lakeside Couriers", "Company created."}},
				{name: "hierarchy: the dependent under its reseller", as: "main", method: get, path: "/companies", wantStatus: 200,
					want: []string{`<tr data-company="{reseller}">`, `<tr data-company="{child}" class="dependent">`, `class="co-name depth-1"`, `href="/companies?rename={child}"`}},
				{name: "rename form opens in the row", as: "main", method: get, path: "/companies?rename={child}", wantStatus: 200, want: []string{`action="/companies/{child}/rename"`, `value="Harbor Taxi"`}},
				{name: "rename refuses an empty name", as: "main", method: post, path: "/companies/{child}/rename", form: url.Values{"name": {"  "}}, wantStatus: 422, want: []string{`action="/companies/{child}/rename"`, "field-error"}},
				{name: "rename", as: "main", method: post, path: "/companies/{child}/rename", form: url.Values{"name": {"Harbor Taxi North"}}, wantStatus: 303, wantLocation: "/companies"},
				{name: "renamed", as: "main", method: get, path: "/companies", wantStatus: 200, want: []string{"Company renamed.", "Harbor Taxi North"}},
				{name: "renamed in Russian", as: "main", method: get, path: "/companies", header: map[string]string{"Accept-Language": "ru"}, wantStatus: 200, want: []string{"Переименовать"}},
				{name: "a reseller cannot rename", as: "admin", method: post, path: "/companies/{child}/rename", form: url.Values{"name": {"Mine now"}}, wantStatus: 403},
				{name: "a reseller sees no rename", as: "admin", method: get, path: "/companies", wantStatus: 200, notWant: []string{"?rename="}},
				{name: "rename back", as: "main", method: post, path: "/companies/{child}/rename", form: url.Values{"name": {"Harbor Taxi"}}, wantStatus: 303},
				{name: "reseller cannot create", as: "admin", method: post, path: "/companies", form: url.Values{"name": {"X"}}, wantStatus: 403},
				{name: "no switch into own company", as: "admin", method: post, path: "/companies/{reseller}/switch", wantStatus: 403},
				{name: "profile", as: "admin", method: get, path: "/profile", wantStatus: 200, want: []string{"My profile", "anna@northwind.test"}},
				{name: "wrong current password", as: "admin", method: post, path: "/profile/password", form: url.Values{"current_password": {"nope"}, "new_password": {"copper-meadow-sunrise"}, "confirm_password": {"copper-meadow-sunrise"}}, wantStatus: 422, want: []string{"The current password is wrong."}},
				{name: "rename self", as: "admin", method: post, path: "/profile", form: url.Values{"first_name": {"Anna"}, "middle_name": {"M"}, "last_name": {"Petrova"}}, wantStatus: 303},
			})
		})
		t.Run("Switch", func(t *testing.T) {
			c := f.signedIn("admin")
			parent := c.cookies[sessionCookie]
			rec := c.post("/companies/"+strconv.FormatInt(f.child.ID, 10)+"/switch", nil)
			if rec.Code != 303 || c.cookies[parentCookie] != parent || c.cookies[sessionCookie] == parent {
				t.Fatalf("switch: %d %s", rec.Code, body(rec))
			}
			b := body(c.get("/users"))
			for _, w := range []string{"Anna M Petrova is working as Hugo Berg, administrator of Harbor Taxi.", "Return to my account", "/switch-back"} {
				if !strings.Contains(b, w) {
					t.Errorf("switched page lacks %q", w)
				}
			}
			if strings.Contains(b, "Olga Ivanova") {
				t.Error("switched into the child company, the reseller's users must not show")
			}
			if rec := c.post("/companies/"+strconv.FormatInt(f.child.ID, 10)+"/switch", nil); rec.Code != 403 && rec.Code != 404 {
				t.Errorf("chained switch: %d", rec.Code)
			}
			rec = c.post("/switch-back", nil)
			if rec.Code != 303 || c.cookies[sessionCookie] != parent || c.cookies[parentCookie] != "" {
				t.Fatalf("switch back: %d", rec.Code)
			}
			if b := body(c.get("/companies")); !strings.Contains(b, "You are back in your own account.") || strings.Contains(b, "is working as") {
				t.Error("not back")
			}
			if b := body(c.get("/events?type=auth.switch")); !strings.Contains(b, "Hugo Berg") {
				t.Error("switch not logged")
			}
		})
		t.Run("LanguageAndSecurity", func(t *testing.T) {
			c := f.signedIn("admin")
			rec := c.post("/lang", url.Values{"lang": {"ru"}, "return": {"/users"}})
			if rec.Code != 303 || rec.Header().Get("Location") != "/users" {
				t.Fatalf("lang: %d", rec.Code)
			}
			rec = c.get("/users")
			b := body(rec)
			for _, w := range []string{`<html lang="ru">`, "Пользователи", "Добавить пользователя"} {
				if !strings.Contains(b, w) {
					t.Errorf("Russian page lacks %q", w)
				}
			}
			h := rec.Header()
			if got := h.Get("Content-Security-Policy"); got != "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'" {
				t.Errorf("CSP %q", got)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "same-origin" {
				t.Error("security headers missing")
			}
			if strings.Contains(b, "<script>") || strings.Contains(b, " style=") || strings.Contains(b, "<style") {
				t.Error("inline script or style")
			}
			rec = c.post("/users/"+strconv.FormatInt(f.users["boris"].ID, 10)+"/block", url.Values{"comment": {"x"}})
			c.get("/users/" + strconv.FormatInt(f.users["boris"].ID, 10))
			if b := body(c.get("/users/" + strconv.FormatInt(f.users["boris"].ID, 10))); strings.Contains(b, "Пользователь заблокирован.") {
				t.Error("flash shown twice")
			}
			static := f.panel.static.URL("app.css")
			rec = c.get(static)
			if rec.Code != 200 || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") || rec.Header().Get("Content-Type") != "text/css; charset=utf-8" {
				t.Errorf("static: %d %v", rec.Code, rec.Header())
			}
			if rec := c.get("/static/app.css"); rec.Code != 404 {
				t.Errorf("unhashed static: %d", rec.Code)
			}
			// The session cookie's attributes.
			d := f.client()
			rec = d.post("/signin", url.Values{"username": {"anna@northwind.test"}, "password": {testPassword}})
			sc := rec.Header().Get("Set-Cookie")
			if !strings.Contains(sc, "roster_session=") || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") || !strings.Contains(sc, "Path=/") {
				t.Errorf("cookie %q", sc)
			}
			// Idle expiry.
			f.clock.Advance(31 * time.Minute)
			if rec := d.get("/users"); rec.Code != 303 || !strings.HasPrefix(rec.Header().Get("Location"), "/signin") {
				t.Errorf("idle session: %d", rec.Code)
			}
			e := f.signedIn("admin")
			if rec := e.post("/signout", nil); rec.Code != 303 || rec.Header().Get("Location") != "/signin" {
				t.Errorf("sign out: %d", rec.Code)
			}
			if rec := e.get("/users"); rec.Code != 303 {
				t.Errorf("after sign-out: %d", rec.Code)
			}
		})
	})
}

func newGetRequest(path string) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, "http://example.test"+path, nil)
	req.RemoteAddr = "192.0.2.1:1234"
	req.RequestURI = path
	return req
}

func newFormRequest(path string, form url.Values, c *client) *http.Request {
	if _, ok := form[csrfField]; !ok && c.cookies[sessionCookie] != "" {
		form.Set(csrfField, csrfToken(c.cookies[sessionCookie]))
	}
	req, _ := http.NewRequest(http.MethodPost, "http://example.test"+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = "192.0.2.1:1234"
	req.RequestURI = path
	return req
}
