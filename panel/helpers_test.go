package panel

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/secure"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// testPassword is every fixture user's password.
const testPassword = "tangerine-orbit-42"

// fixture is a store with a small realistic tenant tree and a panel on it:
// the platform (Main administrator), a reseller company with an
// administrator, a dispatcher and staff, and a dependent company with its
// own administrator.
type fixture struct {
	t        testing.TB
	store    *sqlstore.Store
	clock    *sqlstoretest.Clock
	panel    *Panel
	handler  http.Handler
	reseller *roster.Company
	child    *roster.Company
	users    map[string]*roster.User // by short name
	roles    map[string]*roster.Role // reseller roles by key
}

func newFixture(t testing.TB, s *sqlstore.Store, clock *sqlstoretest.Clock) *fixture {
	t.Helper()
	ctx := context.Background()
	hasher := secure.NewHasher(secure.TestParams, 4)
	f := &fixture{t: t, store: s, clock: clock, users: map[string]*roster.User{}, roles: map[string]*roster.Role{}}
	f.panel = New(Deps{Companies: s, Users: s, Roles: s, Sessions: s, Events: s, Hasher: hasher, Clock: clock.Now,
		Logger: testLogger(t)})
	f.handler = f.panel.Handler()
	hash, err := hasher.Hash(ctx, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	main := &roster.User{AuthMethod: roster.AuthEmail, Email: "root@platform.test", FirstName: "Rita", LastName: "Root", PasswordHash: hash}
	if err := s.CreateMainAdmin(ctx, main); err != nil {
		t.Fatal(err)
	}
	f.users["main"] = main
	f.reseller = &roster.Company{Name: "Northwind Dispatch"}
	if err := s.CreateCompany(ctx, f.reseller); err != nil {
		t.Fatal(err)
	}
	f.child = &roster.Company{Name: "Harbor Taxi", ParentID: &f.reseller.ID}
	if err := s.CreateCompany(ctx, f.child); err != nil {
		t.Fatal(err)
	}
	roles, err := s.Roles(ctx, f.reseller.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		f.roles[r.Key] = r
	}
	childAdmin, err := s.RoleByKey(ctx, f.child.ID, roster.RoleCompanyAdmin)
	if err != nil {
		t.Fatal(err)
	}
	add := func(name string, company int64, method roster.AuthMethod, username, first, last string, role int64, mutate func(*roster.User)) {
		u := &roster.User{CompanyID: company, AuthMethod: method, FirstName: first, LastName: last, PasswordHash: hash}
		if method == roster.AuthEmail {
			u.Email = username
		} else {
			u.Login = username
		}
		if mutate != nil {
			mutate(u)
		}
		if err := s.CreateUser(ctx, u, []int64{role}, nil, clock.Now()); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		f.users[name] = u
	}
	r := f.reseller.ID
	add("admin", r, roster.AuthEmail, "anna@northwind.test", "Anna", "Petrova", f.roles[roster.RoleCompanyAdmin].ID, nil)
	add("dispatcher", r, roster.AuthEmail, "dmitri@northwind.test", "Dmitri", "Volkov", f.roles[roster.RoleDispatcher].ID, nil)
	add("olga", r, roster.AuthEmail, "olga@northwind.test", "Olga", "Ivanova", f.roles[roster.RoleEmployee].ID, nil)
	add("boris", r, roster.AuthEmail, "boris@northwind.test", "Boris", "Kuznetsov", f.roles[roster.RoleEmployee].ID, nil)
	add("ivan", r, roster.AuthEmail, "ivan@northwind.test", "Ivan", "Sidorov", f.roles[roster.RoleEmployee].ID, nil)
	add("agent", r, roster.AuthLogin, "agent7", "Pavel", "Orlov", f.roles[roster.RoleEmployee].ID, nil)
	add("temp", r, roster.AuthEmail, "tara@northwind.test", "Tara", "Novak", f.roles[roster.RoleEmployee].ID,
		func(u *roster.User) { u.PasswordTemporary = true })
	add("hugo", f.child.ID, roster.AuthEmail, "hugo@harbor.test", "Hugo", "Berg", childAdmin.ID, nil)
	add("blocked", r, roster.AuthEmail, "bella@northwind.test", "Bella", "Stone", f.roles[roster.RoleEmployee].ID, nil)
	if _, err := s.BlockUser(ctx, roster.Scope{All: true}, f.users["blocked"].ID, "left the company"); err != nil {
		t.Fatal(err)
	}
	return f
}

// client is a cookie-holding caller of the panel's handler.
type client struct {
	f       *fixture
	cookies map[string]string
	lang    string
}

func (f *fixture) client() *client { return &client{f: f, cookies: map[string]string{}} }

// signedIn returns a client signed in as the fixture user name.
func (f *fixture) signedIn(name string) *client {
	f.t.Helper()
	c := f.client()
	res := c.post("/signin", url.Values{"username": {f.users[name].Username()}, "password": {testPassword}})
	if res.Code != http.StatusSeeOther || c.cookies[sessionCookie] == "" {
		f.t.Fatalf("sign in as %s: status %d\n%s", name, res.Code, res.Body)
	}
	return c
}

func (c *client) do(req *http.Request) *httptest.ResponseRecorder {
	for k, v := range c.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	if c.lang != "" {
		req.Header.Set("Accept-Language", c.lang)
	}
	rec := httptest.NewRecorder()
	c.f.handler.ServeHTTP(rec, req)
	for _, ck := range rec.Result().Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	return rec
}

func (c *client) get(path string) *httptest.ResponseRecorder {
	return c.do(httptest.NewRequest(http.MethodGet, path, nil))
}

// post sends a form with the session's CSRF token unless the form has one.
func (c *client) post(path string, form url.Values) *httptest.ResponseRecorder {
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form[csrfField]; !ok && c.cookies[sessionCookie] != "" {
		form.Set(csrfField, csrfToken(c.cookies[sessionCookie]))
	}
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

func body(rec *httptest.ResponseRecorder) string {
	b, _ := io.ReadAll(rec.Result().Body)
	return string(b)
}
