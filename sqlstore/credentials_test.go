package sqlstore_test

import (
	"sync"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestConcurrentFailuresAllCount: failed sign-ins racing on the same
// account (as on several instances) are each counted, and the lock comes
// at the tenth.
func TestConcurrentFailuresAllCount(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		u := f.user(f.co.ID, "Ann", "Lee", roster.RoleEmployee)
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() {
				if _, err := s.RecordLoginFailure(f.ctx, u.ID, "198.51.100."+string(rune('1'+i%3)), "wrong_password"); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		got, err := s.UserByID(f.ctx, all, u.ID)
		must(t, err)
		if got.FailedLogins != 12 || got.LockedUntil == nil || !got.LockedUntil.After(c.Now().Add(29*time.Minute)) {
			t.Fatalf("failures %d, locked until %v", got.FailedLogins, got.LockedUntil)
		}
		unlocked, err := s.UnlockUser(f.ctx, all, u.ID)
		must(t, err)
		if unlocked.LockedUntil != nil || unlocked.FailedLogins != 0 {
			t.Fatalf("after unlock: %+v", unlocked)
		}
	})
}

// TestSingleUseFactors: a TOTP step and a recovery code are each accepted
// once even when requests race.
func TestSingleUseFactors(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		u := f.user(f.co.ID, "Bo", "Kim", roster.RoleEmployee)
		must(t, s.SetPendingTOTP(f.ctx, u.ID, "sealed-secret"))
		hash := []byte("0123456789abcdef0123456789abcdef")
		must(t, s.ConfirmTOTP(f.ctx, u.ID, 100, [][]byte{hash}))
		race := func(fn func() (bool, error)) int {
			var mu sync.Mutex
			var wg sync.WaitGroup
			wins := 0
			for range 8 {
				wg.Go(func() {
					ok, err := fn()
					if err != nil {
						t.Error(err)
					}
					if ok {
						mu.Lock()
						wins++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			return wins
		}
		if n := race(func() (bool, error) { return s.UseTOTPStep(f.ctx, u.ID, 101) }); n != 1 {
			t.Errorf("step 101 accepted %d times", n)
		}
		if ok, _ := s.UseTOTPStep(f.ctx, u.ID, 100); ok {
			t.Error("an older step was accepted")
		}
		if n := race(func() (bool, error) { return s.UseRecoveryCode(f.ctx, u.ID, hash) }); n != 1 {
			t.Errorf("recovery code accepted %d times", n)
		}
		got, err := s.UserByID(f.ctx, all, u.ID)
		must(t, err)
		if got.MFAMethod != roster.MFATOTP || got.TOTPSecret != "sealed-secret" || got.TOTPLastStep != 101 {
			t.Fatalf("user %+v", got)
		}
	})
}

// TestInvitationAcceptedOnce: a registration token works once and not
// after it expired.
func TestInvitationAcceptedOnce(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		invite := func(email string, hash []byte) {
			u := &roster.User{CompanyID: f.co.ID, AuthMethod: roster.AuthEmail, Email: email}
			must(t, s.CreateUser(f.ctx, u, []int64{f.roles[roster.RoleEmployee].ID}, hash, c.Now().Add(8*time.Hour)))
		}
		h1, h2 := []byte("hash-one-hash-one-hash-one-hash1"), []byte("hash-two-hash-two-hash-two-hash2")
		invite("one@acme.example", h1)
		invite("two@acme.example", h2)
		u, err := s.AcceptInvitation(f.ctx, h1, "pw", "One", "Person")
		must(t, err)
		if u.Status != roster.StatusActive || !u.NameSetBySelf || u.FirstName != "One" {
			t.Fatalf("accepted %+v", u)
		}
		_, err = s.AcceptInvitation(f.ctx, h1, "pw", "One", "Person")
		wantCode(t, err, roster.ENOTFOUND)
		page, err := s.Users(f.ctx, all, roster.UserFilter{Invitation: roster.InvitationAccepted, Limit: 10})
		must(t, err)
		if len(page.Items) != 1 || page.Items[0].ID != u.ID {
			t.Errorf("accepted filter: %d users", len(page.Items))
		}
		c.Advance(8*time.Hour + time.Second)
		_, err = s.AcceptInvitation(f.ctx, h2, "pw", "Two", "Person")
		wantCode(t, err, roster.EINVALID)
	})
}
