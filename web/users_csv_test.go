package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/outbox"
	"github.com/roster-app/roster/web"
)

// readCSV checks an export's framing (BOM, CRLF) and returns its records.
func readCSV(t *testing.T, body []byte) [][]string {
	t.Helper()
	if !bytes.HasPrefix(body, []byte("\xEF\xBB\xBF")) {
		t.Fatalf("the export does not start with a UTF-8 BOM: %q", clipBytes(body))
	}
	if !bytes.Contains(body, []byte("\r\n")) {
		t.Errorf("the export's lines do not end with CRLF")
	}
	recs, err := csv.NewReader(bytes.NewReader(body[3:])).ReadAll()
	if err != nil {
		t.Fatalf("the export is not CSV: %v", err)
	}
	return recs
}

func clipBytes(b []byte) []byte {
	if len(b) > 200 {
		return b[:200]
	}
	return b
}

func TestUsersExportCSV(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.t = t
		ctx := context.Background()
		// Names a spreadsheet would run as formulas, and Cyrillic ones.
		for i, name := range []string{"=cmd|' /C calc'!A0", "+sum", "-2", "@import", "\tTab", "Иван"} {
			u := &roster.User{CompanyID: e.acme.ID, AuthMethod: roster.AuthLogin, Login: fmt.Sprintf("csv%d", i),
				FirstName: "Fn", LastName: "Tester", Position: name, Status: roster.StatusActive}
			if i == 5 {
				u.FirstName, u.LastName = "Иван", "Петров"
			}
			must(t, e.store.CreateUser(ctx, u, []int64{e.roles[roster.RoleEmployee]}, nil, time.Time{}))
		}
		admin := e.token("admin")
		r := e.expect("GET", "/api/v1/users/export?format=csv&sort=-created_at", admin, nil, 200)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Fatalf("content type %q", ct)
		}
		if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") {
			t.Errorf("content disposition %q", cd)
		}
		recs := readCSV(t, r.Body)
		if got := strings.Join(recs[0], ","); got != "auth_method,email,login,first_name,middle_name,last_name,phone,work_phone,position,roles,id,company_id,status,created_at,last_login_at" {
			t.Fatalf("header %s", got)
		}
		// Acme's 3 fixture users and the 6 new ones, newest first.
		if len(recs) != 1+9 {
			t.Fatalf("%d records, want 10: %v", len(recs), recs)
		}
		if recs[1][2] != "csv5" || recs[1][3] != "Иван" || recs[1][5] != "Петров" {
			t.Errorf("first row %v", recs[1])
		}
		pos := map[string]string{}
		for _, rec := range recs[1:] {
			pos[rec[2]] = rec[8]
			if rec[11] != fmt.Sprint(e.acme.ID) {
				t.Errorf("a user of company %s in Acme's export", rec[11])
			}
		}
		for login, want := range map[string]string{"csv0": "'=cmd|' /C calc'!A0", "csv1": "'+sum", "csv2": "'-2", "csv3": "'@import", "csv4": "'\tTab", "csv5": "Иван"} {
			if pos[login] != want {
				t.Errorf("%s: position cell %q, want %q", login, pos[login], want)
			}
		}
		if !strings.Contains(strings.Join(recs[1], ","), "employee") {
			t.Errorf("roles missing: %v", recs[1])
		}

		// The same filters and order as the list.
		var list userPage
		e.expect("GET", "/api/v1/users?q=csv&sort=name&limit=200", admin, nil, 200).JSON(t, &list)
		recs = readCSV(t, e.expect("GET", "/api/v1/users/export?q=csv&sort=name", admin, nil, 200).Body)
		if len(recs)-1 != len(list.Items) {
			t.Fatalf("export has %d users, list %d", len(recs)-1, len(list.Items))
		}
		for i, it := range list.Items {
			if recs[i+1][2] != it.Login {
				t.Errorf("row %d: %s, list %s", i, recs[i+1][2], it.Login)
			}
		}

		e.run(t, []scenario{
			{name: "ErrForbidden/NoUsersView", method: "GET", url: "/api/v1/users/export", token: e.token("emp"), wantStatus: 403},
			{name: "ErrUnauthorized", method: "GET", url: "/api/v1/users/export", wantStatus: 401},
			{name: "ErrInvalid/Format", method: "GET", url: "/api/v1/users/export?format=xlsx", token: admin, wantStatus: 422, wantField: "format"},
			{name: "ErrInvalid/Status", method: "GET", url: "/api/v1/users/export?status=gone", token: admin, wantStatus: 422, wantField: "status"},
			{name: "ErrInvalid/Cursor", method: "GET", url: "/api/v1/users/export?cursor=x", token: admin, wantStatus: 422, wantField: "cursor"},
			{name: "ErrInvalid/OtherCompany", method: "GET", url: path("/api/v1/users/export?company_id=%d", e.other.ID), token: admin, wantStatus: 422, wantField: "company_id"},
		})
	})
}

// TestUsersExportPages exports more users than one keyset page holds, so
// that the export walks pages.
func TestUsersExportPages(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.t = t
		ctx := context.Background()
		for i := range roster.MaxPageSize + 7 {
			u := &roster.User{CompanyID: e.other.ID, AuthMethod: roster.AuthLogin, Login: fmt.Sprintf("pg%04d", i),
				FirstName: "P", LastName: fmt.Sprintf("L%04d", i), Status: roster.StatusActive}
			must(t, e.store.CreateUser(ctx, u, []int64{e.roleID(e.other.ID, roster.RoleEmployee)}, nil, time.Time{}))
		}
		recs := readCSV(t, e.expect("GET", "/api/v1/users/export?sort=-name", e.token("other"), nil, 200).Body)
		if len(recs) != 1+roster.MaxPageSize+7+1 {
			t.Fatalf("%d records", len(recs))
		}
		seen := map[string]bool{}
		prev := "~"
		for _, rec := range recs[1:] {
			if seen[rec[2]] {
				t.Fatalf("%s twice", rec[2])
			}
			seen[rec[2]] = true
			if rec[2] != "other" && rec[5] > prev {
				t.Fatalf("not in descending name order: %s after %s", rec[5], prev)
			}
			if rec[2] != "other" {
				prev = rec[5]
			}
		}
	})
}

// userCSVMatrixRows are the authorization matrix rows of the CSV routes.
func userCSVMatrixRows() []matrixRow {
	return []matrixRow{
		//                                                                                  anon root admin disp emp other reseller
		{"GET", "/api/v1/users/export", fixed("/api/v1/users/export", nil), w{401, 200, 200, 200, 403, 200, 200}},
		{"POST", "/api/v1/users/import", func(e *env) (string, any) {
			return path("/api/v1/users/import?dry_run=true&company_id=%d", e.acme.ID), csvBody(importHeader + path("login,,imp%d,A,,B,,,,employee,\n", e.seq.Add(1)))
		}, w{401, 200, 200, 403, 403, 422, 200}},
	}
}

// discardWriter is a ResponseWriter that counts and drops the body, so
// that a benchmark measures the export's own memory.
type discardWriter struct {
	h     http.Header
	code  int
	bytes int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }
func (d *discardWriter) Write(b []byte) (int, error) { d.bytes += len(b); return len(b), nil }

// BenchmarkAPIExportCSV exports a whole company (ROSTER_BENCH_API_USERS
// users, 100,000 by default) by name, as the panel's link does.
//
//	go test ./web -run XXX -bench BenchmarkAPIExportCSV -benchmem
func BenchmarkAPIExportCSV(b *testing.B) {
	h, token, _ := benchAPI(b)
	b.ReportAllocs()
	b.ResetTimer()
	var rows int
	for b.Loop() {
		r := httptest.NewRequest("GET", "/api/v1/users/export?sort=name", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		d := &discardWriter{h: http.Header{}}
		h.ServeHTTP(d, r)
		if d.code != 200 {
			b.Fatalf("export: %d", d.code)
		}
		rows = d.bytes
	}
	b.ReportMetric(float64(rows)/1e6, "MB/export")
}

// csvBody is a request body sent as text/csv.
type csvBody string

const importHeader = "auth_method,email,login,first_name,middle_name,last_name,phone,work_phone,position,roles,credentials\n"

// importResult is a decoded import answer.
type importResult struct {
	DryRun             bool `json:"dry_run"`
	Created, Updated   int
	TemporaryPasswords []struct {
		Line                   int
		Email, Login, Password string
	} `json:"temporary_passwords"`
}

// importProblem is a decoded refused import.
type importProblem struct {
	Code   string
	Errors []struct {
		Field, Code, Message, Column string
		Line                         int
	}
}

func TestUsersImportCSV(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.t = t
		ctx := context.Background()
		admin := e.token("admin")
		count := func() int {
			var p userPage
			e.expect("GET", "/api/v1/users?limit=200", admin, nil, 200).JSON(t, &p)
			return p.Total
		}
		before := count()
		file := "\uFEFF" + importHeader +
			"email,Anna@Acme.example,,Анна,,Иванова,+7 900 000-00-01,,Operator,employee;dispatcher,\n" +
			"login,,agent1,Pavel,,Orlov,,,\"Night, shift\",employee,generated\n" +
			"login,,agent2,Olga,,Petrova,'+7 900,,,employee,\n"

		// A dry run says what would happen and writes nothing.
		var dry importResult
		e.expect("POST", "/api/v1/users/import?dry_run=true", admin, csvBody(file), 200).JSON(t, &dry)
		if !dry.DryRun || dry.Created != 3 || dry.Updated != 0 || len(dry.TemporaryPasswords) != 0 {
			t.Fatalf("dry run %+v", dry)
		}
		if count() != before {
			t.Fatal("a dry run wrote users")
		}
		var res importResult
		e.expect("POST", "/api/v1/users/import", admin, csvBody(file), 200).JSON(t, &res)
		if res.Created != 3 || len(res.TemporaryPasswords) != 2 || res.TemporaryPasswords[0].Login != "agent1" || res.TemporaryPasswords[0].Line != 3 {
			t.Fatalf("import %+v", res)
		}
		if count() != before+3 {
			t.Fatalf("%d users, want %d", count(), before+3)
		}
		// The generated password works, once changed.
		var login struct {
			PasswordChangeRequired bool `json:"password_change_required"`
		}
		e.expect("POST", "/api/v1/auth/login", "", map[string]string{"username": "agent1", "password": res.TemporaryPasswords[0].Password}, 200).JSON(t, &login)
		if !login.PasswordChangeRequired {
			t.Error("a generated password is not temporary")
		}
		anna, err := e.store.UserByUsername(ctx, "anna@acme.example")
		must(t, err)
		if anna.Status != roster.StatusInvited || anna.FirstName != "Анна" || len(anna.Roles) != 2 {
			t.Errorf("anna %+v", anna)
		}
		olga, err := e.store.UserByUsername(ctx, "agent2")
		must(t, err)
		if olga.Phone != "+7 900" {
			t.Errorf("the export's apostrophe was kept: %q", olga.Phone)
		}
		if n := countKind(t, e, roster.EventUserCreated, e.acme.ID); n < 3 {
			t.Errorf("%d user.created events", n)
		}
		mails, err := e.store.Jobs(ctx, roster.JobFilter{Kind: outbox.Kind, Limit: 50})
		must(t, err)
		if len(mails) != 1 {
			t.Errorf("%d e-mails, want the one invitation", len(mails))
		}

		// Updates, when asked: by e-mail for the e-mail method, by login for the login method.
		upd := importHeader + "email,anna@acme.example,,Анна,Сергеевна,Иванова,,,Lead,,\n" + "login,,agent1,Pavel,,Orlov,,,,employee;manager,\n"
		e.run(t, []scenario{{name: "ErrInvalid/ExistsWithoutUpdate", method: "POST", url: "/api/v1/users/import", token: admin, body: csvBody(upd),
			wantStatus: 422, wantBody: []string{`"line":2`, `"column":"email"`, `update_existing=true`}}})
		e.expect("POST", "/api/v1/users/import?update_existing=true", admin, csvBody(upd), 200).JSON(t, &res)
		if res.Updated != 2 || res.Created != 0 {
			t.Fatalf("update %+v", res)
		}
		anna, err = e.store.UserByUsername(ctx, "anna@acme.example")
		must(t, err)
		pavel, err := e.store.UserByUsername(ctx, "agent1")
		must(t, err)
		if anna.MiddleName != "Сергеевна" || anna.Position != "Lead" || anna.Phone != "" || len(anna.Roles) != 2 || len(pavel.Roles) != 2 {
			t.Errorf("updated anna %+v pavel %+v", anna, pavel)
		}

		// Errors: every row checked, each with its line and column; nothing written.
		bad := importHeader +
			"login,,goodone,Good,,One,,,,employee,\n" +
			"login,,иван,Ivan,,Petrov,,,,employee,\n" +
			"email,not-an-email,,,,,,,,employee,\n" +
			"login,,agent9,A,,B,,,,ghost,\n" +
			"login,,agent9,A,,B,,,,employee,invitation\n" +
			"login,,boss1,A,,B,,,,company_admin,\n" +
			"email,x@acme.example,pavel,A,,B,,,,employee,manual\n" +
			"login,,agent2,A,,B,,,,employee,\n"
		r := e.expect("POST", "/api/v1/users/import", admin, csvBody(bad), 422)
		var p importProblem
		r.JSON(t, &p)
		got := map[string]bool{}
		for _, f := range p.Errors {
			got[fmt.Sprintf("%d:%s", f.Line, f.Column)] = true
			if f.Message == "" {
				t.Errorf("error without a message: %+v", f)
			}
		}
		for _, want := range []string{"3:login", "4:email", "5:roles", "6:login", "6:credentials", "8:credentials", "9:login"} {
			if !got[want] {
				t.Errorf("no error at %s: %+v", want, p.Errors)
			}
		}
		if got["2:login"] {
			t.Errorf("a good row was refused: %+v", p.Errors)
		}
		if _, err := e.store.UserByUsername(ctx, "goodone"); roster.ErrorCode(err) != roster.ENOTFOUND {
			t.Errorf("a refused import wrote a user: %v", err)
		}

		// No escalation: a dispatcher may not grant Company administrator.
		e.run(t, []scenario{
			{name: "ErrInvalid/Escalation", method: "POST", url: "/api/v1/users/import", token: e.token("admin"),
				body: csvBody(importHeader + "login,,boss2,A,,B,,,,company_admin,\n"), wantStatus: 422, wantBody: []string{`"column":"roles"`}},
			{name: "ErrInvalid/BrokenLine", method: "POST", url: "/api/v1/users/import", token: admin,
				body: csvBody(importHeader + "login,,ok1,A,,B,,,,employee,\nlogin,,\"broken,A,,B,,,,employee,\n"), wantStatus: 422,
				wantBody: []string{`"line":3`, `Line 3 is not valid CSV`}},
			{name: "ErrInvalid/ShortLine", method: "POST", url: "/api/v1/users/import", token: admin,
				body: csvBody(importHeader + "login,,ok1,A\n"), wantStatus: 422, wantBody: []string{`"line":2`}},
			{name: "ErrInvalid/Header", method: "POST", url: "/api/v1/users/import", token: admin,
				body: csvBody("email,nickname\n"), wantStatus: 422, wantBody: []string{`unknown_column`, `missing_column`}},
			{name: "ErrInvalid/Empty", method: "POST", url: "/api/v1/users/import", token: admin, body: csvBody(""), wantStatus: 422},
			{name: "ErrInvalid/OtherCompany", method: "POST", url: path("/api/v1/users/import?company_id=%d", e.other.ID), token: admin,
				body: csvBody(importHeader), wantStatus: 422, wantField: "company_id"},
			{name: "ErrUnsupportedMediaType", method: "POST", url: "/api/v1/users/import", token: admin, body: map[string]any{"a": 1}, wantStatus: 415},
			{name: "ErrForbidden/Employee", method: "POST", url: "/api/v1/users/import", token: e.token("emp"), body: csvBody(importHeader), wantStatus: 403},
		})
	})
}

// TestUsersImportTooLarge: an upload over the limit is 413 and writes nothing.
func TestUsersImportTooLarge(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.t = t
		srv := web.NewServer(web.Deps{Companies: e.store, Users: e.store, Roles: e.store, Sessions: e.store, Events: e.store, Platform: e.store,
			Hasher: e.hasher, Clock: e.clock.Now, MaxImportBytes: 1000})
		e.h = srv.Handler()
		body := importHeader + strings.Repeat("login,,toolarge,A,,B,,,,employee,\n", 50)
		e.run(t, []scenario{{name: "ErrTooLarge", method: "POST", url: "/api/v1/users/import", token: e.token("admin"), body: csvBody(body), wantStatus: 413}})
	})
}

// TestUsersImportThroughput imports ROSTER_IMPORT_ROWS invitation rows
// (2,000 by default; 100000 for the target) through the API on
// each engine and reports the time: CI runs it as a report, it does not
// time-assert.
//
//	ROSTER_IMPORT_ROWS=100000 go test ./web -run TestUsersImportThroughput -v
func TestUsersImportThroughput(t *testing.T) {
	n := 2000
	if v := os.Getenv("ROSTER_IMPORT_ROWS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("ROSTER_IMPORT_ROWS=%q", v)
		}
	}
	var b strings.Builder
	b.WriteString(importHeader)
	for i := range n {
		fmt.Fprintf(&b, "email,user%06d@bulk.example,,Имя%d,,Фамилия%d,+7 900 %07d,,Operator,employee,invitation\n", i, i, i, i)
	}
	file := b.String()
	forEachEngine(t, func(t *testing.T, e *env) {
		e.t = t
		admin := e.token("admin")
		req := httptest.NewRequest("POST", "/api/v1/users/import", strings.NewReader(file))
		req.Header.Set("Content-Type", "text/csv")
		req.Header.Set("Authorization", "Bearer "+admin)
		rec := httptest.NewRecorder()
		start := time.Now()
		e.h.ServeHTTP(rec, req)
		took := time.Since(start)
		if rec.Code != 200 {
			t.Fatalf("import: %d %s", rec.Code, clipBytes(rec.Body.Bytes()))
		}
		t.Logf("REPORT users import, %s: %d invitation rows (%.1f MB) in %.2f s, %.0f rows/s",
			t.Name(), n, float64(len(file))/1e6, took.Seconds(), float64(n)/took.Seconds())
	})
}
