package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/roster-app/roster"
)

var _ roster.OperationsService = (*Store)(nil)

// validKind reports whether kind is a work group kind.
func validKind(kind string) bool {
	return kind == roster.KindQueue || kind == roster.KindShift || kind == roster.KindAgentGroup
}

func kindName(kind string) string {
	switch kind {
	case roster.KindQueue:
		return "Queue"
	case roster.KindShift:
		return "Shift"
	}
	return "Agent group"
}

// loadWorkGroups reads work groups matching b's conditions (alias g) with
// their members and managers; lock is a locking clause for their rows.
func loadWorkGroups(ctx context.Context, q querier, b *sqlBuilder, lock string) ([]*roster.WorkGroup, error) {
	rows, err := q.QueryContext(ctx, `SELECT g.id, g.company_id, g.kind, g.name, g.created_at, g.updated_at
		FROM work_groups g`+b.whereSQL()+` ORDER BY g.name, g.id`+lock, b.args...)
	if err != nil {
		return nil, fmt.Errorf("work groups: %w", err)
	}
	out := []*roster.WorkGroup{}
	byID := map[int64]*roster.WorkGroup{}
	var ids []int64
	for rows.Next() {
		g := &roster.WorkGroup{Members: []roster.UserRef{}}
		if err := rows.Scan(&g.ID, &g.CompanyID, &g.Kind, &g.Name, &g.CreatedAt, &g.UpdatedAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("work groups: %w", err)
		}
		g.CreatedAt, g.UpdatedAt = g.CreatedAt.UTC(), g.UpdatedAt.UTC()
		if g.Kind == roster.KindAgentGroup {
			g.ManagerIDs = []int64{}
		}
		out = append(out, g)
		byID[g.ID] = g
		ids = append(ids, g.ID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("work groups: %w", err)
	}
	if len(ids) == 0 {
		return out, nil
	}
	var mb sqlBuilder
	in := mb.inInts(ids)
	rows, err = q.QueryContext(ctx, `SELECT m.group_id, u.id, u.first_name, u.middle_name, u.last_name, u.email, u.login
		FROM work_group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id IN (`+in+`) ORDER BY u.sort_name, u.id`, mb.args...)
	if err != nil {
		return nil, fmt.Errorf("work group members: %w", err)
	}
	for rows.Next() {
		var gid int64
		var u roster.User
		if err := rows.Scan(&gid, &u.ID, &u.FirstName, &u.MiddleName, &u.LastName, &u.Email, &u.Login); err != nil {
			rows.Close()
			return nil, fmt.Errorf("work group members: %w", err)
		}
		byID[gid].Members = append(byID[gid].Members, roster.UserRef{ID: u.ID, Name: u.DisplayName()})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("work group members: %w", err)
	}
	rows, err = q.QueryContext(ctx, `SELECT group_id, user_id FROM work_group_managers WHERE group_id IN (`+in+`) ORDER BY user_id`, mb.args...)
	if err != nil {
		return nil, fmt.Errorf("work group managers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var gid, uid int64
		if err := rows.Scan(&gid, &uid); err != nil {
			return nil, fmt.Errorf("work group managers: %w", err)
		}
		byID[gid].ManagerIDs = append(byID[gid].ManagerIDs, uid)
	}
	return out, rows.Err()
}

// WorkGroups lists a company's work groups of kind with members.
func (s *Store) WorkGroups(ctx context.Context, scope roster.Scope, companyID int64, kind string) ([]*roster.WorkGroup, error) {
	if !scope.Contains(companyID) {
		return nil, notFound("Company")
	}
	var b sqlBuilder
	b.cond(`g.company_id = ` + b.arg(companyID))
	b.cond(`g.kind = ` + b.arg(kind))
	return loadWorkGroups(ctx, s.rdb, &b, "")
}

// WorkGroupByID returns one work group of kind in scope.
func (s *Store) WorkGroupByID(ctx context.Context, scope roster.Scope, kind string, id int64) (*roster.WorkGroup, error) {
	return findWorkGroup(ctx, s.rdb, scope, kind, id)
}

func findWorkGroup(ctx context.Context, q querier, scope roster.Scope, kind string, id int64) (*roster.WorkGroup, error) {
	return queryWorkGroup(ctx, q, scope, kind, id, "")
}

// lockWorkGroup is findWorkGroup that also locks the group's row until tx
// ends, with strength (see dialect.lock): changes of one group, its name,
// managers and members, run one after another.
func lockWorkGroup(ctx context.Context, tx *Tx, scope roster.Scope, kind string, id int64, strength string) (*roster.WorkGroup, error) {
	return queryWorkGroup(ctx, tx, scope, kind, id, tx.s.d.lock(strength))
}

func queryWorkGroup(ctx context.Context, q querier, scope roster.Scope, kind string, id int64, lock string) (*roster.WorkGroup, error) {
	var b sqlBuilder
	b.cond(`g.id = ` + b.arg(id))
	b.cond(`g.kind = ` + b.arg(kind))
	if !b.scopeCond(scope, "g.company_id") {
		return nil, notFound(kindName(kind))
	}
	gs, err := loadWorkGroups(ctx, q, &b, lock)
	if err != nil {
		return nil, err
	}
	if len(gs) == 0 {
		return nil, notFound(kindName(kind))
	}
	return gs[0], nil
}

func workGroupEvent(typ string, g *roster.WorkGroup) *roster.Event {
	return &roster.Event{Type: typ, CompanyID: g.CompanyID, TargetName: g.Name}
}

// companyUsers checks that every id is a user of company who is not
// blocked; EINVALID on field otherwise. The users stay locked against
// changes (a block, which would take them out of the group) until tx ends.
func companyUsers(ctx context.Context, tx *Tx, companyID int64, field string, ids []int64) (map[int64]*roster.User, error) {
	users, err := lockUsers(ctx, tx, roster.Scope{CompanyIDs: []int64{companyID}}, ids, lockShare)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		u := users[id]
		if u == nil {
			return nil, invalidField(field, "unknown_user", fmt.Sprintf("Unknown user: %d.", id))
		}
		if u.Status == roster.StatusBlocked {
			return nil, invalidField(field, "blocked_user", fmt.Sprintf("%s is blocked; unblock them first.", u.DisplayName()))
		}
	}
	return users, nil
}

func invalidField(field, code, msg string) error {
	return &roster.Error{Code: roster.EINVALID, Message: msg, Fields: []roster.FieldError{{Field: field, Code: code, Message: msg}}}
}

// CreateWorkGroup creates a queue, shift or agent group.
func (s *Store) CreateWorkGroup(ctx context.Context, g *roster.WorkGroup) error {
	var v roster.Validation
	roster.ValidateWorkGroupName(&v, "name", &g.Name)
	if !validKind(g.Kind) {
		v.Add("kind", "invalid_choice", "Unknown kind.")
	}
	if err := v.Err(); err != nil {
		return err
	}
	g.ManagerIDs = dedupe(g.ManagerIDs)
	if len(g.ManagerIDs) > 0 && g.Kind != roster.KindAgentGroup {
		return invalidField("manager_ids", "not_allowed", "Only agent groups have managers.")
	}
	return s.write(ctx, func(tx *Tx) error {
		return createWorkGroup(ctx, tx, g)
	})
}

func createWorkGroup(ctx context.Context, tx *Tx, g *roster.WorkGroup) error {
	if _, err := companyUsers(ctx, tx, g.CompanyID, "manager_ids", g.ManagerIDs); err != nil {
		return err
	}
	err := tx.QueryRowContext(ctx, `INSERT INTO work_groups (company_id, kind, name, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $4) RETURNING id`, g.CompanyID, g.Kind, g.Name, tx.now).Scan(&g.ID)
	if _, ok := tx.s.d.uniqueViolation(err); ok {
		return roster.Conflict("name", fmt.Sprintf("%s %q exists already.", kindName(g.Kind), g.Name))
	} else if err != nil {
		return fmt.Errorf("create work group: %w", err)
	}
	for _, id := range g.ManagerIDs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO work_group_managers (group_id, user_id) VALUES ($1, $2)`, g.ID, id); err != nil {
			return fmt.Errorf("add manager: %w", err)
		}
	}
	g.CreatedAt, g.UpdatedAt, g.Members = tx.now, tx.now, []roster.UserRef{}
	if g.Kind == roster.KindAgentGroup && g.ManagerIDs == nil {
		g.ManagerIDs = []int64{}
	}
	e := workGroupEvent(roster.EventWorkGroupCreated, g)
	e.After = map[string]any{"kind": g.Kind, "id": g.ID, "name": g.Name}
	if len(g.ManagerIDs) > 0 {
		e.After["manager_ids"] = g.ManagerIDs
	}
	return writeEvent(ctx, tx, e)
}

// UpdateWorkGroup renames a work group or replaces an agent group's managers.
func (s *Store) UpdateWorkGroup(ctx context.Context, scope roster.Scope, kind string, id int64, upd roster.WorkGroupUpdate) (*roster.WorkGroup, error) {
	var v roster.Validation
	if upd.Name != nil {
		roster.ValidateWorkGroupName(&v, "name", upd.Name)
	}
	if upd.ManagerIDs != nil && kind != roster.KindAgentGroup {
		v.Add("manager_ids", "not_allowed", "Only agent groups have managers.")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return writeResult(ctx, s, func(tx *Tx) (*roster.WorkGroup, error) {
		return updateWorkGroup(ctx, tx, scope, kind, id, upd)
	})
}

func updateWorkGroup(ctx context.Context, tx *Tx, scope roster.Scope, kind string, id int64, upd roster.WorkGroupUpdate) (*roster.WorkGroup, error) {
	g, err := lockWorkGroup(ctx, tx, scope, kind, id, lockNoKeyUpdate)
	if err != nil {
		return nil, err
	}
	before, after := map[string]any{"id": g.ID, "kind": g.Kind}, map[string]any{"id": g.ID, "kind": g.Kind}
	if upd.Name != nil && *upd.Name != g.Name {
		before["name"], after["name"] = g.Name, *upd.Name
		_, err := tx.ExecContext(ctx, `UPDATE work_groups SET name = $1, updated_at = $2 WHERE id = $3`, *upd.Name, tx.now, g.ID)
		if _, ok := tx.s.d.uniqueViolation(err); ok {
			return nil, roster.Conflict("name", fmt.Sprintf("%s %q exists already.", kindName(kind), *upd.Name))
		} else if err != nil {
			return nil, fmt.Errorf("rename work group: %w", err)
		}
	}
	if upd.ManagerIDs != nil {
		ids := dedupe(*upd.ManagerIDs)
		if _, err := companyUsers(ctx, tx, g.CompanyID, "manager_ids", ids); err != nil {
			return nil, err
		}
		if !slices.Equal(sortedIDs(ids), sortedIDs(g.ManagerIDs)) {
			before["manager_ids"], after["manager_ids"] = g.ManagerIDs, sortedIDs(ids)
			if _, err := tx.ExecContext(ctx, `DELETE FROM work_group_managers WHERE group_id = $1`, g.ID); err != nil {
				return nil, fmt.Errorf("replace managers: %w", err)
			}
			for _, uid := range ids {
				if _, err := tx.ExecContext(ctx, `INSERT INTO work_group_managers (group_id, user_id) VALUES ($1, $2)`, g.ID, uid); err != nil {
					return nil, fmt.Errorf("replace managers: %w", err)
				}
			}
		}
	}
	if len(after) == 2 {
		return g, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE work_groups SET updated_at = $1 WHERE id = $2`, tx.now, g.ID); err != nil {
		return nil, fmt.Errorf("touch work group: %w", err)
	}
	e := workGroupEvent(roster.EventWorkGroupUpdated, g)
	e.Before, e.After = before, after
	if err := writeEvent(ctx, tx, e); err != nil {
		return nil, err
	}
	return findWorkGroup(ctx, tx, scope, kind, id)
}

func sortedIDs(ids []int64) []int64 {
	out := slices.Clone(ids)
	if out == nil {
		out = []int64{}
	}
	slices.Sort(out)
	return out
}

// DeleteWorkGroup deletes a work group; its memberships go with it.
func (s *Store) DeleteWorkGroup(ctx context.Context, scope roster.Scope, kind string, id int64) error {
	return s.write(ctx, func(tx *Tx) error {
		g, err := lockWorkGroup(ctx, tx, scope, kind, id, lockUpdate)
		if err != nil {
			return err
		}
		e := workGroupEvent(roster.EventWorkGroupDeleted, g)
		members := make([]int64, 0, len(g.Members))
		for _, m := range g.Members {
			members = append(members, m.ID)
		}
		e.Before = map[string]any{"id": g.ID, "kind": g.Kind, "name": g.Name, "member_ids": members}
		if err := writeEvent(ctx, tx, e); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM work_groups WHERE id = $1`, g.ID); err != nil {
			return fmt.Errorf("delete work group: %w", err)
		}
		return nil
	})
}

// AddWorkGroupMembers adds users of the group's company to it, one event
// per user added; users already in it are left alone.
func (s *Store) AddWorkGroupMembers(ctx context.Context, scope roster.Scope, kind string, id int64, userIDs []int64) (*roster.WorkGroup, error) {
	return s.changeMembers(ctx, scope, kind, id, userIDs, true)
}

// RemoveWorkGroupMembers removes users from a work group.
func (s *Store) RemoveWorkGroupMembers(ctx context.Context, scope roster.Scope, kind string, id int64, userIDs []int64) (*roster.WorkGroup, error) {
	return s.changeMembers(ctx, scope, kind, id, userIDs, false)
}

func (s *Store) changeMembers(ctx context.Context, scope roster.Scope, kind string, id int64, userIDs []int64, add bool) (*roster.WorkGroup, error) {
	userIDs = dedupe(userIDs)
	if len(userIDs) == 0 {
		return nil, invalidField("user_ids", "required", "Choose at least one user.")
	}
	if len(userIDs) > roster.MaxBulkUsers {
		return nil, invalidField("user_ids", "too_many", "At most 10000 users at once.")
	}
	return writeResult(ctx, s, func(tx *Tx) (*roster.WorkGroup, error) {
		return changeMembers(ctx, tx, scope, kind, id, userIDs, add)
	})
}

// changeMembers adds or removes members with the group locked: changes of
// one group's members run one after another. A user already in (or out
// of) the group is left alone, without an event.
func changeMembers(ctx context.Context, tx *Tx, scope roster.Scope, kind string, id int64, userIDs []int64, add bool) (*roster.WorkGroup, error) {
	g, err := lockWorkGroup(ctx, tx, scope, kind, id, lockNoKeyUpdate)
	if err != nil {
		return nil, err
	}
	var users map[int64]*roster.User
	if add {
		users, err = companyUsers(ctx, tx, g.CompanyID, "user_ids", userIDs)
	} else {
		users, err = usersByIDs(ctx, tx, roster.Scope{CompanyIDs: []int64{g.CompanyID}}, userIDs)
	}
	if err != nil {
		return nil, err
	}
	isMember := map[int64]bool{}
	for _, m := range g.Members {
		isMember[m.ID] = true
	}
	changed := false
	for _, uid := range userIDs {
		u := users[uid]
		if u == nil || isMember[uid] == add {
			continue
		}
		typ := roster.EventWorkGroupMemberAdded
		var r sql.Result
		if add {
			r, err = tx.ExecContext(ctx, `INSERT INTO work_group_members (group_id, user_id) VALUES ($1, $2)
				ON CONFLICT (group_id, user_id) DO NOTHING`, g.ID, uid)
		} else {
			typ = roster.EventWorkGroupMemberRemoved
			r, err = tx.ExecContext(ctx, `DELETE FROM work_group_members WHERE group_id = $1 AND user_id = $2`, g.ID, uid)
		}
		if err != nil {
			return nil, fmt.Errorf("change members: %w", err)
		}
		if n, err := r.RowsAffected(); err != nil {
			return nil, fmt.Errorf("change members: %w", err)
		} else if n == 0 {
			// A block or delete of the user took them out meanwhile.
			continue
		}
		e := userEvent(typ, u)
		e.After = map[string]any{"kind": g.Kind, "group_id": g.ID, "group": g.Name}
		if err := writeEvent(ctx, tx, e); err != nil {
			return nil, err
		}
		changed = true
	}
	if !changed {
		return g, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE work_groups SET updated_at = $1 WHERE id = $2`, tx.now, g.ID); err != nil {
		return nil, fmt.Errorf("touch work group: %w", err)
	}
	return findWorkGroup(ctx, tx, scope, kind, id)
}

// leaveWorkGroups removes a user from every queue, shift and agent group
// (as member and as manager) in tx and returns what they left, for the
// event of the block or delete that caused it. Their presence drops to
// offline: a blocked operator gets no dialogues.
func leaveWorkGroups(ctx context.Context, tx *Tx, userID int64) ([]roster.Membership, error) {
	rows, err := tx.QueryContext(ctx, `SELECT g.id, g.kind, g.name FROM work_groups g
		WHERE g.id IN (SELECT group_id FROM work_group_members WHERE user_id = $1)
		   OR g.id IN (SELECT group_id FROM work_group_managers WHERE user_id = $1)
		ORDER BY g.kind, g.name, g.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("memberships: %w", err)
	}
	out := []roster.Membership{}
	for rows.Next() {
		var m roster.Membership
		if err := rows.Scan(&m.ID, &m.Kind, &m.Name); err != nil {
			rows.Close()
			return nil, fmt.Errorf("memberships: %w", err)
		}
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("memberships: %w", err)
	}
	for _, q := range []string{
		`DELETE FROM work_group_members WHERE user_id = $1`,
		`DELETE FROM work_group_managers WHERE user_id = $1`,
		`UPDATE operator_settings SET presence = 'offline' WHERE user_id = $1`,
	} {
		if _, err := tx.ExecContext(ctx, q, userID); err != nil {
			return nil, fmt.Errorf("leave work groups: %w", err)
		}
	}
	return out, nil
}

// ensureOperatorRow makes sure the user has an operator_settings row.
func ensureOperatorRow(ctx context.Context, tx *Tx, u *roster.User) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO operator_settings (user_id, company_id) VALUES ($1, $2)
		ON CONFLICT (user_id) DO NOTHING`, u.ID, u.CompanyID)
	if err != nil {
		return fmt.Errorf("operator settings: %w", err)
	}
	return nil
}

// UpdateOperator changes a user's dialogue maximum and client visibility.
func (s *Store) UpdateOperator(ctx context.Context, scope roster.Scope, userID int64, upd roster.OperatorUpdate) (*roster.User, error) {
	return s.UpdateUser(ctx, scope, userID, roster.UserUpdate{Operator: &upd})
}

// updateOperator applies an operations update to u with its event; changed
// is false when nothing differs.
func updateOperator(ctx context.Context, tx *Tx, u *roster.User, upd roster.OperatorUpdate) (changed bool, err error) {
	if upd.Empty() {
		return false, nil
	}
	if err := ensureOperatorRow(ctx, tx, u); err != nil {
		return false, err
	}
	before, after := map[string]any{}, map[string]any{}
	if upd.MaxDialogues != nil && *upd.MaxDialogues != u.MaxDialogues {
		before["max_dialogues"], after["max_dialogues"] = u.MaxDialogues, *upd.MaxDialogues
		if _, err := tx.ExecContext(ctx, `UPDATE operator_settings SET max_dialogues = $1 WHERE user_id = $2`, *upd.MaxDialogues, u.ID); err != nil {
			return false, fmt.Errorf("set max dialogues: %w", err)
		}
	}
	if upd.MaskData != nil && *upd.MaskData != u.MaskData {
		before["mask_data"], after["mask_data"] = u.MaskData, *upd.MaskData
		if _, err := tx.ExecContext(ctx, `UPDATE operator_settings SET mask_data = $1 WHERE user_id = $2`, *upd.MaskData, u.ID); err != nil {
			return false, fmt.Errorf("set mask data: %w", err)
		}
	}
	if r := upd.CountriesRule; r != nil && (r.Mode != u.CountriesRule.Mode || !slices.Equal(r.Countries, u.CountriesRule.Countries)) {
		before["countries_rule"], after["countries_rule"] = u.CountriesRule, *r
		if _, err := tx.ExecContext(ctx, `UPDATE operator_settings SET countries_mode = $1, countries = $2 WHERE user_id = $3`,
			r.Mode, strings.Join(r.Countries, ","), u.ID); err != nil {
			return false, fmt.Errorf("set countries rule: %w", err)
		}
	}
	if upd.ClientTagIDs != nil {
		ids := sortedIDs(dedupe(*upd.ClientTagIDs))
		if err := checkTagIDs(ctx, tx, u.CompanyID, "client_tags", ids); err != nil {
			return false, err
		}
		if !slices.Equal(ids, sortedIDs(u.ClientTagIDs)) {
			before["client_tags"], after["client_tags"] = sortedIDs(u.ClientTagIDs), ids
			if _, err := tx.ExecContext(ctx, `DELETE FROM user_client_tags WHERE user_id = $1`, u.ID); err != nil {
				return false, fmt.Errorf("set client tags: %w", err)
			}
			for _, id := range ids {
				if _, err := tx.ExecContext(ctx, `INSERT INTO user_client_tags (user_id, tag_id) VALUES ($1, $2)`, u.ID, id); err != nil {
					return false, fmt.Errorf("set client tags: %w", err)
				}
			}
		}
	}
	if len(after) == 0 {
		return false, nil
	}
	if err := touchUser(ctx, tx, u); err != nil {
		return false, err
	}
	e := userEvent(roster.EventUserOperationsChanged, u)
	e.Before, e.After = before, after
	return true, writeEvent(ctx, tx, e)
}

// checkTagIDs reports tag IDs that are not client tags of company. The
// tags stay locked against deletion until tx ends, so that they can be
// linked.
func checkTagIDs(ctx context.Context, tx *Tx, companyID int64, field string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	var b sqlBuilder
	in := b.inInts(ids)
	found, err := queryColumn[string](ctx, tx, `SELECT CAST(id AS TEXT) FROM client_tags WHERE company_id = `+b.arg(companyID)+` AND id IN (`+in+`)
		ORDER BY id`+tx.s.d.lock(lockKeyShare), b.args...)
	if err != nil {
		return fmt.Errorf("check client tags: %w", err)
	}
	if len(found) != len(ids) {
		return invalidField(field, "unknown_tag", "Unknown client tag.")
	}
	return nil
}

// SetPresence records the presence a user's softphone or app reports.
func (s *Store) SetPresence(ctx context.Context, userID int64, presence string) error {
	if presence != roster.PresenceOnline && presence != roster.PresenceOffline {
		return invalidField("status", "invalid_choice", `The status is "online" or "offline".`)
	}
	return s.write(ctx, func(tx *Tx) error {
		u, err := lockUser(ctx, tx, roster.Scope{All: true}, userID)
		if err != nil {
			return err
		}
		if err := ensureOperatorRow(ctx, tx, u); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE operator_settings SET presence = $1, presence_at = $2 WHERE user_id = $3`,
			presence, tx.now, u.ID); err != nil {
			return fmt.Errorf("set presence: %w", err)
		}
		return nil
	})
}

// Visibility returns a user's client visibility.
func (s *Store) Visibility(ctx context.Context, userID int64) (*roster.Visibility, error) {
	u, err := findUser(ctx, s.rdb, roster.Scope{All: true}, userID)
	if err != nil {
		return nil, err
	}
	return &roster.Visibility{TagIDs: u.ClientTagIDs, Countries: u.CountriesRule, Mask: u.MaskData}, nil
}

// liveSessionSQL is true for user alias u when they hold a signed-in
// session (API, panel or switch) that has not ended: logout, blocking and
// expiry sweeps delete sessions, so a row means "signed in".
const liveSessionSQL = `EXISTS (SELECT 1 FROM sessions ss WHERE ss.user_id = u.id AND ss.kind IN ('api', 'web', 'switch'))`

// userOpsColumns and userOpsJoins read a user's operator settings,
// presence and calls handled (userOps), with users aliased u.
const (
	userOpsColumns = `coalesce(o.max_dialogues, 0), coalesce(o.active_dialogues, 0),
		coalesce(o.presence, ''), coalesce(o.mask_data, ` + falseSQL + `), coalesce(o.countries_mode, ''), coalesce(o.countries, ''),
		` + liveSessionSQL + `, coalesce(co.call_statistics, ` + falseSQL + `),
		(SELECT count(*) FROM calls c WHERE c.user_id = u.id)`
	userOpsJoins = `LEFT JOIN operator_settings o ON o.user_id = u.id
		LEFT JOIN company_operations co ON co.company_id = u.company_id`
)

// userOps is one row of userOpsColumns.
type userOps struct {
	maxDialogues, activeDialogues int
	presence, mode, countries     string
	mask, live, stats             bool
	calls                         int
}

// dest are the scan destinations of userOpsColumns.
func (o *userOps) dest() []any {
	return []any{&o.maxDialogues, &o.activeDialogues, &o.presence, &o.mask, &o.mode, &o.countries, &o.live, &o.stats, &o.calls}
}

// apply sets u's operations fields: presence is what the operator set,
// else online while they have a live session; a user who is not active
// is offline; calls handled only where the company has call statistics.
func (o *userOps) apply(u *roster.User) {
	u.MaxDialogues, u.ActiveDialogues, u.MaskData = o.maxDialogues, o.activeDialogues, o.mask
	u.CountriesRule = roster.CountriesRule{Mode: o.mode, Countries: []string{}}
	if o.countries != "" {
		u.CountriesRule.Countries = strings.Split(o.countries, ",")
	}
	u.Presence = o.presence
	if o.presence == "" {
		u.Presence = roster.PresenceOffline
		if o.live {
			u.Presence = roster.PresenceOnline
		}
	}
	if u.Status != roster.StatusActive {
		u.Presence = roster.PresenceOffline
	}
	u.CallsHandled = nil
	if o.stats {
		calls := o.calls
		u.CallsHandled = &calls
	}
}

// falseSQL is a boolean false both engines accept in coalesce with a
// boolean column (SQLite stores booleans as integers).
const falseSQL = `FALSE`

// operatorLoad is one candidate of dialogue routing.
type operatorLoad struct {
	id, active, max int64
}

// lessLoaded orders operators by active/max, lowest first, ties by ID;
// cross-multiplied so that no division rounds.
func lessLoaded(a, b operatorLoad) bool {
	l, r := a.active*b.max, b.active*a.max
	if l != r {
		return l < r
	}
	return a.id < b.id
}

// AssignDialogue gives a new dialogue to the online chat operator with the
// lowest load relative to their maximum, never above it. The operators'
// rows are locked for the transaction (FOR UPDATE on PostgreSQL; SQLite
// write transactions are IMMEDIATE, holding the database write lock), so
// concurrent requests see each other's assignments and never overfill.
func (s *Store) AssignDialogue(ctx context.Context, companyID int64, externalID string) (*roster.Dialogue, error) {
	externalID = strings.TrimSpace(externalID)
	if len(externalID) > 200 {
		return nil, invalidField("external_id", "too_long", "An external ID is at most 200 characters.")
	}
	return writeResult(ctx, s, func(tx *Tx) (*roster.Dialogue, error) {
		return assignDialogue(ctx, tx, companyID, externalID)
	})
}

func assignDialogue(ctx context.Context, tx *Tx, companyID int64, externalID string) (*roster.Dialogue, error) {
	lock := ""
	if tx.s.d.name == dialectPostgres {
		lock = ` FOR UPDATE OF o`
	}
	rows, err := tx.QueryContext(ctx, `SELECT o.user_id, o.active_dialogues, o.max_dialogues
		FROM operator_settings o JOIN users u ON u.id = o.user_id
		WHERE o.company_id = $1 AND o.max_dialogues > 0 AND u.status = 'active'
		  AND (o.presence = 'online' OR (o.presence = '' AND `+liveSessionSQL+`))
		  AND EXISTS (SELECT 1 FROM user_roles ur JOIN role_permissions rp ON rp.role_id = ur.role_id
		              WHERE ur.user_id = u.id AND rp.permission = $2)
		ORDER BY o.user_id`+lock, companyID, string(roster.PermDialoguesHandle))
	if err != nil {
		return nil, fmt.Errorf("routing candidates: %w", err)
	}
	var best *operatorLoad
	online := 0
	for rows.Next() {
		var c operatorLoad
		if err := rows.Scan(&c.id, &c.active, &c.max); err != nil {
			rows.Close()
			return nil, fmt.Errorf("routing candidates: %w", err)
		}
		online++
		if c.active >= c.max {
			continue
		}
		if best == nil || lessLoaded(c, *best) {
			best = &c
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("routing candidates: %w", err)
	}
	if best == nil {
		if online == 0 {
			return nil, roster.Errorf(roster.ECONFLICT, "No chat operator is online; queue the dialogue and try again later.")
		}
		return nil, roster.Errorf(roster.ECONFLICT, "All %d online chat operators are at their maximum of dialogues; queue the dialogue and try again later.", online)
	}
	// The condition re-checks the maximum in the row itself: a second line
	// of defence should the lock ever be missing.
	r, err := tx.ExecContext(ctx, `UPDATE operator_settings SET active_dialogues = active_dialogues + 1
		WHERE user_id = $1 AND active_dialogues < max_dialogues`, best.id)
	if err != nil {
		return nil, fmt.Errorf("assign dialogue: %w", err)
	}
	if n, _ := r.RowsAffected(); n != 1 {
		return nil, roster.Errorf(roster.ECONFLICT, "The chosen operator just became full; try again.")
	}
	d := &roster.Dialogue{CompanyID: companyID, OperatorID: best.id, ExternalID: externalID, Status: roster.DialogueOpen, CreatedAt: tx.now}
	if err := tx.QueryRowContext(ctx, `INSERT INTO dialogues (company_id, operator_id, external_id, status, created_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, companyID, best.id, externalID, d.Status, tx.now).Scan(&d.ID); err != nil {
		return nil, fmt.Errorf("insert dialogue: %w", err)
	}
	op, err := findUser(ctx, tx, roster.Scope{All: true}, best.id)
	if err != nil {
		return nil, err
	}
	e := userEvent(roster.EventDialogueAssigned, op)
	e.After = map[string]any{"dialogue_id": d.ID, "external_id": externalID, "active_dialogues": best.active + 1, "max_dialogues": best.max}
	if err := writeEvent(ctx, tx, e); err != nil {
		return nil, err
	}
	return d, nil
}

// CloseDialogue ends an open dialogue and frees its operator's slot.
// Of two closes at once, the second finds the dialogue closed.
func (s *Store) CloseDialogue(ctx context.Context, scope roster.Scope, id int64) (*roster.Dialogue, error) {
	return writeResult(ctx, s, func(tx *Tx) (*roster.Dialogue, error) {
		return closeDialogue(ctx, tx, scope, id)
	})
}

func closeDialogue(ctx context.Context, tx *Tx, scope roster.Scope, id int64) (*roster.Dialogue, error) {
	// The operator is locked first (users before other rows), then the
	// dialogue, read again under the lock.
	d, _, err := queryDialogue(ctx, tx, scope, id, "")
	if err != nil {
		return nil, err
	}
	op, err := lockUser(ctx, tx, roster.Scope{All: true}, d.OperatorID)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return nil, notFound("Dialogue") // deleted with its operator
	} else if err != nil {
		return nil, err
	}
	d, closed, err := queryDialogue(ctx, tx, scope, id, tx.s.d.lock(lockNoKeyUpdate))
	if err != nil {
		return nil, err
	}
	if d.Status == roster.DialogueClosed {
		t := closed.Time.UTC()
		d.ClosedAt = &t
		return nil, roster.Errorf(roster.ECONFLICT, "This dialogue is closed already.")
	}
	if _, err := tx.ExecContext(ctx, `UPDATE dialogues SET status = 'closed', closed_at = $1 WHERE id = $2`, tx.now, d.ID); err != nil {
		return nil, fmt.Errorf("close dialogue: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE operator_settings SET active_dialogues = active_dialogues - 1
		WHERE user_id = $1 AND active_dialogues > 0`, d.OperatorID); err != nil {
		return nil, fmt.Errorf("free operator: %w", err)
	}
	d.Status, d.ClosedAt = roster.DialogueClosed, &tx.now
	e := userEvent(roster.EventDialogueClosed, op)
	e.After = map[string]any{"dialogue_id": d.ID, "external_id": d.ExternalID}
	if err := writeEvent(ctx, tx, e); err != nil {
		return nil, err
	}
	return d, nil
}

// queryDialogue reads a dialogue in scope, with a locking clause.
func queryDialogue(ctx context.Context, q querier, scope roster.Scope, id int64, lock string) (*roster.Dialogue, sql.NullTime, error) {
	var closed sql.NullTime
	var b sqlBuilder
	b.cond(`d.id = ` + b.arg(id))
	if !b.scopeCond(scope, "d.company_id") {
		return nil, closed, notFound("Dialogue")
	}
	d := &roster.Dialogue{}
	err := q.QueryRowContext(ctx, `SELECT d.id, d.company_id, d.operator_id, d.external_id, d.status, d.created_at, d.closed_at
		FROM dialogues d`+b.whereSQL()+lock, b.args...).Scan(&d.ID, &d.CompanyID, &d.OperatorID, &d.ExternalID, &d.Status, &d.CreatedAt, &closed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, closed, notFound("Dialogue")
	} else if err != nil {
		return nil, closed, fmt.Errorf("dialogue: %w", err)
	}
	d.CreatedAt = d.CreatedAt.UTC()
	return d, closed, nil
}

// RecordCall stores a handled call once per (company, call ID).
func (s *Store) RecordCall(ctx context.Context, c *roster.Call) (bool, error) {
	if err := c.Validate(); err != nil {
		return false, err
	}
	in := *c
	return writeResult(ctx, s, func(tx *Tx) (bool, error) {
		*c = in
		return recordCall(ctx, tx, c)
	})
}

// recordCall inserts the call unless its (company, call ID) is there:
// of two reports of one call, the second finds the first's row, or waits
// for it and inserts nothing.
func recordCall(ctx context.Context, tx *Tx, c *roster.Call) (bool, error) {
	u, err := findUser(ctx, tx, roster.Scope{CompanyIDs: []int64{c.CompanyID}}, c.UserID)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return false, invalidField("user_id", "unknown_user", "Unknown user.")
	} else if err != nil {
		return false, err
	}
	c.CreatedAt = tx.now
	err = tx.QueryRowContext(ctx, `INSERT INTO calls (company_id, call_id, user_id, direction, duration_seconds, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (company_id, call_id) DO NOTHING RETURNING id`,
		c.CompanyID, c.CallID, c.UserID, c.Direction, c.DurationSeconds, tx.now).Scan(&c.ID)
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.QueryRowContext(ctx, `SELECT id, user_id, direction, duration_seconds, created_at FROM calls
			WHERE company_id = $1 AND call_id = $2`, c.CompanyID, c.CallID).Scan(&c.ID, &c.UserID, &c.Direction, &c.DurationSeconds, &c.CreatedAt)
		if err != nil {
			return false, fmt.Errorf("find call: %w", err)
		}
		c.CreatedAt = c.CreatedAt.UTC()
		return false, nil
	} else if tx.s.d.foreignKeyViolation(err) {
		return false, invalidField("user_id", "unknown_user", "Unknown user.")
	} else if err != nil {
		return false, fmt.Errorf("insert call: %w", err)
	}
	e := userEvent(roster.EventCallRecorded, u)
	e.After = map[string]any{"call_id": c.CallID, "direction": c.Direction, "duration_seconds": c.DurationSeconds}
	if err := writeEvent(ctx, tx, e); err != nil {
		return false, err
	}
	return true, nil
}

// CompanyOperations reads a company's operations settings.
func (s *Store) CompanyOperations(ctx context.Context, scope roster.Scope, companyID int64) (*roster.CompanyOperations, error) {
	if !scope.Contains(companyID) {
		return nil, notFound("Company")
	}
	co, _, _, err := companyOps(ctx, s.rdb, companyID)
	return co, err
}

func companyOps(ctx context.Context, q querier, companyID int64) (*roster.CompanyOperations, string, string, error) {
	co := &roster.CompanyOperations{CompanyID: companyID}
	var tg, sl string
	err := q.QueryRowContext(ctx, `SELECT call_statistics, telegram_token, slack_token FROM company_operations WHERE company_id = $1`,
		companyID).Scan(&co.CallStatistics, &tg, &sl)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, "", "", fmt.Errorf("company operations: %w", err)
	}
	co.TelegramSet, co.SlackSet = tg != "", sl != ""
	return co, tg, sl, nil
}

// CompanyTokens returns a company's stored (sealed) Telegram and Slack
// tokens, for the notification sender only: the API never returns them.
func (s *Store) CompanyTokens(ctx context.Context, companyID int64) (telegram, slack string, err error) {
	_, tg, sl, err := companyOps(ctx, s.rdb, companyID)
	return tg, sl, err
}

// UpdateCompanyOperations changes a company's operations settings. Tokens
// arrive already sealed by the caller; the event says only that a token
// changed, never its value.
func (s *Store) UpdateCompanyOperations(ctx context.Context, scope roster.Scope, companyID int64, upd roster.CompanyOperationsUpdate) (*roster.CompanyOperations, error) {
	if !scope.Contains(companyID) {
		return nil, notFound("Company")
	}
	return writeResult(ctx, s, func(tx *Tx) (*roster.CompanyOperations, error) {
		return updateCompanyOperations(ctx, tx, companyID, upd)
	})
}

// updateCompanyOperations applies upd with the company locked, so that
// concurrent changes of different settings all hold.
func updateCompanyOperations(ctx context.Context, tx *Tx, companyID int64, upd roster.CompanyOperationsUpdate) (*roster.CompanyOperations, error) {
	if err := lockCompany(ctx, tx, companyID); err != nil {
		return nil, err
	}
	co, tg, sl, err := companyOps(ctx, tx, companyID)
	if err != nil {
		return nil, err
	}
	before, after := map[string]any{}, map[string]any{}
	stats := co.CallStatistics
	if upd.CallStatistics != nil && *upd.CallStatistics != stats {
		before["call_statistics"], after["call_statistics"] = stats, *upd.CallStatistics
		stats = *upd.CallStatistics
		// Call statistics are on exactly for Professional and Pro Plus
		// (U13): switching them moves the plan with them.
		var plan string
		if err := tx.QueryRowContext(ctx, `SELECT plan FROM companies WHERE id = $1`, companyID).Scan(&plan); err != nil {
			return nil, fmt.Errorf("company plan: %w", err)
		}
		newPlan := plan
		switch {
		case stats && !roster.PlanHasCallStatistics(plan):
			newPlan = roster.PlanProfessional
		case !stats && roster.PlanHasCallStatistics(plan):
			newPlan = roster.PlanStandard
		}
		if newPlan != plan {
			if _, err := tx.ExecContext(ctx, `UPDATE companies SET plan = $1, updated_at = $2 WHERE id = $3`, newPlan, tx.now, companyID); err != nil {
				return nil, fmt.Errorf("company plan: %w", err)
			}
			before["plan"], after["plan"] = plan, newPlan
		}
	}
	if upd.TelegramBotToken != nil {
		before["telegram_bot_token_set"], after["telegram_bot_token_set"] = tg != "", *upd.TelegramBotToken != ""
		tg = *upd.TelegramBotToken
	}
	if upd.SlackToken != nil {
		before["slack_token_set"], after["slack_token_set"] = sl != "", *upd.SlackToken != ""
		sl = *upd.SlackToken
	}
	if len(after) == 0 {
		return co, nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO company_operations (company_id, call_statistics, telegram_token, slack_token, updated_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (company_id) DO UPDATE SET call_statistics = excluded.call_statistics,
		telegram_token = excluded.telegram_token, slack_token = excluded.slack_token, updated_at = excluded.updated_at`,
		companyID, stats, tg, sl, tx.now); err != nil {
		return nil, fmt.Errorf("update company operations: %w", err)
	}
	if err := writeEvent(ctx, tx, &roster.Event{Type: roster.EventCompanyOperations, CompanyID: companyID, Before: before, After: after}); err != nil {
		return nil, err
	}
	co = &roster.CompanyOperations{CompanyID: companyID, CallStatistics: stats, TelegramSet: tg != "", SlackSet: sl != ""}
	return co, nil
}

// queueFilterSQL adds the users-list condition for a queue filter: members
// of queue id, or — for roster.QueueNone — active users in no queue (the
// monthly audit of seed 002).
func queueFilterSQL(b *sqlBuilder, queue string) {
	switch queue {
	case "":
	case roster.QueueNone:
		b.cond(`u.status = 'active' AND NOT EXISTS (SELECT 1 FROM work_group_members m JOIN work_groups g ON g.id = m.group_id
			WHERE m.user_id = u.id AND g.kind = 'queue')`)
	default:
		id, _ := strconv.ParseInt(queue, 10, 64) // validated by UserFilter.Validate
		b.cond(`EXISTS (SELECT 1 FROM work_group_members m JOIN work_groups g ON g.id = m.group_id
			WHERE m.user_id = u.id AND g.kind = 'queue' AND g.id = ` + b.arg(id) + `)`)
	}
}
