package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// batchTable creates the table the batch tests write to.
func batchTable(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	if _, err := s.DB().Exec(`CREATE TABLE batch_test (n INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
}

// TestWriteBatches: on SQLite the write transactions of concurrent callers
// share one commit, and each keeps the guarantees of a transaction of its
// own: one that fails (an error, a panic, a context cancelled while it
// waits) leaves nothing behind, and the others commit.
func TestWriteBatches(t *testing.T) {
	s := sqlstoretest.Open(t, sqlstoretest.SQLite)
	ctx := context.Background()
	batchTable(t, s)
	insert := func(tx *sql.Tx, n int) error {
		_, err := tx.Exec(`INSERT INTO batch_test (n) VALUES ($1)`, n)
		return err
	}
	commits := s.BatchCommits()

	// The first write holds its batch until the others wait in the queue:
	// they then share the next commit.
	started, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	var firstErr error
	go func() {
		defer wg.Done()
		firstErr = s.Write(ctx, func(tx *sql.Tx) error {
			if err := insert(tx, 0); err != nil {
				return err
			}
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	boom := errors.New("boom")
	const n = 20
	errs := make([]error, n+1)
	panics := make([]any, n+1)
	cancelled, cancel := context.WithCancel(ctx)
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[i] = recover() }()
			c := ctx
			if i == 11 {
				c = cancelled
			}
			errs[i] = s.Write(c, func(tx *sql.Tx) error {
				if err := insert(tx, i); err != nil {
					return err
				}
				switch i {
				case 5:
					return boom
				case 7:
					return insert(tx, 7) // a duplicate key, after a good insert
				case 9:
					panic("write 9 broke")
				}
				return nil
			})
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.QueuedWrites() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", s.QueuedWrites(), n)
		}
		time.Sleep(time.Millisecond)
	}
	cancel() // write 11 leaves the queue
	for s.QueuedWrites() > n-1 {
		if time.Now().After(deadline) {
			t.Fatal("the cancelled write stayed in the queue")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()

	if firstErr != nil {
		t.Fatalf("first write: %v", firstErr)
	}
	if got := s.BatchCommits() - commits; got != 2 {
		t.Errorf("%d commits for %d writes, want 2", got, n+1)
	}
	var want []int
	for i := 0; i <= n; i++ {
		bad := i == 5 || i == 7 || i == 9 || i == 11
		switch {
		case i == 5 && errs[i] != boom, i == 7 && errs[i] == nil, i == 11 && !errors.Is(errs[i], context.Canceled):
			t.Errorf("write %d: %v, want its error", i, errs[i])
		case i == 9 && fmt.Sprint(panics[i]) != "write 9 broke":
			t.Errorf("write 9 panicked with %v in its caller", panics[i])
		case !bad && (errs[i] != nil || panics[i] != nil):
			t.Errorf("write %d: %v %v", i, errs[i], panics[i])
		}
		if !bad {
			want = append(want, i)
		}
	}
	var got []int
	rows, err := s.DB().Query(`SELECT n FROM batch_test ORDER BY n`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		rows.Scan(&v)
		got = append(got, v)
	}
	if !slices.Equal(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
}

// TestWriteBatchesConcurrent: many callers writing at once through the
// store's real methods all get their changes, in fewer commits than
// writes.
func TestWriteBatchesConcurrent(t *testing.T) {
	s := sqlstoretest.Open(t, sqlstoretest.SQLite)
	ctx := context.Background()
	batchTable(t, s)
	commits := s.BatchCommits()
	const workers, each = 16, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := s.Write(ctx, func(tx *sql.Tx) error {
					_, err := tx.Exec(`INSERT INTO batch_test (n) VALUES ($1)`, w*each+i)
					return err
				}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	var count int
	if err := s.DB().QueryRow(`SELECT count(*) FROM batch_test`).Scan(&count); err != nil || count != workers*each {
		t.Fatalf("%d rows (%v), want %d", count, err, workers*each)
	}
	if c := s.BatchCommits() - commits; c >= workers*each {
		t.Errorf("%d commits for %d writes: nothing was batched", c, workers*each)
	} else {
		t.Logf("%d writes in %d commits", workers*each, c)
	}
}
