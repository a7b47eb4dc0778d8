package app

import (
	"context"

	"github.com/roster-app/roster"
)

// FirstRun is what a fresh installation still lacks before people can use
// it: a company (its copies of the default roles come with it), then
// people in it. The Main administrator is guided through both in order.
type FirstRun struct {
	// NeedCompany: no company exists besides the platform's own.
	NeedCompany bool `json:"need_company"`
	// NeedPeople: companies exist but nobody is in any of them yet;
	// CompanyID is the first of them, where people are added.
	NeedPeople bool  `json:"need_people"`
	CompanyID  int64 `json:"company_id,omitempty"`
}

// FirstRun answers the steps left for the Main administrator (someone of
// the platform company who may create companies) of a fresh installation;
// nil once done, and always nil for everyone else.
func (s *Companies) FirstRun(ctx context.Context) (*FirstRun, error) {
	a := roster.ActorFromContext(ctx)
	if a == nil || a.User == nil || a.User.CompanyID != roster.PlatformCompanyID || !a.Can(roster.PermCompaniesManage) ||
		a.Impersonator != nil {
		return nil, nil
	}
	cos, err := s.app.d.Companies.Companies(ctx, a.Scope)
	if err != nil {
		return nil, err
	}
	var first *roster.Company
	for _, c := range cos {
		if c.ID == roster.PlatformCompanyID {
			continue
		}
		if c.UserCount > 0 {
			return nil, nil
		}
		if first == nil || c.ID < first.ID {
			first = c
		}
	}
	if first == nil {
		return &FirstRun{NeedCompany: true}, nil
	}
	return &FirstRun{NeedPeople: true, CompanyID: first.ID}, nil
}
