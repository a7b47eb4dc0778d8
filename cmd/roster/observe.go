package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/observe"
	"github.com/roster-app/roster/sqlstore"
)

// observedStore is the store with the sign-in outcomes counted on their
// way to the database: every password and second-factor check of the API,
// the panel and re-authentication ends in RecordLoginFailure or
// ClearLoginFailures, so the counters need no code in the doors.
type observedStore struct {
	*sqlstore.Store
	m *observe.Metrics
}

// RecordLoginFailure counts the refusal by its reason, a wrong
// second-factor code as a 2FA failure, and a lock it caused.
func (s observedStore) RecordLoginFailure(ctx context.Context, f roster.FailedLogin) (roster.LoginFailure, error) {
	res, err := s.Store.RecordLoginFailure(ctx, f)
	if err != nil {
		return res, err
	}
	s.m.SignIn(f.Reason)
	if f.Reason == "wrong_code" {
		s.m.TwoFactorFailure()
	}
	if res.LockedUntil != nil {
		s.m.Lockout(res.Scope)
	}
	return res, nil
}

// ClearLoginFailures follows a check whose every factor passed.
func (s observedStore) ClearLoginFailures(ctx context.Context, key []byte, userID int64, address string) error {
	if err := s.Store.ClearLoginFailures(ctx, key, userID, address); err != nil {
		return err
	}
	s.m.SignIn("success")
	return nil
}

// newMetrics builds the process's metrics over store.
func newMetrics(store *sqlstore.Store, logger *slog.Logger) *observe.Metrics {
	m := observe.NewMetrics()
	m.WatchJobs(store.JobStats, logger)
	m.WatchPools(store.Pools)
	return m
}

// startDebug serves /metrics and pprof on cfg.DebugAddr until ctx ends;
// it returns nil without it.
func startDebug(ctx context.Context, cfg *Config, m *observe.Metrics, stdout io.Writer, logger *slog.Logger) (func(), error) {
	if cfg.DebugAddr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.DebugAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on --debug-addr %s: %w", cfg.DebugAddr, err)
	}
	srv := &http.Server{Handler: observe.DebugHandler(m), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("debug listener failed", "err", err)
		}
	}()
	fmt.Fprintf(stdout, "Metrics on http://%s/metrics, profiles on http://%s/debug/pprof/\n", ln.Addr(), ln.Addr())
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	}, nil
}
