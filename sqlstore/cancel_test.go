package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestCancelKeepsConnection: on PostgreSQL a query whose context ends (its
// client went away) is cancelled on the server, and its connection stays
// in the pool. Closing it instead, as pgx does by default, made a burst of
// cancelled requests hand other requests closed connections (503).
func TestCancelKeepsConnection(t *testing.T) {
	s := sqlstoretest.Open(t, sqlstoretest.Postgres)
	db := s.DB()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	var before, after int
	if err := db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := db.ExecContext(cctx, `SELECT pg_sleep(10)`); err == nil {
		t.Fatal("a cancelled pg_sleep(10) succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the cancelled query ran %v", d)
	}
	if err := db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("the connection was replaced after a cancellation: backend %d, then %d", before, after)
	}
}
