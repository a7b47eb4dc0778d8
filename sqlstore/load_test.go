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
	})
}
