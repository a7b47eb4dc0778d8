package app

import (
	"context"
	"strings"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/secure"
)

// ServiceTokens are the workflows on a company's service tokens (issue 10,
// item 1): a person holding service_tokens.manage gives an integration a
// named token with some of their own permissions, an optional expiry and
// an optional IP allowlist; lists them with their last use; revokes them.
type ServiceTokens struct{ app *App }

// NewServiceToken is a token as the front doors receive it.
type NewServiceToken struct {
	// CompanyID is a company in the actor's scope; 0 means their own.
	CompanyID   int64
	Name        string
	Permissions []string
	ExpiresAt   *time.Time
	IPAllowlist []string
}

// CreatedServiceToken is a new token with its secret, shown this once:
// only its SHA-256 is stored.
type CreatedServiceToken struct {
	*roster.ServiceToken
	Token string `json:"token"`
}

// errTokenActor refuses token management to anything but a person: a token
// never makes or revokes tokens.
var errTokenActor = roster.Errorf(roster.EFORBIDDEN, "Service tokens are managed by people, not by service tokens.")

func tokenManager(ctx context.Context) (*roster.Actor, error) {
	a := roster.ActorFromContext(ctx)
	if a != nil && a.Token != nil {
		return nil, errTokenActor
	}
	return actor(ctx, roster.PermServiceTokensManage)
}

// Create makes a token. Every permission must be in the catalog, allowed
// to a company role and held by the actor (scim.provision also needs every
// permission it implies): a token never gets more than its creator has.
func (s *ServiceTokens) Create(ctx context.Context, n NewServiceToken) (*CreatedServiceToken, error) {
	a, err := tokenManager(ctx)
	if err != nil {
		return nil, err
	}
	n.Name = strings.TrimSpace(n.Name)
	cerr := s.app.companyIn(ctx, a, &n.CompanyID)
	var v roster.Validation
	roster.ValidateServiceTokenName(&v, "name", n.Name)
	perms := checkTokenPermissions(&v, a, n.Permissions)
	if n.ExpiresAt != nil && !n.ExpiresAt.After(s.app.d.Clock()) {
		v.Add("expires_at", "in_past", "The expiry must be in the future.")
	}
	list, aerr := roster.ParseAllowlist(n.IPAllowlist)
	if err := merge(cerr, v.Err(), aerr); err != nil {
		return nil, err
	}
	token, hash := secure.NewToken()
	t := &roster.ServiceToken{CompanyID: n.CompanyID, Name: n.Name, Permissions: perms, IPAllowlist: list.Strings()}
	if n.ExpiresAt != nil {
		e := n.ExpiresAt.UTC().Truncate(time.Second)
		t.ExpiresAt = &e
	}
	if err := s.app.d.ServiceTokens.CreateServiceToken(ctx, t, hash); err != nil {
		return nil, err
	}
	return &CreatedServiceToken{ServiceToken: t, Token: roster.ServiceTokenPrefix + token}, nil
}

// TokenMayHold reports whether actor a may give a token permission p, for
// forms that offer only those.
func TokenMayHold(a *roster.Actor, p roster.Permission) bool {
	var v roster.Validation
	checkTokenPermissions(&v, a, []string{string(p)})
	return v.Err() == nil
}

// checkTokenPermissions validates a token's permissions and returns them
// in catalog order.
func checkTokenPermissions(v *roster.Validation, a *roster.Actor, keys []string) []roster.Permission {
	if len(keys) == 0 {
		v.Add("permissions", "required", "Choose at least one permission.")
		return nil
	}
	set := roster.PermissionSet{}
	for _, k := range keys {
		p := roster.Permission(k)
		switch {
		case !roster.KnownPermission(p):
			v.Add("permissions", "unknown_permission", "Unknown permission: "+k+".")
			return nil
		case roster.PlatformPermission(p) || p == roster.PermCompaniesSwitch || p == roster.PermServiceTokensManage:
			v.Add("permissions", "not_for_tokens", "A service token cannot hold "+k+".")
			return nil
		case !a.Can(p):
			v.Add("permissions", "not_yours", "You cannot give a permission you do not have: "+k+".")
			return nil
		case p == roster.PermSCIMProvision && !a.Permissions.Contains(roster.SCIMImplied):
			v.Add("permissions", "not_yours", "scim.provision manages users and their roles: you need every users permission and roles.view to give it.")
			return nil
		}
		set[p] = true
	}
	return set.Sorted()
}

// List returns the tokens of a company in the actor's scope (0: their own).
func (s *ServiceTokens) List(ctx context.Context, companyID int64) ([]*roster.ServiceToken, error) {
	a, err := tokenManager(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.app.companyIn(ctx, a, &companyID); err != nil {
		return nil, err
	}
	return s.app.d.ServiceTokens.ServiceTokens(ctx, a.Scope, companyID)
}

// Revoke deletes a token; the next request made with it is refused.
func (s *ServiceTokens) Revoke(ctx context.Context, id int64) error {
	a, err := tokenManager(ctx)
	if err != nil {
		return err
	}
	return s.app.d.ServiceTokens.RevokeServiceToken(ctx, a.Scope, id)
}
