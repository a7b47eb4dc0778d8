package roster

import "time"

// Event types written to the event log.
const (
	EventUserCreated        = "user.created"
	EventUserUpdated        = "user.updated"
	EventUserDeleted        = "user.deleted"
	EventUserBlocked        = "user.blocked"
	EventUserUnblocked      = "user.unblocked"
	EventUserRolesChanged   = "user.roles_changed"
	EventUserPasswordReset  = "user.password_reset"
	EventUserPasswordChange = "user.password_changed"
	EventUserInvited        = "user.invited"
	EventSignIn             = "auth.sign_in"
	EventSignInFailed       = "auth.sign_in_failed"
	EventSignOut            = "auth.sign_out"
	EventSwitch             = "auth.switch"
	EventSwitchBack         = "auth.switch_back"
	EventRoleCreated        = "role.created"
	EventRoleUpdated        = "role.updated"
	EventRoleDeleted        = "role.deleted"
	EventRolesImported      = "role.imported"
	EventCompanyCreated     = "company.created"
	EventCompanyUpdated     = "company.updated"
	EventMainAdminCreated   = "platform.main_admin_created"
)

// EventTypes lists every event type, for filters.
var EventTypes = []string{
	EventUserCreated, EventUserUpdated, EventUserDeleted, EventUserBlocked, EventUserUnblocked,
	EventUserRolesChanged, EventUserPasswordReset, EventUserPasswordChange, EventUserInvited,
	EventSignIn, EventSignInFailed, EventSignOut, EventSwitch, EventSwitchBack,
	EventRoleCreated, EventRoleUpdated, EventRoleDeleted, EventRolesImported,
	EventCompanyCreated, EventCompanyUpdated, EventMainAdminCreated,
}

// Event is one append-only entry of the event log (SPEC A7). Names are
// copied in when written, so past events keep the names they had.
type Event struct {
	ID               int64          `json:"id"`
	CompanyID        int64          `json:"company_id"`
	Type             string         `json:"type"`
	ActorID          *int64         `json:"actor_id"`
	ActorName        string         `json:"actor_name"`
	ImpersonatorID   *int64         `json:"impersonator_id"`
	ImpersonatorName string         `json:"impersonator_name"`
	TargetUserID     *int64         `json:"target_user_id"`
	TargetName       string         `json:"target_name"`
	TargetRoleID     *int64         `json:"target_role_id,omitempty"`
	Address          string         `json:"address"`
	Before           map[string]any `json:"before"`
	After            map[string]any `json:"after"`
	Comment          string         `json:"comment"`
	CreatedAt        time.Time      `json:"created_at"`
	Comments         []EventComment `json:"comments"`
}

// EventComment is a note an auditor adds to an event.
type EventComment struct {
	ID         int64     `json:"id"`
	EventID    int64     `json:"event_id"`
	AuthorID   int64     `json:"author_id"`
	AuthorName string    `json:"author_name"`
	Body       string    `json:"body"`
	CreatedAt  time.Time `json:"created_at"`
}

// EventFilter selects events. UserID matches the actor or the target.
type EventFilter struct {
	UserID *int64
	Type   string
	Since  *time.Time
	Until  *time.Time
	Limit  int
	Cursor string
	// ExcludeTypes leaves these types out (the panel hides the
	// high-volume ones unless asked).
	ExcludeTypes []string
}

// EventPage is one page of the event log, newest first.
type EventPage struct {
	Items      []*Event `json:"items"`
	NextCursor string   `json:"next_cursor"`
}
