package sqlstore_test

import (
	"database/sql"
	"fmt"
	"slices"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// checkNameOrder checks SQLite's name order in a company (nameorder.go):
// every user placed, positions rising with (sort_name, id), one trigram
// index row per user at its position, and none left unplaced; then that a
// search of terms matching all of them pages through them in name order.
func checkNameOrder(t *testing.T, f *fixture, company int64, terms ...string) {
	t.Helper()
	s := f.s
	db := s.DB()
	rows, err := db.Query(`SELECT u.id, o.pos FROM users u LEFT JOIN user_name_order o ON o.user_id = u.id AND o.company_id = u.company_id
		WHERE u.company_id = $1 ORDER BY u.sort_name, u.id`, company)
	must(t, err)
	var byName []int64
	last := int64(0)
	for rows.Next() {
		var id int64
		var pos sql.NullInt64
		must(t, rows.Scan(&id, &pos))
		switch {
		case !pos.Valid:
			t.Errorf("user %d has no name position", id)
		case pos.Int64 <= last:
			t.Errorf("user %d at position %d, after one at %d", id, pos.Int64, last)
		}
		last = pos.Int64
		byName = append(byName, id)
	}
	must(t, rows.Err())
	rows.Close()
	var unplaced, placed, indexed, inRange int
	must(t, db.QueryRow(`SELECT (SELECT count(*) FROM user_name_unplaced),
		(SELECT count(*) FROM user_name_order WHERE company_id = $1),
		(SELECT count(*) FROM user_name_order o JOIN users_fts f ON f.rowid = (o.company_id << 39) | o.pos WHERE o.company_id = $1),
		(SELECT count(*) FROM users_fts WHERE rowid BETWEEN $1 << 39 AND (($1 + 1) << 39) - 1)`, company).
		Scan(&unplaced, &placed, &indexed, &inRange))
	if unplaced != 0 || placed != len(byName) || indexed != len(byName) || inRange != len(byName) {
		t.Errorf("%d users: %d unplaced, %d placed, %d indexed at their positions, %d rows of the index in the company",
			len(byName), unplaced, placed, indexed, inRange)
	}
	for _, term := range terms {
		var got []int64
		uf := roster.UserFilter{Query: term, Limit: 25}
		for {
			p, err := s.Users(f.ctx, roster.Scope{CompanyIDs: []int64{company}}, uf)
			must(t, err)
			if p.Sort != "name" || p.Total != len(byName) {
				t.Fatalf("%q: sort %s, total %d, want name and %d", term, p.Sort, p.Total, len(byName))
			}
			got = append(got, ids(p.Items)...)
			if uf.Cursor = p.NextCursor; uf.Cursor == "" {
				break
			}
		}
		if !slices.Equal(got, byName) {
			t.Errorf("%q found, by name:\n%v\nwant\n%v", term, got, byName)
		}
	}
}

// TestNameOrderFollowsWrites drives SQLite's name order through what moves
// users in it: creating users into one gap until it runs out (ascending
// and descending), at both ends, renaming, deleting, a CSV import, a
// small company respaced as a whole, and checks it after each.
func TestNameOrderFollowsWrites(t *testing.T) {
	t.Parallel()
	s := sqlstoretest.Open(t, "sqlite")
	f := newFixture(t, s, nil)
	co := f.co.ID
	for i := range 20 {
		f.user(co, fmt.Sprintf("L%02d", i), "Left", "employee")
		f.user(co, fmt.Sprintf("R%02d", i), "Right", "employee")
	}
	checkNameOrder(t, f, co, "ser")
	// Ascending into the one gap between Left and Right: it halves each
	// time, runs out after about 24, and the users around it are respaced.
	var mid []*roster.User
	for i := range 60 {
		mid = append(mid, f.user(co, fmt.Sprintf("A%03d", i), "Mid", "employee"))
	}
	checkNameOrder(t, f, co, "ser")
	// Descending, each just before the last.
	for i := range 40 {
		f.user(co, fmt.Sprintf("B%03d", 999-i), "Mid", "employee")
	}
	// At both ends.
	for i := range 15 {
		f.user(co, fmt.Sprintf("%03d", 999-i), "Aaa", "employee")
		f.user(co, fmt.Sprintf("%03d", i), "Zzz", "employee")
	}
	checkNameOrder(t, f, co, "ser")
	// Renames move users (a middle-name change keeps the sort name alike
	// in order), and deletes free their positions.
	all := roster.Scope{All: true}
	for i, u := range mid[:30] {
		last := "Aab"
		if i%2 == 1 {
			last = "Zzy"
		}
		_, err := s.UpdateUser(f.ctx, all, u.ID, roster.UserUpdate{LastName: &last})
		must(t, err)
	}
	for _, u := range mid[30:45] {
		must(t, s.DeleteUser(f.ctx, all, u.ID))
	}
	checkNameOrder(t, f, co, "ser")
	// A CSV import creates many in one transaction.
	var creates []roster.ImportCreate
	for i := range 40 {
		creates = append(creates, roster.ImportCreate{Line: i + 2, RoleIDs: []int64{f.roles["employee"].ID},
			User: &roster.User{CompanyID: co, AuthMethod: roster.AuthLogin, Login: fmt.Sprintf("imported.user%d", i),
				FirstName: fmt.Sprintf("C%03d", i%7), LastName: "Mid", PasswordHash: "h"}})
	}
	must(t, s.ImportUsers(f.ctx, roster.Scope{CompanyIDs: []int64{co}}, creates, nil))
	checkNameOrder(t, f, co, "ser")
	// A company of three, filled in one gap: respaced as a whole.
	small := f.company("Small", nil)
	f.user(small.ID, "A", "Small", "employee")
	f.user(small.ID, "Z", "Small", "employee")
	for i := range 70 {
		f.user(small.ID, fmt.Sprintf("M%03d", i), "Small", "employee")
	}
	checkNameOrder(t, f, small.ID, "small")
	checkNameOrder(t, f, co, "ser")
}
