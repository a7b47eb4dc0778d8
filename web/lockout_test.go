package web_test

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/mail"
)

// Tests of issue 11, findings 6–9: a lockout that cannot be turned against
// users, answers that leak nothing, a mailbox that cannot be flooded and one
// rate-limited path for every password check.

var unlockRE = regexp.MustCompile(`/unlock/([A-Za-z0-9_-]{43})`)

// loginFrom signs in from a client address.
func (e *env) loginFrom(addr, username, password string) response {
	e.t.Helper()
	return e.doFrom(addr+":4000", "", "POST", "/api/v1/auth/login", "", loginBody(username, password))
}

// failPatiently makes n counted failed sign-ins from addr, waiting out
// every 429 like a patient attacker.
func (e *env) failPatiently(addr, username string, n int) {
	e.t.Helper()
	for counted := 0; counted < n; {
		r := e.loginFrom(addr, username, "a wrong guess")
		switch r.Status {
		case 401:
			counted++
		case 429:
			secs, _ := strconv.Atoi(r.Header.Get("Retry-After"))
			e.clock.Advance(time.Duration(secs) * time.Second)
		default:
			e.t.Fatalf("failure %d from %s: %d %s", counted+1, addr, r.Status, r.Body)
		}
	}
}

// failAcross makes n failed sign-ins spread over fresh addresses, few from
// each so that no address is delayed.
func (e *env) failAcross(username string, n int) {
	e.t.Helper()
	base := e.seq.Add(1) % 250
	for i := range n {
		addr := fmt.Sprintf("10.%d.%d.%d", base, i/4/250, i/4%250)
		if r := e.loginFrom(addr, username, "a wrong guess"); r.Status != 401 {
			e.t.Fatalf("failure %d of %d: %d %s", i+1, n, r.Status, r.Body)
		}
	}
}

// eventTypes lists the types of a user's events, newest first.
func (e *env) eventTypes(userID int64) []string {
	e.t.Helper()
	var page struct {
		Items []roster.Event `json:"items"`
	}
	e.expect("GET", path("/api/v1/events?user_id=%d&limit=200", userID), e.token("root"), nil, 200).JSON(e.t, &page)
	var out []string
	for _, ev := range page.Items {
		out = append(out, ev.Type)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestStrangerCannotLockOwnerOut (finding 6): a stranger's patient wrong
// guesses from one address lock that address out of the account, never
// the owner signing in from another.
func TestStrangerCannotLockOwnerOut(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		const stranger, owner = "198.51.100.7", "203.0.113.9"
		e.failPatiently(stranger, "emp", roster.LoginLockAt+2)
		r := e.loginFrom(stranger, "emp", testPassword)
		if secs, _ := strconv.Atoi(r.Header.Get("Retry-After")); r.Status != 429 || secs < int(roster.LoginLockDuration/time.Second) {
			t.Fatalf("the stranger's address after %d failures: %d, Retry-After %q", roster.LoginLockAt+2, r.Status, r.Header.Get("Retry-After"))
		}
		if r := e.loginFrom(owner, "emp", testPassword); r.Status != 200 {
			t.Fatalf("the owner from another address: %d %s", r.Status, r.Body)
		}
		// Still locked for the stranger after the owner's sign-in.
		if r := e.loginFrom(stranger, "emp", testPassword); r.Status != 429 {
			t.Fatalf("the owner's sign-in unlocked the stranger: %d", r.Status)
		}
		if types := e.eventTypes(e.users["emp"].ID); !contains(types, roster.EventUserAddressLocked) || contains(types, roster.EventUserLocked) {
			t.Errorf("events: %v", types)
		}
	})
}

// TestAccountBudgetAcrossAddresses (finding 6): failures from many
// addresses add up; the account is locked everywhere at the budget, the
// owner is e-mailed a single-use unlock link, and the link works once and
// expires.
func TestAccountBudgetAcrossAddresses(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		rec := &mail.Recorder{}
		wk := credEnv(t, e, rec)
		u := e.emailUser(roster.StatusActive)

		e.failAcross(u.Email, roster.AccountMaxFailures-1)
		if r := e.loginFrom("203.0.113.1", u.Email, testPassword); r.Status != 200 {
			t.Fatalf("below the budget: %d %s", r.Status, r.Body)
		}
		// The sign-in started the count again: a whole budget is needed.
		e.failAcross(u.Email, roster.AccountMaxFailures)
		r := e.loginFrom("203.0.113.2", u.Email, testPassword)
		if secs, _ := strconv.Atoi(r.Header.Get("Retry-After")); r.Status != 429 || secs != int(roster.AccountLockDuration/time.Second) {
			t.Fatalf("at the budget, from a fresh address: %d, Retry-After %q: %s", r.Status, r.Header.Get("Retry-After"), r.Body)
		}
		var got roster.User
		e.expect("GET", path("/api/v1/users/%d", u.ID), e.token("admin"), nil, 200).JSON(t, &got)
		if got.LockedUntil == nil {
			t.Error("the lock is not shown on the user")
		}
		if types := e.eventTypes(u.ID); !contains(types, roster.EventUserLocked) {
			t.Errorf("no user.locked event: %v", types)
		}
		deliver(t, wk)
		last, ok := rec.Last(u.Email)
		m := unlockRE.FindStringSubmatch(last.Text)
		if !ok || m == nil || !strings.Contains(last.Text, "https://roster.example/unlock/") {
			t.Fatalf("no unlock link e-mailed: %+v", last)
		}
		e.expect("POST", "/api/v1/auth/unlock/"+m[1], "", nil, 200)
		if r := e.loginFrom("203.0.113.3", u.Email, testPassword); r.Status != 200 {
			t.Fatalf("after the unlock link: %d %s", r.Status, r.Body)
		}
		e.expect("POST", "/api/v1/auth/unlock/"+m[1], "", nil, 404) // used
		if types := e.eventTypes(u.ID); !contains(types, roster.EventUserUnlocked) {
			t.Errorf("no user.unlocked event: %v", types)
		}

		t.Run("AskedForLinkExpires", func(t *testing.T) {
			e.t = t
			e.clock.Advance(roster.MailInterval)
			before := len(rec.Messages())
			e.expect("POST", "/api/v1/auth/unlock", "", map[string]string{"username": strings.ToUpper(u.Email)}, 202)
			deliver(t, wk)
			if len(rec.Messages()) != before+1 {
				t.Fatalf("asked-for link: %d new e-mails", len(rec.Messages())-before)
			}
			last, _ := rec.Last(u.Email)
			m := unlockRE.FindStringSubmatch(last.Text)
			e.clock.Advance(roster.UnlockLinkTTL + time.Second)
			e.expect("POST", "/api/v1/auth/unlock/"+m[1], "", nil, 404)
		})
		t.Run("SameAnswerForNobody", func(t *testing.T) {
			e.t = t
			a := e.expect("POST", "/api/v1/auth/unlock", "", map[string]string{"username": u.Email}, 202)
			b := e.expect("POST", "/api/v1/auth/unlock", "", map[string]string{"username": "ghost@acme.example"}, 202)
			if !bytes.Equal(withoutRequestID(a.Body), withoutRequestID(b.Body)) {
				t.Fatalf("answers differ: %s / %s", a.Body, b.Body)
			}
		})
	})
}

// answer is what a client can see of a sign-in answer.
type answer struct {
	Status     int
	RetryAfter string
	Body       string
}

// TestUnknownNamesAnswerLikeAccounts (finding 7): the same pattern of
// failures gives the same sequence of answers — statuses, Retry-After and
// bodies — for an account, a name that belongs to nobody, a blocked user
// and a user whose allowlist excludes the address (with the right password).
func TestUnknownNamesAnswerLikeAccounts(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		blocked := e.victim()
		e.expect("POST", path("/api/v1/users/%d/block", blocked.ID), e.token("admin"), map[string]string{"comment": "gone"}, 200)
		fenced := e.victim()
		e.expect("PATCH", path("/api/v1/users/%d", fenced.ID), e.token("admin"), map[string]any{"ip_allowlist": []string{"203.0.113.0/24"}}, 200)
		cases := []struct{ name, username, password string }{
			{"Account", "emp", "a wrong guess"},
			{"Nobody", "ghost@acme.example", "a wrong guess"},
			{"Blocked", blocked.Login, testPassword},
			{"OutsideAllowlist", fenced.Login, testPassword},
		}
		// Seven fast attempts, a pause of 20 s, seven more, a pause past
		// the lock, one more.
		pattern := []time.Duration{0, 0, 0, 0, 0, 0, 0, 20 * time.Second, 0, 0, 0, 0, 0, 0, 0, 2 * time.Hour, 0}
		seqs := map[string][]answer{}
		for i, c := range cases {
			addr := fmt.Sprintf("198.51.100.%d", 20+i)
			for _, pause := range pattern {
				e.clock.Advance(pause)
				r := e.loginFrom(addr, c.username, c.password)
				seqs[c.name] = append(seqs[c.name], answer{r.Status, r.Header.Get("Retry-After"), string(withoutRequestID(r.Body))})
			}
		}
		want := seqs["Account"]
		if want[5].Status != 429 {
			t.Fatalf("the account was not delayed: %v", want)
		}
		for _, c := range cases[1:] {
			got := seqs[c.name]
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("%s answer %d: %+v, the account's was %+v", c.name, i+1, got[i], want[i])
				}
			}
		}
	})
}

// TestAllowlistRefusalAnswersAlike (finding 7): outside the allowlist the
// right and the wrong password get the same answer, as does a name that
// belongs to nobody.
func TestAllowlistRefusalAnswersAlike(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		emp := e.users["emp"]
		e.expect("PATCH", path("/api/v1/users/%d", emp.ID), e.token("admin"), map[string]any{"ip_allowlist": []string{"203.0.113.0/24"}}, 200)
		right := e.loginFrom("192.0.2.77", "emp", testPassword)
		wrong := e.loginFrom("192.0.2.78", "emp", "a wrong guess")
		nobody := e.loginFrom("192.0.2.79", "ghost@acme.example", testPassword)
		for name, r := range map[string]response{"right password": right, "nobody": nobody} {
			if r.Status != wrong.Status || !bytes.Equal(withoutRequestID(r.Body), withoutRequestID(wrong.Body)) {
				t.Errorf("%s: %d %s; a wrong password: %d %s", name, r.Status, r.Body, wrong.Status, wrong.Body)
			}
		}
		if right.Status != 401 {
			t.Errorf("outside the allowlist: %d", right.Status)
		}
		if r := e.loginFrom("203.0.113.4", "emp", testPassword); r.Status != 200 {
			t.Fatalf("inside the allowlist: %d %s", r.Status, r.Body)
		}
		if types := e.eventTypes(emp.ID); !contains(types, roster.EventSignInRefusedByAddr) {
			t.Errorf("no %s event: %v", roster.EventSignInRefusedByAddr, types)
		}
	})
}

// TestForgotPasswordMailLimit (finding 8): 25 requests send one e-mail,
// all answered alike; then one every 5 minutes, at most 3 an hour.
func TestForgotPasswordMailLimit(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		rec := &mail.Recorder{}
		wk := credEnv(t, e, rec)
		u := e.emailUser(roster.StatusActive)
		ask := func() response {
			t.Helper()
			return e.expect("POST", "/api/v1/auth/forgot-password", "", map[string]string{"email": u.Email}, 202)
		}
		sent := func() int {
			t.Helper()
			deliver(t, wk)
			n := 0
			for _, m := range rec.Messages() {
				if m.To == u.Email && resetRE.MatchString(m.Text) {
					n++
				}
			}
			return n
		}
		first := ask()
		for range 24 {
			if r := ask(); !bytes.Equal(withoutRequestID(r.Body), withoutRequestID(first.Body)) {
				t.Fatalf("answers differ: %s / %s", r.Body, first.Body)
			}
		}
		if n := sent(); n != 1 {
			t.Fatalf("25 requests sent %d e-mails, want 1", n)
		}
		// The link of that e-mail still works: held-back requests changed nothing.
		last, _ := rec.Last(u.Email)
		token := resetRE.FindStringSubmatch(last.Text)[1]
		for _, want := range []int{2, 3, 3} {
			e.clock.Advance(roster.MailInterval)
			ask()
			if n := sent(); n != want {
				t.Fatalf("after another %v: %d e-mails, want %d", roster.MailInterval, n, want)
			}
		}
		e.clock.Advance(time.Hour)
		ask()
		if n := sent(); n != 4 {
			t.Fatalf("an hour later: %d e-mails, want 4", n)
		}
		last, _ = rec.Last(u.Email)
		e.expect("POST", "/api/v1/auth/password-reset", "", map[string]string{"token": token, "new_password": "a replaced private phrase"}, 404)
		token = resetRE.FindStringSubmatch(last.Text)[1]
		e.expect("POST", "/api/v1/auth/password-reset", "", map[string]string{"token": token, "new_password": "a brand new private phrase"}, 200)
	})
}

// TestReauthenticationHonoursLock (finding 9): wrong current passwords
// count like failed sign-ins, and while the account must wait the right
// one changes nothing, on every endpoint that checks it.
func TestReauthenticationHonoursLock(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		tok := e.token("emp")
		change := func(current string) response {
			return e.do("POST", "/api/v1/me/password", tok, map[string]string{"current_password": current, "new_password": "a new private phrase"})
		}
		var statuses []int
		for range 12 {
			statuses = append(statuses, change("a wrong guess").Status)
		}
		if fmt.Sprint(statuses) != "[422 422 422 422 422 429 429 429 429 429 429 429]" {
			t.Errorf("wrong current passwords: %v", statuses)
		}
		r := change(testPassword)
		if r.Status != 429 || r.Header.Get("Retry-After") == "" {
			t.Fatalf("the right password while the account waits: %d %s", r.Status, r.Body)
		}
		e.expect("POST", "/api/v1/me/2fa/totp", tok, map[string]string{"current_password": testPassword}, 429)
		e.expect("PUT", "/api/v1/me/2fa", tok, map[string]string{"method": "none", "current_password": testPassword}, 429)
		// The password did not change, and other addresses are not held up.
		if r := e.loginFrom("203.0.113.5", "emp", "a new private phrase"); r.Status != 401 {
			t.Fatalf("the new password works: %d", r.Status)
		}
		if r := e.loginFrom("203.0.113.5", "emp", testPassword); r.Status != 200 {
			t.Fatalf("the old password from another address: %d %s", r.Status, r.Body)
		}
		// Patient guessing locks it for this address for 30 minutes.
		for counted := 5; counted < roster.LoginLockAt; {
			r := change("a wrong guess")
			if r.Status == 429 {
				secs, _ := strconv.Atoi(r.Header.Get("Retry-After"))
				e.clock.Advance(time.Duration(secs) * time.Second)
				continue
			}
			counted++
		}
		if r := change(testPassword); r.Status != 429 || r.Header.Get("Retry-After") != "1800" {
			t.Fatalf("locked: %d, Retry-After %q", r.Status, r.Header.Get("Retry-After"))
		}
		e.clock.Advance(roster.LoginLockDuration)
		tok = e.token("emp") // the old session's idle timeout passed meanwhile
		e.expect("POST", "/api/v1/me/password", tok, map[string]string{"current_password": testPassword, "new_password": "a new private phrase"}, 204)
	})
}

// TestParallelFailuresAndRequests: failures racing from 20 addresses at
// once all count, exactly reaching the account's budget, and 20 parallel
// forgot-password requests send one e-mail; no request fails.
func TestParallelFailuresAndRequests(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		rec := &mail.Recorder{}
		wk := credEnv(t, e, rec)
		for round := range 2 {
			u := e.emailUser(roster.StatusActive)
			per := roster.AccountMaxFailures / 20
			statuses := make(chan int, roster.AccountMaxFailures)
			var wg sync.WaitGroup
			for a := range 20 {
				wg.Go(func() {
					for range per {
						statuses <- e.loginFrom(fmt.Sprintf("10.9.%d.%d", round, a), u.Email, "a wrong guess").Status
					}
				})
			}
			wg.Wait()
			close(statuses)
			for st := range statuses {
				if st != 401 {
					t.Fatalf("round %d: a failure answered %d", round, st)
				}
			}
			if r := e.loginFrom("203.0.113.30", u.Email, testPassword); r.Status != 429 {
				t.Fatalf("round %d: after %d parallel failures: %d", round, roster.AccountMaxFailures, r.Status)
			}
			var got roster.User
			e.expect("GET", path("/api/v1/users/%d", u.ID), e.token("admin"), nil, 200).JSON(t, &got)
			if got.LockedUntil == nil {
				t.Fatalf("round %d: not locked", round)
			}

			var forgot sync.WaitGroup
			for range 20 {
				forgot.Go(func() {
					if r := e.do("POST", "/api/v1/auth/forgot-password", "", map[string]string{"email": u.Email}); r.Status != 202 {
						t.Errorf("forgot-password: %d %s", r.Status, r.Body)
					}
				})
			}
			forgot.Wait()
			deliver(t, wk)
			n := 0
			for _, m := range rec.Messages() {
				if m.To == u.Email && resetRE.MatchString(m.Text) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("round %d: 20 parallel requests sent %d reset e-mails", round, n)
			}
		}
	})
}

// requestIDField is the problem's request_id, which differs on every
// answer and tells nothing about the account.
var requestIDField = regexp.MustCompile(`,"request_id":"[^"]*"`)

// withoutRequestID drops the request_id from a problem body, for comparing
// answers that must be alike.
func withoutRequestID(b []byte) []byte { return requestIDField.ReplaceAll(b, nil) }
