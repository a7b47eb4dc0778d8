package roster

import (
	"context"
	"time"
)

// The store interfaces. One implementation (package sqlstore) speaks SQLite
// and PostgreSQL. Every method that changes data does it in one transaction
// together with its event-log entry; the actor, impersonator and address of
// that entry come from ActorFromContext(ctx). A scope argument limits what is
// visible: a row outside it is ENOTFOUND, exactly like a missing one.

// CompanyService manages tenants.
type CompanyService interface {
	// CompanyByID returns a company in scope.
	CompanyByID(ctx context.Context, scope Scope, id int64) (*Company, error)
	// Companies lists the companies in scope, ordered by name.
	Companies(ctx context.Context, scope Scope) ([]*Company, error)
	// DependentIDs returns the IDs of the companies whose parent is id.
	DependentIDs(ctx context.Context, id int64) ([]int64, error)
	// CreateCompany creates a company and its copies of DefaultRoles, and
	// sets c.ID and timestamps. A parent must exist (EINVALID on parent_id).
	CreateCompany(ctx context.Context, c *Company) error
	// RenameCompany changes a company's name.
	RenameCompany(ctx context.Context, scope Scope, id int64, name string) (*Company, error)
}

// UserService manages users. Permission checks happen before these calls;
// the escalation rules (Actor.CheckGrant, Actor.CheckManage) are applied by
// the store inside the transaction, against the current rows.
type UserService interface {
	// UserByID returns a user in scope, with roles.
	UserByID(ctx context.Context, scope Scope, id int64) (*User, error)
	// UserByUsername finds a user by e-mail or login (case-insensitive),
	// across all companies: both are unique in the installation.
	UserByUsername(ctx context.Context, username string) (*User, error)
	// UserPermissions returns the union of the permissions of the user's roles.
	UserPermissions(ctx context.Context, userID int64) (PermissionSet, error)
	// Users lists users in scope matching the filter, one keyset page at a
	// time; EINVALID on field "cursor" for a cursor that was tampered with.
	Users(ctx context.Context, scope Scope, f UserFilter) (*UserPage, error)
	// UserIDs returns the IDs of all users in scope matching the filter
	// (ignoring Limit and Cursor), at most max+1 of them.
	UserIDs(ctx context.Context, scope Scope, f UserFilter, max int) ([]int64, error)
	// CreateUser inserts the user with its roles (which must belong to its
	// company or be system roles; Actor.CheckGrant applies) and, with
	// invitationHash set, a pending invitation expiring at invitationExpiry.
	// ECONFLICT on field "email" or "login" for duplicates. jobs (the
	// invitation e-mail) are written in the same transaction.
	CreateUser(ctx context.Context, u *User, roleIDs []int64, invitationHash []byte, invitationExpiry time.Time, jobs ...*Job) error
	// CreateUserWithPasswordLink creates u, as CreateUser, and gives them
	// a single-use link to set their password (the reset token's hash,
	// valid until expiry), with the e-mail carrying it, in one transaction.
	CreateUserWithPasswordLink(ctx context.Context, u *User, roleIDs []int64, resetHash []byte, resetExpiry time.Time, jobs ...*Job) error
	// UpdateUser applies an update; EFORBIDDEN on a name the user set themselves
	// when the actor is someone else.
	UpdateUser(ctx context.Context, scope Scope, id int64, upd UserUpdate) (*User, error)
	// DeleteUser removes a user, their roles and sessions; events keep names.
	DeleteUser(ctx context.Context, scope Scope, id int64) error
	// BlockUser blocks a user and ends all their sessions; UnblockUser
	// makes them active again (or invited, if they never registered).
	BlockUser(ctx context.Context, scope Scope, id int64, comment string) (*User, error)
	UnblockUser(ctx context.Context, scope Scope, id int64, comment string) (*User, error)
	// SetUserRoles replaces a user's roles; each added or removed role passes
	// Actor.CheckGrant. At least one role remains.
	SetUserRoles(ctx context.Context, scope Scope, id int64, roleIDs []int64) (*User, error)
	// SetPassword stores a new password hash. temporary forces a change at
	// the next sign-in. A reset (temporary) also ends the user's sessions.
	SetPassword(ctx context.Context, scope Scope, id int64, hash string, temporary bool) error
	// ChangeOwnPassword stores a permanent password set by the user, ends
	// every other session of theirs and activates an invited user.
	ChangeOwnPassword(ctx context.Context, userID int64, hash string) error
	// RecordSignIn sets last_login_at and writes the sign-in event.
	RecordSignIn(ctx context.Context, userID int64) error
	// RecordSignInFailure writes a refused sign-in to the event log of the
	// user's company (no actor), when the user exists.
	RecordSignInFailure(ctx context.Context, userID int64, reason string) error
	// ResendInvitation replaces the pending invitation of an invited user
	// (the old link dies) and writes jobs (the new e-mail) with it.
	ResendInvitation(ctx context.Context, scope Scope, id int64, hash []byte, expiry time.Time, jobs ...*Job) error
	// BulkUsers applies a bulk action all or nothing; when any user is
	// refused it changes nothing and returns ECONFLICT with Refusals.
	BulkUsers(ctx context.Context, scope Scope, b BulkAction) (*BulkResult, error)
	// BulkUsersInTurn applies bulk actions one after another in one
	// transaction, all or nothing: a refusal in any of them changes
	// nothing (ECONFLICT with Refusals).
	BulkUsersInTurn(ctx context.Context, scope Scope, bs []BulkAction) ([]*BulkResult, error)
	// UserPreference returns a user's own setting by name (such as
	// PrefUsersView); "" when unset. SetUserPreference stores it, replacing
	// the old value; an empty value removes it. Preferences are the user's
	// own: no scope, no event.
	UserPreference(ctx context.Context, userID int64, name string) (string, error)
	SetUserPreference(ctx context.Context, userID int64, name, value string) error
}

// RoleService manages roles.
type RoleService interface {
	// Roles lists the system roles and the roles of a company, with user counts.
	Roles(ctx context.Context, companyID int64) ([]*Role, error)
	// RoleByID returns a system role, or a role of a company in scope.
	RoleByID(ctx context.Context, scope Scope, id int64) (*Role, error)
	// RolesByIDs returns the roles with the given IDs, wherever they belong
	// (the caller checks the company), without user counts: a cheap lookup
	// for validating role IDs.
	RolesByIDs(ctx context.Context, ids []int64) (map[int64]*Role, error)
	// RoleByKey returns a company's role (or a system role) by key.
	RoleByKey(ctx context.Context, companyID int64, key string) (*Role, error)
	// CreateRole creates a custom role in r.CompanyID; ECONFLICT on "key".
	CreateRole(ctx context.Context, r *Role) error
	// UpdateRole renames a role or replaces its permissions; system roles
	// are EFORBIDDEN. The actor must hold every permission added or removed.
	UpdateRole(ctx context.Context, scope Scope, id int64, upd RoleUpdate) (*Role, error)
	// UpdateRolePermissions replaces the permissions of several roles (by
	// ID) in one transaction, with UpdateRole's checks and events: one
	// refused change leaves every role as it was. It returns the roles in
	// ascending ID order.
	UpdateRolePermissions(ctx context.Context, scope Scope, perms map[int64][]Permission) ([]*Role, error)
	// DeleteRole deletes a custom role; ECONFLICT while users hold it unless
	// force, which first takes it from them (a user left without roles is refused).
	DeleteRole(ctx context.Context, scope Scope, id int64, force bool) error
	// ImportRoles creates or updates a company's custom roles by key and
	// reports the changes; with dryRun it changes nothing.
	ImportRoles(ctx context.Context, companyID int64, roles []RoleExport, dryRun bool) ([]RoleImportChange, error)
	// RoleUsers lists the users of a role, one page at a time.
	RoleUsers(ctx context.Context, scope Scope, roleID int64, f UserFilter) (*UserPage, error)
}

// SessionService stores sessions by token hash.
type SessionService interface {
	CreateSession(ctx context.Context, s *Session) error
	// SessionByTokenHash returns a live session; expired ones are ENOTFOUND.
	SessionByTokenHash(ctx context.Context, hash []byte) (*Session, error)
	// TouchSession records activity, at most once a few seconds apart.
	TouchSession(ctx context.Context, id int64, at time.Time) error
	DeleteSession(ctx context.Context, id int64) error
	DeleteUserSessions(ctx context.Context, userID int64) error
	// DeleteExpiredSessions removes sessions past their expiry.
	DeleteExpiredSessions(ctx context.Context) (int, error)
}

// EventService reads and annotates the event log.
type EventService interface {
	// Events lists events of companies in scope, newest first.
	Events(ctx context.Context, scope Scope, f EventFilter) (*EventPage, error)
	// EventByID returns one event in scope with its comments.
	EventByID(ctx context.Context, scope Scope, id int64) (*Event, error)
	// AddEventComment adds the actor's comment to an event in scope.
	AddEventComment(ctx context.Context, scope Scope, eventID int64, body string) (*EventComment, error)
	// LogEvent appends a security event that has no other change with it
	// (sign-out, switch).
	LogEvent(ctx context.Context, e *Event) error
}

// PlatformService covers installation-wide state.
type PlatformService interface {
	// HasMainAdmin reports whether a Main administrator exists.
	HasMainAdmin(ctx context.Context) (bool, error)
	// CreateMainAdmin creates the first Main administrator in the platform
	// company; ECONFLICT when one exists already.
	CreateMainAdmin(ctx context.Context, u *User) error
	// Secret returns an installation-wide random secret by name, creating it
	// on first use, so every instance signs cursors with the same key.
	Secret(ctx context.Context, name string) ([]byte, error)
	// SetBootstrapToken stores the hash of the one-time admin-creation link;
	// UseBootstrapToken consumes it (ENOTFOUND when wrong or used).
	SetBootstrapToken(ctx context.Context, hash []byte) error
	UseBootstrapToken(ctx context.Context, hash []byte, u *User) error
}

// Clock is the source of time, injectable in tests.
type Clock func() time.Time
