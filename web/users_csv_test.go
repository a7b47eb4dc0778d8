package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/roster-app/roster"
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
