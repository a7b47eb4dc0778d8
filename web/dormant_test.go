package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
	"github.com/roster-app/roster/jobs"
	"github.com/roster-app/roster/outbox"
)

// TestDormantFilters lists users by last sign-in, in the list, the export
// and a bulk action by filter.
func TestDormantFilters(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.t = t
		ctx := context.Background()
		t0 := e.now()
		old, recent := e.victim(), e.victim()
		must(t, e.store.RecordSignIn(ctx, old.ID))
		e.clock.Advance(40 * 24 * time.Hour)
		must(t, e.store.RecordSignIn(ctx, recent.ID))
		cut := t0.Add(20 * 24 * time.Hour).Format(time.RFC3339)
		admin := e.token("admin")
		logins := func(url string) string {
			var p userPage
			e.expect("GET", url, admin, nil, 200).JSON(t, &p)
			var out []string
			for _, it := range p.Items {
				out = append(out, it.Login)
			}
			return strings.Join(out, ",")
		}
		if got := logins("/api/v1/users?sort=created_at&last_sign_in_before=" + cut); got != old.Login {
			t.Errorf("last_sign_in_before: %s", got)
		}
		// The admin token above signed nobody in: the fixture users never did.
		if got := logins("/api/v1/users?sort=created_at&never_signed_in=true"); got != "admin,disp,emp" {
			t.Errorf("never_signed_in=true: %s", got)
		}
		if got := logins("/api/v1/users?sort=created_at&never_signed_in=false"); got != old.Login+","+recent.Login {
			t.Errorf("never_signed_in=false: %s", got)
		}
		if got := logins("/api/v1/users?sort=created_at&never_signed_in=true&last_sign_in_before=" + cut); got != "admin,disp,emp,"+old.Login {
			t.Errorf("dormant since the cut: %s", got)
		}
		recs := readCSV(t, e.expect("GET", "/api/v1/users/export?never_signed_in=false&last_sign_in_before="+cut, admin, nil, 200).Body)
		if len(recs) != 2 || recs[1][2] != old.Login {
			t.Errorf("export: %v", recs)
		}
		var res struct{ Affected int }
		e.expect("POST", "/api/v1/users/bulk", admin, map[string]any{"action": "block", "comment": "dormant",
			"filter": map[string]any{"last_sign_in_before": cut, "never_signed_in": false}}, 200).JSON(t, &res)
		if res.Affected != 1 {
			t.Errorf("bulk by filter blocked %d", res.Affected)
		}
		u, err := e.store.UserByID(ctx, roster.Scope{All: true}, old.ID)
		must(t, err)
		if u.Status != roster.StatusBlocked {
			t.Errorf("%s is %s", u.Login, u.Status)
		}
		e.run(t, []scenario{
			{name: "ErrInvalid/Time", method: "GET", url: "/api/v1/users?last_sign_in_before=yesterday", token: admin, wantStatus: 422, wantField: "last_sign_in_before"},
			{name: "ErrInvalid/Never", method: "GET", url: "/api/v1/users?never_signed_in=maybe", token: admin, wantStatus: 422, wantField: "never_signed_in"},
			{name: "ErrInvalid/BulkTime", method: "POST", url: "/api/v1/users/bulk", token: admin,
				body:       map[string]any{"action": "block", "comment": "x", "filter": map[string]any{"last_sign_in_before": "2026-13-01"}},
				wantStatus: 422, wantField: "filter.last_sign_in_before"},
		})
	})
}

// TestDormantBlocking runs the dormant-accounts job on a fake clock: a
// warning once, a week before; the block only a week after the warning;
// a sign-in keeps the account; an account without e-mail is blocked
// without one.
func TestDormantBlocking(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.t = t
		ctx := context.Background()
		day := 24 * time.Hour
		co := e.company("Sleepy", nil)
		emp := e.roleID(co.ID, roster.RoleEmployee)
		mk := func(email, login string) *roster.User {
			u := &roster.User{CompanyID: co.ID, AuthMethod: roster.AuthEmail, Email: email, Login: login,
				FirstName: "F", LastName: "L", Status: roster.StatusActive, PasswordHash: "x"}
			if email == "" {
				u.AuthMethod = roster.AuthLogin
			}
			must(t, e.store.CreateUser(ctx, u, []int64{emp}, nil, time.Time{}))
			return u
		}
		a, b, c, d := mk("a@sleepy.example", ""), mk("", "bee"), mk("c@sleepy.example", ""), mk("d@sleepy.example", "")
		for _, u := range []*roster.User{a, b, d} {
			must(t, e.store.RecordSignIn(ctx, u.ID))
		}
		t0 := e.now()

		// The setting: 0 or 8..3650, by a company administrator of it.
		root := e.token("root")
		e.run(t, []scenario{
			{name: "ErrInvalid/TooFew", method: "PATCH", url: path("/api/v1/companies/%d/settings", co.ID), token: root,
				body: map[string]any{"dormant_block_days": 7}, wantStatus: 422, wantField: "dormant_block_days"},
			{name: "ErrInvalid/Negative", method: "PATCH", url: path("/api/v1/companies/%d/settings", co.ID), token: root,
				body: map[string]any{"dormant_block_days": -1}, wantStatus: 422},
			{name: "OK", method: "PATCH", url: path("/api/v1/companies/%d/settings", co.ID), token: root,
				body: map[string]any{"dormant_block_days": 30}, wantStatus: 200, wantBody: []string{`"dormant_block_days":30`}},
			{name: "OK/Get", method: "GET", url: path("/api/v1/companies/%d/settings", co.ID), token: root,
				wantStatus: 200, wantBody: []string{`"dormant_block_days":30`}},
		})

		workflows := app.New(app.Deps{Companies: e.store, Users: e.store, Roles: e.store, Clock: e.clock.Now, BaseURL: "https://roster.example"})
		sweep := func(at time.Duration, warned, blocked int) {
			t.Helper()
			e.clock.Set(t0.Add(at))
			res, err := workflows.SweepDormant(ctx)
			must(t, err)
			if res.Warned != warned || res.Blocked != blocked {
				t.Fatalf("day %v: warned %d, blocked %d; want %d, %d", at/day, res.Warned, res.Blocked, warned, blocked)
			}
		}
		status := func(u *roster.User) roster.UserStatus {
			got, err := e.store.UserByID(ctx, roster.Scope{All: true}, u.ID)
			must(t, err)
			return got.Status
		}
		sweep(22*day, 0, 0)
		sweep(24*day, 3, 0) // a, c, d: 23 days idle; b has no e-mail
		sweep(24*day+time.Hour, 0, 0)
		mails, err := e.store.Jobs(ctx, roster.JobFilter{Kind: outbox.Kind, Limit: 100})
		must(t, err)
		if n := countKind(t, e, roster.EventUserDormantWarned, co.ID); n != 3 {
			t.Errorf("%d warning events, want 3", n)
		}
		if len(mails) < 3 {
			t.Errorf("%d e-mail jobs", len(mails))
		}
		e.clock.Set(t0.Add(26 * day))
		must(t, e.store.RecordSignIn(ctx, d.ID))
		sweep(30*day+time.Hour, 0, 1) // b: 30 days, nobody to warn
		if status(b) != roster.StatusBlocked || status(a) != roster.StatusActive {
			t.Fatalf("b %s, a %s", status(b), status(a))
		}
		sweep(31*day+time.Hour, 0, 2) // a and c: warned a week ago
		if status(a) != roster.StatusBlocked || status(c) != roster.StatusBlocked || status(d) != roster.StatusActive {
			t.Fatalf("a %s, c %s, d %s", status(a), status(c), status(d))
		}
		sweep(50*day, 1, 0) // d again: idle 24 days since the sign-in
		sweep(57*day+time.Hour, 0, 1)

		page, err := e.store.Events(ctx, roster.Scope{All: true}, roster.EventFilter{Type: roster.EventUserBlocked, UserID: &a.ID, Limit: 10})
		must(t, err)
		if len(page.Items) != 1 || !strings.Contains(page.Items[0].Comment, "30 days") || page.Items[0].ActorID != nil {
			t.Fatalf("block event %+v", page.Items)
		}

		// The job: enqueued once however often asked, run by a worker.
		wrote, err := e.store.EnsureJob(ctx, app.NewDormantJob(e.now()))
		must(t, err)
		again, err := e.store.EnsureJob(ctx, app.NewDormantJob(e.now()))
		must(t, err)
		if !wrote || again {
			t.Fatalf("EnsureJob wrote %v then %v", wrote, again)
		}
		w := jobs.New(e.store, jobs.Options{Clock: e.clock.Now})
		w.Handle(roster.DormantJobKind, workflows.DormantJob)
		n, err := w.RunOnce(ctx, 5)
		must(t, err)
		if n != 1 {
			t.Fatalf("ran %d jobs", n)
		}
		done, err := e.store.Jobs(ctx, roster.JobFilter{Kind: roster.DormantJobKind, Limit: 5})
		must(t, err)
		if len(done) != 1 || done[0].State != roster.JobDone {
			t.Fatalf("job %+v", done)
		}
	})
}

// countKind counts a company's events of a type.
func countKind(t *testing.T, e *env, typ string, companyID int64) int {
	t.Helper()
	page, err := e.store.Events(context.Background(), roster.Scope{CompanyIDs: []int64{companyID}}, roster.EventFilter{Type: typ, Limit: 100})
	must(t, err)
	return len(page.Items)
}
