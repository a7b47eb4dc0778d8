package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Config is the whole configuration of a Roster process, filled from flags
// and ROSTER_* environment variables (flags win) and validated at start.
type Config struct {
	Addr           string
	DataDir        string
	DatabaseURL    string
	BaseURL        string
	TrustedProxies []netip.Prefix
	Migrate        bool
	LogLevel       slog.Level
	LogJSON        bool
	HashConcurrent int
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

	parseProxies func() error
	webhooksErr  error
}

// env returns ROSTER_<name>, or the contents of the file named by
// ROSTER_<name>_FILE (for secrets mounted as files), or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv("ROSTER_" + name); ok {
		return v
	}
	if path := os.Getenv("ROSTER_" + name + "_FILE"); path != "" {
		if b, err := os.ReadFile(path); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return def
}

func envBool(name string, def bool) bool {
	v, err := strconv.ParseBool(env(name, strconv.FormatBool(def)))
	if err != nil {
		return def
	}
	return v
}

// registerCommon adds the flags every subcommand touching the database shares.
func (c *Config) registerCommon(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data", env("DATA_DIR", "./roster-data"), "folder of the embedded SQLite database (ROSTER_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", env("DATABASE_URL", ""), "PostgreSQL URL, postgres://…; empty means embedded SQLite (ROSTER_DATABASE_URL)")
	level := env("LOG_LEVEL", "info")
	fs.Func("log-level", "debug, info, warn or error (ROSTER_LOG_LEVEL)", func(s string) error { level = s; return nil })
	fs.BoolVar(&c.LogJSON, "log-json", envBool("LOG_JSON", false), "log as JSON lines (ROSTER_LOG_JSON)")
	c.LogLevel = parseLevel(level)
}

func parseLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}

// registerServe adds the flags of `roster serve`.
func (c *Config) registerServe(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", env("ADDR", "127.0.0.1:8080"), "address to listen on (ROSTER_ADDR)")
	fs.StringVar(&c.BaseURL, "base-url", env("BASE_URL", ""), "public URL of this installation, used in links (ROSTER_BASE_URL); default http://ADDR")
	proxies := env("TRUSTED_PROXIES", "")
	fs.Func("trusted-proxies", "comma-separated addresses or CIDR ranges whose X-Forwarded-For is trusted (ROSTER_TRUSTED_PROXIES)", func(s string) error { proxies = s; return nil })
	fs.BoolVar(&c.Migrate, "migrate", envBool("MIGRATE", true), "apply pending migrations at start; when false an out-of-date schema stops the server (ROSTER_MIGRATE)")
	fs.IntVar(&c.HashConcurrent, "hash-concurrency", 0, "password hashes running at once; 0 means the CPU count")
	fs.StringVar(&c.TelegramAPIURL, "telegram-api-url", env("TELEGRAM_API_URL", "https://api.telegram.org"), "Telegram Bot API base URL (ROSTER_TELEGRAM_API_URL)")
	fs.StringVar(&c.SlackAPIURL, "slack-api-url", env("SLACK_API_URL", "https://slack.com"), "Slack Web API base URL (ROSTER_SLACK_API_URL)")
	fs.StringVar(&c.SMTPURL, "smtp-url", env("SMTP_URL", ""), "SMTP server, smtp://user:pass@host:587 (STARTTLS) or smtps://… (ROSTER_SMTP_URL); empty keeps e-mail in the outbox")
	fs.StringVar(&c.SMTPFrom, "smtp-from", env("SMTP_FROM", ""), "sender address of e-mail (ROSTER_SMTP_FROM)")
	c.SecretKey = env("SECRET_KEY", "")
	c.registerWebhooks(fs)
	c.parseProxies = func() error {
		var err error
		c.TrustedProxies, err = parsePrefixes(proxies)
		return err
	}
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
			return nil, fmt.Errorf("trusted proxy %q is neither an address nor a CIDR range", part)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// validate checks the configuration after flags are parsed.
func (c *Config) validate() error {
	if c.SecretKey != "" && len(c.SecretKey) < 32 {
		return errors.New("ROSTER_SECRET_KEY must be at least 32 bytes")
	}
	if c.SMTPURL != "" && c.SMTPFrom == "" {
		return errors.New("ROSTER_SMTP_FROM is required with ROSTER_SMTP_URL")
	}
	if c.webhooksErr != nil {
		return c.webhooksErr
	}
	if c.parseProxies != nil {
		if err := c.parseProxies(); err != nil {
			return err
		}
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return errors.New("ROSTER_DATABASE_URL must be a postgres:// URL")
		}
	} else if c.DataDir == "" {
		return errors.New("set a data folder (--data) or a database URL")
	}
	if c.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			return fmt.Errorf("--addr %q: %v", c.Addr, err)
		}
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--base-url %q must be an http:// or https:// URL", c.BaseURL)
		}
		c.BaseURL = strings.TrimRight(c.BaseURL, "/")
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
