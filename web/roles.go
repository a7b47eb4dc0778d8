package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/roster-app/roster"
)

// roleCompany resolves the company_id query parameter (default: the
// actor's company); a company out of scope is not found.
func (s *Server) roleCompany(r *http.Request, q *queryParams) (int64, error) {
	a := actorOf(r)
	id := q.id("company_id")
	if err := q.err(); err != nil {
		return 0, err
	}
	if id == nil {
		return a.Company.ID, nil
	}
	c, err := s.Companies.CompanyByID(r.Context(), a.Scope, *id)
	if err != nil {
		return 0, err
	}
	return c.ID, nil
}

// handleRoleList lists the system roles and a company's roles.
func (s *Server) handleRoleList(w http.ResponseWriter, r *http.Request) error {
	companyID, err := s.roleCompany(r, newQuery(r, "company_id"))
	if err != nil {
		return err
	}
	roles, err := s.Roles.Roles(r.Context(), companyID)
	if err != nil {
		return err
	}
	if roles == nil {
		roles = []*roster.Role{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": roles})
}

// roleRequest is the body of POST /api/v1/roles and PATCH /api/v1/roles/{id}.
type roleRequest struct {
	Name        *string              `json:"name"`
	Key         *string              `json:"key"`
	Permissions *[]roster.Permission `json:"permissions"`
	CompanyID   *int64               `json:"company_id"`
}

// checkOwnPermissions refuses granting permissions the actor lacks (U7).
func checkOwnPermissions(a *roster.Actor, ps []roster.Permission) error {
	for _, p := range ps {
		if !a.Can(p) {
			return roster.Errorf(roster.EFORBIDDEN, "You cannot give a role the %s permission: you do not have it.", p)
		}
	}
	return nil
}

// handleRoleCreate creates a custom role; its key comes from the name
// unless given.
func (s *Server) handleRoleCreate(w http.ResponseWriter, r *http.Request) error {
	var req roleRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	a, ctx := actorOf(r), r.Context()
	companyID, err := s.companyIn(ctx, a, req.CompanyID)
	if err != nil {
		return err
	}
	role := &roster.Role{CompanyID: &companyID}
	var v roster.Validation
	if req.Name != nil {
		role.Name = strings.TrimSpace(*req.Name)
	}
	roster.ValidateRoleName(&v, "name", role.Name)
	if req.Key != nil {
		role.Key = strings.TrimSpace(*req.Key)
	} else {
		role.Key = roster.RoleKeyFromName(role.Name)
	}
	roster.ValidateRoleKey(&v, "key", role.Key)
	if role.Key == roster.RoleMainAdmin || role.Key == roster.RoleCompanyAdmin {
		v.Add("key", "reserved", "This key belongs to a system role.")
	}
	role.Permissions = []roster.Permission{}
	if req.Permissions != nil {
		role.Permissions = *req.Permissions
	}
	roster.ValidatePermissions(&v, "permissions", role.Permissions)
	if err := v.Err(); err != nil {
		return err
	}
	if err := checkOwnPermissions(a, role.Permissions); err != nil {
		return err
	}
	if err := s.Roles.CreateRole(ctx, role); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, role)
}

// handleRoleGet shows one role.
func (s *Server) handleRoleGet(w http.ResponseWriter, r *http.Request) error {
	return getByID(w, r, s.Roles.RoleByID)
}

// handleRolePatch renames a role or replaces its permissions.
func (s *Server) handleRolePatch(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	a, ctx := actorOf(r), r.Context()
	role, err := s.Roles.RoleByID(ctx, a.Scope, id)
	if err != nil {
		return err
	}
	if role.System {
		return roster.Errorf(roster.EFORBIDDEN, "%s is a system role and cannot be changed.", role.Name)
	}
	var req roleRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var v roster.Validation
	if req.Key != nil {
		v.Add("key", "immutable", "A role's key never changes.")
	}
	if req.CompanyID != nil {
		v.Add("company_id", "immutable", "A role stays in its company.")
	}
	upd := roster.RoleUpdate{Permissions: req.Permissions}
	if req.Name != nil {
		name := strings.TrimSpace(*req.Name)
		upd.Name = &name
		roster.ValidateRoleName(&v, "name", name)
	}
	if req.Permissions != nil {
		roster.ValidatePermissions(&v, "permissions", *req.Permissions)
	}
	if err := v.Err(); err != nil {
		return err
	}
	if req.Permissions != nil {
		if err := checkOwnPermissions(a, diffPermissions(role.Permissions, *req.Permissions)); err != nil {
			return err
		}
	}
	role, err = s.Roles.UpdateRole(ctx, a.Scope, id, upd)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, role)
}

// diffPermissions returns the permissions added or removed between two lists.
func diffPermissions(old, new []roster.Permission) []roster.Permission {
	o, n := roster.NewPermissionSet(old...), roster.NewPermissionSet(new...)
	var out []roster.Permission
	for p := range n {
		if !o[p] {
			out = append(out, p)
		}
	}
	for p := range o {
		if !n[p] {
			out = append(out, p)
		}
	}
	return out
}

// handleRoleDelete deletes a custom role; with force=true even while users
// hold it.
func (s *Server) handleRoleDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	q := newQuery(r, "force")
	force := q.boolean("force")
	if err := q.err(); err != nil {
		return err
	}
	a, ctx := actorOf(r), r.Context()
	role, err := s.Roles.RoleByID(ctx, a.Scope, id)
	if err != nil {
		return err
	}
	if role.System {
		return roster.Errorf(roster.EFORBIDDEN, "%s is a system role and cannot be deleted.", role.Name)
	}
	if err := checkOwnPermissions(a, role.Permissions); err != nil {
		return err
	}
	if err := s.Roles.DeleteRole(ctx, a.Scope, id, force); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// roleFile is the export and import document.
type roleFile struct {
	Roles []roster.RoleExport `json:"roles"`
}

// handleRoleExport exports a company's custom roles with their permissions (R2).
func (s *Server) handleRoleExport(w http.ResponseWriter, r *http.Request) error {
	companyID, err := s.roleCompany(r, newQuery(r, "company_id"))
	if err != nil {
		return err
	}
	roles, err := s.Roles.Roles(r.Context(), companyID)
	if err != nil {
		return err
	}
	out := roleFile{Roles: []roster.RoleExport{}}
	for _, role := range roles {
		if !role.System {
			out.Roles = append(out.Roles, roster.RoleExport{Key: role.Key, Name: role.Name, Permissions: role.Permissions})
		}
	}
	w.Header().Set("Content-Disposition", `attachment; filename="roles.json"`)
	return writeJSON(w, http.StatusOK, out)
}

// handleRoleImport creates or updates custom roles by key from an export
// file; dry_run=true only previews the changes.
func (s *Server) handleRoleImport(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "company_id", "dry_run")
	dryRun := q.boolean("dry_run")
	companyID, err := s.roleCompany(r, q)
	if err != nil {
		return err
	}
	var file roleFile
	if err := decodeJSON(r, &file); err != nil {
		return err
	}
	a := actorOf(r)
	var v roster.Validation
	if file.Roles == nil {
		v.Add("roles", "required", "Give a list of roles.")
	}
	seen := map[string]bool{}
	for i, role := range file.Roles {
		f := fmt.Sprintf("roles[%d].", i)
		roster.ValidateRoleKey(&v, f+"key", role.Key)
		if role.Key == roster.RoleMainAdmin || role.Key == roster.RoleCompanyAdmin {
			v.Add(f+"key", "reserved", "System roles cannot be imported.")
		}
		if seen[role.Key] {
			v.Add(f+"key", "duplicate", "This key appears twice in the file.")
		}
		seen[role.Key] = true
		roster.ValidateRoleName(&v, f+"name", role.Name)
		roster.ValidatePermissions(&v, f+"permissions", role.Permissions)
		file.Roles[i].Name = strings.TrimSpace(role.Name)
		if file.Roles[i].Permissions == nil {
			file.Roles[i].Permissions = []roster.Permission{}
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	for _, role := range file.Roles {
		if err := checkOwnPermissions(a, role.Permissions); err != nil {
			return err
		}
	}
	changes, err := s.Roles.ImportRoles(r.Context(), companyID, file.Roles, dryRun)
	if err != nil {
		return err
	}
	if changes == nil {
		changes = []roster.RoleImportChange{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"dry_run": dryRun, "changes": changes})
}

// handleRoleUsers lists the users holding a role.
func (s *Server) handleRoleUsers(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	a, ctx := actorOf(r), r.Context()
	if _, err := s.Roles.RoleByID(ctx, a.Scope, id); err != nil {
		return err
	}
	q := newQuery(r, "q", "status", "sort", "limit", "cursor")
	f := roster.UserFilter{Query: q.str("q"), Status: roster.UserStatus(q.str("status")),
		Sort: q.str("sort"), Limit: q.limit(), Cursor: q.str("cursor")}
	if err := q.err(); err != nil {
		return err
	}
	if err := f.Validate(); err != nil {
		return err
	}
	page, err := s.Roles.RoleUsers(ctx, a.Scope, id, f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, nonNilPage(page))
}

// handlePermissions returns the permission catalog.
func (s *Server) handlePermissions(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]any{"items": roster.Catalog})
}
