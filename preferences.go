package roster

// Preference names (see UserService.UserPreference).
const (
	// PrefUsersView is the users list's view (SPEC U3): "table" or "cards".
	PrefUsersView = "users.view"
)
