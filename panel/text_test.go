package panel

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestFormText sends text Roster does not accept through the panel's forms
// and queries, signed in and not: each is a 422 naming the problem, never
// a 500 (PostgreSQL refused NUL bytes with an internal error, SQLite's
// search index with "unterminated string"), and nothing is saved.
func TestFormText(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		anon := f.client()
		admin := f.signedIn("admin")
		for _, tc := range []struct {
			name string
			c    *client
			get  string // a GET path, or
			post string // a POST path with form
			form url.Values
			want string
		}{
			{name: "SignInNUL", c: anon, post: "/signin", form: url.Values{"username": {"\x00"}, "password": {"x"}}, want: "control characters"},
			{name: "SignInInvalidUTF8", c: anon, post: "/signin", form: url.Values{"username": {"anna\xff@northwind.test"}, "password": {"x"}}, want: "not valid Unicode"},
			{name: "ForgotNUL", c: anon, post: "/password/forgot", form: url.Values{"email": {"a\x00@northwind.test"}}, want: "control characters"},
			{name: "SearchNUL", c: admin, get: "/users?q=a%00b", want: "control characters"},
			{name: "SearchShortNUL", c: admin, get: "/users?q=%00", want: "control characters"},
			{name: "SearchBidi", c: admin, get: "/users?q=a%E2%80%AEb", want: "bidirectional"},
			{name: "RoleFilterNUL", c: admin, get: "/users?role=a%00", want: "control characters"},
			{name: "EventsNUL", c: admin, get: "/events?type=%00", want: "control characters"},
			{name: "ClientsNUL", c: admin, get: "/clients?q=%00", want: "control characters"},
			{name: "ProfileNUL", c: admin, post: "/profile", form: url.Values{"first_name": {"An\x00na"}, "last_name": {"Petrova"}}, want: "control characters"},
			{name: "ProfileBidi", c: admin, post: "/profile", form: url.Values{"first_name": {"Anna\u202E"}, "last_name": {"Petrova"}}, want: "bidirectional"},
			{name: "ProfileLineBreak", c: admin, post: "/profile", form: url.Values{"first_name": {"An\nna"}, "last_name": {"Petrova"}}, want: "single line"},
			{name: "RoleName", c: admin, post: "/roles", form: url.Values{"name": {"Night\x00shift"}}, want: "control characters"},
			{name: "RoleNameTab", c: admin, post: "/roles", form: url.Values{"name": {"Night\tshift"}}, want: "single line"},
			{name: "RolesImport", c: admin, post: "/roles/import", form: url.Values{"data": {`[{"key":"night","name":"N\u0000","permissions":[]}]`}}, want: "control characters"},
			{name: "RolesImportSurrogate", c: admin, post: "/roles/import", form: url.Values{"data": {`[{"key":"night","name":"N\ud800","permissions":[]}]`}}, want: "not valid Unicode"},
			{name: "RolesImportDuplicateKey", c: admin, post: "/roles/import", form: url.Values{"data": {`[{"key":"night","name":"N","name":"M","permissions":[]}]`}}, want: "more than once"},
			{name: "FieldName", c: admin, post: "/profile", form: url.Values{"first\x00name": {"x"}}, want: "control characters"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := fingerprint(t, s)
				var rec *httptest.ResponseRecorder
				if tc.get != "" {
					rec = tc.c.get(tc.get)
				} else {
					rec = tc.c.post(tc.post, tc.form)
				}
				if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), tc.want) {
					t.Fatalf("status %d, want 422 with %q: %s", rec.Code, tc.want, mainText(rec.Body.String()))
				}
				if fingerprint(t, s) != before {
					t.Errorf("a refused form changed the database")
				}
			})
		}
		t.Run("Russian", func(t *testing.T) {
			ru := f.signedIn("olga")
			ru.lang = "ru"
			rec := ru.post("/profile", url.Values{"first_name": {"Ольга\u202E"}, "last_name": {"Иванова"}})
			if rec.Code != 422 || !strings.Contains(rec.Body.String(), "управлени") {
				t.Fatalf("%d %.2000s", rec.Code, rec.Body.String())
			}
		})
		t.Run("Accepted", func(t *testing.T) {
			rec := admin.post("/profile", url.Values{"first_name": {"Анна"}, "middle_name": {""}, "last_name": {"O'Brien"}})
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("%d %.2000s", rec.Code, rec.Body.String())
			}
		})
	})
}

// TestFormTooLarge checks that a form over its limit says so — for an
// avatar, that a picture is at most 3 MB — instead of "The form expired".
func TestFormTooLarge(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		for _, lang := range []struct{ code, avatar, form string }{
			{"en", "A picture is at most 3 MB.", "The form is too large (at most 2 MB)."},
			{"ru", "Изображение — не больше 3 МБ.", "Форма слишком большая (не больше 2 МБ)."},
		} {
			t.Run(lang.code, func(t *testing.T) {
				c := f.signedIn("olga")
				c.lang = lang.code
				big := append(testPicture(t, "png", 10, 10), make([]byte, 5<<20)...)
				rec := c.upload("big.png", big)
				if rec.Code != 422 || !strings.Contains(rec.Body.String(), lang.avatar) || strings.Contains(rec.Body.String(), "expired") {
					t.Fatalf("avatar of 5 MB: %d %.3000s", rec.Code, rec.Body.String())
				}
				rec = c.post("/profile", url.Values{"first_name": {strings.Repeat("a", 3<<20)}, "last_name": {"x"}})
				if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), lang.form) {
					t.Fatalf("form of 3 MB: %d %.3000s", rec.Code, rec.Body.String())
				}
				// A multipart form over the limit too.
				var buf bytes.Buffer
				mw := multipart.NewWriter(&buf)
				mw.WriteField(csrfField, csrfToken(c.cookies[sessionCookie]))
				fw, _ := mw.CreateFormFile("file", "roles.json")
				fw.Write(make([]byte, 3<<20))
				mw.Close()
				req := httptest.NewRequest(http.MethodPost, "/roles/import", &buf)
				req.Header.Set("Content-Type", mw.FormDataContentType())
				if rec := c.do(req); rec.Code != http.StatusRequestEntityTooLarge {
					t.Fatalf("multipart form of 3 MB: %d", rec.Code)
				}
				// A form that cannot be read is not an expired one either.
				req = httptest.NewRequest(http.MethodPost, "/profile", strings.NewReader("first_name=%zz&"+csrfField+"="+csrfToken(c.cookies[sessionCookie])))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if rec := c.do(req); rec.Code != http.StatusBadRequest {
					t.Fatalf("unreadable form: %d", rec.Code)
				}
			})
		}
	})
}

// fingerprint is what a panel form may write: the event count, and every
// user's and role's names.
func fingerprint(t *testing.T, s *sqlstore.Store) string {
	t.Helper()
	ctx := context.Background()
	var out strings.Builder
	var n int
	if err := s.DB().QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&out, "events=%d\n", n)
	for _, q := range []string{
		`SELECT first_name || '|' || middle_name || '|' || last_name || '|' || position FROM users ORDER BY id`,
		`SELECT key || '|' || name FROM roles ORDER BY id`,
	} {
		rows, err := s.DB().QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			out.WriteString(v + "\n")
		}
		rows.Close()
	}
	return out.String()
}

// mainText is the page's main element, for failure messages.
func mainText(page string) string {
	if i := strings.Index(page, "<main"); i >= 0 {
		page = page[i:]
	}
	if len(page) > 3000 {
		page = page[:3000]
	}
	return page
}
