package panel

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestSwitchChoosesAnAdministrator: with several administrators in the
// dependent company the panel asks whom to act as and acts as the one
// chosen; with none it says so and offers to add one (issue 13, item 3).
func TestSwitchChoosesAnAdministrator(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		ctx := context.Background()
		childAdmin, err := s.RoleByKey(ctx, f.child.ID, roster.RoleCompanyAdmin)
		if err != nil {
			t.Fatal(err)
		}
		second := &roster.User{CompanyID: f.child.ID, AuthMethod: roster.AuthEmail, Email: "greta@harbor.test", FirstName: "Greta",
			LastName: "Lind", Status: roster.StatusActive, PasswordHash: f.users["hugo"].PasswordHash}
		if err := s.CreateUser(ctx, second, []int64{childAdmin.ID}, nil, time.Time{}); err != nil {
			t.Fatal(err)
		}
		c := f.signedIn("admin")
		path := "/companies/" + strconv.FormatInt(f.child.ID, 10) + "/switch"
		page := body(c.post(path, nil))
		for _, want := range []string{"Hugo Berg", "Greta Lind", `name="user_id" value="` + strconv.FormatInt(second.ID, 10) + `"`} {
			if !strings.Contains(page, want) {
				t.Errorf("the choice lacks %q", want)
			}
		}
		rec := c.post(path, url.Values{"user_id": {strconv.FormatInt(second.ID, 10)}})
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("switch as Greta: %d %s", rec.Code, body(rec))
		}
		if b := body(c.get("/users")); !strings.Contains(b, "working as Greta Lind") {
			t.Errorf("not acting as Greta: %.400s", b)
		}
		if rec := c.post("/switch-back", nil); rec.Code != http.StatusSeeOther {
			t.Fatalf("switch back: %d", rec.Code)
		}

		// Someone else's administrator of the company is refused.
		if rec := c.post(path, url.Values{"user_id": {strconv.FormatInt(f.users["olga"].ID, 10)}}); rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("acting as a non-administrator: %d", rec.Code)
		}

		empty := &roster.Company{Name: "Empty Wharf", ParentID: &f.reseller.ID}
		if err := s.CreateCompany(ctx, empty); err != nil {
			t.Fatal(err)
		}
		rec = c.post("/companies/"+strconv.FormatInt(empty.ID, 10)+"/switch", nil)
		b := body(rec)
		if rec.Code != http.StatusConflict || !strings.Contains(b, "Empty Wharf has no active administrator") ||
			!strings.Contains(b, "/users/new?company="+strconv.FormatInt(empty.ID, 10)) {
			t.Errorf("no administrator: %d %.600s", rec.Code, b)
		}
	})
}
