package sqlstore_test

import (
	"context"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

func TestLoadFake(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		must(t, sqlstore.LoadFake(ctx, s, sqlstore.LoadOptions{Users: 3000, Companies: 5, BigCompanyUsers: 1000, Seed: 7}))
		cs, err := s.Companies(ctx, all)
		must(t, err)
		var big *roster.Company
		for _, c := range cs {
			if c.Name == sqlstore.BigCompanyName {
				big = c
			}
		}
		if len(cs) != 6 || big == nil || big.UserCount != 1000 {
			t.Fatalf("companies = %+v", cs)
		}
		scope := roster.Scope{CompanyIDs: []int64{big.ID}}
		p, err := s.Users(ctx, scope, roster.UserFilter{Query: "ova"})
		must(t, err)
		if p.Total == 0 || len(p.Items) == 0 {
			t.Fatalf("search after load: %+v", p)
		}
		// The store still works after the bulk load: a new user is indexed.
		u := &roster.User{CompanyID: big.ID, AuthMethod: roster.AuthLogin, Login: "afterload", FirstName: "Zyxw", LastName: "Vut"}
		roles, err := s.Roles(ctx, big.ID)
		must(t, err)
		must(t, s.CreateUser(ctx, u, []int64{roles[len(roles)-1].ID}, nil, u.CreatedAt))
		p, err = s.Users(ctx, scope, roster.UserFilter{Query: "zyxw"})
		must(t, err)
		if p.Total != 1 || p.Items[0].ID != u.ID {
			t.Fatalf("new user not found: %+v", p)
		}
		if s.Dialect() == "sqlite" {
			// The planner gets row counts but no value samples: with
			// sqlite_stat4, statements are prepared again whenever their
			// bound values change.
			var stat1, stat4 int
			must(t, s.DB().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM sqlite_stat1),
				(SELECT count(*) FROM sqlite_stat4)`).Scan(&stat1, &stat4))
			if stat1 == 0 || stat4 != 0 {
				t.Fatalf("after load: %d rows in sqlite_stat1, %d in sqlite_stat4", stat1, stat4)
			}
		}
	})
}

// TestSearchMatchesLike checks, on a company bigger than the search sample,
// that every search plan (rare terms through the company trigram index,
// common ones in creation order) returns exactly the users whose search
// text contains the term, each once, across all pages.
func TestSearchMatchesLike(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		must(t, sqlstore.LoadFake(ctx, s, sqlstore.LoadOptions{Users: 3000, Companies: 3, BigCompanyUsers: 2600, Seed: 11}))
		var big int64
		must(t, s.DB().QueryRowContext(ctx, `SELECT id FROM companies WHERE name = $1`, sqlstore.BigCompanyName).Scan(&big))
		scope := roster.Scope{CompanyIDs: []int64{big}}
		estimated := map[string]bool{}
		for _, term := range []string{"ova", "kuzn", "кузн", "ivan", "ив", "824", "-1", "@corp", "na.", "zzqx", "5 0", "+7 9", "exa"} {
			want := map[int64]bool{}
			// An all-digit term also matches the user with that ID.
			rows, err := s.DB().QueryContext(ctx, `SELECT id FROM users WHERE company_id = $1
				AND (search LIKE $2 OR CAST(id AS TEXT) = $3)`, big, "%"+term+"%", term)
			must(t, err)
			for rows.Next() {
				var id int64
				must(t, rows.Scan(&id))
				want[id] = true
			}
			must(t, rows.Err())
			rows.Close()
			got := map[int64]bool{}
			f := roster.UserFilter{Query: term, Limit: 200}
			for {
				p, err := s.Users(ctx, scope, f)
				must(t, err)
				for _, u := range p.Items {
					if got[u.ID] {
						t.Fatalf("%q: user %d on two pages", term, u.ID)
					}
					got[u.ID] = true
				}
				if !p.TotalEstimated && !p.TotalCapped && p.Total != len(want) {
					t.Errorf("%q: total %d, want %d", term, p.Total, len(want))
				}
				// An estimate (of a common term) is close to the truth.
				if p.TotalEstimated && (p.Total < len(want)/2 || p.Total > 2*len(want)) {
					t.Errorf("%q: estimated total %d, true %d", term, p.Total, len(want))
				}
				if f.Cursor == "" {
					estimated[term] = p.TotalEstimated
				}
				if p.NextCursor == "" {
					break
				}
				f.Cursor = p.NextCursor
			}
			if len(got) != len(want) {
				t.Errorf("%q: %d users found, want %d", term, len(got), len(want))
			}
			// SQLite counts a company's matches (to totalCap).
			if s.Dialect() == "sqlite" && estimated[term] {
				t.Errorf("%q: %d matches, total estimated", term, len(want))
			}
			for id := range want {
				if !got[id] {
					t.Errorf("%q: user %d missing", term, id)
					break
				}
			}
		}
	})
}

// TestCompanyUserCount checks that the kept count follows every way users
// come and go: create, delete, bulk delete.
func TestCompanyUserCount(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		c := &roster.Company{Name: "Counted"}
		must(t, s.CreateCompany(ctx, c))
		roles, err := s.Roles(ctx, c.ID)
		must(t, err)
		role := roles[len(roles)-1].ID
		var ids []int64
		for _, login := range []string{"one", "two", "three"} {
			u := &roster.User{CompanyID: c.ID, AuthMethod: roster.AuthLogin, Login: login, FirstName: "A", LastName: "B", Status: roster.StatusActive}
			must(t, s.CreateUser(ctx, u, []int64{role}, nil, u.CreatedAt))
			ids = append(ids, u.ID)
		}
		count := func(want int) {
			t.Helper()
			got, err := s.CompanyByID(ctx, all, c.ID)
			must(t, err)
			if got.UserCount != want {
				t.Fatalf("user count %d, want %d", got.UserCount, want)
			}
		}
		count(3)
		must(t, s.DeleteUser(ctx, all, ids[0]))
		count(2)
		_, err = s.BulkUsers(ctx, all, roster.BulkAction{Action: roster.BulkDelete, UserIDs: ids[1:]})
		must(t, err)
		count(0)
	})
}
