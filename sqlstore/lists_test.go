package sqlstore

import (
	"reflect"
	"testing"

	"github.com/roster-app/roster"
)

// TestSplitUserLists: the lists come from SQL unsorted; a user's roles
// read system roles first, then by name (byte order) and ID; queues by
// name and ID; client tags by ID.
func TestSplitUserLists(t *testing.T) {
	role := func(system, id, key, name string) string {
		return system + unitSep + id + unitSep + key + unitSep + name
	}
	roles := role("0", "9", "night", "Night shift") + recordSep + role("1", "2", "employee", "Employee") + recordSep +
		role("0", "7", "audit", "Auditors") + recordSep + role("1", "1", "company_admin", "Administrator") + recordSep +
		role("0", "8", "audit2", "Auditors")
	queues := "5" + unitSep + "Support" + recordSep + "3" + unitSep + "Billing" + recordSep + "4" + unitSep + "Billing"
	var u roster.User
	if err := splitUserLists(&u, roles, queues, "12"+recordSep+"3"+recordSep+"7"); err != nil {
		t.Fatal(err)
	}
	wantRoles := []roster.RoleRef{{ID: 1, Key: "company_admin", Name: "Administrator"}, {ID: 2, Key: "employee", Name: "Employee"},
		{ID: 7, Key: "audit", Name: "Auditors"}, {ID: 8, Key: "audit2", Name: "Auditors"}, {ID: 9, Key: "night", Name: "Night shift"}}
	wantQueues := []roster.GroupRef{{ID: 3, Name: "Billing"}, {ID: 4, Name: "Billing"}, {ID: 5, Name: "Support"}}
	if !reflect.DeepEqual(u.Roles, wantRoles) || !reflect.DeepEqual(u.Queues, wantQueues) || !reflect.DeepEqual(u.ClientTagIDs, []int64{3, 7, 12}) {
		t.Fatalf("roles %+v\nqueues %+v\ntags %v", u.Roles, u.Queues, u.ClientTagIDs)
	}
	// Empty lists are empty, not nil (they are answered as []).
	if err := splitUserLists(&u, "", "", ""); err != nil || u.Roles == nil || len(u.Roles) != 0 || u.Queues == nil || u.ClientTagIDs == nil {
		t.Fatalf("empty lists: %+v %+v %v (%v)", u.Roles, u.Queues, u.ClientTagIDs, err)
	}
	if err := splitUserLists(&u, "1"+unitSep+"x"+unitSep+"k"+unitSep+"n", "", ""); err == nil {
		t.Fatal("a malformed role was accepted")
	}
}
