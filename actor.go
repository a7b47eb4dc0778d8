package roster

import "context"

// Actor is who performs a request: the signed-in user, their company and
// effective permissions (recomputed on every request, so role changes apply
// at once), and the reseller administrator behind a switch session.
type Actor struct {
	User        *User
	Company     *Company
	Permissions PermissionSet
	// MainAdmin is true for holders of the Main administrator role.
	MainAdmin bool
	// Scope is the set of companies the actor may see.
	Scope Scope
	// Impersonator is set while a reseller administrator acts through a
	// switch session (U15).
	Impersonator *User
	SessionID    int64
	SessionKind  string
	// Address is the client address of the request.
	Address string
	// Token is set, and User nil, when a service token makes the request:
	// the token is the actor (attributed in the event log by its name).
	Token *ServiceToken
}

type actorKey struct{}

// NewContextWithActor returns ctx carrying the actor; the store reads it to
// write the actor, impersonator and address into the event log.
func NewContextWithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFromContext returns the actor of the request, or nil (anonymous,
// command line).
func ActorFromContext(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey{}).(*Actor)
	return a
}

// Name is how the event log names the actor: the user, or the service token.
func (a *Actor) Name() string {
	switch {
	case a == nil:
		return ""
	case a.User != nil:
		return a.User.DisplayName()
	case a.Token != nil:
		return a.Token.ActorName()
	}
	return ""
}

// Can reports whether the actor holds permission p.
func (a *Actor) Can(p Permission) bool { return a != nil && a.Permissions.Has(p) }

// UserID is the acting user's ID, or 0.
func (a *Actor) UserID() int64 {
	if a == nil || a.User == nil {
		return 0
	}
	return a.User.ID
}

// CheckGrant says whether the actor may grant or revoke role r to a user of
// company in (U7): only roles whose permissions are all the actor's own;
// Main administrator only by the Main administrator; Company administrator
// as MayAppointAdmin says. in may be nil for a role other than Company
// administrator.
func (a *Actor) CheckGrant(r *Role, in *Company) error {
	if a == nil {
		return nil // command line and bootstrap
	}
	if r.Key == RoleMainAdmin && r.System && !a.MainAdmin {
		return Errorf(EFORBIDDEN, "Only the Main administrator grants or revokes the %s role.", r.Name)
	}
	if r.Key == RoleCompanyAdmin && r.System && !a.MayAppointAdmin(in) {
		return Errorf(EFORBIDDEN, "You cannot grant or revoke the %s role in this company.", r.Name)
	}
	if !a.Permissions.Contains(r.Permissions) {
		return Errorf(EFORBIDDEN, "You cannot grant or revoke the %s role: it has permissions you do not have.", r.Name)
	}
	return nil
}

// MayAppointAdmin reports whether the actor may grant or revoke the Company
// administrator role in company in (U7, U15): the Main administrator always;
// a Company administrator in a company depending on their own when their own
// company is a reseller, and in their own company only when the Main
// administrator allowed it for that company (admins_appoint_admins).
func (a *Actor) MayAppointAdmin(in *Company) bool {
	if a == nil || a.MainAdmin {
		return true
	}
	if in == nil || a.Company == nil || a.User == nil || !a.User.HasRole(RoleCompanyAdmin) {
		return false
	}
	if in.ID == a.Company.ID {
		return in.AdminsAppointAdmins
	}
	return a.Company.Reseller && in.ParentID != nil && *in.ParentID == a.Company.ID
}

// CheckManage says whether the actor may change the target user at all:
// never a user with administrative powers the actor lacks (a Manager cannot
// reset the password of a Company administrator and take the account over).
// Work permissions such as handling calls give no power over others and do
// not count: a Manager manages Employees.
func (a *Actor) CheckManage(target *User, targetPerms PermissionSet) error {
	if a == nil {
		return nil
	}
	if target.HasRole(RoleMainAdmin) && !a.MainAdmin {
		return Errorf(EFORBIDDEN, "Only the Main administrator can change a Main administrator.")
	}
	for p := range targetPerms {
		if AdministrativePermission(p) && !a.Permissions.Has(p) {
			return Errorf(EFORBIDDEN, "This user has permissions you do not have; ask an administrator.")
		}
	}
	return nil
}

// Bulk actions (U12).
const (
	BulkAddRole    = "add_role"
	BulkRemoveRole = "remove_role"
	BulkBlock      = "block"
	BulkUnblock    = "unblock"
	BulkDelete     = "delete"
)

// MaxBulkUsers bounds one bulk action.
const MaxBulkUsers = 10000

// BulkAction is one bulk request: on listed users or on every user matching
// a filter. It is applied all or nothing.
type BulkAction struct {
	Action  string
	UserIDs []int64
	Filter  *UserFilter
	RoleID  int64
	Comment string
}

// Validate checks the action's shape and its comment.
func (b *BulkAction) Validate() error {
	var v Validation
	b.validate(&v)
	switch b.Action {
	case BulkBlock, BulkUnblock:
		ValidateComment(&v, "comment", b.Comment, true)
	}
	return v.Err()
}

// ValidateSelection checks the action's shape without its comment, which a
// confirmation asks for after it names the users.
func (b *BulkAction) ValidateSelection() error {
	var v Validation
	b.validate(&v)
	return v.Err()
}

func (b *BulkAction) validate(v *Validation) {
	switch b.Action {
	case BulkAddRole, BulkRemoveRole:
		if b.RoleID == 0 {
			v.Add("role_id", "required", "Choose a role.")
		}
	case BulkBlock, BulkUnblock, BulkDelete:
	case "":
		v.Add("action", "required", "Choose an action.")
	default:
		v.Add("action", "invalid_choice", "The action is add_role, remove_role, block, unblock or delete.")
	}
	switch {
	case len(b.UserIDs) == 0 && b.Filter == nil:
		v.Add("user_ids", "required", "Choose users, or give a filter.")
	case len(b.UserIDs) > 0 && b.Filter != nil:
		v.Add("filter", "not_allowed", "Give either user_ids or a filter, not both.")
	case len(b.UserIDs) > MaxBulkUsers:
		v.Add("user_ids", "too_many", "At most 10000 users at once.")
	}
}

// BulkResult reports an applied bulk action.
type BulkResult struct {
	Action   string  `json:"action"`
	Affected int     `json:"affected"`
	UserIDs  []int64 `json:"user_ids"`
}

// ValidateComment checks a block / unblock or event comment: multi-line text (CheckText).
func ValidateComment(v *Validation, field, s string, required bool) {
	switch {
	case required && len([]rune(s)) == 0:
		v.Add(field, "required", "Enter a comment.")
	case len([]rune(s)) > 1000:
		v.Add(field, "too_long", "A comment is at most 1000 characters.")
	default:
		ValidateTextKind(v, field, s, MultiLine)
	}
}
