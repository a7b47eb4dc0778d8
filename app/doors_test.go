package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/panel"
	"github.com/roster-app/roster/secure"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
	"github.com/roster-app/roster/web"
	"github.com/roster-app/roster/web/webtest"
)

// The case table of issue 14: every workflow case runs through every front
// door — the JSON API and the HTML panel — on both engines, each time on a
// fresh world, and must end with the same outcome and the same data. A new
// door (SCIM, CSV) joins by adding an entry to doors.

const password = "a long enough passphrase 1"

// world is a fresh store with a small company in it.
//
//	Platform   root (Main administrator)
//	Acme       admin (Company administrator), manager (Manager), emp1 and
//	           emp2 (Employee; emp1 in queue "Day"), selfnamed (set their
//	           own name), blocked, agent (login method); minimum password
//	           length 16
//	Other      other (Employee)
type world struct {
	t      *testing.T
	store  *sqlstore.Store
	clock  *sqlstoretest.Clock
	acme   *roster.Company
	other  *roster.Company
	users  map[string]*roster.User
	roles  map[string]int64 // Acme's roles by key
	queue  *roster.WorkGroup
	hasher *secure.Hasher
}

func newWorld(t *testing.T, engine string) *world {
	t.Helper()
	s, clock := sqlstoretest.OpenClock(t, engine)
	ctx := context.Background()
	w := &world{t: t, store: s, clock: clock, users: map[string]*roster.User{}, roles: map[string]int64{},
		hasher: secure.NewHasher(secure.TestParams, 4)}
	hash, err := w.hasher.Hash(ctx, password)
	must(t, err)
	root := &roster.User{AuthMethod: roster.AuthEmail, Email: "root@platform.test", FirstName: "Rita", LastName: "Root",
		PasswordHash: hash, NameSetBySelf: true}
	must(t, s.CreateMainAdmin(ctx, root))
	w.users["root"] = root
	w.acme = &roster.Company{Name: "Acme"}
	must(t, s.CreateCompany(ctx, w.acme))
	w.other = &roster.Company{Name: "Other"}
	must(t, s.CreateCompany(ctx, w.other))
	min := 16
	_, err = s.UpdateCompanySettings(ctx, roster.Scope{All: true}, w.acme.ID, roster.CompanySettingsUpdate{PasswordMinLength: &min})
	must(t, err)
	for _, k := range []string{roster.RoleCompanyAdmin, roster.RoleManager, roster.RoleEmployee, roster.RoleDispatcher} {
		r, err := s.RoleByKey(ctx, w.acme.ID, k)
		must(t, err)
		w.roles[k] = r.ID
	}
	add := func(name string, company int64, role string, mutate func(*roster.User)) {
		u := &roster.User{CompanyID: company, AuthMethod: roster.AuthEmail, Email: name + "@" + strings.ToLower(strconv.FormatInt(company, 10)) + ".test",
			FirstName: strings.ToUpper(name[:1]) + name[1:], LastName: "Tester", Status: roster.StatusActive, PasswordHash: hash}
		if mutate != nil {
			mutate(u)
		}
		rid := w.roles[role]
		if company != w.acme.ID {
			r, err := s.RoleByKey(ctx, company, role)
			must(t, err)
			rid = r.ID
		}
		must(t, s.CreateUser(ctx, u, []int64{rid}, nil, time.Time{}))
		w.users[name] = u
	}
	add("admin", w.acme.ID, roster.RoleCompanyAdmin, nil)
	add("manager", w.acme.ID, roster.RoleManager, nil)
	add("emp1", w.acme.ID, roster.RoleEmployee, nil)
	add("emp2", w.acme.ID, roster.RoleEmployee, nil)
	add("selfnamed", w.acme.ID, roster.RoleEmployee, func(u *roster.User) { u.NameSetBySelf = true })
	add("blocked", w.acme.ID, roster.RoleEmployee, nil)
	add("agent", w.acme.ID, roster.RoleEmployee, func(u *roster.User) {
		u.AuthMethod, u.Login, u.Email = roster.AuthLogin, "agent7", ""
	})
	add("other", w.other.ID, roster.RoleEmployee, nil)
	invited := &roster.User{CompanyID: w.acme.ID, AuthMethod: roster.AuthEmail, Email: "invited@acme.test"}
	_, invHash := secure.NewToken()
	must(t, s.CreateUser(ctx, invited, []int64{w.roles[roster.RoleEmployee]}, invHash, clock.Now().Add(time.Hour)))
	w.users["invited"] = invited
	_, err = s.BlockUser(ctx, roster.Scope{All: true}, w.users["blocked"].ID, "left")
	must(t, err)
	w.queue = &roster.WorkGroup{CompanyID: w.acme.ID, Kind: roster.KindQueue, Name: "Day"}
	must(t, s.CreateWorkGroup(ctx, w.queue))
	_, err = s.AddWorkGroupMembers(ctx, roster.Scope{All: true}, roster.KindQueue, w.queue.ID, []int64{w.users["emp1"].ID})
	must(t, err)
	return w
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// op is one workflow call, described independently of any door.
type op struct {
	kind   string // create, update, block, unblock, delete, roles, reset, bulk
	as     string // the acting fixture user
	target string // the fixture user acted on
	// fields are the create or update fields (API names).
	fields map[string]string
	roles  []string // role keys
	// bulk
	action  string
	users   []string
	filter  map[string]string
	role    string
	comment string
}

// outcome is what a door answered, by class: ok, invalid, forbidden,
// not_found, conflict.
type outcome struct {
	class string
	body  string
}

// door signs a fixture user in at one front door of a world and returns
// the function that runs ops there as that user.
type door struct {
	name   string
	signIn func(w *world, as string) func(o op) outcome
}

var doors = []door{{"api", apiDoor}, {"panel", panelDoor}}

func classOf(status int) string {
	switch {
	case status < 400:
		return "ok"
	case status == 422:
		return "invalid"
	case status == 403:
		return "forbidden"
	case status == 404:
		return "not_found"
	case status == 409:
		return "conflict"
	}
	return "status " + strconv.Itoa(status)
}

// ---- the API door ----

func apiDoor(w *world, as string) func(o op) outcome {
	srv := web.NewServer(web.Deps{Companies: w.store, Users: w.store, Roles: w.store, Sessions: w.store, Events: w.store,
		Platform: w.store, Hasher: w.hasher, Clock: w.clock.Now, Logger: slog.New(slog.DiscardHandler)})
	h := webtest.Handler(w.t, srv.Handler())
	token, hash := secure.NewToken()
	now := w.clock.Now()
	must(w.t, w.store.CreateSession(context.Background(), &roster.Session{TokenHash: hash, Kind: roster.SessionAPI,
		UserID: w.users[as].ID, CreatedAt: now, LastSeenAt: now, IdleTimeout: roster.DefaultIdleTimeout,
		ExpiresAt: now.Add(roster.DefaultAbsoluteExpiry)}))
	return func(o op) outcome { return apiRun(w, h, token, o) }
}

func apiRun(w *world, h http.Handler, token string, o op) outcome {
	send := func(method, path string, body any) outcome {
		var rd io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			must(w.t, err)
			rd = bytes.NewReader(b)
		}
		req := httptest.NewRequest(method, path, rd)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return outcome{classOf(rec.Code), rec.Body.String()}
	}
	target := func() int64 { return w.users[o.target].ID }
	switch o.kind {
	case "create":
		body := map[string]any{"role_ids": w.roleIDs(o.roles)}
		for k, v := range o.fields {
			body[k] = v
		}
		return send("POST", "/api/v1/users", body)
	case "update":
		body := map[string]any{}
		for k, v := range o.fields {
			body[k] = v
		}
		return send("PATCH", fmt.Sprintf("/api/v1/users/%d", target()), body)
	case "block", "unblock":
		return send("POST", fmt.Sprintf("/api/v1/users/%d/%s", target(), o.kind), map[string]string{"comment": o.comment})
	case "delete":
		return send("DELETE", fmt.Sprintf("/api/v1/users/%d", target()), nil)
	case "roles":
		return send("PUT", fmt.Sprintf("/api/v1/users/%d/roles", target()), map[string]any{"role_ids": w.roleIDs(o.roles)})
	case "reset":
		return send("POST", fmt.Sprintf("/api/v1/users/%d/password-reset", target()), nil)
	case "bulk":
		body := map[string]any{"action": o.action, "comment": o.comment}
		if o.role != "" {
			body["role_id"] = w.roles[o.role]
		}
		if o.filter != nil {
			f := map[string]any{}
			for k, v := range o.filter {
				f[k] = w.resolve(v)
			}
			body["filter"] = f
		} else {
			body["user_ids"] = w.userIDs(o.users)
		}
		return send("POST", "/api/v1/users/bulk", body)
	}
	w.t.Fatalf("api door: unknown op %q", o.kind)
	return outcome{}
}

// ---- the panel door ----

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func panelDoor(w *world, as string) func(o op) outcome { return panelDoorWith(w, as, nil, nil) }

// panelDoorWith is panelDoor with a last edit of every posted form and a
// place to keep the last answer's page.
func panelDoorWith(w *world, as string, edit func(url.Values), page *string) func(o op) outcome {
	p := panel.New(panel.Deps{Companies: w.store, Users: w.store, Roles: w.store, Sessions: w.store, Events: w.store,
		Hasher: w.hasher, Clock: w.clock.Now, Logger: slog.New(slog.DiscardHandler)})
	h := p.Handler()
	jar := map[string]string{}
	do := func(req *http.Request) *httptest.ResponseRecorder {
		for k, v := range jar {
			req.AddCookie(&http.Cookie{Name: k, Value: v})
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		for _, c := range rec.Result().Cookies() {
			jar[c.Name] = c.Value
		}
		return rec
	}
	post := func(path string, form url.Values) *httptest.ResponseRecorder {
		if edit != nil && path != "/signin" {
			edit(form)
		}
		req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := do(req)
		if page != nil {
			*page = rec.Body.String()
		}
		return rec
	}
	if rec := post("/signin", url.Values{"username": {w.users[as].Email}, "password": {password}}); rec.Code != http.StatusSeeOther {
		w.t.Fatalf("panel sign-in as %s: %d %s", as, rec.Code, rec.Body)
	}
	m := csrfRE.FindStringSubmatch(do(httptest.NewRequest("GET", "/profile", nil)).Body.String())
	if m == nil {
		w.t.Fatal("panel: no CSRF token on the profile page")
	}
	return func(o op) outcome { return panelRun(w, post, m[1], o) }
}

func panelRun(w *world, post func(string, url.Values) *httptest.ResponseRecorder, csrf string, o op) outcome {
	form := url.Values{"csrf": {csrf}}
	send := func(path string) outcome {
		rec := post(path, form)
		return outcome{classOf(rec.Code), rec.Body.String()}
	}
	target := func() int64 { return w.users[o.target].ID }
	switch o.kind {
	case "create":
		for k, v := range o.fields {
			form.Set(k, v)
		}
		for _, id := range w.roleIDs(o.roles) {
			form.Add("role_ids", strconv.FormatInt(id, 10))
		}
		return send("/users")
	case "update":
		for k, v := range o.fields {
			form.Set(k, v)
		}
		return send(fmt.Sprintf("/users/%d/edit", target()))
	case "block", "unblock":
		form.Set("comment", o.comment)
		return send(fmt.Sprintf("/users/%d/%s", target(), o.kind))
	case "delete":
		return send(fmt.Sprintf("/users/%d/delete", target()))
	case "roles":
		for _, id := range w.roleIDs(o.roles) {
			form.Add("role_ids", strconv.FormatInt(id, 10))
		}
		return send(fmt.Sprintf("/users/%d/roles", target()))
	case "reset":
		return send(fmt.Sprintf("/users/%d/password-reset", target()))
	case "bulk":
		form.Set("action", o.action)
		form.Set("comment", o.comment)
		form.Set("confirm", "1")
		if o.role != "" {
			form.Set("role_id", strconv.FormatInt(w.roles[o.role], 10))
		}
		if o.filter != nil {
			form.Set("all", "1")
			for k, v := range o.filter {
				if k == "company_id" {
					k = "company"
				}
				form.Set(k, fmt.Sprint(w.resolve(v)))
			}
		} else {
			for _, id := range w.userIDs(o.users) {
				form.Add("id", strconv.FormatInt(id, 10))
			}
		}
		return send("/users/bulk")
	}
	w.t.Fatalf("panel door: unknown op %q", o.kind)
	return outcome{}
}

// ---- fixture helpers ----

func (w *world) roleIDs(keys []string) []int64 {
	out := []int64{}
	for _, k := range keys {
		if id, ok := w.roles[k]; ok {
			out = append(out, id)
		} else if k == "other:employee" {
			r, err := w.store.RoleByKey(context.Background(), w.other.ID, roster.RoleEmployee)
			must(w.t, err)
			out = append(out, r.ID)
		} else {
			w.t.Fatalf("unknown role %q", k)
		}
	}
	return out
}

func (w *world) userIDs(names []string) []int64 {
	out := []int64{}
	for _, n := range names {
		out = append(out, w.users[n].ID)
	}
	return out
}

// resolve turns "$queue" into the queue's ID and "$acme" into Acme's.
func (w *world) resolve(v string) any {
	switch v {
	case "$queue":
		return strconv.FormatInt(w.queue.ID, 10)
	case "$acme":
		return w.acme.ID
	case "$employee":
		return strconv.FormatInt(w.roles[roster.RoleEmployee], 10)
	}
	return v
}

// snapshot is the data a case may change, free of IDs and times: every
// user by e-mail or login, the events by type, the e-mail jobs.
func (w *world) snapshot() map[string]any {
	ctx := context.Background()
	out := map[string]any{}
	all := roster.Scope{All: true}
	for _, c := range []*roster.Company{w.acme, w.other} {
		cursor := ""
		for {
			page, err := w.store.Users(ctx, all, roster.UserFilter{CompanyID: &c.ID, Limit: 200, Cursor: cursor})
			must(w.t, err)
			for _, u := range page.Items {
				roles := []string{}
				for _, r := range u.Roles {
					roles = append(roles, r.Key)
				}
				sort.Strings(roles)
				full, err := w.store.UserByID(ctx, all, u.ID)
				must(w.t, err)
				out["user "+u.Username()] = fmt.Sprintf("%s|%s|%s %s %s|%s|%s|%s|temp=%v|pw=%v|self=%v|mfa=%s|max=%d|queues=%d",
					u.Status, u.AuthMethod, u.FirstName, u.MiddleName, u.LastName, u.Phone, u.Position, strings.Join(roles, ","),
					full.PasswordTemporary, full.PasswordHash != "", full.NameSetBySelf, full.MFAMethod, full.MaxDialogues, len(full.Queues))
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		co, err := w.store.CompanyByID(ctx, all, c.ID)
		must(w.t, err)
		out["count "+c.Name] = co.UserCount
	}
	events, err := w.store.Events(ctx, all, roster.EventFilter{Limit: 200})
	must(w.t, err)
	types := map[string]int{}
	for _, e := range events.Items {
		// Signing in is each door's own business, not the workflow's.
		if e.Type != roster.EventSignIn {
			types[e.Type]++
		}
	}
	out["events"] = types
	jobs, err := w.store.Jobs(ctx, roster.JobFilter{Limit: 200})
	must(w.t, err)
	out["jobs"] = len(jobs)
	return out
}

// workflowCase is one row of the table.
type workflowCase struct {
	name string
	op   op
	want string // outcome class
	// body is a text the answer must contain (both doors).
	body string
}

var cases = []workflowCase{
	{"CreateInvitation", op{kind: "create", as: "admin", roles: []string{roster.RoleEmployee},
		fields: map[string]string{"auth_method": "email", "email": "new@acme.test", "credentials": "invitation"}}, "ok", ""},
	{"CreateGenerated", op{kind: "create", as: "admin", roles: []string{roster.RoleEmployee},
		fields: map[string]string{"auth_method": "login", "login": "newagent", "first_name": "Nina", "last_name": "Nova", "credentials": "generated"}}, "ok", ""},
	{"CreateManual", op{kind: "create", as: "admin", roles: []string{roster.RoleEmployee},
		fields: map[string]string{"auth_method": "email", "email": "typed@acme.test", "credentials": "manual", "password": "sixteen chars ok!"}}, "ok", ""},
	{"CreateManualShorterThanCompanyMinimum", op{kind: "create", as: "admin", roles: []string{roster.RoleEmployee},
		fields: map[string]string{"auth_method": "email", "email": "short@acme.test", "credentials": "manual", "password": "fifteen chars!!"}}, "invalid", "16"},
	{"CreateOtherCompanysRole", op{kind: "create", as: "admin", roles: []string{"other:employee"},
		fields: map[string]string{"auth_method": "email", "email": "x@acme.test"}}, "invalid", ""},
	{"CreateEscalation", op{kind: "create", as: "manager", roles: []string{roster.RoleCompanyAdmin},
		fields: map[string]string{"auth_method": "email", "email": "boss@acme.test"}}, "forbidden", ""},
	{"CreateDuplicateEmail", op{kind: "create", as: "admin", roles: []string{roster.RoleEmployee},
		fields: map[string]string{"auth_method": "email", "email": "EMP1@" + "REPLACE"}}, "conflict", ""},
	{"UpdateNameSetBySelf", op{kind: "update", as: "admin", target: "selfnamed", fields: map[string]string{"first_name": "Renamed"}}, "forbidden", ""},
	{"UpdatePosition", op{kind: "update", as: "admin", target: "emp1", fields: map[string]string{"position": "Night shift lead"}}, "ok", ""},
	{"UpdateImmutableEmail", op{kind: "update", as: "admin", target: "emp1",
		fields: map[string]string{"position": "Lead", "email": "changed@acme.test"}}, "invalid", ""},
	{"BlockBlockedTarget", op{kind: "block", as: "admin", target: "blocked", comment: "again"}, "ok", ""},
	{"BlockWithoutComment", op{kind: "block", as: "admin", target: "emp1", comment: "  "}, "invalid", ""},
	{"BlockOtherCompanysUser", op{kind: "block", as: "admin", target: "other", comment: "not mine"}, "not_found", ""},
	{"UnblockBlocked", op{kind: "unblock", as: "admin", target: "blocked", comment: "back"}, "ok", ""},
	{"DeleteSelf", op{kind: "delete", as: "admin", target: "admin"}, "forbidden", ""},
	{"DeleteOtherCompanysUser", op{kind: "delete", as: "admin", target: "other"}, "not_found", ""},
	{"Delete", op{kind: "delete", as: "admin", target: "emp2"}, "ok", ""},
	{"RolesEscalation", op{kind: "roles", as: "manager", target: "emp1", roles: []string{roster.RoleCompanyAdmin}}, "forbidden", ""},
	{"RolesNone", op{kind: "roles", as: "admin", target: "emp1", roles: []string{}}, "invalid", ""},
	{"Roles", op{kind: "roles", as: "admin", target: "emp1", roles: []string{roster.RoleEmployee, roster.RoleDispatcher}}, "ok", ""},
	{"ResetLoginUser", op{kind: "reset", as: "admin", target: "agent"}, "ok", ""},
	{"ResetEmailUser", op{kind: "reset", as: "admin", target: "emp1"}, "ok", ""},
	{"BulkWithOneRefusal", op{kind: "bulk", as: "manager", action: roster.BulkBlock, users: []string{"emp1", "admin"}, comment: "audit"}, "conflict", ""},
	{"BulkBlock", op{kind: "bulk", as: "admin", action: roster.BulkBlock, users: []string{"emp1", "emp2"}, comment: "audit"}, "ok", ""},
	{"BulkByQueueFilter", op{kind: "bulk", as: "admin", action: roster.BulkBlock, filter: map[string]string{"queue": "$queue"}, comment: "audit"}, "ok", ""},
	{"BulkByNoQueueFilter", op{kind: "bulk", as: "admin", action: roster.BulkAddRole, role: roster.RoleDispatcher,
		filter: map[string]string{"queue": "none", "status": "active", "q": "emp"}}, "ok", ""},
}

func TestWorkflowCasesThroughEveryDoor(t *testing.T) {
	for _, engine := range sqlstoretest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					var first map[string]any
					for _, d := range doors {
						w := newWorld(t, engine)
						o := c.op
						if email, ok := o.fields["email"]; ok && strings.HasSuffix(email, "REPLACE") {
							o.fields = maps(o.fields, "email", w.users["emp1"].Email)
						}
						run := d.signIn(w, o.as)
						before := w.snapshot()
						got := run(o)
						if got.class != c.want {
							t.Fatalf("%s: %s, want %s: %.600s", d.name, got.class, c.want, got.body)
						}
						if c.body != "" && !strings.Contains(got.body, c.body) {
							t.Errorf("%s: the answer does not say %q: %.600s", d.name, c.body, got.body)
						}
						after := w.snapshot()
						if c.want != "ok" && !reflect.DeepEqual(before, after) {
							t.Errorf("%s: a refused %s changed data: %s", d.name, c.op.kind, diff(before, after))
						}
						if c.want == "ok" && reflect.DeepEqual(before, after) && !slices.Contains([]string{"BlockBlockedTarget"}, c.name) {
							t.Errorf("%s: %s changed nothing", d.name, c.op.kind)
						}
						if first == nil {
							first = after
						} else if !reflect.DeepEqual(first, after) {
							t.Errorf("the doors disagree on the data after %s (%s → %s): %s", c.name, doors[0].name, d.name, diff(first, after))
						}
					}
				})
			}
		})
	}
}

func maps(m map[string]string, k, v string) map[string]string {
	out := map[string]string{}
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

// diff lists the keys whose values differ between two snapshots.
func diff(a, b map[string]any) string {
	var out []string
	for k, v := range a {
		if !reflect.DeepEqual(v, b[k]) {
			out = append(out, fmt.Sprintf("%s: %v → %v", k, v, b[k]))
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			out = append(out, fmt.Sprintf("%s: (none) → %v", k, v))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// TestBulkByFilterActsOnTheListedUsers: for every filter of the users list,
// a bulk action by that filter acts on exactly the users the list shows
// with it, through the API and through the panel, whose confirmation
// counts the same users (issue 13, item 1).
func TestBulkByFilterActsOnTheListedUsers(t *testing.T) {
	filters := []map[string]string{
		{"q": "emp"}, {"q": "tester"}, {"status": "active"}, {"status": "blocked"}, {"status": "invited"},
		{"role": roster.RoleEmployee}, {"role": "$employee"}, {"invitation": "pending"}, {"queue": "$queue"},
		{"queue": "none"}, {"company_id": "$acme"}, {"queue": "none", "status": "active", "q": "e"},
		{"role": roster.RoleManager, "status": "active"},
	}
	for _, engine := range sqlstoretest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			for _, f := range filters {
				t.Run(fmt.Sprint(f), func(t *testing.T) {
					w := newWorld(t, engine)
					srv := web.NewServer(web.Deps{Companies: w.store, Users: w.store, Roles: w.store, Sessions: w.store,
						Events: w.store, Platform: w.store, Hasher: w.hasher, Clock: w.clock.Now, Logger: slog.New(slog.DiscardHandler)})
					h := webtest.Handler(t, srv.Handler())
					token := w.session("admin")
					q := url.Values{"limit": {"200"}}
					body := map[string]any{}
					for k, v := range f {
						val := w.resolve(v)
						q.Set(k, fmt.Sprint(val))
						body[k] = val
					}
					var list struct {
						Items []struct{ ID int64 } `json:"items"`
					}
					apiCall(t, h, token, "GET", "/api/v1/users?"+q.Encode(), nil, 200, &list)
					want := []int64{}
					for _, it := range list.Items {
						want = append(want, it.ID)
					}
					if len(want) == 0 {
						t.Fatalf("the filter lists nobody; the test needs a filter that lists someone")
					}
					sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })

					// The panel's confirmation counts the same users.
					pw := panelPreview(t, w, "admin", f)
					for k, v := range f {
						if k == "company_id" {
							k = "company"
						}
						if input := fmt.Sprintf(`type="hidden" name="%s" value="%v"`, k, w.resolve(v)); !strings.Contains(pw, input) {
							t.Errorf("the panel's confirmation form drops %s", input)
						}
					}
					if !strings.Contains(pw, fmt.Sprintf("This affects %d user", len(want))) {
						t.Errorf("panel confirmation for %v does not say %d users: %.300s", f, len(want), between(pw, `<p class="lead">`, "</p>"))
					}

					var res struct {
						UserIDs []int64 `json:"user_ids"`
					}
					apiCall(t, h, token, "POST", "/api/v1/users/bulk", map[string]any{"action": roster.BulkAddRole,
						"role_id": w.roles[roster.RoleDispatcher], "filter": body}, 200, &res)
					sort.Slice(res.UserIDs, func(i, j int) bool { return res.UserIDs[i] < res.UserIDs[j] })
					if !slices.Equal(res.UserIDs, want) {
						t.Errorf("filter %v: the list shows %v, the bulk action acted on %v", f, want, res.UserIDs)
					}
				})
			}
		})
	}
}

// session opens an API session for a fixture user and returns its token.
func (w *world) session(name string) string {
	token, hash := secure.NewToken()
	now := w.clock.Now()
	must(w.t, w.store.CreateSession(context.Background(), &roster.Session{TokenHash: hash, Kind: roster.SessionAPI,
		UserID: w.users[name].ID, CreatedAt: now, LastSeenAt: now, IdleTimeout: roster.DefaultIdleTimeout,
		ExpiresAt: now.Add(roster.DefaultAbsoluteExpiry)}))
	return token
}

// apiCall sends a JSON request, checks the status and decodes the answer.
func apiCall(t *testing.T, h http.Handler, token, method, path string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		must(t, err)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, rec.Code, want, rec.Body)
	}
	if out != nil {
		must(t, json.Unmarshal(rec.Body.Bytes(), out))
	}
}

// panelPreview posts the panel's bulk form for "all matching" filter f
// without confirming and returns the confirmation page.
func panelPreview(t *testing.T, w *world, as string, f map[string]string) string {
	t.Helper()
	var page string
	o := op{kind: "bulk", as: as, action: roster.BulkAddRole, role: roster.RoleDispatcher, filter: f, comment: "preview"}
	run := panelDoorWith(w, as, func(form url.Values) { form.Del("confirm") }, &page)
	if got := run(o); got.class != "ok" {
		t.Fatalf("panel preview: %s: %.300s", got.class, got.body)
	}
	return page
}

func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return s
	}
	s = s[i+len(from):]
	if j := strings.Index(s, to); j >= 0 {
		return s[:j]
	}
	return s
}
