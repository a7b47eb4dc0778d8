// Package panel is Roster's administrator web panel: server-rendered pages
// that work without JavaScript, with small scripts of our own for live
// search, selection and dialogs. It sits beside package web (the JSON API)
// and shares the domain services with it; cmd mounts it at "/".
package panel

import (
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
	"github.com/roster-app/roster/observe"
	"github.com/roster-app/roster/outbox"
	"github.com/roster-app/roster/secure"
)

// Deps are the panel's dependencies, wired by cmd.
type Deps struct {
	Companies roster.CompanyService
	Users     roster.UserService
	Roles     roster.RoleService
	Sessions  roster.SessionService
	Events    roster.EventService
	Hasher    *secure.Hasher
	Clock     roster.Clock
	Logger    *slog.Logger
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Secure marks cookies Secure with the __Host- prefix: true when served
	// over https, false for plain-http localhost and tests.
	Secure bool

	// Credentials, Jobs, Platform and Avatars serve sign-in security, the
	// outbox, the master key and avatars; nil ones are taken from Users
	// when it implements them (sqlstore does).
	Credentials roster.CredentialService
	Jobs        roster.JobService
	Platform    roster.PlatformService
	Avatars     roster.AvatarService
	// Outbox seals e-mail jobs; nil means keyed from the master key.
	Outbox *outbox.Box
	// SecretKey is the master key (ROSTER_SECRET_KEY); empty means the
	// installation secret kept by Platform, as package web does.
	SecretKey []byte
	// BaseURL is the public address in e-mailed links; empty means the
	// request's own host.
	BaseURL string
	// NotifyJobs wakes the mail worker after a job is written; may be nil.
	NotifyJobs func()
	// App holds the workflows every handler calls; when nil it is built
	// from the fields above.
	App *app.App
}

// Panel serves the web panel.
type Panel struct {
	Deps
	creds  credentialState
	pages  map[string]*template.Template
	static *staticFiles
}

// New parses the templates and hashes the static files once; it panics on a
// template error, which is a programming error caught by any test.
func New(d Deps) *Panel {
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Panel{Deps: d, static: loadStatic()}
	p.credentialDefaults()
	if p.App == nil {
		p.App = app.New(app.Deps{Companies: p.Companies, Users: p.Users, Roles: p.Roles, Credentials: p.Credentials,
			Platform: p.Platform, Sessions: p.Sessions, Events: p.Events, Hasher: p.Hasher, Clock: p.Clock, Outbox: p.Outbox, SecretKey: p.SecretKey,
			BaseURL: p.BaseURL, NotifyJobs: p.NotifyJobs})
	}
	p.pages = parseTemplates(p.static)
	return p
}

// Handler returns the panel's routes behind its middleware.
func (p *Panel) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/{name}", p.static)

	// Anonymous pages.
	mux.Handle("GET /signin", p.anon(p.handleSignInPage))
	mux.Handle("POST /signin", p.anon(p.handleSignIn))
	mux.Handle("GET /password/change", p.anon(p.handleForcedPasswordPage))
	mux.Handle("POST /password/change", p.anon(p.handleForcedPassword))
	mux.Handle("POST /lang", p.anon(p.handleLanguage))

	// Signed-in pages.
	mux.Handle("GET /{$}", p.auth(p.handleHome))
	mux.Handle("POST /signout", p.auth(p.handleSignOut))

	mux.Handle("GET /users", p.auth(p.handleUsers))
	mux.Handle("GET /users/new", p.auth(p.handleUserNew))
	mux.Handle("GET /users/export.csv", p.auth(p.handleUsersExport))
	mux.Handle("GET /users/import", p.auth(p.handleUsersImportPage))
	mux.Handle("POST /users/import", p.auth(p.handleUsersImport))
	mux.Handle("POST /users", p.auth(p.handleUserCreate))
	mux.Handle("POST /users/bulk", p.auth(p.handleUsersBulk))
	mux.Handle("POST /users/view", p.auth(p.handleUsersView))
	mux.Handle("GET /users/{id}", p.auth(p.handleUser))
	mux.Handle("POST /users/{id}/edit", p.auth(p.handleUserEdit))
	mux.Handle("POST /users/{id}/roles", p.auth(p.handleUserRoles))
	mux.Handle("POST /users/{id}/block", p.auth(p.handleUserBlock))
	mux.Handle("POST /users/{id}/unblock", p.auth(p.handleUserUnblock))
	mux.Handle("POST /users/{id}/delete", p.auth(p.handleUserDelete))
	mux.Handle("POST /users/{id}/invitation", p.auth(p.handleUserInvitation))
	mux.Handle("POST /users/{id}/password-reset", p.auth(p.handleUserPasswordReset))
	p.userRoutes(mux)

	mux.Handle("GET /roles", p.auth(p.handleRoles))
	mux.Handle("POST /roles", p.auth(p.handleRoleCreate))
	mux.Handle("POST /roles/matrix", p.auth(p.handleRoleMatrix))
	mux.Handle("GET /roles/export", p.auth(p.handleRolesExport))
	mux.Handle("POST /roles/import", p.auth(p.handleRolesImport))
	mux.Handle("GET /roles/{id}", p.auth(p.handleRole))
	mux.Handle("POST /roles/{id}", p.auth(p.handleRoleUpdate))
	mux.Handle("POST /roles/{id}/delete", p.auth(p.handleRoleDelete))

	mux.Handle("GET /events", p.auth(p.handleEvents))
	mux.Handle("POST /events/{id}/comments", p.auth(p.handleEventComment))

	mux.Handle("GET /companies", p.auth(p.handleCompanies))
	mux.Handle("POST /companies", p.auth(p.handleCompanyCreate))
	mux.Handle("POST /companies/{id}/switch", p.auth(p.handleSwitch))
	mux.Handle("POST /companies/{id}/settings", p.auth(p.handleCompanyPlan))
	mux.Handle("POST /companies/{id}/rename", p.auth(p.handleCompanyRename))
	mux.Handle("POST /switch-back", p.auth(p.handleSwitchBack))

	mux.Handle("GET /profile", p.auth(p.handleProfile))
	mux.Handle("POST /profile", p.auth(p.handleProfileUpdate))
	mux.Handle("POST /profile/password", p.auth(p.handleProfilePassword))

	p.credentialRoutes(mux)
	p.operationRoutes(mux)
	p.webhookRoutes(mux)
	p.serviceTokenRoutes(mux)

	mux.Handle("/", p.anon(func(w http.ResponseWriter, r *http.Request) error {
		return roster.Errorf(roster.ENOTFOUND, "Page not found.")
	}))

	// The chain, outermost first: security headers, then cross-origin
	// protection (Sec-Fetch-Site / Origin) for every unsafe method.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.renderError(w, r, roster.Errorf(roster.EFORBIDDEN, "Cross-origin request refused."))
	}))
	// Outermost: the request id and the request's log line (observe;
	// a no-op under cmd/roster's own, which already did it).
	return observe.Middleware(observe.Options{Logger: p.Logger, TrustedProxies: p.TrustedProxies},
		securityHeaders(cop.Handler(observe.Routes(mux))))
}

// securityHeaders sets the headers every panel response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}
