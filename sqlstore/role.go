package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/roster-app/roster"
)

const roleColumns = `r.id, r.company_id, r.key, r.name, r.system, r.created_at, r.updated_at`

func scanRole(rs rowScanner) (*roster.Role, error) {
	var r roster.Role
	var company sql.NullInt64
	if err := rs.Scan(&r.ID, &company, &r.Key, &r.Name, &r.System, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return nil, err
	}
	if company.Valid {
		r.CompanyID = &company.Int64
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	r.Permissions = []roster.Permission{}
	return &r, nil
}

// queryRoles runs a roles query (select list roleColumns) and loads permissions.
func queryRoles(ctx context.Context, q querier, query string, args ...any) ([]*roster.Role, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("roles: %w", err)
	}
	var roles []*roster.Role
	for rows.Next() {
		r, err := scanRole(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("roles: %w", err)
		}
		roles = append(roles, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("roles: %w", err)
	}
	if len(roles) == 0 {
		return roles, nil
	}
	byID := map[int64]*roster.Role{}
	var b sqlBuilder
	ids := make([]int64, 0, len(roles))
	for _, r := range roles {
		byID[r.ID] = r
		ids = append(ids, r.ID)
	}
	prows, err := q.QueryContext(ctx, `SELECT role_id, permission FROM role_permissions WHERE role_id IN (`+b.inInts(ids)+`)`, b.args...)
	if err != nil {
		return nil, fmt.Errorf("role permissions: %w", err)
	}
	defer prows.Close()
	for prows.Next() {
		var id int64
		var p roster.Permission
		if err := prows.Scan(&id, &p); err != nil {
			return nil, fmt.Errorf("role permissions: %w", err)
		}
		byID[id].Permissions = append(byID[id].Permissions, p)
	}
	for _, r := range roles {
		r.Permissions = roster.NewPermissionSet(r.Permissions...).Sorted()
	}
	return roles, prows.Err()
}

func rolesByIDs(ctx context.Context, q querier, ids []int64) (map[int64]*roster.Role, error) {
	return queryRolesByIDs(ctx, q, ids, "")
}

// lockRoles is rolesByIDs that also locks the roles' rows until tx ends,
// with strength (see dialect.lock), in ascending id order.
func lockRoles(ctx context.Context, tx *Tx, ids []int64, strength string) (map[int64]*roster.Role, error) {
	return queryRolesByIDs(ctx, tx, ids, ` ORDER BY r.id`+tx.s.d.lock(strength))
}

func queryRolesByIDs(ctx context.Context, q querier, ids []int64, tail string) (map[int64]*roster.Role, error) {
	out := map[int64]*roster.Role{}
	if len(ids) == 0 {
		return out, nil
	}
	var b sqlBuilder
	roles, err := queryRoles(ctx, q, `SELECT `+roleColumns+` FROM roles r WHERE r.id IN (`+b.inInts(ids)+`)`+tail, b.args...)
	if err != nil {
		return nil, err
	}
	for _, r := range roles {
		out[r.ID] = r
	}
	return out, nil
}

// setRolePermissions replaces a role's permissions.
func setRolePermissions(ctx context.Context, tx *Tx, roleID int64, ps []roster.Permission) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM role_permissions WHERE role_id = $1`, roleID); err != nil {
		return fmt.Errorf("set role permissions: %w", err)
	}
	for _, p := range roster.NewPermissionSet(ps...).Sorted() {
		if _, err := tx.ExecContext(ctx, `INSERT INTO role_permissions (role_id, permission) VALUES ($1, $2)`, roleID, string(p)); err != nil {
			return fmt.Errorf("set role permissions: %w", err)
		}
	}
	return nil
}

// roleCounts fills UserCount: the holders of each role in company.
func roleCounts(ctx context.Context, q querier, companyID int64, roles []*roster.Role) error {
	for _, r := range roles {
		err := q.QueryRowContext(ctx, `SELECT count(*) FROM user_roles ur JOIN users u ON u.id = ur.user_id
			WHERE ur.role_id = $1 AND u.company_id = $2`, r.ID, companyID).Scan(&r.UserCount)
		if err != nil {
			return fmt.Errorf("role user count: %w", err)
		}
	}
	return nil
}

// Roles lists the system roles and the roles of a company, with the number
// of the company's users holding each.
func (s *Store) Roles(ctx context.Context, companyID int64) ([]*roster.Role, error) {
	roles, err := queryRoles(ctx, s.rdb, `SELECT `+roleColumns+` FROM roles r
		WHERE r.company_id IS NULL OR r.company_id = $1 ORDER BY r.system DESC, r.id`, companyID)
	if err != nil {
		return nil, err
	}
	return roles, roleCounts(ctx, s.rdb, companyID, roles)
}

func findRole(ctx context.Context, q querier, scope roster.Scope, id int64) (*roster.Role, error) {
	return queryRole(ctx, q, scope, id, "")
}

// lockRole is findRole that also locks the role's row until tx ends, with
// strength (see dialect.lock).
func lockRole(ctx context.Context, tx *Tx, scope roster.Scope, id int64, strength string) (*roster.Role, error) {
	return queryRole(ctx, tx, scope, id, tx.s.d.lock(strength))
}

func queryRole(ctx context.Context, q querier, scope roster.Scope, id int64, lock string) (*roster.Role, error) {
	roles, err := queryRoles(ctx, q, `SELECT `+roleColumns+` FROM roles r WHERE r.id = $1`+lock, id)
	if err != nil {
		return nil, err
	}
	if len(roles) == 0 || (roles[0].CompanyID != nil && !scope.Contains(*roles[0].CompanyID)) {
		return nil, notFound("Role")
	}
	return roles[0], nil
}

// RoleByID returns a system role, or a role of a company in scope.
func (s *Store) RoleByID(ctx context.Context, scope roster.Scope, id int64) (*roster.Role, error) {
	r, err := findRole(ctx, s.rdb, scope, id)
	if err != nil {
		return nil, err
	}
	if r.CompanyID != nil {
		err = roleCounts(ctx, s.rdb, *r.CompanyID, []*roster.Role{r})
	}
	return r, err
}

// RoleByKey returns a company's role, or a system role, by key.
func (s *Store) RoleByKey(ctx context.Context, companyID int64, key string) (*roster.Role, error) {
	roles, err := queryRoles(ctx, s.rdb, `SELECT `+roleColumns+` FROM roles r
		WHERE r.key = $1 AND (r.company_id = $2 OR r.company_id IS NULL) ORDER BY r.system DESC`, key, companyID)
	if err != nil {
		return nil, err
	}
	if len(roles) == 0 {
		return nil, notFound("Role")
	}
	return roles[0], nil
}

func roleEvent(typ string, r *roster.Role) *roster.Event {
	e := &roster.Event{Type: typ, TargetRoleID: int64Ptr(r.ID), TargetName: r.Name, CompanyID: roster.PlatformCompanyID}
	if r.CompanyID != nil {
		e.CompanyID = *r.CompanyID
	}
	return e
}

func permStrings(ps []roster.Permission) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

// checkPermissionChange refuses an actor adding or removing a permission
// they do not hold themselves.
func checkPermissionChange(a *roster.Actor, ps []roster.Permission) error {
	if a == nil {
		return nil
	}
	for _, p := range ps {
		if !a.Permissions.Has(p) {
			return roster.Errorf(roster.EFORBIDDEN, "You cannot give or take a permission you do not have: %s.", p)
		}
	}
	return nil
}

// CreateRole creates a custom role in r.CompanyID; ECONFLICT on "key".
func (s *Store) CreateRole(ctx context.Context, r *roster.Role) error {
	if r.CompanyID == nil {
		return roster.Errorf(roster.EINVALID, "A custom role belongs to a company.")
	}
	return s.write(ctx, func(tx *Tx) error {
		if err := checkPermissionChange(tx.actor, r.Permissions); err != nil {
			return err
		}
		if err := createRole(ctx, tx, r); err != nil {
			return err
		}
		e := roleEvent(roster.EventRoleCreated, r)
		e.After = map[string]any{"key": r.Key, "name": r.Name, "permissions": permStrings(r.Permissions)}
		return writeEvent(ctx, tx, e)
	})
}

func createRole(ctx context.Context, tx *Tx, r *roster.Role) error {
	r.Name = strings.TrimSpace(r.Name)
	if r.Key == "" {
		r.Key = roster.RoleKeyFromName(r.Name)
	}
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM companies WHERE id = $1`, *r.CompanyID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return notFound("Company")
	} else if err != nil {
		return fmt.Errorf("role company: %w", err)
	}
	if err := checkRoleName(ctx, tx, *r.CompanyID, r.Name, 0); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM roles WHERE key = $1 AND (company_id = $2 OR company_id IS NULL)`,
		r.Key, *r.CompanyID).Scan(&n); err != nil {
		return fmt.Errorf("check role key: %w", err)
	}
	if n > 0 {
		return roster.Conflict("key", "A role with this key already exists.")
	}
	r.System, r.CreatedAt, r.UpdatedAt = false, tx.now, tx.now
	err := tx.QueryRowContext(ctx, `INSERT INTO roles (company_id, key, name, system, created_at, updated_at)
		VALUES ($1, $2, $3, FALSE, $4, $4) RETURNING id`, *r.CompanyID, r.Key, r.Name, tx.now).Scan(&r.ID)
	if _, ok := tx.s.d.uniqueViolation(err); ok {
		return roster.Conflict("key", "A role with this key already exists.")
	} else if err != nil {
		return fmt.Errorf("insert role: %w", err)
	}
	r.Permissions = roster.NewPermissionSet(r.Permissions...).Sorted()
	return setRolePermissions(ctx, tx, r.ID, r.Permissions)
}

// checkRoleName answers ECONFLICT on "name" when another role of the
// company, or a system role, has name in any case (R1). It locks the
// company's row, so the check holds until the transaction ends.
func checkRoleName(ctx context.Context, tx *Tx, companyID int64, name string, exceptID int64) error {
	if err := lockCompany(ctx, tx, companyID); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, name FROM roles WHERE company_id = $1 OR company_id IS NULL`, companyID)
	if err != nil {
		return fmt.Errorf("role names: %w", err)
	}
	defer rows.Close()
	// Compared in Go: SQLite's lower() folds only ASCII, and names are often Cyrillic.
	want := strings.ToLower(name)
	for rows.Next() {
		var id int64
		var n string
		if err := rows.Scan(&id, &n); err != nil {
			return fmt.Errorf("role names: %w", err)
		}
		if id != exceptID && strings.ToLower(n) == want {
			return roster.Conflict("name", "A role with this name already exists.")
		}
	}
	return rows.Err()
}

// diffPermissions returns what is in b and not in a, and what is in a and not in b.
func diffPermissions(a, b []roster.Permission) (added, removed []roster.Permission) {
	sa, sb := roster.NewPermissionSet(a...), roster.NewPermissionSet(b...)
	for _, p := range sb.Sorted() {
		if !sa[p] {
			added = append(added, p)
		}
	}
	for _, p := range sa.Sorted() {
		if !sb[p] {
			removed = append(removed, p)
		}
	}
	return added, removed
}

// UpdateRole renames a role or replaces its permissions.
func (s *Store) UpdateRole(ctx context.Context, scope roster.Scope, id int64, upd roster.RoleUpdate) (*roster.Role, error) {
	return writeResult(ctx, s, func(tx *Tx) (*roster.Role, error) {
		r, _, err := updateRole(ctx, tx, scope, id, upd)
		return r, err
	})
}

// UpdateRolePermissions replaces the permissions of several roles in one
// transaction, each change checked and logged as by UpdateRole; the first
// refusal rolls every change back.
func (s *Store) UpdateRolePermissions(ctx context.Context, scope roster.Scope, perms map[int64][]roster.Permission) ([]*roster.Role, error) {
	ids := make([]int64, 0, len(perms))
	for id := range perms {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return writeResult(ctx, s, func(tx *Tx) ([]*roster.Role, error) {
		out := make([]*roster.Role, 0, len(ids))
		for _, id := range ids {
			p := perms[id]
			if p == nil {
				p = []roster.Permission{}
			}
			r, _, err := updateRole(ctx, tx, scope, id, roster.RoleUpdate{Permissions: &p})
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	})
}

// updateRole locks a role, applies upd to it and writes its event; changed
// is false when nothing differed (and nothing was written).
func updateRole(ctx context.Context, tx *Tx, scope roster.Scope, id int64, upd roster.RoleUpdate) (*roster.Role, bool, error) {
	if upd.Name != nil {
		// A rename takes the company lock first, as creating a role does,
		// so that two roles cannot take one name at once.
		r, err := queryRole(ctx, tx, scope, id, "")
		if err != nil {
			return nil, false, err
		}
		if r.CompanyID != nil {
			if err := lockCompany(ctx, tx, *r.CompanyID); err != nil {
				return nil, false, err
			}
		}
	}
	r, err := lockRole(ctx, tx, scope, id, lockNoKeyUpdate)
	if err != nil {
		return nil, false, err
	}
	if r.System {
		return nil, false, roster.Errorf(roster.EFORBIDDEN, "System roles cannot be changed.")
	}
	before, after := map[string]any{}, map[string]any{}
	if upd.Name != nil && strings.TrimSpace(*upd.Name) != r.Name {
		if err := checkRoleName(ctx, tx, *r.CompanyID, strings.TrimSpace(*upd.Name), r.ID); err != nil {
			return nil, false, err
		}
		before["name"], after["name"] = r.Name, strings.TrimSpace(*upd.Name)
		r.Name = strings.TrimSpace(*upd.Name)
	}
	if upd.Permissions != nil {
		added, removed := diffPermissions(r.Permissions, *upd.Permissions)
		if len(added)+len(removed) > 0 {
			if err := checkPermissionChange(tx.actor, append(added, removed...)); err != nil {
				return nil, false, err
			}
			before["permissions"], after["permissions"] = permStrings(r.Permissions), permStrings(roster.NewPermissionSet(*upd.Permissions...).Sorted())
			r.Permissions = roster.NewPermissionSet(*upd.Permissions...).Sorted()
			if err := setRolePermissions(ctx, tx, r.ID, r.Permissions); err != nil {
				return nil, false, err
			}
		}
	}
	if len(after) == 0 {
		return r, false, nil
	}
	r.UpdatedAt = tx.now
	if _, err := tx.ExecContext(ctx, `UPDATE roles SET name = $1, updated_at = $2 WHERE id = $3`, r.Name, tx.now, r.ID); err != nil {
		return nil, false, fmt.Errorf("update role: %w", err)
	}
	e := roleEvent(roster.EventRoleUpdated, r)
	e.Before, e.After = before, after
	if err := writeEvent(ctx, tx, e); err != nil {
		return nil, false, err
	}
	return r, true, nil
}

// DeleteRole deletes a custom role; while users hold it, ECONFLICT unless
// force, which first takes it from them.
//
// The holders are locked before the role, as every transaction locks
// users before other rows, so that none of them changes roles meanwhile
// and the refusal of a holder's last role holds when the role goes.
func (s *Store) DeleteRole(ctx context.Context, scope roster.Scope, id int64, force bool) error {
	return s.write(ctx, func(tx *Tx) error {
		r, err := findRole(ctx, tx, scope, id)
		if err != nil {
			return err
		}
		if r.System {
			return roster.Errorf(roster.EFORBIDDEN, "System roles cannot be deleted.")
		}
		holders, _, err := roleHolders(ctx, tx, r.ID)
		if err != nil {
			return err
		}
		if err := lockUserRows(ctx, tx, holders); err != nil {
			return err
		}
		// Locked, the role gains no holder; whoever gained it before is
		// locked now too.
		if r, err = lockRole(ctx, tx, scope, id, lockUpdate); err != nil {
			return err
		}
		now, _, err := roleHolders(ctx, tx, r.ID)
		if err != nil {
			return err
		}
		var gained []int64
		for _, uid := range now {
			if !slices.Contains(holders, uid) {
				gained = append(gained, uid)
			}
		}
		if err := lockUserRows(ctx, tx, gained); err != nil {
			return err
		}
		holders, lastRole, err := roleHolders(ctx, tx, r.ID)
		if err != nil {
			return err
		}
		if len(holders) > 0 {
			if !force {
				return roster.Errorf(roster.ECONFLICT, "%d users hold this role; take it from them first, or delete it anyway.", len(holders))
			}
			if err := tx.actor.CheckGrant(r, nil); err != nil { // a custom role: no company rule
				return err
			}
			if len(lastRole) > 0 {
				var refusals []roster.Refusal
				for _, uid := range lastRole {
					refusals = append(refusals, roster.Refusal{UserID: uid, Code: "last_role", Message: "This is the user's only role."})
				}
				return &roster.Error{Code: roster.ECONFLICT, Message: "Some users would be left without a role.", Refusals: refusals}
			}
		}
		e := roleEvent(roster.EventRoleDeleted, r)
		e.Before = map[string]any{"key": r.Key, "name": r.Name, "permissions": permStrings(r.Permissions)}
		if len(holders) > 0 {
			e.Before["holders"] = holders
		}
		if err := writeEvent(ctx, tx, e); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM roles WHERE id = $1`, r.ID); err != nil {
			return fmt.Errorf("delete role: %w", err)
		}
		return nil
	})
}

// roleHolders returns the users holding a role, ascending, and those of
// them for whom it is the only role.
func roleHolders(ctx context.Context, q querier, roleID int64) (holders, lastRole []int64, err error) {
	rows, err := q.QueryContext(ctx, `SELECT ur.user_id, (SELECT count(*) FROM user_roles o WHERE o.user_id = ur.user_id)
		FROM user_roles ur WHERE ur.role_id = $1 ORDER BY ur.user_id`, roleID)
	if err != nil {
		return nil, nil, fmt.Errorf("role holders: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var uid int64
		var n int
		if err := rows.Scan(&uid, &n); err != nil {
			return nil, nil, fmt.Errorf("role holders: %w", err)
		}
		holders = append(holders, uid)
		if n <= 1 {
			lastRole = append(lastRole, uid)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("role holders: %w", err)
	}
	return holders, lastRole, nil
}

// ImportRoles creates or updates a company's custom roles by key.
func (s *Store) ImportRoles(ctx context.Context, companyID int64, roles []roster.RoleExport, dryRun bool) ([]roster.RoleImportChange, error) {
	return writeResult(ctx, s, func(tx *Tx) ([]roster.RoleImportChange, error) {
		return importRoles(ctx, tx, companyID, roles, dryRun)
	})
}

// importRoles imports roles with the company and its roles locked, so that
// imports into one company run one after another, each comparing with
// what the one before left.
func importRoles(ctx context.Context, tx *Tx, companyID int64, roles []roster.RoleExport, dryRun bool) ([]roster.RoleImportChange, error) {
	if err := lockCompany(ctx, tx, companyID); err != nil {
		return nil, err
	}
	existing, err := queryRoles(ctx, tx, `SELECT `+roleColumns+` FROM roles r WHERE r.company_id = $1 ORDER BY r.id`+
		tx.s.d.lock(lockNoKeyUpdate), companyID)
	if err != nil {
		return nil, err
	}
	byKey := map[string]*roster.Role{}
	for _, r := range existing {
		byKey[r.Key] = r
	}
	var changes []roster.RoleImportChange
	var touched []roster.Permission
	for _, in := range roles {
		if slices.ContainsFunc(roster.SystemRoles, func(sr roster.RoleExport) bool { return sr.Key == in.Key }) {
			return nil, roster.Errorf(roster.EINVALID, "System role %s cannot be imported.", in.Key)
		}
		name := strings.TrimSpace(in.Name)
		ch := roster.RoleImportChange{Key: in.Key, Name: name, Added: []roster.Permission{}, Removed: []roster.Permission{}}
		cur := byKey[in.Key]
		if cur == nil {
			ch.Action, ch.Added = "create", roster.NewPermissionSet(in.Permissions...).Sorted()
		} else {
			ch.Added, ch.Removed = diffPermissions(cur.Permissions, in.Permissions)
			ch.Renamed = cur.Name != name
			ch.Action = "unchanged"
			if ch.Renamed || len(ch.Added)+len(ch.Removed) > 0 {
				ch.Action = "update"
			}
		}
		if ch.Added == nil {
			ch.Added = []roster.Permission{}
		}
		if ch.Removed == nil {
			ch.Removed = []roster.Permission{}
		}
		touched = append(append(touched, ch.Added...), ch.Removed...)
		changes = append(changes, ch)
	}
	if err := checkPermissionChange(tx.actor, touched); err != nil {
		return nil, err
	}
	if dryRun {
		return changes, nil
	}
	created, updated := 0, 0
	for i, in := range roles {
		ch := changes[i]
		switch ch.Action {
		case "create":
			r := &roster.Role{CompanyID: int64Ptr(companyID), Key: in.Key, Name: ch.Name, Permissions: in.Permissions}
			if err := createRole(ctx, tx, r); err != nil {
				return nil, err
			}
			byKey[r.Key] = r
			created++
		case "update":
			cur := byKey[in.Key]
			if _, err := tx.ExecContext(ctx, `UPDATE roles SET name = $1, updated_at = $2 WHERE id = $3`, ch.Name, tx.now, cur.ID); err != nil {
				return nil, fmt.Errorf("import role: %w", err)
			}
			if err := setRolePermissions(ctx, tx, cur.ID, in.Permissions); err != nil {
				return nil, err
			}
			updated++
		}
	}
	if created+updated > 0 {
		e := &roster.Event{Type: roster.EventRolesImported, CompanyID: companyID,
			After: map[string]any{"created": created, "updated": updated, "changes": changes}}
		if err := writeEvent(ctx, tx, e); err != nil {
			return nil, err
		}
	}
	return changes, nil
}

// RoleUsers lists the users holding a role, one page at a time.
func (s *Store) RoleUsers(ctx context.Context, scope roster.Scope, roleID int64, f roster.UserFilter) (*roster.UserPage, error) {
	r, err := findRole(ctx, s.rdb, scope, roleID)
	if err != nil {
		return nil, err
	}
	f.RoleID = &r.ID
	return s.Users(ctx, scope, f)
}

// RolesByIDs returns the roles with ids, without user counts.
func (s *Store) RolesByIDs(ctx context.Context, ids []int64) (map[int64]*roster.Role, error) {
	return rolesByIDs(ctx, s.rdb, dedupe(ids))
}
