package main

import (
	"context"
	"log/slog"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/jobs"
	"github.com/roster-app/roster/notify"
	"github.com/roster-app/roster/sqlstore"
)

// startNotifications runs a jobs worker delivering event notifications
// (roster.NotificationJobKind) until ctx ends; the returned channel closes
// once the jobs in hand have finished. Other job kinds are left to the
// workers that register them.
func startNotifications(ctx context.Context, cfg *Config, store *sqlstore.Store, logger *slog.Logger) <-chan struct{} {
	sender := &notify.Sender{Store: store, Platform: store,
		Telegram: &notify.Telegram{BaseURL: cfg.TelegramAPIURL}, Slack: &notify.Slack{BaseURL: cfg.SlackAPIURL}}
	w := jobs.New(store, jobs.Options{Logger: logger})
	w.Handle(roster.NotificationJobKind, sender.Handle)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx); err != nil && ctx.Err() == nil {
			logger.Error("notification worker stopped", "err", err)
		}
	}()
	return done
}
