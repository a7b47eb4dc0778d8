// Package web serves Roster's REST API under /api/v1, its OpenAPI
// description, the health check and the one-time bootstrap page. Every
// route is listed once, in (*Server).routeTable; both the mux and the
// authorization check are built from that table.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
	"github.com/roster-app/roster/observe"
	"github.com/roster-app/roster/outbox"
	"github.com/roster-app/roster/secure"
)

// DefaultMaxBodyBytes bounds a request body when Deps.MaxBodyBytes is zero.
const DefaultMaxBodyBytes int64 = 1 << 20

// Deps are the parts a Server is built from. Everything is passed in: the
// package has no globals.
type Deps struct {
	Companies roster.CompanyService
	Users     roster.UserService
	Roles     roster.RoleService
	Sessions  roster.SessionService
	Events    roster.EventService
	Platform  roster.PlatformService
	// Hasher hashes and verifies passwords (argon2id, bounded concurrency).
	Hasher *secure.Hasher
	// Clock is the source of time; time.Now when nil.
	Clock roster.Clock
	// Logger receives request logs and internal errors; discarded when nil.
	Logger *slog.Logger
	// TrustedProxies are the peers whose X-Forwarded-For header is believed.
	TrustedProxies []netip.Prefix
	// MaxBodyBytes bounds request bodies; DefaultMaxBodyBytes when zero.
	MaxBodyBytes int64
	// MaxImportBytes bounds a users import upload; DefaultMaxImportBytes
	// when zero.
	MaxImportBytes int64
	// SCIMMaxScan bounds the users one SCIM request reads to evaluate a
	// filter or to name a group's members (DefaultSCIMMaxScan): beyond it
	// the request is a 400 tooMany that says how to narrow it.
	SCIMMaxScan int
	// Ready says whether this instance should get traffic, for /readyz:
	// nil when the database answers and its schema is current, else an
	// error whose roster.ErrorMessage says why. Nil Ready means always ready.
	Ready func(ctx context.Context) error

	// Credentials and Jobs store sign-in security and background jobs;
	// when nil they are taken from Users if it implements them.
	Credentials roster.CredentialService
	Jobs        roster.JobService
	// Outbox seals e-mail jobs; when nil it is keyed from the
	// installation secret (Platform.Secret).
	Outbox *outbox.Box
	// SecretKey is the master key (ROSTER_SECRET_KEY) from which the TOTP
	// encryption key is derived; when nil, the installation secret.
	SecretKey []byte
	// BaseURL is the public address used in e-mailed links (ROSTER_BASE_URL).
	BaseURL string
	// NotifyJobs wakes the job worker after a job is written; may be nil.
	NotifyJobs func()
	// App holds the workflows every handler calls; when nil it is built
	// from the fields above.
	App *app.App
}

// Server holds the dependencies of every handler.
type Server struct {
	Deps
	routes []route

	keysOnce  sync.Once
	keysErr   error
	totpKey   []byte
	outboxBox *outbox.Box
}

// NewServer returns a Server with defaults filled in.
func NewServer(d Deps) *Server {
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if d.MaxImportBytes <= 0 {
		d.MaxImportBytes = DefaultMaxImportBytes
	}
	if d.SCIMMaxScan <= 0 {
		d.SCIMMaxScan = DefaultSCIMMaxScan
	}
	if d.Credentials == nil {
		d.Credentials, _ = d.Users.(roster.CredentialService)
	}
	if d.Jobs == nil {
		d.Jobs, _ = d.Users.(roster.JobService)
	}
	if d.App == nil {
		d.App = app.New(app.Deps{Companies: d.Companies, Users: d.Users, Roles: d.Roles, Credentials: d.Credentials,
			Platform: d.Platform, Sessions: d.Sessions, Events: d.Events, Hasher: d.Hasher, Clock: d.Clock, Outbox: d.Outbox, SecretKey: d.SecretKey,
			BaseURL: d.BaseURL, NotifyJobs: d.NotifyJobs})
	}
	s := &Server{Deps: d}
	s.routes = append(append(append(s.routeTable(), s.credentialRoutes()...), s.operationRoutes()...), s.webhookRoutes()...)
	s.routes = append(s.routes, s.userCSVRoutes()...)
	s.routes = append(s.routes, s.serviceTokenRoutes()...)
	return s
}

// access says who may call a route: anyone, any signed-in user, or a
// signed-in user holding at least one of perms.
type access struct {
	public bool
	perms  []roster.Permission
}

// Public routes need no token.
func public() access { return access{public: true} }

// authenticated routes need a valid token and no particular permission.
func authenticated() access { return access{} }

// anyOf routes need a token and at least one of the permissions.
func anyOf(ps ...roster.Permission) access { return access{perms: ps} }

// route is one row of the route table.
type route struct {
	method  string
	pattern string
	access  access
	handle  func(http.ResponseWriter, *http.Request) error
	doc     opDoc
}

// routeTable lists every route Roster serves: method, pattern, who may call
// it, the handler, and its OpenAPI description.
func (s *Server) routeTable() []route {
	P := func(ps ...roster.Permission) access { return anyOf(ps...) }
	return []route{
		{"GET", "/healthz", public(), s.handleHealth, docHealth},
		{"GET", "/readyz", public(), s.handleReady, docReady},
		{"GET", "/api/v1/openapi.json", public(), s.handleOpenAPI, docOpenAPI},
		{"GET", "/setup", public(), s.handleSetupForm, docSetupForm},
		{"POST", "/setup", public(), s.handleSetupSubmit, docSetupSubmit},

		{"POST", "/api/v1/auth/login", public(), s.handleLogin, docLogin},
		{"POST", "/api/v1/auth/password-change", public(), s.handlePasswordChange, docPasswordChange},
		{"POST", "/api/v1/auth/logout", authenticated(), s.handleLogout, docLogout},
		{"POST", "/api/v1/auth/switch-back", authenticated(), s.handleSwitchBack, docSwitchBack},
		{"GET", "/api/v1/me", authenticated(), s.handleMe, docMe},

		{"GET", "/api/v1/users", P(roster.PermUsersView), s.handleUserList, docUserList},
		{"POST", "/api/v1/users", P(roster.PermUsersCreate), s.handleUserCreate, docUserCreate},
		{"POST", "/api/v1/users/bulk", P(roster.PermUsersRoles, roster.PermUsersBlock, roster.PermUsersDelete), s.handleUserBulk, docUserBulk},
		{"GET", "/api/v1/users/{id}", P(roster.PermUsersView), s.handleUserGet, docUserGet},
		{"PATCH", "/api/v1/users/{id}", P(roster.PermUsersEdit), s.handleUserPatch, docUserPatch},
		{"DELETE", "/api/v1/users/{id}", P(roster.PermUsersDelete), s.handleUserDelete, docUserDelete},
		{"POST", "/api/v1/users/{id}/block", P(roster.PermUsersBlock), s.handleUserBlock, docUserBlock},
		{"POST", "/api/v1/users/{id}/unblock", P(roster.PermUsersBlock), s.handleUserUnblock, docUserUnblock},
		{"PUT", "/api/v1/users/{id}/roles", P(roster.PermUsersRoles), s.handleUserRoles, docUserRoles},
		{"POST", "/api/v1/users/{id}/password-reset", P(roster.PermUsersCredentials), s.handleUserPasswordReset, docUserPasswordReset},
		{"POST", "/api/v1/users/{id}/invitation", P(roster.PermUsersCredentials), s.handleUserInvitation, docUserInvitation},

		{"GET", "/api/v1/roles", P(roster.PermRolesView, roster.PermUsersView), s.handleRoleList, docRoleList},
		{"POST", "/api/v1/roles", P(roster.PermRolesManage), s.handleRoleCreate, docRoleCreate},
		{"GET", "/api/v1/roles/export", P(roster.PermRolesManage), s.handleRoleExport, docRoleExport},
		{"POST", "/api/v1/roles/import", P(roster.PermRolesManage), s.handleRoleImport, docRoleImport},
		{"GET", "/api/v1/roles/{id}", P(roster.PermRolesView, roster.PermUsersView), s.handleRoleGet, docRoleGet},
		{"PATCH", "/api/v1/roles/{id}", P(roster.PermRolesManage), s.handleRolePatch, docRolePatch},
		{"DELETE", "/api/v1/roles/{id}", P(roster.PermRolesManage), s.handleRoleDelete, docRoleDelete},
		{"GET", "/api/v1/roles/{id}/users", P(roster.PermRolesView, roster.PermUsersView), s.handleRoleUsers, docRoleUsers},
		{"GET", "/api/v1/permissions", authenticated(), s.handlePermissions, docPermissions},

		{"GET", "/api/v1/companies", P(roster.PermCompaniesView), s.handleCompanyList, docCompanyList},
		{"POST", "/api/v1/companies", P(roster.PermCompaniesManage), s.handleCompanyCreate, docCompanyCreate},
		{"GET", "/api/v1/companies/{id}", P(roster.PermCompaniesView), s.handleCompanyGet, docCompanyGet},
		{"PATCH", "/api/v1/companies/{id}", P(roster.PermCompaniesManage), s.handleCompanyPatch, docCompanyPatch},
		{"POST", "/api/v1/companies/{id}/switch", P(roster.PermCompaniesSwitch), s.handleCompanySwitch, docCompanySwitch},

		{"GET", "/api/v1/events", P(roster.PermAuditView), s.handleEventList, docEventList},
		{"GET", "/api/v1/events/{id}", P(roster.PermAuditView), s.handleEventGet, docEventGet},
		{"POST", "/api/v1/events/{id}/comments", P(roster.PermAuditView), s.handleEventComment, docEventComment},
	}
}

// Routes lists every route as "METHOD pattern", in table order: for tests
// that check every route is covered, and for documentation.
func (s *Server) Routes() []string {
	out := make([]string, len(s.routes))
	for i, rt := range s.routes {
		out[i] = rt.method + " " + rt.pattern
	}
	return out
}

// Handler returns the whole HTTP handler: the mux built from the route
// table, wrapped in the middleware chain.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes {
		mux.Handle(rt.method+" "+rt.pattern, s.endpoint(rt))
	}
	// Anything else under /api answers a problem, not the mux's plain
	// text: 405 with Allow for a known path, else 404.
	byPath := http.NewServeMux()
	allow := map[string][]string{}
	for _, rt := range s.routes {
		if allow[rt.pattern] == nil {
			byPath.Handle(rt.pattern, http.NotFoundHandler())
		}
		allow[rt.pattern] = append(allow[rt.pattern], rt.method)
	}
	mux.Handle("/api/", s.adapt(func(w http.ResponseWriter, r *http.Request) error {
		if _, pattern := byPath.Handler(r); pattern != "" {
			w.Header().Set("Allow", strings.Join(allow[pattern], ", "))
			return &httpError{http.StatusMethodNotAllowed, "method_not_allowed", "This endpoint does not accept " + r.Method + "; it accepts " + strings.Join(allow[pattern], ", ") + "."}
		}
		return errNoRoute
	}))

	mux.Handle("/scim/v2/", s.scimHandler())

	var h http.Handler = observe.Routes(mux)
	h = s.limitBody(h)
	h = s.recoverPanics(h)
	h = s.clientAddress(h)
	h = securityHeaders(h)
	// Outermost: the request id and the request's log line (a no-op
	// under cmd/roster's own, which already did it).
	h = observe.Middleware(observe.Options{Logger: s.Logger, TrustedProxies: s.TrustedProxies}, h)
	return h
}

// endpoint wraps one route's handler with the authorization check of its
// table row: the one place every endpoint checks permissions.
func (s *Server) endpoint(rt route) http.Handler {
	return s.adapt(func(w http.ResponseWriter, r *http.Request) error {
		// A path value (an ID, a token) that is not one line of text
		// Roster accepts names nothing that can exist.
		if code, _ := roster.CheckText(r.URL.Path, roster.SingleLine); code != "" {
			return errNoRoute
		}
		if rt.access.public {
			return rt.handle(w, r)
		}
		actor, sess, err := s.authenticate(r)
		if err != nil {
			return err
		}
		observe.SetUser(r.Context(), actor.UserID())
		if err := authorize(actor, rt.access.perms...); err != nil {
			return err
		}
		if err := tokenMayUse(actor, rt); err != nil {
			return err
		}
		ctx := roster.NewContextWithActor(app.WithBaseURL(r.Context(), s.baseURL(r)), actor)
		ctx = context.WithValue(ctx, sessionKey{}, sess)
		return rt.handle(w, r.WithContext(ctx))
	})
}

// authorize answers EFORBIDDEN unless the actor holds one of perms (or
// perms is empty).
func authorize(a *roster.Actor, perms ...roster.Permission) error {
	if len(perms) == 0 {
		return nil
	}
	for _, p := range perms {
		if a.Can(p) {
			return nil
		}
	}
	names := make([]string, len(perms))
	for i, p := range perms {
		names[i] = string(p)
	}
	return roster.Errorf(roster.EFORBIDDEN, "You do not have permission for this action (needs %s).", strings.Join(names, " or "))
}

// actorOf returns the request's actor; routes that are not public always have one.
func actorOf(r *http.Request) *roster.Actor { return roster.ActorFromContext(r.Context()) }

type sessionKey struct{}

// sessionOf returns the session the request was authenticated with.
func sessionOf(r *http.Request) *roster.Session {
	s, _ := r.Context().Value(sessionKey{}).(*roster.Session)
	return s
}

func (s *Server) now() time.Time { return s.Clock().UTC() }

// handleHealth answers 200 while the process runs (liveness): it does
// not touch the database, so a database outage never restarts instances.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyRetryAfter is the Retry-After of a not-ready answer, in seconds.
const readyRetryAfter = "5"

// handleReady answers whether this instance should get traffic
// (Deps.Ready): 503 with Retry-After while the database is unreachable or
// its schema is out of date.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) error {
	if s.Ready != nil {
		if err := s.Ready(r.Context()); err != nil {
			w.Header().Set("Retry-After", readyRetryAfter)
			return &httpError{http.StatusServiceUnavailable, "not_ready", roster.ErrorMessage(err)}
		}
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
