package sqlstore_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

func ids(us []*roster.User) []int64 {
	var out []int64
	for _, u := range us {
		out = append(out, u.ID)
	}
	return out
}

func TestUserSearch(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		scope := roster.Scope{CompanyIDs: []int64{f.co.ID}}
		ivan := f.user(f.co.ID, "Иван", "Петров", "dispatcher")
		anna := f.user(f.co.ID, "Anna", "Karenina", "employee")
		em := &roster.User{CompanyID: f.co.ID, AuthMethod: roster.AuthEmail, Email: "boris.godunov@example.org",
			WorkPhone: "+44 20 7946 0958"}
		must(t, s.CreateUser(f.ctx, em, []int64{f.roles["employee"].ID}, nil, time.Time{}))
		other := f.company("Other", nil)
		f.user(other.ID, "Иван", "Чужой", "employee") // outside the scope
		search := func(q string) []int64 {
			t.Helper()
			p, err := s.Users(f.ctx, scope, roster.UserFilter{Query: q})
			must(t, err)
			if p.Total != len(p.Items) {
				t.Fatalf("q=%q: total %d, items %d", q, p.Total, len(p.Items))
			}
			return ids(p.Items)
		}
		for _, tc := range []struct {
			q    string
			want []int64
		}{
			{"иван", []int64{ivan.ID}},
			{"ИВА", []int64{ivan.ID}},
			{"ПЕТР", []int64{ivan.ID}},
			{"иван петров", []int64{ivan.ID}},
			{"ив", []int64{ivan.ID}},
			{"kaRen", []int64{anna.ID}},
			{"NNA", []int64{anna.ID}},
			{"godunov@ex", []int64{em.ID}},
			{anna.Login, []int64{anna.ID}},
			{"7946 09", []int64{em.ID}},
			{"794609", []int64{em.ID}},
			{fmt.Sprint(em.ID), []int64{em.ID}},
			{"zzz", nil},
			{"%", nil},
			{"_", nil},
		} {
			if got := search(tc.q); !slices.Equal(got, tc.want) {
				t.Errorf("q=%q: got %v, want %v", tc.q, got, tc.want)
			}
		}
		// Creation order, both ways, paged: on SQLite straight from the index.
		var more []int64
		for i := range 7 {
			more = append(more, f.user(f.co.ID, "Ivan", fmt.Sprintf("Ivanov%d", i), "dispatcher").ID)
		}
		for _, sort := range []string{"created_at", "-created_at"} {
			var got []int64
			cur := ""
			for {
				p, err := s.Users(f.ctx, scope, roster.UserFilter{Query: "IVANOV", Sort: sort, Limit: 3, Cursor: cur})
				must(t, err)
				if p.Total != 7 || p.Sort != sort {
					t.Fatalf("%s: total %d, sort %s", sort, p.Total, p.Sort)
				}
				got = append(got, ids(p.Items)...)
				if cur = p.NextCursor; cur == "" {
					break
				}
			}
			want := slices.Clone(more)
			if sort[0] == '-' {
				slices.Reverse(want)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: got %v, want %v", sort, got, want)
			}
		}
		blocked := roster.StatusBlocked
		_, err := s.BlockUser(f.ctx, scope, more[2], "x")
		must(t, err)
		p, err := s.Users(f.ctx, scope, roster.UserFilter{Query: "ivanov", Sort: "-created_at", Status: blocked})
		must(t, err)
		if p.Total != 1 || len(p.Items) != 1 || p.Items[0].ID != more[2] {
			t.Fatalf("blocked ivanovs = %+v", p)
		}
		got, err := s.UserIDs(f.ctx, scope, roster.UserFilter{Query: "ivanov", Sort: "created_at"}, 100)
		must(t, err)
		if len(got) != 7 {
			t.Fatalf("UserIDs = %v", got)
		}
	})
}

func TestUserFiltersAndPaging(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		scope := roster.Scope{CompanyIDs: []int64{f.co.ID}}
		var made []*roster.User
		names := []string{"Zoe", "adam", "Ёжик", "Bob", "bob", "Carl", "Дима", "Eve", "Frank", "Gina", "Hugo"}
		// Last names sort the list before first names (issue 12).
		lasts := []string{"Yang", "Young", "Ёлкин", "Abbot", "abbot", "Xu", "Абрамов", "X", "X", "X", "Ward"}
		for i, n := range names {
			c.Advance(time.Minute)
			made = append(made, f.user(f.co.ID, n, lasts[i], "dispatcher"))
		}
		// Some sign in, two at the same time (the id breaks the tie).
		for _, i := range []int{3, 7, 1, 9, 5} {
			if i != 9 {
				c.Advance(time.Minute)
			}
			must(t, s.RecordSignIn(f.ctx, made[i].ID))
		}
		c.Advance(time.Minute)
		pending := &roster.User{CompanyID: f.co.ID, AuthMethod: roster.AuthEmail, Email: "pending@example.com"}
		must(t, s.CreateUser(f.ctx, pending, []int64{f.roles["employee"].ID}, []byte("p"), c.Now().Add(time.Hour)))
		expired := &roster.User{CompanyID: f.co.ID, AuthMethod: roster.AuthEmail, Email: "expired@example.com"}
		must(t, s.CreateUser(f.ctx, expired, []int64{f.roles["employee"].ID}, []byte("e"), c.Now().Add(-time.Minute)))
		accepted := &roster.User{CompanyID: f.co.ID, AuthMethod: roster.AuthEmail, Email: "accepted@example.com"}
		must(t, s.CreateUser(f.ctx, accepted, []int64{f.roles["employee"].ID}, []byte("a"), c.Now().Add(time.Hour)))
		must(t, s.ChangeOwnPassword(f.ctx, accepted.ID, "h"))
		_, err := s.BlockUser(f.ctx, scope, made[0].ID, "x")
		must(t, err)
		list := func(fl roster.UserFilter) *roster.UserPage {
			t.Helper()
			p, err := s.Users(f.ctx, scope, fl)
			must(t, err)
			return p
		}
		if got := ids(list(roster.UserFilter{Status: roster.StatusBlocked}).Items); !slices.Equal(got, []int64{made[0].ID}) {
			t.Errorf("blocked = %v", got)
		}
		if got := ids(list(roster.UserFilter{Invitation: roster.InvitationPending}).Items); !slices.Equal(got, []int64{pending.ID}) {
			t.Errorf("pending = %v", got)
		}
		if got := ids(list(roster.UserFilter{Invitation: roster.InvitationExpired}).Items); !slices.Equal(got, []int64{expired.ID}) {
			t.Errorf("expired = %v", got)
		}
		if got := ids(list(roster.UserFilter{Invitation: roster.InvitationAccepted}).Items); !slices.Equal(got, []int64{accepted.ID}) {
			t.Errorf("accepted = %v", got)
		}
		emp := f.roles["employee"].ID
		if p := list(roster.UserFilter{RoleID: &emp}); p.Total != 3 {
			t.Errorf("employees = %d", p.Total)
		}
		if got := ids(list(roster.UserFilter{IDs: []int64{made[2].ID, made[3].ID}}).Items); len(got) != 2 {
			t.Errorf("ids = %v", got)
		}
		other := f.company("Other", nil)
		if p := list(roster.UserFilter{CompanyID: &other.ID}); p.Total != 0 {
			t.Errorf("out-of-scope company gave %d users", p.Total)
		}
		// Sort orders, and paging visits each user exactly once, forwards
		// and back, each page knowing its offset: the whole list, and a
		// search (the logins "userN" of all but the three invited).
		for _, q := range []string{"", "user"} {
			total := len(names) + 3
			if q != "" {
				total = len(names)
			}
			for _, sort := range roster.UserSorts {
				var seen []*roster.User
				var pages []*roster.UserPage
				cur := ""
				for {
					p := list(roster.UserFilter{Query: q, Sort: sort, Limit: 4, Cursor: cur})
					if p.Total != total {
						t.Fatalf("%q %s: total %d", q, sort, p.Total)
					}
					if p.Offset != 4*len(pages) || (p.PrevCursor == "") != (len(pages) == 0) {
						t.Fatalf("%q %s: page %d has offset %d, previous %q", q, sort, len(pages), p.Offset, p.PrevCursor)
					}
					pages = append(pages, p)
					seen = append(seen, p.Items...)
					if cur = p.NextCursor; cur == "" {
						break
					}
				}
				for i := len(pages) - 1; i > 0; i-- {
					p := list(roster.UserFilter{Query: q, Sort: sort, Limit: 4, Cursor: pages[i].PrevCursor})
					if !slices.Equal(ids(p.Items), ids(pages[i-1].Items)) || p.Offset != pages[i-1].Offset || p.Total != total {
						t.Fatalf("%q %s: back from page %d gave %v at %d, want %v at %d", q, sort, i, ids(p.Items), p.Offset, ids(pages[i-1].Items), pages[i-1].Offset)
					}
					if (p.PrevCursor == "") != (i == 1) || p.NextCursor == "" {
						t.Fatalf("%q %s: back page %d: previous %q, next %q", q, sort, i-1, p.PrevCursor, p.NextCursor)
					}
					if n := list(roster.UserFilter{Query: q, Sort: sort, Limit: 4, Cursor: p.NextCursor}); !slices.Equal(ids(n.Items), ids(pages[i].Items)) {
						t.Fatalf("%q %s: forward again from page %d gave %v, want %v", q, sort, i-1, ids(n.Items), ids(pages[i].Items))
					}
				}
				if len(seen) != total {
					t.Fatalf("%q %s: paged %d users, want %d", q, sort, len(seen), total)
				}
				got := ids(seen)
				slices.Sort(got)
				if len(slices.Compact(got)) != total {
					t.Fatalf("%q %s: a user was seen twice", q, sort)
				}
				key := func(u *roster.User) string {
					name := strings.ToLower(strings.TrimSpace(u.LastName + " " + u.FirstName))
					if name == "" {
						name = u.Username()
					}
					id := fmt.Sprintf("%09d", u.ID)
					switch strings.TrimPrefix(sort, "-") {
					case "name":
						return name + "\x00" + id
					case "status":
						return string(u.Status) + "\x00" + name + "\x00" + id
					case "last_login_at":
						at := time.Time{}
						if u.LastLoginAt != nil {
							at = *u.LastLoginAt
						}
						return at.UTC().Format("2006-01-02T15:04:05.000000") + id
					}
					return u.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000") + id
				}
				for i := 1; i < len(seen); i++ {
					a, b := key(seen[i-1]), key(seen[i])
					if (sort[0] == '-') == (a < b) {
						t.Fatalf("%q %s: %q before %q", q, sort, a, b)
					}
				}
				if sort == "name" && (seen[0].ID != made[3].ID && seen[0].ID != made[4].ID) {
					t.Errorf("%q: name order starts with %s, want Bob Abbot", q, seen[0].DisplayName())
				}
			}
		}
		// Cursors are sealed and bound to their query.
		p := list(roster.UserFilter{Limit: 2})
		_, err = s.Users(f.ctx, scope, roster.UserFilter{Limit: 2, Cursor: p.NextCursor, Status: roster.StatusActive})
		wantField(t, err, roster.EINVALID, "cursor")
		_, err = s.Users(f.ctx, scope, roster.UserFilter{Limit: 2, Cursor: p.NextCursor, Sort: "-name"})
		wantField(t, err, roster.EINVALID, "cursor")
		b := []byte(p.NextCursor)
		b[len(b)-3] ^= 1
		_, err = s.Users(f.ctx, scope, roster.UserFilter{Limit: 2, Cursor: string(b)})
		wantField(t, err, roster.EINVALID, "cursor")
		_, err = s.Users(f.ctx, scope, roster.UserFilter{Limit: 2, Cursor: "garbage!"})
		wantField(t, err, roster.EINVALID, "cursor")
		if _, err := s.Users(f.ctx, scope, roster.UserFilter{Limit: 2, Cursor: p.NextCursor}); err != nil {
			t.Fatal(err)
		}
		got, err := s.UserIDs(f.ctx, scope, roster.UserFilter{Status: roster.StatusActive}, 3)
		must(t, err)
		if len(got) != 4 {
			t.Fatalf("UserIDs max 3 gave %d", len(got))
		}
	})
}

// TestResortNamesMigration: migration 0011 recomputes every sort_name to
// start with the last name, folding case as Go does (Cyrillic included),
// and its indexes serve the new sorts.
func TestResortNamesMigration(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		a := f.user(f.co.ID, "Ёжик", "Туманов", "dispatcher")
		b := f.user(f.co.ID, "Anna", "Zorina", "dispatcher")
		unnamed := &roster.User{CompanyID: f.co.ID, AuthMethod: roster.AuthEmail, Email: "Solo@Example.com"}
		must(t, s.CreateUser(f.ctx, unnamed, []int64{f.roles["employee"].ID}, []byte("i"), c.Now().Add(time.Hour)))
		db := s.DB()
		// The database as it was before 0011: first name first.
		for _, q := range []string{`UPDATE users SET sort_name = 'stale'`, `DROP INDEX users_company_login`,
			`DROP INDEX users_company_status`, `DELETE FROM schema_migrations WHERE version = 11`} {
			if _, err := db.ExecContext(f.ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		must(t, s.Migrate(f.ctx))
		for u, want := range map[*roster.User]string{a: "туманов ёжик", b: "zorina anna", unnamed: "solo@example.com"} {
			var got string
			must(t, db.QueryRowContext(f.ctx, `SELECT sort_name FROM users WHERE id = $1`, u.ID).Scan(&got))
			if got != want {
				t.Errorf("sort_name of %d = %q, want %q", u.ID, got, want)
			}
		}
		p, err := s.Users(f.ctx, roster.Scope{CompanyIDs: []int64{f.co.ID}}, roster.UserFilter{Sort: "name"})
		must(t, err)
		if got := ids(p.Items); !slices.Equal(got, []int64{unnamed.ID, b.ID, a.ID}) {
			t.Errorf("name order %v", got)
		}
	})
}

// TestSearchFollowsUpdates: the search index follows a rename and a new
// phone, and an update that leaves the searchable text alone (a position)
// keeps the user findable (SQLite rewrites the index row only when the
// text changes, migration 0021).
func TestSearchFollowsUpdates(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s, nil)
		u := f.user(f.co.ID, "Zinaida", "Quartermaine", "employee")
		scope := roster.Scope{CompanyIDs: []int64{f.co.ID}}
		find := func(term string) bool {
			t.Helper()
			page, err := s.Users(f.ctx, scope, roster.UserFilter{Query: term, Limit: 10})
			must(t, err)
			return len(page.Items) == 1 && page.Items[0].ID == u.ID
		}
		pos := "Night shift lead"
		_, err := s.UpdateUser(f.ctx, all, u.ID, roster.UserUpdate{Position: &pos})
		must(t, err)
		if !find("quartermaine") || !find("zinaida") {
			t.Fatal("a position change lost the user from the search")
		}
		last, phone := "Featherstonehaugh", "+7 912 555 0199"
		_, err = s.UpdateUser(f.ctx, all, u.ID, roster.UserUpdate{LastName: &last, Phone: &phone})
		must(t, err)
		if find("quartermaine") {
			t.Error("the old last name still finds the user")
		}
		if !find("featherstone") || !find("9125550199") || !find("zinaida") {
			t.Error("the new last name or phone does not find the user")
		}
		// An update writes only the columns it changes; a work phone alone
		// still rewrites the searchable text.
		work := "+7 495 111 2233"
		_, err = s.UpdateUser(f.ctx, all, u.ID, roster.UserUpdate{WorkPhone: &work})
		must(t, err)
		if !find("4951112233") || !find("featherstone") {
			t.Error("a new work phone does not find the user")
		}
	})
}

// TestUnfilteredTotal checks the total of a list without filters, which
// comes from the companies' user counts, against the users themselves:
// one company, a company asked for in a wider scope, several companies,
// every company, and after a delete.
func TestUnfilteredTotal(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s, nil)
		other := f.company("Other", nil)
		var mine []*roster.User
		for i := range 3 {
			mine = append(mine, f.user(f.co.ID, "Ann", fmt.Sprintf("Total %d", i), "employee"))
		}
		f.user(other.ID, "Bob", "Total", "employee")
		f.user(other.ID, "Cid", "Total", "employee")
		total := func(scope roster.Scope, company *int64) int {
			t.Helper()
			p, err := s.Users(f.ctx, scope, roster.UserFilter{CompanyID: company, Limit: 1})
			must(t, err)
			if p.TotalCapped || p.TotalEstimated {
				t.Fatalf("scope %+v: total %d capped %t estimated %t", scope, p.Total, p.TotalCapped, p.TotalEstimated)
			}
			return p.Total
		}
		all := roster.Scope{All: true}
		everyone, err := s.UserIDs(f.ctx, all, roster.UserFilter{}, 1000)
		must(t, err)
		for _, tc := range []struct {
			name    string
			scope   roster.Scope
			company *int64
			want    int
		}{
			{"one company", roster.Scope{CompanyIDs: []int64{f.co.ID}}, nil, 3},
			{"company in a wider scope", roster.Scope{CompanyIDs: []int64{f.co.ID, other.ID}}, &other.ID, 2},
			{"company outside the scope", roster.Scope{CompanyIDs: []int64{f.co.ID}}, &other.ID, 0},
			{"two companies", roster.Scope{CompanyIDs: []int64{f.co.ID, other.ID}}, nil, 5},
			{"every company", all, nil, len(everyone)},
		} {
			if got := total(tc.scope, tc.company); got != tc.want {
				t.Errorf("%s: total %d, want %d", tc.name, got, tc.want)
			}
		}
		must(t, s.DeleteUser(f.ctx, all, mine[0].ID))
		if got := total(roster.Scope{CompanyIDs: []int64{f.co.ID}}, nil); got != 2 {
			t.Errorf("after a delete: total %d, want 2", got)
		}
	})
}
