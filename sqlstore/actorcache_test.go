package sqlstore_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/secure"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// twoStores opens two stores on one database (two roster processes on one
// PostgreSQL, or on one SQLite file).
func twoStores(t *testing.T, engine string) (*sqlstore.Store, *sqlstore.Store) {
	t.Helper()
	ctx := context.Background()
	cfg := sqlstore.Config{Logger: slog.New(slog.DiscardHandler)}
	if engine == sqlstoretest.SQLite {
		cfg.DataDir = t.TempDir()
	} else {
		cfg.DatabaseURL = sqlstoretest.EmptyPostgres(t)
	}
	open := func() *sqlstore.Store {
		s, err := sqlstore.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		must(t, s.Migrate(ctx))
		return s
	}
	a := open()
	return a, open()
}

// TestActorCacheInvalidation: a change made through one store takes effect
// on the very next request resolved through another store on the same
// database, although that store has the actor cached.
func TestActorCacheInvalidation(t *testing.T) {
	t.Parallel()
	const address = "203.0.113.7"
	for _, engine := range sqlstoretest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			a, b := twoStores(t, engine)
			f := newFixture(t, a, sqlstoretest.NewClock(time.Now()))
			ctx := f.ctx
			custom := &roster.Role{CompanyID: &f.co.ID, Key: "auditor", Name: "Auditor",
				Permissions: []roster.Permission{roster.PermUsersView}}
			must(t, a.CreateRole(ctx, custom))
			u := f.user(f.co.ID, "Ann", "Actor", roster.RoleCompanyAdmin, "auditor")
			session := func(u *roster.User) []byte {
				_, hash := secure.NewToken()
				now := time.Now()
				must(t, a.CreateSession(ctx, &roster.Session{TokenHash: hash, Kind: roster.SessionAPI, UserID: u.ID,
					CreatedAt: now, LastSeenAt: now, IdleTimeout: time.Hour, ExpiresAt: now.Add(time.Hour)}))
				return hash
			}
			hash := session(u)
			resolve := func(s *sqlstore.Store, hash []byte) (*roster.Actor, error) {
				t.Helper()
				sess, err := s.SessionByTokenHash(ctx, hash)
				if err != nil {
					return nil, err
				}
				if !sess.ActorVersion.Known {
					t.Fatal("the store read no actor version with the session")
				}
				return roster.ActorForSession(ctx, s, s, sess, address)
			}
			// next resolves through b twice (the second from the cache) and
			// checks that both agree.
			next := func(what string) *roster.Actor {
				t.Helper()
				x, err := resolve(b, hash)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				y, err := resolve(b, hash)
				if err != nil {
					t.Fatalf("%s (cached): %v", what, err)
				}
				if x.User.Position != y.User.Position || !slices.Equal(x.Permissions.Sorted(), y.Permissions.Sorted()) ||
					!slices.Equal(x.Scope.CompanyIDs, y.Scope.CompanyIDs) || x.User.MFAMethod != y.User.MFAMethod {
					t.Fatalf("%s: cached actor differs from the fresh one", what)
				}
				return y
			}
			first := next("warm up")
			if b.ActorCache().Len() == 0 {
				t.Fatal("nothing cached")
			}
			// A cached actor is a copy: changing it changes no later request.
			first.User.Position, first.Scope.CompanyIDs[0] = "scribbled", -1
			if got := next("after scribbling"); got.User.Position == "scribbled" || got.Scope.CompanyIDs[0] == -1 {
				t.Fatal("a request's changes to its actor leaked into the cache")
			}

			pos := "Chief"
			_, err := a.UpdateUser(ctx, all, u.ID, roster.UserUpdate{Position: &pos})
			must(t, err)
			if got := next("update"); got.User.Position != "Chief" {
				t.Errorf("position after update = %q", got.User.Position)
			}

			list := []string{"198.51.100.0/24"}
			_, err = a.SetUserAccess(ctx, all, u.ID, roster.AccessUpdate{IPAllowlist: &list})
			must(t, err)
			if _, err := resolve(b, hash); err != roster.ErrAddressNotAllowed {
				t.Errorf("after allowlist change: %v, want ErrAddressNotAllowed", err)
			}
			list = nil
			_, err = a.SetUserAccess(ctx, all, u.ID, roster.AccessUpdate{IPAllowlist: &list})
			must(t, err)
			next("allowlist cleared")

			// Role permission change (a company role).
			_, err = a.UpdateRolePermissions(ctx, all, map[int64][]roster.Permission{custom.ID: {roster.PermUsersView, roster.PermRolesView}})
			must(t, err)
			if got := next("role permissions"); !got.Permissions.Has(roster.PermRolesView) {
				t.Errorf("after role permission change: no %s", roster.PermRolesView)
			}

			// Role change: down to the auditor role only.
			_, err = a.SetUserRoles(ctx, all, u.ID, []int64{custom.ID})
			must(t, err)
			if got := next("roles"); got.Permissions.Has(roster.PermUsersEdit) || got.User.HasRole(roster.RoleCompanyAdmin) {
				t.Errorf("after role change: still a company administrator")
			}
			_, err = a.SetUserRoles(ctx, all, u.ID, []int64{f.roles[roster.RoleCompanyAdmin].ID, custom.ID})
			must(t, err)
			next("roles back")

			must(t, a.SetPassword(ctx, all, u.ID, "new-hash", false))
			if got := next("password"); got.User.PasswordHash != "new-hash" {
				t.Errorf("after password change: hash %q", got.User.PasswordHash)
			}
			hash = session(u) // a password change may end the other sessions

			_, err = a.SetMFAMethod(ctx, all, u.ID, roster.MFAEmail, nil)
			must(t, err)
			// Turning 2FA on ends the user's sessions; a new one sees it.
			if got, err := resolve(b, hash); err == nil && got.User.MFAMethod != roster.MFAEmail {
				t.Errorf("after 2FA change: method %q", got.User.MFAMethod)
			}
			hash = session(u)
			if got := next("2FA"); got.User.MFAMethod != roster.MFAEmail {
				t.Errorf("after 2FA change: method %q", got.User.MFAMethod)
			}

			// A new dependent company joins the scope.
			dep := &roster.Company{Name: "Dep", ParentID: &f.co.ID}
			must(t, a.CreateCompany(ctx, dep))
			if got := next("dependent"); !slices.Contains(got.Scope.CompanyIDs, dep.ID) {
				t.Errorf("scope %v lacks the new dependent %d", got.Scope.CompanyIDs, dep.ID)
			}

			// Company changes: a rename and the settings.
			_, err = a.RenameCompany(ctx, all, f.co.ID, "Acme Renamed")
			must(t, err)
			if got := next("company rename"); got.Company.Name != "Acme Renamed" {
				t.Errorf("company name %q", got.Company.Name)
			}
			before, err := b.SessionByTokenHash(ctx, hash)
			must(t, err)
			ttl := 24
			_, err = a.UpdateCompanySettings(ctx, all, f.co.ID, roster.CompanySettingsUpdate{InvitationTTLHours: &ttl})
			must(t, err)
			after, err := b.SessionByTokenHash(ctx, hash)
			must(t, err)
			if after.ActorVersion == before.ActorVersion {
				t.Error("company settings change left the actor version as it was")
			}
			next("settings")

			_, err = a.BlockUser(ctx, all, u.ID, "test")
			must(t, err)
			if _, err := resolve(b, hash); roster.ErrorCode(err) != roster.EUNAUTHORIZED && roster.ErrorCode(err) != roster.ENOTFOUND {
				t.Errorf("after block: %v, want the session refused", err)
			}

			v := f.user(f.co.ID, "Del", "Eted", roster.RoleCompanyAdmin)
			hash = session(v)
			next("second user")
			must(t, a.DeleteUser(ctx, all, v.ID))
			if _, err := resolve(b, hash); roster.ErrorCode(err) != roster.EUNAUTHORIZED && roster.ErrorCode(err) != roster.ENOTFOUND {
				t.Errorf("after delete: %v, want the session refused", err)
			}
		})
	}
}
