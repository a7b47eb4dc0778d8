package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
)

// readySchemaTTL is how long /readyz trusts its last schema check: load
// balancers ask every few seconds, and the schema changes only when a
// migration runs.
const readySchemaTTL = 5 * time.Second

// readyPingTimeout bounds the database ping of one /readyz: a database
// that does not answer in time is unreachable.
const readyPingTimeout = 2 * time.Second

// readiness answers /readyz: the database answers a ping (on every call)
// and every migration this binary knows is applied (checked at most every
// schemaTTL). Changes between ready and not ready are logged once each.
type readiness struct {
	store     *sqlstore.Store
	logger    *slog.Logger
	schemaTTL time.Duration

	mu        sync.Mutex
	checkedAt time.Time // of the last schema check; zero forces one
	schemaOK  bool
	notReady  string // the reason last logged, "" while ready
}

// check returns nil when the instance is ready, else an error whose
// roster.ErrorMessage says why.
func (r *readiness) check(ctx context.Context) error {
	err := r.probe(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	switch reason := roster.ErrorMessage(err); {
	case err == nil && r.notReady != "":
		r.logger.Info("ready again")
	case err != nil && reason != r.notReady:
		r.logger.Warn("not ready", "reason", reason, "err", err)
	}
	r.notReady = roster.ErrorMessage(err)
	return err
}

func (r *readiness) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyPingTimeout)
	defer cancel()
	if err := r.store.PingRead(ctx); err != nil {
		r.mu.Lock()
		r.checkedAt = time.Time{} // look at the schema again once it answers
		r.mu.Unlock()
		return notReady("The database is unreachable.", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.checkedAt.IsZero() || time.Since(r.checkedAt) >= r.schemaTTL {
		ok, err := r.store.SchemaUpToDate(ctx)
		if err != nil {
			return notReady("The database schema cannot be read.", err)
		}
		r.schemaOK, r.checkedAt = ok, time.Now()
	}
	if !r.schemaOK {
		return notReady("The database schema is out of date: run roster migrate.", nil)
	}
	return nil
}

// notReady is an error showing msg to the caller and keeping the cause
// for the log.
func notReady(msg string, cause error) error {
	e := roster.Errorf(roster.EINTERNAL, "%s", msg)
	if cause == nil {
		return e
	}
	return fmt.Errorf("%w: %w", e, cause)
}
