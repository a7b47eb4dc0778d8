package panel

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
)

// The operations screens (issue 5): queues, shifts and agent groups with
// their members, the company's operations settings, notification settings
// and failed deliveries. Every change goes through a workflow of package
// app (p.App); the pages only read forms and render.

// ops and clientStore are the store's operations and clients, read
// directly only to show the operations parts of the users list and card.
func (p *Panel) ops() roster.OperationsService {
	o, _ := p.Users.(roster.OperationsService)
	return o
}

func (p *Panel) clientStore() roster.ClientService {
	c, _ := p.Users.(roster.ClientService)
	return c
}

// groupKind is one kind of work group as the panel shows it.
type groupKind struct {
	Path string // URL segment: "queues"
	Kind string // roster.KindQueue …
}

// Key is the translation prefix of the kind: "ops.queue".
func (k groupKind) Key() string { return "ops." + k.Kind }

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
	mux.Handle("POST /users/{id}/notifications", p.auth(p.handleUserNotifications))
	mux.Handle("GET /system/event-notifications", p.auth(p.handleEventTypes))
	mux.Handle("POST /system/event-notifications", p.auth(p.handleEventTypesUpdate))
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
		if app.CanViewGroups(pg.Actor, k.Kind) {
			add("/"+k.Path, pg.T(k.Key()+".title"))
		}
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

// groupHandlers serves one kind of work group. Who sees, creates, renames
// and deletes groups and changes their members is decided by
// app.Operations; the pages ask its Can* functions only to show or hide
// buttons.
type groupHandlers struct {
	p *Panel
	k groupKind
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
	gs, err := h.p.App.Operations.Groups(r.Context(), h.k.Kind, 0)
	if err != nil {
		return nil, err
	}
	return &groupsView{page: h.p.newPage(w, r, h.k.Key()+".title", "operations"), Kind: h.k, Groups: gs,
		CanCreate: app.CanManageGroups(state(r).actor, h.k.Kind)}, nil
}

func (h groupHandlers) list(w http.ResponseWriter, r *http.Request) error {
	v, err := h.listView(w, r)
	if err != nil {
		return err
	}
	return h.p.render(w, r, http.StatusOK, "groups", v)
}

func (h groupHandlers) create(w http.ResponseWriter, r *http.Request) error {
	g, err := h.p.App.Operations.CreateGroup(r.Context(), h.k.Kind, app.NewGroup{Name: r.PostFormValue("name")})
	if err != nil {
		fe, ok := newFormErrors(state(r).lang, err)
		if !ok {
			return err
		}
		v, verr := h.listView(w, r)
		if verr != nil {
			return verr
		}
		v.NewName, v.Errors = r.PostFormValue("name"), *fe
		return h.p.render(w, r, formStatus(err), "groups", v)
	}
	return h.p.redirect(w, r, h.url(g.ID), "flash.group_created", 0)
}

func (h groupHandlers) url(id int64) string { return "/" + h.k.Path + "/" + strconv.FormatInt(id, 10) }

// id is the group ID of the path; a malformed one is simply not found.
func (h groupHandlers) id(r *http.Request) (int64, error) {
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return 0, roster.Errorf(roster.ENOTFOUND, "Not found.")
	}
	return id, nil
}

// find returns the group of the path, if the actor may see it.
func (h groupHandlers) find(r *http.Request) (*roster.WorkGroup, error) {
	id, err := h.id(r)
	if err != nil {
		return nil, err
	}
	return h.p.App.Operations.Group(r.Context(), h.k.Kind, id)
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
	// People are the members as users (login, status), for those who may
	// see users; nil otherwise.
	People map[int64]*roster.User
}

// candidateLimit bounds the picker; a search narrows a bigger company.
const candidateLimit = 100

func (h groupHandlers) view(w http.ResponseWriter, r *http.Request, g *roster.WorkGroup) (*groupView, error) {
	ctx := r.Context()
	a := state(r).actor
	v := &groupView{page: h.p.newPage(w, r, h.k.Key()+".title", "operations"), Kind: h.k, Group: g,
		CanChange: app.CanChangeMembers(a, g), CanEdit: app.CanManageGroups(a, h.k.Kind), Q: strings.TrimSpace(r.URL.Query().Get("q")),
		Name: g.Name, Managers: map[int64]bool{}}
	v.Title = g.Name
	for _, id := range g.ManagerIDs {
		v.Managers[id] = true
		if u, err := h.p.Users.UserByID(ctx, a.Scope, id); err == nil {
			v.ManagerNames = append(v.ManagerNames, u.DisplayName())
		}
	}
	if a.Can(roster.PermUsersView) && len(g.Members) > 0 {
		v.People = map[int64]*roster.User{}
		ids := make([]int64, 0, len(g.Members))
		for _, m := range g.Members {
			ids = append(ids, m.ID)
		}
		for len(ids) > 0 {
			n := min(len(ids), roster.MaxPageSize)
			res, err := h.p.App.Users.List(ctx, roster.UserFilter{IDs: ids[:n], Limit: n})
			if err != nil {
				return nil, err
			}
			for _, u := range res.Items {
				v.People[u.ID] = u
			}
			ids = ids[n:]
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

// done redirects to the group after a change, or shows the group page
// again with a form's errors; an error no form can show is returned.
func (h groupHandlers) done(w http.ResponseWriter, r *http.Request, err error, open, flash string, n int) error {
	if err == nil {
		id, _ := h.id(r)
		return h.p.redirect(w, r, h.url(id), flash, n)
	}
	fe, ok := newFormErrors(state(r).lang, err)
	if !ok {
		return err
	}
	g, gerr := h.find(r)
	if gerr != nil {
		return gerr
	}
	v, verr := h.view(w, r, g)
	if verr != nil {
		return verr
	}
	v.Errors, v.Open = *fe, open
	if open == "rename" {
		v.Name = r.PostFormValue("name")
	}
	return h.p.render(w, r, formStatus(err), "group", v)
}

func (h groupHandlers) rename(w http.ResponseWriter, r *http.Request) error {
	id, err := h.id(r)
	if err != nil {
		return err
	}
	name := r.PostFormValue("name")
	_, err = h.p.App.Operations.UpdateGroup(r.Context(), h.k.Kind, id, roster.WorkGroupUpdate{Name: &name})
	return h.done(w, r, err, "rename", "flash.group_renamed", 0)
}

func (h groupHandlers) delete(w http.ResponseWriter, r *http.Request) error {
	id, err := h.id(r)
	if err != nil {
		return err
	}
	if err := h.p.App.Operations.DeleteGroup(r.Context(), h.k.Kind, id); err != nil {
		return err
	}
	return h.p.redirect(w, r, "/"+h.k.Path, "flash.group_deleted", 0)
}

func (h groupHandlers) addMembers(w http.ResponseWriter, r *http.Request) error {
	id, err := h.id(r)
	if err != nil {
		return err
	}
	ids := formIDs(r.PostForm["user_ids"])
	_, err = h.p.App.Operations.AddMembers(r.Context(), h.k.Kind, id, ids)
	return h.done(w, r, err, "add", "flash.members_added", len(ids))
}

func (h groupHandlers) removeMembers(w http.ResponseWriter, r *http.Request) error {
	id, err := h.id(r)
	if err != nil {
		return err
	}
	ids := formIDs(append(r.PostForm["user_id"], r.PostForm["user_ids"]...))
	_, err = h.p.App.Operations.RemoveMembers(r.Context(), h.k.Kind, id, ids)
	return h.done(w, r, err, "", "flash.members_removed", len(ids))
}

func (h groupHandlers) managers(w http.ResponseWriter, r *http.Request) error {
	id, err := h.id(r)
	if err != nil {
		return err
	}
	ids := formIDs(r.PostForm["manager_ids"])
	if ids == nil {
		ids = []int64{}
	}
	_, err = h.p.App.Operations.UpdateGroup(r.Context(), h.k.Kind, id, roster.WorkGroupUpdate{ManagerIDs: &ids})
	return h.done(w, r, err, "managers", "flash.managers_saved", 0)
}

// ---- Company operations settings ----

type companyOpsView struct {
	*page
	Ops *roster.CompanyOperations
	// CanEdit shows the form; others read the settings.
	CanEdit bool
	// CanPlan lets the Main administrator switch call statistics, which
	// follow the company's plan (U13).
	CanPlan bool
	Errors  formErrors
}

func (p *Panel) companyOpsView(w http.ResponseWriter, r *http.Request) (*companyOpsView, error) {
	co, err := p.App.Operations.CompanySettings(r.Context(), 0)
	if err != nil {
		return nil, err
	}
	// A section of Settings for those who change it; others (who may only
	// read it) reach it from Operations.
	nav := "operations"
	canEdit := app.CanChangeCompanySettings(state(r).actor)
	if canEdit {
		nav = navOpsSettings
	}
	return &companyOpsView{page: p.newPage(w, r, "ops.settings.title", nav), Ops: co,
		CanEdit: canEdit, CanPlan: state(r).actor.MainAdmin}, nil
}

func (p *Panel) handleCompanyOps(w http.ResponseWriter, r *http.Request) error {
	v, err := p.companyOpsView(w, r)
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "companyops", v)
}

// handleCompanyOpsUpdate saves the call statistics switch and the tokens.
// A token field left empty keeps the token; "remove" clears it.
func (p *Panel) handleCompanyOpsUpdate(w http.ResponseWriter, r *http.Request) error {
	var upd roster.CompanyOperationsUpdate
	if state(r).actor.MainAdmin {
		// Only the Main administrator's form has the switch (U13).
		stats := r.PostFormValue("call_statistics") == "1"
		upd.CallStatistics = &stats
	}
	for _, t := range []struct {
		field string
		dst   **string
	}{{"telegram_bot_token", &upd.TelegramBotToken}, {"slack_token", &upd.SlackToken}} {
		switch val := r.PostFormValue(t.field); {
		case r.PostFormValue(t.field+"_remove") == "1":
			empty := ""
			*t.dst = &empty
		case strings.TrimSpace(val) != "":
			*t.dst = &val
		}
	}
	if _, err := p.App.Operations.UpdateCompanySettings(r.Context(), 0, upd); err != nil {
		fe, ok := newFormErrors(state(r).lang, err)
		if !ok {
			return err
		}
		cv, verr := p.companyOpsView(w, r)
		if verr != nil {
			return verr
		}
		cv.Errors = *fe
		return p.render(w, r, formStatus(err), "companyops", cv)
	}
	return p.redirect(w, r, "/settings/operations", "flash.company_ops_saved", 0)
}

// ---- My notifications (O3) ----

type notificationsView struct {
	*page
	Form *notifyForm
}

func (p *Panel) notificationsView(w http.ResponseWriter, r *http.Request, prefs *roster.NotificationPrefs) (*notificationsView, error) {
	catalog, err := p.App.Notifications.Catalog(r.Context())
	if err != nil {
		return nil, err
	}
	pg := p.newPage(w, r, "notify.title", "profile")
	a := state(r).actor
	return &notificationsView{page: pg, Form: newNotifyForm(pg, prefs, catalog, app.MaySubscribe(a), a.User.Email, "n")}, nil
}

func (p *Panel) handleNotifications(w http.ResponseWriter, r *http.Request) error {
	prefs, err := p.App.Notifications.Mine(r.Context())
	if err != nil {
		return err
	}
	v, err := p.notificationsView(w, r, prefs)
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "notifications", v)
}

func (p *Panel) handleNotificationsUpdate(w http.ResponseWriter, r *http.Request) error {
	prefs := readNotifyForm(r)
	if _, err := p.App.Notifications.SetMine(r.Context(), prefs); err != nil {
		fe, ok := newFormErrors(state(r).lang, err)
		if !ok {
			return err
		}
		v, verr := p.notificationsView(w, r, &prefs)
		if verr != nil {
			return verr
		}
		v.Form.Errors = *fe
		return p.render(w, r, formStatus(err), "notifications", v)
	}
	return p.redirect(w, r, "/profile/notifications", "flash.notifications_saved", 0)
}

// ---- Failed deliveries ----

type failedView struct {
	*page
	Deliveries []*roster.Delivery
}

func (p *Panel) handleFailedDeliveries(w http.ResponseWriter, r *http.Request) error {
	ds, err := p.App.Notifications.Failed(r.Context(), roster.MaxPageSize)
	if err != nil {
		return err
	}
	v := &failedView{page: p.newPage(w, r, "ops.failed.title", "operations"), Deliveries: ds}
	return p.render(w, r, http.StatusOK, "failed", v)
}
