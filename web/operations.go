package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
)

// The operations API (issue 5): queues, shifts and agent groups with their
// members, dialogue routing, presence, calls, company operations settings,
// clients and client tags. Each handler decodes its request, calls one
// workflow of package app and encodes the answer.

// workGroupKinds maps URL segments to kinds.
var workGroupKinds = []struct{ path, kind, one string }{
	{"queues", roster.KindQueue, "Queue"},
	{"shifts", roster.KindShift, "Shift"},
	{"agent-groups", roster.KindAgentGroup, "AgentGroup"},
}

// operationRoutes are the rows of the route table for issue 5.
func (s *Server) operationRoutes() []route {
	P := func(ps ...roster.Permission) access { return anyOf(ps...) }
	var rs []route
	for _, k := range workGroupKinds {
		perm, base, h := roster.WorkGroupPermission(k.kind), "/api/v1/"+k.path, workGroupHandlers{s, k.kind}
		tag, name := k.path, k.one
		rs = append(rs,
			route{"GET", base, P(perm, roster.PermUsersView), h.list, opDoc{tag: tag, summary: "List " + k.path + " with members", status: 200, response: "WorkGroupList",
				query: []paramDoc{pCompany}, description: agentGroupNote(k.kind)}},
			route{"POST", base, P(perm), h.create, opDoc{tag: tag, summary: "Create a " + name, body: "WorkGroupCreate", status: 201, response: "WorkGroup", errors: []int{409}}},
			route{"GET", base + "/{id}", P(perm, roster.PermUsersView), h.get, opDoc{tag: tag, summary: "Get a " + name + " with members", status: 200, response: "WorkGroup"}},
			route{"PATCH", base + "/{id}", P(perm), h.patch, opDoc{tag: tag, summary: "Rename a " + name + " (agent groups: replace manager_ids)", body: "WorkGroupPatch", status: 200, response: "WorkGroup", errors: []int{409}}},
			route{"DELETE", base + "/{id}", P(perm), h.delete, opDoc{tag: tag, summary: "Delete a " + name, status: 204}},
			route{"POST", base + "/{id}/members", P(perm), h.addMembers, opDoc{tag: tag, summary: "Add users to a " + name, body: "UserIDs", status: 200, response: "WorkGroup",
				description: "Users of the group's company who are not blocked (422 naming user_ids otherwise). Users already in it are left alone; one event per user added. " + agentGroupNote(k.kind)}},
			route{"DELETE", base + "/{id}/members/{user_id}", P(perm), h.removeMember, opDoc{tag: tag, summary: "Remove a user from a " + name, status: 200, response: "WorkGroup"}},
		)
	}
	return append(rs,
		route{"PUT", "/api/v1/me/presence", authenticated(), s.handlePresence, opDoc{tag: "operations", summary: "Report your presence (softphone, mobile app)", body: "Presence", status: 200, response: "User",
			description: "An explicit status wins; without one a user counts as online while they hold a signed-in session. Blocking sets offline."}},
		route{"POST", "/api/v1/dialogues", P(roster.PermDialoguesHandle), s.handleDialogueAssign, opDoc{tag: "operations", summary: "Assign a new dialogue to an online chat operator", body: "DialogueRequest", optional: true,
			status: 201, response: "Dialogue", errors: []int{409},
			description: "Goes to the online operator (active, holding dialogues.handle, max_dialogues > 0) with the lowest active/max ratio, ties by lowest ID: maxima 300 and 100 split 3:1. " +
				"Never above a maximum, also under concurrent requests. 409 when nobody is online or all are full: queue the dialogue and ask again."}},
		route{"POST", "/api/v1/dialogues/{id}/close", P(roster.PermDialoguesHandle), s.handleDialogueClose, opDoc{tag: "operations", summary: "Close a dialogue, freeing its operator's slot", status: 200, response: "Dialogue", errors: []int{409}}},
		route{"POST", "/api/v1/calls", P(roster.PermCallsHandle), s.handleCallRecord, opDoc{tag: "operations", summary: "Report a handled call (telephony integration)", body: "CallRequest", status: 201, response: "Call",
			errors:      []int{200},
			description: "Idempotent by call_id within the company: a repeated call_id answers 200 with the stored call and changes nothing. The integration signs in as a user of the company holding calls.handle. A user without a work phone cannot be recorded as handling calls (422 naming work_phone)."}},
		route{"GET", "/api/v1/companies/{id}/operations", P(roster.PermUsersView, roster.PermRolesManage), s.handleCompanyOpsGet, opDoc{tag: "operations", summary: "A company's operations settings", status: 200, response: "CompanyOperations",
			description: "Tokens are never returned: only whether each is set."}},
		route{"PATCH", "/api/v1/companies/{id}/operations", P(roster.PermRolesManage), s.handleCompanyOpsPatch, opDoc{tag: "operations", summary: "Change a company's operations settings", body: "CompanyOperationsPatch", status: 200, response: "CompanyOperations",
			description: "call_statistics shows calls_handled on users; it follows the company's plan, so only the Main administrator sends it (403 otherwise), and switching it moves the plan (on: standard becomes professional; off: standard). " +
				"telegram_bot_token and slack_token are write-only secrets, stored encrypted; an empty string removes one."}},

		route{"GET", "/api/v1/me/notifications", authenticated(), s.handleMyNotifications, opDoc{tag: "notifications", summary: "Your notification settings and the event catalog", status: 200, response: "NotificationSettings"}},
		route{"PUT", "/api/v1/me/notifications", authenticated(), s.handleMyNotificationsPut, opDoc{tag: "notifications", summary: "Choose event types and channels", body: "NotificationPrefs", status: 200, response: "NotificationSettings",
			description: "Channels: email (your own address), telegram (telegram_chat_id), slack (slack_channel_id). Subscribing needs users.view or audit.view (403): the events are about other users."}},
		route{"GET", "/api/v1/users/{id}/notifications", P(roster.PermUsersEdit), s.handleUserNotifications, opDoc{tag: "notifications", summary: "A user's notification settings (their card)", status: 200, response: "NotificationSettings",
			description: "For administrators with users.edit who manage the user; another company's user is 404. catalog lists the event types enabled for notification."}},
		route{"PUT", "/api/v1/users/{id}/notifications", P(roster.PermUsersEdit), s.handleUserNotificationsPut, opDoc{tag: "notifications", summary: "Set a user's Telegram chat ID, Slack channel ID and subscriptions", body: "NotificationPrefs", status: 200, response: "NotificationSettings",
			description: "The rules of PUT /api/v1/me/notifications, applied to the user: subscribing needs the user to hold users.view or audit.view (403); a switched-off event type is a 422 (event_type_disabled). Logged as user.notifications_changed with you as the actor."}},
		route{"GET", "/api/v1/notification-event-types", authenticated(), s.handleNotificationEventTypes, opDoc{tag: "notifications", summary: "The event catalog and which types are enabled for notification", status: 200, response: "NotificationEventTypes"}},
		route{"PUT", "/api/v1/notification-event-types", authenticated(), s.handleNotificationEventTypesPut, opDoc{tag: "notifications", summary: "Choose the event types enabled for notification (Main administrator)", body: "NotificationEventTypesRequest", status: 200, response: "NotificationEventTypes",
			description: "Installation-wide (seed 003, System > Event notifications). enabled lists the types to enable; every other catalog type is switched off: nobody can subscribe to it and its notifications are not delivered (subscriptions are kept and return when it is switched on). Only the Main administrator (403 otherwise). Logged as notification.event_types_changed."}},
		route{"GET", "/api/v1/notifications/failed", P(roster.PermAuditView), s.handleFailedNotifications, opDoc{tag: "notifications", summary: "Notification deliveries whose last try failed", status: 200, response: "DeliveryList",
			query:       []paramDoc{pLimit},
			description: "job_state pending: it will be retried (exponential backoff); dead: given up after 5 tries. last_error says why."}},

		route{"GET", "/api/v1/client-tags", P(roster.PermClientsView, roster.PermTagsManage), s.handleTagList, opDoc{tag: "clients", summary: "List client tags", status: 200, response: "ClientTagList", query: []paramDoc{pCompany}}},
		route{"POST", "/api/v1/client-tags", P(roster.PermTagsManage), s.handleTagCreate, opDoc{tag: "clients", summary: "Add a client tag", body: "ClientTagRequest", status: 201, response: "ClientTag", errors: []int{409}}},
		route{"PATCH", "/api/v1/client-tags/{id}", P(roster.PermTagsManage), s.handleTagRename, opDoc{tag: "clients", summary: "Rename a client tag", body: "ClientTagRequest", status: 200, response: "ClientTag", errors: []int{409}}},
		route{"DELETE", "/api/v1/client-tags/{id}", P(roster.PermTagsManage), s.handleTagDelete, opDoc{tag: "clients", summary: "Delete a client tag", status: 204}},
		route{"GET", "/api/v1/clients", P(roster.PermClientsView), s.handleClientList, opDoc{tag: "clients", summary: "List the clients you may see", status: 200, response: "ClientPage",
			query: []paramDoc{{"q", "string", "Matches the ID and country exactly; name, e-mail and phone partially — only when you see them unmasked.", nil},
				{"tag", "integer", "A client tag ID.", nil}, {"country", "string", "ISO 3166-1 alpha-2.", nil}, pLimit, {"offset", "integer", "Rows to skip.", nil}},
			description: "Filtered by your allowed client tags and countries rule; with mask_data, names, e-mails and phones are `****`."}},
		route{"POST", "/api/v1/clients", P(roster.PermClientsView), s.handleClientCreate, opDoc{tag: "clients", summary: "Add a client", body: "ClientCreate", status: 201, response: "Client",
			description: "Users with mask_data cannot create, edit or delete clients (403)."}},
		route{"GET", "/api/v1/clients/{id}", P(roster.PermClientsView), s.handleClientGet, opDoc{tag: "clients", summary: "Get a client you may see", status: 200, response: "Client"}},
		route{"PATCH", "/api/v1/clients/{id}", P(roster.PermClientsView), s.handleClientPatch, opDoc{tag: "clients", summary: "Edit a client", body: "ClientPatch", status: 200, response: "Client"}},
		route{"DELETE", "/api/v1/clients/{id}", P(roster.PermClientsView), s.handleClientDelete, opDoc{tag: "clients", summary: "Delete a client", status: 204}},
	)
}

func agentGroupNote(kind string) string {
	if kind != roster.KindAgentGroup {
		return ""
	}
	return "Holders of agent_groups.manage without users.edit (Agent group managers) see and change only the agent groups whose manager_ids list them " +
		"(another agent group is 404 to them), and cannot create, rename or delete groups (403)."
}

// workGroupHandlers serves one kind of work group.
type workGroupHandlers struct {
	s    *Server
	kind string
}

func (h workGroupHandlers) list(w http.ResponseWriter, r *http.Request) error {
	return listInCompany(w, r, func(ctx context.Context, companyID int64) ([]*roster.WorkGroup, error) {
		return h.s.App.Operations.Groups(ctx, h.kind, companyID)
	})
}

// listInCompany answers {"items": […]} with what list returns for the
// company of the query's company_id (0 when absent: the caller's own).
func listInCompany[T any](w http.ResponseWriter, r *http.Request, list func(ctx context.Context, companyID int64) ([]T, error)) error {
	q := newQuery(r, "company_id")
	companyID := q.id("company_id")
	if err := q.err(); err != nil {
		return err
	}
	items, err := list(r.Context(), idOrZero(companyID))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// idOrZero is *p, or 0 (meaning "the actor's own company") for nil.
func idOrZero(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func (h workGroupHandlers) get(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	g, err := h.s.App.Operations.Group(r.Context(), h.kind, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, g)
}

// workGroupRequest is the body of create and patch.
type workGroupRequest struct {
	Name       *string  `json:"name"`
	ManagerIDs *[]int64 `json:"manager_ids"`
	CompanyID  *int64   `json:"company_id"`
}

func (h workGroupHandlers) create(w http.ResponseWriter, r *http.Request) error {
	var req workGroupRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	n := app.NewGroup{CompanyID: idOrZero(req.CompanyID)}
	if req.Name != nil {
		n.Name = *req.Name
	}
	if req.ManagerIDs != nil {
		n.ManagerIDs = *req.ManagerIDs
	}
	g, err := h.s.App.Operations.CreateGroup(r.Context(), h.kind, n)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, g)
}

func (h workGroupHandlers) patch(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req workGroupRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	g, err := h.s.App.Operations.UpdateGroup(r.Context(), h.kind, id,
		roster.WorkGroupUpdate{Name: req.Name, ManagerIDs: req.ManagerIDs, CompanyID: req.CompanyID})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, g)
}

func (h workGroupHandlers) delete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := h.s.App.Operations.DeleteGroup(r.Context(), h.kind, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// userIDsRequest is the body of adding members.
type userIDsRequest struct {
	UserIDs []int64 `json:"user_ids"`
}

func (h workGroupHandlers) addMembers(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req userIDsRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	g, err := h.s.App.Operations.AddMembers(r.Context(), h.kind, id, req.UserIDs)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, g)
}

func (h workGroupHandlers) removeMember(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	uid, err := strconv.ParseInt(r.PathValue("user_id"), 10, 64)
	if err != nil || uid < 1 {
		return roster.Errorf(roster.ENOTFOUND, "Not found.")
	}
	g, err := h.s.App.Operations.RemoveMembers(r.Context(), h.kind, id, []int64{uid})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, g)
}

// presenceRequest is the body of PUT /api/v1/me/presence.
type presenceRequest struct {
	Status string `json:"status"`
}

func (s *Server) handlePresence(w http.ResponseWriter, r *http.Request) error {
	var req presenceRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	u, err := s.App.Operations.SetPresence(r.Context(), req.Status)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

// dialogueRequest is the body of POST /api/v1/dialogues.
type dialogueRequest struct {
	ExternalID string `json:"external_id"`
	CompanyID  *int64 `json:"company_id"`
}

func (s *Server) handleDialogueAssign(w http.ResponseWriter, r *http.Request) error {
	var req dialogueRequest
	if err := decodeJSONOptional(r, &req, true); err != nil {
		return err
	}
	d, err := s.App.Operations.AssignDialogue(r.Context(), idOrZero(req.CompanyID), req.ExternalID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, d)
}

func (s *Server) handleDialogueClose(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := s.App.Operations.CloseDialogue(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

// callRequest is the body of POST /api/v1/calls.
type callRequest struct {
	CallID          string `json:"call_id"`
	UserID          int64  `json:"user_id"`
	Direction       string `json:"direction"`
	DurationSeconds int    `json:"duration_seconds"`
}

func (s *Server) handleCallRecord(w http.ResponseWriter, r *http.Request) error {
	var req callRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	c := &roster.Call{CallID: req.CallID, UserID: req.UserID, Direction: req.Direction, DurationSeconds: req.DurationSeconds}
	created, err := s.App.Operations.RecordCall(r.Context(), c)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, c)
}

func (s *Server) handleCompanyOpsGet(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	co, err := s.App.Operations.CompanySettings(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, co)
}

// companyOpsRequest is the body of PATCH /api/v1/companies/{id}/operations.
type companyOpsRequest struct {
	CallStatistics   *bool   `json:"call_statistics"`
	TelegramBotToken *string `json:"telegram_bot_token"`
	SlackToken       *string `json:"slack_token"`
}

func (s *Server) handleCompanyOpsPatch(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req companyOpsRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	co, err := s.App.Operations.UpdateCompanySettings(r.Context(), id, roster.CompanyOperationsUpdate{
		CallStatistics: req.CallStatistics, TelegramBotToken: req.TelegramBotToken, SlackToken: req.SlackToken})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, co)
}

func (s *Server) handleTagList(w http.ResponseWriter, r *http.Request) error {
	return listInCompany(w, r, s.App.Clients.Tags)
}

// tagRequest is the body of client tag create and rename.
type tagRequest struct {
	Name      string `json:"name"`
	CompanyID *int64 `json:"company_id"`
}

func (s *Server) handleTagCreate(w http.ResponseWriter, r *http.Request) error {
	var req tagRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	t, err := s.App.Clients.CreateTag(r.Context(), idOrZero(req.CompanyID), req.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, t)
}

func (s *Server) handleTagRename(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req tagRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	t, err := s.App.Clients.RenameTag(r.Context(), id, req.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

func (s *Server) handleTagDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.App.Clients.DeleteTag(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleClientList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "q", "tag", "country", "limit", "offset")
	f := roster.ClientFilter{Query: q.str("q"), TagID: q.id("tag"), Country: q.str("country"), Limit: q.limit()}
	if o := q.str("offset"); o != "" {
		n, err := strconv.Atoi(o)
		if err != nil || n < 0 {
			q.v.Add("offset", "invalid_number", "The offset is a whole number, 0 or more.")
		}
		f.Offset = n
	}
	if err := q.err(); err != nil {
		return err
	}
	page, err := s.App.Clients.List(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}

func (s *Server) handleClientGet(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := s.App.Clients.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

// clientRequest is the body of client create and patch.
type clientRequest struct {
	Name    *string  `json:"name"`
	Email   *string  `json:"email"`
	Phone   *string  `json:"phone"`
	Country *string  `json:"country"`
	Tags    *[]int64 `json:"tags"`
}

func (c clientRequest) input() roster.ClientInput {
	return roster.ClientInput{Name: c.Name, Email: c.Email, Phone: c.Phone, Country: c.Country, TagIDs: c.Tags}
}

func (s *Server) handleClientCreate(w http.ResponseWriter, r *http.Request) error {
	var req clientRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	c, err := s.App.Clients.Create(r.Context(), req.input())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, c)
}

func (s *Server) handleClientPatch(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req clientRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	c, err := s.App.Clients.Update(r.Context(), id, req.input())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

func (s *Server) handleClientDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.App.Clients.Delete(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// operationSchemas are the OpenAPI components of the operations API.
func operationSchemas() map[string]any {
	ref2 := func(n string) map[string]any { return ref(n) }
	return map[string]any{
		"UserRef":  obj([]string{"id", "name"}, map[string]any{"id": integer(), "name": str()}),
		"GroupRef": obj([]string{"id", "name"}, map[string]any{"id": integer(), "name": str()}),
		"WorkGroup": obj([]string{"id", "company_id", "kind", "name", "members"}, map[string]any{
			"id": integer(), "company_id": integer(), "kind": enum(roster.KindQueue, roster.KindShift, roster.KindAgentGroup),
			"name": str(), "members": arr(ref2("UserRef")), "manager_ids": arr(integer()), "created_at": dateTime(), "updated_at": dateTime()}),
		"WorkGroupList":   obj([]string{"items"}, map[string]any{"items": arr(ref2("WorkGroup"))}),
		"WorkGroupCreate": closed(obj([]string{"name"}, map[string]any{"name": str(), "manager_ids": arr(integer()), "company_id": integer()})),
		"WorkGroupPatch":  closed(obj(nil, map[string]any{"name": str(), "manager_ids": arr(integer())})),
		"UserIDs":         closed(obj([]string{"user_ids"}, map[string]any{"user_ids": arr(integer())})),
		"Presence":        closed(obj([]string{"status"}, map[string]any{"status": enum(roster.PresenceOnline, roster.PresenceOffline)})),
		"DialogueRequest": closed(obj(nil, map[string]any{"external_id": str(), "company_id": integer()})),
		"Dialogue": obj([]string{"id", "company_id", "operator_id", "status", "created_at"}, map[string]any{
			"id": integer(), "company_id": integer(), "operator_id": integer(), "external_id": str(),
			"status": enum(roster.DialogueOpen, roster.DialogueClosed), "created_at": dateTime(), "closed_at": nullableDateTime()}),
		"CallRequest": closed(obj([]string{"call_id", "user_id"}, map[string]any{"call_id": str(), "user_id": integer(),
			"direction": enum("inbound", "outbound"), "duration_seconds": integer()})),
		"Call": obj([]string{"id", "call_id", "user_id"}, map[string]any{"id": integer(), "company_id": integer(), "call_id": str(), "user_id": integer(),
			"direction": str(), "duration_seconds": integer(), "created_at": dateTime()}),
		"CompanyOperations": obj([]string{"company_id", "call_statistics", "telegram_bot_token_set", "slack_token_set"}, map[string]any{
			"company_id": integer(), "call_statistics": boolean(), "telegram_bot_token_set": boolean(), "slack_token_set": boolean()}),
		"CompanyOperationsPatch": closed(obj(nil, map[string]any{"call_statistics": boolean(),
			"telegram_bot_token": map[string]any{"type": "string", "writeOnly": true}, "slack_token": map[string]any{"type": "string", "writeOnly": true}})),
		"CountriesRule": obj([]string{"mode", "countries"}, map[string]any{"mode": enum("", roster.CountriesOnly, roster.CountriesExcept), "countries": arr(str())}),
		"ClientTag": obj([]string{"id", "company_id", "name"}, map[string]any{"id": integer(), "company_id": integer(), "name": str(),
			"client_count": integer(), "created_at": dateTime(), "updated_at": dateTime()}),
		"ClientTagList":    obj([]string{"items"}, map[string]any{"items": arr(ref2("ClientTag"))}),
		"ClientTagRequest": closed(obj([]string{"name"}, map[string]any{"name": str(), "company_id": integer()})),
		"Client": obj([]string{"id", "company_id", "name", "email", "phone", "country", "tags", "masked"}, map[string]any{
			"id": integer(), "company_id": integer(), "name": str(), "email": str(), "phone": str(), "country": str(),
			"tags": arr(obj([]string{"id", "name"}, map[string]any{"id": integer(), "name": str()})), "masked": boolean(),
			"created_at": dateTime(), "updated_at": dateTime()}),
		"ClientPage":   obj([]string{"items", "total"}, map[string]any{"items": arr(ref2("Client")), "total": integer()}),
		"ClientCreate": closed(obj([]string{"name"}, map[string]any{"name": str(), "email": str(), "phone": str(), "country": str(), "tags": arr(integer())})),
		"ClientPatch":  closed(obj(nil, map[string]any{"name": str(), "email": str(), "phone": str(), "country": str(), "tags": arr(integer())})),
	}
}

// userOperationProps are the operations fields of the User schema.
func userOperationProps() map[string]any {
	return map[string]any{
		"queues": arr(ref("GroupRef")), "presence": enum(roster.PresenceOnline, roster.PresenceOffline),
		"max_dialogues": integer(), "active_dialogues": integer(),
		"calls_handled": map[string]any{"type": "integer", "description": "Only where the company has call statistics on."},
		"client_tags":   arr(integer()), "countries_rule": ref("CountriesRule"), "mask_data": boolean(),
	}
}

// operatorPatch are the operations fields PATCH /api/v1/users/{id} accepts.
type operatorPatch struct {
	MaxDialogues  *int                  `json:"max_dialogues"`
	ClientTags    *[]int64              `json:"client_tags"`
	CountriesRule *roster.CountriesRule `json:"countries_rule"`
	MaskData      *bool                 `json:"mask_data"`
}

// update returns the store update of the operations fields.
func (p operatorPatch) update() roster.OperatorUpdate {
	return roster.OperatorUpdate{MaxDialogues: p.MaxDialogues, ClientTagIDs: p.ClientTags, CountriesRule: p.CountriesRule, MaskData: p.MaskData}
}

// withOperationSchemas adds the operations components to the document's
// schemas and the operations fields to users and the user patch.
func withOperationSchemas(m map[string]any) map[string]any {
	for k, v := range operationSchemas() {
		m[k] = v
	}
	for k, v := range notificationSchemas() {
		m[k] = v
	}
	for _, name := range []string{"User", "UserCreated"} {
		if o, ok := m[name].(map[string]any); ok {
			props := o["properties"].(map[string]any)
			for k, v := range userOperationProps() {
				props[k] = v
			}
		}
	}
	if o, ok := m["UserPatch"].(map[string]any); ok {
		props := o["properties"].(map[string]any)
		props["max_dialogues"] = map[string]any{"type": "integer", "minimum": 0, "maximum": roster.MaxDialoguesLimit}
		props["client_tags"] = arr(integer())
		props["countries_rule"] = ref("CountriesRule")
		props["mask_data"] = boolean()
	}
	return m
}

// notificationSettings is the answer of /api/v1/me/notifications.
type notificationSettings struct {
	*roster.NotificationPrefs
	Catalog  []roster.NotificationEventInfo `json:"catalog"`
	Channels []string                       `json:"channels"`
}

// writeNotificationSettings answers settings with the catalog a user may
// subscribe to: the enabled event types.
func (s *Server) writeNotificationSettings(w http.ResponseWriter, r *http.Request, p *roster.NotificationPrefs) error {
	catalog, err := s.App.Notifications.Catalog(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, notificationSettings{NotificationPrefs: p, Catalog: catalog, Channels: roster.Channels})
}

func (s *Server) handleMyNotifications(w http.ResponseWriter, r *http.Request) error {
	p, err := s.App.Notifications.Mine(r.Context())
	if err != nil {
		return err
	}
	return s.writeNotificationSettings(w, r, p)
}

func (s *Server) handleUserNotifications(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, err := s.App.Notifications.ForUser(r.Context(), id)
	if err != nil {
		return err
	}
	return s.writeNotificationSettings(w, r, p)
}

func (s *Server) handleUserNotificationsPut(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var p roster.NotificationPrefs
	if err := decodeJSON(r, &p); err != nil {
		return err
	}
	saved, err := s.App.Notifications.SetForUser(r.Context(), id, p)
	if err != nil {
		return err
	}
	return s.writeNotificationSettings(w, r, saved)
}

func (s *Server) handleNotificationEventTypes(w http.ResponseWriter, r *http.Request) error {
	types, err := s.App.Notifications.EventTypes(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": types})
}

// eventTypesRequest is the body of PUT /api/v1/notification-event-types.
type eventTypesRequest struct {
	Enabled *[]string `json:"enabled"`
}

func (s *Server) handleNotificationEventTypesPut(w http.ResponseWriter, r *http.Request) error {
	var req eventTypesRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Enabled == nil {
		var v roster.Validation
		v.Add("enabled", "required", "List the event types to enable (an empty list switches all off).")
		return v.Err()
	}
	types, err := s.App.Notifications.SetEventTypes(r.Context(), *req.Enabled)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": types})
}

func (s *Server) handleMyNotificationsPut(w http.ResponseWriter, r *http.Request) error {
	var p roster.NotificationPrefs
	if err := decodeJSON(r, &p); err != nil {
		return err
	}
	saved, err := s.App.Notifications.SetMine(r.Context(), p)
	if err != nil {
		return err
	}
	return s.writeNotificationSettings(w, r, saved)
}

func (s *Server) handleFailedNotifications(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "limit")
	limit := q.limit()
	if err := q.err(); err != nil {
		return err
	}
	ds, err := s.App.Notifications.Failed(r.Context(), limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": ds})
}

// notificationSchemas are the OpenAPI components of notifications.
func notificationSchemas() map[string]any {
	catalog := make([]string, len(roster.NotificationCatalog))
	for i, c := range roster.NotificationCatalog {
		catalog[i] = c.Type
	}
	sub := obj([]string{"event_type", "channels"}, map[string]any{"event_type": enum(catalog...), "channels": arr(enum(roster.Channels...))})
	prefs := map[string]any{"telegram_chat_id": str(), "slack_channel_id": str(), "subscriptions": arr(sub)}
	settings := map[string]any{"catalog": arr(obj([]string{"type", "name"}, map[string]any{"type": str(), "name": str()})), "channels": arr(str())}
	for k, v := range prefs {
		settings[k] = v
	}
	return map[string]any{
		"NotificationPrefs":    closed(obj(nil, prefs)),
		"NotificationSettings": obj([]string{"telegram_chat_id", "slack_channel_id", "subscriptions", "catalog", "channels"}, settings),
		"Delivery": obj([]string{"id", "company_id", "event_type", "channel", "target", "status", "attempts", "last_error", "job_state"}, map[string]any{
			"id": integer(), "company_id": integer(), "user_id": nullable("integer"), "event_id": integer(), "event_type": str(),
			"channel": enum(roster.Channels...), "target": str(), "text": str(), "status": enum(roster.DeliveryPending, roster.DeliverySent, roster.DeliveryFailed),
			"attempts": integer(), "last_error": str(), "job_state": str(), "created_at": dateTime(), "updated_at": dateTime()}),
		"NotificationEventTypes": obj([]string{"items"}, map[string]any{"items": arr(obj([]string{"type", "name", "enabled"},
			map[string]any{"type": enum(catalog...), "name": str(), "enabled": boolean()}))}),
		"NotificationEventTypesRequest": closed(obj([]string{"enabled"}, map[string]any{"enabled": arr(enum(catalog...))})),
		"DeliveryList":                  obj([]string{"items"}, map[string]any{"items": arr(ref("Delivery"))}),
	}
}
