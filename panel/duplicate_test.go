package panel

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestDuplicateElsewhereLooksTheSame: the panel's add-user form answers an
// e-mail or login that another company holds with the very page it shows
// for one the administrator's own company holds (issue 11, finding 10).
func TestDuplicateElsewhereLooksTheSame(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		ctx := context.Background()
		other := &roster.Company{Name: "Elsewhere Cabs"}
		if err := s.CreateCompany(ctx, other); err != nil {
			t.Fatal(err)
		}
		emp, err := s.RoleByKey(ctx, other.ID, roster.RoleEmployee)
		if err != nil {
			t.Fatal(err)
		}
		stranger := &roster.User{CompanyID: other.ID, AuthMethod: roster.AuthLogin, Login: "stranger7", Email: "stranger@elsewhere.test",
			FirstName: "S", LastName: "T", Status: roster.StatusActive}
		if err := s.CreateUser(ctx, stranger, []int64{emp.ID}, nil, clock.Now()); err != nil {
			t.Fatal(err)
		}
		c := f.signedIn("admin")
		role := strconv.FormatInt(f.roles[roster.RoleEmployee].ID, 10)
		for _, tc := range []struct {
			name, field, own, others string
			form                     url.Values
		}{
			{"Email", "email", "olga@northwind.test", "stranger@elsewhere.test",
				url.Values{"auth_method": {"email"}, "credentials": {"invitation"}, "role_ids": {role}}},
			{"Login", "login", "agent7", "stranger7",
				url.Values{"auth_method": {"login"}, "first_name": {"A"}, "last_name": {"B"}, "credentials": {"generated"}, "role_ids": {role}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				page := func(value string) (int, string) {
					form := url.Values{}
					for k, v := range tc.form {
						form[k] = v
					}
					form.Set(tc.field, value)
					rec := c.post("/users", form)
					return rec.Code, strings.ReplaceAll(rec.Body.String(), value, "VALUE")
				}
				ownStatus, own := page(tc.own)
				otherStatus, others := page(tc.others)
				if ownStatus != 422 && ownStatus != 409 || ownStatus != otherStatus {
					t.Fatalf("own company %d, another company %d", ownStatus, otherStatus)
				}
				if own != others {
					t.Errorf("the pages differ:\nown:     %s\nanother: %s", mainText(own), mainText(others))
				}
				if !strings.Contains(own, "already") {
					t.Errorf("no message: %s", mainText(own))
				}
			})
		}
	})
}
