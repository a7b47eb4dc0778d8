// Package app holds Roster's workflows: what happens when someone creates,
// edits, blocks, deletes or re-credentials a user, changes roles or company
// settings. Every front door — the JSON API (package web), the HTML panel
// (package panel), and the SCIM and CSV doors — decodes its request, calls
// one workflow here and renders the answer; none of them decides a rule.
//
// A workflow takes the actor from the context (roster.ActorFromContext),
// checks the actor's permission, validates the whole input at once (every
// field, including those that need a read such as role IDs or the
// company's password minimum), applies the policies (no escalation, the
// name set by the user, the immutable e-mail), hashes passwords, builds
// the e-mail jobs, and makes one store call, which writes the change, its
// event and its jobs in one transaction. Nothing is written unless all of
// it is valid.
package app

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/outbox"
	"github.com/roster-app/roster/secure"
	"github.com/roster-app/roster/webhook"
)

// Deps are the parts the workflows are built from, wired by cmd (or by a
// front door's tests).
type Deps struct {
	Companies   roster.CompanyService
	Users       roster.UserService
	Roles       roster.RoleService
	Credentials roster.CredentialService
	Platform    roster.PlatformService
	Sessions    roster.SessionService
	// Ops, Clients, Notifications and Events store operations, clients,
	// notification settings and the event log; nil ones are taken from
	// Users when it implements them (sqlstore does).
	Ops           roster.OperationsService
	Clients       roster.ClientService
	Notifications roster.NotificationService
	Events        roster.EventService
	// Hasher hashes passwords (argon2id, bounded concurrency).
	Hasher *secure.Hasher
	// Clock is the source of time; time.Now when nil.
	Clock roster.Clock
	// Outbox seals e-mail jobs; when nil it is keyed from SecretKey or,
	// without one, the installation secret kept by Platform.
	Outbox *outbox.Box
	// SecretKey is the master key (ROSTER_SECRET_KEY).
	SecretKey []byte
	// BaseURL is the public address used in e-mailed links; when empty,
	// the front door puts the request's own address in the context
	// (WithBaseURL).
	BaseURL string
	// NotifyJobs wakes the job worker after a job was committed; may be nil.
	NotifyJobs func()
	// Webhooks stores webhooks; taken from Users when nil and it has them.
	Webhooks roster.WebhookService
	// WebhooksAllowPrivate accepts webhook URLs on private and loopback
	// addresses (roster serve --webhooks-allow-private).
	WebhooksAllowPrivate bool
	// ServiceTokens stores service tokens; taken from Users when nil and
	// it has them.
	ServiceTokens roster.ServiceTokenService
}

// App is the set of workflows.
type App struct {
	d Deps

	// Users are the workflows on users (SPEC U4–U12, A2–A4).
	Users *Users
	// Companies are the workflows on companies and their settings.
	Companies *Companies
	// Roles are the workflows on roles.
	Roles *Roles
	// Operations are the workflows on work groups, presence, dialogues,
	// calls and companies' operations settings (SPEC O1, O2, U13).
	Operations *Operations
	// Clients are the workflows on clients and client tags (R3, R4).
	Clients *Clients
	// Notifications are the workflows on notification settings (O3).
	Notifications *Notifications
	// Events are the workflows on the event log (A7).
	Events *Events
	// Webhooks are the workflows on a company's webhooks.
	Webhooks *Webhooks
	// ServiceTokens are the workflows on a company's service tokens.
	ServiceTokens *ServiceTokens

	keysOnce sync.Once
	keysErr  error
	totpKey  []byte
	box      *outbox.Box
	hookKey  []byte
}

// New returns the workflows over d. Credentials, Platform, Ops, Clients,
// Notifications and Events default to Users when the store implements
// them (sqlstore does).
func New(d Deps) *App {
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.Credentials == nil {
		d.Credentials, _ = d.Users.(roster.CredentialService)
	}
	if d.Platform == nil {
		d.Platform, _ = d.Users.(roster.PlatformService)
	}
	if d.Sessions == nil {
		d.Sessions, _ = d.Users.(roster.SessionService)
	}
	if d.Ops == nil {
		d.Ops, _ = d.Users.(roster.OperationsService)
	}
	if d.Clients == nil {
		d.Clients, _ = d.Users.(roster.ClientService)
	}
	if d.Notifications == nil {
		d.Notifications, _ = d.Users.(roster.NotificationService)
	}
	if d.Events == nil {
		d.Events, _ = d.Users.(roster.EventService)
	}
	if d.Webhooks == nil {
		d.Webhooks, _ = d.Users.(roster.WebhookService)
	}
	if d.ServiceTokens == nil {
		d.ServiceTokens, _ = d.Users.(roster.ServiceTokenService)
	}
	a := &App{d: d}
	a.Users = &Users{app: a}
	a.Companies = &Companies{app: a}
	a.Roles = &Roles{app: a}
	a.Operations = &Operations{app: a}
	a.Clients = &Clients{app: a}
	a.Notifications = &Notifications{app: a}
	a.Events = &Events{app: a}
	a.Webhooks = &Webhooks{app: a}
	a.ServiceTokens = &ServiceTokens{app: a}
	return a
}

// MasterSecretName is the Platform secret used as the master key when no
// ROSTER_SECRET_KEY is configured.
const MasterSecretName = "master_key"

// TOTPKeyPurpose is the secure.DeriveKey purpose of the TOTP secrets' key.
const TOTPKeyPurpose = "roster totp v1"

// keys derives the keys of the installation once.
func (a *App) keys(ctx context.Context) error {
	a.keysOnce.Do(func() {
		master := a.d.SecretKey
		if len(master) == 0 {
			if a.d.Platform == nil {
				a.keysErr = errors.New("app: no master key and no platform store")
				return
			}
			if master, a.keysErr = a.d.Platform.Secret(ctx, MasterSecretName); a.keysErr != nil {
				return
			}
		}
		a.totpKey = secure.DeriveKey(master, TOTPKeyPurpose)
		a.hookKey = webhook.Key(master)
		a.box = a.d.Outbox
		if a.box == nil {
			a.box = outbox.New(master)
		}
	})
	return a.keysErr
}

// Outbox returns the box sealing e-mail jobs.
func (a *App) Outbox(ctx context.Context) (*outbox.Box, error) {
	if err := a.keys(ctx); err != nil {
		return nil, err
	}
	return a.box, nil
}

// TOTPKey returns the key encrypting TOTP secrets.
func (a *App) TOTPKey(ctx context.Context) ([]byte, error) {
	if err := a.keys(ctx); err != nil {
		return nil, err
	}
	return a.totpKey, nil
}

// MailJob seals one e-mail of kind to u as a job.
func (a *App) MailJob(ctx context.Context, u *roster.User, kind string, data any) (*roster.Job, error) {
	b, err := a.Outbox(ctx)
	if err != nil {
		return nil, err
	}
	return b.NewJob(u.Email, u.Lang, kind, data)
}

// JobsWritten wakes the job worker after jobs were committed.
func (a *App) JobsWritten() {
	if a.d.NotifyJobs != nil {
		a.d.NotifyJobs()
	}
}

type baseURLKey struct{}

// WithBaseURL returns ctx carrying the public address of the request, used
// in e-mailed links when no BaseURL is configured.
func WithBaseURL(ctx context.Context, url string) context.Context {
	return context.WithValue(ctx, baseURLKey{}, url)
}

// BaseURL is the public address for links: the configured one, or the
// request's own.
func (a *App) BaseURL(ctx context.Context) string {
	if a.d.BaseURL != "" {
		return a.d.BaseURL
	}
	u, _ := ctx.Value(baseURLKey{}).(string)
	return u
}

// now is the current time in UTC.
func (a *App) now() time.Time { return a.d.Clock().UTC() }

// Settings returns a company's credential rules.
func (a *App) Settings(ctx context.Context, companyID int64) (*roster.CompanySettings, error) {
	return a.d.Credentials.CompanySettings(ctx, roster.Scope{All: true}, companyID)
}

// errNoActor refuses a workflow called without a signed-in actor.
var errNoActor = roster.Errorf(roster.EUNAUTHORIZED, "Sign in first.")

// actor returns the context's actor holding perm.
func actor(ctx context.Context, perm roster.Permission) (*roster.Actor, error) {
	a := roster.ActorFromContext(ctx)
	if a == nil || (a.User == nil && a.Token == nil) {
		return nil, errNoActor
	}
	if perm != "" && !a.Can(perm) {
		return nil, roster.Errorf(roster.EFORBIDDEN, "You do not have permission for this action (needs %s).", perm)
	}
	return a, nil
}

// errPersonOnly refuses a service token what only a signed-in person does.
var errPersonOnly = roster.Errorf(roster.EFORBIDDEN, "This is for people signed in, not for service tokens.")

// person returns the context's actor when it is a signed-in user.
func person(ctx context.Context) (*roster.Actor, error) {
	a, err := actor(ctx, "")
	if err != nil {
		return nil, err
	}
	if a.User == nil {
		return nil, errPersonOnly
	}
	return a, nil
}

// userIDPtr is the acting user's ID, nil for a service token.
func userIDPtr(a *roster.Actor) *int64 {
	if a.User == nil {
		return nil
	}
	id := a.User.ID
	return &id
}

// notSelf refuses admin actions that would lock the actor out of their own
// account; those belong on the profile pages.
func notSelf(a *roster.Actor, id int64, what string) error {
	if a.User != nil && a.User.ID == id {
		return roster.Errorf(roster.EFORBIDDEN, "You cannot %s yourself.", what)
	}
	return nil
}

// merge joins validation errors: the field lists of EINVALID errors are
// concatenated; any other error wins.
func merge(errs ...error) error {
	var fields []roster.FieldError
	for _, err := range errs {
		if err == nil {
			continue
		}
		var e *roster.Error
		if !errors.As(err, &e) || e.Code != roster.EINVALID {
			return err
		}
		fields = append(fields, e.Fields...)
	}
	if len(fields) == 0 {
		return nil
	}
	return &roster.Error{Code: roster.EINVALID, Message: "Some fields are invalid.", Fields: fields}
}
