package app

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/secure"
)

// Companies are the workflows on companies (tenants) and their settings.
type Companies struct{ app *App }

// Create creates a company, a dependent one when c.ParentID names a
// company in the actor's scope; its copies of the default roles come with it.
func (s *Companies) Create(ctx context.Context, c *roster.Company) error {
	a, err := actor(ctx, roster.PermCompaniesManage)
	if err != nil {
		return err
	}
	verr := c.Validate()
	var perr error
	if c.ParentID != nil {
		if _, err := s.app.d.Companies.CompanyByID(ctx, a.Scope, *c.ParentID); err != nil {
			if perr = fieldNotFound(err, "parent_id", "No such company."); roster.ErrorCode(perr) != roster.EINVALID {
				return perr
			}
		}
	}
	if err := merge(verr, perr); err != nil {
		return err
	}
	return s.app.d.Companies.CreateCompany(ctx, c)
}

// Rename renames a company in the actor's scope.
func (s *Companies) Rename(ctx context.Context, id int64, name string) (*roster.Company, error) {
	a, err := actor(ctx, roster.PermCompaniesManage)
	if err != nil {
		return nil, err
	}
	if _, err := s.app.d.Companies.CompanyByID(ctx, a.Scope, id); err != nil {
		return nil, err
	}
	check := roster.Company{Name: strings.TrimSpace(name)}
	if err := check.Validate(); err != nil {
		return nil, err
	}
	return s.app.d.Companies.RenameCompany(ctx, a.Scope, id, check.Name)
}

// Settings returns the credential rules of a company in scope to those who
// manage them: the Main administrator, or a Company administrator of the
// company or of its reseller.
func (s *Companies) Settings(ctx context.Context, id int64) (*roster.CompanySettings, error) {
	a, err := actor(ctx, "")
	if err != nil {
		return nil, err
	}
	cs, err := s.app.d.Credentials.CompanySettings(ctx, a.Scope, id)
	if err != nil {
		return nil, err
	}
	if !a.MainAdmin && (a.User == nil || !a.User.HasRole(roster.RoleCompanyAdmin)) {
		return nil, roster.Errorf(roster.EFORBIDDEN, "Only a Company administrator or the Main administrator manages these settings.")
	}
	return cs, nil
}

// UpdateSettings changes a company's settings, with an event. The plan
// (U13) and the appointment of administrators (U7: reseller,
// admins_appoint_admins) are changed only by the Main administrator.
func (s *Companies) UpdateSettings(ctx context.Context, id int64, upd roster.CompanySettingsUpdate) (*roster.CompanySettings, error) {
	if _, err := s.Settings(ctx, id); err != nil {
		return nil, err
	}
	if upd.MainAdminOnly() && !roster.ActorFromContext(ctx).MainAdmin {
		return nil, roster.Errorf(roster.EFORBIDDEN, "Only the Main administrator changes a company's plan, reseller and administrator appointment settings.")
	}
	if err := upd.Validate(); err != nil {
		return nil, err
	}
	return s.app.d.Credentials.UpdateCompanySettings(ctx, roster.ActorFromContext(ctx).Scope, id, upd)
}

// SessionMeta describes where a new session comes from.
type SessionMeta struct {
	Address   string
	UserAgent string
}

// Switched is a started switch session (U15).
type Switched struct {
	// Token is the session's bearer token (API) or cookie value (panel).
	Token   string
	Session *roster.Session
	Admin   *roster.User
	Company *roster.Company
}

// SwitchTargets returns a direct dependent company of the actor's and the
// active administrators one may act as there, oldest first. A company with
// none answers ECONFLICT, which a door turns into an offer to create one.
func (s *Companies) SwitchTargets(ctx context.Context, companyID int64) (*roster.Company, []*roster.User, error) {
	a, err := actor(ctx, roster.PermCompaniesSwitch)
	if err != nil {
		return nil, nil, err
	}
	if a.SessionKind == roster.SessionSwitch {
		return nil, nil, roster.Errorf(roster.EFORBIDDEN, "You are already acting in another company; switch back first.")
	}
	c, err := s.app.d.Companies.CompanyByID(ctx, a.Scope, companyID)
	if err != nil {
		return nil, nil, err
	}
	if c.ParentID == nil || *c.ParentID != a.Company.ID {
		return nil, nil, roster.Errorf(roster.EFORBIDDEN, "You can switch only into a company that depends directly on yours.")
	}
	role, err := s.app.d.Roles.RoleByKey(ctx, c.ID, roster.RoleCompanyAdmin)
	if err != nil {
		return nil, nil, err
	}
	scope := roster.Scope{CompanyIDs: []int64{c.ID}}
	f := roster.UserFilter{RoleID: &role.ID, Status: roster.StatusActive, Sort: "created_at", Limit: roster.MaxPageSize}
	var admins []*roster.User
	for {
		page, err := s.app.d.Users.Users(ctx, scope, f)
		if err != nil {
			return nil, nil, err
		}
		admins = append(admins, page.Items...)
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	if len(admins) == 0 {
		return c, nil, roster.Errorf(roster.ECONFLICT, "%s has no active administrator to switch to.", c.Name)
	}
	return c, admins, nil
}

// Switch lets a reseller's administrator act as an administrator of a
// direct dependent company (U15): userID names which one (nil: the oldest
// active one). It starts a one-hour switch session whose parent is the
// actor's session, and logs the switch with both identities.
func (s *Companies) Switch(ctx context.Context, companyID int64, userID *int64, meta SessionMeta) (*Switched, error) {
	c, admins, err := s.SwitchTargets(ctx, companyID)
	if err != nil {
		return nil, err
	}
	admin := admins[0]
	if userID != nil {
		admin = nil
		for _, u := range admins {
			if u.ID == *userID {
				admin = u
			}
		}
		if admin == nil {
			var v roster.Validation
			v.Add("user_id", "not_company_admin", "This user is not an active administrator of the company.")
			return nil, v.Err()
		}
	}
	a := roster.ActorFromContext(ctx)
	cs, err := s.app.Settings(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	token, hash := secure.NewToken()
	now := s.app.now()
	if a.User == nil {
		return nil, errPersonOnly
	}
	parent, imp := a.SessionID, a.User.ID
	sess := &roster.Session{TokenHash: hash, Kind: roster.SessionSwitch, UserID: admin.ID, ParentID: &parent,
		ImpersonatorID: &imp, Address: meta.Address, UserAgent: truncate(meta.UserAgent, 300), CreatedAt: now,
		LastSeenAt: now, IdleTimeout: admin.IdleTimeout(cs.IdleTimeoutSeconds), ExpiresAt: now.Add(roster.SwitchTTL)}
	if err := s.app.d.Sessions.CreateSession(ctx, sess); err != nil {
		return nil, err
	}
	if err := s.app.d.Events.LogEvent(ctx, &roster.Event{CompanyID: c.ID, Type: roster.EventSwitch, TargetUserID: &admin.ID,
		TargetName: admin.DisplayName(), After: map[string]any{"company_id": c.ID, "company": c.Name}}); err != nil {
		return nil, err
	}
	return &Switched{Token: token, Session: sess, Admin: admin, Company: c}, nil
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
