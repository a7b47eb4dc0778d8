package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// benchOptions sizes the benchmark data: ROSTER_BENCH_USERS users (default
// 1,000,000) in 1,000 companies, one of them with a tenth of the users (at
// most 100,000).
func benchOptions(b *testing.B) sqlstore.LoadOptions {
	n := 1_000_000
	if v := os.Getenv("ROSTER_BENCH_USERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			b.Fatalf("ROSTER_BENCH_USERS=%q: want a number >= 1000", v)
		}
	}
	return sqlstore.LoadOptions{Users: n, Companies: 1000, BigCompanyUsers: min(100_000, n/10), Seed: 42}
}

const benchMarker = "bench:loaded"

// benchStore opens the cached benchmark database of engine, loading it once:
// SQLite in a file under os.TempDir(), PostgreSQL in database roster_bench.
func benchStore(b *testing.B, engine string) *sqlstore.Store {
	b.Helper()
	ctx := context.Background()
	opts := benchOptions(b)
	key := fmt.Sprintf("v4-%d-%d-%d", opts.Users, opts.BigCompanyUsers, opts.Seed)
	cfg := sqlstore.Config{Logger: slog.New(slog.DiscardHandler)}
	switch engine {
	case sqlstoretest.SQLite:
		cfg.DataDir = filepath.Join(os.TempDir(), "roster-bench-sqlite-"+key)
		if _, err := os.Stat(filepath.Join(cfg.DataDir, "loaded")); err != nil {
			os.RemoveAll(cfg.DataDir)
			if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
				b.Fatal(err)
			}
		}
	case sqlstoretest.Postgres:
		cfg.DatabaseURL = benchPostgres(b, key)
	}
	s, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	var loaded string
	s.DB().QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, benchMarker).Scan(&loaded)
	if loaded == key {
		return s
	}
	start := time.Now()
	if err := sqlstore.LoadFake(ctx, s, opts); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: loaded %d users in %s", engine, opts.Users, time.Since(start).Round(time.Millisecond))
	if _, err := s.DB().ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)`, benchMarker, key); err != nil {
		b.Fatal(err)
	}
	if engine == sqlstoretest.SQLite {
		os.WriteFile(filepath.Join(cfg.DataDir, "loaded"), []byte(key), 0o600)
	}
	return s
}

// benchPostgres returns the URL of database roster_bench next to the test
// database, creating it if missing and recreating it if loaded otherwise.
func benchPostgres(b *testing.B, key string) string {
	base := os.Getenv("ROSTER_BENCH_POSTGRES_URL")
	if base == "" {
		base = sqlstoretest.PostgresURL(b)
	}
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	ctx := context.Background()
	var exists bool
	if err := admin.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'roster_bench')`).Scan(&exists); err != nil {
		b.Fatalf("PostgreSQL: %v", err)
	}
	u.Path = "/roster_bench"
	if exists {
		db, err := sql.Open("pgx", u.String())
		if err != nil {
			b.Fatal(err)
		}
		var loaded string
		db.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, benchMarker).Scan(&loaded)
		db.Close()
		if loaded == key {
			return u.String()
		}
		if _, err := admin.ExecContext(ctx, `DROP DATABASE roster_bench WITH (FORCE)`); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE roster_bench`); err != nil {
		b.Fatal(err)
	}
	return u.String()
}

// latencies records the duration of each operation and reports the median
// and the 99th percentile in milliseconds.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(l[len(l)/2]), "median-ms")
	b.ReportMetric(ms(l[min(len(l)-1, len(l)*99/100)]), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkUserList measures the users list inside the big company (a
// tenth of ROSTER_BENCH_USERS, at most 100,000): the first page by name, a
// 3-character search, and a deep page reached by cursor.
func BenchmarkUserList(b *testing.B) {
	for _, engine := range sqlstoretest.Engines(b) {
		b.Run(engine, func(b *testing.B) {
			s := benchStore(b, engine)
			ctx := context.Background()
			var big int64
			if err := s.DB().QueryRowContext(ctx, `SELECT id FROM companies WHERE name = $1`, sqlstore.BigCompanyName).Scan(&big); err != nil {
				b.Fatal(err)
			}
			scope := roster.Scope{CompanyIDs: []int64{big}}
			list := func(b *testing.B, f roster.UserFilter) *roster.UserPage {
				p, err := s.Users(ctx, scope, f)
				if err != nil {
					b.Fatal(err)
				}
				return p
			}
			run := func(b *testing.B, filter func(i int) roster.UserFilter) {
				list(b, filter(0)) // warm
				var l latencies
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					t := time.Now()
					list(b, filter(i))
					l = append(l, time.Since(t))
				}
				l.report(b)
			}
			b.Run("FirstPageByName", func(b *testing.B) {
				run(b, func(int) roster.UserFilter { return roster.UserFilter{Sort: "name"} })
			})
			terms := []string{"ива", "ann", "pet", "ser", "kov", "mar", "ova", "son", "шев", "xyz", "912", "elen"}
			b.Run("Search3Chars", func(b *testing.B) {
				run(b, func(i int) roster.UserFilter { return roster.UserFilter{Query: terms[i%len(terms)]} })
			})
			for _, term := range terms {
				b.Run("Search/"+term, func(b *testing.B) {
					run(b, func(int) roster.UserFilter { return roster.UserFilter{Query: term} })
				})
			}
			b.Run("DeepPageByCursor", func(b *testing.B) {
				// Walk to about the middle of the company, then time the next page.
				cur := ""
				p := list(b, roster.UserFilter{Limit: 200})
				for range 200 {
					if p.NextCursor == "" {
						break
					}
					cur = p.NextCursor
					p = list(b, roster.UserFilter{Limit: 200, Cursor: cur})
				}
				run(b, func(int) roster.UserFilter { return roster.UserFilter{Cursor: cur} })
			})
			b.Run("DeepPageByCursorCreated", func(b *testing.B) {
				cur := ""
				p := list(b, roster.UserFilter{Limit: 200, Sort: "-created_at"})
				for range 200 {
					if p.NextCursor == "" {
						break
					}
					cur = p.NextCursor
					p = list(b, roster.UserFilter{Limit: 200, Sort: "-created_at", Cursor: cur})
				}
				run(b, func(int) roster.UserFilter {
					return roster.UserFilter{Cursor: cur, Sort: "-created_at"}
				})
			})
		})
	}
}
