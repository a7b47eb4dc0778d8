package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/secure"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/web"
	"github.com/roster-app/roster/web/webtest"
)

// testPassword is every fixture user's password.
const testPassword = "correct horse battery staple"

// env is one server over one fresh store, with a small world in it:
//
//	Platform (1)      main administrator "root"
//	Reseller          administrator "reseller"
//	└─ Acme           administrator "admin", dispatcher "disp", employee "emp"
//	Other             administrator "other"
type env struct {
	t      *testing.T
	store  *sqlstore.Store
	server *web.Server
	h      http.Handler
	hasher *secure.Hasher
	clock  *sqlstoretest.Clock
	// log is the server's log; a logged 500 fails the test.
	log *testLog

	reseller, acme, other *roster.Company
	users                 map[string]*roster.User
	roles                 map[string]int64 // Acme's roles by key
	seq                   atomic.Int64
}

// forEachEngine runs fn with a fresh env on SQLite and PostgreSQL (in
// parallel), each with its store's fake clock.
func forEachEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		fn(t, newEnv(t, s, c))
	})
}

func newEnv(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, store: s, clock: clock, hasher: secure.NewHasher(secure.TestParams, 4), users: map[string]*roster.User{}}
	var logger *slog.Logger
	logger, e.log = newTestLog(t)
	e.server = web.NewServer(web.Deps{
		Companies: s, Users: s, Roles: s, Sessions: s, Events: s, Platform: s,
		Hasher: e.hasher, Clock: clock.Now, Logger: logger, Ready: s.Ping,
	})
	e.h = e.server.Handler()

	root := &roster.User{CompanyID: roster.PlatformCompanyID, AuthMethod: roster.AuthEmail, Email: "root@example.com",
		FirstName: "Root", LastName: "Admin", Status: roster.StatusActive, NameSetBySelf: true, PasswordHash: e.hash(testPassword)}
	must(t, s.CreateMainAdmin(ctx, root))
	e.users["root"] = root

	e.reseller = e.company("Reseller", nil)
	e.acme = e.company("Acme", &e.reseller.ID)
	e.other = e.company("Other", nil)
	e.roles = map[string]int64{}
	for _, k := range []string{roster.RoleCompanyAdmin, roster.RoleDispatcher, roster.RoleManager, roster.RoleEmployee, roster.RoleChatOperator} {
		r, err := s.RoleByKey(ctx, e.acme.ID, k)
		must(t, err)
		e.roles[k] = r.ID
	}
	e.users["admin"] = e.user(e.acme.ID, "admin", roster.RoleCompanyAdmin)
	e.users["disp"] = e.user(e.acme.ID, "disp", roster.RoleDispatcher)
	e.users["emp"] = e.user(e.acme.ID, "emp", roster.RoleEmployee)
	// emp handles calls, which needs a work phone (U4).
	wp := "+7 (495) 100-00-01"
	_, err := s.UpdateUser(ctx, roster.Scope{All: true}, e.users["emp"].ID, roster.UserUpdate{WorkPhone: &wp})
	must(t, err)
	e.users["other"] = e.user(e.other.ID, "other", roster.RoleCompanyAdmin)
	e.users["reseller"] = e.user(e.reseller.ID, "reseller", roster.RoleCompanyAdmin)
	return e
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) hash(pw string) string {
	h, err := e.hasher.Hash(context.Background(), pw)
	must(e.t, err)
	return h
}

func (e *env) company(name string, parent *int64) *roster.Company {
	e.t.Helper()
	c := &roster.Company{Name: name, ParentID: parent}
	must(e.t, e.store.CreateCompany(context.Background(), c))
	return c
}

// roleID returns the ID of a company's role by key.
func (e *env) roleID(companyID int64, key string) int64 {
	e.t.Helper()
	r, err := e.store.RoleByKey(context.Background(), companyID, key)
	must(e.t, err)
	return r.ID
}

// user creates an active login-method user with testPassword (permanent).
func (e *env) user(companyID int64, login string, roleKeys ...string) *roster.User {
	e.t.Helper()
	u := &roster.User{CompanyID: companyID, AuthMethod: roster.AuthLogin, Login: login,
		FirstName: strings.ToUpper(login[:1]) + login[1:], LastName: "Tester", Status: roster.StatusActive,
		PasswordHash: e.hash(testPassword)}
	var ids []int64
	for _, k := range roleKeys {
		ids = append(ids, e.roleID(companyID, k))
	}
	must(e.t, e.store.CreateUser(context.Background(), u, ids, nil, time.Time{}))
	return u
}

// victim creates a fresh Acme employee to act on.
func (e *env) victim() *roster.User {
	return e.user(e.acme.ID, fmt.Sprintf("victim%d", e.seq.Add(1)), roster.RoleEmployee)
}

// token opens an API session for a fixture user directly in the store.
func (e *env) token(name string) string {
	e.t.Helper()
	if name == "" {
		return ""
	}
	token, hash := secure.NewToken()
	now := e.now()
	must(e.t, e.store.CreateSession(context.Background(), &roster.Session{TokenHash: hash, Kind: roster.SessionAPI,
		UserID: e.users[name].ID, CreatedAt: now, LastSeenAt: now, IdleTimeout: roster.DefaultIdleTimeout,
		ExpiresAt: now.Add(roster.DefaultAbsoluteExpiry)}))
	return token
}

// response is a recorded answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r response) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// do sends a request through the whole handler. A string body is sent
// as is; anything else is encoded as JSON.
func (e *env) do(method, url, token string, body any) response {
	e.t.Helper()
	var rd io.Reader
	contentType := "application/json"
	switch b := body.(type) {
	case nil:
	case csvBody:
		rd, contentType = strings.NewReader(string(b)), "text/csv"
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		must(e.t, err)
		rd = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, url, rd)
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.serve(req)
}

// serve sends req through the whole handler and checks the exchange
// against the served OpenAPI document: a mismatch fails e.t.
func (e *env) serve(req *http.Request) response {
	e.t.Helper()
	var sent []byte
	if req.Body != nil {
		sent, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(sent))
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if msg := webtest.Mismatch(req.Method, req.URL.RequestURI(), req.Header, sent, rec.Code, rec.Header(), rec.Body.Bytes()); msg != "" {
		e.t.Error(msg)
	}
	return response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// expect sends a request and checks its status.
func (e *env) expect(method, url, token string, body any, want int) response {
	e.t.Helper()
	r := e.do(method, url, token, body)
	if r.Status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, url, r.Status, want, r.Body)
	}
	return r
}

// login signs in through the API and returns the token.
func (e *env) login(username, password string) string {
	e.t.Helper()
	var out struct{ Token string }
	e.expect("POST", "/api/v1/auth/login", "", map[string]string{"username": username, "password": password}, 200).JSON(e.t, &out)
	if out.Token == "" {
		e.t.Fatalf("login %s: no token", username)
	}
	return out.Token
}

// scenario is one row of an HTTP table test.
type scenario struct {
	name       string
	method     string
	url        string
	token      string
	body       any
	wantStatus int
	// wantBody are substrings the body must contain.
	wantBody []string
	// wantField is a field the problem's errors must name.
	wantField string
}

// run runs scenarios as subtests.
func (e *env) run(t *testing.T, scenarios []scenario) {
	t.Helper()
	parent := e.t
	defer func() { e.t = parent }()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			// A failure, including a contract mismatch, is the subtest's.
			e.t = t
			r := e.do(sc.method, sc.url, sc.token, sc.body)
			checkResponse(t, sc, r)
		})
	}
}

func checkResponse(t *testing.T, sc scenario, r response) {
	t.Helper()
	if r.Status != sc.wantStatus {
		t.Fatalf("%s %s: status %d, want %d: %s", sc.method, sc.url, r.Status, sc.wantStatus, r.Body)
	}
	for _, s := range sc.wantBody {
		if !bytes.Contains(r.Body, []byte(s)) {
			t.Errorf("%s %s: body lacks %q: %s", sc.method, sc.url, s, r.Body)
		}
	}
	if sc.wantField != "" {
		var p web.Problem
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatalf("not a problem: %s", r.Body)
		}
		found := false
		for _, f := range p.Errors {
			found = found || f.Field == sc.wantField
		}
		if !found {
			t.Errorf("%s %s: no error on field %q: %s", sc.method, sc.url, sc.wantField, r.Body)
		}
	}
	if sc.wantStatus >= 400 && r.Header.Get("Content-Type") != "application/problem+json" && !strings.HasPrefix(sc.url, "/setup") {
		t.Errorf("%s %s: content type %q, want application/problem+json", sc.method, sc.url, r.Header.Get("Content-Type"))
	}
}

// now is the env's clock.
func (e *env) now() time.Time { return e.clock.Now() }

func path(format string, args ...any) string { return fmt.Sprintf(format, args...) }
