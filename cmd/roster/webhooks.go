package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/jobs"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/webhook"
)

// strictBool is a boolean flag that accepts only "true" and "false": a
// typo in a security switch stops the server instead of meaning false.
type strictBool struct{ dst *bool }

func (b strictBool) String() string {
	if b.dst == nil {
		return "false"
	}
	return fmt.Sprint(*b.dst)
}

func (b strictBool) Set(s string) error {
	v, err := parseStrictBool(s)
	if err != nil {
		return err
	}
	*b.dst = v
	return nil
}

// IsBoolFlag lets the flag be given alone, meaning true.
func (b strictBool) IsBoolFlag() bool { return true }

func parseStrictBool(s string) (bool, error) {
	switch s {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%q is neither true nor false", s)
}

// registerWebhooks adds --webhooks-allow-private (ROSTER_WEBHOOKS_ALLOW_PRIVATE).
func (c *Config) registerWebhooks(fs *flag.FlagSet) {
	if s := env("WEBHOOKS_ALLOW_PRIVATE", ""); s != "" {
		v, err := parseStrictBool(s)
		if err != nil {
			c.webhooksErr = fmt.Errorf("ROSTER_WEBHOOKS_ALLOW_PRIVATE: %w", err)
		}
		c.WebhooksAllowPrivate = v
	}
	fs.Var(strictBool{&c.WebhooksAllowPrivate}, "webhooks-allow-private",
		"let webhooks reach loopback, link-local, private and CGNAT addresses, for receivers on your own network (ROSTER_WEBHOOKS_ALLOW_PRIVATE=true|false)")
}

// startWebhooks runs a jobs worker delivering webhooks
// (roster.WebhookJobKind) until ctx ends, claiming only its own kind; the
// returned channel closes once the jobs in hand have finished.
func startWebhooks(ctx context.Context, cfg *Config, store *sqlstore.Store, key []byte, logger *slog.Logger) <-chan struct{} {
	if cfg.WebhooksAllowPrivate {
		logger.Warn("--webhooks-allow-private: webhooks may reach loopback and private addresses of this network")
	}
	sender := &webhook.Sender{Store: store, Key: webhook.Key(key), AllowPrivate: cfg.WebhooksAllowPrivate,
		Client: webhook.NewClient(cfg.WebhooksAllowPrivate)}
	w := jobs.New(store, jobs.Options{Logger: logger})
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
