package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/secure"
)

// totalCap bounds the count of a users list: past it the total says "at
// least totalCap" (UserPage.TotalCapped), so a huge result never costs a
// full count.
const totalCap = 10000

// userCursor is the sealed position of a keyset page. It is bound to the
// query by a hash of the normalized filter and scope, and carries the total
// counted on the first page, so later pages do not count again.
type userCursor struct {
	Sort  string `json:"s"` // the sort asked for
	Order string `json:"o"` // the sort applied
	// The sort key of the user the page starts after (or, going back,
	// ends before): Name for "name" and "status", Status for "status",
	// At (unix microseconds, nil for never) for "last_login_at".
	Name   string `json:"n,omitempty"`
	Status string `json:"st,omitempty"`
	At     *int64 `json:"a,omitempty"`
	ID     int64  `json:"i"`
	// Back leads to the page before the user, not after.
	Back bool `json:"b,omitempty"`
	// Pos is how many users come before the page the cursor leads to.
	Pos    int    `json:"p,omitempty"`
	Hash   string `json:"h"`
	Total  int    `json:"t"`
	Capped bool   `json:"c,omitempty"`
	// Estimated marks a total estimated by the planner.
	Estimated bool `json:"e,omitempty"`
}

// sortColumns are the key columns of an order before the id, on alias u.
func (d dialect) sortColumns(order string) []string {
	switch strings.TrimPrefix(order, "-") {
	case "name":
		return []string{"u.sort_name"}
	case "status":
		return []string{"u.status", "u.sort_name"}
	case "last_login_at":
		return []string{d.lastLoginKey()}
	}
	return nil
}

// sortValues are a user's values of sortColumns, as the cursor keeps them.
func (c *userCursor) sortValues(order string) []any {
	switch strings.TrimPrefix(order, "-") {
	case "name":
		return []any{c.Name}
	case "status":
		return []any{c.Status, c.Name}
	case "last_login_at":
		if c.At == nil {
			return []any{time.Time{}}
		}
		return []any{time.UnixMicro(*c.At).UTC()}
	}
	return nil
}

// at places a cursor at u (whose sort_name is name) for order.
func (c *userCursor) at(u *roster.User, name string) {
	c.ID, c.Name, c.Status, c.At = u.ID, "", "", nil
	switch c.Order {
	case "name", "-name":
		c.Name = name
	case "status", "-status":
		c.Status, c.Name = string(u.Status), name
	case "last_login_at", "-last_login_at":
		if u.LastLoginAt != nil {
			at := u.LastLoginAt.UnixMicro()
			c.At = &at
		}
	}
}

func invalidCursor() error {
	msg := "The cursor is invalid or belongs to another query."
	return &roster.Error{Code: roster.EINVALID, Message: msg,
		Fields: []roster.FieldError{{Field: "cursor", Code: "invalid_cursor", Message: msg}}}
}

// filterHash identifies a query: the normalized filter (without page size
// and cursor) and the scope.
func filterHash(scope roster.Scope, f roster.UserFilter) string {
	ids := slices.Clone(f.IDs)
	slices.Sort(ids)
	cids := slices.Clone(scope.CompanyIDs)
	slices.Sort(cids)
	var role, company string
	if f.RoleID != nil {
		role = strconv.FormatInt(*f.RoleID, 10)
	}
	if f.CompanyID != nil {
		company = strconv.FormatInt(*f.CompanyID, 10)
	}
	var before, never string
	if f.LastSignInBefore != nil {
		before = strconv.FormatInt(f.LastSignInBefore.UnixMicro(), 10)
	}
	if f.NeverSignedIn != nil {
		never = strconv.FormatBool(*f.NeverSignedIn)
	}
	s := fmt.Sprintf("q=%s|st=%s|r=%s|inv=%s|c=%s|ids=%v|sort=%s|all=%t|scope=%v|queue=%s|before=%s|never=%s|un=%q|ext=%q",
		strings.ToLower(f.Query), f.Status, role, f.Invitation, company, ids, f.Sort, scope.All, cids, f.Queue, before, never,
		strings.ToLower(f.UserName), f.ExternalID)
	sum := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%x", sum[:8])
}

// userFilterSQL adds the filter's conditions on alias u to b; it reports
// false when nothing can match (an empty scope).
func (s *Store) userFilterSQL(ctx context.Context, q querier, b *sqlBuilder, scope roster.Scope, f roster.UserFilter, now time.Time, order string) (bool, error) {
	if f.CompanyID != nil {
		scope = scope.Narrow(*f.CompanyID)
	}
	scopeAt := len(b.where)
	if !b.scopeCond(scope, "u.company_id") {
		return false, nil
	}
	if f.Status != "" {
		b.cond(`u.status = ` + b.arg(string(f.Status)))
	}
	if f.RoleID != nil {
		b.cond(`EXISTS (SELECT 1 FROM user_roles ur WHERE ur.user_id = u.id AND ur.role_id = ` + b.arg(*f.RoleID) + `)`)
	}
	switch f.Invitation {
	case roster.InvitationPending:
		b.cond(`u.status = 'invited' AND u.invitation_expires_at > ` + b.arg(now))
	case roster.InvitationExpired:
		b.cond(`u.status = 'invited' AND u.invitation_expires_at <= ` + b.arg(now))
	case roster.InvitationAccepted:
		b.cond(`u.invitation_accepted_at IS NOT NULL`)
	}
	if len(f.IDs) > 0 {
		b.cond(`u.id IN (` + b.inInts(f.IDs) + `)`)
	}
	if f.UserName != "" {
		n := strings.ToLower(strings.TrimSpace(f.UserName))
		b.cond(`(u.email = ` + b.arg(n) + ` OR u.login = ` + b.arg(n) + `)`)
	}
	if f.ExternalID != "" {
		b.cond(`u.external_id = ` + b.arg(f.ExternalID))
	}
	queueFilterSQL(b, f.Queue)
	signInFilterSQL(b, f)
	if term := strings.ToLower(strings.TrimSpace(f.Query)); term != "" {
		var company int64
		if !scope.All && len(scope.CompanyIDs) == 1 {
			company = scope.CompanyIDs[0]
		}
		us, err := s.d.search(ctx, q, b, term, company, order)
		if err != nil {
			return false, err
		}
		c := us.cond
		if id, err := strconv.ParseInt(term, 10, 64); err == nil && isDigits(term) && !us.fts {
			c = `(u.id = ` + b.arg(id) + ` OR (` + c + `))`
			us.totalKnown = false
		}
		b.cond(c)
		if us.fts {
			// The index's position rows know the company (nameFTSJoin).
			b.where[scopeAt] = strings.Replace(b.where[scopeAt], "u.company_id", "o.company_id", 1)
		}
		if us.keyed {
			// Bitmap-ANDing the company's 100,000 index entries with the
			// search index's few hundred only costs time: keep the company
			// condition as a filter.
			b.where[scopeAt] = strings.Replace(b.where[scopeAt], "u.company_id", "(u.company_id + 0)", 1)
		}
		us.totalKnown = us.totalKnown && f.Status == "" && f.RoleID == nil && f.Invitation == "" && len(f.IDs) == 0 && f.Queue == "" &&
			f.LastSignInBefore == nil && f.NeverSignedIn == nil && f.UserName == "" && f.ExternalID == ""
		b.search = &us
	}
	return true, nil
}

// signInFilterSQL adds the dormant-account conditions: last sign-in
// before a time, never signed in, or (both asked) either.
func signInFilterSQL(b *sqlBuilder, f roster.UserFilter) {
	never := f.NeverSignedIn
	switch {
	case f.LastSignInBefore != nil && never != nil && *never:
		b.cond(`(u.last_login_at IS NULL OR u.last_login_at < ` + b.arg(f.LastSignInBefore.UTC()) + `)`)
	case f.LastSignInBefore != nil:
		b.cond(`u.last_login_at < ` + b.arg(f.LastSignInBefore.UTC()))
		if never != nil && !*never {
			b.cond(`u.last_login_at IS NOT NULL`)
		}
	case never != nil && *never:
		b.cond(`u.last_login_at IS NULL`)
	case never != nil:
		b.cond(`u.last_login_at IS NOT NULL`)
	}
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// Users lists users in scope matching the filter, one keyset page at a
// time, by the filter's sort then id (id order is creation order). A
// cursor leads to the page after (NextCursor) or before (PrevCursor) the
// user it holds.
func (s *Store) Users(ctx context.Context, scope roster.Scope, f roster.UserFilter) (*roster.UserPage, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	page := &roster.UserPage{Items: []*roster.User{}, Sort: f.Sort}
	key, err := s.Secret(ctx, "cursor")
	if err != nil {
		return nil, err
	}
	hash := filterHash(scope, f)
	var cur *userCursor
	if f.Cursor != "" {
		payload, err := secure.Open(key, f.Cursor)
		if err != nil {
			return nil, invalidCursor()
		}
		cur = &userCursor{}
		if json.Unmarshal(payload, cur) != nil || cur.Hash != hash || cur.Sort != f.Sort || !slices.Contains(roster.UserSorts, cur.Order) {
			return nil, invalidCursor()
		}
		page.Sort = cur.Order
	}
	// Every order but creation order sorts the matches of a search, which
	// the search may find too costly (then the page comes in creation order).
	sorted := strings.TrimPrefix(page.Sort, "-") != "created_at"
	var b sqlBuilder
	ok, err := s.userFilterSQL(ctx, s.rdb, &b, scope, f, s.now(), page.Sort)
	if err != nil || !ok {
		return page, err
	}
	if us := b.search; us != nil && us.creationOrder && sorted {
		page.Sort = "created_at"
		if strings.HasPrefix(f.Sort, "-") {
			page.Sort = "-created_at"
		}
	}
	from, idSel := "users u", "u.id"
	cols, idCol := s.d.sortColumns(page.Sort), "u.id"
	if us := b.search; us != nil && us.fts {
		// The trigram index gives the matches in name order.
		from, idSel, cols, idCol = nameFTSJoin, "o.user_id", nil, "f.rowid"
	}
	switch {
	case cur == nil && b.search != nil && b.search.totalKnown:
		page.Total, page.TotalCapped, page.TotalEstimated = b.search.total, b.search.totalCapped, b.search.totalEstimated
	case cur == nil && unfiltered(f):
		page.Total, page.TotalCapped, err = s.scopeUserCount(ctx, scope, f.CompanyID)
		if err != nil {
			return nil, err
		}
	case cur == nil:
		page.Total, page.TotalCapped, err = s.countUsers(ctx, from, &b)
		if err != nil {
			return nil, err
		}
	default:
		page.Total, page.TotalCapped, page.TotalEstimated = cur.Total, cur.Capped, cur.Estimated
	}

	desc := strings.HasPrefix(page.Sort, "-")
	back := cur != nil && cur.Back
	orderBy := func(descending bool) string {
		order := make([]string, 0, len(cols)+1)
		for _, c := range append(slices.Clone(cols), idCol) {
			if descending {
				c += " DESC"
			}
			order = append(order, c)
		}
		return strings.Join(order, ", ")
	}
	first := b // the query without the cursor's condition
	first.where, first.args = slices.Clone(b.where), slices.Clone(b.args)
	if cur != nil {
		// Going back reads the page before the cursor in reverse order.
		cmp := ">"
		if desc != back {
			cmp = "<"
		}
		if us := b.search; us != nil && us.fts {
			b.cond(nameCursorCond(&b, us.company, cur.Name, cur.ID, cmp))
		} else {
			keys, vals := append(slices.Clone(cols), idCol), append(cur.sortValues(page.Sort), cur.ID)
			ps := make([]string, len(vals))
			for i, v := range vals {
				ps[i] = b.arg(v)
			}
			cond := `(` + strings.Join(keys, ", ") + `) ` + cmp + ` (` + strings.Join(ps, ", ") + `)`
			if len(cols) > 0 {
				// SQLite seeks an expression index (the last sign-in's) by a
				// row value only when the first key is also bounded alone.
				cond = cols[0] + ` ` + cmp + `= ` + ps[0] + ` AND ` + cond
			}
			b.cond(cond)
		}
	}
	items, names, err := s.userRows(ctx, from, idSel, &b, orderBy(desc != back), f.Limit+1)
	if err != nil {
		return nil, err
	}
	more := len(items) > f.Limit
	if back && !more {
		// Back at the start: the first page, in full.
		if items, names, err = s.userRows(ctx, from, idSel, &first, orderBy(desc), f.Limit+1); err != nil {
			return nil, err
		}
		more, back, cur = len(items) > f.Limit, false, nil
	}
	if more {
		items, names = items[:f.Limit], names[:f.Limit]
	}
	if back {
		slices.Reverse(items)
		slices.Reverse(names)
	}
	if cur != nil {
		page.Offset = max(0, cur.Pos)
	}
	page.Items = items
	seal := func(c userCursor) (string, error) {
		c.Sort, c.Order, c.Hash, c.Total, c.Capped, c.Estimated = f.Sort, page.Sort, hash, page.Total, page.TotalCapped, page.TotalEstimated
		payload, err := json.Marshal(c)
		if err != nil {
			return "", fmt.Errorf("encode cursor: %w", err)
		}
		return secure.Seal(key, payload), nil
	}
	if n := len(items); n > 0 {
		// A page read forwards has a next one when the read found more; a
		// page read backwards always has the page it was reached from.
		if more || back {
			next := userCursor{Order: page.Sort, Pos: page.Offset + n}
			next.at(items[n-1], names[n-1])
			if page.NextCursor, err = seal(next); err != nil {
				return nil, err
			}
		}
		if (back && more) || (!back && cur != nil) {
			prev := userCursor{Order: page.Sort, Back: true, Pos: max(0, page.Offset-f.Limit)}
			prev.at(items[0], names[0])
			if page.PrevCursor, err = seal(prev); err != nil {
				return nil, err
			}
		}
	}
	return page, nil
}

// userRows reads a page of users with their lists and sort_name. The
// page's IDs (column idSel) come first, in order (from an index alone where one serves
// the order and the filter), then the users themselves in one statement
// with their lists: the page's rows are read and decoded once. A user
// deleted between the two statements is left out.
func (s *Store) userRows(ctx context.Context, from, idSel string, b *sqlBuilder, order string, limit int) ([]*roster.User, []string, error) {
	ids, err := queryColumn[int64](ctx, s.rdb, `SELECT `+idSel+` FROM `+from+b.whereSQL()+
		` ORDER BY `+order+` LIMIT `+strconv.Itoa(limit), s.d.planFor(b.args)...)
	if err != nil {
		return nil, nil, fmt.Errorf("users: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil, nil
	}
	var ub sqlBuilder
	lists := userListsSQL(&ub)
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+userColumns+`, `+lists+`, u.sort_name FROM users u `+userOpsJoins+
		` WHERE u.id IN (`+ub.inInts(ids)+`)`, ub.args...)
	if err != nil {
		return nil, nil, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	type found struct {
		u    *roster.User
		name string
	}
	byID := make(map[int64]found, len(ids))
	for rows.Next() {
		var l userLists
		var name string
		u, err := scanUser(rows, append(l.dest(), &name)...)
		if err == nil {
			err = l.apply(u)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("users: %w", err)
		}
		byID[u.ID] = found{u, name}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("users: %w", err)
	}
	items, names := make([]*roster.User, 0, len(ids)), make([]string, 0, len(ids))
	for _, id := range ids {
		if f, ok := byID[id]; ok {
			items, names = append(items, f.u), append(names, f.name)
		}
	}
	return items, names, nil
}

// migrationSteps are the Go steps of migrations (see Store.applyMigration).
var migrationSteps = map[int]func(ctx context.Context, d dialect, tx *Tx) error{
	11: resortNames,
}

// resortNames recomputes every user's sort_name after its meaning changed
// to last name first (migration 0011). The case folding must be Go's, as
// on every write: neither engine's lower() folds Cyrillic everywhere.
func resortNames(ctx context.Context, d dialect, tx *Tx) error {
	var last int64
	for {
		rows, err := tx.QueryContext(ctx, `SELECT id, email, login, first_name, middle_name, last_name, sort_name
			FROM users WHERE id > $1 ORDER BY id LIMIT 5000`, last)
		if err != nil {
			return fmt.Errorf("resort names: %w", err)
		}
		var ids []int64
		var names []string
		n := 0
		for rows.Next() {
			var u roster.User
			var old string
			if err := rows.Scan(&u.ID, &u.Email, &u.Login, &u.FirstName, &u.MiddleName, &u.LastName, &old); err != nil {
				rows.Close()
				return fmt.Errorf("resort names: %w", err)
			}
			n, last = n+1, u.ID
			if name := sortName(&u); name != old {
				ids, names = append(ids, u.ID), append(names, name)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("resort names: %w", err)
		}
		if err := d.setSortNames(ctx, tx.Tx, ids, names); err != nil {
			return fmt.Errorf("resort names: %w", err)
		}
		if n == 0 {
			return nil
		}
	}
}

// countUsers counts the users matching b's conditions, up to totalCap.
func (s *Store) countUsers(ctx context.Context, from string, b *sqlBuilder) (int, bool, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+from+b.whereSQL()+
		` LIMIT `+strconv.Itoa(totalCap+1)+`) t`, s.d.planFor(b.args)...).Scan(&n)
	if err != nil {
		return 0, false, fmt.Errorf("count users: %w", err)
	}
	if n > totalCap {
		return totalCap, true, nil
	}
	return n, false, nil
}

// unfiltered reports whether f selects every user of its scope (and
// company), whose number the companies' user counts already hold.
func unfiltered(f roster.UserFilter) bool {
	return f.Query == "" && f.Status == "" && f.RoleID == nil && f.Invitation == "" && len(f.IDs) == 0 &&
		f.UserName == "" && f.ExternalID == "" && f.Queue == "" && f.LastSignInBefore == nil && f.NeverSignedIn == nil
}

// scopeUserCount is the number of users in scope (narrowed to company when
// given), up to totalCap, from the companies' user counts (addUserCount):
// one row per company read, where counting the users of a 100,000-user
// company to totalCap took a quarter of a first page's time.
func (s *Store) scopeUserCount(ctx context.Context, scope roster.Scope, company *int64) (int, bool, error) {
	if company != nil {
		scope = scope.Narrow(*company)
	}
	var b sqlBuilder
	if !b.scopeCond(scope, "c.id") {
		return 0, false, nil
	}
	var n int
	if err := s.rdb.QueryRowContext(ctx, `SELECT coalesce(sum(c.user_count), 0) FROM companies c`+b.whereSQL(), b.args...).Scan(&n); err != nil {
		return 0, false, fmt.Errorf("count users: %w", err)
	}
	if n > totalCap {
		return totalCap, true, nil
	}
	return n, false, nil
}

// UserIDs returns the IDs of all users in scope matching the filter, at
// most max+1 of them.
func (s *Store) UserIDs(ctx context.Context, scope roster.Scope, f roster.UserFilter, max int) ([]int64, error) {
	return s.userIDs(ctx, s.rdb, scope, f, max)
}

func (s *Store) userIDs(ctx context.Context, q querier, scope roster.Scope, f roster.UserFilter, max int) ([]int64, error) {
	f.Cursor, f.Limit = "", 0
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var b sqlBuilder
	ids := []int64{}
	ok, err := s.userFilterSQL(ctx, q, &b, scope, f, s.now(), "created_at")
	if err != nil || !ok {
		return ids, err
	}
	found, err := queryColumn[int64](ctx, q, `SELECT u.id FROM users u`+b.whereSQL()+` ORDER BY u.id LIMIT `+b.arg(max+1), s.d.planFor(b.args)...)
	if err != nil {
		return nil, fmt.Errorf("user ids: %w", err)
	}
	return append(ids, found...), nil
}
