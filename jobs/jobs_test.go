package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/jobs"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

func enqueue(t *testing.T, s *sqlstore.Store, kind string, n int) *roster.Job {
	t.Helper()
	j, err := roster.NewJob(kind, map[string]int{"n": n})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnqueueJob(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	return j
}

func jobByID(t *testing.T, s *sqlstore.Store, id int64) *roster.Job {
	t.Helper()
	js, err := s.Jobs(context.Background(), roster.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range js {
		if j.ID == id {
			return j
		}
	}
	t.Fatalf("job %d not found", id)
	return nil
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestRetryWithBackoff: a failing job is retried after 30 s, then 60 s, and
// is done once the handler succeeds.
func TestRetryWithBackoff(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		ctx := context.Background()
		calls := 0
		w := jobs.New(s, jobs.Options{Clock: c.Now, Logger: quiet()})
		w.Handle("flaky", func(ctx context.Context, p json.RawMessage) error {
			calls++
			if calls < 3 {
				return errors.New("server busy")
			}
			return nil
		})
		j := enqueue(t, s, "flaky", 1)
		step := func(wantRan int) {
			t.Helper()
			n, err := w.RunOnce(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			if n != wantRan {
				t.Fatalf("ran %d jobs, want %d", n, wantRan)
			}
		}
		step(1)
		got := jobByID(t, s, j.ID)
		if got.State != roster.JobPending || got.Attempts != 1 || !got.RunAt.Equal(c.Now().Add(30*time.Second)) || got.LastError != "server busy" {
			t.Fatalf("after first failure: %+v", got)
		}
		step(0) // not due yet
		c.Advance(30 * time.Second)
		step(1)
		if got = jobByID(t, s, j.ID); !got.RunAt.Equal(c.Now().Add(60 * time.Second)) {
			t.Fatalf("second backoff: run at %v, want now+60s", got.RunAt)
		}
		c.Advance(60 * time.Second)
		step(1)
		if got = jobByID(t, s, j.ID); got.State != roster.JobDone || got.Attempts != 3 {
			t.Fatalf("after success: %+v", got)
		}
		step(0)
	})
}

// TestDeadAndHeld: a permanent failure is dead at once, running out of
// attempts too; a held job stays without retrying.
func TestDeadAndHeld(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		ctx := context.Background()
		w := jobs.New(s, jobs.Options{Clock: c.Now, Logger: quiet()})
		w.Handle("bad", func(context.Context, json.RawMessage) error { return jobs.Permanent(errors.New("malformed")) })
		w.Handle("hold", func(context.Context, json.RawMessage) error { return jobs.ErrHold })
		w.Handle("fail", func(context.Context, json.RawMessage) error { return errors.New("down") })
		bad, hold := enqueue(t, s, "bad", 1), enqueue(t, s, "hold", 1)
		fail, _ := roster.NewJob("fail", 1)
		fail.MaxAttempts = 2
		if err := s.EnqueueJob(ctx, fail); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := w.RunOnce(ctx, 10); err != nil {
				t.Fatal(err)
			}
			c.Advance(time.Hour)
		}
		for id, want := range map[int64]string{bad.ID: roster.JobDead, hold.ID: roster.JobHeld, fail.ID: roster.JobDead} {
			if got := jobByID(t, s, id); got.State != want {
				t.Errorf("job %d (%s): state %s, want %s", id, got.Kind, got.State, want)
			}
		}
		if got := jobByID(t, s, fail.ID); got.Attempts != 2 {
			t.Errorf("fail job attempts %d, want 2", got.Attempts)
		}
	})
}

// TestTwoWorkersNeverDeliverTwice runs two workers (as two instances would)
// over one table and checks every job ran exactly once.
func TestTwoWorkersNeverDeliverTwice(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		const n = 120
		var mu sync.Mutex
		seen := map[int]int{}
		handler := func(ctx context.Context, p json.RawMessage) error {
			var v struct{ N int }
			if err := json.Unmarshal(p, &v); err != nil {
				return err
			}
			mu.Lock()
			seen[v.N]++
			mu.Unlock()
			return nil
		}
		for i := range n {
			enqueue(t, s, "count", i)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, id := range []string{"a", "b"} {
			w := jobs.New(s, jobs.Options{ID: id, Clock: c.Now, Logger: quiet(), PollInterval: 5 * time.Millisecond, Concurrency: 3})
			w.Handle("count", handler)
			wg.Go(func() { w.Run(ctx) })
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			done, err := s.Jobs(context.Background(), roster.JobFilter{State: roster.JobDone, Limit: roster.MaxPageSize})
			if err != nil {
				t.Fatal(err)
			}
			if len(done) == n || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != n {
			t.Fatalf("%d distinct jobs ran, want %d", len(seen), n)
		}
		for k, v := range seen {
			if v != 1 {
				t.Errorf("job %d ran %d times", k, v)
			}
		}
	})
}

// TestRestartLosesNothing: a worker that claims a job and dies leaves it
// leased; once the lease ends another worker runs it, and the dead
// worker's late result is refused.
func TestRestartLosesNothing(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		ctx := context.Background()
		j := enqueue(t, s, "mail", 1)
		claimed, err := s.ClaimJobs(ctx, "crashed", []string{"mail"}, 10, time.Minute)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %v %v", claimed, err)
		}
		ran := 0
		w := jobs.New(s, jobs.Options{ID: "fresh", Clock: c.Now, Logger: quiet(), Lease: time.Minute})
		w.Handle("mail", func(context.Context, json.RawMessage) error { ran++; return nil })
		if n, _ := w.RunOnce(ctx, 10); n != 0 {
			t.Fatalf("a leased job was claimed again")
		}
		c.Advance(61 * time.Second)
		if n, err := w.RunOnce(ctx, 10); n != 1 || err != nil {
			t.Fatalf("after lease: ran %d, %v", n, err)
		}
		if got := jobByID(t, s, j.ID); got.State != roster.JobDone || ran != 1 {
			t.Fatalf("job %+v ran %d", got, ran)
		}
		err = s.FinishJob(ctx, j.ID, "crashed", roster.JobResult{State: roster.JobPending})
		if roster.ErrorCode(err) != roster.ECONFLICT {
			t.Fatalf("late finish by the crashed worker: %v", err)
		}
	})
}

// TestPurge: finished jobs older than the retention go; pending ones stay.
func TestPurge(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		ctx := context.Background()
		w := jobs.New(s, jobs.Options{Clock: c.Now, Logger: quiet()})
		w.Handle("ok", func(context.Context, json.RawMessage) error { return nil })
		done := enqueue(t, s, "ok", 1)
		if _, err := w.RunOnce(ctx, 10); err != nil {
			t.Fatal(err)
		}
		pending := enqueue(t, s, "other", 2)
		c.Advance(31 * 24 * time.Hour)
		n, err := s.PurgeJobs(ctx, c.Now().Add(-30*24*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("purged %d, %v", n, err)
		}
		js, err := s.Jobs(ctx, roster.JobFilter{})
		if err != nil || len(js) != 1 || js[0].ID != pending.ID || js[0].ID == done.ID {
			t.Fatalf("left %+v, %v", js, err)
		}
	})
}

// TestShutdown: when Run's context ends the worker claims nothing more; a
// job in hand that finishes within ShutdownGrace is recorded done, and one
// still running at the end of the grace has its context cancelled and is
// handed back to the queue, due at once, for the next worker.
func TestShutdown(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		quick, slow := enqueue(t, s, "quick", 1), enqueue(t, s, "slow", 2)
		ctx, cancel := context.WithCancel(context.Background())
		started := make(chan string, 2)
		release := make(chan struct{})
		w := jobs.New(s, jobs.Options{Clock: c.Now, Logger: quiet(), ShutdownGrace: 300 * time.Millisecond, PollInterval: 5 * time.Millisecond})
		w.Handle("quick", func(ctx context.Context, _ json.RawMessage) error {
			started <- "quick"
			<-release // finishes soon after the shutdown begins
			return nil
		})
		w.Handle("slow", func(ctx context.Context, _ json.RawMessage) error {
			started <- "slow"
			<-ctx.Done() // runs until it is told to stop
			return ctx.Err()
		})
		done := make(chan struct{})
		go func() { w.Run(ctx); close(done) }()
		<-started
		<-started
		cancel()
		time.Sleep(50 * time.Millisecond)
		later := enqueue(t, s, "quick", 3)
		time.Sleep(50 * time.Millisecond)
		close(release)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after the grace")
		}
		if got := jobByID(t, s, quick.ID); got.State != roster.JobDone {
			t.Errorf("the job that finished within the grace: %+v", got)
		}
		if got := jobByID(t, s, slow.ID); got.State != roster.JobPending || !got.RunAt.Equal(c.Now()) ||
			!strings.Contains(got.LastError, "interrupted by shutdown") {
			t.Errorf("the job cut short: %+v", got)
		}
		if got := jobByID(t, s, later.ID); got.State != roster.JobPending || got.Attempts != 0 {
			t.Errorf("a job enqueued after the shutdown began was claimed: %+v", got)
		}
	})
}
