package panel

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roster-app/roster"

	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestUsersExportLink follows the users list's "Export CSV" link: it
// carries the list's filters and sort, and downloads exactly those users.
func TestUsersExportLink(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		c := f.signedIn("admin")
		page := body(c.get("/users?status=active&sort=-name&q=northwind"))
		m := regexp.MustCompile(`href="(/users/export\.csv\?[^"]*)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no export link on the users list")
		}
		link := html.UnescapeString(m[1])
		for _, want := range []string{"status=active", "sort=-name", "q=northwind"} {
			if !strings.Contains(link, want) {
				t.Errorf("export link %s lacks %s", link, want)
			}
		}
		rec := c.get(link)
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") {
			t.Fatalf("export: %d %s", rec.Code, rec.Header().Get("Content-Type"))
		}
		b := rec.Body.Bytes()
		if !bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) {
			t.Fatalf("no BOM")
		}
		recs, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range recs[1:] {
			got = append(got, r[5])
			if r[12] != "active" {
				t.Errorf("%s is %s", r[1], r[12])
			}
		}
		// Active reseller users with a northwind address, by last name descending.
		if want := "Volkov,Sidorov,Petrova,Novak,Kuznetsov,Ivanova"; strings.Join(got, ",") != want {
			t.Errorf("exported %v, want %s", got, want)
		}
		if rec := f.signedIn("olga").get("/users/export.csv"); rec.Code != 403 {
			t.Errorf("an employee exported: %d", rec.Code)
		}
	})
}

// TestDormantPanel: the users list filters dormant accounts, its export
// link keeps the filters, and the credential settings set dormant blocking.
func TestDormantPanel(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		c := f.signedIn("admin") // the only one who ever signed in
		page := body(c.get("/users?never_signed_in=false&last_sign_in_before=" + clock.Now().Add(48*time.Hour).Format(time.DateOnly)))
		if !strings.Contains(page, "Petrova") || strings.Contains(page, "Volkov") {
			t.Errorf("signed-in filter shows the wrong users")
		}
		if !strings.Contains(page, `name="last_sign_in_before" value="`) || !strings.Contains(page, `<option value="false" selected>`) {
			t.Errorf("the filter form does not keep the filters")
		}
		if !strings.Contains(page, "never_signed_in=false") {
			t.Errorf("the export link lacks the filter")
		}
		page = body(c.get("/users?never_signed_in=true"))
		if strings.Contains(page, fmt.Sprintf(`href="/users/%d"`, f.users["admin"].ID)) || !strings.Contains(page, "Volkov") {
			t.Errorf("never-signed-in filter shows the wrong users")
		}
		// A hand-made bad date is dropped, not an error page.
		if rec := c.get("/users?last_sign_in_before=soon"); rec.Code != 200 {
			t.Errorf("bad date: %d", rec.Code)
		}

		if !strings.Contains(body(c.get("/settings/credentials")), `name="dormant_block_days"`) {
			t.Fatal("no dormant setting on the settings page")
		}
		form := url.Values{"invitation_ttl_hours": {"8"}, "password_min_length": {"12"}, "idle_timeout_seconds": {"1800"}, "dormant_block_days": {"5"}}
		if rec := c.post("/settings/credentials", form); rec.Code != 422 {
			t.Errorf("5 days: %d", rec.Code)
		}
		form.Set("dormant_block_days", "90")
		if rec := c.post("/settings/credentials", form); rec.Code != 303 {
			t.Fatalf("save: %d %s", rec.Code, body(rec))
		}
		cs, err := s.CompanySettings(context.Background(), roster.Scope{All: true}, f.reseller.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cs.DormantBlockDays != 90 {
			t.Errorf("dormant_block_days %d", cs.DormantBlockDays)
		}
	})
}

// postMultipart posts a multipart form with an optional file.
func (c *client) postMultipart(path string, fields map[string]string, file string) *httptest.ResponseRecorder {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	mw.WriteField(csrfField, csrfToken(c.cookies[sessionCookie]))
	if file != "" {
		fw, _ := mw.CreateFormFile("file", "users.csv")
		fw.Write([]byte(file))
	}
	mw.Close()
	req := httptest.NewRequest(http.MethodPost, path, &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

// TestUsersImportPanel: upload → preview with per-row errors → fix →
// confirm → the generated passwords once, in English and Russian.
func TestUsersImportPanel(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		c := f.signedIn("admin")
		if !strings.Contains(body(c.get("/users")), `href="/users/import"`) {
			t.Error("no import link on the users list")
		}
		if rec := c.get("/users/import"); rec.Code != 200 || !strings.Contains(body(rec), `type="file"`) {
			t.Fatalf("import page: %d", rec.Code)
		}
		header := "auth_method,email,login,first_name,middle_name,last_name,phone,work_phone,position,roles,credentials\n"
		bad := header + "login,,ok7,A,,B,,,,employee,\nlogin,,иван,A,,B,,,,employee,\n"
		rec := c.postMultipart("/users/import", map[string]string{"action": "check"}, bad)
		page := body(rec)
		if rec.Code != 422 || !strings.Contains(page, `id="import-error-list"`) || !strings.Contains(page, "<td class=\"num\">3</td>") || !strings.Contains(page, "<code>login</code>") {
			t.Fatalf("errors preview: %d\n%s", rec.Code, page)
		}
		good := header + "login,,ok7,Олег,,Быков,,,,employee,\nemail,new@northwind.test,,A,,B,,,,employee,\n"
		rec = c.postMultipart("/users/import", map[string]string{"action": "check"}, good)
		page = body(rec)
		if rec.Code != 200 || !strings.Contains(page, `name="csv"`) || !strings.Contains(page, "2 users will be created") {
			t.Fatalf("preview: %d\n%s", rec.Code, page)
		}
		if _, err := s.UserByUsername(context.Background(), "ok7"); roster.ErrorCode(err) != roster.ENOTFOUND {
			t.Fatal("the check wrote a user")
		}
		m := regexp.MustCompile(`(?s)<textarea name="csv"[^>]*>(.*?)</textarea>`).FindStringSubmatch(page)
		if m == nil {
			t.Fatal("no file carried to the confirmation")
		}
		rec = c.postMultipart("/users/import", map[string]string{"action": "confirm", "csv": html.UnescapeString(m[1]), "company": fmt.Sprint(f.reseller.ID)}, "")
		page = body(rec)
		if rec.Code != 200 || !strings.Contains(page, `id="import-passwords"`) || !strings.Contains(page, "ok7") || rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("result: %d\n%s", rec.Code, page)
		}
		if !strings.Contains(page, `href="data:text/csv;charset=utf-8,`) || strings.Contains(page, "ZgotmplZ") {
			t.Errorf("no passwords download link")
		}
		u, err := s.UserByUsername(context.Background(), "ok7")
		if err != nil || u.FirstName != "Олег" || !u.PasswordTemporary {
			t.Fatalf("imported user %+v %v", u, err)
		}
		// Russian.
		c.lang = "ru"
		rec = c.postMultipart("/users/import", map[string]string{"action": "check"}, header+"login,,ok7,A,,B,,,,employee,\n")
		if page := body(rec); rec.Code != 422 || !strings.Contains(page, "Такой пользователь уже есть") {
			t.Errorf("russian errors: %d\n%s", rec.Code, page)
		}
		if rec := f.signedIn("olga").get("/users/import"); rec.Code != 403 {
			t.Errorf("an employee opened the import: %d", rec.Code)
		}
	})
}
