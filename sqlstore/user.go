package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roster-app/roster"
)

// updateUsers starts every UPDATE of users rows: the statement bumps the
// row's version itself (the actor cache's staleness check). The
// users_version trigger bumps it for a statement that does not, but on
// SQLite only with a second write of the row. TestUpdatesBumpVersion
// holds the package's statements to it.
const updateUsers = `UPDATE users SET version = version + 1, `

// userColumns is the select list scanned by scanUser, on alias u.
const userColumns = `u.id, u.company_id, u.auth_method, u.email, u.login, u.first_name, u.middle_name,
	u.last_name, u.phone, u.work_phone, u.position, u.status, u.name_set_by_self, u.password_hash,
	u.password_temporary, u.created_by, u.created_at, u.updated_at, u.last_login_at, u.invitation_expires_at,
	u.lang, u.mfa_method, u.ip_allowlist, u.idle_timeout_seconds, u.locked_until, u.failed_logins, u.totp_secret,
	u.totp_last_step, u.external_id, u.employee_number, u.department, u.manager_id`

type rowScanner interface{ Scan(dest ...any) error }

// scanUser scans userColumns, and then into more, the columns after them.
func scanUser(r rowScanner, more ...any) (*roster.User, error) {
	// One allocation for the nullable columns and one for the
	// destinations, with room for more: a page of users is scanned row
	// after row.
	var n struct {
		createdBy, idle, manager               sql.NullInt64
		lastLogin, invExpires, lockedUntil     sql.NullTime
		allowlist                              string
		externalID, employeeNumber, department sql.NullString
	}
	u := &roster.User{}
	dest := make([]any, 0, 33+len(more))
	dest = append(dest, &u.ID, &u.CompanyID, &u.AuthMethod, &u.Email, &u.Login, &u.FirstName, &u.MiddleName,
		&u.LastName, &u.Phone, &u.WorkPhone, &u.Position, &u.Status, &u.NameSetBySelf, &u.PasswordHash,
		&u.PasswordTemporary, &n.createdBy, &u.CreatedAt, &u.UpdatedAt, &n.lastLogin, &n.invExpires,
		&u.Lang, &u.MFAMethod, &n.allowlist, &n.idle, &n.lockedUntil, &u.FailedLogins, &u.TOTPSecret, &u.TOTPLastStep,
		&n.externalID, &n.employeeNumber, &n.department, &n.manager)
	if err := r.Scan(append(dest, more...)...); err != nil {
		return nil, err
	}
	u.ExternalID, u.EmployeeNumber, u.Department = n.externalID.String, n.employeeNumber.String, n.department.String
	if n.manager.Valid {
		u.ManagerID = &n.manager.Int64
	}
	scanCredentials(u, n.allowlist, n.idle, n.lockedUntil)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	if n.createdBy.Valid {
		u.CreatedBy = &n.createdBy.Int64
	}
	if n.lastLogin.Valid {
		t := n.lastLogin.Time.UTC()
		u.LastLoginAt = &t
	}
	if n.invExpires.Valid && u.Status == roster.StatusInvited {
		t := n.invExpires.Time.UTC()
		u.InvitationExpiresAt = &t
	}
	u.Roles = []roster.RoleRef{}
	return u, nil
}

// sortName is the key users are ordered by name with (roster.User.SortName):
// last name first.
func sortName(u *roster.User) string { return u.SortName() }

// searchText is the lower-cased text a search matches: the full name, the
// e-mail, the login and the phones, both as typed and as bare digits.
func searchText(u *roster.User) string {
	parts := []string{strings.Join(strings.Fields(u.FirstName+" "+u.MiddleName+" "+u.LastName), " "), u.Email, u.Login}
	for _, p := range []string{u.Phone, u.WorkPhone} {
		if p == "" {
			continue
		}
		parts = append(parts, p)
		if d := digitsOnly(p); d != p {
			parts = append(parts, d)
		}
	}
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.ToLower(strings.Join(out, " "))
}

func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// loadUserLists fills in what users hold beyond their row (userLists: roles,
// queues, client tags, operations fields), in one statement per 500 users.
// A user whose row is gone gets empty lists.
func loadUserLists(ctx context.Context, q querier, users []*roster.User) error {
	byID := make(map[int64]*roster.User, len(users))
	ids := make([]int64, 0, len(users))
	var none userLists
	for _, u := range users {
		byID[u.ID] = u
		ids = append(ids, u.ID)
		if err := none.apply(u); err != nil {
			return err
		}
	}
	for len(ids) > 0 {
		n := min(len(ids), 500)
		var b sqlBuilder
		lists := userListsSQL(&b)
		rows, err := q.QueryContext(ctx, `SELECT u.id, `+lists+` FROM users u `+userOpsJoins+`
			WHERE u.id IN (`+b.inInts(ids[:n])+`)`, b.args...)
		if err != nil {
			return fmt.Errorf("load user lists: %w", err)
		}
		for rows.Next() {
			var id int64
			var l userLists
			if err := rows.Scan(append([]any{&id}, l.dest()...)...); err != nil {
				rows.Close()
				return fmt.Errorf("load user lists: %w", err)
			}
			if err := l.apply(byID[id]); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load user lists: %w", err)
		}
		ids = ids[n:]
	}
	return nil
}

// onUser locks a user in scope (lockUser) whom the actor may manage
// (Actor.CheckManage): where every change an administrator makes to one
// user starts.
func onUser(ctx context.Context, tx *Tx, scope roster.Scope, id int64) (*roster.User, error) {
	u, err := lockUser(ctx, tx, scope, id)
	if err != nil {
		return nil, err
	}
	if err := checkManage(ctx, tx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// lockUser returns a user in scope with roles, or ENOTFOUND, and locks
// the user's row until tx ends. Every change to a user reads the user
// through it before acting, so that changes to one user run one after
// another, each acting on the user as the one before left them: of two
// deletes, the second finds no user; of two blocks, the second finds the
// user blocked. What belongs to the user (roles, sessions, memberships,
// codes) is changed only under this lock.
func lockUser(ctx context.Context, tx *Tx, scope roster.Scope, id int64) (*roster.User, error) {
	return queryUser(ctx, tx, scope, id, tx.s.d.lock(userLock))
}

// lockUserRows locks the rows of the users with ids (those that exist),
// in ascending id order, without loading them.
func lockUserRows(ctx context.Context, tx *Tx, ids []int64) error {
	lock := tx.s.d.lock(userLock)
	if lock == "" {
		return nil
	}
	ids = sortedIDs(ids)
	for len(ids) > 0 {
		n := min(len(ids), 500)
		var b sqlBuilder
		rows, err := tx.QueryContext(ctx, `SELECT id FROM users WHERE id IN (`+b.inInts(ids[:n])+`) ORDER BY id`+lock, b.args...)
		if err != nil {
			return fmt.Errorf("lock users: %w", err)
		}
		for rows.Next() {
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("lock users: %w", err)
		}
		ids = ids[n:]
	}
	return nil
}

// findUser returns a user in scope with roles, or ENOTFOUND.
func findUser(ctx context.Context, q querier, scope roster.Scope, id int64) (*roster.User, error) {
	return queryUser(ctx, q, scope, id, "")
}

// queryUser is findUser with a locking clause (dialect.lock) for the row.
//
// One user is read in one statement, with its lists (userListsSQL).
// Reading a user is what nearly every request does (the target of GET,
// PATCH and every action; the actor on a cache miss).
func queryUser(ctx context.Context, q querier, scope roster.Scope, id int64, lock string) (*roster.User, error) {
	if lock != "" {
		// Lock first, read after: the subqueries of one statement would see
		// the user's roles as they were before the lock was granted.
		var b sqlBuilder
		b.cond("u.id = " + b.arg(id))
		if !b.scopeCond(scope, "u.company_id") {
			return nil, notFound("User")
		}
		var locked int64
		err := q.QueryRowContext(ctx, `SELECT u.id FROM users u`+b.whereSQL()+lock, b.args...).Scan(&locked)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound("User")
		} else if err != nil {
			return nil, fmt.Errorf("lock user %d: %w", id, err)
		}
	}
	var b sqlBuilder
	lists := userListsSQL(&b)
	b.cond("u.id = " + b.arg(id))
	if !b.scopeCond(scope, "u.company_id") {
		return nil, notFound("User")
	}
	return scanUserWithLists(q.QueryRowContext(ctx, `SELECT `+userColumns+`, `+lists+` FROM users u `+userOpsJoins+b.whereSQL(), b.args...),
		"user "+strconv.FormatInt(id, 10))
}

// scanUserWithLists scans a row of userColumns then userListsSQL; no row
// is ENOTFOUND, another error is wrapped with what.
func scanUserWithLists(row *sql.Row, what string) (*roster.User, error) {
	var l userLists
	u, err := scanUser(row, l.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("User")
	}
	if err == nil {
		err = l.apply(u)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return u, nil
}

// userListsSQL are the columns, on users u joined with userOpsJoins, of
// what a user holds beyond their row (userLists): roles, queues and
// client tags as lists in one text column each, separated by control
// characters that Roster's text rules keep out of every name
// (roster.CheckText), then the operations fields (userOpsColumns).
func userListsSQL(b *sqlBuilder) string {
	unit, record := b.arg(unitSep), b.arg(recordSep)
	// No ORDER BY inside the aggregates: SQLite sorts each one in a
	// sorter of its own, per user; splitUserLists orders the lists.
	return `(SELECT string_agg(CASE WHEN r.system THEN '1' ELSE '0' END || ` + unit + ` || CAST(r.id AS TEXT) || ` + unit + ` || r.key || ` + unit + ` || r.name, ` + record + `)
			FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id),
		(SELECT string_agg(CAST(g.id AS TEXT) || ` + unit + ` || g.name, ` + record + `)
			FROM work_group_members m JOIN work_groups g ON g.id = m.group_id WHERE g.kind = 'queue' AND m.user_id = u.id),
		(SELECT string_agg(CAST(t.tag_id AS TEXT), ` + record + `) FROM user_client_tags t WHERE t.user_id = u.id),
		` + userOpsColumns
}

// userLists is one row of userListsSQL.
type userLists struct {
	roles, queues, tags sql.NullString
	ops                 userOps
}

// dest are the scan destinations of userListsSQL.
func (l *userLists) dest() []any {
	return append([]any{&l.roles, &l.queues, &l.tags}, l.ops.dest()...)
}

// apply sets u's roles, queues, client tags and operations fields; u's
// status must be set (userOps.apply).
func (l *userLists) apply(u *roster.User) error {
	if err := splitUserLists(u, l.roles.String, l.queues.String, l.tags.String); err != nil {
		return err
	}
	l.ops.apply(u)
	return nil
}

// The separators of queryUser's lists: C0 controls, which no stored text
// holds (roster.CheckText refuses them in every single-line field).
const (
	unitSep   = "\x1f"
	recordSep = "\x1e"
)

// splitUserLists fills u's roles, queues and client tags from the list
// columns of userListsSQL: roles system first, then by name and ID;
// queues by name and ID; tags by ID. Names compare byte by byte, the same
// on both engines.
func splitUserLists(u *roster.User, roles, queues, tags string) error {
	u.Roles, u.Queues, u.ClientTagIDs = []roster.RoleRef{}, []roster.GroupRef{}, []int64{}
	type role struct {
		roster.RoleRef
		system bool
	}
	var rs []role
	for rec := range splitNonEmpty(roles, recordSep) {
		f := strings.Split(rec, unitSep)
		if len(f) != 4 {
			return fmt.Errorf("malformed role %q", rec)
		}
		id, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return fmt.Errorf("malformed role %q", rec)
		}
		rs = append(rs, role{roster.RoleRef{ID: id, Key: f[2], Name: f[3]}, f[0] == "1"})
	}
	slices.SortFunc(rs, func(a, b role) int {
		if a.system != b.system {
			if a.system {
				return -1
			}
			return 1
		}
		return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	for _, r := range rs {
		u.Roles = append(u.Roles, r.RoleRef)
	}
	for rec := range splitNonEmpty(queues, recordSep) {
		idText, name, ok := strings.Cut(rec, unitSep)
		id, err := strconv.ParseInt(idText, 10, 64)
		if !ok || err != nil {
			return fmt.Errorf("malformed queue %q", rec)
		}
		u.Queues = append(u.Queues, roster.GroupRef{ID: id, Name: name})
	}
	slices.SortFunc(u.Queues, func(a, b roster.GroupRef) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	for rec := range splitNonEmpty(tags, recordSep) {
		id, err := strconv.ParseInt(rec, 10, 64)
		if err != nil {
			return fmt.Errorf("malformed client tag %q", rec)
		}
		u.ClientTagIDs = append(u.ClientTagIDs, id)
	}
	slices.Sort(u.ClientTagIDs)
	return nil
}

// splitNonEmpty is strings.SplitSeq that yields nothing for "".
func splitNonEmpty(s, sep string) iter.Seq[string] {
	if s == "" {
		return func(func(string) bool) {}
	}
	return strings.SplitSeq(s, sep)
}

// UserByID returns a user in scope, with roles.
func (s *Store) UserByID(ctx context.Context, scope roster.Scope, id int64) (*roster.User, error) {
	return findUser(ctx, s.rdb, scope, id)
}

// UserByUsername finds a user by e-mail or login, case-insensitively.
func (s *Store) UserByUsername(ctx context.Context, username string) (*roster.User, error) {
	name := strings.ToLower(strings.TrimSpace(username))
	if name == "" {
		return nil, notFound("User")
	}
	var b sqlBuilder
	lists := userListsSQL(&b)
	p := b.arg(name)
	return scanUserWithLists(s.rdb.QueryRowContext(ctx, `SELECT `+userColumns+`, `+lists+` FROM users u `+userOpsJoins+`
		WHERE (u.email = `+p+` AND u.email <> '') OR (u.login = `+p+` AND u.login <> '')`, b.args...), "user by username")
}

// UserPermissions returns the union of the permissions of the user's roles.
func (s *Store) UserPermissions(ctx context.Context, userID int64) (roster.PermissionSet, error) {
	return userPermissions(ctx, s.rdb, userID)
}

func userPermissions(ctx context.Context, q querier, userID int64) (roster.PermissionSet, error) {
	rows, err := q.QueryContext(ctx, `SELECT DISTINCT rp.permission FROM user_roles ur
		JOIN role_permissions rp ON rp.role_id = ur.role_id WHERE ur.user_id = $1`, userID)
	if err != nil {
		return nil, fmt.Errorf("user permissions: %w", err)
	}
	defer rows.Close()
	set := roster.PermissionSet{}
	for rows.Next() {
		var p roster.Permission
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("user permissions: %w", err)
		}
		set[p] = true
	}
	return set, rows.Err()
}

// checkManage applies Actor.CheckManage against the target's current roles.
func checkManage(ctx context.Context, tx *Tx, u *roster.User) error {
	if tx.actor == nil {
		return nil
	}
	perms, err := userPermissions(ctx, tx, u.ID)
	if err != nil {
		return err
	}
	return tx.actor.CheckManage(u, perms)
}

// rolesForUser loads the roles with ids and checks that each is a system
// role or a role of company; EINVALID on "role_ids" otherwise. The roles
// stay locked against deletion until tx ends, so that they can be granted.
func rolesForUser(ctx context.Context, tx *Tx, companyID int64, ids []int64) (map[int64]*roster.Role, error) {
	out := map[int64]*roster.Role{}
	if len(ids) == 0 {
		return out, nil
	}
	roles, err := lockRoles(ctx, tx, ids, lockKeyShare)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		r, ok := roles[id]
		if !ok || (!r.System && (r.CompanyID == nil || *r.CompanyID != companyID)) {
			return nil, invalidRole("Unknown role.")
		}
		if r.Key == roster.RoleMainAdmin && r.System && companyID != roster.PlatformCompanyID {
			return nil, invalidRole("The Main administrator role is held only in the platform company.")
		}
		out[id] = r
	}
	return out, nil
}

func invalidRole(msg string) error {
	return &roster.Error{Code: roster.EINVALID, Message: msg,
		Fields: []roster.FieldError{{Field: "role_ids", Code: "unknown_role", Message: msg}}}
}

func userFields(u *roster.User) map[string]any {
	return map[string]any{
		"auth_method": string(u.AuthMethod), "email": u.Email, "login": u.Login,
		"first_name": u.FirstName, "middle_name": u.MiddleName, "last_name": u.LastName,
		"phone": u.Phone, "work_phone": u.WorkPhone, "position": u.Position, "status": string(u.Status),
	}
}

// directoryFields are the directory fields of u that are set, for the
// creation event.
func directoryFields(u *roster.User) map[string]any {
	out := map[string]any{}
	for k, v := range map[string]string{"external_id": u.ExternalID, "employee_number": u.EmployeeNumber, "department": u.Department} {
		if v != "" {
			out[k] = v
		}
	}
	if u.ManagerID != nil {
		out["manager_id"] = *u.ManagerID
	}
	return out
}

// checkManager refuses a manager (when set and not 0) who is not a user of
// company, or is the user self.
func checkManager(ctx context.Context, tx *Tx, companyID, self int64, manager *int64) error {
	if manager == nil || *manager == 0 {
		return nil
	}
	refuse := func(msg string) error {
		return &roster.Error{Code: roster.EINVALID, Message: msg,
			Fields: []roster.FieldError{{Field: "manager_id", Code: "unknown_manager", Message: msg}}}
	}
	if *manager == self {
		return refuse("A user is not their own manager.")
	}
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = $1 AND company_id = $2`, *manager, companyID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return refuse("The manager is not a user of this company.")
	}
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	return nil
}

func derefID(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func roleKeys(rs []roster.RoleRef) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Key)
	}
	return out
}

// userEvent is an event about user u in u's company.
func userEvent(typ string, u *roster.User) *roster.Event {
	return &roster.Event{Type: typ, CompanyID: u.CompanyID, TargetUserID: int64Ptr(u.ID), TargetName: u.DisplayName()}
}

// checkUnique returns ECONFLICT when the e-mail or login is taken.
func checkUnique(ctx context.Context, q querier, email, login string) error {
	var n int
	if email != "" {
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE email = $1 AND email <> ''`, email).Scan(&n); err != nil {
			return fmt.Errorf("check e-mail: %w", err)
		}
		if n > 0 {
			return roster.Conflict("email", "A user with this e-mail already exists.")
		}
	}
	if login != "" {
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE login = $1 AND login <> ''`, login).Scan(&n); err != nil {
			return fmt.Errorf("check login: %w", err)
		}
		if n > 0 {
			return roster.Conflict("login", "A user with this login already exists.")
		}
	}
	return nil
}

// CreateUser inserts the user with its roles and, with invitationHash set, a
// pending invitation.
func (s *Store) CreateUser(ctx context.Context, u *roster.User, roleIDs []int64, invitationHash []byte, invitationExpiry time.Time, jobs ...*roster.Job) error {
	return s.write(ctx, func(tx *Tx) error {
		if err := createUser(ctx, tx, u, roleIDs, invitationHash, invitationExpiry, roster.EventUserCreated); err != nil {
			return err
		}
		return insertJobs(ctx, tx, jobs...)
	})
}

// CreateUserWithPasswordLink creates a user holding a single-use link to
// set their password ("Send to e-mail"): the user, the link, its e-mail and
// both events commit together or not at all.
func (s *Store) CreateUserWithPasswordLink(ctx context.Context, u *roster.User, roleIDs []int64, resetHash []byte, resetExpiry time.Time, jobs ...*roster.Job) error {
	return s.write(ctx, func(tx *Tx) error {
		if err := createUser(ctx, tx, u, roleIDs, nil, time.Time{}, roster.EventUserCreated); err != nil {
			return err
		}
		if err := setResetToken(ctx, tx, u, resetHash, resetExpiry); err != nil {
			return err
		}
		return insertJobs(ctx, tx, jobs...)
	})
}

func createUser(ctx context.Context, tx *Tx, u *roster.User, roleIDs []int64, invitationHash []byte, invitationExpiry time.Time, eventType string) error {
	u.Email, u.Login = roster.NormalizeEmail(u.Email), roster.NormalizeLogin(u.Login)
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM companies WHERE id = $1`, u.CompanyID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return notFound("Company")
	} else if err != nil {
		return fmt.Errorf("company of new user: %w", err)
	}
	roleIDs = dedupe(roleIDs)
	if len(roleIDs) == 0 {
		return &roster.Error{Code: roster.EINVALID, Message: "Choose at least one role.",
			Fields: []roster.FieldError{{Field: "role_ids", Code: "required", Message: "Choose at least one role."}}}
	}
	roles, err := rolesForUser(ctx, tx, u.CompanyID, roleIDs)
	if err != nil {
		return err
	}
	company, err := findCompany(ctx, tx, roster.Scope{All: true}, u.CompanyID)
	if err != nil {
		return err
	}
	for _, id := range roleIDs {
		if err := tx.actor.CheckGrant(roles[id], company); err != nil {
			return err
		}
	}
	if err := checkUnique(ctx, tx, u.Email, u.Login); err != nil {
		return err
	}
	if err := checkManager(ctx, tx, u.CompanyID, 0, u.ManagerID); err != nil {
		return err
	}
	if u.Status == "" {
		u.Status = roster.StatusActive
		if invitationHash != nil {
			u.Status = roster.StatusInvited
		}
	}
	if u.CreatedBy == nil && tx.actor != nil && tx.actor.User != nil {
		u.CreatedBy = int64Ptr(tx.actor.User.ID)
	}
	u.CreatedAt, u.UpdatedAt = tx.now, tx.now
	var invExpiry any
	if invitationHash != nil {
		t := invitationExpiry.UTC().Truncate(time.Microsecond)
		invExpiry = t
		u.InvitationExpiresAt = &t
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO users (company_id, auth_method, email, login, first_name, middle_name,
		last_name, phone, work_phone, position, status, name_set_by_self, password_hash, password_temporary,
		created_by, created_at, updated_at, invitation_hash, invitation_expires_at, sort_name, search, lang,
		external_id, employee_number, department, manager_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17, $18, $19, $20, $21,
		$22, $23, $24, $25)
		RETURNING id`,
		u.CompanyID, string(u.AuthMethod), u.Email, u.Login, u.FirstName, u.MiddleName, u.LastName, u.Phone,
		u.WorkPhone, u.Position, string(u.Status), u.NameSetBySelf, u.PasswordHash, u.PasswordTemporary,
		u.CreatedBy, tx.now, invitationHash, invExpiry, sortName(u), searchText(u), roster.NormalizeUserLang(u.Lang),
		nullString(u.ExternalID), nullString(u.EmployeeNumber), nullString(u.Department), u.ManagerID).Scan(&u.ID)
	if c, ok := tx.s.d.uniqueViolation(err); ok {
		if strings.Contains(c, "login") {
			return roster.Conflict("login", "A user with this login already exists.")
		}
		return roster.Conflict("email", "A user with this e-mail already exists.")
	} else if err != nil {
		return fmt.Errorf("insert user: %w", err)
	}
	if err := addUserCount(ctx, tx, u.CompanyID, 1); err != nil {
		return err
	}
	u.Roles = []roster.RoleRef{}
	for _, id := range roleIDs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2)`, u.ID, id); err != nil {
			return fmt.Errorf("insert user role: %w", err)
		}
		r := roles[id]
		u.Roles = append(u.Roles, roster.RoleRef{ID: r.ID, Key: r.Key, Name: r.Name})
	}
	after := userFields(u)
	after["roles"] = roleKeys(u.Roles)
	for k, v := range directoryFields(u) {
		after[k] = v
	}
	if invitationHash != nil {
		after["invitation_expires_at"] = u.InvitationExpiresAt
	}
	return writeEvent(ctx, tx, &roster.Event{Type: eventType, CompanyID: u.CompanyID,
		TargetUserID: int64Ptr(u.ID), TargetName: u.DisplayName(), After: after})
}

func dedupe(ids []int64) []int64 {
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// UpdateUser applies an update to a user in scope: the profile fields, and
// with them the access (upd.Access) and operations (upd.Operator) settings,
// all in one transaction, so a refused part leaves every part unchanged.
func (s *Store) UpdateUser(ctx context.Context, scope roster.Scope, id int64, upd roster.UserUpdate) (*roster.User, error) {
	if err := upd.Validate(); err != nil {
		return nil, err
	}
	return writeResult(ctx, s, func(tx *Tx) (*roster.User, error) {
		u, err := onUser(ctx, tx, scope, id)
		if err != nil {
			return nil, err
		}
		// updateUserFields leaves u as it wrote it; the other parts are
		// read back.
		if _, err := updateUserFields(ctx, tx, u, upd); err != nil {
			return nil, err
		}
		reread := false
		if upd.Access != nil {
			c, err := setUserAccess(ctx, tx, u, *upd.Access)
			if err != nil {
				return nil, err
			}
			reread = reread || c
		}
		if upd.Operator != nil {
			c, err := updateOperator(ctx, tx, u, *upd.Operator)
			if err != nil {
				return nil, err
			}
			reread = reread || c
		}
		if !reread {
			return u, nil
		}
		return findUser(ctx, tx, scope, id)
	})
}

// updateUserFields applies the profile fields of upd to u (names, phones,
// position) with their event; changed is false when nothing differs.
func updateUserFields(ctx context.Context, tx *Tx, u *roster.User, upd roster.UserUpdate) (changed bool, err error) {
	self := tx.actor != nil && tx.actor.UserID() == u.ID
	before, after := map[string]any{}, map[string]any{}
	set := func(field string, dst *string, v *string) {
		if v != nil && *v != *dst {
			before[field], after[field] = *dst, *v
			*dst = *v
		}
	}
	set("first_name", &u.FirstName, upd.FirstName)
	set("middle_name", &u.MiddleName, upd.MiddleName)
	set("last_name", &u.LastName, upd.LastName)
	nameChanged := len(after) > 0
	if nameChanged && u.NameSetBySelf && tx.actor != nil && !self {
		return false, roster.Errorf(roster.EFORBIDDEN, "This user set their name themselves; it cannot be changed by an administrator.")
	}
	set("phone", &u.Phone, upd.Phone)
	set("work_phone", &u.WorkPhone, upd.WorkPhone)
	set("position", &u.Position, upd.Position)
	set("external_id", &u.ExternalID, upd.ExternalID)
	set("employee_number", &u.EmployeeNumber, upd.EmployeeNumber)
	set("department", &u.Department, upd.Department)
	if m := upd.ManagerID; m != nil && *m != derefID(u.ManagerID) {
		if err := checkManager(ctx, tx, u.CompanyID, u.ID, m); err != nil {
			return false, err
		}
		before["manager_id"], after["manager_id"] = u.ManagerID, *m
		u.ManagerID = nil
		if *m != 0 {
			u.ManagerID = int64Ptr(*m)
		} else {
			after["manager_id"] = nil
		}
	}
	if len(after) == 0 {
		return false, nil
	}
	u.UpdatedAt = tx.now
	// Only the changed columns are written: SQLite rewrites every index
	// holding a column the SET list names, changed or not, and the trigram
	// index when search is named.
	var b sqlBuilder
	cols := make([]string, 0, 8)
	setCol := func(col string, v any) { cols = append(cols, col+` = `+b.arg(v)) }
	for _, f := range []struct {
		name string
		v    any
	}{
		{"first_name", u.FirstName}, {"middle_name", u.MiddleName}, {"last_name", u.LastName},
		{"phone", u.Phone}, {"work_phone", u.WorkPhone}, {"position", u.Position},
		{"external_id", nullString(u.ExternalID)}, {"employee_number", nullString(u.EmployeeNumber)},
		{"department", nullString(u.Department)}, {"manager_id", u.ManagerID},
	} {
		if _, ok := after[f.name]; ok {
			setCol(f.name, f.v)
		}
	}
	if nameChanged {
		if self {
			u.NameSetBySelf = true
			setCol("name_set_by_self", true)
		}
		setCol("sort_name", sortName(u))
	}
	_, phone := after["phone"]
	_, workPhone := after["work_phone"]
	if nameChanged || phone || workPhone {
		setCol("search", searchText(u))
	}
	setCol("updated_at", tx.now)
	if _, err := tx.ExecContext(ctx, updateUsers+strings.Join(cols, ", ")+` WHERE id = `+b.arg(u.ID), b.args...); err != nil {
		return false, fmt.Errorf("update user: %w", err)
	}
	e := userEvent(roster.EventUserUpdated, u)
	e.Before, e.After = before, after
	return true, writeEvent(ctx, tx, e)
}

// DeleteUser removes a user; roles and sessions go with them, events keep
// the names they had.
func (s *Store) DeleteUser(ctx context.Context, scope roster.Scope, id int64) error {
	return s.write(ctx, func(tx *Tx) error {
		u, err := lockUser(ctx, tx, scope, id)
		if err != nil {
			return err
		}
		if tx.actor != nil && tx.actor.UserID() == u.ID {
			return roster.Errorf(roster.EFORBIDDEN, "You cannot delete your own account.")
		}
		if err := checkManage(ctx, tx, u); err != nil {
			return err
		}
		return deleteUser(ctx, tx, u, "")
	})
}

// deleteUser deletes u, whom tx has locked (lockUser).
func deleteUser(ctx context.Context, tx *Tx, u *roster.User, comment string) error {
	e := userEvent(roster.EventUserDeleted, u)
	e.Before = userFields(u)
	e.Before["roles"] = roleKeys(u.Roles)
	e.Comment = comment
	left, err := leaveWorkGroups(ctx, tx, u.ID)
	if err != nil {
		return err
	}
	e.Before["removed_from"] = left
	if err := writeEvent(ctx, tx, e); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, u.ID); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return addUserCount(ctx, tx, u.CompanyID, -1)
}

// BlockUser blocks a user and ends all their sessions.
func (s *Store) BlockUser(ctx context.Context, scope roster.Scope, id int64, comment string) (*roster.User, error) {
	return s.setBlocked(ctx, scope, id, comment, true)
}

// UnblockUser makes a blocked user active again, or invited if they never
// registered.
func (s *Store) UnblockUser(ctx context.Context, scope roster.Scope, id int64, comment string) (*roster.User, error) {
	return s.setBlocked(ctx, scope, id, comment, false)
}

func (s *Store) setBlocked(ctx context.Context, scope roster.Scope, id int64, comment string, block bool) (*roster.User, error) {
	return writeResult(ctx, s, func(tx *Tx) (*roster.User, error) {
		u, err := lockUser(ctx, tx, scope, id)
		if err != nil {
			return nil, err
		}
		if block && tx.actor != nil && tx.actor.UserID() == u.ID {
			return nil, roster.Errorf(roster.EFORBIDDEN, "You cannot block your own account.")
		}
		if err := checkManage(ctx, tx, u); err != nil {
			return nil, err
		}
		if _, err := setUserBlocked(ctx, tx, u, comment, block); err != nil {
			return nil, err
		}
		return u, nil
	})
}

// setUserBlocked blocks or unblocks u, whom tx has locked; a user already
// in that state is left alone (changed is false).
func setUserBlocked(ctx context.Context, tx *Tx, u *roster.User, comment string, block bool) (changed bool, err error) {
	if block == (u.Status == roster.StatusBlocked) {
		return false, nil
	}
	old := u.Status
	typ := roster.EventUserBlocked
	var left []roster.Membership
	if block {
		u.Status = roster.StatusBlocked
		if err := deleteUserSessions(ctx, tx, u.ID); err != nil {
			return false, err
		}
		// A blocked user leaves every queue, shift and agent group (U10);
		// unblocking does not put them back.
		if left, err = leaveWorkGroups(ctx, tx, u.ID); err != nil {
			return false, err
		}
	} else {
		typ = roster.EventUserUnblocked
		var registered bool
		if err := tx.QueryRowContext(ctx, `SELECT password_hash <> '' OR invitation_accepted_at IS NOT NULL FROM users WHERE id = $1`,
			u.ID).Scan(&registered); err != nil {
			return false, fmt.Errorf("unblock: %w", err)
		}
		u.Status = roster.StatusActive
		if !registered {
			u.Status = roster.StatusInvited
		}
	}
	u.UpdatedAt = tx.now
	if _, err := tx.ExecContext(ctx, updateUsers+`status = $1, updated_at = $2 WHERE id = $3`, string(u.Status), tx.now, u.ID); err != nil {
		return false, fmt.Errorf("set status: %w", err)
	}
	e := userEvent(typ, u)
	e.Before, e.After = map[string]any{"status": string(old)}, map[string]any{"status": string(u.Status)}
	if block {
		e.After["removed_from"] = left
		u.Queues = []roster.GroupRef{}
	}
	e.Comment = comment
	return true, writeEvent(ctx, tx, e)
}

func deleteUserSessions(ctx context.Context, tx querier, userID int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 OR impersonator_id = $1`, userID); err != nil {
		return fmt.Errorf("delete sessions: %w", err)
	}
	return nil
}

// SetUserRoles replaces a user's roles.
func (s *Store) SetUserRoles(ctx context.Context, scope roster.Scope, id int64, roleIDs []int64) (*roster.User, error) {
	return writeResult(ctx, s, func(tx *Tx) (*roster.User, error) {
		u, err := onUser(ctx, tx, scope, id)
		if err != nil {
			return nil, err
		}
		return setUserRoles(ctx, tx, u, roleIDs)
	})
}

// setUserRoles replaces the roles of u, whom tx has locked.
func setUserRoles(ctx context.Context, tx *Tx, u *roster.User, roleIDs []int64) (*roster.User, error) {
	roleIDs = dedupe(roleIDs)
	if len(roleIDs) == 0 {
		return nil, &roster.Error{Code: roster.EINVALID, Message: "A user keeps at least one role.",
			Fields: []roster.FieldError{{Field: "role_ids", Code: "required", Message: "A user keeps at least one role."}}}
	}
	roles, err := rolesForUser(ctx, tx, u.CompanyID, roleIDs)
	if err != nil {
		return nil, err
	}
	var held []int64
	for _, r := range u.Roles {
		held = append(held, r.ID)
	}
	var added, removed []int64
	for _, id := range roleIDs {
		if !slices.Contains(held, id) {
			added = append(added, id)
		}
	}
	for _, id := range held {
		if !slices.Contains(roleIDs, id) {
			removed = append(removed, id)
		}
	}
	if len(added) == 0 && len(removed) == 0 {
		return u, nil
	}
	removedRoles, err := rolesByIDs(ctx, tx, removed)
	if err != nil {
		return nil, err
	}
	company, err := findCompany(ctx, tx, roster.Scope{All: true}, u.CompanyID)
	if err != nil {
		return nil, err
	}
	for _, id := range added {
		if err := tx.actor.CheckGrant(roles[id], company); err != nil {
			return nil, err
		}
	}
	for _, id := range removed {
		if err := tx.actor.CheckGrant(removedRoles[id], company); err != nil {
			return nil, err
		}
	}
	beforeKeys := roleKeys(u.Roles)
	for _, id := range removed {
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_roles WHERE user_id = $1 AND role_id = $2`, u.ID, id); err != nil {
			return nil, fmt.Errorf("remove role: %w", err)
		}
	}
	for _, id := range added {
		if err := addUserRole(ctx, tx, u.ID, id); err != nil {
			return nil, err
		}
	}
	if err := touchUser(ctx, tx, u); err != nil {
		return nil, err
	}
	if err := loadUserLists(ctx, tx, []*roster.User{u}); err != nil {
		return nil, err
	}
	e := userEvent(roster.EventUserRolesChanged, u)
	e.Before, e.After = map[string]any{"roles": beforeKeys}, map[string]any{"roles": roleKeys(u.Roles)}
	if err := writeEvent(ctx, tx, e); err != nil {
		return nil, err
	}
	return u, nil
}

// addUserRole gives a role to a user; one who holds it already keeps it.
func addUserRole(ctx context.Context, tx *Tx, userID, roleID int64) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2)
		ON CONFLICT (user_id, role_id) DO NOTHING`, userID, roleID); err != nil {
		return fmt.Errorf("add role: %w", err)
	}
	return nil
}

func touchUser(ctx context.Context, tx *Tx, u *roster.User) error {
	u.UpdatedAt = tx.now
	if _, err := tx.ExecContext(ctx, updateUsers+`updated_at = $1 WHERE id = $2`, tx.now, u.ID); err != nil {
		return fmt.Errorf("touch user: %w", err)
	}
	return nil
}

// SetPassword stores a new password hash set by an administrator; a
// temporary one also ends the user's sessions.
func (s *Store) SetPassword(ctx context.Context, scope roster.Scope, id int64, hash string, temporary bool) error {
	return s.write(ctx, func(tx *Tx) error {
		u, err := onUser(ctx, tx, scope, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, updateUsers+`password_hash = $1, password_temporary = $2, updated_at = $3 WHERE id = $4`,
			hash, temporary, tx.now, u.ID); err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		if temporary {
			if err := deleteUserSessions(ctx, tx, u.ID); err != nil {
				return err
			}
		}
		e := userEvent(roster.EventUserPasswordReset, u)
		e.After = map[string]any{"password_temporary": temporary}
		return writeEvent(ctx, tx, e)
	})
}

// selfEvent is an event the user does to themselves: with no actor in the
// context, the user is the actor.
func selfEvent(tx *Tx, typ string, u *roster.User) *roster.Event {
	e := userEvent(typ, u)
	if tx.actor == nil || tx.actor.User == nil {
		e.ActorID, e.ActorName = int64Ptr(u.ID), u.DisplayName()
	}
	return e
}

// ChangeOwnPassword stores a permanent password set by the user, ends every
// other session of theirs and activates an invited user.
func (s *Store) ChangeOwnPassword(ctx context.Context, userID int64, hash string) error {
	return s.write(ctx, func(tx *Tx) error {
		u, err := lockUser(ctx, tx, roster.Scope{All: true}, userID)
		if err != nil {
			return err
		}
		status := u.Status
		if status == roster.StatusInvited {
			status = roster.StatusActive
			if _, err := tx.ExecContext(ctx, updateUsers+`invitation_accepted_at = $1, invitation_hash = NULL WHERE id = $2`, tx.now, u.ID); err != nil {
				return fmt.Errorf("accept invitation: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, updateUsers+`password_hash = $1, password_temporary = FALSE, status = $2, updated_at = $3 WHERE id = $4`,
			hash, string(status), tx.now, u.ID); err != nil {
			return fmt.Errorf("change password: %w", err)
		}
		var keep int64
		if tx.actor != nil && tx.actor.UserID() == u.ID {
			keep = tx.actor.SessionID
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id <> $2`, u.ID, keep); err != nil {
			return fmt.Errorf("end other sessions: %w", err)
		}
		e := selfEvent(tx, roster.EventUserPasswordChange, u)
		if status != u.Status {
			e.Before, e.After = map[string]any{"status": string(u.Status)}, map[string]any{"status": string(status)}
		}
		return writeEvent(ctx, tx, e)
	})
}

// RecordSignIn sets last_login_at and writes the sign-in event.
func (s *Store) RecordSignIn(ctx context.Context, userID int64) error {
	return s.write(ctx, func(tx *Tx) error {
		u, err := lockUser(ctx, tx, roster.Scope{All: true}, userID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, updateUsers+`last_login_at = $1 WHERE id = $2`, tx.now, u.ID); err != nil {
			return fmt.Errorf("record sign-in: %w", err)
		}
		return writeEvent(ctx, tx, selfEvent(tx, roster.EventSignIn, u))
	})
}

// RecordSignInFailure writes a refused sign-in to the user's company log.
func (s *Store) RecordSignInFailure(ctx context.Context, userID int64, reason string) error {
	return s.write(ctx, func(tx *Tx) error {
		tx.actor = addressOnly(tx.actor)
		u, err := findUser(ctx, tx, roster.Scope{All: true}, userID)
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		e := userEvent(roster.EventSignInFailed, u)
		e.After = map[string]any{"reason": reason}
		return writeEvent(ctx, tx, e)
	})
}

// addressOnly keeps only the address of an actor: events with no actor.
func addressOnly(a *roster.Actor) *roster.Actor {
	if a == nil {
		return nil
	}
	return &roster.Actor{Address: a.Address}
}

// ResendInvitation replaces the pending invitation of an invited user.
func (s *Store) ResendInvitation(ctx context.Context, scope roster.Scope, id int64, hash []byte, expiry time.Time, jobs ...*roster.Job) error {
	expiry = expiry.UTC().Truncate(time.Microsecond)
	return s.write(ctx, func(tx *Tx) error {
		u, err := onUser(ctx, tx, scope, id)
		if err != nil {
			return err
		}
		if u.Status != roster.StatusInvited {
			return roster.Errorf(roster.ECONFLICT, "This user has no pending invitation.")
		}
		if _, err := tx.ExecContext(ctx, updateUsers+`invitation_hash = $1, invitation_expires_at = $2, updated_at = $3 WHERE id = $4`,
			hash, expiry, tx.now, u.ID); err != nil {
			return fmt.Errorf("resend invitation: %w", err)
		}
		e := userEvent(roster.EventUserInvited, u)
		e.After = map[string]any{"invitation_expires_at": expiry}
		if err := insertJobs(ctx, tx, jobs...); err != nil {
			return err
		}
		return writeEvent(ctx, tx, e)
	})
}

// nullString stores an empty optional text column as NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
