package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestWriteRetries: a transaction the database gives up on for contention
// runs again, a few times, then answers EUNAVAILABLE; any other error
// ends it at once (issue 11, finding 4).
func TestWriteRetries(t *testing.T) {
	sqlstoretest.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		runs := 0
		err := s.Write(ctx, func(*sql.Tx) error {
			runs++
			return &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}
		})
		if roster.ErrorCode(err) != roster.EUNAVAILABLE || runs != sqlstore.RetryAttempts {
			t.Errorf("always deadlocked: %v after %d runs, want EUNAVAILABLE after %d", err, runs, sqlstore.RetryAttempts)
		}

		runs = 0
		err = s.Write(ctx, func(*sql.Tx) error {
			if runs++; runs < 3 {
				return &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
			}
			return nil
		})
		if err != nil || runs != 3 {
			t.Errorf("serialization failures then success: %v after %d runs", err, runs)
		}

		runs = 0
		boom := errors.New("boom")
		if err = s.Write(ctx, func(*sql.Tx) error { runs++; return boom }); err != boom || runs != 1 {
			t.Errorf("plain error: %v after %d runs", err, runs)
		}
	})
}

// TestWriteRetriesRealDeadlock: two PostgreSQL transactions locking two
// rows in opposite orders deadlock; the one PostgreSQL aborts runs again
// and both commit.
func TestWriteRetriesRealDeadlock(t *testing.T) {
	s := sqlstoretest.Open(t, sqlstoretest.Postgres)
	ctx := context.Background()
	if _, err := s.DB().Exec(`CREATE TABLE deadlock_test (id int PRIMARY KEY, n int NOT NULL); INSERT INTO deadlock_test VALUES (1, 0), (2, 0)`); err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	var both sync.WaitGroup // each first run holds its first row
	both.Add(2)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, order := range [][2]int{{1, 2}, {2, 1}} {
		wg.Go(func() {
			first := true
			errs[i] = s.Write(ctx, func(tx *sql.Tx) error {
				runs.Add(1)
				if _, err := tx.Exec(`UPDATE deadlock_test SET n = n + 1 WHERE id = $1`, order[0]); err != nil {
					return err
				}
				if first {
					first = false
					both.Done()
					both.Wait()
				}
				_, err := tx.Exec(`UPDATE deadlock_test SET n = n + 1 WHERE id = $1`, order[1])
				return err
			})
		})
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("errors %v", errs)
	}
	var sum int
	if err := s.DB().QueryRow(`SELECT sum(n) FROM deadlock_test`).Scan(&sum); err != nil {
		t.Fatal(err)
	}
	// PostgreSQL aborts one of them, or (when both detect the deadlock at
	// once) both: at least one runs again.
	if sum != 4 || runs.Load() < 3 {
		t.Errorf("sum %d after %d runs, want 4 after 3 or more", sum, runs.Load())
	}
}
