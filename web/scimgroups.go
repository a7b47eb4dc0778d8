package web

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/roster-app/roster"
	filter "github.com/scim2/filter-parser/v2"
)

// SCIM Groups are the company's roles (the Main administrator's excepted):
// a group's members are the users holding the role. Membership changes
// are role assignments through app.Users.BulkInTurn (remove_role, then
// add_role, in one transaction): the same no-escalation rules, all or
// nothing, an event per user. Roles themselves — their names and permissions — are made in
// Roster: creating, renaming or deleting a group through SCIM is refused.

// scimGroupState is a role with its members, as SCIM sees it.
type scimGroupState struct {
	role    *roster.Role
	members []*roster.User
}

func (g *scimGroupState) memberIDs() []int64 {
	ids := make([]int64, 0, len(g.members))
	for _, m := range g.members {
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	return ids
}

// version is the group's ETag: it changes with the name and the members.
func (g *scimGroupState) version() string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%d|%s|%v", g.role.ID, g.role.Name, g.memberIDs()))
	return fmt.Sprintf(`W/"%x"`, sum[:8])
}

func (s *Server) scimGroup(r *http.Request, g *scimGroupState) map[string]any {
	id := strconv.FormatInt(g.role.ID, 10)
	ms := []any{}
	for _, m := range g.members {
		ms = append(ms, map[string]any{"value": strconv.FormatInt(m.ID, 10), "display": m.DisplayName(),
			"$ref": s.scimBaseURL(r) + "/Users/" + strconv.FormatInt(m.ID, 10)})
	}
	return normalized(map[string]any{"schemas": []any{scimGroupSchema}, "id": id, "displayName": g.role.Name, "members": ms,
		"meta": map[string]any{"resourceType": "Group", "version": g.version(), "location": s.scimBaseURL(r) + "/Groups/" + id}})
}

// scimGroups returns the company's groups with their members, and the
// company's users by ID.
func (s *Server) scimGroups(r *http.Request) ([]*scimGroupState, map[int64]*roster.User, error) {
	a := actorOf(r)
	roles, err := s.App.Roles.List(r.Context(), a.Company.ID)
	if err != nil {
		return nil, nil, err
	}
	users, err := s.scimCompanyUsers(r, roster.UserFilter{})
	if err != nil {
		return nil, nil, err
	}
	byID := make(map[int64]*roster.User, len(users))
	for _, u := range users {
		byID[u.ID] = u
	}
	var out []*scimGroupState
	for _, role := range roles {
		if role.Key == roster.RoleMainAdmin {
			continue
		}
		g := &scimGroupState{role: role}
		for _, u := range users {
			if slices.ContainsFunc(u.Roles, func(ref roster.RoleRef) bool { return ref.ID == role.ID }) {
				g.members = append(g.members, u)
			}
		}
		out = append(out, g)
	}
	return out, byID, nil
}

func (s *Server) scimGroupList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var expr filter.Expression
	if q.Has("filter") {
		var err error
		if expr, err = ParseSCIMFilter(q.Get("filter")); err != nil {
			return err
		}
	}
	groups, _, err := s.scimGroups(r)
	if err != nil {
		return err
	}
	var matched []map[string]any
	for _, g := range groups {
		if res := s.scimGroup(r, g); expr == nil || MatchSCIMFilter(expr, res) {
			matched = append(matched, res)
		}
	}
	start, count, err := scimPaging(q)
	if err != nil {
		return err
	}
	return writeSCIMPage(w, q, matched, start, count)
}

// scimGroupTarget finds the group of the path's id, checking If-Match.
func (s *Server) scimGroupTarget(r *http.Request) (*scimGroupState, map[int64]*roster.User, error) {
	id, err := scimID(r)
	if err != nil {
		return nil, nil, err
	}
	groups, users, err := s.scimGroups(r)
	if err != nil {
		return nil, nil, err
	}
	for _, g := range groups {
		if g.role.ID != id {
			continue
		}
		if m := r.Header.Get("If-Match"); m != "" && m != "*" && !strings.Contains(m, g.version()) {
			return nil, nil, &scimError{http.StatusPreconditionFailed, "", "The group changed since you read it (If-Match does not match meta.version)."}
		}
		return g, users, nil
	}
	return nil, nil, &scimError{http.StatusNotFound, "", "No such group."}
}

func (s *Server) scimGroupGet(w http.ResponseWriter, r *http.Request) error {
	g, _, err := s.scimGroupTarget(r)
	if err != nil {
		return err
	}
	return s.writeSCIMGroup(w, r, g)
}

func (s *Server) writeSCIMGroup(w http.ResponseWriter, r *http.Request, g *scimGroupState) error {
	w.Header().Set("ETag", g.version())
	q := r.URL.Query()
	writeSCIM(w, http.StatusOK, project(s.scimGroup(r, g), q.Get("attributes"), q.Get("excludedAttributes")))
	return nil
}

// errGroupsManagedInRoster refuses creating and deleting groups.
var errGroupsManagedInRoster = &scimError{http.StatusForbidden, "",
	"Groups are Roster roles, which are created and deleted in Roster (Roles). Create the role there, then push the group: it links by displayName."}

func (s *Server) scimGroupCreate(w http.ResponseWriter, r *http.Request) error {
	return errGroupsManagedInRoster
}

func (s *Server) scimGroupDelete(w http.ResponseWriter, r *http.Request) error {
	if _, _, err := s.scimGroupTarget(r); err != nil {
		return err
	}
	return errGroupsManagedInRoster
}

func (s *Server) scimGroupPut(w http.ResponseWriter, r *http.Request) error {
	g, users, err := s.scimGroupTarget(r)
	if err != nil {
		return err
	}
	var res map[string]any
	if err := decodeSCIM(r, &res); err != nil {
		return err
	}
	return s.scimGroupChange(w, r, g, users, normalized(res))
}

func (s *Server) scimGroupPatch(w http.ResponseWriter, r *http.Request) error {
	g, users, err := s.scimGroupTarget(r)
	if err != nil {
		return err
	}
	var req scimPatchRequest
	if err := decodeSCIM(r, &req); err != nil {
		return err
	}
	if len(req.Operations) == 0 {
		return scimBad("invalidValue", "A PATCH needs Operations.")
	}
	res := s.scimGroup(r, g)
	for _, op := range req.Operations {
		o, v := strings.ToLower(op.Op), normalizedValue(op.Value)
		// Entra ID removes members with a path and a list of values,
		// which RFC 7644 leaves to value filters.
		if o == "remove" && strings.EqualFold(strings.TrimSpace(op.Path), "members") && v != nil {
			if err := removeMembers(res, v); err != nil {
				return err
			}
			continue
		}
		if err := ApplySCIMPatch(res, o, op.Path, v); err != nil {
			return err
		}
	}
	return s.scimGroupChange(w, r, g, users, res)
}

// removeMembers drops the members whose value is listed in v.
func removeMembers(res map[string]any, v any) error {
	drop := map[string]bool{}
	for _, el := range asList(v) {
		m, ok := el.(map[string]any)
		id, _ := lookup(m, "value").(string)
		if !ok || id == "" {
			return scimBad("invalidValue", "members to remove are objects with a value.")
		}
		drop[id] = true
	}
	key := keyOf(res, "members")
	var kept []any
	for _, el := range asList(res[key]) {
		if m, ok := el.(map[string]any); ok && drop[fmt.Sprint(lookup(m, "value"))] {
			continue
		}
		kept = append(kept, el)
	}
	res[key] = kept
	return nil
}

// scimGroupChange makes the group's members those of res: removals, then
// additions, in one all-or-nothing transaction (app.Users.BulkInTurn), so
// any refusal — an unknown member, the last role of a user, a role the
// token may not grant, a user it may not manage — changes nothing.
func (s *Server) scimGroupChange(w http.ResponseWriter, r *http.Request, g *scimGroupState, users map[int64]*roster.User, res map[string]any) error {
	if name, ok := lookup(res, "displayName").(string); ok && name != g.role.Name {
		return scimBad("mutability", "A group's displayName is its Roster role's name, which changes only in Roster.")
	}
	want := map[int64]bool{}
	for _, el := range asList(lookup(res, "members")) {
		m, ok := el.(map[string]any)
		if !ok {
			return scimBad("invalidValue", "members holds objects with a value.")
		}
		raw := fmt.Sprint(lookup(m, "value"))
		if n, isNum := lookup(m, "value").(float64); isNum {
			raw = strconv.FormatFloat(n, 'f', -1, 64)
		}
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || users[id] == nil {
			return scimBad("invalidValue", "members: %q is not the id of a user of this company.", raw)
		}
		want[id] = true
	}
	var add, remove []int64
	for id := range want {
		if !slices.ContainsFunc(g.members, func(u *roster.User) bool { return u.ID == id }) {
			add = append(add, id)
		}
	}
	for _, u := range g.members {
		if !want[u.ID] {
			remove = append(remove, u.ID)
		}
	}
	slices.Sort(add)
	var last []string
	for _, id := range remove {
		if len(users[id].Roles) == 1 {
			last = append(last, fmt.Sprintf("user %d: this is the user's only role; give them another first.", id))
		}
	}
	if len(last) > 0 {
		return scimBad("mutability", "Nothing was changed. %s", strings.Join(last, " "))
	}
	comment := fmt.Sprintf("Group membership changed by SCIM provisioning (%s).", actorOf(r).Name())
	var steps []roster.BulkAction
	for _, step := range []struct {
		action string
		ids    []int64
	}{{roster.BulkRemoveRole, remove}, {roster.BulkAddRole, add}} {
		if len(step.ids) > 0 {
			steps = append(steps, roster.BulkAction{Action: step.action, UserIDs: step.ids, RoleID: g.role.ID, Comment: comment})
		}
	}
	if _, err := s.App.Users.BulkInTurn(r.Context(), steps...); err != nil {
		return scimRefusals(err)
	}
	changed, _, err := s.scimGroupTargetByID(r, g.role.ID)
	if err != nil {
		return err
	}
	return s.writeSCIMGroup(w, r, changed)
}

func (s *Server) scimGroupTargetByID(r *http.Request, id int64) (*scimGroupState, map[int64]*roster.User, error) {
	groups, users, err := s.scimGroups(r)
	if err != nil {
		return nil, nil, err
	}
	for _, g := range groups {
		if g.role.ID == id {
			return g, users, nil
		}
	}
	return nil, nil, &scimError{http.StatusNotFound, "", "No such group."}
}

// scimRefusals turns a bulk action's per-user refusals into a SCIM error
// naming them: 403 when the token may not (a role it may not grant, a
// user it may not manage), else 400 mutability (such as a last role).
func scimRefusals(err error) error {
	var re *roster.Error
	if !errors.As(err, &re) || len(re.Refusals) == 0 {
		return err
	}
	var parts []string
	forbidden := false
	for _, f := range re.Refusals {
		parts = append(parts, fmt.Sprintf("user %d: %s", f.UserID, f.Message))
		forbidden = forbidden || f.Code == "forbidden"
	}
	se := scimBad("mutability", "Nothing was changed. %s", strings.Join(parts, " "))
	if forbidden {
		se.Status, se.SCIMType = http.StatusForbidden, ""
	}
	return se
}

// scimPaging reads startIndex (from 1) and count (at most scimMaxCount).
func scimPaging(q interface{ Get(string) string }) (start, count int, err error) {
	start, count = 1, scimMaxCount
	if v := q.Get("startIndex"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, 0, scimBad("invalidValue", "startIndex is a number.")
		}
		start = max(n, 1)
	}
	if v := q.Get("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, 0, scimBad("invalidValue", "count is a number.")
		}
		count = min(max(n, 0), scimMaxCount)
	}
	return start, count, nil
}
