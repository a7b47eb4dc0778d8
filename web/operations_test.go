package web_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/roster-app/roster"
)

var acmeScope = func(e *env) roster.Scope { return roster.Scope{CompanyIDs: []int64{e.acme.ID}} }

// workGroup creates a fresh work group of kind in Acme, with member if given.
func (e *env) workGroup(kind string, members ...int64) *roster.WorkGroup {
	e.t.Helper()
	g := &roster.WorkGroup{CompanyID: e.acme.ID, Kind: kind, Name: path("Group %d", e.seq.Add(1))}
	must(e.t, e.store.CreateWorkGroup(context.Background(), g))
	if len(members) > 0 {
		_, err := e.store.AddWorkGroupMembers(context.Background(), acmeScope(e), kind, g.ID, members)
		must(e.t, err)
	}
	return g
}

// operator creates an online Acme chat operator with maximum max.
func (e *env) operator(max int) *roster.User {
	e.t.Helper()
	u := e.user(e.acme.ID, path("op%d", e.seq.Add(1)), roster.RoleChatOperator)
	_, err := e.store.UpdateOperator(context.Background(), acmeScope(e), u.ID, roster.OperatorUpdate{MaxDialogues: &max})
	must(e.t, err)
	must(e.t, e.store.SetPresence(context.Background(), u.ID, roster.PresenceOnline))
	return u
}

func (e *env) client() *roster.Client {
	e.t.Helper()
	name := path("Client %d", e.seq.Add(1))
	c, err := e.store.CreateClient(context.Background(), e.acme.ID, roster.ClientInput{Name: &name})
	must(e.t, err)
	return c
}

func (e *env) clientTag() *roster.ClientTag {
	e.t.Helper()
	t := &roster.ClientTag{CompanyID: e.acme.ID, Name: path("Tag %d", e.seq.Add(1))}
	must(e.t, e.store.CreateClientTag(context.Background(), t))
	return t
}

// operationMatrixRows are the authorization matrix rows of issue 5.
func operationMatrixRows() []matrixRow {
	var rows []matrixRow
	for _, k := range []struct{ path, kind string }{{"queues", roster.KindQueue}, {"shifts", roster.KindShift}, {"agent-groups", roster.KindAgentGroup}} {
		base := "/api/v1/" + k.path
		on := func(suffix string, body any) func(e *env) (string, any) {
			return func(e *env) (string, any) { return path("%s/%d%s", base, e.workGroup(k.kind).ID, suffix), body }
		}
		rows = append(rows,
			matrixRow{"GET", base, fixed(base, nil), w{401, 200, 200, 200, 403, 200, 200}},
			matrixRow{"POST", base, func(e *env) (string, any) {
				return base, map[string]any{"name": path("New %d", e.seq.Add(1)), "company_id": e.acme.ID}
			}, w{401, 201, 201, 403, 403, 422, 201}},
			matrixRow{"GET", base + "/{id}", on("", nil), w{401, 200, 200, 200, 403, 404, 200}},
			matrixRow{"PATCH", base + "/{id}", func(e *env) (string, any) {
				return path("%s/%d", base, e.workGroup(k.kind).ID), map[string]any{"name": path("Renamed %d", e.seq.Add(1))}
			}, w{401, 200, 200, 403, 403, 404, 200}},
			matrixRow{"DELETE", base + "/{id}", on("", nil), w{401, 204, 204, 403, 403, 404, 204}},
			matrixRow{"POST", base + "/{id}/members", func(e *env) (string, any) {
				return path("%s/%d/members", base, e.workGroup(k.kind).ID), map[string]any{"user_ids": []int64{e.victim().ID}}
			}, w{401, 200, 200, 403, 403, 404, 200}},
			matrixRow{"DELETE", base + "/{id}/members/{user_id}", func(e *env) (string, any) {
				v := e.victim()
				return path("%s/%d/members/%d", base, e.workGroup(k.kind, v.ID).ID, v.ID), nil
			}, w{401, 200, 200, 403, 403, 404, 200}},
		)
	}
	return append(rows,
		matrixRow{"PUT", "/api/v1/me/presence", fixed("/api/v1/me/presence", map[string]string{"status": "online"}), w{401, 200, 200, 200, 200, 200, 200}},
		matrixRow{"POST", "/api/v1/dialogues", fixed("/api/v1/dialogues", nil), w{401, 409, 409, 403, 403, 409, 409}},
		matrixRow{"POST", "/api/v1/dialogues/{id}/close", func(e *env) (string, any) {
			e.operator(1)
			d, err := e.store.AssignDialogue(context.Background(), e.acme.ID, "")
			must(e.t, err)
			return path("/api/v1/dialogues/%d/close", d.ID), nil
		}, w{401, 200, 200, 403, 403, 404, 200}},
		matrixRow{"POST", "/api/v1/calls", func(e *env) (string, any) {
			return "/api/v1/calls", map[string]any{"call_id": path("c%d", e.seq.Add(1)), "user_id": e.users["emp"].ID}
		}, w{401, 422, 201, 403, 201, 422, 422}},
		matrixRow{"GET", "/api/v1/companies/{id}/operations", func(e *env) (string, any) {
			return path("/api/v1/companies/%d/operations", e.acme.ID), nil
		}, w{401, 200, 200, 200, 403, 404, 200}},
		matrixRow{"PATCH", "/api/v1/companies/{id}/operations", func(e *env) (string, any) {
			return path("/api/v1/companies/%d/operations", e.acme.ID), map[string]any{"call_statistics": true}
		}, w{401, 200, 403, 403, 403, 404, 403}}, // call statistics follow the plan: the Main administrator's (U13)
		matrixRow{"GET", "/api/v1/me/notifications", fixed("/api/v1/me/notifications", nil), w{401, 200, 200, 200, 200, 200, 200}},
		matrixRow{"PUT", "/api/v1/me/notifications", fixed("/api/v1/me/notifications", map[string]any{
			"subscriptions": []map[string]any{{"event_type": "user.blocked", "channels": []string{"email"}}}}), w{401, 200, 200, 200, 403, 200, 200}},
		matrixRow{"GET", "/api/v1/users/{id}/notifications", func(e *env) (string, any) {
			return path("/api/v1/users/%d/notifications", e.victim().ID), nil
		}, w{401, 200, 200, 403, 403, 404, 200}},
		matrixRow{"PUT", "/api/v1/users/{id}/notifications", func(e *env) (string, any) {
			return path("/api/v1/users/%d/notifications", e.victim().ID), map[string]any{"telegram_chat_id": "42"}
		}, w{401, 200, 200, 403, 403, 404, 200}},
		matrixRow{"GET", "/api/v1/notification-event-types", fixed("/api/v1/notification-event-types", nil), w{401, 200, 200, 200, 200, 200, 200}},
		matrixRow{"PUT", "/api/v1/notification-event-types", fixed("/api/v1/notification-event-types", map[string]any{
			"enabled": []string{"user.blocked", "user.created"}}), w{401, 200, 403, 403, 403, 403, 403}},
		matrixRow{"GET", "/api/v1/notifications/failed", fixed("/api/v1/notifications/failed", nil), w{401, 200, 200, 403, 403, 200, 200}},
		matrixRow{"GET", "/api/v1/client-tags", fixed("/api/v1/client-tags", nil), w{401, 200, 200, 200, 200, 200, 200}},
		matrixRow{"POST", "/api/v1/client-tags", func(e *env) (string, any) {
			return "/api/v1/client-tags", map[string]any{"name": path("T%d", e.seq.Add(1)), "company_id": e.acme.ID}
		}, w{401, 201, 201, 403, 403, 422, 201}},
		matrixRow{"PATCH", "/api/v1/client-tags/{id}", func(e *env) (string, any) {
			return path("/api/v1/client-tags/%d", e.clientTag().ID), map[string]any{"name": path("R%d", e.seq.Add(1))}
		}, w{401, 200, 200, 403, 403, 404, 200}},
		matrixRow{"DELETE", "/api/v1/client-tags/{id}", func(e *env) (string, any) {
			return path("/api/v1/client-tags/%d", e.clientTag().ID), nil
		}, w{401, 204, 204, 403, 403, 404, 204}},
		matrixRow{"GET", "/api/v1/clients", fixed("/api/v1/clients", nil), w{401, 200, 200, 200, 200, 200, 200}},
		matrixRow{"POST", "/api/v1/clients", fixed("/api/v1/clients", map[string]any{"name": "Zed", "country": "de"}), w{401, 201, 201, 201, 201, 201, 201}},
		matrixRow{"GET", "/api/v1/clients/{id}", func(e *env) (string, any) { return path("/api/v1/clients/%d", e.client().ID), nil },
			w{401, 200, 200, 200, 200, 404, 200}},
		matrixRow{"PATCH", "/api/v1/clients/{id}", func(e *env) (string, any) {
			return path("/api/v1/clients/%d", e.client().ID), map[string]any{"phone": "+49 30 1234"}
		}, w{401, 200, 200, 200, 200, 404, 200}},
		matrixRow{"DELETE", "/api/v1/clients/{id}", func(e *env) (string, any) { return path("/api/v1/clients/%d", e.client().ID), nil },
			w{401, 204, 204, 204, 204, 404, 204}},
	)
}

func TestWorkGroupsAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		admin, emp := e.token("admin"), e.token("emp")
		var q roster.WorkGroup
		e.expect("POST", "/api/v1/queues", admin, map[string]any{"name": "Support"}, 201).JSON(t, &q)
		e.run(t, []scenario{
			{name: "ErrConflict", method: "POST", url: "/api/v1/queues", token: admin, body: map[string]any{"name": "Support"}, wantStatus: 409, wantField: "name"},
			{name: "ErrInvalid", method: "POST", url: "/api/v1/queues", token: admin, body: map[string]any{"name": " "}, wantStatus: 422, wantField: "name"},
			{name: "ErrNoManagersOnQueues", method: "POST", url: "/api/v1/queues", token: admin, body: map[string]any{"name": "X", "manager_ids": []int64{1}}, wantStatus: 422, wantField: "manager_ids"},
			{name: "ErrForbidden", method: "POST", url: "/api/v1/queues", token: emp, body: map[string]any{"name": "Y"}, wantStatus: 403},
			{name: "ErrShiftIsNotQueue", method: "GET", url: path("/api/v1/shifts/%d", q.ID), token: admin, wantStatus: 404},
		})
		empID := e.users["emp"].ID
		e.expect("POST", path("/api/v1/queues/%d/members", q.ID), admin, map[string]any{"user_ids": []int64{empID}}, 200)
		var u roster.User
		e.expect("GET", path("/api/v1/users/%d", empID), admin, nil, 200).JSON(t, &u)
		if len(u.Queues) != 1 || u.Queues[0].ID != q.ID || u.Queues[0].Name != "Support" {
			t.Fatalf("user queues %+v", u.Queues)
		}
		var page roster.UserPage
		e.expect("GET", path("/api/v1/users?queue=%d", q.ID), admin, nil, 200).JSON(t, &page)
		if page.Total != 1 {
			t.Fatalf("queue filter: %d", page.Total)
		}
		e.expect("GET", "/api/v1/users?queue=none&company_id="+fmt.Sprint(e.acme.ID), admin, nil, 200).JSON(t, &page)
		for _, it := range page.Items {
			if it.ID == empID || it.Status != roster.StatusActive {
				t.Fatalf("queue=none lists %+v", it)
			}
		}
		e.expect("GET", "/api/v1/users?queue=abc", admin, nil, 422)

		// Blocking through the API empties the user's queues, with the event.
		e.expect("POST", path("/api/v1/users/%d/block", empID), admin, map[string]string{"comment": "gone"}, 200).JSON(t, &u)
		if len(u.Queues) != 0 {
			t.Fatalf("blocked user's queues %v", u.Queues)
		}
		var g roster.WorkGroup
		e.expect("GET", path("/api/v1/queues/%d", q.ID), admin, nil, 200).JSON(t, &g)
		if len(g.Members) != 0 {
			t.Fatalf("queue keeps blocked member %v", g.Members)
		}
		r := e.expect("GET", path("/api/v1/events?user_id=%d&type=user.blocked", empID), admin, nil, 200)
		if !strings.Contains(string(r.Body), `"removed_from":[{"id":`+fmt.Sprint(q.ID)+`,"kind":"queue","name":"Support"}]`) {
			t.Fatalf("block event: %s", r.Body)
		}

		// Agent group managers manage their groups only.
		agm := e.user(e.acme.ID, "agm", roster.RoleAgentGroupManager)
		e.users["agm"] = agm
		mine := &roster.WorkGroup{CompanyID: e.acme.ID, Kind: roster.KindAgentGroup, Name: "Mine", ManagerIDs: []int64{agm.ID}}
		must(t, e.store.CreateWorkGroup(context.Background(), mine))
		theirs := e.workGroup(roster.KindAgentGroup)
		tok := e.token("agm")
		v := e.victim()
		e.run(t, []scenario{
			{name: "ManagerAddsToOwn", method: "POST", url: path("/api/v1/agent-groups/%d/members", mine.ID), token: tok, body: map[string]any{"user_ids": []int64{v.ID}}, wantStatus: 200, wantBody: []string{v.DisplayName()}},
			{name: "ManagerRemovesFromOwn", method: "DELETE", url: path("/api/v1/agent-groups/%d/members/%d", mine.ID, v.ID), token: tok, wantStatus: 200},
			{name: "ErrNotFoundOthers", method: "POST", url: path("/api/v1/agent-groups/%d/members", theirs.ID), token: tok, body: map[string]any{"user_ids": []int64{v.ID}}, wantStatus: 404},
			{name: "ErrNotFoundOthersGet", method: "GET", url: path("/api/v1/agent-groups/%d", theirs.ID), token: tok, wantStatus: 404},
			{name: "ErrForbiddenCreate", method: "POST", url: "/api/v1/agent-groups", token: tok, body: map[string]any{"name": "Z"}, wantStatus: 403},
			{name: "ErrForbiddenRename", method: "PATCH", url: path("/api/v1/agent-groups/%d", mine.ID), token: tok, body: map[string]any{"name": "Z"}, wantStatus: 403},
			{name: "ErrForbiddenQueues", method: "GET", url: "/api/v1/queues", token: tok, wantStatus: 200},
		})
		// Holding users.view, they still list only their own agent groups.
		r = e.expect("GET", "/api/v1/agent-groups", tok, nil, 200)
		if !strings.Contains(string(r.Body), `"name":"Mine"`) || strings.Contains(string(r.Body), theirs.Name) {
			t.Fatalf("agent group manager's list: %s", r.Body)
		}
	})
}

func TestDialoguesAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		admin := e.token("admin")
		a := e.user(e.acme.ID, "opbig", roster.RoleChatOperator)
		b := e.user(e.acme.ID, "opsmall", roster.RoleChatOperator)
		e.users["opbig"], e.users["opsmall"] = a, b
		e.expect("PATCH", path("/api/v1/users/%d", a.ID), admin, map[string]any{"max_dialogues": 300}, 200)
		e.expect("PATCH", path("/api/v1/users/%d", b.ID), admin, map[string]any{"max_dialogues": 100}, 200)
		e.expect("PATCH", path("/api/v1/users/%d", b.ID), admin, map[string]any{"max_dialogues": -1}, 422)
		// Nobody online yet: the caller is told to queue.
		r := e.expect("POST", "/api/v1/dialogues", admin, nil, 409)
		if !strings.Contains(string(r.Body), "No chat operator is online") {
			t.Fatalf("problem: %s", r.Body)
		}
		// One is online by a live session, the other by the softphone.
		e.token("opbig")
		var u roster.User
		e.expect("PUT", "/api/v1/me/presence", e.token("opsmall"), map[string]string{"status": "online"}, 200).JSON(t, &u)
		if u.Presence != "online" {
			t.Fatalf("presence %q", u.Presence)
		}
		e.expect("PUT", "/api/v1/me/presence", admin, map[string]string{"status": "away"}, 422)
		count := map[int64]int{}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := range 400 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var d roster.Dialogue
				resp := e.do("POST", "/api/v1/dialogues", admin, map[string]string{"external_id": fmt.Sprint("chat", i)})
				mu.Lock()
				defer mu.Unlock()
				if resp.Status != 201 {
					t.Errorf("status %d: %s", resp.Status, resp.Body)
					return
				}
				resp.JSON(t, &d)
				count[d.OperatorID]++
			}()
			if i%50 == 49 {
				wg.Wait() // bursts of 50 parallel requests
			}
		}
		wg.Wait()
		if count[a.ID] != 300 || count[b.ID] != 100 {
			t.Fatalf("split %v, want 300:100", count)
		}
		r = e.expect("POST", "/api/v1/dialogues", admin, nil, 409)
		if !strings.Contains(string(r.Body), "at their maximum") {
			t.Fatalf("problem: %s", r.Body)
		}
		e.expect("GET", path("/api/v1/users/%d", b.ID), admin, nil, 200).JSON(t, &u)
		if u.ActiveDialogues != 100 || u.MaxDialogues != 100 {
			t.Fatalf("operator %+v", u)
		}
		e.expect("POST", "/api/v1/dialogues/999999/close", admin, nil, 404)
	})
}

func TestClientsAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		admin, disp := e.token("admin"), e.token("disp")
		var vip roster.ClientTag
		e.expect("POST", "/api/v1/client-tags", admin, map[string]any{"name": "VIP"}, 201).JSON(t, &vip)
		e.expect("POST", "/api/v1/client-tags", admin, map[string]any{"name": "vip"}, 409)
		e.expect("POST", "/api/v1/clients", admin, map[string]any{"name": "Anna Berg", "email": "anna@example.de", "phone": "+49 30 111", "country": "de", "tags": []int64{vip.ID}}, 201)
		e.expect("POST", "/api/v1/clients", admin, map[string]any{"name": "Boris K", "email": "boris@example.ru", "country": "RU"}, 201)
		e.expect("POST", "/api/v1/clients", admin, map[string]any{"name": "Bad", "country": "Germany"}, 422)

		dispID := e.users["disp"].ID
		var page roster.ClientPage
		e.expect("GET", "/api/v1/clients", disp, nil, 200).JSON(t, &page)
		if page.Total != 2 {
			t.Fatalf("unrestricted: %d", page.Total)
		}
		var u roster.User
		e.expect("PATCH", path("/api/v1/users/%d", dispID), admin, map[string]any{
			"client_tags": []int64{vip.ID}, "countries_rule": map[string]any{"mode": "except", "countries": []string{"ru"}}, "mask_data": true}, 200).JSON(t, &u)
		if !u.MaskData || u.CountriesRule.Mode != "except" || len(u.ClientTagIDs) != 1 {
			t.Fatalf("user visibility %+v", u)
		}
		e.expect("PATCH", path("/api/v1/users/%d", dispID), admin, map[string]any{"countries_rule": map[string]any{"mode": "some"}}, 422)
		r := e.expect("GET", "/api/v1/clients", disp, nil, 200)
		r.JSON(t, &page)
		if page.Total != 1 || page.Items[0].Name != "****" || page.Items[0].Email != "****" || page.Items[0].Phone != "****" {
			t.Fatalf("masked list: %s", r.Body)
		}
		for _, secret := range []string{"Anna", "anna@", "111", "Boris"} {
			if strings.Contains(string(r.Body), secret) {
				t.Fatalf("masked list leaks %q: %s", secret, r.Body)
			}
		}
		// Searching by a masked field finds nothing.
		for _, q := range []string{"anna", "example.de", "111"} {
			e.expect("GET", "/api/v1/clients?q="+q, disp, nil, 200).JSON(t, &page)
			if page.Total != 0 {
				t.Fatalf("masked search %q matched", q)
			}
		}
		e.expect("GET", "/api/v1/clients?q=anna", admin, nil, 200).JSON(t, &page)
		if page.Total != 1 {
			t.Fatal("unmasked search found nothing")
		}
		e.expect("POST", "/api/v1/clients", disp, map[string]any{"name": "X"}, 403)
		r = e.expect("GET", path("/api/v1/events?type=user.operations_changed&user_id=%d", dispID), admin, nil, 200)
		if !strings.Contains(string(r.Body), `"mask_data":true`) {
			t.Fatalf("event: %s", r.Body)
		}
	})
}

func TestCallsAndCompanyOperationsAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		admin, emp := e.token("admin"), e.token("emp")
		empID := e.users["emp"].ID
		body := map[string]any{"call_id": "pbx-42", "user_id": empID, "direction": "inbound", "duration_seconds": 61}
		var c1, c2 roster.Call
		e.expect("POST", "/api/v1/calls", emp, body, 201).JSON(t, &c1)
		e.expect("POST", "/api/v1/calls", emp, body, 200).JSON(t, &c2)
		if c1.ID != c2.ID {
			t.Fatal("repeated call id stored twice")
		}
		e.expect("POST", "/api/v1/calls", emp, map[string]any{"user_id": empID}, 422)
		// A user without a work phone cannot be recorded as handling calls (U4).
		r := e.expect("POST", "/api/v1/calls", emp, map[string]any{"call_id": "pbx-43", "user_id": e.users["disp"].ID}, 422)
		if !strings.Contains(string(r.Body), `"field":"work_phone"`) {
			t.Fatalf("no work_phone error: %s", r.Body)
		}
		r = e.expect("GET", path("/api/v1/users/%d", empID), admin, nil, 200)
		if strings.Contains(string(r.Body), "calls_handled") {
			t.Fatalf("calls_handled without call statistics: %s", r.Body)
		}
		opsURL := path("/api/v1/companies/%d/operations", e.acme.ID)
		// Call statistics follow the plan, which only the Main administrator sets (U13).
		e.expect("PATCH", opsURL, admin, map[string]any{"call_statistics": true}, 403)
		e.expect("PATCH", opsURL, admin, map[string]any{"call_statistics": false}, 403)
		e.expect("PATCH", path("/api/v1/companies/%d/settings", e.acme.ID), admin, map[string]any{"plan": "professional"}, 403)
		var cs roster.CompanySettings
		e.expect("PATCH", path("/api/v1/companies/%d/settings", e.acme.ID), e.token("root"), map[string]any{"plan": "pro_plus"}, 200).JSON(t, &cs)
		if cs.Plan != roster.PlanProPlus {
			t.Fatalf("settings: %+v", cs)
		}
		r = e.expect("PATCH", opsURL, admin, map[string]any{"telegram_bot_token": "123:SECRET", "slack_token": "xoxb-SECRET"}, 200)
		if !strings.Contains(string(r.Body), `"call_statistics":true`) {
			t.Fatalf("Pro Plus without call statistics: %s", r.Body)
		}
		if strings.Contains(string(r.Body), "SECRET") || !strings.Contains(string(r.Body), `"telegram_bot_token_set":true`) {
			t.Fatalf("operations: %s", r.Body)
		}
		var u roster.User
		e.expect("GET", path("/api/v1/users/%d", empID), admin, nil, 200).JSON(t, &u)
		if u.CallsHandled == nil || *u.CallsHandled != 1 {
			t.Fatalf("calls handled %v", u.CallsHandled)
		}
		tg, _, err := e.store.CompanyTokens(context.Background(), e.acme.ID)
		must(t, err)
		if tg == "" || strings.Contains(tg, "SECRET") {
			t.Fatalf("token stored in clear: %q", tg)
		}
		r = e.expect("GET", path("/api/v1/events?type=company.operations_changed"), admin, nil, 200)
		if strings.Contains(string(r.Body), "SECRET") {
			t.Fatalf("event leaks token: %s", r.Body)
		}
	})
}
