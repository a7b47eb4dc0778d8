package sqlstore_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestConcurrentFailuresAllCount: failed sign-ins racing on the same
// account and address (as on several instances) are each counted, on the
// pair and on the account; the lock of the address comes at the tenth, and
// the account's budget across addresses is not reached. An unlock clears
// every counter.
func TestConcurrentFailuresAllCount(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		u := f.user(f.co.ID, "Ann", "Lee", roster.RoleEmployee)
		key := roster.LoginKey(u.Username())
		const addr = "198.51.100.1"
		var wg sync.WaitGroup
		for range 12 {
			wg.Go(func() {
				if _, err := s.RecordLoginFailure(f.ctx, roster.FailedLogin{Key: key, UserID: u.ID, Address: addr, Reason: "wrong_password"}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		got, err := s.UserByID(f.ctx, all, u.ID)
		must(t, err)
		if got.FailedLogins != 12 || got.LockedUntil != nil {
			t.Fatalf("account failures %d, locked until %v", got.FailedLogins, got.LockedUntil)
		}
		wait, err := s.LoginWait(f.ctx, key, addr)
		must(t, err)
		if wait.Scope != roster.ScopePair || wait.Wait < 29*time.Minute {
			t.Fatalf("wait of the failing address: %+v", wait)
		}
		if other, err := s.LoginWait(f.ctx, key, "198.51.100.2"); err != nil || other.Wait != 0 {
			t.Fatalf("another address waits: %+v %v", other, err)
		}
		unlocked, err := s.UnlockUser(f.ctx, all, u.ID)
		must(t, err)
		if unlocked.LockedUntil != nil || unlocked.FailedLogins != 0 {
			t.Fatalf("after unlock: %+v", unlocked)
		}
		if wait, err := s.LoginWait(f.ctx, key, addr); err != nil || wait.Wait != 0 {
			t.Fatalf("after unlock the address still waits: %+v %v", wait, err)
		}
	})
}

// TestMailSlotsRace: parallel self-service e-mails to one account pass the
// limit once.
func TestMailSlotsRace(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		u := f.user(f.co.ID, "Cy", "Ng", roster.RoleEmployee)
		var mu sync.Mutex
		var wg sync.WaitGroup
		sent := 0
		for i := range 10 {
			wg.Go(func() {
				hash := []byte(fmt.Sprintf("reset-hash-%02d-0123456789abcdef", i))
				ok, err := s.SelfServiceMail(f.ctx, roster.SelfServiceMail{Kind: roster.MailReset, Key: roster.LoginKey(u.Username()),
					UserID: u.ID, Hash: hash, Expiry: c.Now().Add(time.Hour)})
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					sent++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if sent != 1 {
			t.Fatalf("%d e-mails passed the limit, want 1", sent)
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
