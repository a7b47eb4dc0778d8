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
//	           own name), blocked, agent (login method), agm (Agent group
//	           manager of agent group "Team A", not of "Team B"), masked
//	           (Employee who sees clients masked); minimum password length
//	           16; client tag "VIP", client "Zed Quartermain" tagged VIP
//	Other      other (Employee); client tag "Gold", client "Olaf Other"
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
	// groups are the work groups by fixture name: day, teamA, teamB.
	groups map[string]*roster.WorkGroup
	// tags and clients by fixture name: vip, gold; zed, olaf.
	tags    map[string]*roster.ClientTag
	clients map[string]*roster.Client
	// events are an event of each company by fixture name: acme, other.
	events map[string]int64
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
	for _, k := range []string{roster.RoleCompanyAdmin, roster.RoleManager, roster.RoleEmployee, roster.RoleDispatcher, roster.RoleAgentGroupManager} {
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
	w.operations(ctx)
	return w
}

// operations adds the operations part of the world: agent groups, a user
// who sees clients masked, client tags and clients in both companies.
func (w *world) operations(ctx context.Context) {
	t, s := w.t, w.store
	w.groups = map[string]*roster.WorkGroup{"day": w.queue}
	w.tags, w.clients, w.events = map[string]*roster.ClientTag{}, map[string]*roster.Client{}, map[string]int64{}
	for _, name := range []string{"agm", "masked"} {
		role := roster.RoleEmployee
		if name == "agm" {
			role = roster.RoleAgentGroupManager
		}
		u := &roster.User{CompanyID: w.acme.ID, AuthMethod: roster.AuthEmail, Email: name + "@acme.test", FirstName: strings.ToUpper(name[:1]) + name[1:],
			LastName: "Tester", Status: roster.StatusActive, PasswordHash: w.users["admin"].PasswordHash}
		must(t, s.CreateUser(ctx, u, []int64{w.roles[role]}, nil, time.Time{}))
		w.users[name] = u
	}
	yes := true
	_, err := s.UpdateOperator(ctx, roster.Scope{All: true}, w.users["masked"].ID, roster.OperatorUpdate{MaskData: &yes})
	must(t, err)
	for name, g := range map[string]*roster.WorkGroup{
		"teamA": {CompanyID: w.acme.ID, Kind: roster.KindAgentGroup, Name: "Team A", ManagerIDs: []int64{w.users["agm"].ID}},
		"teamB": {CompanyID: w.acme.ID, Kind: roster.KindAgentGroup, Name: "Team B"},
	} {
		must(t, s.CreateWorkGroup(ctx, g))
		w.groups[name] = g
	}
	for _, c := range []struct {
		company                    *roster.Company
		tag, tagName, client, name string
	}{{w.acme, "vip", "VIP", "zed", "Zed Quartermain"}, {w.other, "gold", "Gold", "olaf", "Olaf Other"}} {
		tag := &roster.ClientTag{CompanyID: c.company.ID, Name: c.tagName}
		must(t, s.CreateClientTag(ctx, tag))
		w.tags[c.tag] = tag
		name, email, country, tags := c.name, c.client+"@client.test", "DE", []int64{tag.ID}
		cl, err := s.CreateClient(ctx, c.company.ID, roster.ClientInput{Name: &name, Email: &email, Country: &country, TagIDs: &tags})
		must(t, err)
		w.clients[c.client] = cl
		page, err := s.Events(ctx, roster.Scope{CompanyIDs: []int64{c.company.ID}}, roster.EventFilter{Limit: 1})
		must(t, err)
		w.events[c.company.Name] = page.Items[0].ID
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// op is one workflow call, described independently of any door.
type op struct {
	// kind is one of: create, update, block, unblock, delete, roles,
	// reset, bulk (users); group.create, group.rename, group.managers,
	// group.delete, group.add, group.remove (work groups); tag.create,
	// tag.rename, tag.delete, client.create, client.update, client.delete
	// (clients); companyops, notifications, comment.
	kind   string
	as     string // the acting fixture user
	target string // the fixture user acted on
	// fields are the create or update fields (API names): of a user, a
	// client, the company's operations settings, notification settings.
	fields map[string]string
	roles  []string // role keys
	// bulk; users are also the members added to or removed from a group
	action  string
	users   []string
	filter  map[string]string
	role    string
	comment string
	// work groups: the kind's URL segment (queues, agent-groups), the
	// fixture group acted on, its new name, its managers
	groups   string
	group    string
	name     string
	managers []string
	// clients: the fixture tag or client acted on, a client's tags
	tag    string
	client string
	tags   []string
	// notifications: "event_type/channel" subscriptions
	subs []string
	// comment: the company whose fixture event is commented on
	event string
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
		if v, ok := o.fields["send_email"]; ok {
			body["send_email"] = v == "1"
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
	case "group.create":
		return send("POST", "/api/v1/"+o.groups, map[string]any{"name": o.name})
	case "group.rename":
		return send("PATCH", w.groupPath("/api/v1", o), map[string]any{"name": o.name})
	case "group.managers":
		return send("PATCH", w.groupPath("/api/v1", o), map[string]any{"manager_ids": w.userIDs(o.managers)})
	case "group.delete":
		return send("DELETE", w.groupPath("/api/v1", o), nil)
	case "group.add":
		return send("POST", w.groupPath("/api/v1", o)+"/members", map[string]any{"user_ids": w.userIDs(o.users)})
	case "group.remove":
		return send("DELETE", fmt.Sprintf("%s/members/%d", w.groupPath("/api/v1", o), w.users[o.users[0]].ID), nil)
	case "tag.create":
		return send("POST", "/api/v1/client-tags", map[string]any{"name": o.name})
	case "tag.rename":
		return send("PATCH", fmt.Sprintf("/api/v1/client-tags/%d", w.tags[o.tag].ID), map[string]any{"name": o.name})
	case "tag.delete":
		return send("DELETE", fmt.Sprintf("/api/v1/client-tags/%d", w.tags[o.tag].ID), nil)
	case "client.create", "client.update":
		body := map[string]any{"tags": w.tagIDs(o.tags)}
		for k, v := range o.fields {
			body[k] = v
		}
		if o.kind == "client.create" {
			return send("POST", "/api/v1/clients", body)
		}
		return send("PATCH", fmt.Sprintf("/api/v1/clients/%d", w.clients[o.client].ID), body)
	case "client.delete":
		return send("DELETE", fmt.Sprintf("/api/v1/clients/%d", w.clients[o.client].ID), nil)
	case "companyops":
		body := map[string]any{}
		if v, ok := o.fields["call_statistics"]; ok {
			body["call_statistics"] = v == "1"
		}
		if t, ok := o.fields["telegram_bot_token"]; ok {
			body["telegram_bot_token"] = t
		}
		return send("PATCH", fmt.Sprintf("/api/v1/companies/%d/operations", w.acme.ID), body)
	case "notifications":
		subs := []map[string]any{}
		byType := map[string][]string{}
		var types []string
		for _, sub := range o.subs {
			typ, ch, _ := strings.Cut(sub, "/")
			if byType[typ] == nil {
				types = append(types, typ)
			}
			byType[typ] = append(byType[typ], ch)
		}
		for _, typ := range types {
			subs = append(subs, map[string]any{"event_type": typ, "channels": byType[typ]})
		}
		body := map[string]any{"subscriptions": subs}
		for k, v := range o.fields {
			body[k] = v
		}
		if o.target != "" {
			return send("PUT", fmt.Sprintf("/api/v1/users/%d/notifications", target()), body)
		}
		return send("PUT", "/api/v1/me/notifications", body)
	case "eventtypes":
		return send("PUT", "/api/v1/notification-event-types", map[string]any{"enabled": append([]string{}, o.subs...)})
	case "comment":
		return send("POST", fmt.Sprintf("/api/v1/events/%d/comments", w.events[o.event]), map[string]any{"body": o.comment})
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
	case "group.create":
		form.Set("name", o.name)
		return send("/" + o.groups)
	case "group.rename":
		form.Set("name", o.name)
		return send(w.groupPath("", o))
	case "group.managers":
		for _, id := range w.userIDs(o.managers) {
			form.Add("manager_ids", strconv.FormatInt(id, 10))
		}
		return send(w.groupPath("", o) + "/managers")
	case "group.delete":
		return send(w.groupPath("", o) + "/delete")
	case "group.add":
		for _, id := range w.userIDs(o.users) {
			form.Add("user_ids", strconv.FormatInt(id, 10))
		}
		return send(w.groupPath("", o) + "/members")
	case "group.remove":
		form.Set("user_id", strconv.FormatInt(w.users[o.users[0]].ID, 10))
		return send(w.groupPath("", o) + "/members/remove")
	case "tag.create":
		form.Set("name", o.name)
		return send("/client-tags")
	case "tag.rename":
		form.Set("name", o.name)
		return send(fmt.Sprintf("/client-tags/%d", w.tags[o.tag].ID))
	case "tag.delete":
		return send(fmt.Sprintf("/client-tags/%d/delete", w.tags[o.tag].ID))
	case "client.create", "client.update":
		for k, v := range o.fields {
			form.Set(k, v)
		}
		for _, id := range w.tagIDs(o.tags) {
			form.Add("tag_ids", strconv.FormatInt(id, 10))
		}
		if o.kind == "client.create" {
			return send("/clients")
		}
		return send(fmt.Sprintf("/clients/%d", w.clients[o.client].ID))
	case "client.delete":
		return send(fmt.Sprintf("/clients/%d/delete", w.clients[o.client].ID))
	case "companyops":
		for k, v := range o.fields {
			form.Set(k, v)
		}
		return send("/settings/operations")
	case "notifications":
		for k, v := range o.fields {
			form.Set(k, v)
		}
		for _, sub := range o.subs {
			form.Add("sub", sub)
		}
		if o.target != "" {
			return send(fmt.Sprintf("/users/%d/notifications", target()))
		}
		return send("/profile/notifications")
	case "eventtypes":
		for _, typ := range o.subs {
			form.Add("enabled", typ)
		}
		return send("/system/event-notifications")
	case "comment":
		form.Set("body", o.comment)
		form.Set("return", "/events")
		return send(fmt.Sprintf("/events/%d/comments", w.events[o.event]))
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

// groupPath is the address of the op's fixture group under prefix.
func (w *world) groupPath(prefix string, o op) string {
	return fmt.Sprintf("%s/%s/%d", prefix, o.groups, w.groups[o.group].ID)
}

func (w *world) tagIDs(names []string) []int64 {
	out := []int64{}
	for _, n := range names {
		out = append(out, w.tags[n].ID)
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
	// Comments go only on the fixture events (the comment cases use them).
	for company, id := range w.events {
		e, err := w.store.EventByID(ctx, all, id)
		must(w.t, err)
		out["comments "+company] = len(e.Comments)
	}
	jobs, err := w.store.Jobs(ctx, roster.JobFilter{Limit: 200})
	must(w.t, err)
	out["jobs"] = len(jobs)
	w.operationsSnapshot(ctx, out)
	return out
}

// operationsSnapshot adds the operations data to a snapshot: work groups
// with their members and managers, client tags with their clients'
// numbers, clients, companies' operations settings and every fixture
// user's notification settings.
func (w *world) operationsSnapshot(ctx context.Context, out map[string]any) {
	all := roster.Scope{All: true}
	names := map[int64]string{}
	for n, u := range w.users {
		names[u.ID] = n
	}
	nameList := func(ids []int64) string {
		var ns []string
		for _, id := range ids {
			ns = append(ns, names[id])
		}
		sort.Strings(ns)
		return strings.Join(ns, ",")
	}
	for _, c := range []*roster.Company{w.acme, w.other} {
		for _, kind := range []string{roster.KindQueue, roster.KindShift, roster.KindAgentGroup} {
			gs, err := w.store.WorkGroups(ctx, all, c.ID, kind)
			must(w.t, err)
			for _, g := range gs {
				var members []int64
				for _, m := range g.Members {
					members = append(members, m.ID)
				}
				out["group "+c.Name+" "+kind+" "+g.Name] = "members=" + nameList(members) + "|managers=" + nameList(g.ManagerIDs)
			}
		}
		tags, err := w.store.ClientTags(ctx, c.ID)
		must(w.t, err)
		for _, t := range tags {
			out["tag "+c.Name+" "+t.Name] = t.ClientCount
		}
		page, err := w.store.Clients(ctx, c.ID, nil, roster.ClientFilter{Limit: roster.MaxPageSize})
		must(w.t, err)
		out["clients "+c.Name] = page.Total
		for _, cl := range page.Items {
			var tags []string
			for _, t := range cl.Tags {
				tags = append(tags, t.Name)
			}
			sort.Strings(tags)
			out["client "+c.Name+" "+cl.Name] = strings.Join([]string{cl.Email, cl.Phone, cl.Country, strings.Join(tags, ",")}, "|")
		}
		co, err := w.store.CompanyOperations(ctx, all, c.ID)
		must(w.t, err)
		out["operations "+c.Name] = fmt.Sprintf("calls=%v|telegram=%v|slack=%v", co.CallStatistics, co.TelegramSet, co.SlackSet)
	}
	for n, u := range w.users {
		p, err := w.store.NotificationPrefs(ctx, u.ID)
		must(w.t, err)
		out["notifications "+n] = fmt.Sprintf("%s|%s|%v", p.TelegramChatID, p.SlackChannelID, p.Subscriptions)
	}
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

	// Queues, shifts and agent groups (O1).
	{"QueueCreate", op{kind: "group.create", as: "admin", groups: "queues", name: "Night"}, "ok", ""},
	{"QueueCreateDuplicateName", op{kind: "group.create", as: "admin", groups: "queues", name: " Day "}, "conflict", ""},
	{"QueueRename", op{kind: "group.rename", as: "manager", groups: "queues", group: "day", name: "Early"}, "ok", ""},
	{"QueueDelete", op{kind: "group.delete", as: "admin", groups: "queues", group: "day"}, "ok", ""},
	{"QueueAddMembers", op{kind: "group.add", as: "admin", groups: "queues", group: "day", users: []string{"emp2", "agent"}}, "ok", ""},
	{"QueueAddOtherCompanysUser", op{kind: "group.add", as: "admin", groups: "queues", group: "day", users: []string{"emp2", "other"}}, "invalid", ""},
	{"QueueRemoveMember", op{kind: "group.remove", as: "admin", groups: "queues", group: "day", users: []string{"emp1"}}, "ok", ""},
	{"QueueRemoveNonMember", op{kind: "group.remove", as: "admin", groups: "queues", group: "day", users: []string{"emp2"}}, "not_found", ""},
	{"AgentGroupAddByItsManager", op{kind: "group.add", as: "agm", groups: "agent-groups", group: "teamA", users: []string{"emp2"}}, "ok", ""},
	{"AgentGroupAddOutsideManagersGroups", op{kind: "group.add", as: "agm", groups: "agent-groups", group: "teamB", users: []string{"emp2"}}, "not_found", ""},
	{"AgentGroupCreateByGroupManager", op{kind: "group.create", as: "agm", groups: "agent-groups", name: "Team C"}, "forbidden", ""},
	{"AgentGroupManagers", op{kind: "group.managers", as: "admin", groups: "agent-groups", group: "teamB", managers: []string{"agm", "manager"}}, "ok", ""},
	{"AgentGroupManagersOtherCompanysUser", op{kind: "group.managers", as: "admin", groups: "agent-groups", group: "teamB", managers: []string{"other"}}, "invalid", ""},

	// Client tags and clients (R3, R4).
	{"TagCreate", op{kind: "tag.create", as: "admin", name: "Wholesale"}, "ok", ""},
	{"TagCreateDuplicate", op{kind: "tag.create", as: "admin", name: "vip"}, "conflict", ""},
	{"TagRename", op{kind: "tag.rename", as: "admin", tag: "vip", name: "Gold"}, "ok", ""},
	{"TagRenameOtherCompanys", op{kind: "tag.rename", as: "admin", tag: "gold", name: "Platinum"}, "not_found", ""},
	{"TagDelete", op{kind: "tag.delete", as: "admin", tag: "vip"}, "ok", ""},
	{"ClientCreate", op{kind: "client.create", as: "emp1", tags: []string{"vip"},
		fields: map[string]string{"name": "Amy Pond", "email": "AMY@client.test", "phone": "+44 20 7946 0000", "country": "gb"}}, "ok", ""},
	{"ClientCreateInvalid", op{kind: "client.create", as: "admin", fields: map[string]string{"name": " ", "email": "nope", "country": "Germany"}}, "invalid", ""},
	{"ClientCreateOtherCompanysTag", op{kind: "client.create", as: "admin", tags: []string{"gold"}, fields: map[string]string{"name": "Amy Pond"}}, "invalid", ""},
	{"ClientCreateMasked", op{kind: "client.create", as: "masked", fields: map[string]string{"name": "Amy Pond"}}, "forbidden", ""},
	{"ClientUpdate", op{kind: "client.update", as: "admin", client: "zed", tags: []string{},
		fields: map[string]string{"name": "Zed Q", "email": "zq@client.test", "phone": "+49 30 1234567", "country": "AT"}}, "ok", ""},
	{"ClientDelete", op{kind: "client.delete", as: "admin", client: "zed"}, "ok", ""},
	{"ClientDeleteOtherCompanys", op{kind: "client.delete", as: "admin", client: "olaf"}, "not_found", ""},

	// Company operations settings, notification settings, event comments.
	{"CompanyOperations", op{kind: "companyops", as: "admin", fields: map[string]string{"telegram_bot_token": " 123:SECRET "}}, "ok", ""},
	// Company administrator is appointed in one's own company only where
	// the Main administrator allows it (U7).
	{"CreateCompanyAdminInOwnCompany", op{kind: "create", as: "admin", roles: []string{roster.RoleCompanyAdmin},
		fields: map[string]string{"auth_method": "email", "email": "boss@acme.test"}}, "forbidden", ""},
	{"RolesCompanyAdminInOwnCompany", op{kind: "roles", as: "admin", target: "emp1", roles: []string{roster.RoleEmployee, roster.RoleCompanyAdmin}}, "forbidden", ""},
	{"CompanyOperationsByManager", op{kind: "companyops", as: "manager", fields: map[string]string{"call_statistics": "1"}}, "forbidden", ""},
	{"Notifications", op{kind: "notifications", as: "manager", subs: []string{"user.blocked/email", "user.blocked/telegram", "user.deleted/email"},
		fields: map[string]string{"telegram_chat_id": " -100200300 "}}, "ok", ""},
	{"NotificationsByEmployee", op{kind: "notifications", as: "emp1", subs: []string{"user.blocked/email"}}, "forbidden", ""},
	// Seed 003: an administrator sets a user's notifications on their
	// card; the Main administrator chooses the event types (issue 13 item 5).
	{"UserNotifications", op{kind: "notifications", as: "admin", target: "manager", subs: []string{"user.blocked/telegram", "user.created/email"},
		fields: map[string]string{"telegram_chat_id": "-100", "slack_channel_id": "C1"}}, "ok", ""},
	{"UserNotificationsEmployeeSubscribed", op{kind: "notifications", as: "admin", target: "emp1", subs: []string{"user.blocked/email"}}, "forbidden", ""},
	{"UserNotificationsNoChatID", op{kind: "notifications", as: "admin", target: "manager", subs: []string{"user.blocked/telegram"}}, "invalid", ""},
	{"UserNotificationsOtherCompanys", op{kind: "notifications", as: "admin", target: "other", fields: map[string]string{"telegram_chat_id": "1"}}, "not_found", ""},
	{"EventTypes", op{kind: "eventtypes", as: "root", subs: []string{roster.EventUserCreated, roster.EventUserDeleted}}, "ok", ""},
	{"EventTypesByAdmin", op{kind: "eventtypes", as: "admin", subs: []string{roster.EventUserCreated}}, "forbidden", ""},
	// Seed 003 "Send to e-mail" with a typed first password (issue 13 item 7).
	{"CreateTypedSendToEmail", op{kind: "create", as: "admin", roles: []string{roster.RoleEmployee}, fields: map[string]string{"auth_method": "email",
		"email": "nina@acme.test", "credentials": "manual", "password": "violet harbour lantern 7", "send_email": "1"}}, "ok", ""},
	{"CreateLoginSendToEmail", op{kind: "create", as: "admin", roles: []string{roster.RoleEmployee}, fields: map[string]string{"auth_method": "login",
		"login": "nina7", "first_name": "Nina", "last_name": "Berg", "credentials": "manual", "password": "violet harbour lantern 7", "send_email": "1"}}, "invalid", ""},
	{"EventComment", op{kind: "comment", as: "admin", event: "Acme", comment: "Seen in the audit."}, "ok", ""},
	{"EventCommentEmpty", op{kind: "comment", as: "admin", event: "Acme", comment: "   "}, "invalid", ""},
	{"EventCommentOtherCompanys", op{kind: "comment", as: "admin", event: "Other", comment: "Seen."}, "not_found", ""},
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
