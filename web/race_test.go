package web_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/roster-app/roster"
)

// These tests send real parallel requests through the whole handler
// (issue 11, findings 3 and 4): one user deleted by many requests at once,
// identical role changes at once, and a storm of bulk and single block,
// unblock and role changes on overlapping users. No answer may be a 500;
// the only answers are 2xx, 404, 409 and 503 with Retry-After; and the
// state and the event log agree afterwards.

// storm sends the requests all at once and returns their answers.
func (e *env) storm(reqs []stormRequest) []response {
	out := make([]response, len(reqs))
	var start, wg sync.WaitGroup
	start.Add(1)
	for i, rq := range reqs {
		wg.Go(func() {
			start.Wait()
			out[i] = e.do(rq.method, rq.url, rq.token, rq.body)
		})
	}
	start.Done()
	wg.Wait()
	return out
}

type stormRequest struct {
	method, url, token string
	body               any
}

// wantCalmAnswers fails on any answer but 2xx, 404, 409 or 503 with
// Retry-After, and returns the count of each status.
func wantCalmAnswers(t *testing.T, what string, reqs []stormRequest, rs []response) map[int]int {
	t.Helper()
	counts := map[int]int{}
	for i, r := range rs {
		counts[r.Status]++
		switch {
		case r.Status >= 200 && r.Status < 300, r.Status == 404, r.Status == 409:
		case r.Status == 503 && r.Header.Get("Retry-After") != "":
		default:
			t.Errorf("%s: %s %s answered %d: %s", what, reqs[i].method, reqs[i].url, r.Status, r.Body)
		}
	}
	return counts
}

// userEvents returns the events about a user of the given types, oldest
// first.
func (e *env) userEvents(id int64, types ...string) []*roster.Event {
	e.t.Helper()
	var out []*roster.Event
	f := roster.EventFilter{UserID: &id, Limit: roster.MaxPageSize}
	for {
		page, err := e.store.Events(context.Background(), roster.Scope{All: true}, f)
		must(e.t, err)
		for _, ev := range page.Items {
			if slices.Contains(types, ev.Type) && ev.TargetUserID != nil && *ev.TargetUserID == id {
				out = append(out, ev)
			}
		}
		if f.Cursor = page.NextCursor; f.Cursor == "" {
			break
		}
	}
	slices.Reverse(out)
	return out
}

// wantEventChain checks that each event's before[key] is the previous
// one's after[key], from first to last.
func wantEventChain(t *testing.T, what string, events []*roster.Event, key string, first, last any) {
	t.Helper()
	prev := fmt.Sprint(first)
	for i, ev := range events {
		if b := fmt.Sprint(ev.Before[key]); b != prev {
			t.Errorf("%s: event %d (%s) starts from %s, but the state was %s", what, i, ev.Type, b, prev)
		}
		prev = fmt.Sprint(ev.After[key])
	}
	if prev != fmt.Sprint(last) {
		t.Errorf("%s: events end at %s, the state is %v", what, prev, last)
	}
}

// wantUserCount checks Acme's stored user count against its users.
func (e *env) wantUserCount() {
	e.t.Helper()
	c, err := e.store.CompanyByID(context.Background(), roster.Scope{All: true}, e.acme.ID)
	must(e.t, err)
	var n int
	must(e.t, e.store.DB().QueryRow(`SELECT count(*) FROM users WHERE company_id = $1`, e.acme.ID).Scan(&n))
	if c.UserCount != n {
		e.t.Errorf("user_count %d, but Acme has %d users", c.UserCount, n)
	}
}

func TestParallelDeleteAndRoles(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		admin := e.token("admin")
		emp, disp, mgr := e.roles[roster.RoleEmployee], e.roles[roster.RoleDispatcher], e.roles[roster.RoleManager]
		for round := range 3 {
			v := e.victim()
			reqs := make([]stormRequest, 12)
			for i := range reqs {
				reqs[i] = stormRequest{"DELETE", fmt.Sprint("/api/v1/users/", v.ID), admin, nil}
			}
			counts := wantCalmAnswers(t, "parallel delete", reqs, e.storm(reqs))
			if counts[http.StatusNoContent] != 1 || counts[http.StatusNotFound] != len(reqs)-1 {
				t.Errorf("round %d: parallel delete answered %v, want one 204 and 404s", round, counts)
			}
			if n := len(e.userEvents(v.ID, roster.EventUserDeleted)); n != 1 {
				t.Errorf("round %d: %d user.deleted events", round, n)
			}
			e.wantUserCount()

			v = e.victim()
			body := map[string]any{"role_ids": []int64{emp, disp, mgr}[round%2 : round%2+2]}
			for i := range reqs {
				reqs[i] = stormRequest{"PUT", fmt.Sprint("/api/v1/users/", v.ID, "/roles"), admin, body}
			}
			counts = wantCalmAnswers(t, "identical roles", reqs, e.storm(reqs))
			if counts[http.StatusOK] != len(reqs) {
				t.Errorf("round %d: identical role changes answered %v, want all 200", round, counts)
			}
			if n := len(e.userEvents(v.ID, roster.EventUserRolesChanged)); n != 1 {
				t.Errorf("round %d: %d user.roles_changed events for one change", round, n)
			}
		}
	})
}

// TestRequestStorm: about 300 bulk and single block, unblock and role
// requests at once on eight overlapping users, twice.
func TestRequestStorm(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		admin := e.token("admin")
		emp, disp, mgr := e.roles[roster.RoleEmployee], e.roles[roster.RoleDispatcher], e.roles[roster.RoleManager]
		var ids []int64
		for range 8 {
			v := e.victim()
			_, err := e.store.SetUserRoles(context.Background(), roster.Scope{All: true}, v.ID, []int64{emp, disp})
			must(t, err)
			ids = append(ids, v.ID)
		}
		rng := rand.New(rand.NewPCG(11, 4))
		for round := range 2 {
			var reqs []stormRequest
			for range 300 {
				set := slices.Clone(ids)
				rng.Shuffle(len(set), func(i, j int) { set[i], set[j] = set[j], set[i] })
				set = set[:2+rng.IntN(5)]
				one := fmt.Sprint("/api/v1/users/", set[0])
				var rq stormRequest
				switch rng.IntN(8) {
				case 0:
					rq = stormRequest{"POST", "/api/v1/users/bulk", admin, map[string]any{"action": "block", "user_ids": set, "comment": "storm"}}
				case 1:
					rq = stormRequest{"POST", "/api/v1/users/bulk", admin, map[string]any{"action": "unblock", "user_ids": set, "comment": "storm"}}
				case 2:
					rq = stormRequest{"POST", "/api/v1/users/bulk", admin, map[string]any{"action": "add_role", "user_ids": set, "role_id": mgr}}
				case 3:
					rq = stormRequest{"POST", "/api/v1/users/bulk", admin, map[string]any{"action": "remove_role", "user_ids": set, "role_id": mgr}}
				case 4:
					rq = stormRequest{"POST", one + "/block", admin, map[string]any{"comment": "storm"}}
				case 5:
					rq = stormRequest{"POST", one + "/unblock", admin, map[string]any{"comment": "storm"}}
				case 6:
					rq = stormRequest{"PUT", one + "/roles", admin, map[string]any{"role_ids": []int64{emp, mgr}}}
				default:
					rq = stormRequest{"PUT", one + "/roles", admin, map[string]any{"role_ids": []int64{emp, disp}}}
				}
				reqs = append(reqs, rq)
			}
			counts := wantCalmAnswers(t, fmt.Sprint("storm ", round), reqs, e.storm(reqs))
			t.Logf("round %d: %v", round, counts)
		}
		for _, id := range ids {
			u, err := e.store.UserByID(context.Background(), roster.Scope{All: true}, id)
			must(t, err)
			wantEventChain(t, fmt.Sprint("user ", id, " status"), e.userEvents(id, roster.EventUserBlocked, roster.EventUserUnblocked),
				"status", roster.StatusActive, u.Status)
			var keys []any
			for _, r := range u.Roles {
				keys = append(keys, r.Key)
			}
			wantEventChain(t, fmt.Sprint("user ", id, " roles"), e.userEvents(id, roster.EventUserRolesChanged)[1:],
				"roles", []any{roster.RoleDispatcher, roster.RoleEmployee}, keys)
		}
		e.wantUserCount()
	})
}
