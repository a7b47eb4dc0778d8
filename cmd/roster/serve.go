package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
	"github.com/roster-app/roster/observe"
	"github.com/roster-app/roster/outbox"
	"github.com/roster-app/roster/panel"
	"github.com/roster-app/roster/secure"
	"github.com/roster-app/roster/web"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg Config
	fs := newFlagSet("serve")
	cfg.registerCommon(fs)
	cfg.registerServe(fs)
	if err := parse(fs, "Serves the administrator panel, the REST API and the background work.", args, &cfg, stdout); err != nil {
		return err
	}
	logger := newLogger(&cfg, stderr)
	// The address first: a port already taken stops the server before it
	// creates, opens or migrates a database.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	store, err := openStore(ctx, &cfg, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	if cfg.Migrate {
		if err := store.Migrate(ctx); err != nil {
			return err
		}
	} else if ok, err := store.SchemaUpToDate(ctx); err != nil {
		return err
	} else if !ok {
		return errors.New("the database schema is out of date: run `roster migrate` or start with --migrate=true")
	}

	baseURL := cfg.BaseURL
	if baseURL == "" {
		baseURL = "http://" + ln.Addr().String()
	}
	// One hasher for the API and the panel, so the bound on concurrent
	// argon2id hashes holds for the whole process.
	hasher := secure.NewHasher(secure.OWASP, cfg.HashConcurrent)
	key, err := masterKey(ctx, &cfg, store, logger)
	if err != nil {
		return err
	}
	box := outbox.New(key)
	// Background work runs until the shutdown stops it, after the signal:
	// not on the signal's context, so that it stops in order.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	mailWorker, mailDone, err := startMail(workCtx, &cfg, store, box, logger)
	if err != nil {
		return err
	}
	// On a return before serving, the workers stop before the database
	// closes (the deferred Close runs after this).
	workers := []<-chan struct{}{mailDone}
	defer func() {
		stopWork()
		for _, done := range workers {
			<-done
		}
	}()
	ready := &readiness{store: store, logger: logger, schemaTTL: readySchemaTTL}
	metrics := newMetrics(store, logger)
	stopDebug, err := startDebug(ctx, &cfg, metrics, stdout, logger)
	if err != nil {
		return err
	}
	defer stopDebug()
	// The doors see the store through the sign-in counters.
	obs := observedStore{Store: store, m: metrics}
	// One set of workflows behind the API and the panel.
	workflows := app.New(app.Deps{Companies: obs, Users: obs, Roles: obs, Platform: obs, Hasher: hasher,
		Clock: time.Now, Outbox: box, SecretKey: key, BaseURL: baseURL, NotifyJobs: mailWorker.Notify,
		WebhooksAllowPrivate: cfg.WebhooksAllowPrivate})
	srv := web.NewServer(web.Deps{
		Companies: obs, Users: obs, Roles: obs, Sessions: obs, Events: obs, Platform: obs,
		Hasher: hasher, Clock: time.Now, Logger: logger,
		TrustedProxies: cfg.TrustedProxies, Ready: ready.check,
		Outbox: box, SecretKey: key, BaseURL: baseURL, NotifyJobs: mailWorker.Notify, App: workflows,
	})
	pnl := panel.New(panel.Deps{
		Companies: obs, Users: obs, Roles: obs, Sessions: obs, Events: obs,
		Hasher: hasher, Clock: time.Now, Logger: logger, TrustedProxies: cfg.TrustedProxies,
		Secure: strings.HasPrefix(baseURL, "https://"),
		// The same master key and outbox as the API, so either reads the
		// TOTP secrets and e-mail the other wrote.
		Outbox: box, SecretKey: key, BaseURL: baseURL, NotifyJobs: mailWorker.Notify, App: workflows,
	})
	httpServer := &http.Server{
		// Every request, API or panel, gets its id, log line and metrics
		// here, once.
		Handler: observe.Middleware(observe.Options{Logger: logger, Metrics: metrics, TrustedProxies: cfg.TrustedProxies},
			mount(srv.Handler(), pnl.Handler())),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "Roster %s listening on %s\n", versionString(), baseURL)
	if has, err := store.HasMainAdmin(ctx); err != nil {
		return err
	} else if !has {
		link, err := web.NewBootstrapLink(ctx, store, baseURL)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "No Main administrator yet. Open this one-time link to create one:\n  %s\n", link)
	}

	go sweepSessions(workCtx, store, logger)
	notifyDone, err := startNotifications(workCtx, &cfg, store, key, box, baseURL, mailWorker.Notify, logger)
	if err != nil {
		return err
	}
	workers = append(workers, notifyDone, startWebhooks(workCtx, &cfg, store, key, logger),
		startDormant(workCtx, &cfg, store, workflows, logger))
	errc := make(chan error, 1)
	go func() { errc <- httpServer.Serve(ln) }()
	var serveErr error
	select {
	case serveErr = <-errc:
		logger.Error("serving failed", "err", serveErr)
	case <-ctx.Done():
	}

	// Graceful shutdown, bounded by --shutdown-timeout: stop accepting and
	// let in-flight requests finish; the job workers stop claiming and
	// finish the jobs in hand; then the database is closed.
	logger.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	stopWork()
	var errs []error
	if serveErr != nil {
		errs = append(errs, serveErr)
	}
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		httpServer.Close()
		errs = append(errs, fmt.Errorf("requests still running after --shutdown-timeout %s were cut off", cfg.ShutdownTimeout))
	}
	// A job past the bound has its context cancelled (jobs.Options.
	// ShutdownGrace) and is handed back to the queue; the margin lets the
	// worker record that.
	waitCtx, cancelWait := context.WithDeadline(context.Background(), deadlineOf(shutdownCtx).Add(5*time.Second))
	defer cancelWait()
	for _, done := range workers {
		select {
		case <-done:
		case <-waitCtx.Done():
			errs = append(errs, errors.New("a job worker did not stop in time; its jobs will be claimed again when their lease ends"))
		}
	}
	workers = nil
	if err := store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close database: %w", err))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	logger.Info("stopped")
	return nil
}

func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// mount serves the API (everything under /api/, the health checks and the
// bootstrap page) beside the panel, which has every other path.
func mount(api, panel http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.Handle("/healthz", api)
	mux.Handle("/readyz", api)
	mux.Handle("/setup", api)
	mux.Handle("/", panel)
	return mux
}

// sweepSessions deletes expired sessions every minute until ctx ends.
func sweepSessions(ctx context.Context, store roster.SessionService, logger *slog.Logger) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := store.DeleteExpiredSessions(ctx); err != nil {
				logger.Error("sweep sessions", "err", err)
			} else if n > 0 {
				logger.Debug("swept expired sessions", "count", n)
			}
		}
	}
}
