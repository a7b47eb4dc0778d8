package panel

import (
	"net/http"
	"strconv"

	"github.com/roster-app/roster"
)

// This file holds the confirmations of a user's actions (issue 12, items
// 3 and 5): one page per action at GET /users/{id}/{action}, which the
// row menu of the list and the card's action bar open in a dialog (the
// page's fragment) and which works as a page without scripts. Each posts
// to the action's existing route.

// userActionPages are the confirmations and the permission each needs.
var userActionPages = map[string]roster.Permission{
	"edit":           roster.PermUsersEdit,
	"roles":          roster.PermUsersRoles,
	"block":          roster.PermUsersBlock,
	"unblock":        roster.PermUsersBlock,
	"password-reset": roster.PermUsersCredentials,
	"invitation":     roster.PermUsersCredentials,
	"switch":         roster.PermCompaniesSwitch,
	"delete":         roster.PermUsersDelete,
}

// userRoutes adds the users list's column choice and the confirmations.
func (p *Panel) userRoutes(mux *http.ServeMux) {
	mux.Handle("POST /users/columns", p.auth(p.handleUsersColumns))
	for action := range userActionPages {
		mux.Handle("GET /users/{id}/"+action, p.auth(p.handleUserActionPage(action)))
	}
}

type userActionView struct {
	*page
	User   *roster.User
	Action string
	// Return is where the action leads back to ("" for the card).
	Return string
	Cancel string
	Errors formErrors
	Form   map[string]string
	// Groups are the queues, shifts and agent groups a block removes the
	// user from, by kind.
	Groups     map[string][]string
	Roles      []*roster.Role
	GrantRoles map[int64]bool
	HeldRoles  map[int64]bool
	NameLocked bool
	Company    *roster.Company
}

// Heading is the confirmation's title.
func (v *userActionView) Heading() string {
	switch v.Action {
	case "delete":
		return v.T("user.delete_heading", v.User.DisplayName())
	case "block":
		return v.T("user.block_heading", v.User.DisplayName())
	case "unblock":
		return v.T("user.unblock_heading", v.User.DisplayName())
	case "switch":
		return v.T("user.switch_heading", v.User.DisplayName())
	}
	for _, a := range []struct{ key, label string }{{"edit", "user.edit"}, {"roles", "user.change_roles"},
		{"password-reset", "user.reset_password"}, {"invitation", "user.resend"}} {
		if a.key == v.Action {
			return v.T(a.label) + ": " + v.User.DisplayName()
		}
	}
	return v.User.DisplayName()
}

// GroupKinds are the work group kinds in the order the block text names them.
func (v *userActionView) GroupKinds() []string {
	return []string{roster.KindQueue, roster.KindShift, roster.KindAgentGroup}
}

func (p *Panel) handleUserActionPage(action string) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, ok := pathID(r.PathValue("id"))
		if !ok {
			return roster.Errorf(roster.ENOTFOUND, "User not found.")
		}
		v, err := p.userActionView(w, r, id, action)
		if err != nil {
			return err
		}
		return p.render(w, r, http.StatusOK, "useraction", v)
	}
}

// userActionView builds the confirmation of action on user id, refusing
// what the actor may not do (the same rule as the menus).
func (p *Panel) userActionView(w http.ResponseWriter, r *http.Request, id int64, action string) (*userActionView, error) {
	if err := need(r, userActionPages[action]); err != nil {
		return nil, err
	}
	ctx := r.Context()
	a := state(r).actor
	u, err := p.Users.UserByID(ctx, a.Scope, id)
	if err != nil {
		return nil, err
	}
	ret := r.FormValue("return")
	if ret != "" {
		ret = localPath(ret, "")
	}
	card := "/users/" + strconv.FormatInt(u.ID, 10)
	v := &userActionView{page: p.newPage(w, r, "user.title", "users"), User: u, Action: action, Return: ret,
		Cancel: card, Form: map[string]string{}}
	if ret != "" {
		v.Cancel = ret
	}
	ac, err := p.newActionContext(r, "")
	if err != nil {
		return nil, err
	}
	allowed := false
	for _, act := range v.page.actions(ac, u) {
		allowed = allowed || act.Key == action
	}
	// The opposite of the current state (unblocking an active user) has
	// nothing to confirm: show the card.
	if !allowed {
		if action == "block" || action == "unblock" {
			return nil, roster.Errorf(roster.ECONFLICT, "The user's status changed; open the card again.")
		}
		return nil, roster.Errorf(roster.EFORBIDDEN, "You cannot do this to this user.")
	}
	v.Title = v.Heading()
	switch action {
	case "edit":
		v.NameLocked = u.NameSetBySelf && u.ID != a.User.ID
		v.Form = map[string]string{"first_name": u.FirstName, "middle_name": u.MiddleName, "last_name": u.LastName,
			"phone": u.Phone, "work_phone": u.WorkPhone, "position": u.Position}
	case "roles":
		if v.Roles, err = p.Roles.Roles(ctx, u.CompanyID); err != nil {
			return nil, err
		}
		v.GrantRoles, v.HeldRoles = map[int64]bool{}, map[int64]bool{}
		for _, r := range p.grantable(ctx, v.Roles, u.CompanyID) {
			v.GrantRoles[r.ID] = true
		}
		for _, r := range u.Roles {
			v.HeldRoles[r.ID] = true
		}
	case "block":
		v.Groups = map[string][]string{}
		if ops := p.ops(); ops != nil {
			for _, kind := range v.GroupKinds() {
				groups, err := ops.WorkGroups(ctx, a.Scope, u.CompanyID, kind)
				if err != nil {
					return nil, err
				}
				for _, g := range groups {
					for _, m := range g.Members {
						if m.ID == u.ID {
							v.Groups[kind] = append(v.Groups[kind], g.Name)
						}
					}
				}
			}
		}
	case "switch":
		if v.Company, err = p.Companies.CompanyByID(ctx, a.Scope, u.CompanyID); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// HasGroups reports whether a block removes the user from any group.
func (v *userActionView) HasGroups() bool {
	for _, g := range v.Groups {
		if len(g) > 0 {
			return true
		}
	}
	return false
}
