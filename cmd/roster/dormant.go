package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
	"github.com/roster-app/roster/jobs"
	"github.com/roster-app/roster/sqlstore"
)

// dormantEvery is how often the dormant-accounts job is enqueued.
const dormantEvery = time.Hour

// startDormant runs a jobs worker for the dormant-accounts job
// (roster.DormantJobKind) and, every hour, enqueues that job unless one is
// pending or running — so that with several instances it still runs once
// an hour, on whichever claims it. The returned channel closes once the
// job in hand has finished.
func startDormant(ctx context.Context, cfg *Config, store *sqlstore.Store, workflows *app.App, logger *slog.Logger) <-chan struct{} {
	w := jobs.New(store, jobs.Options{Logger: logger, ShutdownGrace: cfg.ShutdownTimeout, Concurrency: 1, Lease: 30 * time.Minute})
	w.Handle(roster.DormantJobKind, workflows.DormantJob)
	done := make(chan struct{})
	go func() {
		defer close(done)
		go func() {
			t := time.NewTicker(dormantEvery)
			defer t.Stop()
			for {
				if wrote, err := store.EnsureJob(ctx, app.NewDormantJob(time.Now())); err != nil && ctx.Err() == nil {
					logger.Error("enqueue the dormant-accounts job", "err", err)
				} else if wrote {
					w.Notify()
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
		if err := w.Run(ctx); err != nil && ctx.Err() == nil {
			logger.Error("dormant-accounts worker stopped", "err", err)
		}
	}()
	return done
}
