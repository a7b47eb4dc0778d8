package panel

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestUsersPosition: the pager says where the reader is, "of more than"
// when the count stopped at its cap (issue 12, item 4).
func TestUsersPosition(t *testing.T) {
	items := make([]*roster.User, 50)
	for _, c := range []struct {
		lang   string
		offset int
		total  int
		capped bool
		want   string
	}{
		{"en", 50, 20000, false, "51–100 of 20,000"},
		{"ru", 50, 20000, false, "51–100 из 20\u202f000"},
		{"en", 50, 10000, true, "51–100 of more than 10,000"},
		{"ru", 50, 10000, true, "51–100 из более чем 10\u202f000"},
		{"en", 0, 7, false, "1–50 of 50"},
	} {
		v := &usersView{page: &page{Lang: c.lang}, Result: &roster.UserPage{Items: items, Offset: c.offset, Total: c.total, TotalCapped: c.capped}}
		if got := v.Position(); got != c.want {
			t.Errorf("%s %d/%d capped %v: %q, want %q", c.lang, c.offset, c.total, c.capped, got, c.want)
		}
	}
}

// TestUsersWorkspaceHandlers: the parts of issue 12 that work without
// scripts, on both engines.
func TestUsersWorkspaceHandlers(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		const get, post = http.MethodGet, http.MethodPost
		ru := map[string]string{"Accept-Language": "ru"}
		runScenario(t, f, []step{
			{name: "bulk with nothing selected", as: "admin", method: post, path: "/users/bulk", form: url.Values{"action": {"block"}}, wantStatus: 303, wantLocation: "/users?"},
			{name: "says why nothing happened", as: "admin", method: get, path: "/users", wantStatus: 200, want: []string{"Nothing was done: no users were selected."}},
			{name: "bulk without an action", as: "admin", method: post, path: "/users/bulk", form: url.Values{"id": {"{olga}"}}, wantStatus: 303},
			{name: "says to choose one", as: "admin", method: get, path: "/users", wantStatus: 200, want: []string{"Nothing was done: choose an action first."}},
			{name: "bulk button names action and count", as: "admin", method: post, path: "/users/bulk", form: url.Values{"action": {"delete"}, "id": {"{olga}", "{boris}", "{ivan}"}}, wantStatus: 200, want: []string{"Delete 3 users"}},
			{name: "refusal offers to skip", as: "admin", method: post, path: "/users/bulk", form: url.Values{"action": {"block"}, "id": {"{olga}", "{admin}"}, "comment": {"audit"}, "confirm": {"1"}}, wantStatus: 409,
				want: []string{"You cannot block or delete your own account.", "Skip 1 user and continue", `name="skip" value="{admin}"`}},
			{name: "skip and continue", as: "admin", method: post, path: "/users/bulk", form: url.Values{"action": {"block"}, "id": {"{olga}", "{admin}"}, "skip": {"{admin}"}, "comment": {"audit"}, "confirm": {"1"}}, wantStatus: 303},
			{name: "skipped", as: "admin", method: get, path: "/users/{olga}", wantStatus: 200, want: []string{"1 user blocked.", "Blocked by Anna Petrova on", "“audit”"}},
			{name: "the block confirmation works without scripts", as: "admin", method: get, path: "/users/{boris}/block?return=/users%3Fstatus%3Dactive", wantStatus: 200,
				want: []string{"Block Boris Kuznetsov", "will be signed out at once", `name="return" value="/users?status=active"`, `action="/users/{boris}/block"`}},
			{name: "block returns to the list", as: "admin", method: post, path: "/users/{boris}/block", form: url.Values{"comment": {"x"}, "return": {"/users?status=active"}}, wantStatus: 303, wantLocation: "/users?status=active"},
			{name: "a return elsewhere is refused", as: "admin", method: post, path: "/users/{ivan}/block", form: url.Values{"comment": {"x"}, "return": {"//evil.test/"}}, wantStatus: 303, wantLocation: "/users/{ivan}"},
			{name: "nothing to unblock", as: "admin", method: get, path: "/users/{agent}/unblock", wantStatus: 409},
			{name: "no confirmation for oneself", as: "admin", method: get, path: "/users/{admin}/delete", wantStatus: 403},
			{name: "nor without the permission", as: "dispatcher", method: get, path: "/users/{agent}/block", wantStatus: 403},
			{name: "Russian comment error", as: "admin", method: post, path: "/users/{agent}/block", form: url.Values{"comment": {""}}, header: ru, wantStatus: 422, want: []string{"Напишите комментарий."}, notWant: []string{"Enter a comment"}},
			{name: "Russian role error", as: "admin", method: post, path: "/users", form: url.Values{"auth_method": {"email"}, "email": {"x@northwind.test"}, "credentials": {"invitation"}, "list": {"/users"}}, header: ru, wantStatus: 422,
				want: []string{"Выберите хотя бы одну роль.", `id="add-user"`, "data-open"}},
			{name: "columns are remembered", as: "admin", method: post, path: "/users/columns", form: url.Values{"col": {"creator", "nonsense"}, "return": {"/users"}}, wantStatus: 303, wantLocation: "/users"},
			{name: "creator column", as: "admin", method: get, path: "/users", wantStatus: 200, want: []string{`<th scope="col">Created by</th>`, `value="creator" form="columns-form" checked`}},
			{name: "sort by status", as: "admin", method: get, path: "/users?sort=-status", wantStatus: 200, want: []string{`aria-sort="descending"`, `<option value="-status" selected>`}},
		})
	})
}
