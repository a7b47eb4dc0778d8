package roster

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Service tokens (issue 10, item 1): named API tokens a company
// administrator makes for integrations (telephony, dialogue routing, SCIM).
// A token holds chosen permissions — a subset of its creator's own at
// creation, never more — an optional expiry and an optional IP allowlist.
// It is shown once and stored as a SHA-256 hash, like a session token.
// Requests made with it are attributed to the token in the event log.

// Event types of changes to service tokens.
const (
	EventServiceTokenCreated = "service_token.created"
	EventServiceTokenRevoked = "service_token.revoked"
)

func init() {
	EventTypes = append(EventTypes, EventServiceTokenCreated, EventServiceTokenRevoked)
}

// ServiceTokenPrefix starts every service token, so a bearer token says
// which kind it is before any database lookup.
const ServiceTokenPrefix = "rst_"

// Limits of service tokens.
const (
	MaxServiceTokens         = 50
	MaxServiceTokenNameRunes = 100
	// ServiceTokenTouchEvery bounds how often last_used_at is written: a
	// busy integration costs one write per token per interval, not one per
	// request.
	ServiceTokenTouchEvery = time.Minute
)

// ServiceToken is a company's API token for an integration. The secret
// itself is never stored or returned after creation.
type ServiceToken struct {
	ID            int64        `json:"id"`
	CompanyID     int64        `json:"company_id"`
	Name          string       `json:"name"`
	Permissions   []Permission `json:"permissions"`
	ExpiresAt     *time.Time   `json:"expires_at"`
	IPAllowlist   []string     `json:"ip_allowlist"`
	CreatedBy     *int64       `json:"created_by"`
	CreatedByName string       `json:"created_by_name"`
	CreatedAt     time.Time    `json:"created_at"`
	LastUsedAt    *time.Time   `json:"last_used_at"`
	LastUsedFrom  string       `json:"last_used_from"`
}

// ActorName is how the event log names a token acting.
func (t *ServiceToken) ActorName() string {
	return fmt.Sprintf("Service token %q (#%d)", t.Name, t.ID)
}

// Expired reports whether the token has expired at now.
func (t *ServiceToken) Expired(now time.Time) bool {
	return t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)
}

// Allows reports whether the token may be used from address; an empty
// allowlist allows every address.
func (t *ServiceToken) Allows(address string) bool {
	if len(t.IPAllowlist) == 0 {
		return true
	}
	list, err := ParseAllowlist(t.IPAllowlist)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(address)
	if err != nil {
		return false
	}
	return list.Allows(a)
}

// NeedsTouch reports whether last_used_at is stale enough to be written.
func (t *ServiceToken) NeedsTouch(now time.Time) bool {
	return t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= ServiceTokenTouchEvery
}

// ValidateServiceTokenName checks a token's name: one line, 1–100 characters.
func ValidateServiceTokenName(v *Validation, field, name string) {
	switch n := len([]rune(strings.TrimSpace(name))); {
	case n == 0:
		v.Add(field, "required", "Enter a name.")
	case n > MaxServiceTokenNameRunes:
		v.Add(field, "too_long", fmt.Sprintf("A name is at most %d characters.", MaxServiceTokenNameRunes))
	default:
		ValidateTextKind(v, field, name, SingleLine)
	}
}

// ServiceTokenService stores service tokens.
type ServiceTokenService interface {
	// CreateServiceToken stores t with the hash of its secret, sets its ID
	// and times and logs its creation; ECONFLICT past MaxServiceTokens.
	CreateServiceToken(ctx context.Context, t *ServiceToken, hash []byte) error
	// ServiceTokens lists a company's tokens in scope, oldest first.
	ServiceTokens(ctx context.Context, scope Scope, companyID int64) ([]*ServiceToken, error)
	// ServiceTokenByID returns a token in scope.
	ServiceTokenByID(ctx context.Context, scope Scope, id int64) (*ServiceToken, error)
	// ServiceTokenByHash finds the token of a secret's hash; ENOTFOUND
	// when none (revoked tokens are deleted).
	ServiceTokenByHash(ctx context.Context, hash []byte) (*ServiceToken, error)
	// RevokeServiceToken deletes a token in scope and logs it; the next
	// request with it is refused.
	RevokeServiceToken(ctx context.Context, scope Scope, id int64) error
	// TouchServiceToken records a use of the token at now from address.
	TouchServiceToken(ctx context.Context, id int64, now time.Time, address string) error
}

// ActorForServiceToken builds the actor of a request made with a live
// service token: the token's company, the token's permissions limited to
// what a company role may hold, and the company with its dependent
// companies as scope. The caller has checked expiry and the allowlist.
func ActorForServiceToken(ctx context.Context, companies CompanyService, t *ServiceToken, address string) (*Actor, error) {
	company, err := companies.CompanyByID(ctx, Scope{All: true}, t.CompanyID)
	if err != nil {
		return nil, err
	}
	perms := make(PermissionSet, len(t.Permissions))
	for _, p := range t.Permissions {
		if KnownPermission(p) && !PlatformPermission(p) {
			perms[p] = true
		}
	}
	deps, err := companies.DependentIDs(ctx, company.ID)
	if err != nil {
		return nil, err
	}
	return &Actor{Token: t, Company: company, Permissions: perms, Address: address,
		Scope: Scope{CompanyIDs: append([]int64{company.ID}, deps...)}}, nil
}
