package main

import (
	"context"
	"log/slog"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/jobs"
	"github.com/roster-app/roster/notify"
	"github.com/roster-app/roster/outbox"
	"github.com/roster-app/roster/sqlstore"
)

// startNotifications runs a jobs worker delivering event notifications
// (roster.NotificationJobKind) until ctx ends — a worker of the same jobs
// table as e-mail, claiming only its own kind; the returned channel closes
// once the jobs in hand have finished. Other job kinds are left to the
// workers that register them.
//
// E-mail notifications go to the outbox box, like every other e-mail: the
// mail worker (woken by wakeMail) sends them through SMTP, or keeps them
// held and logged when ROSTER_SMTP_URL is not set.
func startNotifications(ctx context.Context, cfg *Config, store *sqlstore.Store, key []byte, box *outbox.Box,
	baseURL string, wakeMail func(), logger *slog.Logger) (<-chan struct{}, error) {
	sender := &notify.Sender{Store: store, Platform: store, Key: key,
		Telegram: &notify.Telegram{BaseURL: cfg.TelegramAPIURL}, Slack: &notify.Slack{BaseURL: cfg.SlackAPIURL},
		Mail: &notify.Mail{Box: box, Jobs: store, Users: store, BaseURL: baseURL, Wake: wakeMail}}
	w := jobs.New(store, jobs.Options{Logger: logger, ShutdownGrace: cfg.ShutdownTimeout})
	w.Handle(roster.NotificationJobKind, sender.Handle)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx); err != nil && ctx.Err() == nil {
			logger.Error("notification worker stopped", "err", err)
		}
	}()
	return done, nil
}
