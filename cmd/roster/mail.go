package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/roster-app/roster/jobs"
	"github.com/roster-app/roster/mail"
	"github.com/roster-app/roster/outbox"
	"github.com/roster-app/roster/sqlstore"
)

// masterSecretName is the installation secret used as master key when
// ROSTER_SECRET_KEY is unset (the web package uses the same name).
const masterSecretName = "master_key"

// masterKey returns ROSTER_SECRET_KEY, or a random key kept in the
// database so that a fresh installation works; the log says which.
func masterKey(ctx context.Context, cfg *Config, store *sqlstore.Store, logger *slog.Logger) ([]byte, error) {
	if cfg.SecretKey != "" {
		return []byte(cfg.SecretKey), nil
	}
	key, err := store.Secret(ctx, masterSecretName)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	logger.Warn("ROSTER_SECRET_KEY is not set: TOTP secrets and queued e-mail are encrypted with a key kept in the database; set ROSTER_SECRET_KEY (or _FILE) to keep it apart")
	return key, nil
}

// startMail runs the worker delivering e-mail from the outbox until ctx
// ends: through SMTP when configured, else kept (held) and logged with its
// links. The returned channel closes once the jobs in hand have finished.
func startMail(ctx context.Context, cfg *Config, store *sqlstore.Store, box *outbox.Box, logger *slog.Logger) (*jobs.Worker, <-chan struct{}, error) {
	var sender mail.Sender = outbox.LogSender{Logger: logger}
	if cfg.SMTPURL != "" {
		s, err := mail.NewSMTP(cfg.SMTPURL, cfg.SMTPFrom)
		if err != nil {
			return nil, nil, err
		}
		logger.Info("e-mail goes out through SMTP", "server", s.String())
		sender = s
	} else {
		logger.Warn("ROSTER_SMTP_URL is not set: e-mail is kept in the outbox (GET /api/v1/outbox) and written to the log")
	}
	w := jobs.New(store, jobs.Options{Logger: logger, ShutdownGrace: cfg.ShutdownTimeout})
	w.Handle(outbox.Kind, box.Handler(sender))
	done := make(chan struct{})
	go func() {
		defer close(done)
		go purgeJobs(ctx, store, logger)
		if err := w.Run(ctx); err != nil && ctx.Err() == nil {
			logger.Error("mail worker stopped", "err", err)
		}
	}()
	return w, done, nil
}

// jobRetention is how long finished jobs (sent, dead or held mail and
// notifications) stay readable before they are deleted.
const jobRetention = 30 * 24 * time.Hour

// purgeJobs deletes old finished jobs and expired reset links every hour
// until ctx ends.
func purgeJobs(ctx context.Context, store *sqlstore.Store, logger *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := store.PurgeJobs(ctx, time.Now().Add(-jobRetention)); err != nil && ctx.Err() == nil {
			logger.Error("purge jobs", "err", err)
		} else if n > 0 {
			logger.Info("purged finished jobs", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
