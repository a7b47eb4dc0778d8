package panel

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/outbox"
)

// This file serves the Main administrator's Outbox (messages kept when
// SMTP is not configured, and sent ones) and the company settings page
// for the credential rules.

// outboxRow is one e-mail of the outbox.
type outboxRow struct {
	*roster.Job
	To      string
	Subject string
	Links   []string
	// Unreadable is set when the sealed payload cannot be opened.
	Unreadable bool
}

// outboxView is the Outbox page.
type outboxView struct {
	*page
	Items  []outboxRow
	State  string
	States []string
	Next   int64
}

// handleOutbox lets the Main administrator read e-mail, sent or not.
func (p *Panel) handleOutbox(w http.ResponseWriter, r *http.Request) error {
	a, ctx := state(r).actor, r.Context()
	if !a.MainAdmin {
		return roster.Errorf(roster.EFORBIDDEN, "Only the Main administrator reads the outbox.")
	}
	q := r.URL.Query()
	f := roster.JobFilter{Kind: outbox.Kind, Limit: 50}
	states := []string{roster.JobPending, roster.JobHeld, roster.JobDone, roster.JobDead}
	st := q.Get("state")
	for _, s := range states {
		if s == st {
			f.State = st
		}
	}
	if id, ok := pathID(q.Get("before")); ok {
		f.BeforeID = id
	}
	if err := p.keys(ctx); err != nil {
		return err
	}
	list, err := p.Jobs.Jobs(ctx, f)
	if err != nil {
		return err
	}
	v := &outboxView{page: p.newPage(w, r, "outbox.title", "outbox"), State: f.State, States: states}
	for _, j := range list {
		row := outboxRow{Job: j}
		if m, err := p.creds.box.Decode(j.Payload); err != nil {
			row.Unreadable = true
		} else {
			row.To, row.Subject, row.Links = m.To, m.Subject, outbox.Links(m)
		}
		v.Items = append(v.Items, row)
	}
	if len(list) == f.Limit {
		v.Next = list[len(list)-1].ID
	}
	return p.render(w, r, http.StatusOK, "outbox", v)
}

// JobState translates a job state.
func (pg *page) JobState(s string) string { return pg.T("outbox.state." + s) }

// settingsView is the company credential settings page.
type settingsView struct {
	*page
	Settings *roster.CompanySettings
	Form     map[string]string
	Errors   formErrors
}

// settingsAllowed refuses all but the Main administrator and Company
// administrators, as the API does.
func settingsAllowed(a *roster.Actor) error {
	if !a.MainAdmin && !a.User.HasRole(roster.RoleCompanyAdmin) {
		return roster.Errorf(roster.EFORBIDDEN, "Only a Company administrator or the Main administrator manages these settings.")
	}
	return nil
}

// CanSettings reports whether the signed-in user manages the company's
// credential settings (for the navigation).
func (pg *page) CanSettings() bool {
	return pg.Actor != nil && settingsAllowed(pg.Actor) == nil
}

func (p *Panel) handleCredentialSettings(w http.ResponseWriter, r *http.Request) error {
	a := state(r).actor
	if err := settingsAllowed(a); err != nil {
		return err
	}
	cs, err := p.Credentials.CompanySettings(r.Context(), a.Scope, a.User.CompanyID)
	if err != nil {
		return err
	}
	v := &settingsView{page: p.newPage(w, r, "settings.title", "settings"), Settings: cs, Form: map[string]string{
		"invitation_ttl_hours": strconv.Itoa(cs.InvitationTTLHours), "password_min_length": strconv.Itoa(cs.PasswordMinLength),
		"idle_timeout_seconds": strconv.Itoa(cs.IdleTimeoutSeconds), "dormant_block_days": strconv.Itoa(cs.DormantBlockDays)}}
	return p.render(w, r, http.StatusOK, "settings", v)
}

func (p *Panel) handleCredentialSettingsSave(w http.ResponseWriter, r *http.Request) error {
	a, ctx := state(r).actor, r.Context()
	cs, err := p.App.Companies.Settings(ctx, a.User.CompanyID)
	if err != nil {
		return err
	}
	form := map[string]string{}
	var upd roster.CompanySettingsUpdate
	var val roster.Validation
	for field, dst := range map[string]**int{"invitation_ttl_hours": &upd.InvitationTTLHours,
		"password_min_length": &upd.PasswordMinLength, "idle_timeout_seconds": &upd.IdleTimeoutSeconds} {
		s := strings.TrimSpace(r.PostFormValue(field))
		form[field] = s
		n, err := strconv.Atoi(s)
		if err != nil {
			val.Add(field, "out_of_range", "The value is out of range.")
			continue
		}
		*dst = &n
	}
	// Dormant-account blocking (issue 10, item 6); a form without the
	// field leaves it as it is.
	if d := strings.TrimSpace(r.PostFormValue("dormant_block_days")); d != "" || r.PostForm.Has("dormant_block_days") {
		form["dormant_block_days"] = d
		if n, err := strconv.Atoi(d); err != nil {
			val.Add("dormant_block_days", "out_of_range", "The value is out of range.")
		} else {
			upd.DormantBlockDays = &n
		}
	}
	err = val.Err()
	if err == nil {
		_, err = p.App.Companies.UpdateSettings(ctx, cs.CompanyID, upd)
	}
	if err != nil {
		fe, ok := newFormErrors(state(r).lang, err)
		if !ok {
			return err
		}
		v := &settingsView{page: p.newPage(w, r, "settings.title", "settings"), Settings: cs, Form: form, Errors: *fe}
		return p.render(w, r, http.StatusUnprocessableEntity, "settings", v)
	}
	return p.redirect(w, r, "/settings/credentials", "flash.settings_saved", 0)
}
