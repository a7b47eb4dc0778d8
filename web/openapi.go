package web

import (
	"maps"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/roster-app/roster"
)

// opDoc describes one route for the OpenAPI document. Error responses are
// derived from the route's row: 401 and 403 from its access, 404 from an
// {id}, 400/413/422 from a body (and 415 from a JSON one).
type opDoc struct {
	tag         string
	summary     string
	description string
	query       []paramDoc
	body        string         // schema name of a JSON body, or a media type ("text/csv") of a text body
	bodyForm    bool           // an HTML form body instead
	optional    bool           // the body may be omitted
	status      int            // success status
	response    string         // schema name of the success body, or a media type ("text/csv") of a text answer; "" for none
	html        bool           // the answer is an HTML page
	errors      []int          // further statuses: errors, or successes answering response
	also        map[int]string // further success statuses answering another schema
	static      bool           // the answer needs no database (no 503)
}

// paramDoc describes a query parameter.
type paramDoc struct {
	name, typ, desc string
	enum            []string
}

var (
	pLimit   = paramDoc{"limit", "integer", "Page size, 1 to 200 (default 50).", nil}
	pCursor  = paramDoc{"cursor", "string", "The next_cursor of the previous page; a cursor that was altered is refused (422).", nil}
	pCompany = paramDoc{"company_id", "integer", "A company in your scope; default your own. A company outside your scope is refused like an invalid value: 422 naming company_id.", nil}
	pUsers   = []paramDoc{
		{"q", "string", "Matches the ID exactly and name, e-mail, login and phones partially, case-insensitively.", nil},
		{"status", "string", "", []string{"invited", "active", "blocked"}},
		{"role", "string", "A role ID or key.", nil},
		{"invitation", "string", "", []string{"pending", "expired", "accepted"}},
		{"queue", "string", `A queue ID, or "none": active users in no queue.`, nil},
		{"last_sign_in_before", "string", "RFC 3339 time: users whose last sign-in was before it. With never_signed_in=true, also those who never signed in (nobody who signed in since).", nil},
		{"never_signed_in", "boolean", "true: users who never signed in; false: users who signed in at least once.", nil},
		pCompany,
		{"sort", "string", "", roster.UserSorts},
		pLimit, pCursor,
	}
)

var (
	docHealth = opDoc{tag: "meta", summary: "Liveness: 200 while the process runs (the database is not checked)", status: 200, response: "Health", static: true}
	docReady  = opDoc{tag: "meta", summary: "Readiness: the database answers and its schema is current", status: 200, response: "Ready", errors: []int{503},
		description: "For load balancers. 503 problem (code `not_ready`) with Retry-After while the database is unreachable or a migration is pending; the schema check is cached for a few seconds."}
	docOpenAPI   = opDoc{tag: "meta", summary: "This OpenAPI 3.1 document", status: 200, response: "OpenAPIDocument", static: true}
	docSetupForm = opDoc{tag: "setup", summary: "Bootstrap page: form to create the Main administrator", html: true, status: 200,
		description: "Opened from the one-time link `roster serve` prints on an empty installation. A wrong or used token answers 404.",
		query:       []paramDoc{{"token", "string", "The one-time bootstrap token.", nil}}, errors: []int{404}}
	docSetupSubmit = opDoc{tag: "setup", summary: "Create the Main administrator from the bootstrap form", html: true, bodyForm: true, status: 201,
		description: "Form fields: token, email, password, first_name, last_name. Errors are shown beside the fields (422); a wrong or used token answers 404.",
		errors:      []int{404, 409, 422}}

	docLogin = opDoc{tag: "auth", summary: "Sign in with e-mail or login and password", body: "LoginRequest", status: 200, response: "LoginResult",
		description: "Answers a bearer token, or — for a temporary password — `password_change_required` with a `change_token` valid 10 minutes and usable only with /auth/password-change. " +
			"Unknown user, wrong password, blocked user, invited user without a password and an address outside the user's IP allowlist (refused before the password is checked) all get the same 401, " +
			"and unknown names are counted exactly like accounts, so neither the answers nor their sequence tell whether an account exists or a password was right. " +
			"With 2FA on, it answers `mfa_required` with an `mfa_token` for POST /api/v1/auth/mfa (the second factor comes before a forced password change). " +
			"Failures are counted per account and client address: from the 5th consecutive one that address must wait (429 with Retry-After, 1 s doubling to 16 s); the 10th locks the account " +
			"for that address only, for 30 minutes doubling with each further failure (up to 24 hours); other addresses sign in as usual. " +
			"100 consecutive failures from any addresses lock the account everywhere for 24 hours: the owner is e-mailed a single-use unlock link (POST /api/v1/auth/unlock/{token}), " +
			"can ask for another (POST /api/v1/auth/unlock), or an administrator unlocks it (POST /api/v1/users/{id}/unlock). " +
			"30 failures from one address within 15 minutes answer 429 for that address, whatever the account.",
		errors: []int{401, 429}}
	docPasswordChange = opDoc{tag: "auth", summary: "Set a permanent password after signing in with a temporary one", body: "PasswordChangeRequest", status: 200, response: "LoginResponse",
		description: "Validates the password policy (at least 12 characters, not common, not containing the login, e-mail or name) and signs in.", errors: []int{401}}
	docLogout     = opDoc{tag: "auth", summary: "Sign out: the token stops working", status: 204}
	docSwitchBack = opDoc{tag: "auth", summary: "Leave a switch session", status: 200, response: "SwitchBackResult", errors: []int{409},
		description: "Only with a switch token. Ends the switch session and answers the reseller administrator. Only token hashes are stored, so the original token cannot be handed back: " +
			"clients keep the token they held before switching, which stayed valid, and use it again."}
	docMe = opDoc{tag: "auth", summary: "Who am I: user, company, effective permissions, impersonator and session", status: 200, response: "Me"}

	docUserList   = opDoc{tag: "users", summary: "List users in your scope", query: pUsers, status: 200, response: "UserPage"}
	docUserCreate = opDoc{tag: "users", summary: "Create a user", body: "UserCreate", status: 201, response: "UserCreated", errors: []int{409},
		description: "`credentials`: `invitation` (email method only, its default; the user starts invited with an invitation valid 8 hours — the e-mail itself is sent once e-mail delivery exists), " +
			"`generated` (login method's default; the response carries `temporary_password` once) or `manual` (the admin gives `password`). Generated and manual passwords are temporary. " +
			"`send_email: true` with `generated` or `manual` (\"Send to e-mail\") also e-mails the user a single-use link, valid 1 hour, to set their own password — never the password itself; " +
			"the user needs an e-mail address (422 on `send_email` otherwise, and with `invitation`). The response then has `password_link_emailed: true`. " +
			"Company administrator is granted only by the Main administrator (403)."}
	docUserBulk = opDoc{tag: "users", summary: "Apply an action to many users, all or nothing", body: "BulkRequest", status: 200, response: "BulkResult", errors: []int{409},
		description: "Needs users.roles for add_role/remove_role, users.block for block/unblock, users.delete for delete. When any user is refused nothing changes: 409 with `refused`."}
	docUserGet   = opDoc{tag: "users", summary: "Get a user", status: 200, response: "User"}
	docUserPatch = opDoc{tag: "users", summary: "Edit a user's name, phones and position", body: "UserPatch", status: 200, response: "User",
		description: "`email`, `login` and `auth_method` never change: a body carrying them is refused with 422 naming the field (code immutable). " +
			"A name the user set themselves cannot be edited by someone else (403)."}
	docUserDelete  = opDoc{tag: "users", summary: "Delete a user for good", status: 204}
	docUserBlock   = opDoc{tag: "users", summary: "Block a user (ends their sessions at once)", body: "Comment", status: 200, response: "User"}
	docUserUnblock = opDoc{tag: "users", summary: "Unblock a user", body: "Comment", status: 200, response: "User"}
	docUserRoles   = opDoc{tag: "users", summary: "Replace a user's roles", body: "RoleIDs", status: 200, response: "User",
		description: "A role may be granted or revoked only if all its permissions are your own; Company administrator only by the Main administrator."}
	docUserPasswordReset = opDoc{tag: "users", summary: "Reset a user's password", status: 200, response: "TemporaryPassword",
		description: "Login method: 200 with a new temporary password, shown once; the user must change it at the next sign-in and their sessions end. " +
			"Email method: 202 — a single-use reset link valid 1 hour is e-mailed (through the outbox); the password stays until the link is used.",
		also: map[int]string{202: "Accepted"}}
	docUserInvitation = opDoc{tag: "users", summary: "Send a new invitation (the old link dies)", status: 200, response: "User", errors: []int{409},
		description: "Only for invited users. The new link is e-mailed and valid for the company's invitation_ttl_hours (8 by default); the old link dies."}

	docRoleList   = opDoc{tag: "roles", summary: "List the system roles and a company's roles", query: []paramDoc{pCompany}, status: 200, response: "RoleList"}
	docRoleCreate = opDoc{tag: "roles", summary: "Create a custom role", body: "RoleCreate", status: 201, response: "Role", errors: []int{409},
		description: "The key is derived from the name unless given. You can only give permissions you hold."}
	docRoleExport = opDoc{tag: "roles", summary: "Export a company's custom roles", query: []paramDoc{pCompany}, status: 200, response: "RoleFile"}
	docRoleImport = opDoc{tag: "roles", summary: "Import custom roles by key", body: "RoleFile", status: 200, response: "RoleImportResult", errors: []int{409},
		description: "Roles are matched by key: new keys are created, existing ones renamed and given the file's permissions; system roles in the file are left untouched. " +
			"A name another role of the company has (in any case) is a conflict (409).",
		query: []paramDoc{pCompany, {"dry_run", "boolean", "Only preview the changes.", nil}}}
	docRoleGet   = opDoc{tag: "roles", summary: "Get a role", status: 200, response: "Role"}
	docRolePatch = opDoc{tag: "roles", summary: "Rename a role or replace its permissions", body: "RolePatch", status: 200, response: "Role", errors: []int{409},
		description: "System roles are read-only (403). A name another role of the company has, in any case, is a conflict (409). " +
			"`key` and `company_id` never change: a body carrying them is refused with 422 naming the field (code immutable)."}
	docRoleDelete = opDoc{tag: "roles", summary: "Delete a custom role", status: 204, errors: []int{409},
		query: []paramDoc{{"force", "boolean", "Delete even while users hold it (it is taken from them first).", nil}}}
	docRoleUsers = opDoc{tag: "roles", summary: "List the users holding a role", status: 200, response: "UserPage",
		query: []paramDoc{pUsers[0], pUsers[1], pCompany, pLimit, pCursor}}
	docPermissions = opDoc{tag: "roles", summary: "The permission catalog", status: 200, response: "PermissionList"}

	docCompanyList   = opDoc{tag: "companies", summary: "List companies in your scope", status: 200, response: "CompanyList"}
	docCompanyCreate = opDoc{tag: "companies", summary: "Create a company (Main administrator)", body: "CompanyCreate", status: 201, response: "Company"}
	docCompanyGet    = opDoc{tag: "companies", summary: "Get a company", status: 200, response: "Company"}
	docCompanyPatch  = opDoc{tag: "companies", summary: "Rename a company", body: "CompanyPatch", status: 200, response: "Company"}
	docCompanySwitch = opDoc{tag: "companies", summary: "Act as the administrator of a direct dependent company", body: "SwitchRequest", optional: true,
		status: 200, response: "SwitchResult", errors: []int{409},
		description: "Gives a switch token valid 1 hour acting as the company's administrator account (`user_id` if given and an administrator, else the oldest active one; 409 when there is none). " +
			"Only a company whose parent is your own; a switch token cannot switch again (403). Every action is logged with both identities. " +
			"Keep your original token: POST /api/v1/auth/switch-back ends the switch session, and you continue with the original token."}

	docEventList = opDoc{tag: "events", summary: "Read the event log, newest first", status: 200, response: "EventPage",
		query: []paramDoc{{"user_id", "integer", "Events where this user is the actor or the target.", nil},
			{"type", "string", "", roster.EventTypes},
			{"since", "string", "RFC 3339 time.", nil}, {"until", "string", "RFC 3339 time.", nil}, pLimit, pCursor}}
	docEventGet     = opDoc{tag: "events", summary: "Get an event with its comments", status: 200, response: "Event"}
	docEventComment = opDoc{tag: "events", summary: "Comment on an event", body: "EventCommentRequest", status: 201, response: "EventComment"}
)

var pathParamRE = regexp.MustCompile(`\{(\w+)\}`)

// handleOpenAPI serves the OpenAPI document built from the route table.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, s.openAPI())
}

// openAPI builds the OpenAPI 3.1 document from the route table.
func (s *Server) openAPI() map[string]any {
	paths := map[string]any{}
	used := map[string]bool{} // shared responses the operations refer to
	tags := map[string]bool{}
	for _, rt := range s.routes {
		item, _ := paths[rt.pattern].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.pattern] = item
		}
		item[strings.ToLower(rt.method)] = operation(rt, used)
		tags[rt.doc.tag] = true
	}
	responses := map[string]any{}
	for name := range used {
		responses[name] = sharedResponses[name]
	}
	var tagList []any
	for _, t := range slices.Sorted(maps.Keys(tags)) {
		tagList = append(tagList, map[string]any{"name": t, "description": tagDescriptions[t]})
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "Roster API",
			"version": "1",
			"description": "User and access management for contact centers. Sign in with POST /api/v1/auth/login and send `Authorization: Bearer <token>`. " +
				"Errors are application/problem+json (RFC 9457) with a `code`, per-field `errors`, per-user `refused` and the `request_id`. " +
				"Every answer carries an `X-Request-Id` header (taken from a trusted proxy's request, else made by Roster) that also appears in the server's log lines of the request. " +
				"Another company's objects answer 404. Every answer a request may get is listed with its operation, and Roster's test suite " +
				"checks every request and answer it makes against this document.",
			"license": map[string]any{"name": "Proprietary", "url": "https://github.com/roster-app/roster"},
		},
		"servers": []any{map[string]any{"url": "/", "description": "The Roster installation serving this document."}},
		"tags":    tagList,
		"paths":   paths,
		"components": map[string]any{
			"schemas":   withServiceTokenSchemas(withWebhookSchemas(withCredentialSchemas(withOperationSchemas(schemas())))),
			"responses": responses,
			"headers": map[string]any{
				"RetryAfter": map[string]any{"description": "Seconds to wait before trying again.", "required": true,
					"schema": map[string]any{"type": "integer", "minimum": 1}},
			},
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer",
					"description": "A token from POST /api/v1/auth/login (or a switch token from POST /api/v1/companies/{id}/switch), or a service token (rst_…) from POST /api/v1/service-tokens."},
			},
		},
	}
}

// tagDescriptions describe the tags of the route table.
var tagDescriptions = map[string]string{
	"meta":           "Liveness, readiness and this document.",
	"setup":          "The one-time bootstrap page of an empty installation (HTML).",
	"auth":           "Signing in and out, second factor, password changes and resets.",
	"registration":   "Invited users register with the link they were e-mailed.",
	"me":             "The signed-in user's own password, second factor and sessions.",
	"users":          "Users of the companies in your scope.",
	"roles":          "System and custom roles and the permission catalog.",
	"companies":      "Companies, their settings, and switching into a dependent company.",
	"events":         "The event log of every change.",
	"platform":       "Installation-wide views for the Main administrator.",
	"queues":         "Queues and their members.",
	"shifts":         "Shifts and their members.",
	"agent-groups":   "Agent groups, their members and managers.",
	"operations":     "Presence, dialogue routing, calls and a company's operations settings.",
	"notifications":  "Event notifications by e-mail, Telegram and Slack.",
	"clients":        "Clients and client tags.",
	"webhooks":       "Signed webhooks: a company's subscriptions to events, and their delivery log.",
	"service-tokens": "Named API tokens of a company for its integrations (telephony, dialogue routing, SCIM).",
}

// sharedResponses are the error answers operations share, by name; the
// operation's description says when it gives them.
var sharedResponses = map[string]any{
	"BadRequest": problemResponse("The body is not JSON, is empty where one is required, or has data after its JSON value (code bad_json)."),
	"Unauthorized": problemResponse("No valid token: sign in first. Sign-in endpoints answer 401 for wrong credentials or codes. " +
		"Carries `WWW-Authenticate: Bearer`."),
	"Forbidden": problemResponse("Signed in, but not allowed: a permission you lack, an object outside what your role may change, " +
		"or an address outside your IP allowlist."),
	"NotFound":             problemResponse("No such object, or another company's (Roster does not tell them apart)."),
	"Conflict":             problemResponse("The change conflicts with the current state: a duplicate, or an object in the wrong state; `errors` or `refused` say which."),
	"Gone":                 problemResponse("The link has expired."),
	"PayloadTooLarge":      problemResponse("The body is larger than the installation's limit (code too_large)."),
	"UnsupportedMediaType": problemResponse("The body is not of a media type the operation accepts."),
	"UnprocessableEntity":  problemResponse("Invalid input: `errors` names each field (or query parameter) and why, with a code that is also the translation key."),
	"TooManyRequests":      withRetryAfter(problemResponse("Too many attempts: wait the seconds Retry-After says.")),
	"InternalServerError":  problemResponse("An internal error; it has been logged, its details are not shown."),
	"ServiceUnavailable": withRetryAfter(problemResponse("The database cannot be reached (a connection lost, a standby being promoted), or a transaction had to be retried too often under contention: " +
		"try again after the seconds Retry-After says.")),
}

// sharedByStatus names the shared response of each error status.
var sharedByStatus = map[int]string{
	400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict", 410: "Gone",
	413: "PayloadTooLarge", 415: "UnsupportedMediaType", 422: "UnprocessableEntity", 429: "TooManyRequests",
	500: "InternalServerError", 503: "ServiceUnavailable",
}

func problemResponse(desc string) map[string]any {
	return map[string]any{"description": desc,
		"content": map[string]any{"application/problem+json": map[string]any{"schema": ref("Problem")}}}
}

func withRetryAfter(r map[string]any) map[string]any {
	r["headers"] = map[string]any{"Retry-After": map[string]any{"$ref": "#/components/headers/RetryAfter"}}
	return r
}

// operation describes one route. The error answers are derived from its
// row — 401 and 403 from its access, 404 from a path parameter,
// 400/413/415/422 from a body, 422 from a query, 503 from the database —
// plus the doc's own; used collects the shared responses it refers to.
func operation(rt route, used map[string]bool) map[string]any {
	d := rt.doc
	op := map[string]any{
		"operationId": operationID(rt),
		"summary":     d.summary,
		"tags":        []string{d.tag},
	}
	desc := d.description
	switch {
	case rt.access.public:
		op["security"] = []any{}
	case len(rt.access.perms) > 0:
		op["security"] = []any{map[string]any{"bearer": []any{}}}
		ps := make([]string, len(rt.access.perms))
		for i, p := range rt.access.perms {
			ps[i] = "`" + string(p) + "`"
		}
		desc = strings.TrimSpace("Permission: " + strings.Join(ps, " or ") + ". " + desc)
	default:
		op["security"] = []any{map[string]any{"bearer": []any{}}}
		desc = strings.TrimSpace("Any signed-in user. " + desc)
	}
	if desc == "" {
		desc = d.summary + "."
	}
	op["description"] = desc
	var params []any
	pathParams := pathParamRE.FindAllStringSubmatch(rt.pattern, -1)
	for _, m := range pathParams {
		sch := map[string]any{"type": "integer", "minimum": 1}
		desc := "An ID."
		if m[1] != "id" && !strings.HasSuffix(m[1], "_id") {
			sch, desc = str(), "The token of the link."
		}
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": sch, "description": desc})
	}
	for _, q := range d.query {
		sch := map[string]any{"type": q.typ}
		if len(q.enum) > 0 {
			sch["enum"] = q.enum
		}
		p := map[string]any{"name": q.name, "in": "query", "schema": sch}
		if q.desc != "" {
			p["description"] = q.desc
		}
		params = append(params, p)
	}
	if params != nil {
		op["parameters"] = params
	}
	switch {
	case strings.Contains(d.body, "/"):
		op["requestBody"] = map[string]any{"required": !d.optional,
			"content": map[string]any{d.body: map[string]any{"schema": str()}}}
	case d.body != "":
		op["requestBody"] = map[string]any{"required": !d.optional,
			"content": map[string]any{"application/json": map[string]any{"schema": ref(d.body)}}}
	case d.bodyForm:
		op["requestBody"] = map[string]any{"required": true,
			"content": map[string]any{"application/x-www-form-urlencoded": map[string]any{"schema": map[string]any{"type": "object"}}}}
	}

	responses := map[string]any{}
	success := func(status int, schema string) map[string]any {
		r := map[string]any{"description": http.StatusText(status)}
		switch {
		case d.html:
			r["content"] = map[string]any{"text/html": map[string]any{"schema": str()}}
		case strings.Contains(schema, "/"):
			r["content"] = map[string]any{schema: map[string]any{"schema": str()}}
		case schema != "":
			r["content"] = map[string]any{"application/json": map[string]any{"schema": ref(schema)}}
		}
		return r
	}
	responses[itoa(d.status)] = success(d.status, d.response)
	for st, schema := range d.also {
		responses[itoa(st)] = success(st, schema)
	}
	errs := slices.Clone(d.errors)
	if !rt.access.public {
		// 403 also for a token used from outside the user's IP allowlist.
		errs = append(errs, 401, 403)
	}
	if len(pathParams) > 0 {
		errs = append(errs, 404)
	}
	if d.body != "" || d.bodyForm {
		errs = append(errs, 400, 413, 415, 422)
	}
	if d.body != "" {
		errs = append(errs, 415)
	}
	if len(d.query) > 0 {
		errs = append(errs, 422)
	}
	// Any handler may fail (a panic is recovered as a 500).
	errs = append(errs, 500)
	if !d.static && !d.html {
		errs = append(errs, 503)
	}
	for _, st := range errs {
		if _, done := responses[itoa(st)]; done {
			continue
		}
		switch {
		case st < 400:
			// A further success status answering the same schema.
			responses[itoa(st)] = success(st, d.response)
		case d.html:
			responses[itoa(st)] = success(st, "")
			responses[itoa(st)].(map[string]any)["description"] = http.StatusText(st)
		default:
			name := sharedByStatus[st]
			if name == "" {
				panic("openapi: no shared response for status " + itoa(st))
			}
			used[name] = true
			responses[itoa(st)] = map[string]any{"$ref": "#/components/responses/" + name}
		}
	}
	op["responses"] = responses
	return op
}

// operationID makes "postApiV1UsersIdBlock"-like stable IDs.
func operationID(rt route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.method))
	for _, part := range strings.FieldsFunc(rt.pattern, func(r rune) bool { return r == '/' || r == '-' || r == '.' || r == '{' || r == '}' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}

// Schema helpers.
func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }
func typ(t string) map[string]any    { return map[string]any{"type": t} }
func str() map[string]any            { return typ("string") }
func integer() map[string]any        { return typ("integer") }
func boolean() map[string]any        { return typ("boolean") }
func dateTime() map[string]any       { return map[string]any{"type": "string", "format": "date-time"} }
func arr(items map[string]any) map[string]any {
	return map[string]any{"type": "array", "items": items}
}
func enum(vals ...string) map[string]any { return map[string]any{"type": "string", "enum": vals} }
func nullable(t string) map[string]any   { return map[string]any{"type": []string{t, "null"}} }
func nullableDateTime() map[string]any {
	return map[string]any{"type": []string{"string", "null"}, "format": "date-time"}
}
func nullableRef(name string) map[string]any {
	return map[string]any{"oneOf": []any{ref(name), typ("null")}}
}

// obj is an object schema; required lists required properties. Request
// bodies refuse unknown properties.
func obj(required []string, props map[string]any) map[string]any {
	o := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		sort.Strings(required)
		o["required"] = required
	}
	return o
}

func closed(o map[string]any) map[string]any { o["additionalProperties"] = false; return o }

// freeForm marks an object whose property names are not fixed: any name
// matches its pattern, so a strict validator accepts them too.
func freeForm(o map[string]any) map[string]any {
	o["patternProperties"] = map[string]any{"^.*$": ref("JSONValue")}
	return o
}

func permissionKeys() []string {
	var out []string
	for _, c := range roster.Catalog {
		out = append(out, string(c.Key))
	}
	return out
}

// schemas are the components of the document.
func schemas() map[string]any {
	perm := enum(permissionKeys()...)
	userProps := map[string]any{
		"id": integer(), "company_id": integer(), "auth_method": enum("email", "login"),
		"email": str(), "login": str(), "first_name": str(), "middle_name": str(), "last_name": str(),
		"phone": str(), "work_phone": str(), "position": str(), "status": enum("invited", "active", "blocked"),
		"roles": arr(ref("RoleRef")), "created_by": nullable("integer"), "created_at": dateTime(), "updated_at": dateTime(),
		"last_login_at": nullableDateTime(), "invitation_expires_at": dateTime(),
		"name_set_by_self": boolean(), "password_change_required": boolean(),
		// Directory fields, set by an identity provider through SCIM.
		"external_id":     map[string]any{"type": "string", "description": "The identity provider's ID of the user (SCIM externalId); empty when unset."},
		"employee_number": map[string]any{"type": "string", "description": "SCIM enterprise extension's employeeNumber; empty when unset."},
		"department":      map[string]any{"type": "string", "description": "SCIM enterprise extension's department; empty when unset."},
		"manager_id":      map[string]any{"type": []string{"integer", "null"}, "description": "SCIM enterprise extension's manager: a user of the same company."},
	}
	created := map[string]any{"temporary_password": map[string]any{"type": "string", "description": "Only with credentials generated; shown once."},
		"password_link_emailed": map[string]any{"type": "boolean", "description": "Only with send_email: a link to set a password was e-mailed."}}
	for k, v := range userProps {
		created[k] = v
	}
	userRequired := []string{"id", "company_id", "auth_method", "email", "login", "first_name", "middle_name", "last_name",
		"phone", "work_phone", "position", "status", "roles", "created_by", "created_at", "updated_at", "last_login_at"}
	loginResponse := obj([]string{"token", "expires_at", "user"}, map[string]any{
		"token": str(), "expires_at": dateTime(), "user": ref("User")})
	switchResult := obj([]string{"token", "expires_at", "user", "impersonator"}, map[string]any{
		"token":      map[string]any{"type": "string", "description": "The switch token, valid 1 hour. Keep your original token for after switch-back."},
		"expires_at": dateTime(), "user": ref("User"), "impersonator": ref("User")})
	page := func(item string) map[string]any {
		return obj([]string{"items", "next_cursor"}, map[string]any{
			"items": arr(ref(item)), "next_cursor": map[string]any{"type": "string", "description": "Empty on the last page."}})
	}
	userPage := page("User")
	userPage["properties"].(map[string]any)["total"] = integer()
	userPage["properties"].(map[string]any)["total_capped"] = map[string]any{"type": "boolean",
		"description": "True when total is a lower bound: counting stopped at a cap on a very large result."}
	userPage["properties"].(map[string]any)["total_estimated"] = map[string]any{"type": "boolean",
		"description": "True when total is the database's estimate of a large search result rather than a count."}
	userPage["properties"].(map[string]any)["sort"] = map[string]any{"type": "string", "enum": roster.UserSorts,
		"description": "The order applied. It differs from the one asked for only when a search matches too many users to sort them quickly " +
			"(on SQLite, in an order other than by name): they then come in creation order."}
	userPage["properties"].(map[string]any)["prev_cursor"] = map[string]any{"type": "string",
		"description": "The cursor of the page before this one; absent on the first page."}
	userPage["properties"].(map[string]any)["offset"] = map[string]any{"type": "integer",
		"description": "How many users come before this page."}
	userPage["required"] = []string{"items", "next_cursor", "total", "sort"}
	list := func(item string) map[string]any {
		return obj([]string{"items"}, map[string]any{"items": arr(ref(item))})
	}
	roleExport := obj([]string{"key", "name", "permissions"}, map[string]any{"key": str(), "name": str(), "system": boolean(), "permissions": arr(perm)})

	return map[string]any{
		"Problem": obj([]string{"type", "title", "status", "detail", "code"}, map[string]any{
			"type": str(), "title": str(), "status": integer(), "detail": str(),
			"code": map[string]any{"type": "string", "description": "What went wrong, for programs: the domain codes " + strings.Join([]string{roster.EINVALID, roster.ECONFLICT,
				roster.ENOTFOUND, roster.EFORBIDDEN, roster.EUNAUTHORIZED, roster.ERATELIMIT, roster.EINTERNAL}, ", ") +
				" and more specific ones (bad_json, too_large, invitation_expired, …); new codes may appear, so treat an unknown one by its status.",
				"examples": []string{roster.EINVALID, roster.ENOTFOUND, "bad_json"}},
			"errors":  arr(ref("FieldError")),
			"refused": arr(ref("Refusal")),
			"request_id": map[string]any{"type": "string", "description": "The request's X-Request-Id (also a response header): quote it to find the request's log lines.",
				"examples": []string{"6f1c0c5e9d2a4b7e8a3f0e1d2c3b4a59"}},
		}),
		"FieldError": obj([]string{"field", "code", "message"}, map[string]any{"field": str(), "code": str(), "message": str(),
			"line":   map[string]any{"type": "integer", "description": "In an uploaded file (a CSV import): the line, 1 being the header."},
			"column": map[string]any{"type": "string", "description": "In an uploaded file: the column's name."}}),
		"UserImportResult": obj([]string{"dry_run", "created", "updated", "errors", "temporary_passwords"}, map[string]any{
			"dry_run": boolean(), "created": integer(), "updated": integer(),
			"errors": map[string]any{"type": "array", "items": ref("FieldError"), "description": "Always empty in a success: with errors the answer is 422."},
			"temporary_passwords": arr(obj([]string{"line", "email", "login", "password"}, map[string]any{"line": integer(), "email": str(), "login": str(),
				"password": map[string]any{"type": "string", "description": "Shown only in this answer; the user changes it at the first sign-in."}}))}),
		"Refusal":   obj([]string{"user_id", "code", "message"}, map[string]any{"user_id": integer(), "code": str(), "message": str()}),
		"Health":    obj([]string{"status"}, map[string]any{"status": enum("ok")}),
		"Ready":     obj([]string{"status"}, map[string]any{"status": enum("ready")}),
		"Accepted":  obj([]string{"status", "detail"}, map[string]any{"status": enum("accepted"), "detail": str()}),
		"JSONValue": freeForm(map[string]any{"description": "Any JSON value.", "items": ref("JSONValue")}),
		"OpenAPIDocument": freeForm(obj([]string{"openapi", "info", "paths"}, map[string]any{"openapi": str(),
			"info": ref("JSONValue"), "paths": ref("JSONValue")})),

		"LoginRequest":           closed(obj([]string{"username", "password"}, map[string]any{"username": map[string]any{"type": "string", "description": "E-mail or login."}, "password": str()})),
		"LoginResponse":          loginResponse,
		"PasswordChangeRequired": obj([]string{"password_change_required", "change_token", "expires_at"}, map[string]any{"password_change_required": map[string]any{"const": true}, "change_token": str(), "expires_at": dateTime()}),
		"LoginResult":            map[string]any{"oneOf": []any{ref("LoginResponse"), ref("PasswordChangeRequired")}},
		"PasswordChangeRequest":  closed(obj([]string{"change_token", "new_password"}, map[string]any{"change_token": str(), "new_password": map[string]any{"type": "string", "minLength": 12, "maxLength": 256}})),
		"Me": obj([]string{"user", "company", "permissions", "impersonator", "session"}, map[string]any{
			"user": ref("User"), "company": ref("Company"), "permissions": arr(perm), "impersonator": nullableRef("User"),
			"session": obj([]string{"kind", "expires_at"}, map[string]any{"kind": enum(roster.SessionAPI, roster.SessionSwitch), "expires_at": dateTime()}),
		}),
		"SwitchRequest":    closed(obj(nil, map[string]any{"user_id": map[string]any{"type": "integer", "description": "An administrator account of the company to act as."}})),
		"SwitchResult":     switchResult,
		"SwitchBackResult": obj([]string{"user"}, map[string]any{"user": ref("User")}),

		"RoleRef":     obj([]string{"id", "key", "name"}, map[string]any{"id": integer(), "key": str(), "name": str()}),
		"User":        obj(userRequired, userProps),
		"UserCreated": obj(userRequired, created),
		"UserPage":    userPage,
		"UserCreate": closed(obj([]string{"auth_method", "role_ids"}, map[string]any{
			"auth_method": enum("email", "login"), "email": str(), "login": map[string]any{"type": "string", "pattern": "^[A-Za-z0-9]{2,64}$"},
			"first_name": str(), "middle_name": str(), "last_name": str(), "phone": str(), "work_phone": str(), "position": str(),
			"role_ids": arr(integer()), "company_id": integer(), "credentials": enum("invitation", "generated", "manual"),
			"password":   map[string]any{"type": "string", "description": "Only with credentials manual."},
			"send_email": map[string]any{"type": "boolean", "description": "Send to e-mail: with generated or manual, e-mail the user a single-use link to set their password."},
		})),
		"UserPatch": closed(obj(nil, map[string]any{"first_name": str(), "middle_name": str(), "last_name": str(),
			"phone": str(), "work_phone": str(), "position": str()})),
		"Comment":           closed(obj([]string{"comment"}, map[string]any{"comment": map[string]any{"type": "string", "minLength": 1, "maxLength": 1000}})),
		"RoleIDs":           closed(obj([]string{"role_ids"}, map[string]any{"role_ids": arr(integer())})),
		"TemporaryPassword": obj([]string{"temporary_password"}, map[string]any{"temporary_password": str()}),
		"BulkRequest": closed(obj([]string{"action"}, map[string]any{
			"action":   enum(roster.BulkAddRole, roster.BulkRemoveRole, roster.BulkBlock, roster.BulkUnblock, roster.BulkDelete),
			"user_ids": arr(integer()),
			"filter": closed(obj(nil, map[string]any{"q": str(), "status": enum("invited", "active", "blocked"),
				"role":       map[string]any{"type": []string{"string", "integer"}, "description": "A role ID or key."},
				"invitation": enum("pending", "expired", "accepted"), "company_id": integer(),
				"queue":               map[string]any{"type": []string{"string", "integer"}, "description": `A queue ID, or "none" for active users in no queue.`},
				"last_sign_in_before": map[string]any{"type": "string", "format": "date-time", "description": "Users whose last sign-in was before this time (with never_signed_in true, also those who never signed in)."},
				"never_signed_in":     boolean()})),
			"role_id": integer(), "comment": str(),
		})),
		"BulkResult": obj([]string{"action", "affected", "user_ids"}, map[string]any{"action": str(), "affected": integer(), "user_ids": arr(integer())}),

		"Role": obj([]string{"id", "company_id", "key", "name", "system", "permissions"}, map[string]any{
			"id": integer(), "company_id": nullable("integer"), "key": str(), "name": str(), "system": boolean(),
			"permissions": arr(perm), "user_count": integer(), "created_at": dateTime(), "updated_at": dateTime()}),
		"RoleList":   list("Role"),
		"RoleCreate": closed(obj([]string{"name"}, map[string]any{"name": str(), "key": str(), "permissions": arr(perm), "company_id": integer()})),
		"RolePatch":  closed(obj(nil, map[string]any{"name": str(), "permissions": arr(perm)})),
		"RoleExport": roleExport,
		"RoleFile":   closed(obj([]string{"roles"}, map[string]any{"roles": arr(ref("RoleExport"))})),
		"RoleImportChange": obj([]string{"key", "name", "action"}, map[string]any{"key": str(), "name": str(),
			"action": enum("create", "update", "unchanged"), "added_permissions": arr(perm), "removed_permissions": arr(perm), "renamed": boolean()}),
		"RoleImportResult": obj([]string{"dry_run", "changes"}, map[string]any{"dry_run": boolean(), "changes": arr(ref("RoleImportChange"))}),
		"PermissionInfo":   obj([]string{"key", "group", "name", "platform"}, map[string]any{"key": perm, "group": str(), "name": str(), "platform": boolean()}),
		"PermissionList":   list("PermissionInfo"),

		"Company": obj([]string{"id", "parent_id", "name"}, map[string]any{"id": integer(), "parent_id": nullable("integer"), "name": str(),
			"user_count": integer(), "created_at": dateTime(), "updated_at": dateTime()}),
		"CompanyList":   list("Company"),
		"CompanyCreate": closed(obj([]string{"name"}, map[string]any{"name": str(), "parent_id": integer()})),
		"CompanyPatch":  closed(obj(nil, map[string]any{"name": str()})),

		"Event": obj([]string{"id", "company_id", "type", "created_at"}, map[string]any{
			"id": integer(), "company_id": integer(), "type": enum(roster.EventTypes...),
			"actor_id": nullable("integer"), "actor_name": str(), "impersonator_id": nullable("integer"), "impersonator_name": str(),
			"target_user_id": nullable("integer"), "target_name": str(), "target_role_id": integer(), "address": str(),
			"before": freeForm(map[string]any{"type": []string{"object", "null"}, "description": "The changed fields before the change; their names depend on the event type."}),
			"after":  freeForm(map[string]any{"type": []string{"object", "null"}, "description": "The changed fields after the change; their names depend on the event type."}), "comment": str(), "created_at": dateTime(),
			"comments": map[string]any{"type": []string{"array", "null"}, "items": ref("EventComment"),
				"description": "Auditors' comments on the event, oldest first; filled both in the list and in the single event."}}),
		"EventPage":           page("Event"),
		"EventComment":        obj([]string{"id", "event_id", "author_id", "body", "created_at"}, map[string]any{"id": integer(), "event_id": integer(), "author_id": integer(), "author_name": str(), "body": str(), "created_at": dateTime()}),
		"EventCommentRequest": closed(obj([]string{"body"}, map[string]any{"body": map[string]any{"type": "string", "minLength": 1, "maxLength": 1000}})),
	}
}
