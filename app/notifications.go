package app

import (
	"context"
	"slices"
	"strings"

	"github.com/roster-app/roster"
)

// Notifications are the workflows on a user's notification settings and
// on failed deliveries (SPEC O3).
type Notifications struct{ app *App }

// MaySubscribe reports whether a may subscribe to notifications: they are
// about other users' accounts, so they need users.view or audit.view.
func MaySubscribe(a *roster.Actor) bool {
	return a.Can(roster.PermUsersView) || a.Can(roster.PermAuditView)
}

// Mine returns the actor's notification settings.
func (s *Notifications) Mine(ctx context.Context) (*roster.NotificationPrefs, error) {
	a, err := person(ctx)
	if err != nil {
		return nil, err
	}
	return s.prefs(ctx, a.User.ID)
}

// SetMine replaces the actor's notification settings, with an event, and
// returns them as stored.
func (s *Notifications) SetMine(ctx context.Context, p roster.NotificationPrefs) (*roster.NotificationPrefs, error) {
	a, err := person(ctx)
	if err != nil {
		return nil, err
	}
	return s.set(ctx, a.User.ID, func() bool { return MaySubscribe(a) }, p)
}

// Failed lists the deliveries in scope whose last try failed, newest
// first, at most limit (0: the default page size).
func (s *Notifications) Failed(ctx context.Context, limit int) ([]*roster.Delivery, error) {
	a, err := actor(ctx, roster.PermAuditView)
	if err != nil {
		return nil, err
	}
	return s.app.d.Notifications.FailedDeliveries(ctx, a.Scope, limit)
}

// EventTypes lists the notification catalog with each type's
// installation-wide switch (seed 003, System > Event notifications).
func (s *Notifications) EventTypes(ctx context.Context) ([]roster.NotificationEventType, error) {
	if _, err := actor(ctx, ""); err != nil {
		return nil, err
	}
	off, err := s.disabled(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]roster.NotificationEventType, 0, len(roster.NotificationCatalog))
	for _, c := range roster.NotificationCatalog {
		out = append(out, roster.NotificationEventType{Type: c.Type, Name: c.Name, Enabled: !off[c.Type]})
	}
	return out, nil
}

// SetEventTypes enables exactly the given catalog types for notification
// and switches the others off, installation-wide. Only the Main
// administrator does this; the change is logged.
func (s *Notifications) SetEventTypes(ctx context.Context, enabled []string) ([]roster.NotificationEventType, error) {
	a, err := person(ctx)
	if err != nil {
		return nil, err
	}
	if !a.MainAdmin {
		return nil, roster.Errorf(roster.EFORBIDDEN, "Only the Main administrator chooses the event types of notifications.")
	}
	if err := roster.ValidateEnabledTypes(enabled); err != nil {
		return nil, err
	}
	disabled := []string{}
	for _, c := range roster.NotificationCatalog {
		if !slices.Contains(enabled, c.Type) {
			disabled = append(disabled, c.Type)
		}
	}
	if err := s.app.d.Notifications.SetDisabledNotificationTypes(ctx, a.User.CompanyID, disabled); err != nil {
		return nil, err
	}
	return s.EventTypes(ctx)
}

// Catalog is the part of the catalog enabled for notification: what a
// user may subscribe to.
func (s *Notifications) Catalog(ctx context.Context) ([]roster.NotificationEventInfo, error) {
	off, err := s.disabled(ctx)
	if err != nil {
		return nil, err
	}
	out := []roster.NotificationEventInfo{}
	for _, c := range roster.NotificationCatalog {
		if !off[c.Type] {
			out = append(out, c)
		}
	}
	return out, nil
}

func (s *Notifications) disabled(ctx context.Context) (map[string]bool, error) {
	types, err := s.app.d.Notifications.DisabledNotificationTypes(ctx)
	if err != nil {
		return nil, err
	}
	off := map[string]bool{}
	for _, t := range types {
		off[t] = true
	}
	return off, nil
}

// prefs returns a user's stored settings without the subscriptions to
// types switched off: those are neither delivered nor shown, and come back
// if the type is switched on before the user saves again.
func (s *Notifications) prefs(ctx context.Context, userID int64) (*roster.NotificationPrefs, error) {
	p, err := s.app.d.Notifications.NotificationPrefs(ctx, userID)
	if err != nil {
		return nil, err
	}
	off, err := s.disabled(ctx)
	if err != nil {
		return nil, err
	}
	p.Subscriptions = slices.DeleteFunc(p.Subscriptions, func(sub roster.Subscription) bool { return off[sub.EventType] })
	return p, nil
}

// set validates and stores the settings of target, whose permissions are
// perms: the rules are the same whoever makes the change.
func (s *Notifications) set(ctx context.Context, userID int64, perms func() bool, p roster.NotificationPrefs) (*roster.NotificationPrefs, error) {
	if len(p.Subscriptions) > 0 && !perms() {
		return nil, roster.Errorf(roster.EFORBIDDEN, "Notifications are about other users' accounts: they need users.view or audit.view.")
	}
	p.TelegramChatID, p.SlackChannelID = strings.TrimSpace(p.TelegramChatID), strings.TrimSpace(p.SlackChannelID)
	if p.Subscriptions == nil {
		p.Subscriptions = []roster.Subscription{}
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	off, err := s.disabled(ctx)
	if err != nil {
		return nil, err
	}
	for _, sub := range p.Subscriptions {
		if off[sub.EventType] {
			var v roster.Validation
			v.Add("subscriptions", "event_type_disabled", "Notifications of this event type are switched off: "+sub.EventType+".")
			return nil, v.Err()
		}
	}
	if err := s.app.d.Notifications.SetNotificationPrefs(ctx, userID, &p); err != nil {
		return nil, err
	}
	return s.prefs(ctx, userID)
}

// ForUser returns another user's notification settings, for an
// administrator with users.edit who manages them (seed 003: the user's
// card). Users out of scope are not found.
func (s *Notifications) ForUser(ctx context.Context, id int64) (*roster.NotificationPrefs, error) {
	if _, _, err := s.editTarget(ctx, id); err != nil {
		return nil, err
	}
	return s.prefs(ctx, id)
}

// SetForUser replaces another user's notification settings with the rules
// of the user's own change; the event names the administrator.
func (s *Notifications) SetForUser(ctx context.Context, id int64, p roster.NotificationPrefs) (*roster.NotificationPrefs, error) {
	u, perms, err := s.editTarget(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.set(ctx, u.ID, func() bool { return perms.Has(roster.PermUsersView) || perms.Has(roster.PermAuditView) }, p)
}

// editTarget loads a user whose notification settings the actor may edit:
// users.edit, the user in scope (else not found), and one the actor
// manages (no change to a user holding permissions the actor lacks).
func (s *Notifications) editTarget(ctx context.Context, id int64) (*roster.User, roster.PermissionSet, error) {
	a, err := actor(ctx, roster.PermUsersEdit)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.app.d.Users.UserByID(ctx, a.Scope, id)
	if err != nil {
		return nil, nil, err
	}
	perms, err := s.app.d.Users.UserPermissions(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	if err := a.CheckManage(u, perms); err != nil {
		return nil, nil, err
	}
	return u, perms, nil
}

// UserNotifications are a user's settings as their card shows them.
type UserNotifications struct {
	Prefs *roster.NotificationPrefs
	// MaySubscribe says whether the user's roles let them receive
	// notifications (users.view or audit.view).
	MaySubscribe bool
}

// ForUserCard is ForUser with whether the user may subscribe, for the
// form on their card.
func (s *Notifications) ForUserCard(ctx context.Context, id int64) (*UserNotifications, error) {
	_, perms, err := s.editTarget(ctx, id)
	if err != nil {
		return nil, err
	}
	p, err := s.prefs(ctx, id)
	if err != nil {
		return nil, err
	}
	return &UserNotifications{Prefs: p, MaySubscribe: perms.Has(roster.PermUsersView) || perms.Has(roster.PermAuditView)}, nil
}
