package web

import (
	"net/http"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
)

// roleCompany reads company_id (the actor's own company when absent); a
// company outside the actor's scope is a 422 on company_id, as on /users.
func roleCompany(q *queryParams) int64 {
	if id := q.id("company_id"); id != nil {
		return *id
	}
	return 0
}

// handleRoleList lists the system roles and the roles of a company.
func (s *Server) handleRoleList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "company_id")
	companyID := roleCompany(q)
	if err := q.err(); err != nil {
		return err
	}
	roles, err := s.App.Roles.List(r.Context(), companyID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": roles})
}

// roleRequest is the body of POST and PATCH on roles. Key and company are
// accepted on PATCH only to be refused with a clear message.
type roleRequest struct {
	Name        *string              `json:"name"`
	Key         *string              `json:"key"`
	Permissions *[]roster.Permission `json:"permissions"`
	CompanyID   *int64               `json:"company_id"`
}

// handleRoleCreate creates a custom role (R1).
func (s *Server) handleRoleCreate(w http.ResponseWriter, r *http.Request) error {
	var req roleRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	n := app.NewRole{Name: deref(req.Name), Key: deref(req.Key)}
	if req.CompanyID != nil {
		n.CompanyID = *req.CompanyID
	}
	if req.Permissions != nil {
		n.Permissions = *req.Permissions
	}
	role, err := s.App.Roles.Create(r.Context(), n)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, role)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// handleRoleGet shows one role.
func (s *Server) handleRoleGet(w http.ResponseWriter, r *http.Request) error {
	return getByID(w, r, s.Roles.RoleByID)
}

// handleRolePatch renames a custom role or replaces its permissions.
func (s *Server) handleRolePatch(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req roleRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	role, err := s.App.Roles.Update(r.Context(), id, roster.RoleUpdate{Name: req.Name, Permissions: req.Permissions,
		Key: req.Key, CompanyID: req.CompanyID})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, role)
}

// handleRoleDelete deletes a custom role; ?force=true takes it from its
// holders first.
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
	if err := s.App.Roles.Delete(r.Context(), id, force); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleRoleExport downloads the roles of a company as JSON (R2).
func (s *Server) handleRoleExport(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "company_id")
	companyID := roleCompany(q)
	if err := q.err(); err != nil {
		return err
	}
	file, err := s.App.Roles.Export(r.Context(), companyID)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", `attachment; filename="roles.json"`)
	return writeJSON(w, http.StatusOK, file)
}

// handleRoleImport creates or updates custom roles from an export (R2);
// ?dry_run=true only reports what would change.
func (s *Server) handleRoleImport(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "company_id", "dry_run")
	dryRun := q.boolean("dry_run")
	companyID := roleCompany(q)
	if err := q.err(); err != nil {
		return err
	}
	var file app.RoleFile
	if err := decodeJSON(r, &file); err != nil {
		return err
	}
	changes, err := s.App.Roles.Import(r.Context(), companyID, file, dryRun)
	if err != nil {
		return err
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
