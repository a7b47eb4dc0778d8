package web

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
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

// A group's members are read per role, never the whole company: their
// IDs always (the version is made of them), the users themselves — for
// their display names — only when the answer names the members. A group
// of more than Deps.SCIMMaxScan members is read with
// excludedAttributes=members (as Entra ID and Okta do) and changed by
// PATCH, which needs only the IDs.

// scimMaxMemberIDs bounds the member IDs one group reads.
const scimMaxMemberIDs = 5_000_000

// scimGroupState is a role with its members, as SCIM sees it.
type scimGroupState struct {
	role *roster.Role
	ids  []int64 // the members' IDs, ascending
	// members are the users of ids, when they were read (withUsers).
	members map[int64]*roster.User
}

// version is the group's ETag: it changes with the name and the members.
func (g *scimGroupState) version() string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%d|%s|%v", g.role.ID, g.role.Name, g.ids))
	return fmt.Sprintf(`W/"%x"`, sum[:8])
}

func (s *Server) scimGroup(r *http.Request, g *scimGroupState) map[string]any {
	id := strconv.FormatInt(g.role.ID, 10)
	base := s.scimBaseURL(r)
	ms := make([]any, 0, len(g.ids))
	for _, mid := range g.ids {
		m := map[string]any{"value": strconv.FormatInt(mid, 10), "$ref": base + "/Users/" + strconv.FormatInt(mid, 10)}
		if u := g.members[mid]; u != nil {
			m["display"] = u.DisplayName()
		}
		ms = append(ms, m)
	}
	return normalized(map[string]any{"schemas": []any{scimGroupSchema}, "id": id, "displayName": g.role.Name, "members": ms,
		"meta": map[string]any{"resourceType": "Group", "version": g.version(), "location": base + "/Groups/" + id}})
}

// groupTooBig refuses naming the members of a very big group.
func (s *Server) groupTooBig() *scimError {
	return scimBad("tooMany", "The group has more than %d members; read it with excludedAttributes=members and change it with PATCH.", s.SCIMMaxScan)
}

// isTooMany tells a 400 tooMany.
func isTooMany(err error) bool {
	var se *scimError
	return errors.As(err, &se) && se.SCIMType == "tooMany"
}

// scimLoadGroup reads role's members: their IDs, and with withUsers the
// users themselves.
func (s *Server) scimLoadGroup(r *http.Request, role *roster.Role, withUsers bool) (*scimGroupState, error) {
	cid, rid := actorOf(r).Company.ID, role.ID
	f := roster.UserFilter{CompanyID: &cid, RoleID: &rid}
	g := &scimGroupState{role: role}
	if withUsers {
		users, err := s.scimCompanyUsers(r, f, s.groupTooBig().Detail)
		if err != nil {
			return nil, err
		}
		g.members = make(map[int64]*roster.User, len(users))
		for _, u := range users {
			g.members[u.ID] = u
			g.ids = append(g.ids, u.ID)
		}
		slices.Sort(g.ids)
		return g, nil
	}
	ids, err := s.App.Users.IDs(r.Context(), f, scimMaxMemberIDs)
	if err != nil {
		return nil, err
	}
	if len(ids) > scimMaxMemberIDs {
		return nil, s.groupTooBig()
	}
	g.ids = ids
	return g, nil
}

// scimRoles returns the company's roles that are groups: all but the
// Main administrator's.
func (s *Server) scimRoles(r *http.Request) ([]*roster.Role, error) {
	roles, err := s.App.Roles.List(r.Context(), actorOf(r).Company.ID)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(roles, func(role *roster.Role) bool { return role.Key == roster.RoleMainAdmin }), nil
}

// namesMembers tells whether an answer shaped by the query's attributes
// and excludedAttributes names the members, or its filter asks for their
// display names: then the members are read with the users.
func namesMembers(q url.Values) bool {
	if displayFilter.MatchString(q.Get("filter")) {
		return true
	}
	has := func(param string) bool {
		return slices.ContainsFunc(attributeList(q.Get(param)), func(a string) bool {
			return strings.EqualFold(a, "members") || strings.EqualFold(a, "members.display")
		})
	}
	if q.Get("attributes") != "" {
		return has("attributes")
	}
	return !has("excludedAttributes")
}

var (
	displayFilter = regexp.MustCompile(`(?i)members(\.|\[[^\]]*)display`)
	// membersOrMeta finds a filter that needs the members read first.
	membersOrMeta = regexp.MustCompile(`(?i)members|meta`)
)

func (s *Server) scimGroupList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var expr filter.Expression
	if q.Has("filter") {
		var err error
		if expr, err = ParseSCIMFilter(q.Get("filter")); err != nil {
			return err
		}
	}
	start, count, err := scimPaging(q)
	if err != nil {
		return err
	}
	roles, err := s.scimRoles(r)
	if err != nil {
		return err
	}
	// A filter on neither the members nor meta (displayName eq, as
	// identity providers send) picks the roles before any member is read.
	early := expr != nil && !membersOrMeta.MatchString(q.Get("filter"))
	withUsers := namesMembers(q)
	var matched []map[string]any
	for _, role := range roles {
		if early && !MatchSCIMFilter(expr, s.scimGroup(r, &scimGroupState{role: role})) {
			continue
		}
		g, err := s.scimLoadGroup(r, role, withUsers)
		if err != nil {
			return err
		}
		if res := s.scimGroup(r, g); expr == nil || MatchSCIMFilter(expr, res) {
			matched = append(matched, res)
		}
	}
	return writeSCIMPage(w, q, matched, start, count)
}

// scimGroupTarget finds the group of the path's id, checking If-Match.
func (s *Server) scimGroupTarget(r *http.Request, withUsers bool) (*scimGroupState, error) {
	id, err := scimID(r)
	if err != nil {
		return nil, err
	}
	g, err := s.scimGroupByID(r, id, withUsers)
	if err != nil {
		return nil, err
	}
	if m := r.Header.Get("If-Match"); m != "" && m != "*" && !strings.Contains(m, g.version()) {
		return nil, &scimError{http.StatusPreconditionFailed, "", "The group changed since you read it (If-Match does not match meta.version)."}
	}
	return g, nil
}

func (s *Server) scimGroupByID(r *http.Request, id int64, withUsers bool) (*scimGroupState, error) {
	roles, err := s.scimRoles(r)
	if err != nil {
		return nil, err
	}
	for _, role := range roles {
		if role.ID == id {
			return s.scimLoadGroup(r, role, withUsers)
		}
	}
	return nil, &scimError{http.StatusNotFound, "", "No such group."}
}

func (s *Server) scimGroupGet(w http.ResponseWriter, r *http.Request) error {
	g, err := s.scimGroupTarget(r, namesMembers(r.URL.Query()))
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
	if _, err := s.scimGroupTarget(r, false); err != nil {
		return err
	}
	return errGroupsManagedInRoster
}

func (s *Server) scimGroupPut(w http.ResponseWriter, r *http.Request) error {
	g, err := s.scimGroupTarget(r, false)
	if err != nil {
		return err
	}
	var res map[string]any
	if err := decodeSCIM(r, &res); err != nil {
		return err
	}
	return s.scimGroupChange(w, r, g, normalized(res))
}

// scimGroupPatch applies the operations to the group as its members'
// values (IDs): a value filter in a path (members[value eq "7"]) sees
// value, not display.
func (s *Server) scimGroupPatch(w http.ResponseWriter, r *http.Request) error {
	g, err := s.scimGroupTarget(r, false)
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
	return s.scimGroupChange(w, r, g, res)
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
// token may not grant, a user it may not manage — changes nothing. Only
// the users added are looked up; a change adds or removes at most
// roster.MaxBulkUsers members.
func (s *Server) scimGroupChange(w http.ResponseWriter, r *http.Request, g *scimGroupState, res map[string]any) error {
	if name, ok := lookup(res, "displayName").(string); ok && name != g.role.Name {
		return scimBad("mutability", "A group's displayName is its Roster role's name, which changes only in Roster.")
	}
	want := map[int64]string{}
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
		if err != nil || id < 1 {
			return scimBad("invalidValue", "members: %q is not the id of a user of this company.", raw)
		}
		want[id] = raw
	}
	var add, remove []int64
	for id := range want {
		if _, member := slices.BinarySearch(g.ids, id); !member {
			add = append(add, id)
		}
	}
	for _, id := range g.ids {
		if _, ok := want[id]; !ok {
			remove = append(remove, id)
		}
	}
	if max(len(add), len(remove)) > roster.MaxBulkUsers {
		return scimBad("invalidValue", "One change adds or removes at most %d members; send it in parts.", roster.MaxBulkUsers)
	}
	slices.Sort(add)
	if err := s.scimCompanyHas(r, add, want); err != nil {
		return err
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
	changed, err := s.scimGroupByID(r, g.role.ID, namesMembers(r.URL.Query()))
	if isTooMany(err) {
		// RFC 7644 3.5.2 lets a change answer 204: the group is too big
		// to name its members.
		if changed, err = s.scimGroupByID(r, g.role.ID, false); err == nil {
			w.Header().Set("ETag", changed.version())
			w.WriteHeader(http.StatusNoContent)
		}
		return err
	}
	if err != nil {
		return err
	}
	return s.writeSCIMGroup(w, r, changed)
}

// scimCompanyHas checks that every ID of ids (ascending) is a user of the
// token's company, naming the first that is not by its value in raw.
func (s *Server) scimCompanyHas(r *http.Request, ids []int64, raw map[int64]string) error {
	cid := actorOf(r).Company.ID
	for chunk := range slices.Chunk(ids, 1000) {
		found, err := s.App.Users.IDs(r.Context(), roster.UserFilter{CompanyID: &cid, IDs: chunk}, len(chunk))
		if err != nil {
			return err
		}
		for _, id := range chunk {
			if _, ok := slices.BinarySearch(found, id); !ok {
				return scimBad("invalidValue", "members: %q is not the id of a user of this company.", raw[id])
			}
		}
	}
	return nil
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
