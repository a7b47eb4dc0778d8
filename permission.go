package roster

import "sort"

// Permission is the key of an entry of the fixed permission catalog.
type Permission string

// The permission catalog. Keys are stable: roles are stored and exported by key.
const (
	PermUsersView         Permission = "users.view"
	PermUsersCreate       Permission = "users.create"
	PermUsersEdit         Permission = "users.edit"
	PermUsersBlock        Permission = "users.block"
	PermUsersDelete       Permission = "users.delete"
	PermUsersCredentials  Permission = "users.credentials"
	PermUsersRoles        Permission = "users.roles"
	PermRolesView         Permission = "roles.view"
	PermRolesManage       Permission = "roles.manage"
	PermTagsManage        Permission = "tags.manage"
	PermClientsView       Permission = "clients.view"
	PermAuditView         Permission = "audit.view"
	PermCompaniesView     Permission = "companies.view"
	PermCompaniesManage   Permission = "companies.manage"
	PermCompaniesSwitch   Permission = "companies.switch"
	PermWebhooksManage    Permission = "webhooks.manage"
	PermQueuesManage      Permission = "queues.manage"
	PermShiftsManage      Permission = "shifts.manage"
	PermAgentGroupsManage Permission = "agent_groups.manage"
	PermDialoguesHandle   Permission = "dialogues.handle"
	PermCallsHandle       Permission = "calls.handle"
	// PermServiceTokensManage lets a person create, list and revoke the
	// company's service tokens (issue 10, item 1).
	PermServiceTokensManage Permission = "service_tokens.manage"
	// PermSCIMProvision lets a service token manage the users and
	// role memberships of its company through SCIM (/scim/v2) only; see
	// SCIMImplied.
	PermSCIMProvision Permission = "scim.provision"
)

// SCIMImplied are the permissions scim.provision stands for inside the
// SCIM door. Whoever gives a token scim.provision must hold all of them,
// so provisioning is never an escalation.
var SCIMImplied = []Permission{PermUsersView, PermUsersCreate, PermUsersEdit, PermUsersBlock, PermUsersDelete,
	PermUsersRoles, PermRolesView}

// PermissionInfo describes one catalog entry.
type PermissionInfo struct {
	Key   Permission `json:"key"`
	Group string     `json:"group"`
	Name  string     `json:"name"`
	// Platform permissions belong to the Main administrator alone: a company
	// role can never hold them.
	Platform bool `json:"platform"`
}

// Catalog is the permission catalog in display order.
var Catalog = []PermissionInfo{
	{PermUsersView, "users", "View users", false},
	{PermUsersCreate, "users", "Create users", false},
	{PermUsersEdit, "users", "Edit users", false},
	{PermUsersBlock, "users", "Block and unblock users", false},
	{PermUsersDelete, "users", "Delete users", false},
	{PermUsersCredentials, "users", "Reset passwords, invitations and 2FA", false},
	{PermUsersRoles, "users", "Change users' roles", false},
	{PermRolesView, "roles", "View roles", false},
	{PermRolesManage, "roles", "Manage roles", false},
	{PermTagsManage, "clients", "Manage client tags", false},
	{PermClientsView, "clients", "View clients", false},
	{PermAuditView, "audit", "Read the event log", false},
	{PermCompaniesView, "companies", "View dependent companies", false},
	{PermCompaniesManage, "companies", "Create and edit companies", true},
	{PermCompaniesSwitch, "companies", "Switch into a dependent company", false},
	{PermWebhooksManage, "companies", "Manage the company's webhooks", false},
	{PermServiceTokensManage, "companies", "Manage the company's service tokens", false},
	{PermSCIMProvision, "users", "Provision users through SCIM (service tokens)", false},
	{PermQueuesManage, "operations", "Manage queues", false},
	{PermShiftsManage, "operations", "Manage shifts", false},
	{PermAgentGroupsManage, "operations", "Manage agent groups", false},
	{PermDialoguesHandle, "operations", "Handle chat dialogues", false},
	{PermCallsHandle, "operations", "Handle calls", false},
}

// KnownPermission reports whether p is in the catalog.
func KnownPermission(p Permission) bool {
	for _, c := range Catalog {
		if c.Key == p {
			return true
		}
	}
	return false
}

// PlatformPermission reports whether p is reserved to the Main administrator.
func PlatformPermission(p Permission) bool {
	for _, c := range Catalog {
		if c.Key == p {
			return c.Platform
		}
	}
	return false
}

// AdministrativePermission reports whether p gives power over other
// accounts or the company (users, roles, companies, the event log), as
// opposed to a permission for one's own work.
func AdministrativePermission(p Permission) bool {
	for _, c := range Catalog {
		if c.Key == p {
			return c.Group == "users" || c.Group == "roles" || c.Group == "companies" || c.Group == "audit"
		}
	}
	return false
}

// AllPermissions returns every catalog key; CompanyPermissions every key a
// company role may hold.
func AllPermissions() []Permission { return catalogKeys(true) }

// CompanyPermissions returns every permission a company role may hold.
func CompanyPermissions() []Permission { return catalogKeys(false) }

func catalogKeys(platform bool) []Permission {
	var out []Permission
	for _, c := range Catalog {
		if platform || !c.Platform {
			out = append(out, c.Key)
		}
	}
	return out
}

// PermissionSet is a set of permissions.
type PermissionSet map[Permission]bool

// NewPermissionSet builds a set from a list.
func NewPermissionSet(ps ...Permission) PermissionSet {
	s := make(PermissionSet, len(ps))
	for _, p := range ps {
		s[p] = true
	}
	return s
}

// Has reports whether the set holds p.
func (s PermissionSet) Has(p Permission) bool { return s[p] }

// Contains reports whether every permission of ps is in the set.
func (s PermissionSet) Contains(ps []Permission) bool {
	for _, p := range ps {
		if !s[p] {
			return false
		}
	}
	return true
}

// Equal reports whether both sets hold the same permissions.
func (s PermissionSet) Equal(o PermissionSet) bool {
	if len(s) != len(o) {
		return false
	}
	for p := range s {
		if !o[p] {
			return false
		}
	}
	return true
}

// Sorted returns the set's keys in catalog order.
func (s PermissionSet) Sorted() []Permission {
	out := make([]Permission, 0, len(s))
	for p := range s {
		out = append(out, p)
	}
	order := map[Permission]int{}
	for i, c := range Catalog {
		order[c.Key] = i
	}
	sort.Slice(out, func(i, j int) bool { return order[out[i]] < order[out[j]] })
	return out
}
