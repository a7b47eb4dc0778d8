package panel

import (
	"net/http"
	"slices"
	"strings"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/secure"
)

type companiesView struct {
	*page
	Companies  []*roster.Company
	Names      map[int64]string
	Dependents []int64
	CanCreate  bool
	CanSwitch  bool
	Errors     formErrors
	NewName    string
	NewParent  int64
}

// Switchable reports whether the actor may switch into a company: a direct
// dependent of their own, from an ordinary (not already switched) session.
func (v *companiesView) Switchable(id int64) bool {
	return v.CanSwitch && slices.Contains(v.Dependents, id)
}

func (p *Panel) companiesPage(w http.ResponseWriter, r *http.Request) (*companiesView, error) {
	a := state(r).actor
	if !a.Can(roster.PermCompaniesView) && !a.Can(roster.PermCompaniesManage) && !a.Can(roster.PermCompaniesSwitch) {
		return nil, roster.Errorf(roster.EFORBIDDEN, "You do not have permission to do this.")
	}
	ctx := r.Context()
	v := &companiesView{page: p.newPage(w, r, "companies.title", "companies"), Names: map[int64]string{},
		CanCreate: a.Can(roster.PermCompaniesManage),
		CanSwitch: a.Can(roster.PermCompaniesSwitch) && a.SessionKind != roster.SessionSwitch}
	var err error
	if v.Companies, err = p.Companies.Companies(ctx, a.Scope); err != nil {
		return nil, err
	}
	for _, c := range v.Companies {
		v.Names[c.ID] = c.Name
	}
	if v.Dependents, err = p.Companies.DependentIDs(ctx, a.User.CompanyID); err != nil {
		return nil, err
	}
	return v, nil
}

func (p *Panel) handleCompanies(w http.ResponseWriter, r *http.Request) error {
	v, err := p.companiesPage(w, r)
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "companies", v)
}

func (p *Panel) handleCompanyCreate(w http.ResponseWriter, r *http.Request) error {
	st := state(r)
	c := &roster.Company{Name: strings.TrimSpace(r.PostFormValue("name"))}
	if raw := r.PostFormValue("parent_id"); raw != "" {
		id, _ := pathID(raw) // not an ID: 0, which no company has
		c.ParentID = &id
	}
	if err := p.App.Companies.Create(r.Context(), c); err != nil {
		fe, ok := newFormErrors(st.lang, err)
		if !ok {
			return err
		}
		v, perr := p.companiesPage(w, r)
		if perr != nil {
			return perr
		}
		v.Errors, v.NewName = *fe, c.Name
		if c.ParentID != nil {
			v.NewParent = *c.ParentID
		}
		return p.render(w, r, formStatus(err), "companies", v)
	}
	return p.redirect(w, r, "/companies", "flash.company_created", 0)
}

// handleSwitch signs a reseller administrator into a direct dependent
// company's administrator account through a one-hour switch session (U15).
// The parent session's token moves to a second cookie for the way back.
func (p *Panel) handleSwitch(w http.ResponseWriter, r *http.Request) error {
	if err := need(r, roster.PermCompaniesSwitch); err != nil {
		return err
	}
	ctx := r.Context()
	st := state(r)
	a := st.actor
	if st.session.Kind != roster.SessionWeb {
		return roster.Errorf(roster.EFORBIDDEN, "Return to your own account before switching again.")
	}
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return roster.Errorf(roster.ENOTFOUND, "Company not found.")
	}
	deps, err := p.Companies.DependentIDs(ctx, a.User.CompanyID)
	if err != nil {
		return err
	}
	if !slices.Contains(deps, id) || id == a.User.CompanyID {
		return roster.Errorf(roster.ENOTFOUND, "Company not found.")
	}
	company, err := p.Companies.CompanyByID(ctx, a.Scope, id)
	if err != nil {
		return err
	}
	adminRole, err := p.Roles.RoleByKey(ctx, id, roster.RoleCompanyAdmin)
	if err != nil {
		return err
	}
	// The users list switches into the administrator it names (issue 12);
	// the companies page into the company's first one.
	only := formIDs(r.PostForm["user_id"])
	admins, err := p.Users.Users(ctx, roster.Scope{CompanyIDs: []int64{id}}, roster.UserFilter{
		RoleID: &adminRole.ID, Status: roster.StatusActive, CompanyID: &id, Sort: "created_at", Limit: 1, IDs: only})
	if err != nil {
		return err
	}
	if len(admins.Items) == 0 {
		return roster.Errorf(roster.ECONFLICT, "%s has no active administrator to switch to.", company.Name)
	}
	target := admins.Items[0]
	token, err := p.createSession(r, target.ID, roster.SessionSwitch, roster.SwitchTTL, roster.SwitchTTL, &st.session.ID, &a.User.ID)
	if err != nil {
		return err
	}
	if err := p.Events.LogEvent(ctx, &roster.Event{CompanyID: id, Type: roster.EventSwitch,
		TargetUserID: &target.ID, TargetName: target.DisplayName()}); err != nil {
		return err
	}
	p.setCookie(w, parentCookie, st.token, 0)
	p.setCookie(w, sessionCookie, token, 0)
	return p.redirect(w, r, "/users", "flash.switched", 0)
}

// handleSwitchBack ends the switch session and restores the parent one.
func (p *Panel) handleSwitchBack(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	st := state(r)
	if st.session.Kind != roster.SessionSwitch || st.session.ParentID == nil {
		return p.redirect(w, r, "/", "", 0)
	}
	if err := p.Events.LogEvent(ctx, &roster.Event{CompanyID: st.actor.User.CompanyID, Type: roster.EventSwitchBack,
		TargetUserID: &st.actor.User.ID, TargetName: st.actor.User.DisplayName()}); err != nil {
		return err
	}
	if err := p.Sessions.DeleteSession(ctx, st.session.ID); err != nil {
		return err
	}
	parentToken := p.cookie(r, parentCookie)
	p.clearCookie(w, parentCookie)
	if secure.ValidTokenFormat(parentToken) {
		parent, err := p.Sessions.SessionByTokenHash(ctx, secure.HashToken(parentToken))
		if err == nil && parent.ID == *st.session.ParentID && !parent.Expired(p.Clock()) {
			p.setCookie(w, sessionCookie, parentToken, 0)
			return p.redirect(w, r, "/companies", "flash.switched_back", 0)
		}
	}
	p.clearCookie(w, sessionCookie)
	return p.redirect(w, r, "/signin", "", 0)
}
