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
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/observe"
	"github.com/roster-app/roster/secure"
	"github.com/roster-app/roster/sqlstore"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

const usage = `Roster — user and access management.

Usage:
  roster serve   [--addr 127.0.0.1:8080] [--data ./roster-data] [--database-url postgres://…] [--webhooks-allow-private]
  roster migrate [--data DIR] [--database-url URL]
  roster admin create --email E --password P [--first-name F] [--last-name L]
  roster backup  --data DIR --out FILE
  roster restore --data DIR --from FILE
  roster copy    --data DIR --to postgres://…
  roster dev load [--users 1000000] [--companies 1000] [--big 100000] [--bench-password P]
  roster bench   --url URL --password P [--kinds get:64,search:8,…] [--duration 10s] [--pid PID]
  roster version

Every flag has a ROSTER_* environment variable; "roster COMMAND --help"
lists a command's flags; see README.md.
`

// errHelp is returned once a --help has been answered: the command did
// what was asked and the process exits 0.
var errHelp = errors.New("help shown")

// usageError is a wrong command line or configuration value: the process
// exits 2 without doing anything.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil || errors.Is(err, errHelp):
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, "roster:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "roster:", err)
		os.Exit(1)
	}
}

// run dispatches a subcommand; it is main without the process around it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{errors.New("no command given")}
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, stdout, stderr)
	case "admin":
		if len(rest) > 0 && rest[0] == "create" {
			return runAdminCreate(ctx, rest[1:], stdout, stderr)
		}
		return subcommandUsage(rest, stdout, "roster admin create --email E --password P [--first-name F] [--last-name L]")
	case "backup":
		return runBackup(ctx, rest, stdout, stderr)
	case "restore":
		return runRestore(ctx, rest, stdout, stderr)
	case "copy":
		return runCopy(ctx, rest, stdout, stderr)
	case "dev":
		if len(rest) > 0 && rest[0] == "load" {
			return runDevLoad(ctx, rest[1:], stdout, stderr)
		}
		return subcommandUsage(rest, stdout, "roster dev load [--users N] [--companies N] [--big N] [--bench-password P]")
	case "bench":
		return runBench(ctx, rest, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "roster", versionString())
		return nil
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageError{fmt.Errorf("unknown command %q", cmd)}
	}
}

// subcommandUsage answers "roster admin" or "roster admin --help": the
// usage line, on stdout and exit 0 when help was asked for.
func subcommandUsage(rest []string, stdout io.Writer, line string) error {
	if len(rest) == 1 && isHelp(rest[0]) {
		fmt.Fprintln(stdout, "Usage:\n  "+line)
		return errHelp
	}
	return usageError{errors.New("usage: " + line)}
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
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
	// Lines logged with a request's context carry its request_id.
	if cfg.LogJSON {
		return slog.New(observe.LogHandler(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(observe.LogHandler(slog.NewTextHandler(w, opts)))
}

// newFlagSet returns the flag set of a subcommand: it prints nothing by
// itself (parse reports errors and answers --help).
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses a subcommand's flags and validates the configuration. A
// --help prints the command's flags to stdout and returns errHelp; a wrong
// flag or value returns a usageError naming it.
func parse(fs *flag.FlagSet, synopsis string, args []string, cfg *Config, stdout io.Writer) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, "Usage: roster %s [flags]\n\n%s\n\nFlags:\n", fs.Name(), synopsis)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			fs.SetOutput(io.Discard)
			return errHelp
		}
		return usageError{fmt.Errorf("%v (see roster %s --help)", err, fs.Name())}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q (see roster %s --help)", fs.Arg(0), fs.Name())}
	}
	if err := cfg.validate(); err != nil {
		return usageError{err}
	}
	return nil
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
		DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir, SQLiteSynchronous: cfg.SQLiteSynchronous, Clock: time.Now, Logger: logger,
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
	fs := newFlagSet("migrate")
	cfg.registerCommon(fs)
	if err := parse(fs, "Applies pending database migrations and exits.", args, &cfg, stdout); err != nil {
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
	fs := newFlagSet("admin create")
	cfg.registerCommon(fs)
	fs.StringVar(&email, "email", "", "e-mail of the Main administrator (required)")
	fs.StringVar(&password, "password", "", "password (or ROSTER_ADMIN_PASSWORD)")
	fs.StringVar(&first, "first-name", "Main", "first name")
	fs.StringVar(&last, "last-name", "Administrator", "last name")
	if err := parse(fs, "Creates the Main administrator.", args, &cfg, stdout); err != nil {
		return err
	}
	if password == "" {
		password = os.Getenv("ROSTER_ADMIN_PASSWORD")
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

func runDevLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg Config
	opts := sqlstore.LoadOptions{Seed: 1}
	fs := newFlagSet("dev load")
	cfg.registerCommon(fs)
	fs.IntVar(&opts.Users, "users", 1_000_000, "users to create")
	fs.IntVar(&opts.Companies, "companies", 1_000, "companies to spread them over")
	fs.IntVar(&opts.BigCompanyUsers, "big", 100_000, "users of the one big company")
	fs.Int64Var(&opts.Seed, "seed", 1, "random seed")
	benchPassword := fs.String("bench-password", "", "also create bench@bigcorp.example, administrator of the big company, with this password (for roster bench)")
	if err := parse(fs, "Fills a database with fake users for benchmarks.", args, &cfg, stdout); err != nil {
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
