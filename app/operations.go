package app

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/notify"
	"github.com/roster-app/roster/secure"
)

// Operations are the workflows of a contact center's operations: queues,
// shifts and agent groups with their members (SPEC O1), presence and calls
// (U13), dialogue routing (O2) and a company's operations settings.
type Operations struct{ app *App }

// The rules of work groups. Queues and shifts are managed company-wide by
// the holders of queues.manage and shifts.manage. Agent groups are managed
// company-wide by holders of agent_groups.manage who also hold users.edit;
// an agent group manager — agent_groups.manage without users.edit — sees
// only the agent groups that list them as a manager, changes only their
// members, and neither creates, renames nor deletes groups nor chooses
// their managers. Everyone holding users.view reads every other group.

// scopedManager reports whether a manages only the agent groups listing them.
func scopedManager(a *roster.Actor) bool {
	return a.Can(roster.PermAgentGroupsManage) && !a.Can(roster.PermUsersEdit)
}

// manages reports whether g lists a as a manager.
func manages(a *roster.Actor, g *roster.WorkGroup) bool {
	return slices.Contains(g.ManagerIDs, a.UserID())
}

// CanViewGroups reports whether a may open the work groups of kind.
func CanViewGroups(a *roster.Actor, kind string) bool {
	return a.Can(roster.WorkGroupPermission(kind)) || a.Can(roster.PermUsersView)
}

// CanSeeGroup reports whether a may see g: another agent group is, to an
// agent group manager, simply not there.
func CanSeeGroup(a *roster.Actor, g *roster.WorkGroup) bool {
	return CanViewGroups(a, g.Kind) && (g.Kind != roster.KindAgentGroup || !scopedManager(a) || manages(a, g))
}

// CanManageGroups reports whether a may create, rename and delete work
// groups of kind and choose agent groups' managers.
func CanManageGroups(a *roster.Actor, kind string) bool {
	return a.Can(roster.WorkGroupPermission(kind)) && !(kind == roster.KindAgentGroup && scopedManager(a))
}

// CanChangeMembers reports whether a may add members to g and remove them.
func CanChangeMembers(a *roster.Actor, g *roster.WorkGroup) bool {
	return CanManageGroups(a, g.Kind) || (a.Can(roster.WorkGroupPermission(g.Kind)) && manages(a, g))
}

// groupNotFound is the answer for a group the actor may not see, the same
// as for one that does not exist.
func groupNotFound(kind string) error {
	return roster.Errorf(roster.ENOTFOUND, "%s not found.", roster.WorkGroupKindName(kind))
}

// Groups lists the work groups of kind in a company in scope (0: the
// actor's own) that the actor may see, with their members.
func (s *Operations) Groups(ctx context.Context, kind string, companyID int64) ([]*roster.WorkGroup, error) {
	a, err := actor(ctx, "")
	if err != nil {
		return nil, err
	}
	if !CanViewGroups(a, kind) {
		return nil, forbidden(roster.WorkGroupPermission(kind), roster.PermUsersView)
	}
	if err := s.app.companyIn(ctx, a, &companyID); err != nil {
		return nil, err
	}
	gs, err := s.app.d.Ops.WorkGroups(ctx, a.Scope, companyID, kind)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(gs, func(g *roster.WorkGroup) bool { return !CanSeeGroup(a, g) }), nil
}

// Group returns one work group of kind the actor may see.
func (s *Operations) Group(ctx context.Context, kind string, id int64) (*roster.WorkGroup, error) {
	a, err := actor(ctx, "")
	if err != nil {
		return nil, err
	}
	if !CanViewGroups(a, kind) {
		return nil, forbidden(roster.WorkGroupPermission(kind), roster.PermUsersView)
	}
	return s.visibleGroup(ctx, a, kind, id)
}

func (s *Operations) visibleGroup(ctx context.Context, a *roster.Actor, kind string, id int64) (*roster.WorkGroup, error) {
	g, err := s.app.d.Ops.WorkGroupByID(ctx, a.Scope, kind, id)
	if err != nil {
		return nil, err
	}
	if !CanSeeGroup(a, g) {
		return nil, groupNotFound(kind)
	}
	return g, nil
}

// forbidden is the refusal of an actor holding none of perms.
func forbidden(perms ...roster.Permission) error {
	names := make([]string, len(perms))
	for i, p := range perms {
		names[i] = string(p)
	}
	return roster.Errorf(roster.EFORBIDDEN, "You do not have permission for this action (needs %s).", strings.Join(names, " or "))
}

// groupManager returns the actor who may create, rename and delete work
// groups of kind.
func groupManager(ctx context.Context, kind, what string) (*roster.Actor, error) {
	a, err := actor(ctx, roster.WorkGroupPermission(kind))
	if err != nil {
		return nil, err
	}
	if !CanManageGroups(a, kind) {
		return nil, roster.Errorf(roster.EFORBIDDEN, "Agent group managers cannot %s: they manage the members of the agent groups that list them.", what)
	}
	return a, nil
}

// NewGroup is a work group to create.
type NewGroup struct {
	// CompanyID is the group's company; 0 means the actor's own.
	CompanyID  int64
	Name       string
	ManagerIDs []int64
}

// CreateGroup creates a queue, shift or agent group; every field is
// checked at once, the managers against the users of the group's company.
func (s *Operations) CreateGroup(ctx context.Context, kind string, n NewGroup) (*roster.WorkGroup, error) {
	a, err := groupManager(ctx, kind, "create agent groups")
	if err != nil {
		return nil, err
	}
	cerr := s.app.companyIn(ctx, a, &n.CompanyID)
	g := &roster.WorkGroup{CompanyID: n.CompanyID, Kind: kind, Name: n.Name, ManagerIDs: dedupe(n.ManagerIDs)}
	var v roster.Validation
	roster.ValidateWorkGroupName(&v, "name", &g.Name)
	if !roster.ValidWorkGroupKind(kind) {
		v.Add("kind", "invalid_choice", "Unknown kind of work group.")
	}
	var merr error
	if cerr == nil {
		if merr = s.checkManagers(ctx, g.CompanyID, kind, g.ManagerIDs); roster.ErrorCode(merr) != roster.EINVALID && merr != nil {
			return nil, merr
		}
	}
	if err := merge(cerr, v.Err(), merr); err != nil {
		return nil, err
	}
	if err := s.app.d.Ops.CreateWorkGroup(ctx, g); err != nil {
		return nil, err
	}
	return g, nil
}

// checkManagers reports managers given to a group that cannot have them,
// and managers who are not active or invited users of the group's company.
func (s *Operations) checkManagers(ctx context.Context, companyID int64, kind string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	var v roster.Validation
	if kind != roster.KindAgentGroup {
		v.Add("manager_ids", "not_allowed", "Only agent groups have managers.")
		return v.Err()
	}
	in := roster.Scope{CompanyIDs: []int64{companyID}}
	for _, id := range ids {
		u, err := s.app.d.Users.UserByID(ctx, in, id)
		switch {
		case roster.ErrorCode(err) == roster.ENOTFOUND:
			v.Add("manager_ids", "unknown_user", fmt.Sprintf("Unknown user: %d.", id))
		case err != nil:
			return err
		case u.Status == roster.StatusBlocked:
			v.Add("manager_ids", "blocked_user", fmt.Sprintf("%s is blocked; unblock them first.", u.DisplayName()))
		}
		if v.Has("manager_ids") {
			break
		}
	}
	return v.Err()
}

// UpdateGroup renames a work group or replaces an agent group's managers;
// a group never moves to another company.
func (s *Operations) UpdateGroup(ctx context.Context, kind string, id int64, upd roster.WorkGroupUpdate) (*roster.WorkGroup, error) {
	a, err := groupManager(ctx, kind, "rename agent groups or choose their managers")
	if err != nil {
		return nil, err
	}
	g, err := s.visibleGroup(ctx, a, kind, id)
	if err != nil {
		return nil, err
	}
	var v roster.Validation
	if upd.CompanyID != nil {
		v.Add("company_id", "immutable", "A group never moves to another company.")
	}
	if upd.Name != nil {
		name := *upd.Name
		roster.ValidateWorkGroupName(&v, "name", &name)
		upd.Name = &name
	}
	var merr error
	if upd.ManagerIDs != nil {
		ids := dedupe(*upd.ManagerIDs)
		upd.ManagerIDs = &ids
		if kind != roster.KindAgentGroup {
			v.Add("manager_ids", "not_allowed", "Only agent groups have managers.")
		} else if merr = s.checkManagers(ctx, g.CompanyID, kind, ids); roster.ErrorCode(merr) != roster.EINVALID && merr != nil {
			return nil, merr
		}
	}
	if err := merge(v.Err(), merr); err != nil {
		return nil, err
	}
	upd.CompanyID = nil
	return s.app.d.Ops.UpdateWorkGroup(ctx, a.Scope, kind, g.ID, upd)
}

// DeleteGroup deletes a work group; its members stay, outside it.
func (s *Operations) DeleteGroup(ctx context.Context, kind string, id int64) error {
	a, err := groupManager(ctx, kind, "delete agent groups")
	if err != nil {
		return err
	}
	if _, err := s.visibleGroup(ctx, a, kind, id); err != nil {
		return err
	}
	return s.app.d.Ops.DeleteWorkGroup(ctx, a.Scope, kind, id)
}

// memberChanger returns a group the actor may change the members of.
func (s *Operations) memberChanger(ctx context.Context, kind string, id int64, userIDs []int64) (*roster.Actor, *roster.WorkGroup, []int64, error) {
	a, err := actor(ctx, roster.WorkGroupPermission(kind))
	if err != nil {
		return nil, nil, nil, err
	}
	g, err := s.visibleGroup(ctx, a, kind, id)
	if err != nil {
		return nil, nil, nil, err
	}
	if !CanChangeMembers(a, g) {
		return nil, nil, nil, roster.Errorf(roster.EFORBIDDEN, "You manage only the agent groups that list you as a manager.")
	}
	userIDs = dedupe(userIDs)
	var v roster.Validation
	switch {
	case len(userIDs) == 0:
		v.Add("user_ids", "choose_users", "Choose at least one user.")
	case len(userIDs) > roster.MaxBulkUsers:
		v.Add("user_ids", "too_many", fmt.Sprintf("At most %d users at once.", roster.MaxBulkUsers))
	}
	return a, g, userIDs, v.Err()
}

// AddMembers adds users of the group's company who are not blocked to a
// work group, one event per user added; members already in it stay.
func (s *Operations) AddMembers(ctx context.Context, kind string, id int64, userIDs []int64) (*roster.WorkGroup, error) {
	a, g, ids, err := s.memberChanger(ctx, kind, id, userIDs)
	if err != nil {
		return nil, err
	}
	return s.app.d.Ops.AddWorkGroupMembers(ctx, a.Scope, kind, g.ID, ids)
}

// RemoveMembers removes members from a work group; a user who is not a
// member is not found.
func (s *Operations) RemoveMembers(ctx context.Context, kind string, id int64, userIDs []int64) (*roster.WorkGroup, error) {
	a, g, ids, err := s.memberChanger(ctx, kind, id, userIDs)
	if err != nil {
		return nil, err
	}
	for _, uid := range ids {
		if !slices.ContainsFunc(g.Members, func(m roster.UserRef) bool { return m.ID == uid }) {
			return nil, roster.Errorf(roster.ENOTFOUND, "This user is not a member.")
		}
	}
	return s.app.d.Ops.RemoveWorkGroupMembers(ctx, a.Scope, kind, g.ID, ids)
}

// SetPresence records the presence the actor's softphone or app reports
// and returns the actor's user.
func (s *Operations) SetPresence(ctx context.Context, status string) (*roster.User, error) {
	a, err := person(ctx)
	if err != nil {
		return nil, err
	}
	if status != roster.PresenceOnline && status != roster.PresenceOffline {
		var v roster.Validation
		v.Add("status", "invalid_choice", `The status is "online" or "offline".`)
		return nil, v.Err()
	}
	if err := s.app.d.Ops.SetPresence(ctx, a.User.ID, status); err != nil {
		return nil, err
	}
	return s.app.d.Users.UserByID(ctx, roster.Scope{All: true}, a.User.ID)
}

// AssignDialogue gives a new dialogue of a company in scope (0: the
// actor's own) to the online chat operator with the lowest load relative
// to their maximum (O2); ECONFLICT when nobody can take it.
func (s *Operations) AssignDialogue(ctx context.Context, companyID int64, externalID string) (*roster.Dialogue, error) {
	a, err := actor(ctx, roster.PermDialoguesHandle)
	if err != nil {
		return nil, err
	}
	externalID = strings.TrimSpace(externalID)
	cerr := s.app.companyIn(ctx, a, &companyID)
	var v roster.Validation
	if len(externalID) > 200 {
		v.Add("external_id", "too_long", "An external ID is at most 200 characters.")
	}
	if err := merge(cerr, v.Err()); err != nil {
		return nil, err
	}
	return s.app.d.Ops.AssignDialogue(ctx, companyID, externalID)
}

// CloseDialogue ends an open dialogue in scope and frees its operator's slot.
func (s *Operations) CloseDialogue(ctx context.Context, id int64) (*roster.Dialogue, error) {
	a, err := actor(ctx, roster.PermDialoguesHandle)
	if err != nil {
		return nil, err
	}
	return s.app.d.Ops.CloseDialogue(ctx, a.Scope, id)
}

// RecordCall stores a call handled by a user of the actor's company, once
// per call ID (the telephony integration signs in as a user holding
// calls.handle); created is false when the call ID was known, and c is
// then the stored call.
func (s *Operations) RecordCall(ctx context.Context, c *roster.Call) (created bool, err error) {
	a, err := actor(ctx, roster.PermCallsHandle)
	if err != nil {
		return false, err
	}
	c.CompanyID = a.Company.ID
	verr := c.Validate()
	var v roster.Validation
	if c.UserID != 0 {
		u, err := s.app.d.Users.UserByID(ctx, roster.Scope{CompanyIDs: []int64{c.CompanyID}}, c.UserID)
		switch {
		case roster.ErrorCode(err) == roster.ENOTFOUND:
			v.Add("user_id", "unknown_user", "Unknown user.")
		case err != nil:
			return false, err
		case strings.TrimSpace(u.WorkPhone) == "":
			// Calls reach a user through the work phone (seed 001, U4):
			// without one the user cannot be handling calls.
			v.Add("work_phone", "required_for_calls", "This user has no work phone, so they cannot handle calls; add one on their card first.")
		}
	}
	if err := merge(verr, v.Err()); err != nil {
		return false, err
	}
	return s.app.d.Ops.RecordCall(ctx, c)
}

// CanChangeCompanySettings reports whether a may change companies'
// operations settings.
func CanChangeCompanySettings(a *roster.Actor) bool { return a.Can(roster.PermRolesManage) }

// CompanySettings returns the operations settings of a company in scope
// (0: the actor's own) to those who read users or change the settings;
// tokens are never returned, only whether each is set.
func (s *Operations) CompanySettings(ctx context.Context, companyID int64) (*roster.CompanyOperations, error) {
	a, err := actor(ctx, "")
	if err != nil {
		return nil, err
	}
	if !a.Can(roster.PermUsersView) && !CanChangeCompanySettings(a) {
		return nil, forbidden(roster.PermUsersView, roster.PermRolesManage)
	}
	if companyID == 0 {
		companyID = a.Company.ID
	}
	if _, err := s.app.d.Companies.CompanyByID(ctx, a.Scope, companyID); err != nil {
		return nil, err
	}
	return s.app.d.Ops.CompanyOperations(ctx, a.Scope, companyID)
}

// UpdateCompanySettings changes a company's operations settings: call
// statistics, and the Telegram and Slack tokens, which are given in clear,
// sealed here and never shown again; an empty token removes it.
func (s *Operations) UpdateCompanySettings(ctx context.Context, companyID int64, upd roster.CompanyOperationsUpdate) (*roster.CompanyOperations, error) {
	a, err := actor(ctx, roster.PermRolesManage)
	if err != nil {
		return nil, err
	}
	if companyID == 0 {
		companyID = a.Company.ID
	}
	if _, err := s.app.d.Companies.CompanyByID(ctx, a.Scope, companyID); err != nil {
		return nil, err
	}
	if upd.CallStatistics != nil && !a.MainAdmin {
		// Call statistics follow the company's plan (U13), which only the
		// Main administrator sets.
		return nil, roster.Errorf(roster.EFORBIDDEN, "Call statistics come with the Professional and Pro Plus plans; only the Main administrator changes them.")
	}
	var v roster.Validation
	tokens := []struct {
		field string
		val   **string
	}{{"telegram_bot_token", &upd.TelegramBotToken}, {"slack_token", &upd.SlackToken}}
	for _, t := range tokens {
		if *t.val != nil {
			token := strings.TrimSpace(**t.val)
			roster.ValidateText(&v, t.field, token, 500)
			*t.val = &token
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	for _, t := range tokens {
		if *t.val == nil || **t.val == "" {
			continue
		}
		sealed, err := s.sealToken(ctx, **t.val)
		if err != nil {
			return nil, err
		}
		*t.val = &sealed
	}
	return s.app.d.Ops.UpdateCompanyOperations(ctx, a.Scope, companyID, upd)
}

// sealToken encrypts a notification token with the key the sender opens it with.
func (s *Operations) sealToken(ctx context.Context, token string) (string, error) {
	key, err := notify.TokenKey(ctx, s.app.d.SecretKey, s.app.d.Platform)
	if err != nil {
		return "", err
	}
	return secure.Encrypt(key, []byte(token))
}
