package web_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
)

// openStore opens a fresh, migrated store on engine ("sqlite" or
// "postgres"). PostgreSQL needs ROSTER_TEST_POSTGRES_URL; without it the
// test is skipped (and fails on CI).
func openStore(t *testing.T, engine string, clock roster.Clock) *sqlstore.Store {
	t.Helper()
	ctx := context.Background()
	cfg := sqlstore.Config{Clock: clock, Logger: slog.New(slog.DiscardHandler)}
	switch engine {
	case "sqlite":
		cfg.DataDir = t.TempDir()
	case "postgres":
		cfg.DatabaseURL = freshPostgres(t)
	}
	s, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// freshPostgres creates a database for one test and drops it afterwards.
func freshPostgres(t *testing.T) string {
	t.Helper()
	base := os.Getenv("ROSTER_TEST_POSTGRES_URL")
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("PostgreSQL is required on CI: set ROSTER_TEST_POSTGRES_URL")
		}
		t.Skip("ROSTER_TEST_POSTGRES_URL is not set")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("roster_web_%d", rand.Uint64()%1e12)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
