package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestCancelReplacesConnection: on PostgreSQL a query whose context ends
// (its client went away) is cancelled on the server, and its connection is
// not used again: PostgreSQL may deliver the cancellation after the
// statement ended, to whatever the connection runs next (roster bench met
// it as a 500 for a request that was not cancelled). The connection is
// replaced when next taken from the pool, so no other statement sees an
// error, also after a burst of cancellations. (Closing it at once, as pgx
// does by default, handed other requests closed connections: 503.)
func TestCancelReplacesConnection(t *testing.T) {
	s := sqlstoretest.Open(t, sqlstoretest.Postgres)
	db := s.DB()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	pid := func() int {
		t.Helper()
		var p int
		if err := db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	seen := map[int]bool{pid(): true}
	for i := range 5 {
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		start := time.Now()
		if _, err := db.ExecContext(cctx, `SELECT pg_sleep(10)`); err == nil {
			t.Fatal("a cancelled pg_sleep(10) succeeded")
		}
		cancel()
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("the cancelled query ran %v", d)
		}
		p := pid()
		if seen[p] {
			t.Fatalf("cancellation %d: backend %d used again", i, p)
		}
		seen[p] = true
		// A statement that outlasts a late cancellation is not cancelled.
		if _, err := db.ExecContext(ctx, `SELECT pg_sleep(0.2)`); err != nil {
			t.Fatalf("after cancellation %d: %v", i, err)
		}
	}
}
