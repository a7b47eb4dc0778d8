package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cleanEnv removes every ROSTER_* variable a command reads (the test's own
// ROSTER_TEST_* stay), restored when the test ends.
func cleanEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "ROSTER_") && !strings.HasPrefix(k, "ROSTER_TEST_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

// TestBadConfigurationStops: every wrong flag or variable value stops the
// command before it does anything, with a message naming the flag or
// variable and the accepted values; secrets are not repeated.
func TestBadConfigurationStops(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(secretFile, []byte(strings.Repeat("k", 40)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want []string // parts of the message
	}{
		{"LogLevelFlag", nil, []string{"--log-level", "loud"}, []string{`--log-level="loud"`, "debug, info, warn or error"}},
		{"LogLevelEnv", map[string]string{"ROSTER_LOG_LEVEL": "loud"}, nil, []string{`ROSTER_LOG_LEVEL="loud"`, "debug, info, warn or error"}},
		{"LogLevelUpperCase", map[string]string{"ROSTER_LOG_LEVEL": "INFO"}, nil, []string{`ROSTER_LOG_LEVEL="INFO"`}},
		{"LogLevelEnvUnderGoodFlag", map[string]string{"ROSTER_LOG_LEVEL": "loud"}, []string{"--log-level", "debug"}, []string{`ROSTER_LOG_LEVEL="loud"`}},
		{"LogJSONEnv", map[string]string{"ROSTER_LOG_JSON": "yes"}, nil, []string{`ROSTER_LOG_JSON="yes"`, "true or false"}},
		{"LogJSONFlag", nil, []string{"--log-json=1"}, []string{`--log-json="1"`, "true or false"}},
		{"MigrateMaybe", map[string]string{"ROSTER_MIGRATE": "maybe"}, nil, []string{`ROSTER_MIGRATE="maybe"`, "true or false"}},
		{"MigrateNo", map[string]string{"ROSTER_MIGRATE": "no"}, nil, []string{`ROSTER_MIGRATE="no"`, "true or false"}},
		{"MigrateOff", map[string]string{"ROSTER_MIGRATE": "off"}, nil, []string{`ROSTER_MIGRATE="off"`}},
		{"MigrateZero", map[string]string{"ROSTER_MIGRATE": "0"}, nil, []string{`ROSTER_MIGRATE="0"`}},
		{"MigrateEmpty", map[string]string{"ROSTER_MIGRATE": ""}, nil, []string{`ROSTER_MIGRATE=""`}},
		{"MigrateFlag", nil, []string{"--migrate=maybe"}, []string{`--migrate="maybe"`, "true or false"}},
		{"ShutdownTimeoutNoUnit", map[string]string{"ROSTER_SHUTDOWN_TIMEOUT": "20"}, nil, []string{`ROSTER_SHUTDOWN_TIMEOUT="20"`, "20s"}},
		{"ShutdownTimeoutNegative", nil, []string{"--shutdown-timeout", "-1s"}, []string{`--shutdown-timeout="-1s"`}},
		{"HashConcurrency", map[string]string{"ROSTER_HASH_CONCURRENCY": "four"}, nil, []string{`ROSTER_HASH_CONCURRENCY="four"`, "whole number"}},
		{"HashConcurrencyNegative", nil, []string{"--hash-concurrency", "-1"}, []string{`--hash-concurrency="-1"`}},
		{"SQLiteSynchronous", map[string]string{"ROSTER_SQLITE_SYNCHRONOUS": "off"}, nil, []string{`ROSTER_SQLITE_SYNCHRONOUS="off"`, "full or normal"}},
		{"AddrWithoutPort", map[string]string{"ROSTER_ADDR": "8080"}, nil, []string{`ROSTER_ADDR="8080"`, "host:port"}},
		{"AddrBadPort", nil, []string{"--addr", "127.0.0.1:http"}, []string{`--addr="127.0.0.1:http"`}},
		{"BaseURL", map[string]string{"ROSTER_BASE_URL": "ftp://roster.example"}, nil, []string{"ROSTER_BASE_URL", "http:// or https://"}},
		{"TelegramURL", map[string]string{"ROSTER_TELEGRAM_API_URL": "api.telegram.org"}, nil, []string{"ROSTER_TELEGRAM_API_URL", "http:// or https://"}},
		{"SlackURL", nil, []string{"--slack-api-url", ""}, []string{"--slack-api-url"}},
		{"TrustedProxies", map[string]string{"ROSTER_TRUSTED_PROXIES": "10.0.0.0/33"}, nil, []string{"ROSTER_TRUSTED_PROXIES", "neither an address nor a CIDR range"}},
		{"DatabaseURL", map[string]string{"ROSTER_DATABASE_URL": "mysql://roster:hunter2@db/roster"}, nil, []string{"ROSTER_DATABASE_URL:", "postgres://"}},
		{"SMTPURL", map[string]string{"ROSTER_SMTP_URL": "http://mailer:hunter2@mail", "ROSTER_SMTP_FROM": "roster@example.com"}, nil, []string{"ROSTER_SMTP_URL:", "smtp://"}},
		{"SMTPTLS", map[string]string{"ROSTER_SMTP_URL": "smtp://mail?tls=sometimes", "ROSTER_SMTP_FROM": "roster@example.com"}, nil, []string{"ROSTER_SMTP_URL:", "mandatory, opportunistic or none"}},
		{"SMTPFromMissing", map[string]string{"ROSTER_SMTP_URL": "smtp://mail"}, nil, []string{"ROSTER_SMTP_FROM", "required"}},
		{"SMTPFrom", map[string]string{"ROSTER_SMTP_FROM": "not an address"}, nil, []string{`ROSTER_SMTP_FROM="not an address"`, "e-mail address"}},
		{"SecretKeyShort", map[string]string{"ROSTER_SECRET_KEY": "hunter2"}, nil, []string{"ROSTER_SECRET_KEY:", "at least 32 bytes"}},
		{"SecretKeyTwice", map[string]string{"ROSTER_SECRET_KEY": strings.Repeat("k", 40), "ROSTER_SECRET_KEY_FILE": secretFile}, nil, []string{"ROSTER_SECRET_KEY and ROSTER_SECRET_KEY_FILE are both set"}},
		{"SecretKeyFileMissing", map[string]string{"ROSTER_SECRET_KEY_FILE": "/nonexistent/key"}, nil, []string{"ROSTER_SECRET_KEY_FILE:", "no such file"}},
		{"DataDirEmpty", map[string]string{"ROSTER_DATA_DIR": ""}, nil, []string{"--data", "--database-url"}},
		{"DebugAddrAllInterfaces", map[string]string{"ROSTER_DEBUG_ADDR": ":6060"}, nil, []string{"ROSTER_DEBUG_ADDR", "not a loopback address", "ROSTER_DEBUG_ADDR_PUBLIC=true"}},
		{"DebugAddrPublicHost", nil, []string{"--debug-addr", "192.0.2.7:6060"}, []string{"not a loopback address"}},
		{"DebugAddrPublicHostname", nil, []string{"--debug-addr", "roster.example:6060"}, []string{"not a loopback address"}},
		{"DebugAddrNoPort", nil, []string{"--debug-addr", "127.0.0.1"}, []string{`--debug-addr="127.0.0.1"`, "host:port"}},
		{"DebugAddrPublicBad", map[string]string{"ROSTER_DEBUG_ADDR_PUBLIC": "yes"}, nil, []string{`ROSTER_DEBUG_ADDR_PUBLIC="yes"`, "true or false"}},
		{"UnknownFlag", nil, []string{"--migrates"}, []string{"-migrates", "roster serve --help"}},
		{"StrayArgument", nil, []string{"--migrate", "false"}, []string{`unexpected argument "false"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cleanEnv(t)
			data := filepath.Join(t.TempDir(), "data")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := append([]string{"serve", "--data", data, "--addr", "127.0.0.1:0"}, tc.args...)
			if _, ok := tc.env["ROSTER_DATA_DIR"]; ok {
				args = append([]string{"serve", "--addr", "127.0.0.1:0"}, tc.args...)
			}
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := run(ctx, args, &stdout, &stderr)
			if !errors.As(err, new(usageError)) {
				t.Fatalf("serve %q with %v: %v, want a usage error", args, tc.env, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("message %q repeats a secret", err)
			}
			if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the data folder was created (%v)", err)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout: %s", stdout.String())
			}
		})
	}
}

// TestDocumentedSpellings: the spellings the README documents are taken,
// from flags and from variables, flags winning.
func TestDocumentedSpellings(t *testing.T) {
	cleanEnv(t)
	secretFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(secretFile, []byte(strings.Repeat("k", 40)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ROSTER_MIGRATE", "false")
	t.Setenv("ROSTER_LOG_LEVEL", "warn")
	t.Setenv("ROSTER_LOG_JSON", "true")
	t.Setenv("ROSTER_SHUTDOWN_TIMEOUT", "1m30s")
	t.Setenv("ROSTER_HASH_CONCURRENCY", "3")
	t.Setenv("ROSTER_SQLITE_SYNCHRONOUS", "normal")
	t.Setenv("ROSTER_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1")
	t.Setenv("ROSTER_SECRET_KEY_FILE", secretFile)
	t.Setenv("ROSTER_BASE_URL", "https://roster.example/")
	t.Setenv("ROSTER_DEBUG_ADDR", "0.0.0.0:6060")
	t.Setenv("ROSTER_DEBUG_ADDR_PUBLIC", "true")
	var cfg Config
	fs := newFlagSet("serve")
	cfg.registerCommon(fs)
	cfg.registerServe(fs)
	err := parse(fs, "", []string{"--log-level", "debug", "--log-json=false", "--addr", ":9090", "--smtp-url", "smtps://u:p@mail:465",
		"--smtp-from", "Roster <roster@example.com>"}, &cfg, new(bytes.Buffer))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Migrate || cfg.LogLevel != slog.LevelDebug || cfg.LogJSON || cfg.ShutdownTimeout != 90*time.Second || cfg.HashConcurrent != 3 ||
		len(cfg.TrustedProxies) != 2 || cfg.SecretKey != strings.Repeat("k", 40) || cfg.BaseURL != "https://roster.example" ||
		cfg.Addr != ":9090" || cfg.DataDir != "./roster-data" || cfg.SMTPURL == "" || cfg.DebugAddr != "0.0.0.0:6060" || !cfg.DebugAddrPublic ||
		cfg.SQLiteSynchronous != "normal" {
		t.Fatalf("config: %+v", cfg)
	}

	cleanEnv(t)
	var def Config
	fs = newFlagSet("serve")
	def.registerCommon(fs)
	def.registerServe(fs)
	if err := parse(fs, "", []string{"--migrate", "--log-json"}, &def, new(bytes.Buffer)); err != nil {
		t.Fatal(err)
	}
	if !def.Migrate || !def.LogJSON || def.LogLevel != slog.LevelInfo || def.ShutdownTimeout != 20*time.Second || def.Addr != "127.0.0.1:8080" ||
		def.DebugAddr != "" || def.DebugAddrPublic || def.SQLiteSynchronous != "full" {
		t.Fatalf("defaults: %+v", def)
	}
}

// TestHelp: every command answers --help with its usage on stdout and no
// error, whatever the environment holds.
func TestHelp(t *testing.T) {
	cleanEnv(t)
	t.Setenv("ROSTER_LOG_LEVEL", "loud")
	for _, args := range [][]string{
		{"serve", "--help"}, {"serve", "-h"}, {"migrate", "--help"}, {"admin", "create", "--help"}, {"admin", "--help"},
		{"backup", "--help"}, {"restore", "--help"}, {"copy", "--help"}, {"dev", "load", "--help"}, {"--help"}, {"help"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, &stdout, &stderr)
		if err != nil && !errors.Is(err, errHelp) {
			t.Errorf("%q: %v", args, err)
		}
		if !strings.Contains(stdout.String(), "Usage") || stderr.Len() > 0 {
			t.Errorf("%q: stdout %q, stderr %q", args, stdout.String(), stderr.String())
		}
	}
	var stdout bytes.Buffer
	run(context.Background(), []string{"serve", "--help"}, &stdout, new(bytes.Buffer))
	for _, f := range []string{"-shutdown-timeout", "-migrate", "ROSTER_MIGRATE", "-log-level"} {
		if !strings.Contains(stdout.String(), f) {
			t.Errorf("serve --help lacks %s:\n%s", f, stdout.String())
		}
	}
}
