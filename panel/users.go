package panel

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
	"github.com/roster-app/roster/panel/i18n"
)

// usersFilter is the users list's query string, kept as strings so the
// form shows exactly what was asked.
type usersFilter struct {
	Q, Status, Invitation, Role, Company, Sort, Cursor string
	// Queue is a queue ID or roster.QueueNone (issue 5).
	Queue string
	// SignInBefore (a date, 2006-01-02, or an RFC 3339 time) and
	// NeverSignedIn ("true", "false") find dormant accounts (issue 10).
	SignInBefore, NeverSignedIn string
}

func parseUsersFilter(q url.Values) usersFilter {
	return usersFilter{Q: strings.TrimSpace(q.Get("q")), Status: q.Get("status"), Invitation: q.Get("invitation"),
		Role: q.Get("role"), Company: q.Get("company"), Sort: q.Get("sort"), Cursor: q.Get("cursor"), Queue: q.Get("queue"),
		SignInBefore: strings.TrimSpace(q.Get("last_sign_in_before")), NeverSignedIn: q.Get("never_signed_in")}
}

// Values encodes the filter without the cursor.
func (f usersFilter) Values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"q": f.Q, "status": f.Status, "invitation": f.Invitation,
		"role": f.Role, "company": f.Company, "sort": f.Sort, "queue": f.Queue,
		"last_sign_in_before": f.SignInBefore, "never_signed_in": f.NeverSignedIn} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// Active reports whether any filter narrows the list.
func (f usersFilter) Active() bool {
	return f.Q != "" || f.Status != "" || f.Invitation != "" || f.Role != "" || f.Company != "" || f.Queue != "" ||
		f.SignInBefore != "" || f.NeverSignedIn != ""
}

// query is the filter as the workflows read it. A company that is not an
// ID is sent as 0, which no company has, so it is refused, never ignored.
func (f usersFilter) query() app.UserQuery {
	q := app.UserQuery{Q: f.Q, Status: f.Status, Invitation: f.Invitation, Role: f.Role, Queue: f.Queue,
		Sort: f.Sort, Cursor: f.Cursor, NeverSignedIn: f.NeverSignedIn, LastSignInBefore: f.SignInBefore}
	if d, err := time.Parse(time.DateOnly, f.SignInBefore); err == nil {
		// The date field: before the start of that day (UTC).
		q.LastSignInBefore = d.Format(time.RFC3339)
	}
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
		case "last_sign_in_before":
			f.SignInBefore = ""
		case "never_signed_in":
			f.NeverSignedIn = ""
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
	// Guide is the first-run guidance of a fresh installation, or nil.
	Guide       *app.FirstRun
	Filter      usersFilter
	Result      *roster.UserPage
	Cards       bool
	Roles       []*roster.Role
	GrantRoles  []*roster.Role
	Companies   []*roster.Company
	ShowCompany bool
	CompanyName map[int64]string
	NextURL     string
	PrevURL     string
	FilterURL   string
	// ListURL is this page of the list, where its actions return.
	ListURL     string
	NewUser     *userFormView
	Statuses    []string
	Invitations []string
	Ops         *usersOps
	// Columns are the optional columns shown; ColumnChoices those offered.
	Columns       map[string]bool
	ColumnChoices []string
	// Blocks say who blocked the page's blocked users, when and why.
	Blocks map[int64]*blockInfo
	// Creators are the users who created the page's users (creator column).
	Creators map[int64]*roster.User
	// TagNames names client tags (allowed client tags column).
	TagNames map[int64]string
	// ViewAuto is true when the user has not chosen a view: a phone then
	// gets cards (the script tells the server it is narrow).
	ViewAuto bool
	actx     *actionContext
}

// narrowCookie is set by the panel's script on a narrow screen, so that
// the users list can default to cards on a phone.
const narrowCookie = "roster_narrow"

func (p *Panel) handleUsers(w http.ResponseWriter, r *http.Request) error {
	v, err := p.usersPage(w, r, r.URL.Query())
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "users", v)
}

// usersPage builds the users list for the query q.
func (p *Panel) usersPage(w http.ResponseWriter, r *http.Request, q url.Values) (*usersView, error) {
	if err := need(r, roster.PermUsersView); err != nil {
		return nil, err
	}
	ctx := r.Context()
	a := state(r).actor
	f, uf, err := p.listFilter(ctx, parseUsersFilter(q))
	if err != nil {
		return nil, err
	}
	res, err := p.App.Users.List(ctx, uf)
	if roster.ErrorCode(err) == roster.EINVALID && f.Cursor != "" {
		// A stale or tampered cursor: show the first page.
		f.Cursor, uf.Cursor = "", ""
		res, err = p.App.Users.List(ctx, uf)
	}
	if err != nil {
		return nil, err
	}
	// The view (U3) is remembered per user in the database, so it follows
	// them to another browser; ?view= switches it and remembers the switch.
	view, err := p.Users.UserPreference(ctx, a.User.ID, roster.PrefUsersView)
	if err != nil {
		return nil, err
	}
	if qv := q.Get("view"); validUsersView(qv) && qv != view {
		if err := p.Users.SetUserPreference(ctx, a.User.ID, roster.PrefUsersView, qv); err != nil {
			return nil, err
		}
		view = qv
	}
	cols, err := p.Users.UserPreference(ctx, a.User.ID, roster.PrefUsersColumns)
	if err != nil {
		return nil, err
	}
	v := &usersView{page: p.newPage(w, r, "users.title", "users"), Filter: f, Result: res,
		Cards: view == "cards" || (view == "" && p.cookie(r, narrowCookie) == "1"), ViewAuto: view == "",
		Statuses:    []string{string(roster.StatusActive), string(roster.StatusInvited), string(roster.StatusBlocked)},
		Invitations: []string{roster.InvitationPending, roster.InvitationExpired, roster.InvitationAccepted},
		Columns:     parseColumns(cols), Blocks: map[int64]*blockInfo{}}
	vals := f.Values()
	v.FilterURL = "/users?" + vals.Encode()
	lq := f.Values()
	if f.Cursor != "" {
		lq.Set("cursor", f.Cursor)
	}
	v.ListURL = "/users?" + lq.Encode()
	p.rememberList(w, lq)
	if res.NextCursor != "" {
		nv := f.Values()
		nv.Set("cursor", res.NextCursor)
		v.NextURL = "/users?" + nv.Encode()
	}
	if res.PrevCursor != "" {
		pv := f.Values()
		pv.Set("cursor", res.PrevCursor)
		v.PrevURL = "/users?" + pv.Encode()
	}
	roleCompany := a.User.CompanyID
	if id, ok := pathID(f.Company); ok && a.Scope.Contains(id) {
		roleCompany = id
	}
	roles, err := p.Roles.Roles(ctx, roleCompany)
	if err != nil {
		return nil, err
	}
	v.Roles = companyRoles(roles, roleCompany)
	v.GrantRoles = p.grantable(ctx, v.Roles, roleCompany)
	if a.Scope.All || len(a.Scope.CompanyIDs) > 1 {
		if v.Companies, err = p.Companies.Companies(ctx, a.Scope); err != nil {
			return nil, err
		}
		v.ShowCompany = len(v.Companies) > 1
		v.CompanyName = map[int64]string{}
		for _, c := range v.Companies {
			v.CompanyName[c.ID] = c.Name
		}
	}
	if a.Can(roster.PermUsersCreate) {
		v.NewUser = p.newUserForm(ctx, v.page, a, roleCompany, v.Roles, v.Companies)
		v.NewUser.List = v.ListURL
	}
	if v.Ops, err = p.usersOps(ctx, a); err != nil {
		return nil, err
	}
	for _, c := range optionalColumns {
		if (c == "company" && !v.ShowCompany) || (c == "calls" && (v.Ops == nil || !v.Ops.CallStats)) {
			delete(v.Columns, c)
			continue
		}
		v.ColumnChoices = append(v.ColumnChoices, c)
	}
	if err := p.usersExtras(ctx, a, v); err != nil {
		return nil, err
	}
	if v.actx, err = p.newActionContext(r, v.ListURL); err != nil {
		return nil, err
	}
	if v.Guide, err = p.App.Companies.FirstRun(ctx); err != nil {
		return nil, err
	}
	return v, nil
}

// usersExtras loads what the page's rows show beyond the users
// themselves: block reasons, and the creators and tag names of the
// optional columns.
func (p *Panel) usersExtras(ctx context.Context, a *roster.Actor, v *usersView) error {
	var creators []int64
	companies := map[int64]bool{}
	for _, u := range v.Result.Items {
		b, err := p.blockInfo(ctx, a.Scope, u)
		if err != nil {
			return err
		}
		if b != nil {
			v.Blocks[u.ID] = b
		}
		if u.CreatedBy != nil && !slices.Contains(creators, *u.CreatedBy) {
			creators = append(creators, *u.CreatedBy)
		}
		companies[u.CompanyID] = true
	}
	if v.Col("creator") && len(creators) > 0 {
		page, err := p.Users.Users(ctx, a.Scope, roster.UserFilter{IDs: creators, Limit: roster.MaxPageSize})
		if err != nil {
			return err
		}
		v.Creators = map[int64]*roster.User{}
		for _, c := range page.Items {
			v.Creators[c.ID] = c
		}
	}
	if v.Col("tags") {
		v.TagNames = map[int64]string{}
		for id := range companies {
			tags, err := p.clientStore().ClientTags(ctx, id)
			if err != nil {
				return err
			}
			for _, t := range tags {
				v.TagNames[t.ID] = t.Name
			}
		}
	}
	return nil
}

// UserTags names a user's allowed client tags.
func (v *usersView) UserTags(u *roster.User) string {
	var names []string
	for _, id := range u.ClientTagIDs {
		if n, ok := v.TagNames[id]; ok {
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}

// grantable returns the roles of a company the actor may grant (U7); the
// rule is the app's.
func (p *Panel) grantable(ctx context.Context, roles []*roster.Role, companyID int64) []*roster.Role {
	out, err := p.App.Users.Grantable(ctx, roles, companyID)
	if err != nil {
		return nil // the company is gone: nothing to grant
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
	// Skip are users left out after a refusal ("Skip these N and
	// continue"); Remaining is how many users are left when some refuse.
	Skip      []int64
	Remaining int
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
		All: r.PostFormValue("all") == "1", Filter: f, FilterValues: f.Values(), Skip: formIDs(r.PostForm["skip"])}
	v.Back = "/users?" + f.Values().Encode()
	// Nothing selected or no action chosen: say why nothing happened.
	if !v.All && len(v.IDs) == 0 {
		return p.redirect(w, r, v.Back, "flash.bulk_none", 0)
	}
	if v.Action == "" {
		return p.redirect(w, r, v.Back, "flash.bulk_no_action", 0)
	}
	if v.RoleID, _ = strconv.ParseInt(r.PostFormValue("role_id"), 10, 64); v.RoleID != 0 {
		if role, err := p.Roles.RoleByID(ctx, a.Scope, v.RoleID); err == nil {
			v.RoleName = v.page.RoleName(role.Key, role.Name)
		}
	}
	b := roster.BulkAction{Action: v.Action, RoleID: v.RoleID, Comment: v.Comment}
	switch {
	case v.All && len(v.Skip) > 0:
		// All matching but the skipped: the filter's users now, without them.
		uf, err := p.App.Users.Filter(ctx, f.query())
		if err != nil {
			return err
		}
		ids, err := p.Users.UserIDs(ctx, a.Scope, uf, roster.MaxBulkUsers)
		if err != nil {
			return err
		}
		b.UserIDs = without(ids, v.Skip)
	case v.All:
		uf, err := p.App.Users.Filter(ctx, f.query())
		if err != nil {
			return err
		}
		b.Filter = &uf
	default:
		b.UserIDs = without(v.IDs, v.Skip)
	}
	if b.Filter == nil && len(b.UserIDs) == 0 {
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

// without returns ids without those in skip.
func without(ids, skip []int64) []int64 {
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(skip, id) {
			out = append(out, id)
		}
	}
	return out
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
			// The store's English reason names the case (one's own
			// account, a Main administrator); other languages have the
			// code's text.
			msg := rf.Message
			if st.lang != i18n.EN || msg == "" {
				msg = fieldText(st.lang, roster.FieldError{Code: rf.Code, Message: rf.Message})
			}
			v.Refusals = append(v.Refusals, refusalView{UserID: rf.UserID, Name: name, Message: msg})
		}
		v.Remaining = max(0, v.Count-len(v.Refusals))
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
	// List is the users list under the add-user dialog: the form is in
	// the dialog when set, and a refused form comes back in it.
	List string
	// Open shows the dialog open (a refused form).
	Open bool
}

// NameOrder is the order of the name fields: Фамилия, Имя, Отчество in
// Russian, first name first in English.
func (pg *page) NameOrder() []string {
	if pg.Lang == "ru" {
		return []string{"last_name", "first_name", "middle_name"}
	}
	return []string{"first_name", "middle_name", "last_name"}
}

// NameID is a name field's short id: "first" for first_name.
func (pg *page) NameID(field string) string { return strings.TrimSuffix(field, "_name") }

// NameValue is the form's value of a name field.
func (f userForm) NameValue(field string) string {
	switch field {
	case "first_name":
		return f.FirstName
	case "middle_name":
		return f.MiddleName
	}
	return f.LastName
}

type userForm struct {
	AuthMethod, Email, Login, FirstName, MiddleName, LastName, Phone, WorkPhone, Position string
	Credentials                                                                           string
	SendEmail                                                                             bool
	CompanyID                                                                             int64
	RoleIDs                                                                               []int64
}

func (p *Panel) newUserForm(ctx context.Context, pg *page, a *roster.Actor, companyID int64, roles []*roster.Role, companies []*roster.Company) *userFormView {
	v := &userFormView{page: pg, Roles: p.grantable(ctx, roles, companyID), Companies: companies,
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
	return p.newUserForm(r.Context(), p.newPage(w, r, "usernew.title", "users"), a, companyID, roles, companies), nil
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
		Credentials: r.PostFormValue("credentials"), CompanyID: companyID, RoleIDs: formIDs(r.PostForm["role_ids"]),
		SendEmail: r.PostFormValue("send_email") == "1"}
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
		// "Send to e-mail" is offered beside the typed password only: the
		// generated one has it on the page that shows it.
		n.Password, n.SendEmail = r.PostFormValue("password"), form.SendEmail
	}
	u, creds, err := p.App.Users.Create(r.Context(), n)
	if err != nil {
		fe, ok := newFormErrors(st.lang, err)
		if !ok {
			return err
		}
		if list := localPath(r.PostFormValue("list"), ""); strings.HasPrefix(list, "/users?") || list == "/users" {
			// The form came from the list's dialog: show the list again
			// with the dialog open, the errors beside their fields.
			lu, _ := url.Parse(list)
			lv, lerr := p.usersPage(w, r, lu.Query())
			if lerr != nil {
				return lerr
			}
			if lv.NewUser == nil {
				return err
			}
			if lv.NewUser.Form.CompanyID != companyID {
				fv, ferr := p.userFormFor(w, r, companyID)
				if ferr != nil {
					return ferr
				}
				fv.page, fv.List = lv.page, lv.NewUser.List
				lv.NewUser = fv
			}
			lv.NewUser.Form, lv.NewUser.Errors, lv.NewUser.Open = form, *fe, true
			return p.render(w, r, formStatus(err), "users", lv)
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
	switch {
	case creds.Emailed:
		key = "flash.user_invited"
	case creds.LinkEmailed:
		key = "flash.user_created_link_sent"
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
	// Notify is the user's notification settings, for an administrator
	// who may change them (seed 003); nil otherwise.
	Notify *notifyForm
	// Actions are the card's actions, each opening its confirmation.
	Actions []rowAction
	// Block says who blocked a blocked user, when and why.
	Block *blockInfo
	// List is the users list where the reader left it.
	List string
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
		NameLocked: u.NameSetBySelf && u.ID != a.User.ID, GrantRoles: map[int64]bool{}, HeldRoles: map[int64]bool{},
		List: p.listURL(r)}
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
	for _, r := range p.grantable(ctx, v.Roles, u.CompanyID) {
		v.GrantRoles[r.ID] = true
	}
	for _, r := range u.Roles {
		v.HeldRoles[r.ID] = true
	}
	manage := manages(a, u)
	v.CanEdit = a.Can(roster.PermUsersEdit) && (manage || v.Self)
	v.CanRoles = a.Can(roster.PermUsersRoles) && manage
	v.CanBlock = a.Can(roster.PermUsersBlock) && manage
	v.CanDelete = a.Can(roster.PermUsersDelete) && manage
	v.CanCreds = a.Can(roster.PermUsersCredentials) && manage
	v.CanAudit = a.Can(roster.PermAuditView)
	if v.CanAudit {
		ev, err := p.App.Events.List(ctx, roster.EventFilter{UserID: &u.ID, Limit: 10})
		if err != nil {
			return nil, err
		}
		v.Events = ev.Items
	}
	if v.Block, err = p.blockInfo(ctx, a.Scope, u); err != nil {
		return nil, err
	}
	ac, err := p.newActionContext(r, "")
	if err != nil {
		return nil, err
	}
	for _, act := range v.page.actions(ac, u) {
		// An e-mail user's reset is the card's "E-mail a password-reset
		// link" section: one way on the card, not two.
		if act.Key == "password-reset" && u.AuthMethod == roster.AuthEmail && v.CanCreds {
			continue
		}
		v.Actions = append(v.Actions, act)
	}
	v.Form = map[string]string{"first_name": u.FirstName, "middle_name": u.MiddleName, "last_name": u.LastName,
		"phone": u.Phone, "work_phone": u.WorkPhone, "position": u.Position}
	if err := p.userOps(ctx, a, v); err != nil {
		return nil, err
	}
	if err := p.cardNotifications(r, v, nil); err != nil {
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

// cardRefused shows a user's card again after err refused the form of one
// of its sections: the section open, and show filling in the errors and
// what was posted.
func (p *Panel) cardRefused(w http.ResponseWriter, r *http.Request, id int64, err error, section string, show func(v *userView) error) error {
	v, cerr := p.userCard(w, r, id)
	if cerr != nil {
		return cerr
	}
	v.Open = section
	if err := show(v); err != nil {
		return err
	}
	return p.render(w, r, formStatus(err), "user", v)
}

// userAction runs one card action: the permission check, the change, and
// either a redirect with a flash or the form again with its errors — the
// action's confirmation (useractions.go) for the card's actions, the card
// for its other sections.
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
		if _, page := userActionPages[section]; page {
			v, verr := p.userActionView(w, r, id, section)
			if verr != nil {
				return verr
			}
			v.Errors = *fe
			for k := range v.Form {
				if val, ok := r.PostForm[k]; ok {
					v.Form[k] = val[0]
				}
			}
			if section == "roles" {
				v.HeldRoles = map[int64]bool{}
				for _, id := range formIDs(r.PostForm["role_ids"]) {
					v.HeldRoles[id] = true
				}
			}
			return p.render(w, r, formStatus(err), "useraction", v)
		}
		return p.cardRefused(w, r, id, err, section, func(v *userView) error {
			v.Errors = *fe
			for k := range v.Form {
				if val, ok := r.PostForm[k]; ok {
					v.Form[k] = val[0]
				}
			}
			return nil
		})
	}
	if ret := localPath(r.PostFormValue("return"), ""); ret != "" {
		return p.redirect(w, r, ret, flashKey, 0)
	}
	if flashKey == "flash.user_deleted" {
		return p.redirect(w, r, p.listURL(r), flashKey, 0)
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
	return p.userAction(w, r, roster.PermUsersBlock, "unblock", "flash.user_unblocked", func(ctx context.Context, a *roster.Actor, id int64) error {
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
	return p.userAction(w, r, roster.PermUsersCredentials, "invitation", "flash.invitation_sent", func(ctx context.Context, a *roster.Actor, id int64) error {
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
		return p.redirect(w, r, localPath(r.PostFormValue("return"), "/users/"+strconv.FormatInt(id, 10)), "flash.reset_link_sent", 0)
	}
	u, err := p.Users.UserByID(ctx, state(r).actor.Scope, id)
	if err != nil {
		return err
	}
	v := &createdView{page: p.newPage(w, r, "created.reset_title", "users"), User: u, Password: creds.TemporaryPassword, Reset: true}
	return p.render(w, r, http.StatusOK, "created", v)
}
