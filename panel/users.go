package panel

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
)

// usersFilter is the users list's query string, kept as strings so the
// form shows exactly what was asked.
type usersFilter struct {
	Q, Status, Invitation, Role, Company, Sort, Cursor string
	// Queue is a queue ID or roster.QueueNone (issue 5).
	Queue string
}

func parseUsersFilter(q url.Values) usersFilter {
	return usersFilter{Q: strings.TrimSpace(q.Get("q")), Status: q.Get("status"), Invitation: q.Get("invitation"),
		Role: q.Get("role"), Company: q.Get("company"), Sort: q.Get("sort"), Cursor: q.Get("cursor"), Queue: q.Get("queue")}
}

// Values encodes the filter without the cursor.
func (f usersFilter) Values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"q": f.Q, "status": f.Status, "invitation": f.Invitation,
		"role": f.Role, "company": f.Company, "sort": f.Sort, "queue": f.Queue} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// Active reports whether any filter narrows the list.
func (f usersFilter) Active() bool {
	return f.Q != "" || f.Status != "" || f.Invitation != "" || f.Role != "" || f.Company != "" || f.Queue != ""
}

// query is the filter as the workflows read it. A company that is not an
// ID is sent as 0, which no company has, so it is refused, never ignored.
func (f usersFilter) query() app.UserQuery {
	q := app.UserQuery{Q: f.Q, Status: f.Status, Invitation: f.Invitation, Role: f.Role, Queue: f.Queue,
		Sort: f.Sort, Cursor: f.Cursor}
	if f.Company != "" {
		id, _ := pathID(f.Company)
		q.CompanyID = &id
	}
	return q
}

// without returns the filter with the named fields (the workflow's field
// names) cleared.
func (f usersFilter) without(fields []roster.FieldError) usersFilter {
	for _, fe := range fields {
		switch fe.Field {
		case "q":
			f.Q = ""
		case "status":
			f.Status = ""
		case "invitation":
			f.Invitation = ""
		case "role":
			f.Role = ""
		case "company_id":
			f.Company = ""
		case "queue":
			f.Queue = ""
		case "sort":
			f.Sort = ""
		case "cursor":
			f.Cursor = ""
		}
	}
	return f
}

// listFilter resolves the list's filter; a field that does not make sense
// (a hand-edited address, a stale cursor) is dropped rather than refused,
// so the list always shows. Text Roster never accepts (a control or bidi
// character) is refused like everywhere else.
func (p *Panel) listFilter(ctx context.Context, f usersFilter) (usersFilter, roster.UserFilter, error) {
	for range 2 {
		uf, err := p.App.Users.Filter(ctx, f.query())
		var e *roster.Error
		if err == nil || !asErr(err, &e) || e.Code != roster.EINVALID || len(e.Fields) == 0 {
			return f, uf, err
		}
		for _, fe := range e.Fields {
			if roster.TextCode(fe.Code) {
				return f, uf, err
			}
		}
		f = f.without(e.Fields)
	}
	uf, err := p.App.Users.Filter(ctx, f.query())
	return f, uf, err
}

type usersView struct {
	*page
	Filter      usersFilter
	Result      *roster.UserPage
	Cards       bool
	Roles       []*roster.Role
	GrantRoles  []*roster.Role
	Companies   []*roster.Company
	ShowCompany bool
	CompanyName map[int64]string
	NextURL     string
	FirstURL    string
	FilterURL   string
	IsFirst     bool
	NewUser     *userFormView
	Statuses    []string
	Invitations []string
	Ops         *usersOps
}

func (p *Panel) handleUsers(w http.ResponseWriter, r *http.Request) error {
	if err := need(r, roster.PermUsersView); err != nil {
		return err
	}
	ctx := r.Context()
	a := state(r).actor
	f, uf, err := p.listFilter(ctx, parseUsersFilter(r.URL.Query()))
	if err != nil {
		return err
	}
	res, err := p.App.Users.List(ctx, uf)
	if roster.ErrorCode(err) == roster.EINVALID && f.Cursor != "" {
		// A stale or tampered cursor: show the first page.
		f.Cursor, uf.Cursor = "", ""
		res, err = p.App.Users.List(ctx, uf)
	}
	if err != nil {
		return err
	}
	// The view (U3) is remembered per user in the database, so it follows
	// them to another browser; ?view= switches it and remembers the switch.
	view, err := p.Users.UserPreference(ctx, a.User.ID, roster.PrefUsersView)
	if err != nil {
		return err
	}
	if q := r.URL.Query().Get("view"); validUsersView(q) && q != view {
		if err := p.Users.SetUserPreference(ctx, a.User.ID, roster.PrefUsersView, q); err != nil {
			return err
		}
		view = q
	}
	v := &usersView{page: p.newPage(w, r, "users.title", "users"), Filter: f, Result: res,
		Cards: view == "cards", IsFirst: f.Cursor == "",
		Statuses:    []string{string(roster.StatusActive), string(roster.StatusInvited), string(roster.StatusBlocked)},
		Invitations: []string{roster.InvitationPending, roster.InvitationExpired, roster.InvitationAccepted}}
	vals := f.Values()
	v.FilterURL = "/users?" + vals.Encode()
	v.FirstURL = v.FilterURL
	if res.NextCursor != "" {
		vals.Set("cursor", res.NextCursor)
		v.NextURL = "/users?" + vals.Encode()
	}
	roleCompany := a.User.CompanyID
	if id, ok := pathID(f.Company); ok && a.Scope.Contains(id) {
		roleCompany = id
	}
	roles, err := p.Roles.Roles(ctx, roleCompany)
	if err != nil {
		return err
	}
	v.Roles = companyRoles(roles, roleCompany)
	v.GrantRoles = grantable(a, v.Roles, roleCompany)
	if a.Scope.All || len(a.Scope.CompanyIDs) > 1 {
		if v.Companies, err = p.Companies.Companies(ctx, a.Scope); err != nil {
			return err
		}
		v.ShowCompany = len(v.Companies) > 1
		v.CompanyName = map[int64]string{}
		for _, c := range v.Companies {
			v.CompanyName[c.ID] = c.Name
		}
	}
	if a.Can(roster.PermUsersCreate) {
		v.NewUser = p.newUserForm(v.page, a, roleCompany, v.Roles, v.Companies)
	}
	if v.Ops, err = p.usersOps(ctx, a); err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "users", v)
}

// grantable returns the roles of a company the actor may grant (U7).
func grantable(a *roster.Actor, roles []*roster.Role, companyID int64) []*roster.Role {
	var out []*roster.Role
	for _, r := range roles {
		if r.Key == roster.RoleMainAdmin && companyID != roster.PlatformCompanyID {
			continue
		}
		if a.CheckGrant(r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// validUsersView reports whether v is a users list view (U3).
func validUsersView(v string) bool { return v == "table" || v == "cards" }

func (p *Panel) handleUsersView(w http.ResponseWriter, r *http.Request) error {
	mode := r.PostFormValue("view")
	if !validUsersView(mode) {
		return roster.Errorf(roster.EINVALID, "The view is table or cards.")
	}
	if err := p.Users.SetUserPreference(r.Context(), state(r).actor.User.ID, roster.PrefUsersView, mode); err != nil {
		return err
	}
	return p.redirect(w, r, localPath(r.PostFormValue("return"), "/users"), "", 0)
}

// ---- Bulk actions (U12) ----

type bulkView struct {
	*page
	Action   string
	RoleID   int64
	RoleName string
	Comment  string
	IDs      []int64
	All      bool
	Filter   usersFilter
	// FilterValues are the filter's fields, carried by the confirmation
	// form exactly as the list had them.
	FilterValues url.Values
	Count        int
	// Users are the first users the action acts on, by name; More is how
	// many it does not name.
	Users    []*roster.User
	More     int
	Errors   formErrors
	Refusals []refusalView
	Back     string
}

type refusalView struct {
	UserID  int64
	Name    string
	Message string
}

// handleUsersBulk applies a bulk action (U12). The first post names the
// users — their number and the first of them, from the same query the
// action runs — and asks for the comment; the confirmed one acts, all or
// nothing.
func (p *Panel) handleUsersBulk(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	st := state(r)
	a := st.actor
	f := parseUsersFilter(r.PostForm)
	f.Cursor = ""
	v := &bulkView{page: p.newPage(w, r, "bulk.title", "users"), Action: r.PostFormValue("action"),
		Comment: strings.TrimSpace(r.PostFormValue("comment")), IDs: formIDs(r.PostForm["id"]),
		All: r.PostFormValue("all") == "1", Filter: f, FilterValues: f.Values()}
	v.Back = "/users?" + f.Values().Encode()
	if v.RoleID, _ = strconv.ParseInt(r.PostFormValue("role_id"), 10, 64); v.RoleID != 0 {
		if role, err := p.Roles.RoleByID(ctx, a.Scope, v.RoleID); err == nil {
			v.RoleName = v.page.RoleName(role.Key, role.Name)
		}
	}
	b := roster.BulkAction{Action: v.Action, RoleID: v.RoleID, Comment: v.Comment}
	if v.All {
		uf, err := p.App.Users.Filter(ctx, f.query())
		if err != nil {
			return err
		}
		b.Filter = &uf
	} else {
		b.UserIDs = v.IDs
	}
	if !v.All && len(v.IDs) == 0 {
		return p.redirect(w, r, v.Back, "flash.bulk_none", 0)
	}
	preview, err := p.App.Users.Preview(ctx, b)
	if err != nil {
		return p.bulkFailed(w, r, v, err)
	}
	v.Count, v.Users, v.More = preview.Count, preview.Users, preview.Count-len(preview.Users)
	if v.Count == 0 {
		return p.redirect(w, r, v.Back, "flash.bulk_none", 0)
	}
	if r.PostFormValue("confirm") != "1" {
		return p.render(w, r, http.StatusOK, "bulk", v)
	}
	res, err := p.App.Users.Bulk(ctx, b)
	if err != nil {
		return p.bulkFailed(w, r, v, err)
	}
	return p.redirect(w, r, v.Back, "flash.bulk_"+v.Action, res.Affected)
}

// bulkFailed shows the confirmation again with the refusals (each user
// named) or the form's errors.
func (p *Panel) bulkFailed(w http.ResponseWriter, r *http.Request, v *bulkView, err error) error {
	st := state(r)
	var re *roster.Error
	if asErr(err, &re) && len(re.Refusals) > 0 {
		for _, rf := range re.Refusals {
			name := "#" + strconv.FormatInt(rf.UserID, 10)
			if u, err := p.Users.UserByID(r.Context(), st.actor.Scope, rf.UserID); err == nil {
				name = u.DisplayName()
			}
			v.Refusals = append(v.Refusals, refusalView{UserID: rf.UserID, Name: name,
				Message: fieldText(st.lang, roster.FieldError{Code: rf.Code, Message: rf.Message})})
		}
		return p.render(w, r, http.StatusConflict, "bulk", v)
	}
	fe, ok := newFormErrors(st.lang, err)
	if !ok {
		return err
	}
	v.Errors = *fe
	return p.render(w, r, formStatus(err), "bulk", v)
}

// ---- Add user (U4) ----

type userFormView struct {
	*page
	Form        userForm
	Roles       []*roster.Role
	Companies   []*roster.Company
	CompanyName string
	Errors      formErrors
}

type userForm struct {
	AuthMethod, Email, Login, FirstName, MiddleName, LastName, Phone, WorkPhone, Position string
	Credentials                                                                           string
	CompanyID                                                                             int64
	RoleIDs                                                                               []int64
}

func (p *Panel) newUserForm(pg *page, a *roster.Actor, companyID int64, roles []*roster.Role, companies []*roster.Company) *userFormView {
	v := &userFormView{page: pg, Roles: grantable(a, roles, companyID), Companies: companies,
		Form: userForm{AuthMethod: string(roster.AuthEmail), Credentials: roster.CredentialsInvitation, CompanyID: companyID}}
	for _, c := range companies {
		if c.ID == companyID {
			v.CompanyName = c.Name
		}
	}
	if v.CompanyName == "" {
		v.CompanyName = a.Company.Name
	}
	return v
}

func (p *Panel) handleUserNew(w http.ResponseWriter, r *http.Request) error {
	if err := need(r, roster.PermUsersCreate); err != nil {
		return err
	}
	a := state(r).actor
	companyID := a.User.CompanyID
	if id, ok := pathID(r.URL.Query().Get("company")); ok {
		companyID = id
	}
	v, err := p.userFormFor(w, r, companyID)
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "usernew", v)
}

func (p *Panel) userFormFor(w http.ResponseWriter, r *http.Request, companyID int64) (*userFormView, error) {
	ctx := r.Context()
	a := state(r).actor
	if _, err := p.Companies.CompanyByID(ctx, a.Scope, companyID); err != nil {
		return nil, err
	}
	roles, err := p.Roles.Roles(ctx, companyID)
	if err != nil {
		return nil, err
	}
	var companies []*roster.Company
	if a.Scope.All || len(a.Scope.CompanyIDs) > 1 {
		if companies, err = p.Companies.Companies(ctx, a.Scope); err != nil {
			return nil, err
		}
	}
	return p.newUserForm(p.newPage(w, r, "usernew.title", "users"), a, companyID, roles, companies), nil
}

type createdView struct {
	*page
	User     *roster.User
	Password string
	Reset    bool
}

func (p *Panel) handleUserCreate(w http.ResponseWriter, r *http.Request) error {
	st := state(r)
	companyID, ok := pathID(r.PostFormValue("company_id"))
	if !ok {
		companyID = st.actor.User.CompanyID
	}
	form := userForm{AuthMethod: r.PostFormValue("auth_method"), Email: r.PostFormValue("email"), Login: r.PostFormValue("login"),
		FirstName: r.PostFormValue("first_name"), MiddleName: r.PostFormValue("middle_name"), LastName: r.PostFormValue("last_name"),
		Phone: r.PostFormValue("phone"), WorkPhone: r.PostFormValue("work_phone"), Position: r.PostFormValue("position"),
		Credentials: r.PostFormValue("credentials"), CompanyID: companyID, RoleIDs: formIDs(r.PostForm["role_ids"])}
	n := roster.NewUser{CompanyID: companyID, AuthMethod: roster.AuthMethod(form.AuthMethod), Email: form.Email,
		FirstName: form.FirstName, MiddleName: form.MiddleName, LastName: form.LastName, Phone: form.Phone,
		WorkPhone: form.WorkPhone, Position: form.Position, RoleIDs: form.RoleIDs, Credentials: form.Credentials,
		Lang: st.lang}
	// The form shows each method's fields only: a field of the other method
	// that the page hid but still sent is not part of the request, and the
	// invitation choice, hidden for login users, means "generated" for them.
	if n.AuthMethod == roster.AuthLogin {
		n.Email, n.Login = "", form.Login
		if n.Credentials == roster.CredentialsInvitation {
			n.Credentials = roster.CredentialsGenerated
		}
	}
	if n.Credentials == roster.CredentialsManual {
		n.Password = r.PostFormValue("password")
	}
	u, creds, err := p.App.Users.Create(r.Context(), n)
	if err != nil {
		fe, ok := newFormErrors(st.lang, err)
		if !ok {
			return err
		}
		v, ferr := p.userFormFor(w, r, companyID)
		if ferr != nil {
			return ferr
		}
		v.Form, v.Errors = form, *fe
		return p.render(w, r, formStatus(err), "usernew", v)
	}
	if creds.TemporaryPassword != "" {
		v := &createdView{page: p.newPage(w, r, "created.title", "users"), User: u, Password: creds.TemporaryPassword}
		return p.render(w, r, http.StatusOK, "created", v)
	}
	key := "flash.user_created"
	if creds.Emailed {
		key = "flash.user_invited"
	}
	return p.redirect(w, r, "/users/"+strconv.FormatInt(u.ID, 10), key, 0)
}

// ---- User card (U5–U11) ----

type userView struct {
	*page
	User        *roster.User
	Company     *roster.Company
	Creator     *roster.User
	Roles       []*roster.Role
	GrantRoles  map[int64]bool
	HeldRoles   map[int64]bool
	Events      []*roster.Event
	Self        bool
	NameLocked  bool
	Errors      formErrors
	Open        string // the section to show open after a failed form
	Form        map[string]string
	CanEdit     bool
	CanRoles    bool
	CanBlock    bool
	CanDelete   bool
	CanCreds    bool
	CanAudit    bool
	ShowCompany bool
	Ops         *userOps
}

func (p *Panel) userCard(w http.ResponseWriter, r *http.Request, id int64) (*userView, error) {
	if err := need(r, roster.PermUsersView); err != nil {
		return nil, err
	}
	ctx := r.Context()
	a := state(r).actor
	u, err := p.Users.UserByID(ctx, a.Scope, id)
	if err != nil {
		return nil, err
	}
	v := &userView{page: p.newPage(w, r, "user.title", "users"), User: u, Self: u.ID == a.User.ID,
		NameLocked: u.NameSetBySelf && u.ID != a.User.ID, GrantRoles: map[int64]bool{}, HeldRoles: map[int64]bool{}}
	v.Title = u.DisplayName()
	if v.Company, err = p.Companies.CompanyByID(ctx, a.Scope, u.CompanyID); err != nil {
		return nil, err
	}
	v.ShowCompany = u.CompanyID != a.User.CompanyID
	if u.CreatedBy != nil {
		if c, err := p.Users.UserByID(ctx, a.Scope, *u.CreatedBy); err == nil {
			v.Creator = c
		}
	}
	if v.Roles, err = p.Roles.Roles(ctx, u.CompanyID); err != nil {
		return nil, err
	}
	for _, r := range grantable(a, v.Roles, u.CompanyID) {
		v.GrantRoles[r.ID] = true
	}
	for _, r := range u.Roles {
		v.HeldRoles[r.ID] = true
	}
	manage := !v.Self && !(u.HasRole(roster.RoleMainAdmin) && !a.MainAdmin)
	v.CanEdit = a.Can(roster.PermUsersEdit) && (manage || v.Self)
	v.CanRoles = a.Can(roster.PermUsersRoles) && manage
	v.CanBlock = a.Can(roster.PermUsersBlock) && manage
	v.CanDelete = a.Can(roster.PermUsersDelete) && manage
	v.CanCreds = a.Can(roster.PermUsersCredentials) && manage
	v.CanAudit = a.Can(roster.PermAuditView)
	if v.CanAudit {
		ev, err := p.Events.Events(ctx, a.Scope, roster.EventFilter{UserID: &u.ID, Limit: 10})
		if err != nil {
			return nil, err
		}
		v.Events = ev.Items
	}
	v.Form = map[string]string{"first_name": u.FirstName, "middle_name": u.MiddleName, "last_name": u.LastName,
		"phone": u.Phone, "work_phone": u.WorkPhone, "position": u.Position}
	if err := p.userOps(ctx, a, v); err != nil {
		return nil, err
	}
	return v, nil
}

func (p *Panel) handleUser(w http.ResponseWriter, r *http.Request) error {
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return roster.Errorf(roster.ENOTFOUND, "User not found.")
	}
	v, err := p.userCard(w, r, id)
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "user", v)
}

// userAction runs one card action: the permission check, the change, and
// either a redirect with a flash or the card again with the form's errors.
func (p *Panel) userAction(w http.ResponseWriter, r *http.Request, perm roster.Permission, section, flashKey string,
	do func(ctx context.Context, a *roster.Actor, id int64) error) error {
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return roster.Errorf(roster.ENOTFOUND, "User not found.")
	}
	if err := need(r, perm); err != nil {
		return err
	}
	st := state(r)
	if err := do(r.Context(), st.actor, id); err != nil {
		fe, ok := newFormErrors(st.lang, err)
		if !ok {
			return err
		}
		v, cerr := p.userCard(w, r, id)
		if cerr != nil {
			return cerr
		}
		v.Errors, v.Open = *fe, section
		for k := range v.Form {
			if val, ok := r.PostForm[k]; ok {
				v.Form[k] = val[0]
			}
		}
		return p.render(w, r, formStatus(err), "user", v)
	}
	if flashKey == "flash.user_deleted" {
		return p.redirect(w, r, "/users", flashKey, 0)
	}
	return p.redirect(w, r, "/users/"+strconv.FormatInt(id, 10), flashKey, 0)
}

func (p *Panel) handleUserEdit(w http.ResponseWriter, r *http.Request) error {
	return p.userAction(w, r, roster.PermUsersEdit, "edit", "flash.user_updated", func(ctx context.Context, a *roster.Actor, id int64) error {
		var upd roster.UserUpdate
		// The form has no e-mail, login or method; one that comes anyway
		// goes to the workflow, which refuses it.
		for field, dst := range map[string]**string{"first_name": &upd.FirstName, "middle_name": &upd.MiddleName,
			"last_name": &upd.LastName, "phone": &upd.Phone, "work_phone": &upd.WorkPhone, "position": &upd.Position,
			"email": &upd.Email, "login": &upd.Login, "auth_method": &upd.AuthMethod} {
			if vals, ok := r.PostForm[field]; ok {
				s := vals[0]
				*dst = &s
			}
		}
		_, err := p.App.Users.Update(ctx, id, upd)
		return err
	})
}

func (p *Panel) handleUserRoles(w http.ResponseWriter, r *http.Request) error {
	return p.userAction(w, r, roster.PermUsersRoles, "roles", "flash.roles_changed", func(ctx context.Context, a *roster.Actor, id int64) error {
		_, err := p.App.Users.SetRoles(ctx, id, formIDs(r.PostForm["role_ids"]))
		return err
	})
}

func (p *Panel) handleUserBlock(w http.ResponseWriter, r *http.Request) error {
	return p.userAction(w, r, roster.PermUsersBlock, "block", "flash.user_blocked", func(ctx context.Context, a *roster.Actor, id int64) error {
		_, err := p.App.Users.Block(ctx, id, r.PostFormValue("comment"))
		return err
	})
}

func (p *Panel) handleUserUnblock(w http.ResponseWriter, r *http.Request) error {
	return p.userAction(w, r, roster.PermUsersBlock, "block", "flash.user_unblocked", func(ctx context.Context, a *roster.Actor, id int64) error {
		_, err := p.App.Users.Unblock(ctx, id, r.PostFormValue("comment"))
		return err
	})
}

func (p *Panel) handleUserDelete(w http.ResponseWriter, r *http.Request) error {
	return p.userAction(w, r, roster.PermUsersDelete, "delete", "flash.user_deleted", func(ctx context.Context, a *roster.Actor, id int64) error {
		return p.App.Users.Delete(ctx, id)
	})
}

func (p *Panel) handleUserInvitation(w http.ResponseWriter, r *http.Request) error {
	return p.userAction(w, r, roster.PermUsersCredentials, "", "flash.invitation_sent", func(ctx context.Context, a *roster.Actor, id int64) error {
		_, err := p.App.Users.ResendInvitation(ctx, id)
		return err
	})
}

// handleUserPasswordReset resets another user's password (U9): a
// login-method user gets a new temporary password, shown once; an e-mail
// user a reset link by e-mail.
func (p *Panel) handleUserPasswordReset(w http.ResponseWriter, r *http.Request) error {
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return roster.Errorf(roster.ENOTFOUND, "User not found.")
	}
	ctx := r.Context()
	creds, err := p.App.Users.ResetPassword(ctx, id)
	if err != nil {
		return err
	}
	if creds.Emailed {
		return p.redirect(w, r, "/users/"+strconv.FormatInt(id, 10), "flash.reset_link_sent", 0)
	}
	u, err := p.Users.UserByID(ctx, state(r).actor.Scope, id)
	if err != nil {
		return err
	}
	v := &createdView{page: p.newPage(w, r, "created.reset_title", "users"), User: u, Password: creds.TemporaryPassword, Reset: true}
	return p.render(w, r, http.StatusOK, "created", v)
}
