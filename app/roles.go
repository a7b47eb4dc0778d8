package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/roster-app/roster"
)

// Roles are the workflows on roles (SPEC R1, R2): a company's custom roles
// are created, renamed, given permissions, deleted, exported and imported;
// the system roles are read-only. Nobody gives a role a permission they do
// not hold themselves, nor takes one away (U7's rule, for roles).
type Roles struct{ app *App }

// NewRole is a custom role to create.
type NewRole struct {
	// CompanyID is the role's company; 0 means the actor's own.
	CompanyID int64
	Name      string
	// Key is the role's stable key; empty means derived from the name.
	Key         string
	Permissions []roster.Permission
}

// List returns the system roles and the roles of a company in scope (0:
// the actor's own), with their holders' numbers.
func (s *Roles) List(ctx context.Context, companyID int64) ([]*roster.Role, error) {
	a, err := actor(ctx, "")
	if err != nil {
		return nil, err
	}
	if !a.Can(roster.PermRolesView) && !a.Can(roster.PermUsersView) {
		return nil, roster.Errorf(roster.EFORBIDDEN, "You do not have permission for this action (needs roles.view or users.view).")
	}
	if err := s.app.companyIn(ctx, a, &companyID); err != nil {
		return nil, err
	}
	roles, err := s.app.d.Roles.Roles(ctx, companyID)
	if roles == nil {
		roles = []*roster.Role{}
	}
	return roles, err
}

// Create creates a custom role.
func (s *Roles) Create(ctx context.Context, n NewRole) (*roster.Role, error) {
	a, err := actor(ctx, roster.PermRolesManage)
	if err != nil {
		return nil, err
	}
	cerr := s.app.companyIn(ctx, a, &n.CompanyID)
	role := &roster.Role{CompanyID: &n.CompanyID, Name: strings.TrimSpace(n.Name), Key: strings.TrimSpace(n.Key),
		Permissions: n.Permissions}
	if role.Key == "" {
		role.Key = roster.RoleKeyFromName(role.Name)
	}
	if role.Permissions == nil {
		role.Permissions = []roster.Permission{}
	}
	var v roster.Validation
	roster.ValidateRoleName(&v, "name", role.Name)
	roster.ValidateRoleKey(&v, "key", role.Key)
	if role.Key == roster.RoleMainAdmin || role.Key == roster.RoleCompanyAdmin {
		v.Add("key", "reserved", "This key belongs to a system role.")
	}
	roster.ValidatePermissions(&v, "permissions", role.Permissions)
	if err := merge(cerr, v.Err()); err != nil {
		return nil, err
	}
	if err := ownPermissions(a, role.Permissions); err != nil {
		return nil, err
	}
	if err := s.app.d.Roles.CreateRole(ctx, role); err != nil {
		return nil, err
	}
	return role, nil
}

// ownPermissions refuses giving or taking permissions the actor lacks.
func ownPermissions(a *roster.Actor, ps []roster.Permission) error {
	for _, p := range ps {
		if !a.Can(p) {
			return roster.Errorf(roster.EFORBIDDEN, "You cannot give a role the %s permission or take it away: you do not have it.", p)
		}
	}
	return nil
}

// editable returns a custom role in the actor's scope.
func (s *Roles) editable(ctx context.Context, a *roster.Actor, id int64, what string) (*roster.Role, error) {
	role, err := s.app.d.Roles.RoleByID(ctx, a.Scope, id)
	if err != nil {
		return nil, err
	}
	if role.System {
		return nil, roster.Errorf(roster.EFORBIDDEN, "%s is a system role and cannot be %s.", role.Name, what)
	}
	return role, nil
}

// Update renames a custom role or replaces its permissions; its key and
// company never change.
func (s *Roles) Update(ctx context.Context, id int64, upd roster.RoleUpdate) (*roster.Role, error) {
	a, err := actor(ctx, roster.PermRolesManage)
	if err != nil {
		return nil, err
	}
	role, err := s.editable(ctx, a, id, "changed")
	if err != nil {
		return nil, err
	}
	if err := upd.Validate(); err != nil {
		return nil, err
	}
	if upd.Permissions != nil {
		if err := ownPermissions(a, changedPermissions(role.Permissions, *upd.Permissions)); err != nil {
			return nil, err
		}
	}
	return s.app.d.Roles.UpdateRole(ctx, a.Scope, id, upd)
}

// SetPermissions replaces the permissions of several roles at once (the
// matrix), all or nothing; system roles and unchanged roles are skipped.
func (s *Roles) SetPermissions(ctx context.Context, perms map[int64][]roster.Permission) ([]*roster.Role, error) {
	a, err := actor(ctx, roster.PermRolesManage)
	if err != nil {
		return nil, err
	}
	changes := map[int64][]roster.Permission{}
	var v roster.Validation
	for id, ps := range perms {
		role, err := s.app.d.Roles.RoleByID(ctx, a.Scope, id)
		if err != nil {
			return nil, err
		}
		if role.System || roster.NewPermissionSet(ps...).Equal(roster.NewPermissionSet(role.Permissions...)) {
			continue
		}
		roster.ValidatePermissions(&v, "permissions", ps)
		if err := ownPermissions(a, changedPermissions(role.Permissions, ps)); err != nil {
			return nil, err
		}
		changes[id] = ps
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if len(changes) == 0 {
		return []*roster.Role{}, nil
	}
	return s.app.d.Roles.UpdateRolePermissions(ctx, a.Scope, changes)
}

// changedPermissions lists the permissions in one list and not the other.
func changedPermissions(old, new []roster.Permission) []roster.Permission {
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

// Delete deletes a custom role; while users hold it, only with force,
// which first takes it from them (a user left without a role is refused).
func (s *Roles) Delete(ctx context.Context, id int64, force bool) error {
	a, err := actor(ctx, roster.PermRolesManage)
	if err != nil {
		return err
	}
	role, err := s.editable(ctx, a, id, "deleted")
	if err != nil {
		return err
	}
	if err := ownPermissions(a, role.Permissions); err != nil {
		return err
	}
	return s.app.d.Roles.DeleteRole(ctx, a.Scope, id, force)
}

// RoleFile is the roles export (R2): every role of a company, the system
// roles marked, which an import leaves untouched.
type RoleFile struct {
	Roles []RoleFileEntry `json:"roles"`
}

// RoleFileEntry is one role of an export file.
type RoleFileEntry struct {
	Key         string              `json:"key"`
	Name        string              `json:"name"`
	System      bool                `json:"system"`
	Permissions []roster.Permission `json:"permissions"`
}

// Export returns the roles of a company in scope (0: the actor's own), for
// those who manage roles.
func (s *Roles) Export(ctx context.Context, companyID int64) (*RoleFile, error) {
	if _, err := actor(ctx, roster.PermRolesManage); err != nil {
		return nil, err
	}
	roles, err := s.List(ctx, companyID)
	if err != nil {
		return nil, err
	}
	out := &RoleFile{Roles: []RoleFileEntry{}}
	for _, r := range roles {
		out.Roles = append(out.Roles, RoleFileEntry{Key: r.Key, Name: r.Name, System: r.System, Permissions: r.Permissions})
	}
	return out, nil
}

// Import creates or updates a company's custom roles from an export file,
// matched by key, and reports what changed (or, with dryRun, what would).
// System roles in the file are left as they are.
func (s *Roles) Import(ctx context.Context, companyID int64, file RoleFile, dryRun bool) ([]roster.RoleImportChange, error) {
	a, err := actor(ctx, roster.PermRolesManage)
	if err != nil {
		return nil, err
	}
	cerr := s.app.companyIn(ctx, a, &companyID)
	var v roster.Validation
	if file.Roles == nil {
		v.Add("roles", "required", "Give a list of roles.")
	}
	seen := map[string]bool{}
	var roles []roster.RoleExport
	for i, r := range file.Roles {
		f := fmt.Sprintf("roles[%d].", i)
		if r.System || r.Key == roster.RoleMainAdmin || r.Key == roster.RoleCompanyAdmin {
			continue
		}
		roster.ValidateRoleKey(&v, f+"key", r.Key)
		if seen[r.Key] {
			v.Add(f+"key", "duplicate", "This key appears twice in the file.")
		}
		seen[r.Key] = true
		name := strings.TrimSpace(r.Name)
		roster.ValidateRoleName(&v, f+"name", name)
		roster.ValidatePermissions(&v, f+"permissions", r.Permissions)
		if r.Permissions == nil {
			r.Permissions = []roster.Permission{}
		}
		roles = append(roles, roster.RoleExport{Key: r.Key, Name: name, Permissions: r.Permissions})
	}
	if err := merge(cerr, v.Err()); err != nil {
		return nil, err
	}
	for _, r := range roles {
		if err := ownPermissions(a, r.Permissions); err != nil {
			return nil, err
		}
	}
	changes, err := s.app.d.Roles.ImportRoles(ctx, companyID, roles, dryRun)
	if changes == nil {
		changes = []roster.RoleImportChange{}
	}
	return changes, err
}
