package roster

import (
	"context"
	"time"
)

// ImportCreate is one user a CSV import creates, checked by the workflow.
type ImportCreate struct {
	// Line is the file's line the user comes from, for errors.
	Line    int
	User    *User
	RoleIDs []int64
	// InvitationHash and InvitationExpiry are set for an invitation, and
	// Job then carries its e-mail.
	InvitationHash   []byte
	InvitationExpiry time.Time
	Job              *Job
}

// ImportUpdate is one existing user a CSV import changes.
type ImportUpdate struct {
	Line   int
	UserID int64
	Update UserUpdate
	// RoleIDs replace the user's roles; nil leaves them.
	RoleIDs []int64
}

// UserImportService stores a CSV import of users.
type UserImportService interface {
	// UsersByUsernames returns the users (with roles) whose e-mail or
	// login is one of names (normalized), keyed by each of their non-empty
	// e-mail and login, across all companies: both are unique.
	UsersByUsernames(ctx context.Context, names []string) (map[string]*User, error)
	// ImportUsers writes every create and update, with their events and
	// jobs, in one transaction: all or nothing. An error about one user
	// carries its line in the fields (FieldError.Line).
	ImportUsers(ctx context.Context, scope Scope, creates []ImportCreate, updates []ImportUpdate) error
}
