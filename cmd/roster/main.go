// Command roster runs Roster: the administrator panel, the REST API and the
// background work behind them, and the commands that set it up.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
	"github.com/roster-app/roster/outbox"
	"github.com/roster-app/roster/panel"
	"github.com/roster-app/roster/secure"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/web"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

const usage = `Roster — user and access management.

Usage:
  roster serve   [--addr 127.0.0.1:8080] [--data ./roster-data] [--database-url postgres://…] [--webhooks-allow-private]
  roster migrate [--data DIR] [--database-url URL]
  roster admin create --email E --password P [--first-name F] [--last-name L]
  roster dev load [--users 1000000] [--companies 1000] [--big 100000] [--bench-password P]
  roster bench   --url URL --password P [--kinds get:64,search:8,…] [--duration 10s] [--pid PID]
  roster version

Every flag has a ROSTER_* environment variable; see README.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "roster:", err)
		os.Exit(1)
	}
}

// run dispatches a subcommand; it is main without the process around it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, stdout, stderr)
	case "admin":
		if len(rest) == 0 || rest[0] != "create" {
			return errors.New(`usage: roster admin create --email E --password P`)
		}
		return runAdminCreate(ctx, rest[1:], stdout, stderr)
	case "dev":
		if len(rest) == 0 || rest[0] != "load" {
			return errors.New(`usage: roster dev load [--users N] [--companies N] [--big N]`)
		}
		return runDevLoad(ctx, rest[1:], stdout, stderr)
	case "bench":
		return runBench(ctx, rest, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "roster", versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

func versionString() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", ""
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if len(rev) > 12 {
			return "dev-" + rev[:12] + dirty
		}
	}
	return "dev"
}

func newLogger(cfg *Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// parse parses a subcommand's flags and validates the configuration.
func parse(fs *flag.FlagSet, args []string, cfg *Config) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return cfg.validate()
}

func openStore(ctx context.Context, cfg *Config, logger *slog.Logger) (*sqlstore.Store, error) {
	if cfg.DatabaseURL != "" {
		logger.Info("opening PostgreSQL", "url", cfg.redactedDatabaseURL())
	} else {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data folder: %w", err)
		}
		logger.Info("opening SQLite", "data", cfg.DataDir)
	}
	return sqlstore.Open(ctx, sqlstore.Config{
		DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir, Clock: time.Now, Logger: logger,
	})
}

// openMigrated opens the store of a one-shot command and brings its schema
// up to date.
func openMigrated(ctx context.Context, cfg *Config, stderr io.Writer) (*sqlstore.Store, error) {
	store, err := openStore(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return nil, err
	}
	if err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, err
	}
	return store, nil
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg Config
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.registerCommon(fs)
	if err := parse(fs, args, &cfg); err != nil {
		return err
	}
	store, err := openMigrated(ctx, &cfg, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Fprintln(stdout, "The database schema is up to date.")
	return nil
}

func runAdminCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg Config
	var email, password, first, last string
	fs := flag.NewFlagSet("admin create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.registerCommon(fs)
	fs.StringVar(&email, "email", "", "e-mail of the Main administrator (required)")
	fs.StringVar(&password, "password", os.Getenv("ROSTER_ADMIN_PASSWORD"), "password (or ROSTER_ADMIN_PASSWORD)")
	fs.StringVar(&first, "first-name", "Main", "first name")
	fs.StringVar(&last, "last-name", "Administrator", "last name")
	if err := parse(fs, args, &cfg); err != nil {
		return err
	}
	u := &roster.User{
		CompanyID: roster.PlatformCompanyID, AuthMethod: roster.AuthEmail,
		Email: roster.NormalizeEmail(email), FirstName: first, LastName: last,
		Status: roster.StatusActive, NameSetBySelf: true,
	}
	var v roster.Validation
	roster.ValidateEmail(&v, "email", u.Email)
	roster.ValidatePassword(&v, "password", password, u, roster.DefaultPasswordMinLength)
	if err := v.Err(); err != nil {
		return fieldErrors(err)
	}
	store, err := openMigrated(ctx, &cfg, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	if u.PasswordHash, err = secure.NewHasher(secure.OWASP, 0).Hash(ctx, password); err != nil {
		return err
	}
	if err := store.CreateMainAdmin(ctx, u); err != nil {
		if roster.ErrorCode(err) == roster.ECONFLICT {
			return errors.New(roster.ErrorMessage(err))
		}
		return err
	}
	fmt.Fprintf(stdout, "Main administrator %s created (id %d).\n", u.Email, u.ID)
	return nil
}

// fieldErrors turns a validation error into one readable command-line error.
func fieldErrors(err error) error {
	var e *roster.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	msg := ""
	for _, f := range e.Fields {
		msg += fmt.Sprintf("\n  --%s: %s", f.Field, f.Message)
	}
	return errors.New("invalid input:" + msg)
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.registerCommon(fs)
	cfg.registerServe(fs)
	if err := parse(fs, args, &cfg); err != nil {
		return err
	}
	logger := newLogger(&cfg, stderr)
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
		return errors.New("the database schema is out of date: run `roster migrate` or start with --migrate")
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
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
	// The mail worker stops with the server, or as soon as serving fails,
	// after finishing the jobs in hand.
	mailCtx, stopMail := context.WithCancel(ctx)
	mailWorker, mailDone, err := startMail(mailCtx, &cfg, store, box, logger)
	if err != nil {
		stopMail()
		return err
	}
	defer func() { stopMail(); <-mailDone }()
	// One set of workflows behind the API and the panel.
	workflows := app.New(app.Deps{Companies: store, Users: store, Roles: store, Platform: store, Hasher: hasher,
		Clock: time.Now, Outbox: box, SecretKey: key, BaseURL: baseURL, NotifyJobs: mailWorker.Notify,
		WebhooksAllowPrivate: cfg.WebhooksAllowPrivate})
	srv := web.NewServer(web.Deps{
		Companies: store, Users: store, Roles: store, Sessions: store, Events: store, Platform: store,
		Hasher: hasher, Clock: time.Now, Logger: logger,
		TrustedProxies: cfg.TrustedProxies, Ping: store.Ping,
		Outbox: box, SecretKey: key, BaseURL: baseURL, NotifyJobs: mailWorker.Notify, App: workflows,
	})
	pnl := panel.New(panel.Deps{
		Companies: store, Users: store, Roles: store, Sessions: store, Events: store,
		Hasher: hasher, Clock: time.Now, Logger: logger, TrustedProxies: cfg.TrustedProxies,
		Secure: strings.HasPrefix(baseURL, "https://"),
		// The same master key and outbox as the API, so either reads the
		// TOTP secrets and e-mail the other wrote.
		Outbox: box, SecretKey: key, BaseURL: baseURL, NotifyJobs: mailWorker.Notify, App: workflows,
	})
	httpServer := &http.Server{
		Handler:           mount(srv.Handler(), pnl.Handler()),
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

	go sweepSessions(ctx, store, logger)
	notifyDone, err := startNotifications(ctx, &cfg, store, key, box, baseURL, mailWorker.Notify, logger)
	if err != nil {
		return err
	}
	defer func() { <-notifyDone }()
	webhooksDone := startWebhooks(ctx, &cfg, store, key, logger)
	defer func() { <-webhooksDone }()
	errc := make(chan error, 1)
	go func() { errc <- httpServer.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return httpServer.Shutdown(shutdownCtx)
}

// mount serves the API (everything under /api/, the health check and the
// bootstrap page) beside the panel, which has every other path.
func mount(api, panel http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.Handle("/healthz", api)
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

func runDevLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg Config
	opts := sqlstore.LoadOptions{Seed: 1}
	fs := flag.NewFlagSet("dev load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.registerCommon(fs)
	fs.IntVar(&opts.Users, "users", 1_000_000, "users to create")
	fs.IntVar(&opts.Companies, "companies", 1_000, "companies to spread them over")
	fs.IntVar(&opts.BigCompanyUsers, "big", 100_000, "users of the one big company")
	fs.Int64Var(&opts.Seed, "seed", 1, "random seed")
	benchPassword := fs.String("bench-password", "", "also create bench@bigcorp.example, administrator of the big company, with this password (for roster bench)")
	if err := parse(fs, args, &cfg); err != nil {
		return err
	}
	store, err := openMigrated(ctx, &cfg, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	start := time.Now()
	if err := sqlstore.LoadFake(ctx, store, opts); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Loaded %d users in %d companies in %s.\n", opts.Users, opts.Companies, time.Since(start).Round(time.Millisecond))
	if *benchPassword != "" {
		if err := createBenchAdmin(ctx, store, *benchPassword); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Created %s, administrator of %s, for roster bench.\n", benchAdminEmail, sqlstore.BigCompanyName)
	}
	return nil
}

// benchAdminEmail is the account "dev load --bench-password" creates.
const benchAdminEmail = "bench@bigcorp.example"

// createBenchAdmin adds an active Company administrator with a permanent
// password to the big company of a fake load.
func createBenchAdmin(ctx context.Context, store *sqlstore.Store, password string) error {
	var v roster.Validation
	roster.ValidatePassword(&v, "bench-password", password, &roster.User{Email: benchAdminEmail}, 0)
	if err := v.Err(); err != nil {
		return fmt.Errorf("--bench-password: %s", v.Fields[0].Message)
	}
	var big int64
	if err := store.DB().QueryRowContext(ctx, `SELECT id FROM companies WHERE name = $1 ORDER BY id LIMIT 1`, sqlstore.BigCompanyName).Scan(&big); err != nil {
		return fmt.Errorf("find %s: %w", sqlstore.BigCompanyName, err)
	}
	role, err := store.RoleByKey(ctx, big, roster.RoleCompanyAdmin)
	if err != nil {
		return err
	}
	hash, err := secure.NewHasher(secure.OWASP, 0).Hash(ctx, password)
	if err != nil {
		return err
	}
	u := &roster.User{CompanyID: big, AuthMethod: roster.AuthEmail, Email: benchAdminEmail, FirstName: "Bench",
		LastName: "Admin", Status: roster.StatusActive, NameSetBySelf: true, PasswordHash: hash}
	return store.CreateUser(ctx, u, []int64{role.ID}, nil, time.Time{})
}
