package roster

import (
	"regexp"
	"strings"
	"time"
)

// Stable keys of the built-in roles.
const (
	RoleMainAdmin         = "main_admin"
	RoleCompanyAdmin      = "company_admin"
	RoleDispatcher        = "dispatcher"
	RoleAgentGroupManager = "agent_group_manager"
	RoleManager           = "manager"
	RoleEmployee          = "employee"
	RoleChatOperator      = "chat_operator"
)

// Role is a named set of permissions. System roles (Main administrator,
// Company administrator) have no company and are read-only; every other role
// belongs to one company.
type Role struct {
	ID          int64        `json:"id"`
	CompanyID   *int64       `json:"company_id"`
	Key         string       `json:"key"`
	Name        string       `json:"name"`
	System      bool         `json:"system"`
	Permissions []Permission `json:"permissions"`
	UserCount   int          `json:"user_count"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
}

// RoleRef is the short form of a role shown inside a user.
type RoleRef struct {
	ID   int64  `json:"id"`
	Key  string `json:"key"`
	Name string `json:"name"`
}

// RoleUpdate holds the changeable fields of a role; nil means unchanged.
type RoleUpdate struct {
	Name        *string
	Permissions *[]Permission
	// Key and CompanyID never change: an update that sets them is refused.
	Key       *string
	CompanyID *int64
}

// Validate trims the name and checks the set fields.
func (u *RoleUpdate) Validate() error {
	var v Validation
	if u.Key != nil {
		v.Add("key", "immutable", "A role's key never changes.")
	}
	if u.CompanyID != nil {
		v.Add("company_id", "immutable", "A role stays in its company.")
	}
	if u.Name != nil {
		name := strings.TrimSpace(*u.Name)
		u.Name = &name
		ValidateRoleName(&v, "name", name)
	}
	if u.Permissions != nil {
		ValidatePermissions(&v, "permissions", *u.Permissions)
	}
	return v.Err()
}

// RoleExport is one role in an export file; roles are matched by key on import.
type RoleExport struct {
	Key         string       `json:"key"`
	Name        string       `json:"name"`
	Permissions []Permission `json:"permissions"`
}

// RoleImportChange says what an import does (or would do) to one role.
type RoleImportChange struct {
	Key     string       `json:"key"`
	Name    string       `json:"name"`
	Action  string       `json:"action"` // "create", "update", "unchanged"
	Added   []Permission `json:"added_permissions"`
	Removed []Permission `json:"removed_permissions"`
	Renamed bool         `json:"renamed"`
}

// SystemRoles are the read-only built-in roles, identical in every company.
var SystemRoles = []RoleExport{
	{RoleMainAdmin, "Main administrator", AllPermissions()},
	{RoleCompanyAdmin, "Company administrator", CompanyPermissions()},
}

// DefaultRoles are copied into every new company, where they can be edited.
var DefaultRoles = []RoleExport{
	{RoleDispatcher, "Dispatcher", []Permission{PermUsersView, PermRolesView, PermClientsView}},
	{RoleAgentGroupManager, "Agent group manager", []Permission{PermUsersView, PermRolesView, PermAgentGroupsManage}},
	{RoleManager, "Manager", []Permission{PermUsersView, PermUsersCreate, PermUsersEdit, PermUsersBlock,
		PermUsersCredentials, PermUsersRoles, PermRolesView, PermClientsView, PermAuditView,
		PermQueuesManage, PermShiftsManage, PermAgentGroupsManage}},
	{RoleEmployee, "Employee", []Permission{PermClientsView, PermCallsHandle}},
	{RoleChatOperator, "Chat operator", []Permission{PermClientsView, PermDialoguesHandle}},
}

var roleKeyRE = regexp.MustCompile(`^[a-z][a-z0-9_]{1,62}$`)

// RoleKeyFromName derives a key for a new custom role from its name:
// lower-case Latin letters, digits and underscores; "role" when nothing is left.
func RoleKeyFromName(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	key := strings.Trim(b.String(), "_")
	if len(key) > 48 {
		key = key[:48]
	}
	if key == "" || key[0] < 'a' || key[0] > 'z' {
		key = "role_" + key
	}
	return strings.TrimSuffix(key, "_")
}

// ValidateRoleKey checks a custom role key.
func ValidateRoleKey(v *Validation, field, key string) {
	if !roleKeyRE.MatchString(key) {
		v.Add(field, "invalid_key", "A key is 2–63 lower-case Latin letters, digits or underscores, starting with a letter.")
	}
}

// ValidateRoleName checks a role or company name: one line of text (CheckText).
func ValidateRoleName(v *Validation, field, name string) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		v.Add(field, "required", "Enter a name.")
	case len([]rune(name)) > 100:
		v.Add(field, "too_long", "A name is at most 100 characters.")
	default:
		ValidateTextKind(v, field, name, SingleLine)
	}
}

// ValidatePermissions checks that every permission is in the catalog and may
// be held by a company role.
func ValidatePermissions(v *Validation, field string, ps []Permission) {
	for _, p := range ps {
		if !KnownPermission(p) {
			v.Add(field, "unknown_permission", "Unknown permission: "+string(p)+".")
			return
		}
		if PlatformPermission(p) {
			v.Add(field, "platform_permission", "Only the Main administrator holds "+string(p)+".")
			return
		}
	}
}
