package panel

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
	"github.com/roster-app/roster/secure"
)

type companiesView struct {
	*page
	Companies  []*roster.Company
	Names      map[int64]string
	Dependents []int64
	CanCreate  bool
	CanSwitch  bool
	// CanPlan shows each company's plan and administrator appointment
	// settings as a form: the Main administrator's alone (U7, U13).
	CanPlan   bool
	Plans     []string
	Errors    formErrors
	NewName   string
	NewParent int64
	// Guide is the first-run guidance of a fresh installation, or nil.
	Guide *app.FirstRun
	// Tree is the companies in hierarchy order: each reseller followed by
	// its dependents, one level deeper.
	Tree []companyRow
	// RenameID is the company whose rename form is open; RenameName what
	// was typed there.
	RenameID   int64
	RenameName string
}

// companyRow is a company with its depth in the hierarchy.
type companyRow struct {
	*roster.Company
	Depth int
}

// companyTree orders companies as their hierarchy: roots (companies whose
// parent is not in the list) by name order as listed, each followed by its
// dependents.
func companyTree(cos []*roster.Company) []companyRow {
	in := map[int64]bool{}
	children := map[int64][]*roster.Company{}
	for _, c := range cos {
		in[c.ID] = true
	}
	var roots []*roster.Company
	for _, c := range cos {
		if c.ParentID != nil && in[*c.ParentID] && *c.ParentID != c.ID {
			children[*c.ParentID] = append(children[*c.ParentID], c)
		} else {
			roots = append(roots, c)
		}
	}
	var out []companyRow
	seen := map[int64]bool{}
	var walk func(c *roster.Company, depth int)
	walk = func(c *roster.Company, depth int) {
		if seen[c.ID] {
			return
		}
		seen[c.ID] = true
		out = append(out, companyRow{Company: c, Depth: depth})
		for _, k := range children[c.ID] {
			walk(k, depth+1)
		}
	}
	for _, c := range roots {
		walk(c, 0)
	}
	return out
}

// Indent is a row's indentation class (no inline styles under the CSP),
// at most four levels.
func (r companyRow) Indent() string { return "depth-" + strconv.Itoa(min(r.Depth, 4)) }

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
		CanSwitch: a.Can(roster.PermCompaniesSwitch) && a.SessionKind != roster.SessionSwitch,
		CanPlan:   a.MainAdmin, Plans: []string{roster.PlanStandard, roster.PlanProfessional, roster.PlanProPlus}}
	var err error
	if v.Companies, err = p.Companies.Companies(ctx, a.Scope); err != nil {
		return nil, err
	}
	for _, c := range v.Companies {
		v.Names[c.ID] = c.Name
	}
	v.Tree = companyTree(v.Companies)
	// ?rename=ID opens that company's rename form.
	if id, ok := pathID(r.URL.Query().Get("rename")); ok && v.CanCreate {
		if name, ok := v.Names[id]; ok {
			v.RenameID, v.RenameName = id, name
		}
	}
	if v.Dependents, err = p.Companies.DependentIDs(ctx, a.User.CompanyID); err != nil {
		return nil, err
	}
	if v.Guide, err = p.App.Companies.FirstRun(ctx); err != nil {
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

// handleCompanyRename renames a company in scope; a refused name shows
// the list again with the row's form open.
func (p *Panel) handleCompanyRename(w http.ResponseWriter, r *http.Request) error {
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return roster.Errorf(roster.ENOTFOUND, "Company not found.")
	}
	name := r.PostFormValue("name")
	if _, err := p.App.Companies.Rename(r.Context(), id, name); err != nil {
		fe, ok := newFormErrors(state(r).lang, err)
		if !ok {
			return err
		}
		v, perr := p.companiesPage(w, r)
		if perr != nil {
			return perr
		}
		v.Errors, v.RenameID, v.RenameName = *fe, id, name
		return p.render(w, r, formStatus(err), "companies", v)
	}
	return p.redirect(w, r, "/companies", "flash.company_renamed", 0)
}

// handleCompanyPlan saves a company's plan, reseller flag and whether its
// administrators appoint administrators of their own company; the app
// refuses anyone but the Main administrator.
func (p *Panel) handleCompanyPlan(w http.ResponseWriter, r *http.Request) error {
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return roster.Errorf(roster.ENOTFOUND, "Company not found.")
	}
	plan := r.PostFormValue("plan")
	reseller := r.PostFormValue("reseller") == "1"
	appoint := r.PostFormValue("admins_appoint_admins") == "1"
	upd := roster.CompanySettingsUpdate{Plan: &plan, Reseller: &reseller, AdminsAppointAdmins: &appoint}
	if _, err := p.App.Companies.UpdateSettings(r.Context(), id, upd); err != nil {
		fe, ok := newFormErrors(state(r).lang, err)
		if !ok {
			return err
		}
		v, perr := p.companiesPage(w, r)
		if perr != nil {
			return perr
		}
		v.Errors = *fe
		return p.render(w, r, formStatus(err), "companies", v)
	}
	return p.redirect(w, r, "/companies", "flash.company_settings_saved", 0)
}

// switchView asks which administrator of a dependent company to act as,
// or says there is none and offers to create one.
type switchView struct {
	*page
	Company *roster.Company
	Admins  []*roster.User
	// CanCreate says the actor may add an administrator there.
	CanCreate bool
}

// handleSwitch signs a reseller administrator into a direct dependent
// company's administrator account through a one-hour switch session (U15).
// With several administrators and none chosen, it asks which; with none,
// it says so and offers to create one. The parent session's token moves to
// a second cookie for the way back.
func (p *Panel) handleSwitch(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	st := state(r)
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return roster.Errorf(roster.ENOTFOUND, "Company not found.")
	}
	var userID *int64
	if raw := r.PostFormValue("user_id"); raw != "" {
		uid, _ := pathID(raw)
		userID = &uid
	}
	if userID == nil {
		c, admins, err := p.App.Companies.SwitchTargets(ctx, id)
		if err != nil && (c == nil || roster.ErrorCode(err) != roster.ECONFLICT) {
			return err
		}
		if len(admins) != 1 {
			v := &switchView{page: p.newPage(w, r, "switch.title", "companies"), Company: c, Admins: admins,
				CanCreate: st.actor.Can(roster.PermUsersCreate)}
			status := http.StatusOK
			if len(admins) == 0 {
				status = http.StatusConflict
			}
			return p.render(w, r, status, "switch", v)
		}
	}
	sw, err := p.App.Companies.Switch(ctx, id, userID, app.SessionMeta{Address: p.clientAddress(r), UserAgent: r.UserAgent()})
	if err != nil {
		return err
	}
	p.setCookie(w, parentCookie, st.token, 0)
	p.setCookie(w, sessionCookie, sw.Token, 0)
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
