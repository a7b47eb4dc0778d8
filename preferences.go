package roster

// Preference names (see UserService.UserPreference).
const (
	// PrefUsersView is the users list's view (SPEC U3): "table" or "cards".
	PrefUsersView = "users.view"
	// PrefUsersColumns are the users table's optional columns the user
	// chose, comma-separated (issue 12); unset means none.
	PrefUsersColumns = "users.columns"
)
