package sqlstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/roster-app/roster"
)

// BulkUsers applies a bulk action all or nothing: when any user is refused
// it changes nothing and returns ECONFLICT with a Refusal per user.
//
// The users are locked in ascending id order before anything is checked
// or changed, as every transaction locks users: two bulk actions on
// overlapping users, or a bulk action and a change of one of its users,
// run one after the other instead of deadlocking, and each sees the users
// as the other left them.
func (s *Store) BulkUsers(ctx context.Context, scope roster.Scope, ba roster.BulkAction) (*roster.BulkResult, error) {
	if err := ba.Validate(); err != nil {
		return nil, err
	}
	return writeResult(ctx, s, func(tx *Tx) (*roster.BulkResult, error) {
		return bulkUsers(ctx, tx, scope, ba)
	})
}

// BulkUsersInTurn applies bulk actions one after another in one
// transaction, all or nothing. The users the actions name are locked
// together first, in ascending id order.
func (s *Store) BulkUsersInTurn(ctx context.Context, scope roster.Scope, bs []roster.BulkAction) ([]*roster.BulkResult, error) {
	var ids []int64
	for _, ba := range bs {
		if err := ba.Validate(); err != nil {
			return nil, err
		}
		ids = append(ids, ba.UserIDs...)
	}
	return writeResult(ctx, s, func(tx *Tx) ([]*roster.BulkResult, error) {
		if err := lockUserRows(ctx, tx, ids); err != nil {
			return nil, err
		}
		out := make([]*roster.BulkResult, 0, len(bs))
		for _, ba := range bs {
			res, err := bulkUsers(ctx, tx, scope, ba)
			if err != nil {
				return nil, err
			}
			out = append(out, res)
		}
		return out, nil
	})
}

func bulkUsers(ctx context.Context, tx *Tx, scope roster.Scope, ba roster.BulkAction) (*roster.BulkResult, error) {
	ids := dedupe(ba.UserIDs)
	if ba.Filter != nil {
		var err error
		if ids, err = tx.s.userIDs(ctx, tx, scope, *ba.Filter, roster.MaxBulkUsers); err != nil {
			return nil, err
		}
		if len(ids) > roster.MaxBulkUsers {
			return nil, roster.Errorf(roster.EINVALID, "The filter matches more than %d users; narrow it.", roster.MaxBulkUsers)
		}
	}
	users, err := lockUsers(ctx, tx, scope, ids, userLock)
	if err != nil {
		return nil, err
	}
	var role *roster.Role
	if ba.Action == roster.BulkAddRole || ba.Action == roster.BulkRemoveRole {
		if role, err = lockRole(ctx, tx, scope, ba.RoleID, lockKeyShare); err != nil {
			if roster.ErrorCode(err) != roster.ENOTFOUND {
				return nil, err
			}
			return nil, &roster.Error{Code: roster.EINVALID, Message: "Unknown role.",
				Fields: []roster.FieldError{{Field: "role_id", Code: "unknown_role", Message: "Unknown role."}}}
		}
		if !appointsAdmin(role) {
			if err := tx.actor.CheckGrant(role, nil); err != nil {
				return nil, err
			}
		}
	}
	companies := map[int64]*roster.Company{}
	var refusals []roster.Refusal
	refuse := func(id int64, code, msg string) {
		refusals = append(refusals, roster.Refusal{UserID: id, Code: code, Message: msg})
	}
	var todo []*roster.User
	for _, id := range ids {
		u := users[id]
		if u == nil {
			refuse(id, "not_found", "User not found.")
			continue
		}
		if tx.actor != nil && tx.actor.UserID() == id && (ba.Action == roster.BulkBlock || ba.Action == roster.BulkDelete) {
			refuse(id, "forbidden", "You cannot block or delete your own account.")
			continue
		}
		if err := checkManage(ctx, tx, u); err != nil {
			if roster.ErrorCode(err) != roster.EFORBIDDEN {
				return nil, err
			}
			refuse(id, "forbidden", roster.ErrorMessage(err))
			continue
		}
		held := slices.ContainsFunc(u.Roles, func(r roster.RoleRef) bool { return role != nil && r.ID == role.ID })
		if appointsAdmin(role) {
			// Who may appoint a Company administrator depends on the user's company (U7).
			c := companies[u.CompanyID]
			if c == nil {
				if c, err = findCompany(ctx, tx, roster.Scope{All: true}, u.CompanyID); err != nil {
					return nil, err
				}
				companies[u.CompanyID] = c
			}
			if err := tx.actor.CheckGrant(role, c); err != nil {
				refuse(id, "forbidden", roster.ErrorMessage(err))
				continue
			}
		}
		switch ba.Action {
		case roster.BulkAddRole:
			if !role.System && (role.CompanyID == nil || *role.CompanyID != u.CompanyID) {
				refuse(id, "invalid_role", "This role belongs to another company.")
				continue
			}
			if role.System && role.Key == roster.RoleMainAdmin && u.CompanyID != roster.PlatformCompanyID {
				refuse(id, "invalid_role", "The Main administrator role is held only in the platform company.")
				continue
			}
			if held {
				continue
			}
		case roster.BulkRemoveRole:
			if !held {
				continue
			}
			if len(u.Roles) == 1 {
				refuse(id, "last_role", "This is the user's only role.")
				continue
			}
		case roster.BulkBlock:
			if u.Status == roster.StatusBlocked {
				continue
			}
		case roster.BulkUnblock:
			if u.Status != roster.StatusBlocked {
				continue
			}
		}
		todo = append(todo, u)
	}
	if len(refusals) > 0 {
		return nil, &roster.Error{Code: roster.ECONFLICT,
			Message: fmt.Sprintf("The action was refused for %d users; nothing was changed.", len(refusals)), Refusals: refusals}
	}
	res := &roster.BulkResult{Action: ba.Action, UserIDs: []int64{}}
	for _, u := range todo {
		if err := applyBulk(ctx, tx, u, ba, role); err != nil {
			return nil, err
		}
		res.UserIDs = append(res.UserIDs, u.ID)
	}
	res.Affected = len(res.UserIDs)
	return res, nil
}

func applyBulk(ctx context.Context, tx *Tx, u *roster.User, ba roster.BulkAction, role *roster.Role) error {
	switch ba.Action {
	case roster.BulkBlock, roster.BulkUnblock:
		_, err := setUserBlocked(ctx, tx, u, ba.Comment, ba.Action == roster.BulkBlock)
		return err
	case roster.BulkDelete:
		return deleteUser(ctx, tx, u, ba.Comment)
	}
	before := roleKeys(u.Roles)
	var err error
	if ba.Action == roster.BulkAddRole {
		err = addUserRole(ctx, tx, u.ID, role.ID)
	} else if _, err = tx.ExecContext(ctx, `DELETE FROM user_roles WHERE user_id = $1 AND role_id = $2`, u.ID, role.ID); err != nil {
		err = fmt.Errorf("bulk %s: %w", ba.Action, err)
	}
	if err != nil {
		return err
	}
	if err := touchUser(ctx, tx, u); err != nil {
		return err
	}
	if err := loadUserLists(ctx, tx, []*roster.User{u}); err != nil {
		return err
	}
	e := userEvent(roster.EventUserRolesChanged, u)
	e.Before, e.After = map[string]any{"roles": before}, map[string]any{"roles": roleKeys(u.Roles)}
	e.Comment = ba.Comment
	return writeEvent(ctx, tx, e)
}

// usersByIDs loads the users in scope among ids, with roles.
func usersByIDs(ctx context.Context, q querier, scope roster.Scope, ids []int64) (map[int64]*roster.User, error) {
	return queryUsers(ctx, q, scope, ids, "")
}

// lockUsers is usersByIDs that also locks the users' rows until tx ends,
// with strength (see dialect.lock), in ascending id order: the order every
// transaction locks users in.
func lockUsers(ctx context.Context, tx *Tx, scope roster.Scope, ids []int64, strength string) (map[int64]*roster.User, error) {
	return queryUsers(ctx, tx, scope, sortedIDs(ids), ` ORDER BY u.id`+tx.s.d.lock(strength))
}

// queryUsers loads the users in scope among ids, in chunks, each query
// ending with tail (an order and a locking clause).
func queryUsers(ctx context.Context, q querier, scope roster.Scope, ids []int64, tail string) (map[int64]*roster.User, error) {
	out := map[int64]*roster.User{}
	var all []*roster.User
	for len(ids) > 0 {
		n := min(len(ids), 500)
		var b sqlBuilder
		b.cond(`u.id IN (` + b.inInts(ids[:n]) + `)`)
		ids = ids[n:]
		if !b.scopeCond(scope, "u.company_id") {
			return out, nil
		}
		rows, err := q.QueryContext(ctx, `SELECT `+userColumns+` FROM users u`+b.whereSQL()+tail, b.args...)
		if err != nil {
			return nil, fmt.Errorf("users by id: %w", err)
		}
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("users by id: %w", err)
			}
			out[u.ID] = u
			all = append(all, u)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("users by id: %w", err)
		}
	}
	return out, loadUserLists(ctx, q, all)
}

// appointsAdmin reports whether r is the Company administrator role, whose
// grant rule depends on the company of the user it is granted to.
func appointsAdmin(r *roster.Role) bool {
	return r != nil && r.System && r.Key == roster.RoleCompanyAdmin
}
