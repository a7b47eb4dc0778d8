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
	Sort   string `json:"s"` // the sort asked for
	Order  string `json:"o"` // the sort applied
	Name   string `json:"n,omitempty"`
	ID     int64  `json:"i"`
	Hash   string `json:"h"`
	Total  int    `json:"t"`
	Capped bool   `json:"c,omitempty"`
	// Estimated marks a total estimated by the planner.
	Estimated bool `json:"e,omitempty"`
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
	s := fmt.Sprintf("q=%s|st=%s|r=%s|inv=%s|c=%s|ids=%v|sort=%s|all=%t|scope=%v|queue=%s",
		strings.ToLower(f.Query), f.Status, role, f.Invitation, company, ids, f.Sort, scope.All, cids, f.Queue)
	sum := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%x", sum[:8])
}

// userFilterSQL adds the filter's conditions on alias u to b; it reports
// false when nothing can match (an empty scope).
func (s *Store) userFilterSQL(ctx context.Context, q querier, b *sqlBuilder, scope roster.Scope, f roster.UserFilter, now time.Time, byName bool) (bool, error) {
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
	queueFilterSQL(b, f.Queue)
	if term := strings.ToLower(strings.TrimSpace(f.Query)); term != "" {
		var company int64
		if !scope.All && len(scope.CompanyIDs) == 1 {
			company = scope.CompanyIDs[0]
		}
		us, err := s.d.search(ctx, q, b, term, company, byName)
		if err != nil {
			return false, err
		}
		c := us.cond
		if id, err := strconv.ParseInt(term, 10, 64); err == nil && isDigits(term) && !us.fts {
			c = `(u.id = ` + b.arg(id) + ` OR (` + c + `))`
			us.totalKnown = false
		}
		b.cond(c)
		if us.keyed {
			// Bitmap-ANDing the company's 100,000 index entries with the
			// search index's few hundred only costs time: keep the company
			// condition as a filter.
			b.where[scopeAt] = strings.Replace(b.where[scopeAt], "u.company_id", "(u.company_id + 0)", 1)
		}
		us.totalKnown = us.totalKnown && f.Status == "" && f.RoleID == nil && f.Invitation == "" && len(f.IDs) == 0 && f.Queue == ""
		b.search = &us
	}
	return true, nil
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// Users lists users in scope matching the filter, one keyset page at a time,
// by (sort_name, id) or by id, which is creation order.
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
	byName := strings.TrimPrefix(page.Sort, "-") == "name"
	var b sqlBuilder
	ok, err := s.userFilterSQL(ctx, s.rdb, &b, scope, f, s.now(), byName)
	if err != nil || !ok {
		return page, err
	}
	from, idCol := "users u", "u.id"
	if us := b.search; us != nil && us.creationOrder {
		if us.fts {
			// The index gives the matches in creation order only.
			from, idCol = "users_fts f CROSS JOIN users u ON u.id = f.rowid & 4294967295", "f.rowid"
		}
		if byName {
			page.Sort = strings.Replace(page.Sort, "name", "created_at", 1)
			byName = false
		}
	}
	switch {
	case cur == nil && b.search != nil && b.search.totalKnown:
		page.Total, page.TotalCapped, page.TotalEstimated = b.search.total, b.search.totalCapped, b.search.totalEstimated
	case cur == nil:
		page.Total, page.TotalCapped, err = countUsers(ctx, s.rdb, from, &b)
		if err != nil {
			return nil, err
		}
	default:
		page.Total, page.TotalCapped, page.TotalEstimated = cur.Total, cur.Capped, cur.Estimated
	}

	dir, cmp := "", ">"
	if strings.HasPrefix(page.Sort, "-") {
		dir, cmp = " DESC", "<"
	}
	if cur != nil {
		lastID := cur.ID
		if idCol == "f.rowid" {
			lastID |= b.search.company << 32
		}
		if byName {
			b.cond(`(u.sort_name, ` + idCol + `) ` + cmp + ` (` + b.arg(cur.Name) + `, ` + b.arg(lastID) + `)`)
		} else {
			b.cond(idCol + ` ` + cmp + ` ` + b.arg(lastID))
		}
	}
	order := idCol + dir
	if byName {
		order = `u.sort_name` + dir + `, ` + order
	}
	query := `SELECT ` + userColumns + `, u.sort_name FROM ` + from + b.whereSQL() +
		` ORDER BY ` + order + ` LIMIT ` + b.arg(f.Limit+1)
	rows, err := s.rdb.QueryContext(ctx, query, b.args...)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		u, err := scanUser(scanPlus{rows, &name})
		if err != nil {
			return nil, fmt.Errorf("users: %w", err)
		}
		page.Items = append(page.Items, u)
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	rows.Close()
	if len(page.Items) > f.Limit {
		page.Items = page.Items[:f.Limit]
		last := page.Items[f.Limit-1]
		next := userCursor{Sort: f.Sort, Order: page.Sort, ID: last.ID, Hash: hash, Total: page.Total,
			Capped: page.TotalCapped, Estimated: page.TotalEstimated}
		if byName {
			next.Name = names[f.Limit-1]
		}
		payload, err := json.Marshal(next)
		if err != nil {
			return nil, fmt.Errorf("encode cursor: %w", err)
		}
		page.NextCursor = secure.Seal(key, payload)
	}
	if err := loadRoles(ctx, s.rdb, page.Items); err != nil {
		return nil, err
	}
	return page, nil
}

// scanPlus scans a user row followed by extra columns.
type scanPlus struct {
	rs    rowScanner
	extra *string
}

func (p scanPlus) Scan(dest ...any) error { return p.rs.Scan(append(dest, p.extra)...) }

// countUsers counts the users matching b's conditions, up to totalCap.
func countUsers(ctx context.Context, q querier, from string, b *sqlBuilder) (int, bool, error) {
	args := slices.Clone(b.args)
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+from+b.whereSQL()+
		` LIMIT `+strconv.Itoa(totalCap+1)+`) t`, args...).Scan(&n)
	if err != nil {
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
	ok, err := s.userFilterSQL(ctx, q, &b, scope, f, s.now(), false)
	if err != nil || !ok {
		return ids, err
	}
	from := "users u"
	if b.search != nil && b.search.fts {
		from = "users_fts f CROSS JOIN users u ON u.id = f.rowid & 4294967295"
	}
	rows, err := q.QueryContext(ctx, `SELECT u.id FROM `+from+b.whereSQL()+` ORDER BY u.id LIMIT `+b.arg(max+1), b.args...)
	if err != nil {
		return nil, fmt.Errorf("user ids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("user ids: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
