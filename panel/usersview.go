package panel

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roster-app/roster"
)

// This file holds the users table's parts (issue 12): the optional
// columns, sortable headers, the reader's position, block reasons, the
// actions of a row or card, and where "back to the list" leads.

// optionalColumns are the users table's columns beyond the default ones
// (name with e-mail or login, roles, queues, status, last sign-in), in
// table order. Each user chooses theirs (roster.PrefUsersColumns).
var optionalColumns = []string{"company", "mfa", "presence", "calls", "allowlist", "tags", "creator", "created", "modified"}

// parseColumns reads a stored or posted column list, keeping known names.
func parseColumns(s string) map[string]bool {
	out := map[string]bool{}
	for _, c := range strings.Split(s, ",") {
		if slices.Contains(optionalColumns, c) {
			out[c] = true
		}
	}
	return out
}

// handleUsersColumns stores the columns the user chose.
func (p *Panel) handleUsersColumns(w http.ResponseWriter, r *http.Request) error {
	var cols []string
	for _, c := range optionalColumns {
		if slices.Contains(r.PostForm["col"], c) {
			cols = append(cols, c)
		}
	}
	if err := p.Users.SetUserPreference(r.Context(), state(r).actor.User.ID, roster.PrefUsersColumns, strings.Join(cols, ",")); err != nil {
		return err
	}
	return p.redirect(w, r, localPath(r.PostFormValue("return"), "/users"), "", 0)
}

// Col reports whether the optional column c is shown.
func (v *usersView) Col(c string) bool { return v.Columns[c] }

// sortDefaults is the direction a header sorts in first: names and
// statuses A to Z, dates newest first.
var sortDefaults = map[string]string{"name": "name", "status": "status", "created_at": "-created_at", "last_login_at": "-last_login_at"}

// sortNow is the order the list is in.
func (v *usersView) sortNow() string {
	if v.Result != nil && v.Result.Sort != "" {
		return v.Result.Sort
	}
	if v.Filter.Sort != "" {
		return v.Filter.Sort
	}
	return "name"
}

// SortURL is the address a column header leads to: the list sorted by
// the column, the other way round when it already is.
func (v *usersView) SortURL(col string) string {
	next := sortDefaults[col]
	switch v.sortNow() {
	case col:
		next = "-" + col
	case "-" + col:
		next = col
	}
	vals := v.Filter.Values()
	if next == "name" {
		vals.Del("sort")
	} else {
		vals.Set("sort", next)
	}
	return "/users?" + vals.Encode()
}

// AriaSort is the aria-sort of a column header.
func (v *usersView) AriaSort(col string) string {
	switch v.sortNow() {
	case col:
		return "ascending"
	case "-" + col:
		return "descending"
	}
	return "none"
}

// Sorts are the orders offered in the sort menu (the card view has no
// headers), each with its label key.
func (v *usersView) Sorts() [][2]string {
	return [][2]string{{"name", "users.sort_name"}, {"-name", "users.sort_name_desc"},
		{"-created_at", "users.sort_newest"}, {"created_at", "users.sort_oldest"},
		{"-last_login_at", "users.sort_login_recent"}, {"last_login_at", "users.sort_login_oldest"},
		{"status", "users.sort_status"}, {"-status", "users.sort_status_desc"}}
}

// SortValue is the sort menu's current value.
func (v *usersView) SortValue() string {
	if v.Filter.Sort == "" {
		return "name"
	}
	return v.Filter.Sort
}

// Position says which users the page shows: "51–100 of 20,000".
func (v *usersView) Position() string {
	n := len(v.Result.Items)
	if n == 0 {
		return ""
	}
	from, to := v.Result.Offset+1, v.Result.Offset+n
	if v.Result.TotalCapped {
		return v.T("users.position_capped", v.Num(from), v.Num(to), v.Num(v.Result.Total))
	}
	return v.T("users.position", v.Num(from), v.Num(to), v.Num(max(v.Result.Total, to)))
}

// Num formats a count with the language's thousands separator.
func (pg *page) Num(n int) string {
	s := strconv.Itoa(n)
	if n < 1000 && n > -1000 {
		return s
	}
	sep := ","
	if pg.Lang == "ru" {
		sep = "\u202f"
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// listCookie remembers the users list's last address (filter, sort and
// page), so that the card's way back and the actions return to the same
// place in the list.
const listCookie = "roster_users_list"

// rememberList stores the list's query in a cookie.
func (p *Panel) rememberList(w http.ResponseWriter, q url.Values) {
	q.Del("fragment")
	q.Del("view")
	p.setCookie(w, listCookie, base64.RawURLEncoding.EncodeToString([]byte(q.Encode())), 0)
}

// listURL is the users list where the reader left it.
func (p *Panel) listURL(r *http.Request) string {
	b, err := base64.RawURLEncoding.DecodeString(p.cookie(r, listCookie))
	if err != nil || len(b) == 0 {
		return "/users"
	}
	q, err := url.ParseQuery(string(b))
	if err != nil {
		return "/users"
	}
	return "/users?" + listQuery(q)
}

// listQuery re-encodes only the list's own parameters, cursor included.
func listQuery(q url.Values) string {
	f := parseUsersFilter(q)
	v := f.Values()
	if f.Cursor != "" {
		v.Set("cursor", f.Cursor)
	}
	return v.Encode()
}

// blockInfo is who blocked a user, when, and why: the latest block event.
type blockInfo struct {
	By      string
	At      time.Time
	Comment string
}

// blockInfo finds the latest block of a blocked user in the event log;
// nil when the log has none (or the user is not blocked).
func (p *Panel) blockInfo(ctx context.Context, scope roster.Scope, u *roster.User) (*blockInfo, error) {
	if u.Status != roster.StatusBlocked {
		return nil, nil
	}
	page, err := p.Events.Events(ctx, scope, roster.EventFilter{UserID: &u.ID, Type: roster.EventUserBlocked, Limit: 20})
	if err != nil {
		return nil, err
	}
	for _, e := range page.Items {
		if e.TargetUserID != nil && *e.TargetUserID == u.ID {
			by := e.ActorName
			if e.ImpersonatorName != "" {
				by = e.ImpersonatorName
			}
			return &blockInfo{By: by, At: e.CreatedAt, Comment: e.Comment}, nil
		}
	}
	return nil, nil
}

// BlockText says who blocked a user, when and why, in one line.
func (pg *page) BlockText(b *blockInfo) string {
	if b == nil {
		return ""
	}
	s := pg.T("user.blocked_on", pg.Date(b.At))
	if b.By != "" {
		s = pg.T("user.blocked_by", b.By, pg.Date(b.At))
	}
	if b.Comment != "" {
		s += ": " + pg.T("common.quoted", b.Comment)
	}
	return s
}

// rowAction is one entry of a user's actions menu (list row, card or
// card head): each opens the same confirmation.
type rowAction struct {
	Key    string
	Label  string
	Href   string
	Danger bool
}

// actionContext is what deciding a user's actions needs beyond the actor.
type actionContext struct {
	actor *roster.Actor
	// dependents are the companies the actor may switch into (nil when
	// the actor may not switch now).
	dependents []int64
	// ret is where the action returns ("" for the card).
	ret string
}

// newActionContext reads whether and where the actor may switch.
func (p *Panel) newActionContext(r *http.Request, ret string) (*actionContext, error) {
	st := state(r)
	ac := &actionContext{actor: st.actor, ret: ret}
	if st.actor.Can(roster.PermCompaniesSwitch) && st.session != nil && st.session.Kind == roster.SessionWeb {
		deps, err := p.Companies.DependentIDs(r.Context(), st.actor.User.CompanyID)
		if err != nil {
			return nil, err
		}
		ac.dependents = deps
	}
	return ac, nil
}

// manages reports whether the actor may act on u at all: not on
// themselves, and on a Main administrator only as one.
func manages(a *roster.Actor, u *roster.User) bool {
	return u.ID != a.User.ID && !(u.HasRole(roster.RoleMainAdmin) && !a.MainAdmin)
}

// canSwitchInto reports whether u is an active administrator of a
// dependent company the actor may switch into (U15).
func (ac *actionContext) canSwitchInto(u *roster.User) bool {
	return u.Status == roster.StatusActive && u.HasRole(roster.RoleCompanyAdmin) &&
		u.CompanyID != ac.actor.User.CompanyID && slices.Contains(ac.dependents, u.CompanyID)
}

// actions lists what the actor may do to u, in menu order; actions that
// make no sense for u's state (a reset for a blocked user, an invitation
// for a registered one) are left out.
func (pg *page) actions(ac *actionContext, u *roster.User) []rowAction {
	a := ac.actor
	manage := manages(a, u)
	base := "/users/" + strconv.FormatInt(u.ID, 10) + "/"
	var out []rowAction
	add := func(key, label string, danger bool) {
		href := base + key
		if ac.ret != "" {
			href += "?" + url.Values{"return": {ac.ret}}.Encode()
		}
		out = append(out, rowAction{Key: key, Label: pg.T(label), Href: href, Danger: danger})
	}
	if a.Can(roster.PermUsersEdit) && (manage || u.ID == a.User.ID) {
		add("edit", "user.edit", false)
	}
	if a.Can(roster.PermUsersRoles) && manage {
		add("roles", "user.change_roles", false)
	}
	if a.Can(roster.PermUsersBlock) && manage {
		if u.Status == roster.StatusBlocked {
			add("unblock", "user.unblock", false)
		} else {
			add("block", "user.block", true)
		}
	}
	if a.Can(roster.PermUsersCredentials) && manage && u.Status != roster.StatusBlocked {
		if u.Status == roster.StatusInvited && u.AuthMethod == roster.AuthEmail && u.PasswordHash == "" {
			add("invitation", "user.resend", false)
		} else {
			add("password-reset", "user.reset_password", false)
		}
	}
	if ac.canSwitchInto(u) {
		add("switch", "user.switch", false)
	}
	if a.Can(roster.PermUsersDelete) && manage {
		add("delete", "user.delete", true)
	}
	return out
}

// Actions are the actions menu of a row.
func (v *usersView) Actions(u *roster.User) []rowAction {
	if v.actx == nil {
		return nil
	}
	return v.page.actions(v.actx, u)
}

// Blocked returns a blocked user's block line for the status tooltip.
func (v *usersView) Blocked(u *roster.User) string { return v.BlockText(v.Blocks[u.ID]) }

// userRow is one user of the list with the list, for the row partials.
type userRow struct {
	View *usersView
	User *roster.User
}

// Row pairs a user with the list for the row partials.
func (v *usersView) Row(u *roster.User) userRow { return userRow{View: v, User: u} }

// Count is how many filters beyond the search narrow or order the list,
// for the phone's "Filters" button.
func (f usersFilter) Count() int {
	n := 0
	for _, s := range []string{f.Status, f.Invitation, f.Role, f.Company, f.Queue, f.SignInBefore, f.NeverSignedIn} {
		if s != "" {
			n++
		}
	}
	if f.Sort != "" && f.Sort != "name" {
		n++
	}
	return n
}

// UserStatus is a user's status as a badge says it. Russian adjectives
// agree with the person (Активен, Активна) where the name tells the
// grammatical gender, and read «Статус: активен» where it does not.
func (pg *page) UserStatus(u *roster.User) string {
	if pg.Lang == "ru" {
		if g := russianGender(u); g != "" {
			return pg.T("status." + g + "." + string(u.Status))
		}
	}
	return pg.T("status." + string(u.Status))
}

// russianGender guesses a person's grammatical gender, "m" or "f", from
// a Russian patronymic or surname, in Cyrillic or transliterated; "" when
// the name does not say (foreign names, initials only).
func russianGender(u *roster.User) string {
	mid := strings.ToLower(strings.TrimSpace(u.MiddleName))
	switch {
	case hasAnySuffix(mid, "вна", "чна", "кызы", "vna", "chna"):
		return "f"
	case hasAnySuffix(mid, "вич", "ич", "оглы", "vich", "ich"):
		return "m"
	}
	last := strings.ToLower(strings.TrimSpace(u.LastName))
	switch {
	case hasAnySuffix(last, "ова", "ева", "ёва", "ина", "ына", "ская", "цкая", "ова", "ova", "eva", "ina", "skaya", "tskaya"):
		return "f"
	case hasAnySuffix(last, "ов", "ев", "ёв", "ин", "ын", "ский", "цкий", "ov", "ev", "sky", "skiy", "skii", "tsky"):
		return "m"
	}
	return ""
}

func hasAnySuffix(s string, suffixes ...string) bool {
	for _, x := range suffixes {
		if len([]rune(s)) > len([]rune(x))+1 && strings.HasSuffix(s, x) {
			return true
		}
	}
	return false
}
