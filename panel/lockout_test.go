package panel

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// Panel tests of issue 11, findings 6–9: the sign-in form, "Forgot
// password", the profile's password change and the unlock pages.

// postFrom posts a form from a client address.
func (c *client) postFrom(addr, path string, form url.Values) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = addr + ":4000"
	return c.do(req)
}

// signInFrom posts the sign-in form from a client address.
func (f *fixture) signInFrom(addr, username, password string) *httptest.ResponseRecorder {
	return f.client().postFrom(addr, "/signin", url.Values{"username": {username}, "password": {password}})
}

var signinErrorRE = regexp.MustCompile(`id="signin-error">([^<]*)<`)

// seen is what a person sees of a sign-in answer.
type seen struct {
	Status     int
	RetryAfter string
	Error      string
}

func seenOf(rec *httptest.ResponseRecorder) seen {
	s := seen{Status: rec.Code, RetryAfter: rec.Header().Get("Retry-After")}
	if m := signinErrorRE.FindStringSubmatch(rec.Body.String()); m != nil {
		s.Error = m[1]
	}
	return s
}

// waitOut advances the clock by a 429's Retry-After.
func (f *fixture) waitOut(rec *httptest.ResponseRecorder) {
	secs, _ := strconv.Atoi(rec.Header().Get("Retry-After"))
	f.clock.Advance(time.Duration(secs) * time.Second)
}

// TestPanelStrangerCannotLockOwnerOut (finding 6): a stranger's wrong
// passwords lock the stranger's address out of Olga's account; Olga signs
// in from hers.
func TestPanelStrangerCannotLockOwnerOut(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		const stranger, owner = "198.51.100.7", "203.0.113.9"
		// A patient stranger waits out each delay until the address is locked.
		for tries := 0; ; tries++ {
			rec := f.signInFrom(stranger, "olga@northwind.test", "a-wrong-guess")
			if tries > 3*roster.LoginLockAt || (rec.Code != http.StatusUnauthorized && rec.Code != http.StatusTooManyRequests) {
				t.Fatalf("try %d: %d", tries+1, rec.Code)
			}
			if secs, _ := strconv.Atoi(rec.Header().Get("Retry-After")); secs >= 60 {
				break // locked
			}
			f.waitOut(rec)
		}
		if rec := f.signInFrom(stranger, "olga@northwind.test", testPassword); rec.Code != http.StatusTooManyRequests {
			t.Fatalf("the stranger's address: %d", rec.Code)
		}
		if rec := f.signInFrom(owner, "olga@northwind.test", testPassword); rec.Code != http.StatusSeeOther {
			t.Fatalf("the owner from another address: %d %.400s", rec.Code, seenOf(rec).Error)
		}
	})
}

// TestPanelUnknownNamesAnswerLikeAccounts (finding 7): the same pattern of
// failures shows the same statuses, Retry-After and messages for an
// account, an address that belongs to nobody, and (with the right password)
// a user whose allowlist excludes the address.
func TestPanelUnknownNamesAnswerLikeAccounts(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		list := []string{"203.0.113.0/24"}
		if _, err := s.SetUserAccess(context.Background(), roster.Scope{All: true}, f.users["ivan"].ID, roster.AccessUpdate{IPAllowlist: &list}); err != nil {
			t.Fatal(err)
		}
		cases := []struct{ name, username, password string }{
			{"Account", "olga@northwind.test", "a-wrong-guess"},
			{"Nobody", "ghost@northwind.test", "a-wrong-guess"},
			{"OutsideAllowlist", "ivan@northwind.test", testPassword},
		}
		pattern := []time.Duration{0, 0, 0, 0, 0, 0, 0, 20 * time.Second, 0, 0, 0, 0, 0, 0, 0, 2 * time.Hour, 0}
		seqs := map[string][]seen{}
		for i, c := range cases {
			addr := fmt.Sprintf("198.51.100.%d", 30+i)
			for _, pause := range pattern {
				clock.Advance(pause)
				seqs[c.name] = append(seqs[c.name], seenOf(f.signInFrom(addr, c.username, c.password)))
			}
		}
		want := seqs["Account"]
		if want[5].Status != http.StatusTooManyRequests || want[5].Error == "" {
			t.Fatalf("the account was not delayed: %+v", want)
		}
		for _, c := range cases[1:] {
			for i, got := range seqs[c.name] {
				if got != want[i] {
					t.Errorf("%s answer %d: %+v, the account's was %+v", c.name, i+1, got, want[i])
				}
			}
		}
	})
}

// TestPanelForgotPasswordMailLimit (finding 8): 25 requests, one e-mail,
// the same page each time.
func TestPanelForgotPasswordMailLimit(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		c := f.client()
		for i := range 25 {
			rec := c.post("/password/forgot", url.Values{"email": {"olga@northwind.test"}})
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "If an account uses this e-mail address") {
				t.Fatalf("request %d: %d", i+1, rec.Code)
			}
		}
		n := 0
		for _, l := range f.outboxLinks("olga@northwind.test") {
			if strings.Contains(l, "/password-reset/") {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("25 requests e-mailed %d reset links, want 1", n)
		}
	})
}

// TestPanelPasswordChangeCountsFailures (finding 9): wrong current
// passwords on the profile count like failed sign-ins; while the account
// waits the right one changes nothing; patient guessing locks it.
func TestPanelPasswordChangeCountsFailures(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		c := f.signedIn("olga")
		change := func(current string) *httptest.ResponseRecorder {
			return c.post("/profile/password", url.Values{"current_password": {current},
				"new_password": {"violet-harbor-engine"}, "confirm_password": {"violet-harbor-engine"}})
		}
		var codes []int
		for range 12 {
			codes = append(codes, change("a-wrong-guess").Code)
		}
		if fmt.Sprint(codes) != "[422 422 422 422 422 429 429 429 429 429 429 429]" {
			t.Errorf("wrong current passwords: %v", codes)
		}
		rec := change(testPassword)
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "Too many wrong passwords") {
			t.Fatalf("the right password while the account waits: %d", rec.Code)
		}
		// Nothing changed, and other addresses are not held up.
		if rec := f.signInFrom("203.0.113.5", "olga@northwind.test", testPassword); rec.Code != http.StatusSeeOther {
			t.Fatalf("the old password from another address: %d", rec.Code)
		}
		for counted := 5; counted < roster.LoginLockAt; {
			rec := change("a-wrong-guess")
			if rec.Code == http.StatusTooManyRequests {
				f.waitOut(rec)
				continue
			}
			counted++
		}
		if rec := change(testPassword); rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1800" {
			t.Fatalf("locked: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
		}
		// The lock also holds the sign-in form at this address.
		if rec := f.client().post("/signin", url.Values{"username": {"olga@northwind.test"}, "password": {testPassword}}); rec.Code != http.StatusTooManyRequests {
			t.Fatalf("sign-in from the locked address: %d", rec.Code)
		}
	})
}

// TestPanelUnlockLink (finding 6): failures from many addresses lock the
// account everywhere; the e-mailed link's page unlocks it once; the
// "Unlock my account" page sends a new link, which expires.
func TestPanelUnlockLink(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		const email = "boris@northwind.test"
		for i := range roster.AccountMaxFailures {
			if rec := f.signInFrom(fmt.Sprintf("10.1.%d.%d", i/4/250, i/4%250), email, "a-wrong-guess"); rec.Code != http.StatusUnauthorized && i < roster.AccountMaxFailures-1 {
				t.Fatalf("failure %d: %d", i+1, rec.Code)
			}
		}
		rec := f.signInFrom("203.0.113.7", email, testPassword)
		if b := rec.Body.String(); rec.Code != http.StatusTooManyRequests || !strings.Contains(b, "This account is locked") || !strings.Contains(b, `id="signin-unlock"`) {
			t.Fatalf("locked everywhere: %d %q", rec.Code, seenOf(rec).Error)
		}
		runScenario(t, f, []step{
			{name: "card shows the lock", as: "admin", method: http.MethodGet, path: "/users/{boris}", wantStatus: 200, want: []string{"Sign-in locked after failed attempts until", `action="/users/{boris}/unlock"`}},
		})
		link := f.lastLink(email, "/unlock/")
		c := f.client()
		if rec := c.get(link); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `action="`+link+`"`) {
			t.Fatalf("link page: %d", rec.Code)
		}
		// Opening the link changed nothing; its button does.
		if rec := f.signInFrom("203.0.113.7", email, testPassword); rec.Code != http.StatusTooManyRequests {
			t.Fatalf("opening the link unlocked: %d", rec.Code)
		}
		if rec := c.post(link, nil); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/signin" {
			t.Fatalf("unlock: %d", rec.Code)
		}
		if rec := c.get("/signin"); !strings.Contains(rec.Body.String(), "Your account is unlocked") {
			t.Fatal("no flash after the unlock")
		}
		if rec := f.signInFrom("203.0.113.7", email, testPassword); rec.Code != http.StatusSeeOther {
			t.Fatalf("after the unlock: %d %q", rec.Code, seenOf(rec).Error)
		}
		if rec := c.post(link, nil); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "This unlock link does not work") {
			t.Fatalf("used link: %d", rec.Code)
		}

		clock.Advance(roster.MailInterval)
		runScenario(t, f, []step{
			{name: "request page", method: http.MethodGet, path: "/unlock", wantStatus: 200, want: []string{`action="/unlock"`}},
			{name: "request", method: http.MethodPost, path: "/unlock", form: url.Values{"email": {email}}, wantStatus: 200, want: []string{"a link that unlocks it is on its way"}},
			{name: "nobody, same answer", method: http.MethodPost, path: "/unlock", form: url.Values{"email": {"ghost@northwind.test"}}, wantStatus: 200, want: []string{"a link that unlocks it is on its way"}},
			{name: "Russian", method: http.MethodGet, path: "/unlock", header: map[string]string{"Accept-Language": "ru"}, wantStatus: 200, want: []string{"Разблокировка учётной записи"}},
		})
		fresh := f.lastLink(email, "/unlock/")
		if fresh == link {
			t.Fatal("no new link e-mailed")
		}
		clock.Advance(roster.UnlockLinkTTL + time.Second)
		if rec := f.client().post(fresh, nil); rec.Code != http.StatusNotFound {
			t.Fatalf("expired link: %d", rec.Code)
		}
	})
}
