package panel

import "testing"

func TestTemplatesParse(t *testing.T) {
	p := New(Deps{})
	for _, name := range []string{"signin", "password", "error", "users", "usernew", "created", "bulk", "user", "roles", "role", "events", "companies", "profile"} {
		if p.pages[name] == nil {
			t.Errorf("page %s missing", name)
		}
	}
}
