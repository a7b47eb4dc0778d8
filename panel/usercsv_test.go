package panel

import (
	"bytes"
	"encoding/csv"
	"html"
	"regexp"
	"strings"
	"testing"

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
