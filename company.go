package roster

import (
	"strings"
	"time"
)

// Company is a tenant. A company with a parent is a dependent company of
// that parent (a reseller), which sees and manages it.
type Company struct {
	ID        int64  `json:"id"`
	ParentID  *int64 `json:"parent_id"`
	Name      string `json:"name"`
	UserCount int    `json:"user_count"`
	// Plan, Reseller and AdminsAppointAdmins are company settings (see
	// CompanySettings) that only the Main administrator changes; they are
	// carried here because the grant rule (Actor.CheckGrant) reads them.
	Plan                string    `json:"-"`
	Reseller            bool      `json:"-"`
	AdminsAppointAdmins bool      `json:"-"`
	CreatedAt           time.Time `json:"created_at"`
	UpdatedAt           time.Time `json:"updated_at"`
}

// Company plans (U13): call statistics come with Professional and Pro Plus.
const (
	PlanStandard     = "standard"
	PlanProfessional = "professional"
	PlanProPlus      = "pro_plus"
)

// ValidPlan reports whether p is a plan.
func ValidPlan(p string) bool {
	return p == PlanStandard || p == PlanProfessional || p == PlanProPlus
}

// PlanHasCallStatistics reports whether plan p includes call statistics.
func PlanHasCallStatistics(p string) bool { return p == PlanProfessional || p == PlanProPlus }

// PlatformCompanyID is the company of the Main administrator, created by the
// first migration: the platform operator itself.
const PlatformCompanyID int64 = 1

// Validate checks a company's fields.
func (c *Company) Validate() error {
	var v Validation
	c.Name = strings.TrimSpace(c.Name)
	ValidateRoleName(&v, "name", c.Name)
	return v.Err()
}

// Scope is the set of companies an actor may see: all of them for the Main
// administrator, otherwise their own company and its dependent companies.
type Scope struct {
	All        bool
	CompanyIDs []int64
}

// Contains reports whether the scope includes company id.
func (s Scope) Contains(id int64) bool {
	if s.All {
		return true
	}
	for _, c := range s.CompanyIDs {
		if c == id {
			return true
		}
	}
	return false
}

// Narrow returns the scope limited to one company, or an empty scope when
// that company is outside it.
func (s Scope) Narrow(id int64) Scope {
	if s.Contains(id) {
		return Scope{CompanyIDs: []int64{id}}
	}
	return Scope{CompanyIDs: []int64{}}
}
