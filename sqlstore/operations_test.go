package sqlstore_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

func acme(f *fixture) roster.Scope { return roster.Scope{CompanyIDs: []int64{f.co.ID}} }

func TestWorkGroupsAndLifecycle(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		sc := acme(f)
		a, b, idle := f.user(f.co.ID, "Ann", "A", roster.RoleEmployee), f.user(f.co.ID, "Bob", "B", roster.RoleEmployee), f.user(f.co.ID, "Ida", "I", roster.RoleEmployee)
		q := &roster.WorkGroup{CompanyID: f.co.ID, Kind: roster.KindQueue, Name: "Support"}
		must(t, s.CreateWorkGroup(f.ctx, q))
		wantField(t, s.CreateWorkGroup(f.ctx, &roster.WorkGroup{CompanyID: f.co.ID, Kind: roster.KindQueue, Name: "Support"}), roster.ECONFLICT, "name")
		sh := &roster.WorkGroup{CompanyID: f.co.ID, Kind: roster.KindShift, Name: "Night"}
		must(t, s.CreateWorkGroup(f.ctx, sh))
		ag := &roster.WorkGroup{CompanyID: f.co.ID, Kind: roster.KindAgentGroup, Name: "Team 1", ManagerIDs: []int64{b.ID}}
		must(t, s.CreateWorkGroup(f.ctx, ag))

		g, err := s.AddWorkGroupMembers(f.ctx, sc, roster.KindQueue, q.ID, []int64{a.ID, b.ID})
		must(t, err)
		if len(g.Members) != 2 {
			t.Fatalf("members %v", g.Members)
		}
		_, err = s.AddWorkGroupMembers(f.ctx, sc, roster.KindShift, sh.ID, []int64{a.ID})
		must(t, err)
		_, err = s.AddWorkGroupMembers(f.ctx, sc, roster.KindAgentGroup, ag.ID, []int64{a.ID})
		must(t, err)
		// A queue ID is not a shift ID; another company's user is refused.
		_, err = s.AddWorkGroupMembers(f.ctx, sc, roster.KindShift, q.ID, []int64{a.ID})
		wantCode(t, err, roster.ENOTFOUND)
		other := f.company("Other", nil)
		stranger := f.user(other.ID, "Sam", "S", roster.RoleEmployee)
		_, err = s.AddWorkGroupMembers(f.ctx, sc, roster.KindQueue, q.ID, []int64{stranger.ID})
		wantField(t, err, roster.EINVALID, "user_ids")

		u, err := s.UserByID(f.ctx, sc, a.ID)
		must(t, err)
		if len(u.Queues) != 1 || u.Queues[0].Name != "Support" {
			t.Fatalf("queues %+v", u.Queues)
		}
		page, err := s.Users(f.ctx, sc, roster.UserFilter{Queue: fmt.Sprint(q.ID)})
		must(t, err)
		if page.Total != 2 {
			t.Fatalf("queue filter total %d", page.Total)
		}
		page, err = s.Users(f.ctx, sc, roster.UserFilter{Queue: roster.QueueNone})
		must(t, err)
		if page.Total != 1 || page.Items[0].ID != idle.ID {
			t.Fatalf("none filter: %+v", page.Items)
		}

		// Blocking removes every membership, and the event names them.
		blocked, err := s.BlockUser(f.ctx, sc, a.ID, "left")
		must(t, err)
		if len(blocked.Queues) != 0 {
			t.Fatalf("blocked user keeps queues %v", blocked.Queues)
		}
		for _, kind := range []string{roster.KindQueue, roster.KindShift, roster.KindAgentGroup} {
			gs, err := s.WorkGroups(f.ctx, sc, f.co.ID, kind)
			must(t, err)
			for _, g := range gs {
				for _, m := range g.Members {
					if m.ID == a.ID {
						t.Errorf("blocked user still in %s %s", kind, g.Name)
					}
				}
			}
		}
		ev, err := s.Events(f.ctx, sc, roster.EventFilter{UserID: &a.ID, Type: roster.EventUserBlocked})
		must(t, err)
		removed, _ := ev.Items[0].After["removed_from"].([]any)
		if len(removed) != 3 {
			t.Fatalf("block event removed_from = %v", ev.Items[0].After)
		}
		_, err = s.AddWorkGroupMembers(f.ctx, sc, roster.KindQueue, q.ID, []int64{a.ID})
		wantField(t, err, roster.EINVALID, "user_ids")
		u, err = s.UnblockUser(f.ctx, sc, a.ID, "back")
		must(t, err)
		if len(u.Queues) != 0 {
			t.Fatal("unblocking put the user back in a queue")
		}

		// Deleting removes memberships and manager rights, named in the event.
		must(t, s.DeleteUser(f.ctx, sc, b.ID))
		g, err = s.WorkGroupByID(f.ctx, sc, roster.KindAgentGroup, ag.ID)
		must(t, err)
		if len(g.ManagerIDs) != 0 {
			t.Fatalf("deleted manager kept: %v", g.ManagerIDs)
		}
		ev, err = s.Events(f.ctx, sc, roster.EventFilter{UserID: &b.ID, Type: roster.EventUserDeleted})
		must(t, err)
		if removed, _ := ev.Items[0].Before["removed_from"].([]any); len(removed) != 2 {
			t.Fatalf("delete event removed_from = %v", ev.Items[0].Before)
		}

		name := "Support 2"
		g, err = s.UpdateWorkGroup(f.ctx, sc, roster.KindQueue, q.ID, roster.WorkGroupUpdate{Name: &name})
		must(t, err)
		if g.Name != name {
			t.Fatal("not renamed")
		}
		must(t, s.DeleteWorkGroup(f.ctx, sc, roster.KindQueue, q.ID))
		_, err = s.WorkGroupByID(f.ctx, sc, roster.KindQueue, q.ID)
		wantCode(t, err, roster.ENOTFOUND)
	})
}

// operators makes chat operators online with the given maxima.
func operators(t *testing.T, f *fixture, maxima ...int) []*roster.User {
	var out []*roster.User
	for i, m := range maxima {
		u := f.user(f.co.ID, fmt.Sprintf("Op%d", i), "Chat", roster.RoleChatOperator)
		_, err := f.s.UpdateOperator(f.ctx, acme(f), u.ID, roster.OperatorUpdate{MaxDialogues: &m})
		must(t, err)
		must(t, f.s.SetPresence(f.ctx, u.ID, roster.PresenceOnline))
		out = append(out, u)
	}
	return out
}

func TestDialogueRoutingSplit(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		ops := operators(t, f, 300, 100)
		offline := operators(t, f, 50)[0]
		must(t, s.SetPresence(f.ctx, offline.ID, roster.PresenceOffline))
		count := map[int64]int{}
		for i := range 200 {
			d, err := s.AssignDialogue(f.ctx, f.co.ID, fmt.Sprint("chat-", i))
			must(t, err)
			count[d.OperatorID]++
		}
		if count[ops[0].ID] != 150 || count[ops[1].ID] != 50 || count[offline.ID] != 0 {
			t.Fatalf("split %v, want 150:50", count)
		}
		// Fill everyone up: then 409, and closing one frees a slot.
		var last *roster.Dialogue
		for range 200 {
			d, err := s.AssignDialogue(f.ctx, f.co.ID, "")
			must(t, err)
			last = d
		}
		_, err := s.AssignDialogue(f.ctx, f.co.ID, "")
		wantCode(t, err, roster.ECONFLICT)
		_, err = s.CloseDialogue(f.ctx, acme(f), last.ID)
		must(t, err)
		_, err = s.CloseDialogue(f.ctx, acme(f), last.ID)
		wantCode(t, err, roster.ECONFLICT)
		d, err := s.AssignDialogue(f.ctx, f.co.ID, "")
		must(t, err)
		if d.OperatorID != last.OperatorID {
			t.Fatalf("freed slot went to %d, want %d", d.OperatorID, last.OperatorID)
		}
		u, err := s.UserByID(f.ctx, acme(f), ops[0].ID)
		must(t, err)
		if u.ActiveDialogues != 300 || u.MaxDialogues != 300 || u.Presence != roster.PresenceOnline {
			t.Fatalf("operator %+v", u)
		}
	})
}

func TestDialogueRoutingConcurrent(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		ops := operators(t, f, 3, 1, 4)
		var wg sync.WaitGroup
		var mu sync.Mutex
		got, full := map[int64]int{}, 0
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, err := s.AssignDialogue(f.ctx, f.co.ID, "")
				mu.Lock()
				defer mu.Unlock()
				if roster.ErrorCode(err) == roster.ECONFLICT {
					full++
					return
				} else if err != nil {
					t.Error(err)
					return
				}
				got[d.OperatorID]++
			}()
		}
		wg.Wait()
		if got[ops[0].ID] != 3 || got[ops[1].ID] != 1 || got[ops[2].ID] != 4 || full != 42 {
			t.Fatalf("assigned %v, full %d; want 3,1,4 and 42 refused", got, full)
		}
	})
}

func TestClientsVisibility(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		vip, retail := &roster.ClientTag{CompanyID: f.co.ID, Name: "VIP"}, &roster.ClientTag{CompanyID: f.co.ID, Name: "Retail"}
		must(t, s.CreateClientTag(f.ctx, vip))
		must(t, s.CreateClientTag(f.ctx, retail))
		wantField(t, s.CreateClientTag(f.ctx, &roster.ClientTag{CompanyID: f.co.ID, Name: "vip"}), roster.ECONFLICT, "name")
		mk := func(name, email, country string, tags ...int64) *roster.Client {
			cl, err := s.CreateClient(f.ctx, f.co.ID, roster.ClientInput{Name: &name, Email: &email, Country: &country, TagIDs: &tags})
			must(t, err)
			return cl
		}
		mk("Anna Berg", "anna@example.de", "DE", vip.ID)
		mk("Boris Kuznetsov", "boris@example.ru", "RU", retail.ID)
		mk("Chloe Martin", "chloe@example.fr", "FR", vip.ID, retail.ID)

		list := func(vis *roster.Visibility, q string) []*roster.Client {
			p, err := s.Clients(f.ctx, f.co.ID, vis, roster.ClientFilter{Query: q})
			must(t, err)
			return p.Items
		}
		if n := len(list(nil, "")); n != 3 {
			t.Fatalf("all clients: %d", n)
		}
		if got := list(&roster.Visibility{TagIDs: []int64{vip.ID}}, ""); len(got) != 2 {
			t.Fatalf("vip only: %d", len(got))
		}
		if got := list(&roster.Visibility{Countries: roster.CountriesRule{Mode: "except", Countries: []string{"RU", "FR"}}}, ""); len(got) != 1 || got[0].Country != "DE" {
			t.Fatalf("except RU, FR: %+v", got)
		}
		if got := list(&roster.Visibility{Countries: roster.CountriesRule{Mode: "only", Countries: []string{"RU"}}, TagIDs: []int64{vip.ID}}, ""); len(got) != 0 {
			t.Fatalf("only RU and vip: %+v", got)
		}
		masked := &roster.Visibility{Mask: true}
		got := list(masked, "")
		for _, cl := range got {
			if cl.Name != roster.Mask || cl.Email != roster.Mask || !cl.Masked {
				t.Fatalf("not masked: %+v", cl)
			}
		}
		// Searching a masked field finds nothing; unmasked fields still match.
		if n := len(list(masked, "anna")); n != 0 {
			t.Fatalf("masked search by name matched %d", n)
		}
		if n := len(list(nil, "anna")); n != 1 {
			t.Fatalf("search by name matched %d", n)
		}
		if n := len(list(masked, "de")); n != 1 {
			t.Fatalf("masked search by country matched %d", n)
		}
		_, err := s.ClientByID(f.ctx, acme(f), &roster.Visibility{TagIDs: []int64{retail.ID}}, got[0].ID)
		if got[0].Tags[0].ID == vip.ID && len(got[0].Tags) == 1 {
			wantCode(t, err, roster.ENOTFOUND)
		}
		must(t, s.DeleteClientTag(f.ctx, acme(f), vip.ID))
		tags, err := s.ClientTags(f.ctx, f.co.ID)
		must(t, err)
		if len(tags) != 1 || tags[0].ClientCount != 2 {
			t.Fatalf("tags %+v", tags)
		}

		// Visibility settings live on the user.
		u := f.user(f.co.ID, "Vera", "V", roster.RoleEmployee)
		ids, mask := []int64{retail.ID}, true
		u, err = s.UpdateOperator(f.ctx, acme(f), u.ID, roster.OperatorUpdate{ClientTagIDs: &ids, MaskData: &mask,
			CountriesRule: &roster.CountriesRule{Mode: "only", Countries: []string{"ru", "de"}}})
		must(t, err)
		vis, err := s.Visibility(f.ctx, u.ID)
		must(t, err)
		if !vis.Mask || !slices.Equal(vis.TagIDs, ids) || !slices.Equal(vis.Countries.Countries, []string{"RU", "DE"}) {
			t.Fatalf("visibility %+v", vis)
		}
	})
}

func TestCallsAndCompanyOperations(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		u := f.user(f.co.ID, "Eve", "E", roster.RoleEmployee)
		call := &roster.Call{CompanyID: f.co.ID, CallID: "abc-1", UserID: u.ID, Direction: "inbound", DurationSeconds: 30}
		created, err := s.RecordCall(f.ctx, call)
		must(t, err)
		again := &roster.Call{CompanyID: f.co.ID, CallID: "abc-1", UserID: u.ID}
		created2, err := s.RecordCall(f.ctx, again)
		must(t, err)
		if !created || created2 || again.ID != call.ID || again.DurationSeconds != 30 {
			t.Fatalf("idempotency: %v %v %+v", created, created2, again)
		}
		got, err := s.UserByID(f.ctx, acme(f), u.ID)
		must(t, err)
		if got.CallsHandled != nil {
			t.Fatal("calls shown without call statistics")
		}
		on, tok := true, "sealed-token"
		co, err := s.UpdateCompanyOperations(f.ctx, acme(f), f.co.ID, roster.CompanyOperationsUpdate{CallStatistics: &on, TelegramBotToken: &tok})
		must(t, err)
		if !co.CallStatistics || !co.TelegramSet || co.SlackSet {
			t.Fatalf("company operations %+v", co)
		}
		got, err = s.UserByID(f.ctx, acme(f), u.ID)
		must(t, err)
		if got.CallsHandled == nil || *got.CallsHandled != 1 {
			t.Fatalf("calls handled %v", got.CallsHandled)
		}
		tg, _, err := s.CompanyTokens(f.ctx, f.co.ID)
		must(t, err)
		if tg != tok {
			t.Fatal("token not stored")
		}
	})
}
