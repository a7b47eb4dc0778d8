package app

import (
	"context"
	"strings"

	"github.com/roster-app/roster"
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
	if !a.MainAdmin && !a.User.HasRole(roster.RoleCompanyAdmin) {
		return nil, roster.Errorf(roster.EFORBIDDEN, "Only a Company administrator or the Main administrator manages these settings.")
	}
	return cs, nil
}

// UpdateSettings changes a company's credential rules, with an event.
func (s *Companies) UpdateSettings(ctx context.Context, id int64, upd roster.CompanySettingsUpdate) (*roster.CompanySettings, error) {
	if _, err := s.Settings(ctx, id); err != nil {
		return nil, err
	}
	if err := upd.Validate(); err != nil {
		return nil, err
	}
	return s.app.d.Credentials.UpdateCompanySettings(ctx, roster.ActorFromContext(ctx).Scope, id, upd)
}
