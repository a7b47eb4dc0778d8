package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// These tests race many requests for one change (issue 11, findings 3 and
// 4): exactly one may win, the others get "not found", "conflict" or a
// no-op, never an internal error, and the event log holds one event per
// effective change.

const (
	racers = 12 // parallel calls per race
	rounds = 3  // races per test
)

// parallel runs fn racers times at once (released together) and returns
// each call's error.
func parallel(fn func(i int) error) []error {
	errs := make([]error, racers)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range racers {
		wg.Go(func() {
			start.Wait()
			errs[i] = fn(i)
		})
	}
	start.Done()
	wg.Wait()
	return errs
}

// tally counts errors by domain code, "ok" for success.
func tally(errs []error) map[string]int {
	out := map[string]int{}
	for _, err := range errs {
		if err == nil {
			out["ok"]++
		} else {
			out[roster.ErrorCode(err)]++
		}
	}
	return out
}

// wantTally fails unless errs counted exactly want; it logs an internal
// error's text.
func wantTally(t *testing.T, what string, errs []error, want map[string]int) {
	t.Helper()
	got := tally(errs)
	for _, err := range errs {
		if roster.ErrorCode(err) == roster.EINTERNAL {
			t.Errorf("%s: internal error: %v", what, err)
			break
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: outcomes %v, want %v", what, got, want)
	}
}

// eventsOf returns the events of type typ about user id (or all events of
// typ with id 0), oldest first.
func eventsOf(t *testing.T, s *sqlstore.Store, typ string, id int64) []*roster.Event {
	t.Helper()
	f := roster.EventFilter{Type: typ, Limit: roster.MaxPageSize}
	if id != 0 {
		f.UserID = &id
	}
	page, err := s.Events(context.Background(), all, f)
	must(t, err)
	slices.Reverse(page.Items)
	return page.Items
}

// wantUserCount checks the company's stored user count against its users.
func wantUserCount(t *testing.T, s *sqlstore.Store, companyID int64) {
	t.Helper()
	c, err := s.CompanyByID(context.Background(), all, companyID)
	must(t, err)
	var n int
	must(t, s.DB().QueryRow(`SELECT count(*) FROM users WHERE company_id = $1`, companyID).Scan(&n))
	if c.UserCount != n {
		t.Errorf("company %d: user_count %d, but it has %d users", companyID, c.UserCount, n)
	}
}

// wantChain checks that events of one kind of change follow each other:
// each one's before[key] is the previous one's after[key], the first
// starts from first and the last ends at last.
func wantChain(t *testing.T, what string, events []*roster.Event, key string, first, last any) {
	t.Helper()
	prev := fmt.Sprint(first)
	for i, e := range events {
		if b := fmt.Sprint(e.Before[key]); b != prev {
			t.Errorf("%s: event %d (%s) starts from %s, but the state was %s", what, i, e.Type, b, prev)
		}
		prev = fmt.Sprint(e.After[key])
	}
	if prev != fmt.Sprint(last) {
		t.Errorf("%s: events end at %s, the state is %v", what, prev, last)
	}
}

func sortedIDs(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// adminCtx is the context of a new company administrator of f's company.
func adminCtx(f *fixture) context.Context {
	return f.actor(f.user(f.co.ID, "Ada", "Admin", roster.RoleCompanyAdmin))
}

func TestRaceDeleteUser(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		ctx := adminCtx(f)
		for range rounds {
			u := f.user(f.co.ID, "Del", "Me", roster.RoleEmployee)
			errs := parallel(func(int) error { return s.DeleteUser(ctx, all, u.ID) })
			wantTally(t, "delete", errs, map[string]int{"ok": 1, roster.ENOTFOUND: racers - 1})
			if n := len(eventsOf(t, s, roster.EventUserDeleted, u.ID)); n != 1 {
				t.Errorf("%d user.deleted events, want 1", n)
			}
			wantUserCount(t, s, f.co.ID)
		}
	})
}

func TestRaceBlockUnblock(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		ctx := adminCtx(f)
		u := f.user(f.co.ID, "Blo", "Ck", roster.RoleEmployee)
		for range rounds {
			wantTally(t, "block", parallel(func(int) error {
				_, err := s.BlockUser(ctx, all, u.ID, "race")
				return err
			}), map[string]int{"ok": racers})
			wantTally(t, "unblock", parallel(func(int) error {
				_, err := s.UnblockUser(ctx, all, u.ID, "race")
				return err
			}), map[string]int{"ok": racers})
			// Mixed: whatever order they commit in, the events alternate.
			wantTally(t, "block and unblock", parallel(func(i int) error {
				var err error
				if i%2 == 0 {
					_, err = s.BlockUser(ctx, all, u.ID, "race")
				} else {
					_, err = s.UnblockUser(ctx, all, u.ID, "race")
				}
				return err
			}), map[string]int{"ok": racers})
		}
		var events []*roster.Event
		for _, e := range eventsOf(t, s, "", u.ID) {
			if e.Type == roster.EventUserBlocked || e.Type == roster.EventUserUnblocked {
				events = append(events, e)
			}
		}
		got, err := s.UserByID(f.ctx, all, u.ID)
		must(t, err)
		wantChain(t, "status", events, "status", roster.StatusActive, got.Status)
		if len(events) < 2*rounds {
			t.Errorf("%d status events, want at least %d", len(events), 2*rounds)
		}
	})
}

// TestRaceSignInBlock: sessions created (a sign-in whose password was
// checked before) while the user is blocked and unblocked: whenever the
// user ends blocked, no session of theirs is left, and a session for a
// blocked user is refused with "unauthorized".
func TestRaceSignInBlock(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		ctx := adminCtx(f)
		u := f.user(f.co.ID, "Sig", "Ner", roster.RoleEmployee)
		session := func(i int) error {
			now := c.Now()
			return s.CreateSession(f.ctx, &roster.Session{TokenHash: fmt.Appendf(nil, "race-%d-%d", i, now.UnixNano()), Kind: roster.SessionAPI,
				UserID: u.ID, CreatedAt: now, LastSeenAt: now, IdleTimeout: time.Hour, ExpiresAt: now.Add(time.Hour)})
		}
		for round := range rounds {
			errs := parallel(func(i int) error {
				if i == racers/2 {
					_, err := s.BlockUser(ctx, all, u.ID, "race")
					return err
				}
				return session(i + round*racers)
			})
			for _, err := range errs {
				if err != nil && roster.ErrorCode(err) != roster.EUNAUTHORIZED {
					t.Errorf("round %d: %v", round, err)
				}
			}
			var live int
			must(t, s.DB().QueryRow(`SELECT count(*) FROM sessions WHERE user_id = $1`, u.ID).Scan(&live))
			if live != 0 {
				t.Errorf("round %d: the blocked user has %d sessions", round, live)
			}
			if err := session(-1 - round); roster.ErrorCode(err) != roster.EUNAUTHORIZED {
				t.Errorf("round %d: session for a blocked user: %v", round, err)
			}
			_, err := s.UnblockUser(ctx, all, u.ID, "race")
			must(t, err)
		}
	})
}

func TestRaceSetRoles(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		ctx := adminCtx(f)
		u := f.user(f.co.ID, "Ro", "Les", roster.RoleEmployee)
		emp, disp, mgr := f.roles[roster.RoleEmployee].ID, f.roles[roster.RoleDispatcher].ID, f.roles[roster.RoleManager].ID
		sets := [][]int64{{emp, disp}, {mgr}, {disp, mgr, emp}}
		set := func(ids []int64) error {
			_, err := s.SetUserRoles(ctx, all, u.ID, ids)
			return err
		}
		for range rounds {
			// The identical change is one the user does not have yet.
			cur, err := s.UserByID(f.ctx, all, u.ID)
			must(t, err)
			var held []int64
			for _, r := range cur.Roles {
				held = append(held, r.ID)
			}
			target := sets[0]
			if slices.Equal(sortedIDs(held), sortedIDs(target)) {
				target = sets[1]
			}
			before := len(eventsOf(t, s, roster.EventUserRolesChanged, u.ID))
			wantTally(t, "identical roles", parallel(func(int) error { return set(target) }), map[string]int{"ok": racers})
			if n := len(eventsOf(t, s, roster.EventUserRolesChanged, u.ID)) - before; n != 1 {
				t.Errorf("identical roles: %d events, want 1", n)
			}
			wantTally(t, "different roles", parallel(func(i int) error { return set(sets[i%len(sets)]) }), map[string]int{"ok": racers})
		}
		got, err := s.UserByID(f.ctx, all, u.ID)
		must(t, err)
		var keys []any
		for _, k := range got.Roles {
			keys = append(keys, k.Key)
		}
		wantChain(t, "roles", eventsOf(t, s, roster.EventUserRolesChanged, u.ID), "roles", []any{roster.RoleEmployee}, keys)
	})
}

func TestRaceInvitation(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		ctx := adminCtx(f)
		n := 0
		invite := func() (*roster.User, []byte) {
			n++
			hash := fmt.Appendf(nil, "invitation-%04d-invitation-%04d..", n, n)
			u := &roster.User{CompanyID: f.co.ID, AuthMethod: roster.AuthEmail, Email: fmt.Sprintf("inv%d@acme.example", n)}
			must(t, s.CreateUser(f.ctx, u, []int64{f.roles[roster.RoleEmployee].ID}, hash, c.Now().Add(8*time.Hour)))
			return u, hash
		}
		for range rounds {
			u, hash := invite()
			errs := parallel(func(i int) error {
				_, err := s.AcceptInvitation(f.ctx, hash, "pw", "Ann", fmt.Sprint("Lee", i))
				return err
			})
			wantTally(t, "accept", errs, map[string]int{"ok": 1, roster.ENOTFOUND: racers - 1})
			if n := len(eventsOf(t, s, roster.EventInvitationAccepted, u.ID)); n != 1 {
				t.Errorf("%d invitation.accepted events, want 1", n)
			}

			// Accepting and resending at once: either the acceptance came
			// first and every resend is refused, or a resend came first and
			// the old link no longer works.
			u, hash = invite()
			errs = parallel(func(i int) error {
				if i == 0 {
					_, err := s.AcceptInvitation(f.ctx, hash, "pw", "Bo", "Kim")
					return err
				}
				return s.ResendInvitation(ctx, all, u.ID, fmt.Appendf(nil, "resend-%d-%d", u.ID, i), c.Now().Add(8*time.Hour))
			})
			got, err := s.UserByID(f.ctx, all, u.ID)
			must(t, err)
			resent := len(eventsOf(t, s, roster.EventUserInvited, u.ID))
			if errs[0] == nil {
				wantTally(t, "resends after acceptance", errs[1:], map[string]int{roster.ECONFLICT: racers - 1})
				if got.Status != roster.StatusActive || resent != 0 {
					t.Errorf("accepted, then status %s and %d user.invited events", got.Status, resent)
				}
			} else {
				wantCode(t, errs[0], roster.ENOTFOUND)
				wantTally(t, "resends before acceptance", errs[1:], map[string]int{"ok": racers - 1})
				if got.Status != roster.StatusInvited || resent != racers-1 {
					t.Errorf("resent, then status %s and %d user.invited events", got.Status, resent)
				}
			}
		}
	})
}

func TestRacePasswordReset(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		u := f.user(f.co.ID, "Res", "Et", roster.RoleEmployee)
		for r := range rounds {
			hash := fmt.Appendf(nil, "reset-token-hash-%d", r)
			must(t, s.StartPasswordReset(f.ctx, u.ID, hash, c.Now().Add(time.Hour), nil))
			before := len(eventsOf(t, s, roster.EventUserPasswordChange, u.ID))
			errs := parallel(func(i int) error {
				_, err := s.ResetPassword(f.ctx, hash, fmt.Sprint("new-hash-", i))
				return err
			})
			wantTally(t, "reset", errs, map[string]int{"ok": 1, roster.ENOTFOUND: racers - 1})
			if n := len(eventsOf(t, s, roster.EventUserPasswordChange, u.ID)) - before; n != 1 {
				t.Errorf("%d password changes, want 1", n)
			}
		}
	})
}

func TestRaceSecondFactor(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		u := f.user(f.co.ID, "Two", "Factor", roster.RoleEmployee)
		must(t, s.SetPendingTOTP(f.ctx, u.ID, "sealed-secret"))
		wantTally(t, "confirm TOTP", parallel(func(i int) error {
			return s.ConfirmTOTP(f.ctx, u.ID, 100, [][]byte{fmt.Appendf(nil, "first-code-%d", i)})
		}), map[string]int{"ok": 1, roster.ECONFLICT: racers - 1})
		if n := len(eventsOf(t, s, roster.EventMFAEnabled, u.ID)); n != 1 {
			t.Errorf("%d mfa_enabled events, want 1", n)
		}
		countCodes := func() int {
			hs, err := s.RecoveryCodeHashes(f.ctx, u.ID)
			must(t, err)
			return len(hs)
		}
		for r := range rounds {
			step := int64(200 + r)
			var mu sync.Mutex
			wins := 0
			wantTally(t, "TOTP step", parallel(func(int) error {
				ok, err := s.UseTOTPStep(f.ctx, u.ID, step)
				if ok {
					mu.Lock()
					wins++
					mu.Unlock()
				}
				return err
			}), map[string]int{"ok": racers})
			if wins != 1 {
				t.Errorf("step %d accepted %d times", step, wins)
			}

			// New codes at once: one set replaces the others entirely.
			wantTally(t, "new recovery codes", parallel(func(i int) error {
				return s.ReplaceRecoveryCodes(f.ctx, u.ID, [][]byte{
					fmt.Appendf(nil, "code-a-%d-%d", r, i), fmt.Appendf(nil, "code-b-%d-%d", r, i)})
			}), map[string]int{"ok": racers})
			if n := countCodes(); n != 2 {
				t.Fatalf("%d recovery codes after racing replacements, want 2", n)
			}
			hs, err := s.RecoveryCodeHashes(f.ctx, u.ID)
			must(t, err)
			before := len(eventsOf(t, s, roster.EventRecoveryCodeUsed, u.ID))
			wins = 0
			wantTally(t, "recovery code", parallel(func(int) error {
				ok, err := s.UseRecoveryCode(f.ctx, u.ID, hs[0])
				if ok {
					mu.Lock()
					wins++
					mu.Unlock()
				}
				return err
			}), map[string]int{"ok": racers})
			if n := len(eventsOf(t, s, roster.EventRecoveryCodeUsed, u.ID)) - before; wins != 1 || n != 1 {
				t.Errorf("recovery code accepted %d times with %d events", wins, n)
			}
		}
	})
}

func TestRaceNotificationPrefs(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		u := f.user(f.co.ID, "No", "Tify", roster.RoleCompanyAdmin)
		for range rounds {
			wantTally(t, "notification settings", parallel(func(i int) error {
				return s.SetNotificationPrefs(f.ctx, u.ID, &roster.NotificationPrefs{TelegramChatID: "42",
					Subscriptions: []roster.Subscription{
						{EventType: roster.EventUserBlocked, Channels: []string{roster.ChannelEmail, roster.ChannelTelegram}},
						{EventType: roster.EventUserDeleted, Channels: []string{roster.ChannelEmail}}}})
			}), map[string]int{"ok": racers})
		}
		p, err := s.NotificationPrefs(f.ctx, u.ID)
		must(t, err)
		if len(p.Subscriptions) != 2 || len(p.Subscriptions[0].Channels)+len(p.Subscriptions[1].Channels) != 3 {
			t.Errorf("subscriptions %+v", p.Subscriptions)
		}
	})
}

func TestRaceOperations(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		ctx, sc := adminCtx(f), acme(f)
		u := f.user(f.co.ID, "Mem", "Ber", roster.RoleEmployee)
		for r := range rounds {
			g := &roster.WorkGroup{CompanyID: f.co.ID, Kind: roster.KindQueue, Name: fmt.Sprint("Queue ", r)}
			must(t, s.CreateWorkGroup(ctx, g))
			wantTally(t, "add member", parallel(func(int) error {
				_, err := s.AddWorkGroupMembers(ctx, sc, g.Kind, g.ID, []int64{u.ID})
				return err
			}), map[string]int{"ok": racers})
			added := 0
			for _, e := range eventsOf(t, s, roster.EventWorkGroupMemberAdded, u.ID) {
				if e.After["group_id"] == float64(g.ID) {
					added++
				}
			}
			if added != 1 {
				t.Errorf("%d member_added events, want 1", added)
			}
			wantTally(t, "delete work group", parallel(func(int) error {
				return s.DeleteWorkGroup(ctx, sc, g.Kind, g.ID)
			}), map[string]int{"ok": 1, roster.ENOTFOUND: racers - 1})

			tag := &roster.ClientTag{CompanyID: f.co.ID, Name: fmt.Sprint("Tag ", r)}
			must(t, s.CreateClientTag(ctx, tag))
			name := fmt.Sprint("Client ", r)
			cl, err := s.CreateClient(ctx, f.co.ID, roster.ClientInput{Name: &name, TagIDs: &[]int64{tag.ID}})
			must(t, err)
			wantTally(t, "update client", parallel(func(i int) error {
				name := fmt.Sprint("Client ", r, "-", i)
				_, err := s.UpdateClient(ctx, sc, nil, cl.ID, roster.ClientInput{Name: &name, TagIDs: &[]int64{tag.ID}})
				return err
			}), map[string]int{"ok": racers})
			wantTally(t, "delete client", parallel(func(int) error {
				return s.DeleteClient(ctx, sc, nil, cl.ID)
			}), map[string]int{"ok": 1, roster.ENOTFOUND: racers - 1})
			wantTally(t, "delete client tag", parallel(func(int) error {
				return s.DeleteClientTag(ctx, sc, tag.ID)
			}), map[string]int{"ok": 1, roster.ENOTFOUND: racers - 1})

			var mu sync.Mutex
			recorded := 0
			wantTally(t, "record call", parallel(func(int) error {
				ok, err := s.RecordCall(ctx, &roster.Call{CompanyID: f.co.ID, CallID: fmt.Sprint("call-", r), UserID: u.ID, DurationSeconds: 5})
				if ok {
					mu.Lock()
					recorded++
					mu.Unlock()
				}
				return err
			}), map[string]int{"ok": racers})
			if recorded != 1 {
				t.Errorf("call recorded %d times", recorded)
			}
		}
		for _, typ := range []string{roster.EventWorkGroupDeleted, roster.EventClientDeleted, roster.EventClientTagDeleted} {
			if n := len(eventsOf(t, s, typ, 0)); n != rounds {
				t.Errorf("%d %s events, want %d", n, typ, rounds)
			}
		}

		op := operators(t, f, 100)[0]
		for range rounds {
			d, err := s.AssignDialogue(f.ctx, f.co.ID, "")
			must(t, err)
			wantTally(t, "close dialogue", parallel(func(int) error {
				_, err := s.CloseDialogue(ctx, sc, d.ID)
				return err
			}), map[string]int{"ok": 1, roster.ECONFLICT: racers - 1})
			got, err := s.UserByID(f.ctx, all, op.ID)
			must(t, err)
			if got.ActiveDialogues != 0 {
				t.Errorf("operator has %d active dialogues, want 0", got.ActiveDialogues)
			}
		}
	})
}

func TestRaceRolesAndCompanies(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		ctx := f.actor(f.user(f.co.ID, "Ada", "Admin", roster.RoleCompanyAdmin))
		perms := [][]roster.Permission{{roster.PermUsersView}, {roster.PermUsersView, roster.PermUsersEdit}, {roster.PermUsersEdit}}
		for r := range rounds {
			role := &roster.Role{CompanyID: &f.co.ID, Name: fmt.Sprint("Racer ", r), Permissions: perms[0]}
			must(t, s.CreateRole(ctx, role))
			wantTally(t, "update role", parallel(func(i int) error {
				_, err := s.UpdateRole(ctx, all, role.ID, roster.RoleUpdate{Permissions: &perms[i%len(perms)]})
				return err
			}), map[string]int{"ok": racers})
			got, err := s.RoleByID(f.ctx, all, role.ID)
			must(t, err)
			var updates []*roster.Event
			for _, e := range eventsOf(t, s, roster.EventRoleUpdated, 0) {
				if e.TargetRoleID != nil && *e.TargetRoleID == role.ID {
					updates = append(updates, e)
				}
			}
			wantChain(t, "permissions", updates, "permissions", []any{string(roster.PermUsersView)}, got.Permissions)

			holder := f.user(f.co.ID, "Hol", "Der", roster.RoleEmployee)
			_, err = s.SetUserRoles(ctx, all, holder.ID, []int64{f.roles[roster.RoleEmployee].ID, role.ID})
			must(t, err)
			wantTally(t, "delete role", parallel(func(int) error {
				return s.DeleteRole(ctx, all, role.ID, true)
			}), map[string]int{"ok": 1, roster.ENOTFOUND: racers - 1})
		}
		if n := len(eventsOf(t, s, roster.EventRoleDeleted, 0)); n != rounds {
			t.Errorf("%d role.deleted events, want %d", n, rounds)
		}

		// Settings changed at once, each a different one: none is lost.
		for r := range rounds {
			ttl, minLen, idle := 10+r, 13+r, 600+r
			wantTally(t, "company settings", parallel(func(i int) error {
				var upd roster.CompanySettingsUpdate
				switch i % 3 {
				case 0:
					upd.InvitationTTLHours = &ttl
				case 1:
					upd.PasswordMinLength = &minLen
				default:
					upd.IdleTimeoutSeconds = &idle
				}
				_, err := s.UpdateCompanySettings(ctx, all, f.co.ID, upd)
				return err
			}), map[string]int{"ok": racers})
			cs, err := s.CompanySettings(f.ctx, all, f.co.ID)
			must(t, err)
			if cs.InvitationTTLHours != ttl || cs.PasswordMinLength != minLen || cs.IdleTimeoutSeconds != idle {
				t.Errorf("settings %+v, want %d, %d, %d", cs, ttl, minLen, idle)
			}
			wantTally(t, "rename company", parallel(func(i int) error {
				_, err := s.RenameCompany(ctx, all, f.co.ID, fmt.Sprint("Acme ", r, "-", i%3))
				return err
			}), map[string]int{"ok": racers})
		}
		co, err := s.CompanyByID(f.ctx, all, f.co.ID)
		must(t, err)
		wantChain(t, "company name", eventsOf(t, s, roster.EventCompanyUpdated, 0), "name", "Acme", co.Name)
	})
}

// TestRaceBulk: bulk actions on overlapping users in different orders,
// with single changes among them, never deadlock or fail; each user's
// events follow one another.
func TestRaceBulk(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		ctx := adminCtx(f)
		var ids []int64
		for i := range 6 {
			ids = append(ids, f.user(f.co.ID, fmt.Sprint("Bulk", i), "User", roster.RoleEmployee, roster.RoleDispatcher).ID)
		}
		mgr := f.roles[roster.RoleManager].ID
		for r := range rounds {
			errs := parallel(func(i int) error {
				set := slices.Clone(ids[i%3 : i%3+4])
				if i%2 == 1 {
					slices.Reverse(set)
				}
				var err error
				switch (i + r) % 6 {
				case 0:
					_, err = s.BulkUsers(ctx, all, roster.BulkAction{Action: roster.BulkBlock, UserIDs: set, Comment: "race"})
				case 1:
					_, err = s.BulkUsers(ctx, all, roster.BulkAction{Action: roster.BulkUnblock, UserIDs: set, Comment: "race"})
				case 2:
					_, err = s.BulkUsers(ctx, all, roster.BulkAction{Action: roster.BulkAddRole, UserIDs: set, RoleID: mgr})
				case 3:
					_, err = s.BulkUsers(ctx, all, roster.BulkAction{Action: roster.BulkRemoveRole, UserIDs: set, RoleID: mgr})
				case 4:
					_, err = s.BlockUser(ctx, all, set[0], "race")
				default:
					_, err = s.SetUserRoles(ctx, all, set[0], []int64{f.roles[roster.RoleEmployee].ID, mgr})
				}
				return err
			})
			for _, err := range errs {
				if err != nil {
					t.Errorf("bulk: %v", err)
				}
			}
		}
		for _, id := range ids {
			got, err := s.UserByID(f.ctx, all, id)
			must(t, err)
			var status []*roster.Event
			for _, e := range eventsOf(t, s, "", id) {
				if e.Type == roster.EventUserBlocked || e.Type == roster.EventUserUnblocked {
					status = append(status, e)
				}
			}
			wantChain(t, fmt.Sprint("user ", id, " status"), status, "status", roster.StatusActive, got.Status)
			var keys []any
			for _, k := range got.Roles {
				keys = append(keys, k.Key)
			}
			wantChain(t, fmt.Sprint("user ", id, " roles"), eventsOf(t, s, roster.EventUserRolesChanged, id), "roles",
				[]any{roster.RoleDispatcher, roster.RoleEmployee}, keys)
		}
	})
}
