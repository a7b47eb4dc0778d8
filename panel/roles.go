package panel

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
)

// permGroup is one group of the permission catalog, in catalog order.
type permGroup struct {
	Name  string
	Perms []roster.PermissionInfo
}

// companyRoles drops the Main administrator role from a tenant's list: it
// exists only in the platform company.
func companyRoles(roles []*roster.Role, companyID int64) []*roster.Role {
	if companyID == roster.PlatformCompanyID {
		return roles
	}
	out := roles[:0:0]
	for _, r := range roles {
		if r.Key != roster.RoleMainAdmin {
			out = append(out, r)
		}
	}
	return out
}

func catalogGroups() []permGroup {
	var out []permGroup
	for _, c := range roster.Catalog {
		if len(out) == 0 || out[len(out)-1].Name != c.Group {
			out = append(out, permGroup{Name: c.Group})
		}
		out[len(out)-1].Perms = append(out[len(out)-1].Perms, c)
	}
	return out
}

type rolesView struct {
	*page
	Company   *roster.Company
	Companies []*roster.Company
	Roles     []*roster.Role
	Groups    []permGroup
	CanManage bool
	Errors    formErrors
	NewName   string
	Changes   []roster.RoleImportChange
	ImportRaw string
	Applied   bool
}

// Cols is the matrix's column count: the permission and one per role.
func (v *rolesView) Cols() int { return len(v.Roles) + 1 }

// Has reports whether a role holds a permission (for the matrix).
func (v *rolesView) Has(r *roster.Role, p roster.Permission) bool {
	return slices.Contains(r.Permissions, p)
}

// companyParam returns the company a page is about: ?company= when in the
// actor's scope, else the actor's own.
func (p *Panel) companyParam(r *http.Request, raw string) (*roster.Company, error) {
	a := state(r).actor
	id := a.User.CompanyID
	if x, ok := pathID(raw); ok {
		id = x
	}
	return p.Companies.CompanyByID(r.Context(), a.Scope, id)
}

func (p *Panel) rolesPage(w http.ResponseWriter, r *http.Request, companyRaw string) (*rolesView, error) {
	if err := need(r, roster.PermRolesView); err != nil {
		return nil, err
	}
	ctx := r.Context()
	a := state(r).actor
	c, err := p.companyParam(r, companyRaw)
	if err != nil {
		return nil, err
	}
	v := &rolesView{page: p.newPage(w, r, "roles.title", "roles"), Company: c, Groups: catalogGroups(),
		CanManage: a.Can(roster.PermRolesManage)}
	roles, err := p.Roles.Roles(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	v.Roles = companyRoles(roles, c.ID)
	if a.Scope.All || len(a.Scope.CompanyIDs) > 1 {
		if v.Companies, err = p.Companies.Companies(ctx, a.Scope); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (p *Panel) handleRoles(w http.ResponseWriter, r *http.Request) error {
	v, err := p.rolesPage(w, r, r.URL.Query().Get("company"))
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "roles", v)
}

func (p *Panel) handleRoleCreate(w http.ResponseWriter, r *http.Request) error {
	st := state(r)
	c, err := p.companyParam(r, r.PostFormValue("company"))
	if err != nil {
		return err
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	role, err := p.App.Roles.Create(r.Context(), app.NewRole{CompanyID: c.ID, Name: name})
	if err != nil {
		fe, ok := newFormErrors(st.lang, err)
		if !ok {
			return err
		}
		if msg, ok := fe.Fields["key"]; ok {
			fe.Fields["name"] = msg
		}
		v, perr := p.rolesPage(w, r, r.PostFormValue("company"))
		if perr != nil {
			return perr
		}
		v.Errors, v.NewName = *fe, name
		return p.render(w, r, formStatus(err), "roles", v)
	}
	return p.redirect(w, r, "/roles/"+strconv.FormatInt(role.ID, 10), "flash.role_created", 0)
}

// handleRoleMatrix saves the permission matrix: every editable role whose
// checked permissions differ from its current ones is updated.
func (p *Panel) handleRoleMatrix(w http.ResponseWriter, r *http.Request) error {
	st := state(r)
	perms := map[int64][]roster.Permission{}
	for _, id := range formIDs(r.PostForm["role"]) {
		perms[id] = checkedPermissions(r.PostForm["perm_"+strconv.FormatInt(id, 10)])
	}
	// All changed roles are saved in one transaction: a refused change
	// leaves every role as it was.
	if _, err := p.App.Roles.SetPermissions(r.Context(), perms); err != nil {
		fe, ok := newFormErrors(st.lang, err)
		if !ok {
			return err
		}
		v, perr := p.rolesPage(w, r, r.PostFormValue("company"))
		if perr != nil {
			return perr
		}
		if fe.Other == "" {
			for _, m := range fe.Fields {
				fe.Other = m
			}
		}
		v.Errors = *fe
		return p.render(w, r, formStatus(err), "roles", v)
	}
	back := "/roles"
	if c := r.PostFormValue("company"); c != "" {
		back += "?company=" + urlQueryEscape(c)
	}
	return p.redirect(w, r, back, "flash.permissions_saved", 0)
}

func checkedPermissions(vals []string) []roster.Permission {
	out := []roster.Permission{}
	for _, v := range vals {
		p := roster.Permission(v)
		if roster.KnownPermission(p) && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func samePermissions(a, b []roster.Permission) bool {
	return roster.NewPermissionSet(a...).Contains(b) && roster.NewPermissionSet(b...).Contains(a)
}

type roleView struct {
	*page
	Role      *roster.Role
	Groups    []permGroup
	Tab       string
	Users     *roster.UserPage
	NextURL   string
	CanManage bool
	Errors    formErrors
	Name      string
}

// Has reports whether the role holds a permission.
func (v *roleView) Has(p roster.Permission) bool { return slices.Contains(v.Role.Permissions, p) }

func (p *Panel) rolePage(w http.ResponseWriter, r *http.Request) (*roleView, error) {
	if err := need(r, roster.PermRolesView); err != nil {
		return nil, err
	}
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return nil, roster.Errorf(roster.ENOTFOUND, "Role not found.")
	}
	ctx := r.Context()
	a := state(r).actor
	role, err := p.Roles.RoleByID(ctx, a.Scope, id)
	if err != nil {
		return nil, err
	}
	v := &roleView{page: p.newPage(w, r, "role.title", "roles"), Role: role, Groups: catalogGroups(), Tab: "permissions",
		CanManage: a.Can(roster.PermRolesManage) && !role.System, Name: role.Name}
	v.Title = v.RoleName(role.Key, role.Name)
	if r.URL.Query().Get("tab") == "users" {
		v.Tab = "users"
		f := roster.UserFilter{Cursor: r.URL.Query().Get("cursor")}
		if v.Users, err = p.Roles.RoleUsers(ctx, a.Scope, id, f); err != nil {
			return nil, err
		}
		if v.Users.NextCursor != "" {
			v.NextURL = "/roles/" + strconv.FormatInt(id, 10) + "?tab=users&cursor=" + urlQueryEscape(v.Users.NextCursor)
		}
	}
	return v, nil
}

func (p *Panel) handleRole(w http.ResponseWriter, r *http.Request) error {
	v, err := p.rolePage(w, r)
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "role", v)
}

func (p *Panel) handleRoleUpdate(w http.ResponseWriter, r *http.Request) error {
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return roster.Errorf(roster.ENOTFOUND, "Role not found.")
	}
	st := state(r)
	name := strings.TrimSpace(r.PostFormValue("name"))
	perms := checkedPermissions(r.PostForm["perm"])
	if _, err := p.App.Roles.Update(r.Context(), id, roster.RoleUpdate{Name: &name, Permissions: &perms}); err != nil {
		fe, ok := newFormErrors(st.lang, err)
		if !ok {
			return err
		}
		v, perr := p.rolePage(w, r)
		if perr != nil {
			return perr
		}
		v.Errors, v.Name = *fe, name
		v.Role.Permissions = perms
		return p.render(w, r, formStatus(err), "role", v)
	}
	return p.redirect(w, r, "/roles/"+strconv.FormatInt(id, 10), "flash.role_saved", 0)
}

func (p *Panel) handleRoleDelete(w http.ResponseWriter, r *http.Request) error {
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return roster.Errorf(roster.ENOTFOUND, "Role not found.")
	}
	st := state(r)
	if err := p.App.Roles.Delete(r.Context(), id, r.PostFormValue("force") == "1"); err != nil {
		if roster.ErrorCode(err) != roster.ECONFLICT && roster.ErrorCode(err) != roster.EINVALID {
			return err
		}
		v, perr := p.rolePage(w, r)
		if perr != nil {
			return perr
		}
		v.Errors = formErrors{Other: errorText(st.lang, err)}
		if st.lang != "en" && roster.ErrorCode(err) == roster.ECONFLICT {
			v.Errors.Other = v.T("role.delete_in_use")
		}
		return p.render(w, r, http.StatusConflict, "role", v)
	}
	return p.redirect(w, r, "/roles", "flash.role_deleted", 0)
}

// handleRolesExport downloads the company's roles as JSON (R2), the same
// file as the API's export.
func (p *Panel) handleRolesExport(w http.ResponseWriter, r *http.Request) error {
	c, err := p.companyParam(r, r.URL.Query().Get("company"))
	if err != nil {
		return err
	}
	file, err := p.App.Roles.Export(r.Context(), c.ID)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(file, "", "  ")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="roles.json"`)
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(append(b, '\n'))
	return err
}

const maxImportSize = 1 << 20

// handleRolesImport previews an import file (a dry run) and, when the
// preview's form is confirmed, applies it (R2).
func (p *Panel) handleRolesImport(w http.ResponseWriter, r *http.Request) error {
	st := state(r)
	raw := r.PostFormValue("data")
	if raw == "" {
		if f, _, err := r.FormFile("file"); err == nil {
			b, err := io.ReadAll(io.LimitReader(f, maxImportSize+1))
			f.Close()
			if err != nil {
				return err
			}
			raw = string(b)
		}
	}
	companyRaw := r.PostFormValue("company")
	v, err := p.rolesPage(w, r, companyRaw)
	if err != nil {
		return err
	}
	roles, perr := parseRoleExport(raw)
	if perr == nil {
		apply := r.PostFormValue("apply") == "1"
		v.Changes, perr = p.App.Roles.Import(r.Context(), v.Company.ID, roles, !apply)
		if perr == nil && apply {
			return p.redirect(w, r, "/roles?company="+strconv.FormatInt(v.Company.ID, 10), "flash.roles_imported", 0)
		}
	}
	if perr != nil {
		fe, ok := newFormErrors(st.lang, perr)
		if !ok {
			return perr
		}
		if fe.Other == "" {
			for _, m := range fe.Fields {
				fe.Other = m
			}
		}
		v.Errors = formErrors{Fields: map[string]string{"file": fe.Other}}
		return p.render(w, r, http.StatusUnprocessableEntity, "roles", v)
	}
	v.ImportRaw = raw
	return p.render(w, r, http.StatusOK, "roles", v)
}

// parseRoleExport reads an export file: Roster's {"roles": […]}, or the
// bare list older versions wrote. The roles' keys, names and permissions
// are the import workflow's to check.
func parseRoleExport(raw string) (app.RoleFile, error) {
	var file app.RoleFile
	badAs := func(code, msg string) error {
		return &roster.Error{Code: roster.EINVALID, Message: msg,
			Fields: []roster.FieldError{{Field: "file", Code: code, Message: msg}}}
	}
	bad := func(msg string) error { return badAs("invalid_import", msg) }
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return file, bad("Choose a roles file exported from Roster.")
	}
	if len(raw) > maxImportSize {
		return file, bad("The file is larger than 1 MB.")
	}
	// The file's text follows the rules of every other input: the decoder
	// would store invalid UTF-8 and lone surrogates as U+FFFD.
	if problems, _ := roster.CheckJSON([]byte(raw)); len(problems) > 0 {
		f := problems[0]
		return file, badAs(f.Code, fmt.Sprintf("%s (at %s)", f.Message, f.Field))
	}
	if err := json.Unmarshal([]byte(raw), &file.Roles); err != nil {
		if err2 := json.Unmarshal([]byte(raw), &file); err2 != nil || file.Roles == nil {
			return file, bad("The file is not a roles export: " + jsonErrText(err))
		}
	}
	return file, nil
}

func jsonErrText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "invalid JSON at byte " + strconv.FormatInt(se.Offset, 10) + "."
	}
	return "expected a list of roles."
}
