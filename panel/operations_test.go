package panel

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// opsFixture adds operations data to a fixture: an agent group manager,
// a user who sees clients masked, a queue, two agent groups (the manager
// manages only Team A), a client tag and a client.
type opsFixture struct {
	*fixture
	queue, teamA, teamB *roster.WorkGroup
	tag                 *roster.ClientTag
	client              *roster.Client
}

func newOpsFixture(t testing.TB, s *sqlstore.Store, clock *sqlstoretest.Clock) *opsFixture {
	t.Helper()
	ctx := context.Background()
	f := &opsFixture{fixture: newFixture(t, s, clock)}
	r := f.reseller.ID
	for name, spec := range map[string]struct {
		email, first, last, role string
	}{
		"agm":    {"greta@northwind.test", "Greta", "Lind", roster.RoleAgentGroupManager},
		"masked": {"mark@northwind.test", "Mark", "Hidden", roster.RoleEmployee},
	} {
		u := &roster.User{CompanyID: r, AuthMethod: roster.AuthEmail, Email: spec.email, FirstName: spec.first, LastName: spec.last,
			PasswordHash: f.users["admin"].PasswordHash}
		if err := s.CreateUser(ctx, u, []int64{f.roles[spec.role].ID}, nil, clock.Now()); err != nil {
			t.Fatal(err)
		}
		f.users[name] = u
	}
	yes := true
	if _, err := s.UpdateOperator(ctx, roster.Scope{All: true}, f.users["masked"].ID, roster.OperatorUpdate{MaskData: &yes}); err != nil {
		t.Fatal(err)
	}
	mk := func(kind, name string, managers ...int64) *roster.WorkGroup {
		g := &roster.WorkGroup{CompanyID: r, Kind: kind, Name: name, ManagerIDs: managers}
		if err := s.CreateWorkGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		return g
	}
	f.queue = mk(roster.KindQueue, "Night queue")
	f.teamA = mk(roster.KindAgentGroup, "Team A", f.users["agm"].ID)
	f.teamB = mk(roster.KindAgentGroup, "Team B")
	f.tag = &roster.ClientTag{CompanyID: r, Name: "VIP"}
	if err := s.CreateClientTag(ctx, f.tag); err != nil {
		t.Fatal(err)
	}
	name, email, phone, country, tags := "Zed Quartermain", "zed@client.test", "+49 30 1234567", "DE", []int64{f.tag.ID}
	c, err := s.CreateClient(ctx, r, roster.ClientInput{Name: &name, Email: &email, Phone: &phone, Country: &country, TagIDs: &tags})
	if err != nil {
		t.Fatal(err)
	}
	f.client = c
	return f
}

// expandOps replaces the operations placeholders in steps: {queue},
// {teamA}, {teamB}, {tag}, {client}.
func (f *opsFixture) expandOps(steps []step) []step {
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	rep := strings.NewReplacer("{queue}", id(f.queue.ID), "{teamA}", id(f.teamA.ID), "{teamB}", id(f.teamB.ID),
		"{tag}", id(f.tag.ID), "{client}", id(f.client.ID))
	for i := range steps {
		st := &steps[i]
		st.path, st.wantLocation = rep.Replace(st.path), rep.Replace(st.wantLocation)
		for j := range st.want {
			st.want[j] = rep.Replace(st.want[j])
		}
		for j := range st.notWant {
			st.notWant[j] = rep.Replace(st.notWant[j])
		}
		form := url.Values{}
		for k, vs := range st.form {
			for _, v := range vs {
				form.Add(rep.Replace(k), rep.Replace(v))
			}
		}
		if st.form != nil {
			st.form = form
		}
	}
	return steps
}

func TestOperationsScenarios(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newOpsFixture(t, s, clock)
		const get, post = http.MethodGet, http.MethodPost
		ru := map[string]string{"Accept-Language": "ru"}
		run := func(steps []step) { t.Helper(); runScenario(t, f.fixture, f.expandOps(steps)) }
		t.Run("Queues", func(t *testing.T) {
			run([]step{
				{name: "list", as: "admin", method: get, path: "/queues", wantStatus: 200, want: []string{"Night queue", "New queue", `href="/queues/{queue}"`, `aria-current="page">Queues`}},
				{name: "create needs a name", as: "admin", method: post, path: "/queues", form: url.Values{"name": {"  "}}, wantStatus: 422, want: []string{"This field is required."}},
				{name: "create", as: "admin", method: post, path: "/queues", form: url.Values{"name": {"Day queue"}}, wantStatus: 303},
				{name: "duplicate", as: "admin", method: post, path: "/queues", form: url.Values{"name": {"Day queue"}}, wantStatus: 409, want: []string{"This is already taken."}},
				{name: "queue page with picker", as: "admin", method: get, path: "/queues/{queue}", wantStatus: 200,
					want:    []string{"Add agents to this queue", `name="user_ids" value="{olga}"`, `name="user_ids" value="{boris}"`, "/queues/{queue}/delete"},
					notWant: []string{`value="{blocked}"`, `value="{hugo}"`}},
				{name: "picker search without JavaScript", as: "admin", method: get, path: "/queues/{queue}?q=kuzn", wantStatus: 200, want: []string{`value="{boris}"`}, notWant: []string{`value="{olga}"`}},
				{name: "add needs a choice", as: "admin", method: post, path: "/queues/{queue}/members", form: url.Values{}, wantStatus: 422, want: []string{"Choose at least one user."}},
				{name: "add two agents", as: "admin", method: post, path: "/queues/{queue}/members", form: url.Values{"user_ids": {"{olga}", "{boris}"}}, wantStatus: 303, wantLocation: "/queues/{queue}"},
				{name: "added", as: "admin", method: get, path: "/queues/{queue}", wantStatus: 200, want: []string{"2 members added.", `href="/users/{olga}"`, `name="user_id" value="{boris}"`}, notWant: []string{`name="user_ids" value="{olga}"`}},
				{name: "members show login and status", as: "admin", method: get, path: "/queues/{queue}", wantStatus: 200,
					want: []string{`<div class="sub muted">olga@northwind.test</div>`, `<div class="sub muted">boris@northwind.test</div>`, `<span class="badge badge-active">`}},
				{name: "members in Russian", as: "admin", method: get, path: "/queues/{queue}", header: ru, wantStatus: 200, want: []string{"<th>Статус</th>", "Актив"}},
				{name: "blocked user refused", as: "admin", method: post, path: "/queues/{queue}/members", form: url.Values{"user_ids": {"{blocked}"}}, wantStatus: 422},
				{name: "filter users by queue", as: "admin", method: get, path: "/users?queue={queue}", wantStatus: 200, want: []string{"Olga Ivanova", "Boris Kuznetsov", "Night queue", `<option value="{queue}" selected>`}, notWant: []string{"Ivan Sidorov"}},
				{name: "filter users in no queue", as: "admin", method: get, path: "/users?queue=none", wantStatus: 200, want: []string{"Ivan Sidorov", `value="none" selected`}, notWant: []string{"Olga Ivanova", "Bella Stone"}},
				{name: "presence column chosen", as: "admin", method: post, path: "/users/columns", form: url.Values{"col": {"presence"}}, wantStatus: 303},
				{name: "queue and presence columns", as: "admin", method: get, path: "/users", wantStatus: 200, want: []string{"In no queue", `class="presence presence-offline">Offline`}, notWant: []string{"Calls handled"}},
				{name: "in Russian", as: "admin", method: get, path: "/users?queue=none", header: ru, wantStatus: 200, want: []string{"Вне очередей", "Не в сети"}},
				{name: "user card shows queues", as: "admin", method: get, path: "/users/{olga}", wantStatus: 200, want: []string{"Night queue", "Offline", "Operator settings"}},
				{name: "remove a member", as: "admin", method: post, path: "/queues/{queue}/members/remove", form: url.Values{"user_id": {"{boris}"}}, wantStatus: 303},
				{name: "removed", as: "admin", method: get, path: "/queues/{queue}", wantStatus: 200, want: []string{"1 member removed.", `name="user_ids" value="{boris}"`}},
				{name: "rename", as: "admin", method: post, path: "/queues/{queue}", form: url.Values{"name": {"Late queue"}}, wantStatus: 303},
				{name: "renamed", as: "admin", method: get, path: "/queues/{queue}", wantStatus: 200, want: []string{"Late queue", "Renamed."}},
				{name: "dispatcher reads without buttons", as: "dispatcher", method: get, path: "/queues/{queue}", wantStatus: 200, want: []string{"Olga Ivanova"}, notWant: []string{"/members\"", "/delete", `name="user_id"`, "New queue"}},
				{name: "dispatcher cannot add", as: "dispatcher", method: post, path: "/queues/{queue}/members", form: url.Values{"user_ids": {"{ivan}"}}, wantStatus: 403},
				{name: "dispatcher cannot create", as: "dispatcher", method: post, path: "/queues", form: url.Values{"name": {"X"}}, wantStatus: 403},
				{name: "employee cannot see queues", as: "olga", method: get, path: "/queues", wantStatus: 403},
				{name: "another company's queue", as: "hugo", method: get, path: "/queues/{queue}", wantStatus: 404},
				{name: "shifts page", as: "admin", method: get, path: "/shifts", wantStatus: 200, want: []string{"No shifts yet.", "New shift"}},
				{name: "shifts in Russian", as: "admin", method: get, path: "/shifts", header: ru, wantStatus: 200, want: []string{"Смен пока нет.", "Новая смена"}},
			})
		})
		t.Run("AgentGroupManagerScope", func(t *testing.T) {
			run([]step{
				{name: "sees only the groups they manage", as: "agm", method: get, path: "/agent-groups", wantStatus: 200, want: []string{"Team A"}, notWant: []string{"Team B", "New agent group"}},
				{name: "another group is not found", as: "agm", method: get, path: "/agent-groups/{teamB}", wantStatus: 404},
				{name: "own group: add agents, no delete", as: "agm", method: get, path: "/agent-groups/{teamA}", wantStatus: 200, want: []string{"Add agents to this group", "Greta Lind"}, notWant: []string{"/delete", "/managers"}},
				{name: "adds to own group", as: "agm", method: post, path: "/agent-groups/{teamA}/members", form: url.Values{"user_ids": {"{ivan}"}}, wantStatus: 303},
				{name: "cannot add to another group", as: "agm", method: post, path: "/agent-groups/{teamB}/members", form: url.Values{"user_ids": {"{ivan}"}}, wantStatus: 404},
				{name: "cannot create", as: "agm", method: post, path: "/agent-groups", form: url.Values{"name": {"Team C"}}, wantStatus: 403},
				{name: "cannot rename", as: "agm", method: post, path: "/agent-groups/{teamA}", form: url.Values{"name": {"Mine"}}, wantStatus: 403},
				{name: "cannot delete", as: "agm", method: post, path: "/agent-groups/{teamA}/delete", wantStatus: 403},
				{name: "cannot choose managers", as: "agm", method: post, path: "/agent-groups/{teamA}/managers", form: url.Values{"manager_ids": {"{agm}"}}, wantStatus: 403},
				{name: "cannot touch queues", as: "agm", method: post, path: "/queues/{queue}/members", form: url.Values{"user_ids": {"{ivan}"}}, wantStatus: 403},
				{name: "admin sees both", as: "admin", method: get, path: "/agent-groups", wantStatus: 200, want: []string{"Team A", "Team B", "New agent group"}},
				{name: "admin makes them manager of Team B", as: "admin", method: post, path: "/agent-groups/{teamB}/managers", form: url.Values{"manager_ids": {"{agm}"}}, wantStatus: 303},
				{name: "now they see Team B", as: "agm", method: get, path: "/agent-groups/{teamB}", wantStatus: 200, want: []string{"Team B"}},
				{name: "admin deletes Team B", as: "admin", method: post, path: "/agent-groups/{teamB}/delete", wantStatus: 303, wantLocation: "/agent-groups"},
			})
		})
		t.Run("OperatorSettings", func(t *testing.T) {
			run([]step{
				{name: "bad country", as: "admin", method: post, path: "/users/{olga}/operations", form: url.Values{"max_dialogues": {"300"}, "countries_mode": {"only"}, "countries": {"Germany"}}, wantStatus: 422, want: []string{"two-letter ISO 3166-1 code", `value="Germany"`}},
				{name: "bad maximum", as: "admin", method: post, path: "/users/{olga}/operations", form: url.Values{"max_dialogues": {"-1"}}, wantStatus: 422, want: []string{"The value is out of range."}},
				{name: "save", as: "admin", method: post, path: "/users/{olga}/operations", form: url.Values{"max_dialogues": {"300"}, "countries_mode": {"except"}, "countries": {"de, fr"}, "client_tags": {"{tag}"}, "mask_data": {"1"}}, wantStatus: 303, wantLocation: "/users/{olga}"},
				{name: "saved", as: "admin", method: get, path: "/users/{olga}", wantStatus: 200, want: []string{"Operator settings saved.", "All except these: Germany (DE), France (FR)", "VIP", `name="max_dialogues" type="number" min="0" max="10000" step="1" value="300"`}},
				{name: "saved, in Russian", as: "admin", method: get, path: "/users/{olga}", header: ru, wantStatus: 200, want: []string{"Все, кроме этих: Германия (DE), Франция (FR)", "Настройки оператора"}},
				{name: "dispatcher sees no form", as: "dispatcher", method: get, path: "/users/{olga}", wantStatus: 200, want: []string{"Client data masked"}, notWant: []string{"/users/{olga}/operations"}},
				{name: "dispatcher refused", as: "dispatcher", method: post, path: "/users/{olga}/operations", form: url.Values{"max_dialogues": {"1"}}, wantStatus: 403},
				{name: "not for oneself", as: "admin", method: post, path: "/users/{admin}/operations", form: url.Values{"max_dialogues": {"1"}, "mask_data": {""}}, wantStatus: 403},
			})
		})
		t.Run("Clients", func(t *testing.T) {
			run([]step{
				{name: "list", as: "admin", method: get, path: "/clients", wantStatus: 200, want: []string{"Zed Quartermain", "zed@client.test", "49 30 1234567", "VIP", "Add client"}},
				{name: "search", as: "admin", method: get, path: "/clients?q=quarter", wantStatus: 200, want: []string{"Zed Quartermain", "1 client"}},
				{name: "tag filter", as: "admin", method: get, path: "/clients?tag={tag}", wantStatus: 200, want: []string{"Zed Quartermain"}},
				{name: "country filter", as: "admin", method: get, path: "/clients?country=fr", wantStatus: 200, want: []string{"No clients match."}, notWant: []string{"Zed Quartermain"}},
				{name: "create with a bad e-mail", as: "admin", method: post, path: "/clients", form: url.Values{"name": {"Amy Pond"}, "email": {"nope"}}, wantStatus: 422, want: []string{"Enter a valid e-mail address", `value="Amy Pond"`}},
				{name: "create", as: "admin", method: post, path: "/clients", form: url.Values{"name": {"Amy Pond"}, "email": {"amy@client.test"}, "country": {"gb"}}, wantStatus: 303},
				{name: "client page", as: "admin", method: get, path: "/clients/{client}", wantStatus: 200, want: []string{"Zed Quartermain", "Edit client", "/clients/{client}/delete"}},
				{name: "edit", as: "admin", method: post, path: "/clients/{client}", form: url.Values{"name": {"Zed Quartermain"}, "email": {"zed@client.test"}, "phone": {"+49 30 7654321"}, "country": {"DE"}, "tag_ids": {"{tag}"}}, wantStatus: 303},
				{name: "edited", as: "admin", method: get, path: "/clients/{client}", wantStatus: 200, want: []string{"Client saved.", "49 30 7654321"}},
				{name: "masked list never has real values", as: "masked", method: get, path: "/clients", wantStatus: 200, want: []string{"****", "masked for you"},
					notWant: []string{"Zed", "Quartermain", "zed@client.test", "7654321", "Amy Pond", "amy@client.test", "Add client"}},
				{name: "masked search by name finds nothing", as: "masked", method: get, path: "/clients?q=zed", wantStatus: 200, want: []string{"No clients match."}, notWant: []string{"Quartermain"}},
				{name: "masked search by e-mail finds nothing", as: "masked", method: get, path: "/clients?q=zed%40client", wantStatus: 200, notWant: []string{"Quartermain", "zed@client.test"}},
				{name: "masked client page", as: "masked", method: get, path: "/clients/{client}", wantStatus: 200, want: []string{"****", "DE"}, notWant: []string{"Zed", "Quartermain", "zed@client.test", "7654321", "Edit client", "/delete"}},
				{name: "masked cannot create", as: "masked", method: post, path: "/clients", form: url.Values{"name": {"X"}}, wantStatus: 403},
				{name: "masked cannot edit", as: "masked", method: post, path: "/clients/{client}", form: url.Values{"name": {"X"}}, wantStatus: 403},
				{name: "masked cannot delete", as: "masked", method: post, path: "/clients/{client}/delete", wantStatus: 403},
				{name: "masked in Russian", as: "masked", method: get, path: "/clients", header: ru, wantStatus: 200, want: []string{"скрыты"}, notWant: []string{"Quartermain"}},
				{name: "no clients.view", as: "agm", method: get, path: "/clients", wantStatus: 403},
				{name: "delete", as: "admin", method: post, path: "/clients/{client}/delete", wantStatus: 303, wantLocation: "/clients"},
				{name: "deleted", as: "admin", method: get, path: "/clients/{client}", wantStatus: 404},
			})
		})
		t.Run("ClientTags", func(t *testing.T) {
			run([]step{
				{name: "list", as: "admin", method: get, path: "/client-tags", wantStatus: 200, want: []string{"VIP", "Add tag", `action="/client-tags/{tag}/delete"`, `href="/client-tags?edit={tag}"`}, notWant: []string{`action="/client-tags/{tag}" `}},
				{name: "edit opens the row's form", as: "admin", method: get, path: "/client-tags?edit={tag}", wantStatus: 200, want: []string{`action="/client-tags/{tag}"`, `id="t-{tag}" name="name" value="VIP"`}},
				{name: "edit in Russian", as: "admin", method: get, path: "/client-tags", header: ru, wantStatus: 200, want: []string{"Изменить"}},
				{name: "add", as: "admin", method: post, path: "/client-tags", form: url.Values{"name": {"Wholesale"}}, wantStatus: 303},
				{name: "duplicate", as: "admin", method: post, path: "/client-tags", form: url.Values{"name": {"Wholesale"}}, wantStatus: 409, want: []string{"already"}},
				{name: "rename", as: "admin", method: post, path: "/client-tags/{tag}", form: url.Values{"name": {"Gold"}}, wantStatus: 303},
				{name: "renamed", as: "admin", method: get, path: "/client-tags", wantStatus: 200, want: []string{"Tag renamed.", "Gold", "Wholesale"}},
				{name: "dispatcher reads only", as: "dispatcher", method: get, path: "/client-tags", wantStatus: 200, want: []string{"Gold"}, notWant: []string{"Add tag", "/delete", "?edit="}},
				{name: "dispatcher gets no edit form", as: "dispatcher", method: get, path: "/client-tags?edit={tag}", wantStatus: 200, notWant: []string{`action="/client-tags/`}},
				{name: "dispatcher cannot add", as: "dispatcher", method: post, path: "/client-tags", form: url.Values{"name": {"X"}}, wantStatus: 403},
				{name: "dispatcher cannot delete", as: "dispatcher", method: post, path: "/client-tags/{tag}/delete", wantStatus: 403},
				{name: "in Russian", as: "admin", method: get, path: "/client-tags", header: ru, wantStatus: 200, want: []string{"Метки клиентов", "Добавить метку"}},
				{name: "delete", as: "admin", method: post, path: "/client-tags/{tag}/delete", wantStatus: 303},
			})
		})
		t.Run("CompanySettings", func(t *testing.T) {
			const secret = "123456:AAE-very-secret-token"
			run([]step{
				{name: "page", as: "admin", method: get, path: "/settings/operations", wantStatus: 200, want: []string{"Call statistics", "Not set", `name="telegram_bot_token" type="password"`,
					// A section of the one Settings place, beside sign-in and passwords.
					`<a href="/settings/credentials">Sign-in and passwords</a><a href="/settings/operations" aria-current="page">Operations and notifications</a>`}},
				{name: "save", as: "admin", method: post, path: "/settings/operations", form: url.Values{"call_statistics": {"1"}, "telegram_bot_token": {secret}}, wantStatus: 303},
				{name: "token set, never shown", as: "admin", method: get, path: "/settings/operations", wantStatus: 200, want: []string{"Settings saved.", ">Set<", "Remove the token"}, notWant: []string{secret, "very-secret"}},
				{name: "call statistics follow the plan", as: "admin", method: get, path: "/settings/operations", wantStatus: 200, want: []string{"only the Main administrator changes the plan", `name="call_statistics" value="1" disabled`}},
				{name: "only the Main administrator sets the plan", as: "admin", method: post, path: "/companies/{reseller}/settings", form: url.Values{"plan": {"professional"}}, wantStatus: 403},
				{name: "plan on the companies page", as: "main", method: get, path: "/companies", wantStatus: 200, want: []string{`action="/companies/{reseller}/settings"`, "Pro Plus", "Reseller: its administrators appoint"}},
				{name: "plan in Russian", as: "main", method: get, path: "/companies", header: ru, wantStatus: 200, want: []string{"Тариф", "Реселлер"}},
				{name: "Main administrator sets Professional", as: "main", method: post, path: "/companies/{reseller}/settings", form: url.Values{"plan": {"professional"}, "reseller": {"1"}}, wantStatus: 303},
				{name: "calls handled column", as: "admin", method: get, path: "/users", wantStatus: 200, want: []string{"Calls handled"}},
				{name: "calls on the card", as: "admin", method: get, path: "/users/{olga}", wantStatus: 200, want: []string{"Calls handled"}},
				{name: "remove the token", as: "admin", method: post, path: "/settings/operations", form: url.Values{"call_statistics": {"1"}, "telegram_bot_token_remove": {"1"}}, wantStatus: 303},
				{name: "removed", as: "admin", method: get, path: "/settings/operations", wantStatus: 200, want: []string{"Not set"}},
				{name: "in Russian", as: "admin", method: get, path: "/settings/operations", header: ru, wantStatus: 200, want: []string{"Статистика звонков", "Не задан"}},
				{name: "dispatcher reads without a form", as: "dispatcher", method: get, path: "/settings/operations", wantStatus: 200,
					want: []string{"Call statistics", "Not set", "You may read these settings"}, notWant: []string{`action="/settings/operations"`, `name="telegram_bot_token"`}},
				{name: "dispatcher cannot save", as: "dispatcher", method: post, path: "/settings/operations", form: url.Values{"call_statistics": {"0"}}, wantStatus: 403},
			})
		})
		t.Run("Notifications", func(t *testing.T) {
			run([]step{
				{name: "matrix", as: "admin", method: get, path: "/profile/notifications", wantStatus: 200, want: []string{"User blocked", `value="user.blocked/telegram"`, "Telegram chat ID"}},
				{name: "telegram needs a chat id", as: "admin", method: post, path: "/profile/notifications", form: url.Values{"sub": {"user.blocked/telegram"}}, wantStatus: 422, want: []string{"Give a Telegram chat ID to receive Telegram notifications.", `value="user.blocked/telegram" checked`}},
				{name: "save", as: "admin", method: post, path: "/profile/notifications", form: url.Values{"sub": {"user.blocked/email", "user.blocked/telegram", "user.deleted/slack"}, "telegram_chat_id": {"-100200300"}, "slack_channel_id": {"C0123"}}, wantStatus: 303},
				{name: "saved", as: "admin", method: get, path: "/profile/notifications", wantStatus: 200, want: []string{"Notification settings saved.", `value="user.blocked/email" checked`, `value="user.deleted/slack" checked`, `value="-100200300"`}, notWant: []string{`value="user.created/email" checked`}},
				{name: "in Russian", as: "admin", method: get, path: "/profile/notifications", header: ru, wantStatus: 200, want: []string{"Уведомления", "Пользователь заблокирован"}},
				{name: "an employee may not subscribe", as: "olga", method: post, path: "/profile/notifications", form: url.Values{"sub": {"user.blocked/email"}}, wantStatus: 403},
				{name: "an employee sees why", as: "olga", method: get, path: "/profile/notifications", wantStatus: 200, want: []string{"your roles do not let you receive them", "disabled"}},
			})
		})
		t.Run("FailedDeliveries", func(t *testing.T) {
			ctx := context.Background()
			if _, err := s.BlockUser(ctx, roster.Scope{All: true}, f.users["ivan"].ID, "test"); err != nil {
				t.Fatal(err)
			}
			failed := 0
			for id := int64(1); id < 50; id++ {
				d, err := s.DeliveryByID(ctx, id)
				if err != nil {
					continue
				}
				if d.CompanyID == f.reseller.ID && d.Channel == roster.ChannelTelegram {
					if err := s.RecordDeliveryAttempt(ctx, id, "telegram: 401 Unauthorized"); err != nil {
						t.Fatal(err)
					}
					failed++
				}
			}
			if failed == 0 {
				t.Fatal("no telegram delivery was written for the block")
			}
			run([]step{
				{name: "list", as: "admin", method: get, path: "/notifications/failed", wantStatus: 200, want: []string{"telegram: 401 Unauthorized", "-100200300", "Retrying", "User blocked"}},
				{name: "in Russian", as: "admin", method: get, path: "/notifications/failed", header: ru, wantStatus: 200, want: []string{"Недоставленные", "Повторяется", "Последняя попытка не удалась.", `<code lang="en">telegram: 401 Unauthorized</code>`}},
				{name: "dispatcher refused", as: "dispatcher", method: get, path: "/notifications/failed", wantStatus: 403},
			})
		})
		t.Run("EventLabels", func(t *testing.T) {
			run([]step{
				{name: "English", as: "admin", method: get, path: "/events?type=work_group.member_added", wantStatus: 200, want: []string{"Added to a group"}},
				{name: "Russian", as: "admin", method: get, path: "/events?type=work_group.member_added", header: ru, wantStatus: 200, want: []string{"Добавлен в группу"}},
				{name: "client events", as: "admin", method: get, path: "/events?type=client.created", wantStatus: 200, want: []string{"Client added"}},
			})
		})
		t.Run("Navigation", func(t *testing.T) {
			run([]step{
				{name: "admin menu", as: "admin", method: get, path: "/users", wantStatus: 200, want: []string{`href="/queues"`, ">Operations<", `href="/clients"`}},
				{name: "employee menu", as: "olga", method: get, path: "/profile", wantStatus: 200, want: []string{`href="/clients"`}, notWant: []string{">Operations<"}},
				{name: "agent group manager menu", as: "agm", method: get, path: "/agent-groups", wantStatus: 200, want: []string{">Operations<"}, notWant: []string{`href="/clients"`, `href="/settings/operations"`}},
			})
		})
	})
}
