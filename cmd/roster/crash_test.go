package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/outbox"
)

// TestCrashConsistency SIGKILLs the real binary at random moments while
// it runs concurrent writes — a bulk block or unblock of 2,000 users,
// invitations, sign-ins, dialogue assignments — restarts it, and checks
// the invariants after every crash, on both engines: the SQLite file is
// intact; a bulk action is all or nothing; every committed change has its
// event; no blocked user has a live session; a used invitation, reset
// link or TOTP step stays used;
// the job queue resumes and no job's e-mail arrives twice.
func TestCrashConsistency(t *testing.T) {
	bin := rosterBinary(t)
	t.Run("SQLite", func(t *testing.T) {
		dir := t.TempDir()
		crashRounds(t, bin, []string{"--data", dir}, "sqlite", dir+"/roster.db?_pragma=busy_timeout(5000)")
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		url := freshPostgresDatabase(t)
		crashRounds(t, bin, []string{"--database-url", url}, "pgx", url)
	})
}

func crashRounds(t *testing.T, bin string, dbArgs []string, driver, dsn string) {
	const bulkUsers, rounds = 2000, 3
	if code, out, errOut := runRoster(t, bin, append([]string{"dev", "load", "--users", fmt.Sprint(bulkUsers + 400), "--companies", "2",
		"--big", fmt.Sprint(bulkUsers + 300), "--bench-password", rootPassword}, dbArgs...)...); code != 0 {
		t.Fatalf("dev load: %d\n%s%s", code, out, errOut)
	}
	inbox := startInbox(t)
	env := []string{"ROSTER_SMTP_URL=smtp://" + inbox.addr + "?tls=none", "ROSTER_SMTP_FROM=roster@example.com",
		"ROSTER_SECRET_KEY=a crash test master key of 32+ bytes!"}
	db := openDB(t, driver, dsn)
	var company, adminID int64
	if err := db.QueryRow(`SELECT company_id, id FROM users WHERE email = 'bench@bigcorp.example'`).Scan(&company, &adminID); err != nil {
		t.Fatal(err)
	}
	c := newAPI(t)
	p := serve(t, bin, dbArgs, env...)
	admin := c.login(p.base, "bench@bigcorp.example", rootPassword)
	roles := c.roleIDs(p.base, admin, company)
	signerID := c.mkUser(p.base, p.base, admin, company, "signer", roles[roster.RoleEmployee], "a quiet morning shift")
	var ops [2]int64
	for i := range ops {
		ops[i] = c.mkUser(p.base, p.base, admin, company, fmt.Sprint("chatop", i), roles[roster.RoleChatOperator], "headsets and coffee")
		c.want(p.base, "PATCH", fmt.Sprintf("/api/v1/users/%d", ops[i]), admin, map[string]any{"max_dialogues": 3}, 200, nil)
		tok := c.login(p.base, fmt.Sprint("chatop", i), "headsets and coffee")
		c.want(p.base, "PUT", "/api/v1/me/presence", tok, map[string]string{"status": "online"}, 200, nil)
	}
	// The bulk set: the loaded users and the signer, never the admin.
	var bulk []int64
	rows, err := db.Query(`SELECT id FROM users WHERE company_id = $1 AND id <> $2 AND status = 'active' AND email NOT LIKE 'inv-%' AND login NOT LIKE 'chatop%'`, company, adminID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		bulk = append(bulk, id)
	}
	rows.Close()
	if len(bulk) < bulkUsers {
		t.Fatalf("bulk set of %d users", len(bulk))
	}
	bulk = bulk[len(bulk)-bulkUsers:]
	if !contains(bulk, signerID) {
		bulk[0] = signerID
	}

	// Made after the bulk set was chosen, so that no bulk block reaches them.
	used := useFactorsOnce(t, c, p.base, admin, company, roles[roster.RoleEmployee], inbox)

	invited := 0
	var usedTokens []string
	for round := range rounds {
		// Use one invitation that arrived: it must stay used.
		if round > 0 {
			token := inbox.await(t, regexp.MustCompile(`/register/([A-Za-z0-9_-]{43})`))
			c.want(p.base, "POST", "/api/v1/registration/"+token, "", map[string]string{"password": "long calm evening tea", "first_name": "Vera", "last_name": "Lind"}, 200, nil)
			usedTokens = append(usedTokens, token)
		}
		// One invitation acknowledged before the storm, for the next round.
		c.want(p.base, "POST", "/api/v1/users", admin, map[string]any{"auth_method": "email", "email": fmt.Sprintf("inv-%d-pre@mail.example", round),
			"role_ids": []int64{roles[roster.RoleEmployee]}, "company_id": company}, 201, nil)
		invited++
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var created atomic.Int64
		loop := func(f func(i int)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					f(i)
				}
			}()
		}
		base := p.base
		loop(func(i int) {
			action := []string{"block", "unblock"}[i%2]
			c.try(base, "POST", "/api/v1/users/bulk", admin, "", map[string]any{"action": action, "user_ids": bulk, "comment": fmt.Sprint("round ", round)})
		})
		loop(func(i int) {
			st, _, body := c.try(base, "POST", "/api/v1/users", admin, "", map[string]any{"auth_method": "email", "email": fmt.Sprintf("inv-%d-%d@mail.example", round, i),
				"role_ids": []int64{roles[roster.RoleEmployee]}, "company_id": company})
			if st == 201 {
				created.Add(1)
			} else if st != 0 && i < 3 {
				t.Logf("invitation: %d %s", st, body)
			}
		})
		loop(func(i int) {
			c.try(base, "POST", "/api/v1/auth/login", "", "", map[string]string{"username": "signer", "password": "a quiet morning shift"})
		})
		loop(func(i int) {
			st, _, body := c.try(base, "POST", "/api/v1/dialogues", admin, "", map[string]any{"external_id": fmt.Sprint("c", i)})
			if st == 201 && i%3 == 0 {
				var d struct{ ID int64 }
				if json.Unmarshal(body, &d) == nil {
					c.try(base, "POST", fmt.Sprintf("/api/v1/dialogues/%d/close", d.ID), admin, "", nil)
				}
			}
		})
		time.Sleep(time.Duration(400+rand.IntN(1200)) * time.Millisecond)
		p.signal(syscall.SIGKILL)
		<-p.done
		// Read what the crash left through new connections, as the
		// restarted server does. A connection of this process that
		// lived through another process's crash can keep FTS5's cached
		// index structure from before it (its integrity_check then reports
		// "fts5: corruption found reading blob"; a fresh connection on the
		// same file says ok): SQLite's data_version, which FTS5 trusts,
		// does not always change across the WAL recovery. A Roster on
		// SQLite is one process, so its connections never outlive a crash.
		db.Close()
		db = openDB(t, driver, dsn)
		stop()
		c.client.CloseIdleConnections()
		wg.Wait()
		invited += int(created.Load())
		t.Logf("round %d: %d invitations acknowledged before the kill", round, created.Load())

		if driver == "sqlite" {
			var res string
			if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
				t.Fatalf("round %d: integrity_check %q %v", round, res, err)
			}
		}
		checkCrashInvariants(t, db, round, bulk, company)
		p = serve(t, bin, dbArgs, env...)
		admin = c.login(p.base, "bench@bigcorp.example", rootPassword)
		for _, token := range usedTokens {
			c.want(p.base, "POST", "/api/v1/registration/"+token, "", map[string]string{"password": "another password here", "first_name": "X", "last_name": "Y"}, 404, nil)
		}
		used.check(t, c, p.base)
	}
	t.Logf("%d rounds, %d invitations acknowledged", rounds, invited)

	// The queue resumes: every invitation committed is delivered, once.
	// A job whose sending the kill cut short stays leased to the dead
	// process until its lease ends (2 min) and is then sent again.
	var mails int
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting int
		if err := db.QueryRow(`SELECT COUNT(*) FROM jobs WHERE kind = $1 AND state = 'pending'`, outbox.Kind).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d e-mail jobs still waiting after the restart", waiting)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if err := db.QueryRow(`SELECT COUNT(*) FROM jobs WHERE kind = $1`, outbox.Kind).Scan(&mails); err != nil {
		t.Fatal(err)
	}
	var users int
	db.QueryRow(`SELECT COUNT(*) FROM users WHERE email LIKE 'inv-%'`).Scan(&users)
	// Besides the invitations: the reset link user's invitation and link.
	if mails != users+2 || users < invited {
		t.Errorf("%d e-mail jobs for %d invited users and 2 other messages (%d acknowledged)", mails, users, invited)
	}
	var leased int
	db.QueryRow(`SELECT COUNT(*) FROM jobs WHERE kind = $1 AND state = 'running'`, outbox.Kind).Scan(&leased)
	inbox.mu.Lock()
	msgs := append([]string{}, inbox.msgs...)
	inbox.mu.Unlock()
	per := map[string]int{}
	to := regexp.MustCompile(`(?m)^To: .*?(inv-\d+-\w+@mail\.example)`)
	for _, m := range msgs {
		if g := to.FindStringSubmatch(m); g != nil {
			per[g[1]]++
		}
	}
	for addr, n := range per {
		if n > 1 {
			t.Errorf("%s got %d invitations", addr, n)
		}
	}
	// Every invitation arrived (the used ones were taken off the inbox),
	// except those leased to a killed process.
	if got := len(per) + len(usedTokens); got+leased < users {
		t.Errorf("%d invitations arrived (+%d leased to a killed process) of %d", got, leased, users)
	}
}

// checkCrashInvariants checks the database after a SIGKILL.
func checkCrashInvariants(t *testing.T, db *sql.DB, round int, bulk []int64, company int64) {
	t.Helper()
	ids := make([]string, len(bulk))
	for i, id := range bulk {
		ids[i] = fmt.Sprint(id)
	}
	in := "(" + strings.Join(ids, ",") + ")"
	var blocked int
	if err := db.QueryRow(`SELECT COUNT(*) FROM users WHERE status = 'blocked' AND id IN ` + in).Scan(&blocked); err != nil {
		t.Fatal(err)
	}
	if blocked != 0 && blocked != len(bulk) {
		t.Fatalf("round %d: %d of %d users of the bulk set blocked: not all or nothing", round, blocked, len(bulk))
	}
	// Each user's block and unblock events add up to its status.
	var bad int
	if err := db.QueryRow(`SELECT COUNT(*) FROM (SELECT u.id, u.status,
		COALESCE(SUM(CASE WHEN e.type = $1 THEN 1 WHEN e.type = $2 THEN -1 ELSE 0 END), 0) AS net
		FROM users u LEFT JOIN events e ON e.target_user_id = u.id WHERE u.id IN `+in+` GROUP BY u.id, u.status) x
		WHERE (status = 'blocked' AND net <> 1) OR (status <> 'blocked' AND net <> 0)`, roster.EventUserBlocked, roster.EventUserUnblocked).Scan(&bad); err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Fatalf("round %d: %d users whose block events do not match their status", round, bad)
	}
	// Every invited user has its creation event and its one e-mail job.
	var users, created int
	db.QueryRow(`SELECT COUNT(*) FROM users WHERE email LIKE 'inv-%'`).Scan(&users)
	db.QueryRow(`SELECT COUNT(*) FROM events e JOIN users u ON u.id = e.target_user_id WHERE e.type = $1 AND u.email LIKE 'inv-%'`, roster.EventUserCreated).Scan(&created)
	if users != created {
		t.Fatalf("round %d: %d invited users, %d creation events", round, users, created)
	}
	var live int
	db.QueryRow(`SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.status = 'blocked'`).Scan(&live)
	if live != 0 {
		t.Fatalf("round %d: %d sessions of blocked users", round, live)
	}
	var over int
	db.QueryRow(`SELECT COUNT(*) FROM operator_settings o WHERE active_dialogues > max_dialogues OR active_dialogues <>
		(SELECT COUNT(*) FROM dialogues d WHERE d.operator_id = o.user_id AND d.status = $1)`, roster.DialogueOpen).Scan(&over)
	if over != 0 {
		t.Fatalf("round %d: %d operators whose dialogue count is over the maximum or wrong", round, over)
	}
	_ = company
}

func contains(s []int64, v int64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// usedFactors are single-use credentials used before the first crash.
type usedFactors struct {
	resetToken string    // a password-reset link, used
	totpLogin  string    // the login of a user with TOTP
	totpCode   string    // the TOTP code they signed in with
	totpUsedAt time.Time // when
}

// useFactorsOnce makes an e-mail user who uses a password-reset link and
// a login user with TOTP who signs in with a code, before any crash.
func useFactorsOnce(t *testing.T, c *api, base, admin string, company, roleID int64, inbox *inbox) *usedFactors {
	t.Helper()
	var u usedFactors
	var resetter struct{ ID int64 }
	c.want(base, "POST", "/api/v1/users", admin, map[string]any{"auth_method": "email", "email": "resetter@mail.example",
		"role_ids": []int64{roleID}, "company_id": company}, 201, &resetter)
	invite := inbox.await(t, regexp.MustCompile(`(?s)To: .*?resetter@mail\.example.*?/register/([A-Za-z0-9_-]{43})`))
	c.want(base, "POST", "/api/v1/registration/"+invite, "", map[string]string{"password": "first light over water", "first_name": "Rita", "last_name": "Reset"}, 200, nil)
	c.want(base, "POST", fmt.Sprintf("/api/v1/users/%d/password-reset", resetter.ID), admin, nil, 202, nil)
	u.resetToken = inbox.await(t, regexp.MustCompile(`(?s)To: .*?resetter@mail\.example.*?/password-reset/([A-Za-z0-9_-]{43})`))
	c.want(base, "POST", "/api/v1/auth/password-reset", "", map[string]string{"token": u.resetToken, "new_password": "second light over water"}, 200, nil)

	u.totpLogin = "totper"
	c.mkUser(base, base, admin, company, u.totpLogin, roleID, "a steady green light")
	tok := c.login(base, u.totpLogin, "a steady green light")
	var start struct {
		Secret string `json:"secret"`
	}
	c.want(base, "POST", "/api/v1/me/2fa/totp", tok, map[string]string{"current_password": "a steady green light"}, 200, &start)
	// Confirmed with the previous step's code, so the current one is free.
	c.want(base, "POST", "/api/v1/me/2fa/totp/confirm", tok, map[string]string{"code": totpCode(t, start.Secret, time.Now().Add(-30*time.Second))}, 200, nil)
	u.totpUsedAt = time.Now()
	u.totpCode = totpCode(t, start.Secret, u.totpUsedAt)
	c.want(base, "POST", "/api/v1/auth/mfa", "", map[string]string{"mfa_token": u.mfaToken(t, c, base), "code": u.totpCode}, 200, nil)
	return &u
}

// mfaToken signs the TOTP user in up to the second factor.
func (u *usedFactors) mfaToken(t *testing.T, c *api, base string) string {
	t.Helper()
	var step struct {
		MFAToken string `json:"mfa_token"`
	}
	c.want(base, "POST", "/api/v1/auth/login", "", map[string]string{"username": u.totpLogin, "password": "a steady green light"}, 200, &step)
	if step.MFAToken == "" {
		t.Fatalf("%s signs in without the second factor", u.totpLogin)
	}
	return step.MFAToken
}

// check: after a crash and a restart the reset link is refused, and so is
// the TOTP code while it would still be in its time window.
func (u *usedFactors) check(t *testing.T, c *api, base string) {
	t.Helper()
	c.want(base, "POST", "/api/v1/auth/password-reset", "", map[string]string{"token": u.resetToken, "new_password": "third light over water"}, 404, nil)
	if since := time.Since(u.totpUsedAt); since > 25*time.Second {
		t.Logf("the TOTP code is %s old: its window may have passed, replay not checked", since.Round(time.Second))
		return
	}
	c.want(base, "POST", "/api/v1/auth/mfa", "", map[string]string{"mfa_token": u.mfaToken(t, c, base), "code": u.totpCode}, 401, nil)
}
