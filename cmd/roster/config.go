package main

import (
	"errors"
	"flag"
	"fmt"
	"github.com/roster-app/roster/sqlstore"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/roster-app/roster/mail"
)

// Config is the whole configuration of a Roster process, filled from flags
// and ROSTER_* environment variables (flags win) and validated at start.
// Every value is parsed strictly: a value outside its documented spellings
// stops the command with a message naming the flag or variable, never a
// silent default.
type Config struct {
	Addr        string
	DataDir     string
	DatabaseURL string
	// SQLiteSynchronous is sqlstore.SQLiteSyncFull or SQLiteSyncNormal.
	SQLiteSynchronous string
	BaseURL           string
	TrustedProxies    []netip.Prefix
	Migrate           bool
	LogLevel          slog.Level
	LogJSON           bool
	HashConcurrent    int
	// ShutdownTimeout bounds a graceful shutdown: in-flight requests and
	// jobs in hand get this long to finish after SIGTERM or SIGINT.
	ShutdownTimeout time.Duration
	// TelegramAPIURL and SlackAPIURL are the notification APIs' base URLs.
	TelegramAPIURL string
	SlackAPIURL    string
	// SMTPURL and SMTPFrom configure outgoing e-mail; without SMTPURL
	// messages stay in the outbox (held) and are written to the log.
	SMTPURL  string
	SMTPFrom string
	// SecretKey is the master key (at least 32 bytes) from which the
	// TOTP and outbox encryption keys are derived; empty means one kept
	// in the database.
	SecretKey string
	// WebhooksAllowPrivate lets webhooks reach private and loopback
	// addresses (--webhooks-allow-private).
	WebhooksAllowPrivate bool
	// DebugAddr is where /metrics and pprof are served; empty turns the
	// debug listener off. Only a loopback address is accepted unless
	// DebugAddrPublic says otherwise.
	DebugAddr       string
	DebugAddrPublic bool

	settings []*setting
}

// setting is one configuration value: its flag, its ROSTER_* variable, a
// default, and the parser that checks the text and stores the value.
type setting struct {
	flag   string // without dashes; "" for a variable without a flag
	env    string // without the ROSTER_ prefix; "" for a flag without a variable
	def    string
	usage  string
	isBool bool
	// secret values are never repeated in error messages.
	secret bool
	parse  func(string) error

	flagValue *string // the flag's text, when it was given
}

// add registers a setting: its flag on fs, and its variable for resolve.
func (c *Config) add(fs *flag.FlagSet, st setting) {
	s := &st
	c.settings = append(c.settings, s)
	if s.flag == "" {
		return
	}
	usage := s.usage
	if s.env != "" {
		usage += " (ROSTER_" + s.env + ")"
	}
	if s.def != "" {
		usage += " (default " + s.def + ")"
	}
	// The text is only recorded here and parsed in resolve, so that flag
	// and variable errors read the same and secrets are not echoed.
	record := func(v string) error { s.flagValue = &v; return nil }
	if s.isBool {
		fs.BoolFunc(s.flag, usage, record)
	} else {
		fs.Func(s.flag, usage, record)
	}
}

// resolve parses every registered setting: the variable when it is set
// (always checked, even when a flag overrides it), then the flag when it
// was given, else the default.
func (c *Config) resolve() error {
	for _, s := range c.settings {
		fromEnv := false
		if s.env != "" {
			v, source, ok, err := lookupEnv(s.env)
			if err != nil {
				return err
			}
			if ok {
				if err := s.parse(v); err != nil {
					return settingError(source, v, s.secret, err)
				}
				fromEnv = true
			}
		}
		switch {
		case s.flagValue != nil:
			if err := s.parse(*s.flagValue); err != nil {
				return settingError("--"+s.flag, *s.flagValue, s.secret, err)
			}
		case !fromEnv:
			if err := s.parse(s.def); err != nil {
				return fmt.Errorf("default of %s: %w", s.name(), err)
			}
		}
	}
	return nil
}

func (s *setting) name() string {
	if s.flag != "" {
		return "--" + s.flag
	}
	return "ROSTER_" + s.env
}

func settingError(source, value string, secret bool, err error) error {
	if secret {
		return fmt.Errorf("%s: %v", source, err)
	}
	return fmt.Errorf("%s=%q: %v", source, value, err)
}

// lookupEnv returns ROSTER_<name>, or the contents of the file named by
// ROSTER_<name>_FILE (for secrets mounted as files), and which variable
// it came from. Both set, or a file that cannot be read, is an error.
func lookupEnv(name string) (value, source string, ok bool, err error) {
	key, fileKey := "ROSTER_"+name, "ROSTER_"+name+"_FILE"
	v, ok := os.LookupEnv(key)
	path, fileOK := os.LookupEnv(fileKey)
	switch {
	case ok && fileOK:
		return "", "", false, fmt.Errorf("%s and %s are both set: set one", key, fileKey)
	case ok:
		return v, key, true, nil
	case fileOK:
		b, err := os.ReadFile(path)
		if err != nil {
			return "", "", false, fmt.Errorf("%s: %v", fileKey, err)
		}
		return strings.TrimSpace(string(b)), fileKey, true, nil
	}
	return "", "", false, nil
}

// Parsers of the documented spellings.

func boolValue(dst *bool) func(string) error {
	return func(s string) error {
		switch s {
		case "true":
			*dst = true
		case "false":
			*dst = false
		default:
			return errors.New("must be true or false")
		}
		return nil
	}
}

// logLevels are the accepted --log-level spellings.
var logLevels = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}

func levelValue(dst *slog.Level) func(string) error {
	return func(s string) error {
		l, ok := logLevels[s]
		if !ok {
			return errors.New("must be debug, info, warn or error")
		}
		*dst = l
		return nil
	}
}

func sqliteSyncValue(dst *string) func(string) error {
	return func(s string) error {
		if s != sqlstore.SQLiteSyncFull && s != sqlstore.SQLiteSyncNormal {
			return errors.New("must be full or normal")
		}
		*dst = s
		return nil
	}
}

func stringValue(dst *string) func(string) error {
	return func(s string) error { *dst = s; return nil }
}

func countValue(dst *int) func(string) error {
	return func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || strings.HasPrefix(s, "+") {
			return errors.New("must be a whole number, 0 or more")
		}
		*dst = n
		return nil
	}
}

func durationValue(dst *time.Duration) func(string) error {
	return func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return errors.New("must be a positive duration with a unit, such as 20s or 1m")
		}
		*dst = d
		return nil
	}
}

func addrValue(dst *string) func(string) error {
	return func(s string) error {
		_, port, err := net.SplitHostPort(s)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
			return errors.New("must be host:port, such as 127.0.0.1:8080, :8080 or [::1]:8080")
		}
		*dst = s
		return nil
	}
}

// httpURLValue accepts an http:// or https:// URL, or "" when optional.
func httpURLValue(dst *string, optional bool) func(string) error {
	return func(s string) error {
		if s == "" && optional {
			*dst = ""
			return nil
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("must be an http:// or https:// URL")
		}
		*dst = strings.TrimRight(s, "/")
		return nil
	}
}

func databaseURLValue(dst *string) func(string) error {
	return func(s string) error {
		if s != "" {
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
				return errors.New("must be a postgres:// URL, or empty for the embedded SQLite database")
			}
		}
		*dst = s
		return nil
	}
}

func proxiesValue(dst *[]netip.Prefix) func(string) error {
	return func(s string) error {
		p, err := parsePrefixes(s)
		if err != nil {
			return err
		}
		*dst = p
		return nil
	}
}

func smtpURLValue(dst *string) func(string) error {
	return func(s string) error {
		if s != "" {
			if _, err := mail.NewSMTP(s, "roster@example.invalid"); err != nil {
				return errors.New(strings.TrimPrefix(err.Error(), "mail: ") +
					" (accepted: smtp://[user:pass@]host[:port][?tls=mandatory|opportunistic|none] or smtps://…)")
			}
		}
		*dst = s
		return nil
	}
}

func emailValue(dst *string) func(string) error {
	return func(s string) error {
		if s != "" {
			if a, err := netmail.ParseAddress(s); err != nil || a.Address == "" {
				return errors.New("must be an e-mail address, such as Roster <roster@example.com>")
			}
		}
		*dst = s
		return nil
	}
}

func secretKeyValue(dst *string) func(string) error {
	return func(s string) error {
		if s != "" && len(s) < 32 {
			return errors.New("must be at least 32 bytes (or unset: a key kept in the database)")
		}
		*dst = s
		return nil
	}
}

// registerCommon adds the settings every subcommand touching the database
// shares.
func (c *Config) registerCommon(fs *flag.FlagSet) {
	c.add(fs, setting{flag: "data", env: "DATA_DIR", def: "./roster-data", parse: stringValue(&c.DataDir),
		usage: "folder of the embedded SQLite database"})
	c.add(fs, setting{flag: "sqlite-synchronous", env: "SQLITE_SYNCHRONOUS", def: sqlstore.SQLiteSyncFull, parse: sqliteSyncValue(&c.SQLiteSynchronous),
		usage: "SQLite durability: full (every commit reaches the disk) or normal (about twice the write rate; the last commits may be lost on power loss, never on a crash of roster)"})
	c.add(fs, setting{flag: "database-url", env: "DATABASE_URL", parse: databaseURLValue(&c.DatabaseURL), secret: true,
		usage: "PostgreSQL URL, postgres://…; empty means embedded SQLite"})
	c.add(fs, setting{flag: "log-level", env: "LOG_LEVEL", def: "info", parse: levelValue(&c.LogLevel),
		usage: "debug, info, warn or error"})
	c.add(fs, setting{flag: "log-json", env: "LOG_JSON", def: "false", isBool: true, parse: boolValue(&c.LogJSON),
		usage: "log as JSON lines: true or false"})
}

// registerServe adds the settings of `roster serve`.
func (c *Config) registerServe(fs *flag.FlagSet) {
	c.add(fs, setting{flag: "addr", env: "ADDR", def: "127.0.0.1:8080", parse: addrValue(&c.Addr),
		usage: "address to listen on, host:port"})
	c.add(fs, setting{flag: "base-url", env: "BASE_URL", parse: httpURLValue(&c.BaseURL, true),
		usage: "public URL of this installation, used in links; default http://ADDR"})
	c.add(fs, setting{flag: "trusted-proxies", env: "TRUSTED_PROXIES", parse: proxiesValue(&c.TrustedProxies),
		usage: "comma-separated addresses or CIDR ranges whose X-Forwarded-For is trusted"})
	c.add(fs, setting{flag: "migrate", env: "MIGRATE", def: "true", isBool: true, parse: boolValue(&c.Migrate),
		usage: "apply pending migrations at start: true or false; with false an out-of-date schema stops the server"})
	c.add(fs, setting{flag: "hash-concurrency", env: "HASH_CONCURRENCY", def: "0", parse: countValue(&c.HashConcurrent),
		usage: "password hashes running at once; 0 means the CPU count"})
	c.add(fs, setting{flag: "shutdown-timeout", env: "SHUTDOWN_TIMEOUT", def: "20s", parse: durationValue(&c.ShutdownTimeout),
		usage: "how long in-flight requests and jobs in hand may take to finish after SIGTERM"})
	c.add(fs, setting{flag: "telegram-api-url", env: "TELEGRAM_API_URL", def: "https://api.telegram.org", parse: httpURLValue(&c.TelegramAPIURL, false),
		usage: "Telegram Bot API base URL"})
	c.add(fs, setting{flag: "slack-api-url", env: "SLACK_API_URL", def: "https://slack.com", parse: httpURLValue(&c.SlackAPIURL, false),
		usage: "Slack Web API base URL"})
	c.add(fs, setting{flag: "smtp-url", env: "SMTP_URL", parse: smtpURLValue(&c.SMTPURL), secret: true,
		usage: "SMTP server, smtp://user:pass@host:587 (STARTTLS) or smtps://…; empty keeps e-mail in the outbox"})
	c.add(fs, setting{flag: "smtp-from", env: "SMTP_FROM", parse: emailValue(&c.SMTPFrom),
		usage: "sender address of e-mail"})
	c.add(fs, setting{env: "SECRET_KEY", parse: secretKeyValue(&c.SecretKey), secret: true})
	c.add(fs, setting{flag: "webhooks-allow-private", env: "WEBHOOKS_ALLOW_PRIVATE", def: "false", isBool: true, parse: boolValue(&c.WebhooksAllowPrivate),
		usage: "let webhooks reach loopback, link-local, private and CGNAT addresses, for receivers on your own network: true or false"})
	c.add(fs, setting{flag: "debug-addr", env: "DEBUG_ADDR", parse: optionalAddrValue(&c.DebugAddr),
		usage: "address serving /metrics (Prometheus) and /debug/pprof/, host:port on loopback; empty turns it off"})
	c.add(fs, setting{flag: "debug-addr-public", env: "DEBUG_ADDR_PUBLIC", def: "false", isBool: true, parse: boolValue(&c.DebugAddrPublic),
		usage: "let --debug-addr listen on an address that is not loopback (profiles and metrics are not protected): true or false"})
}

func optionalAddrValue(dst *string) func(string) error {
	return func(s string) error {
		if s == "" {
			*dst = ""
			return nil
		}
		return addrValue(dst)(s)
	}
}

// loopbackAddr reports whether host:port can only be reached from this
// machine: a loopback address or "localhost" (not an empty host, which
// means every interface).
func loopbackAddr(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// parsePrefixes parses a comma-separated list of addresses and CIDR ranges.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if p, err := netip.ParsePrefix(part); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR range", part)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// validate parses the settings and checks the rules between them, after
// flags are parsed.
func (c *Config) validate() error {
	if err := c.resolve(); err != nil {
		return err
	}
	if c.SMTPURL != "" && c.SMTPFrom == "" {
		return errors.New("ROSTER_SMTP_FROM (--smtp-from) is required with ROSTER_SMTP_URL")
	}
	if c.DebugAddr != "" && !c.DebugAddrPublic && !loopbackAddr(c.DebugAddr) {
		return fmt.Errorf("ROSTER_DEBUG_ADDR (--debug-addr) %q is not a loopback address: profiles and metrics are unprotected, so it must be 127.0.0.1:PORT, [::1]:PORT or localhost:PORT, unless ROSTER_DEBUG_ADDR_PUBLIC=true (--debug-addr-public=true)", c.DebugAddr)
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		return errors.New("set a data folder (--data, ROSTER_DATA_DIR) or a database URL (--database-url, ROSTER_DATABASE_URL)")
	}
	return nil
}

// redactedDatabaseURL hides the password of a database URL for logs.
func (c *Config) redactedDatabaseURL() string {
	u, err := url.Parse(c.DatabaseURL)
	if err != nil {
		return "(invalid)"
	}
	return u.Redacted()
}
