package main

import (
	"context"
	"log/slog"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/jobs"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/webhook"
)

// startWebhooks runs a jobs worker delivering webhooks
// (roster.WebhookJobKind) until ctx ends, claiming only its own kind; the
// returned channel closes once the jobs in hand have finished.
func startWebhooks(ctx context.Context, cfg *Config, store *sqlstore.Store, key []byte, logger *slog.Logger) <-chan struct{} {
	if cfg.WebhooksAllowPrivate {
		logger.Warn("--webhooks-allow-private: webhooks may reach loopback and private addresses of this network")
	}
	sender := &webhook.Sender{Store: store, Key: webhook.Key(key), AllowPrivate: cfg.WebhooksAllowPrivate,
		Client: webhook.NewClient(cfg.WebhooksAllowPrivate)}
	w := jobs.New(store, jobs.Options{Logger: logger, ShutdownGrace: cfg.ShutdownTimeout})
	w.Handle(roster.WebhookJobKind, sender.Handle)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx); err != nil && ctx.Err() == nil {
			logger.Error("webhook worker stopped", "err", err)
		}
	}()
	return done
}
