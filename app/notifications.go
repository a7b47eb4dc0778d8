package app

import (
	"context"
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
	return s.app.d.Notifications.NotificationPrefs(ctx, a.User.ID)
}

// SetMine replaces the actor's notification settings, with an event, and
// returns them as stored.
func (s *Notifications) SetMine(ctx context.Context, p roster.NotificationPrefs) (*roster.NotificationPrefs, error) {
	a, err := person(ctx)
	if err != nil {
		return nil, err
	}
	if len(p.Subscriptions) > 0 && !MaySubscribe(a) {
		return nil, roster.Errorf(roster.EFORBIDDEN, "Notifications are about other users' accounts: they need users.view or audit.view.")
	}
	p.TelegramChatID, p.SlackChannelID = strings.TrimSpace(p.TelegramChatID), strings.TrimSpace(p.SlackChannelID)
	if p.Subscriptions == nil {
		p.Subscriptions = []roster.Subscription{}
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := s.app.d.Notifications.SetNotificationPrefs(ctx, a.User.ID, &p); err != nil {
		return nil, err
	}
	return s.app.d.Notifications.NotificationPrefs(ctx, a.User.ID)
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
