package roster

import (
	"context"
	"strings"
	"time"
)

// Kinds of work group (SPEC O1): queues, shifts and agent groups share one
// shape — a named set of member users in one company.
const (
	KindQueue      = "queue"
	KindShift      = "shift"
	KindAgentGroup = "agent_group"
)

// ValidWorkGroupKind reports whether kind is a kind of work group.
func ValidWorkGroupKind(kind string) bool {
	return kind == KindQueue || kind == KindShift || kind == KindAgentGroup
}

// WorkGroupKindName is a kind's name in messages: "Queue", "Shift", "Agent group".
func WorkGroupKindName(kind string) string {
	switch kind {
	case KindQueue:
		return "Queue"
	case KindShift:
		return "Shift"
	}
	return "Agent group"
}

// WorkGroupPermission is the permission that manages work groups of kind.
func WorkGroupPermission(kind string) Permission {
	switch kind {
	case KindQueue:
		return PermQueuesManage
	case KindShift:
		return PermShiftsManage
	}
	return PermAgentGroupsManage
}

// Event types of operations (issue 5).
const (
	EventWorkGroupCreated       = "work_group.created"
	EventWorkGroupUpdated       = "work_group.updated"
	EventWorkGroupDeleted       = "work_group.deleted"
	EventWorkGroupMemberAdded   = "work_group.member_added"
	EventWorkGroupMemberRemoved = "work_group.member_removed"
	EventUserOperationsChanged  = "user.operations_changed"
	EventDialogueAssigned       = "dialogue.assigned"
	EventDialogueClosed         = "dialogue.closed"
	EventCallRecorded           = "call.recorded"
	EventClientCreated          = "client.created"
	EventClientUpdated          = "client.updated"
	EventClientDeleted          = "client.deleted"
	EventClientTagCreated       = "client_tag.created"
	EventClientTagUpdated       = "client_tag.updated"
	EventClientTagDeleted       = "client_tag.deleted"
	EventCompanyOperations      = "company.operations_changed"
	EventNotificationsChanged   = "user.notifications_changed"
)

// OperationEventTypes lists the event types of operations; they are added
// to EventTypes so that event filters and the OpenAPI enum know them.
var OperationEventTypes = []string{
	EventWorkGroupCreated, EventWorkGroupUpdated, EventWorkGroupDeleted, EventWorkGroupMemberAdded,
	EventWorkGroupMemberRemoved, EventUserOperationsChanged, EventDialogueAssigned, EventDialogueClosed,
	EventCallRecorded, EventClientCreated, EventClientUpdated, EventClientDeleted, EventClientTagCreated,
	EventClientTagUpdated, EventClientTagDeleted, EventCompanyOperations, EventNotificationsChanged,
}

func init() { EventTypes = append(EventTypes, OperationEventTypes...) }

// HighVolumeEventTypes are the events of the daily work of operators
// (calls and dialogues): many per person and day. The panel's event log
// leaves them out unless asked, so changes to people stay readable.
var HighVolumeEventTypes = []string{EventCallRecorded, EventDialogueAssigned, EventDialogueClosed}

// WorkGroup is a queue, a shift or an agent group with its members.
type WorkGroup struct {
	ID        int64     `json:"id"`
	CompanyID int64     `json:"company_id"`
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	Members   []UserRef `json:"members"`
	// ManagerIDs are the users who manage an agent group: holders of
	// agent_groups.manage who are not company-wide managers may manage
	// only the groups that list them.
	ManagerIDs []int64   `json:"manager_ids,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// UserRef is the short form of a user inside another object.
type UserRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// GroupRef is the short form of a work group inside a user.
type GroupRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Membership names one work group a user belonged to (in lifecycle events).
type Membership struct {
	ID   int64  `json:"id"`
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// WorkGroupUpdate holds the changeable fields of a work group; nil means unchanged.
type WorkGroupUpdate struct {
	Name       *string
	ManagerIDs *[]int64
	// CompanyID never changes: an update that sets it is refused.
	CompanyID *int64
}

// ValidateWorkGroupName trims and checks a work group name.
func ValidateWorkGroupName(v *Validation, field string, name *string) {
	*name = strings.TrimSpace(*name)
	switch {
	case *name == "":
		v.Add(field, "required", "Enter a name.")
	case len([]rune(*name)) > 100:
		v.Add(field, "too_long", "A name is at most 100 characters.")
	default:
		ValidateText(v, field, *name, 100)
	}
}

// Presence of a user (U13).
const (
	PresenceOnline  = "online"
	PresenceOffline = "offline"
)

// PresenceWindow is how recently a session must have been used for its
// user to count as online when they have not said otherwise.
const PresenceWindow = 5 * time.Minute

// Countries rule modes (R4).
const (
	CountriesOnly   = "only"
	CountriesExcept = "except"
)

// CountriesRule limits the clients a user sees by country.
type CountriesRule struct {
	Mode      string   `json:"mode"`
	Countries []string `json:"countries"`
}

// Allows reports whether a client in country passes the rule; an empty rule
// allows everything.
func (r *CountriesRule) Allows(country string) bool {
	if r == nil || r.Mode == "" {
		return true
	}
	in := false
	for _, c := range r.Countries {
		in = in || c == country
	}
	if r.Mode == CountriesOnly {
		return in
	}
	return !in
}

// Validate normalizes the countries to upper case and checks them.
func (r *CountriesRule) Validate(v *Validation, field string) {
	switch r.Mode {
	case "":
		if len(r.Countries) > 0 {
			v.Add(field, "invalid_choice", `Give a mode, "only" or "except", with countries.`)
		}
		return
	case CountriesOnly, CountriesExcept:
	default:
		v.Add(field, "invalid_choice", `The mode is "only" or "except".`)
		return
	}
	seen := map[string]bool{}
	out := []string{}
	for _, c := range r.Countries {
		c = strings.ToUpper(strings.TrimSpace(c))
		if !ValidCountry(c) {
			v.Add(field, "invalid_country", "A country is a two-letter ISO 3166-1 code, like DE.")
			return
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	r.Countries = out
}

// OperatorUpdate holds the operations settings of a user (U5, R4); nil
// means unchanged.
type OperatorUpdate struct {
	MaxDialogues  *int
	ClientTagIDs  *[]int64
	CountriesRule *CountriesRule
	MaskData      *bool
}

// Empty reports whether nothing is set.
func (u OperatorUpdate) Empty() bool {
	return u.MaxDialogues == nil && u.ClientTagIDs == nil && u.CountriesRule == nil && u.MaskData == nil
}

// MaxDialoguesLimit bounds a user's maximum of concurrent dialogues.
const MaxDialoguesLimit = 10000

// Validate checks the set fields.
func (u *OperatorUpdate) Validate() error {
	var v Validation
	u.validate(&v)
	return v.Err()
}

func (u *OperatorUpdate) validate(v *Validation) {
	if u.MaxDialogues != nil && (*u.MaxDialogues < 0 || *u.MaxDialogues > MaxDialoguesLimit) {
		v.Add("max_dialogues", "out_of_range", "The maximum of dialogues is 0 to 10000.")
	}
	if u.CountriesRule != nil {
		if u.CountriesRule.Countries == nil {
			u.CountriesRule.Countries = []string{}
		}
		u.CountriesRule.Validate(v, "countries_rule")
	}
}

// Visibility is what of the clients directory a user may see (R4).
type Visibility struct {
	// TagIDs are the allowed client tags; empty means every client.
	TagIDs    []int64
	Countries CountriesRule
	Mask      bool
}

// Dialogue is a chat conversation assigned to an operator (O2).
type Dialogue struct {
	ID         int64      `json:"id"`
	CompanyID  int64      `json:"company_id"`
	OperatorID int64      `json:"operator_id"`
	ExternalID string     `json:"external_id"`
	Status     string     `json:"status"`
	CreatedAt  time.Time  `json:"created_at"`
	ClosedAt   *time.Time `json:"closed_at"`
}

// Dialogue statuses.
const (
	DialogueOpen   = "open"
	DialogueClosed = "closed"
)

// Call is a handled call reported by the telephony side (U13).
type Call struct {
	ID              int64     `json:"id"`
	CompanyID       int64     `json:"company_id"`
	CallID          string    `json:"call_id"`
	UserID          int64     `json:"user_id"`
	Direction       string    `json:"direction"`
	DurationSeconds int       `json:"duration_seconds"`
	CreatedAt       time.Time `json:"created_at"`
}

// Validate checks a reported call.
func (c *Call) Validate() error {
	var v Validation
	c.CallID = strings.TrimSpace(c.CallID)
	if c.CallID == "" {
		v.Add("call_id", "required", "Give the call's ID.")
	} else {
		ValidateText(&v, "call_id", c.CallID, 200)
	}
	if c.UserID == 0 {
		v.Add("user_id", "required", "Give the user who handled the call.")
	}
	switch c.Direction {
	case "", "inbound", "outbound":
	default:
		v.Add("direction", "invalid_choice", `The direction is "inbound" or "outbound".`)
	}
	if c.DurationSeconds < 0 {
		v.Add("duration_seconds", "out_of_range", "A duration is not negative.")
	}
	return v.Err()
}

// CompanyOperations are the operations settings of a company. Tokens are
// secrets: written, never read back through the API.
type CompanyOperations struct {
	CompanyID      int64 `json:"company_id"`
	CallStatistics bool  `json:"call_statistics"`
	TelegramSet    bool  `json:"telegram_bot_token_set"`
	SlackSet       bool  `json:"slack_token_set"`
}

// CompanyOperationsUpdate changes company operations settings; an empty
// token string removes the token.
type CompanyOperationsUpdate struct {
	CallStatistics   *bool
	TelegramBotToken *string
	SlackToken       *string
}

// OperationsService stores queues, shifts, agent groups, operator settings,
// dialogues and calls.
type OperationsService interface {
	// WorkGroups lists a company's work groups of kind with members.
	WorkGroups(ctx context.Context, scope Scope, companyID int64, kind string) ([]*WorkGroup, error)
	// WorkGroupByID returns one work group of kind in scope.
	WorkGroupByID(ctx context.Context, scope Scope, kind string, id int64) (*WorkGroup, error)
	// CreateWorkGroup creates g; ECONFLICT on "name" for a duplicate.
	CreateWorkGroup(ctx context.Context, g *WorkGroup) error
	// UpdateWorkGroup renames a work group or replaces its managers.
	UpdateWorkGroup(ctx context.Context, scope Scope, kind string, id int64, upd WorkGroupUpdate) (*WorkGroup, error)
	// DeleteWorkGroup deletes a work group and its memberships.
	DeleteWorkGroup(ctx context.Context, scope Scope, kind string, id int64) error
	// AddWorkGroupMembers adds users of the group's company (EINVALID on
	// "user_ids" for others or blocked users); RemoveWorkGroupMembers removes them.
	AddWorkGroupMembers(ctx context.Context, scope Scope, kind string, id int64, userIDs []int64) (*WorkGroup, error)
	RemoveWorkGroupMembers(ctx context.Context, scope Scope, kind string, id int64, userIDs []int64) (*WorkGroup, error)

	// UpdateOperator changes a user's operations settings.
	UpdateOperator(ctx context.Context, scope Scope, userID int64, upd OperatorUpdate) (*User, error)
	// SetPresence records the presence a user's softphone or app reports.
	SetPresence(ctx context.Context, userID int64, presence string) error
	// Visibility returns a user's client visibility.
	Visibility(ctx context.Context, userID int64) (*Visibility, error)

	// AssignDialogue gives a new dialogue to the online operator of the
	// company with the lowest load relative to their maximum; ECONFLICT when
	// every online operator is full (or none is online).
	AssignDialogue(ctx context.Context, companyID int64, externalID string) (*Dialogue, error)
	// CloseDialogue ends an open dialogue and frees its operator's slot.
	CloseDialogue(ctx context.Context, scope Scope, id int64) (*Dialogue, error)

	// RecordCall stores a handled call once per call ID; created is false
	// when the call ID was known (the stored call is returned).
	RecordCall(ctx context.Context, c *Call) (created bool, err error)

	// CompanyOperations reads, UpdateCompanyOperations changes a company's
	// operations settings.
	CompanyOperations(ctx context.Context, scope Scope, companyID int64) (*CompanyOperations, error)
	UpdateCompanyOperations(ctx context.Context, scope Scope, companyID int64, upd CompanyOperationsUpdate) (*CompanyOperations, error)
}

// QueueNone is the users filter value for active users who belong to no queue.
const QueueNone = "none"

func isPositiveInt(s string) bool {
	if s == "" || len(s) > 18 || s[0] == '0' {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
