package panel

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/notify"
	"github.com/roster-app/roster/secure"
)

// The operations screens (issue 5): queues, shifts and agent groups with
// their members, the company's operations settings, notification settings
// and failed deliveries. The store behind Users also implements the
// operations, clients and notification services, as it does for package web.

func (p *Panel) ops() roster.OperationsService {
	o, _ := p.Users.(roster.OperationsService)
	return o
}

func (p *Panel) clientStore() roster.ClientService {
	c, _ := p.Users.(roster.ClientService)
	return c
}

func (p *Panel) notifications() roster.NotificationService {
	n, _ := p.Users.(roster.NotificationService)
	return n
}

// groupKind is one kind of work group as the panel shows it.
type groupKind struct {
	Path string // URL segment: "queues"
	Kind string // roster.KindQueue …
}

// Key is the translation prefix of the kind: "ops.queue".
func (k groupKind) Key() string { return "ops." + k.Kind }

func (k groupKind) perm() roster.Permission { return roster.WorkGroupPermission(k.Kind) }

var groupKinds = []groupKind{
	{"queues", roster.KindQueue}, {"shifts", roster.KindShift}, {"agent-groups", roster.KindAgentGroup},
}

// operationRoutes adds the routes of the operations screens to mux.
func (p *Panel) operationRoutes(mux *http.ServeMux) {
	for _, k := range groupKinds {
		g := groupHandlers{p, k}
		base := "/" + k.Path
		mux.Handle("GET "+base, p.auth(g.list))
		mux.Handle("POST "+base, p.auth(g.create))
		mux.Handle("GET "+base+"/{id}", p.auth(g.show))
		mux.Handle("POST "+base+"/{id}", p.auth(g.rename))
		mux.Handle("POST "+base+"/{id}/delete", p.auth(g.delete))
		mux.Handle("POST "+base+"/{id}/members", p.auth(g.addMembers))
		mux.Handle("POST "+base+"/{id}/members/remove", p.auth(g.removeMembers))
		if k.Kind == roster.KindAgentGroup {
			mux.Handle("POST "+base+"/{id}/managers", p.auth(g.managers))
		}
	}
	mux.Handle("POST /users/{id}/operations", p.auth(p.handleUserOperations))

	mux.Handle("GET /clients", p.auth(p.handleClients))
	mux.Handle("POST /clients", p.auth(p.handleClientCreate))
	mux.Handle("GET /clients/{id}", p.auth(p.handleClient))
	mux.Handle("POST /clients/{id}", p.auth(p.handleClientUpdate))
	mux.Handle("POST /clients/{id}/delete", p.auth(p.handleClientDelete))
	mux.Handle("GET /client-tags", p.auth(p.handleTags))
	mux.Handle("POST /client-tags", p.auth(p.handleTagCreate))
	mux.Handle("POST /client-tags/{id}", p.auth(p.handleTagRename))
	mux.Handle("POST /client-tags/{id}/delete", p.auth(p.handleTagDelete))

	mux.Handle("GET /settings/operations", p.auth(p.handleCompanyOps))
	mux.Handle("POST /settings/operations", p.auth(p.handleCompanyOpsUpdate))
	mux.Handle("GET /profile/notifications", p.auth(p.handleNotifications))
	mux.Handle("POST /profile/notifications", p.auth(p.handleNotificationsUpdate))
	mux.Handle("GET /notifications/failed", p.auth(p.handleFailedDeliveries))
}

// opsTab is one tab of the operations screens.
type opsTab struct {
	Href, Label string
	Current     bool
}

// OpsTabs are the operations tabs the actor may open; the one whose
// address starts the current path is marked current.
func (pg *page) OpsTabs() []opsTab {
	path, _, _ := strings.Cut(pg.Return, "?")
	var out []opsTab
	add := func(href, label string) {
		out = append(out, opsTab{href, label, path == href || strings.HasPrefix(path, href+"/")})
	}
	for _, k := range groupKinds {
		if pg.Can(string(k.perm())) || pg.Can(string(roster.PermUsersView)) {
			add("/"+k.Path, pg.T(k.Key()+".title"))
		}
	}
	if pg.Can(string(roster.PermRolesManage)) {
		add("/settings/operations", pg.T("ops.settings.title"))
	}
	if pg.Can(string(roster.PermAuditView)) {
		add("/notifications/failed", pg.T("ops.failed.title"))
	}
	return out
}

// ClientTabs are the tabs of the clients screens.
func (pg *page) ClientTabs() []opsTab {
	path, _, _ := strings.Cut(pg.Return, "?")
	var out []opsTab
	if pg.Can(string(roster.PermClientsView)) {
		out = append(out, opsTab{"/clients", pg.T("clients.title"), path == "/clients" || strings.HasPrefix(path, "/clients/")})
	}
	if pg.Can(string(roster.PermClientsView)) || pg.Can(string(roster.PermTagsManage)) {
		out = append(out, opsTab{"/client-tags", pg.T("tags.title"), path == "/client-tags"})
	}
	return out
}

// CanOperations reports whether the actor sees the Operations menu entry.
func (pg *page) CanOperations() bool { return len(pg.OpsTabs()) > 0 }

// CanClients reports whether the actor sees the Clients menu entry.
func (pg *page) CanClients() bool { return len(pg.ClientTabs()) > 0 }

// ---- Queues, shifts, agent groups (O1) ----

// groupHandlers serves one kind of work group.
type groupHandlers struct {
	p *Panel
	k groupKind
}

// companyWide reports whether the actor manages every group of the kind;
// an agent group manager (agent_groups.manage without users.edit) manages,
// and sees, only the agent groups that list them as a manager.
func (h groupHandlers) companyWide(a *roster.Actor) bool {
	if h.k.Kind != roster.KindAgentGroup {
		return true
	}
	return a.Can(roster.PermUsersEdit) || !a.Can(roster.PermAgentGroupsManage)
}

func (h groupHandlers) mayView(a *roster.Actor) error {
	if a.Can(h.k.perm()) || a.Can(roster.PermUsersView) {
		return nil
	}
	return roster.Errorf(roster.EFORBIDDEN, "You do not have permission to do this.")
}

// mayEdit allows creating, renaming and deleting groups and choosing managers.
func (h groupHandlers) mayEdit(a *roster.Actor) error {
	if a.Can(h.k.perm()) && h.companyWide(a) {
		return nil
	}
	return roster.Errorf(roster.EFORBIDDEN, "You do not have permission to do this.")
}

// mayChange allows adding and removing members of g.
func (h groupHandlers) mayChange(a *roster.Actor, g *roster.WorkGroup) bool {
	return a.Can(h.k.perm()) && (h.companyWide(a) || slices.Contains(g.ManagerIDs, a.User.ID))
}

type groupsView struct {
	*page
	Kind      groupKind
	Groups    []*roster.WorkGroup
	CanCreate bool
	NewName   string
	Errors    formErrors
}

func (h groupHandlers) listView(w http.ResponseWriter, r *http.Request) (*groupsView, error) {
	a := state(r).actor
	if err := h.mayView(a); err != nil {
		return nil, err
	}
	gs, err := h.p.ops().WorkGroups(r.Context(), a.Scope, a.Company.ID, h.k.Kind)
	if err != nil {
		return nil, err
	}
	if !h.companyWide(a) {
		gs = slices.DeleteFunc(gs, func(g *roster.WorkGroup) bool { return !slices.Contains(g.ManagerIDs, a.User.ID) })
	}
	return &groupsView{page: h.p.newPage(w, r, h.k.Key()+".title", "operations"), Kind: h.k, Groups: gs,
		CanCreate: h.mayEdit(a) == nil}, nil
}

func (h groupHandlers) list(w http.ResponseWriter, r *http.Request) error {
	v, err := h.listView(w, r)
	if err != nil {
		return err
	}
	return h.p.render(w, r, http.StatusOK, "groups", v)
}

func (h groupHandlers) create(w http.ResponseWriter, r *http.Request) error {
	st := state(r)
	if err := h.mayEdit(st.actor); err != nil {
		return err
	}
	g := &roster.WorkGroup{CompanyID: st.actor.Company.ID, Kind: h.k.Kind, Name: r.PostFormValue("name")}
	if err := h.p.ops().CreateWorkGroup(r.Context(), g); err != nil {
		fe, ok := newFormErrors(st.lang, err)
		if !ok {
			return err
		}
		v, verr := h.listView(w, r)
		if verr != nil {
			return verr
		}
		v.NewName, v.Errors = r.PostFormValue("name"), *fe
		return h.p.render(w, r, http.StatusUnprocessableEntity, "groups", v)
	}
	return h.p.redirect(w, r, h.url(g.ID), "flash.group_created", 0)
}

func (h groupHandlers) url(id int64) string { return "/" + h.k.Path + "/" + strconv.FormatInt(id, 10) }

// find returns the group of the path the actor may see; an agent group
// manager's view of another group is simply not found.
func (h groupHandlers) find(r *http.Request) (*roster.WorkGroup, error) {
	a := state(r).actor
	if err := h.mayView(a); err != nil {
		return nil, err
	}
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return nil, roster.Errorf(roster.ENOTFOUND, "Not found.")
	}
	g, err := h.p.ops().WorkGroupByID(r.Context(), a.Scope, h.k.Kind, id)
	if err != nil {
		return nil, err
	}
	if !h.companyWide(a) && !slices.Contains(g.ManagerIDs, a.User.ID) {
		return nil, roster.Errorf(roster.ENOTFOUND, "Not found.")
	}
	return g, nil
}

type groupView struct {
	*page
	Kind       groupKind
	Group      *roster.WorkGroup
	CanChange  bool
	CanEdit    bool
	Q          string
	Candidates []*roster.User
	More       int
	Staff      []*roster.User
	Managers   map[int64]bool
	// ManagerNames are the agent group's managers, by name.
	ManagerNames []string
	Name         string
	Errors       formErrors
	Open         string
}

// candidateLimit bounds the picker; a search narrows a bigger company.
const candidateLimit = 100

func (h groupHandlers) view(w http.ResponseWriter, r *http.Request, g *roster.WorkGroup) (*groupView, error) {
	ctx := r.Context()
	a := state(r).actor
	v := &groupView{page: h.p.newPage(w, r, h.k.Key()+".title", "operations"), Kind: h.k, Group: g,
		CanChange: h.mayChange(a, g), CanEdit: h.mayEdit(a) == nil, Q: strings.TrimSpace(r.URL.Query().Get("q")),
		Name: g.Name, Managers: map[int64]bool{}}
	v.Title = g.Name
	for _, id := range g.ManagerIDs {
		v.Managers[id] = true
		if u, err := h.p.Users.UserByID(ctx, a.Scope, id); err == nil {
			v.ManagerNames = append(v.ManagerNames, u.DisplayName())
		}
	}
	company := g.CompanyID
	if v.CanChange {
		members := map[int64]bool{}
		for _, m := range g.Members {
			members[m.ID] = true
		}
		res, err := h.p.Users.Users(ctx, a.Scope, roster.UserFilter{Query: v.Q, Status: roster.StatusActive, CompanyID: &company, Limit: roster.MaxPageSize})
		if err != nil && roster.ErrorCode(err) != roster.EINVALID {
			return nil, err
		}
		if res != nil {
			for _, u := range res.Items {
				if members[u.ID] {
					continue
				}
				if len(v.Candidates) == candidateLimit {
					v.More++
					continue
				}
				v.Candidates = append(v.Candidates, u)
			}
			if res.NextCursor != "" {
				v.More += res.Total - len(res.Items)
			}
		}
	}
	if v.CanEdit && h.k.Kind == roster.KindAgentGroup {
		res, err := h.p.Users.Users(ctx, a.Scope, roster.UserFilter{Status: roster.StatusActive, CompanyID: &company, Limit: roster.MaxPageSize})
		if err != nil {
			return nil, err
		}
		v.Staff = res.Items
	}
	return v, nil
}

func (h groupHandlers) show(w http.ResponseWriter, r *http.Request) error {
	g, err := h.find(r)
	if err != nil {
		return err
	}
	v, err := h.view(w, r, g)
	if err != nil {
		return err
	}
	return h.p.render(w, r, http.StatusOK, "group", v)
}

// fail shows the group page again with a form's errors, or returns err
// when no form can show it.
func (h groupHandlers) fail(w http.ResponseWriter, r *http.Request, g *roster.WorkGroup, err error, open string) error {
	fe, ok := newFormErrors(state(r).lang, err)
	if !ok {
		return err
	}
	v, verr := h.view(w, r, g)
	if verr != nil {
		return verr
	}
	v.Errors, v.Open = *fe, open
	if open == "rename" {
		v.Name = r.PostFormValue("name")
	}
	return h.p.render(w, r, http.StatusUnprocessableEntity, "group", v)
}

func (h groupHandlers) rename(w http.ResponseWriter, r *http.Request) error {
	a := state(r).actor
	if err := h.mayEdit(a); err != nil {
		return err
	}
	g, err := h.find(r)
	if err != nil {
		return err
	}
	name := r.PostFormValue("name")
	if _, err := h.p.ops().UpdateWorkGroup(r.Context(), a.Scope, h.k.Kind, g.ID, roster.WorkGroupUpdate{Name: &name}); err != nil {
		return h.fail(w, r, g, err, "rename")
	}
	return h.p.redirect(w, r, h.url(g.ID), "flash.group_renamed", 0)
}

func (h groupHandlers) delete(w http.ResponseWriter, r *http.Request) error {
	a := state(r).actor
	if err := h.mayEdit(a); err != nil {
		return err
	}
	g, err := h.find(r)
	if err != nil {
		return err
	}
	if err := h.p.ops().DeleteWorkGroup(r.Context(), a.Scope, h.k.Kind, g.ID); err != nil {
		return err
	}
	return h.p.redirect(w, r, "/"+h.k.Path, "flash.group_deleted", 0)
}

func (h groupHandlers) addMembers(w http.ResponseWriter, r *http.Request) error {
	a := state(r).actor
	g, err := h.find(r)
	if err != nil {
		return err
	}
	if !h.mayChange(a, g) {
		return roster.Errorf(roster.EFORBIDDEN, "You do not have permission to do this.")
	}
	ids := formIDs(r.PostForm["user_ids"])
	if len(ids) == 0 {
		var v roster.Validation
		v.Add("user_ids", "choose_users", "Choose at least one user.")
		return h.fail(w, r, g, v.Err(), "add")
	}
	if _, err := h.p.ops().AddWorkGroupMembers(r.Context(), a.Scope, h.k.Kind, g.ID, ids); err != nil {
		return h.fail(w, r, g, err, "add")
	}
	return h.p.redirect(w, r, h.url(g.ID), "flash.members_added", len(ids))
}

func (h groupHandlers) removeMembers(w http.ResponseWriter, r *http.Request) error {
	a := state(r).actor
	g, err := h.find(r)
	if err != nil {
		return err
	}
	if !h.mayChange(a, g) {
		return roster.Errorf(roster.EFORBIDDEN, "You do not have permission to do this.")
	}
	ids := formIDs(append(r.PostForm["user_id"], r.PostForm["user_ids"]...))
	if len(ids) == 0 {
		return h.p.redirect(w, r, h.url(g.ID), "", 0)
	}
	if _, err := h.p.ops().RemoveWorkGroupMembers(r.Context(), a.Scope, h.k.Kind, g.ID, ids); err != nil {
		return h.fail(w, r, g, err, "")
	}
	return h.p.redirect(w, r, h.url(g.ID), "flash.members_removed", len(ids))
}

func (h groupHandlers) managers(w http.ResponseWriter, r *http.Request) error {
	a := state(r).actor
	if err := h.mayEdit(a); err != nil {
		return err
	}
	g, err := h.find(r)
	if err != nil {
		return err
	}
	ids := formIDs(r.PostForm["manager_ids"])
	if ids == nil {
		ids = []int64{}
	}
	if _, err := h.p.ops().UpdateWorkGroup(r.Context(), a.Scope, h.k.Kind, g.ID, roster.WorkGroupUpdate{ManagerIDs: &ids}); err != nil {
		return h.fail(w, r, g, err, "managers")
	}
	return h.p.redirect(w, r, h.url(g.ID), "flash.managers_saved", 0)
}

// ---- Company operations settings ----

type companyOpsView struct {
	*page
	Ops    *roster.CompanyOperations
	Errors formErrors
}

func (p *Panel) companyOpsView(w http.ResponseWriter, r *http.Request) (*companyOpsView, error) {
	a := state(r).actor
	if err := need(r, roster.PermRolesManage); err != nil {
		return nil, err
	}
	co, err := p.ops().CompanyOperations(r.Context(), a.Scope, a.Company.ID)
	if err != nil {
		return nil, err
	}
	return &companyOpsView{page: p.newPage(w, r, "ops.settings.title", "operations"), Ops: co}, nil
}

func (p *Panel) handleCompanyOps(w http.ResponseWriter, r *http.Request) error {
	v, err := p.companyOpsView(w, r)
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "companyops", v)
}

// handleCompanyOpsUpdate saves the call statistics switch and the tokens.
// A token field left empty keeps the token; "remove" clears it. Tokens are
// sealed before they are stored and never shown again.
func (p *Panel) handleCompanyOpsUpdate(w http.ResponseWriter, r *http.Request) error {
	if err := need(r, roster.PermRolesManage); err != nil {
		return err
	}
	ctx := r.Context()
	st := state(r)
	a := st.actor
	stats := r.PostFormValue("call_statistics") == "1"
	upd := roster.CompanyOperationsUpdate{CallStatistics: &stats}
	var v roster.Validation
	for _, t := range []struct {
		field string
		dst   **string
	}{{"telegram_bot_token", &upd.TelegramBotToken}, {"slack_token", &upd.SlackToken}} {
		val := strings.TrimSpace(r.PostFormValue(t.field))
		switch {
		case r.PostFormValue(t.field+"_remove") == "1":
			empty := ""
			*t.dst = &empty
		case val != "":
			roster.ValidateText(&v, t.field, val, 500)
			if v.Has(t.field) {
				continue
			}
			sealed, err := p.sealToken(r, val)
			if err != nil {
				return err
			}
			*t.dst = &sealed
		}
	}
	err := v.Err()
	if err == nil {
		_, err = p.ops().UpdateCompanyOperations(ctx, a.Scope, a.Company.ID, upd)
	}
	if err != nil {
		fe, ok := newFormErrors(st.lang, err)
		if !ok {
			return err
		}
		cv, verr := p.companyOpsView(w, r)
		if verr != nil {
			return verr
		}
		cv.Errors = *fe
		return p.render(w, r, http.StatusUnprocessableEntity, "companyops", cv)
	}
	return p.redirect(w, r, "/settings/operations", "flash.company_ops_saved", 0)
}

// sealToken encrypts a notification token with the key the sender opens it with.
func (p *Panel) sealToken(r *http.Request, token string) (string, error) {
	plat := p.Platform
	if plat == nil {
		plat, _ = p.Users.(roster.PlatformService)
	}
	key, err := notify.TokenKey(r.Context(), p.SecretKey, plat)
	if err != nil {
		return "", err
	}
	return secure.Encrypt(key, []byte(token))
}

// ---- My notifications (O3) ----

type notificationsView struct {
	*page
	Prefs    *roster.NotificationPrefs
	Catalog  []roster.NotificationEventInfo
	Channels []string
	On       map[string]bool // "event_type/channel"
	Allowed  bool
	Errors   formErrors
}

// Checked reports whether a cell of the matrix is on.
func (v *notificationsView) Checked(eventType, channel string) bool {
	return v.On[eventType+"/"+channel]
}

func (p *Panel) notificationsView(w http.ResponseWriter, r *http.Request, prefs *roster.NotificationPrefs) *notificationsView {
	a := state(r).actor
	v := &notificationsView{page: p.newPage(w, r, "notify.title", "profile"), Prefs: prefs, Catalog: roster.NotificationCatalog,
		Channels: roster.Channels, On: map[string]bool{}, Allowed: a.Can(roster.PermUsersView) || a.Can(roster.PermAuditView)}
	for _, s := range prefs.Subscriptions {
		for _, c := range s.Channels {
			v.On[s.EventType+"/"+c] = true
		}
	}
	return v
}

func (p *Panel) handleNotifications(w http.ResponseWriter, r *http.Request) error {
	prefs, err := p.notifications().NotificationPrefs(r.Context(), state(r).actor.User.ID)
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "notifications", p.notificationsView(w, r, prefs))
}

func (p *Panel) handleNotificationsUpdate(w http.ResponseWriter, r *http.Request) error {
	st := state(r)
	a := st.actor
	prefs := &roster.NotificationPrefs{TelegramChatID: strings.TrimSpace(r.PostFormValue("telegram_chat_id")),
		SlackChannelID: strings.TrimSpace(r.PostFormValue("slack_channel_id")), Subscriptions: []roster.Subscription{}}
	for _, e := range roster.NotificationCatalog {
		var chans []string
		for _, c := range roster.Channels {
			if slices.Contains(r.PostForm["sub"], e.Type+"/"+c) {
				chans = append(chans, c)
			}
		}
		if len(chans) > 0 {
			prefs.Subscriptions = append(prefs.Subscriptions, roster.Subscription{EventType: e.Type, Channels: chans})
		}
	}
	if len(prefs.Subscriptions) > 0 && !a.Can(roster.PermUsersView) && !a.Can(roster.PermAuditView) {
		return roster.Errorf(roster.EFORBIDDEN, "Notifications are about other users' accounts: they need users.view or audit.view.")
	}
	if err := p.notifications().SetNotificationPrefs(r.Context(), a.User.ID, prefs); err != nil {
		fe, ok := newFormErrors(st.lang, err)
		if !ok {
			return err
		}
		v := p.notificationsView(w, r, prefs)
		v.Errors = *fe
		return p.render(w, r, http.StatusUnprocessableEntity, "notifications", v)
	}
	return p.redirect(w, r, "/profile/notifications", "flash.notifications_saved", 0)
}

// ---- Failed deliveries ----

type failedView struct {
	*page
	Deliveries []*roster.Delivery
}

func (p *Panel) handleFailedDeliveries(w http.ResponseWriter, r *http.Request) error {
	if err := need(r, roster.PermAuditView); err != nil {
		return err
	}
	ds, err := p.notifications().FailedDeliveries(r.Context(), state(r).actor.Scope, roster.MaxPageSize)
	if err != nil {
		return err
	}
	v := &failedView{page: p.newPage(w, r, "ops.failed.title", "operations"), Deliveries: ds}
	return p.render(w, r, http.StatusOK, "failed", v)
}
