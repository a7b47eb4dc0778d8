package sqlstore

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/roster-app/roster"
)

// SQLite commits one transaction at a time, and with synchronous=full
// every commit waits for the disk. A batcher lets the write transactions
// of concurrent callers share one commit (group commit): the first caller
// to arrive while none runs becomes the leader; it opens one database
// transaction and runs, in arrival order, its own function and those of
// the callers queued meanwhile (up to maxBatch), each inside its own
// SAVEPOINT, then commits once and hands each caller its result. A
// function that fails is rolled back to its savepoint alone: the others
// commit. Each caller returns only after the commit that holds its change
// (or with the error that kept it out), so what a caller sees is what it
// saw with a transaction of its own: all or nothing, durable on return.
//
// Inside a batch the statements do not stop when a caller's context
// ends: SQLite stops a cancelled statement by interrupting its
// connection, which would roll back the whole shared transaction. A
// caller whose context ends while it is still queued is dropped from the
// queue; one whose function is running finishes, and its change commits.
//
// PostgreSQL runs transactions side by side and needs none of this.
type batcher struct {
	s *Store

	mu      sync.Mutex
	queue   []*batchJob // callers waiting for a batch, in arrival order
	running bool        // a leader is running a batch; false implies an empty queue

	commits atomic.Int64 // batches committed, for tests
}

// maxBatch bounds the functions that share one commit, so that a caller
// waits for at most that many others.
const maxBatch = 32

type batchJob struct {
	ctx  context.Context
	fn   func(*Tx) error
	done chan error    // the result; buffered
	lead chan struct{} // told to lead the next batch; buffered
	// Guarded by batcher.mu:
	taken  bool // in a batch: no longer leaves the queue when cancelled
	leader bool // told to lead
}

// panicked carries a panic of a caller's function from the leader that
// ran it back to the caller, which panics again.
type panicked struct {
	value any
	stack []byte
}

func (p *panicked) Error() string { return fmt.Sprintf("panic in a write: %v\n%s", p.value, p.stack) }

// do runs fn in a batch, as Store.write runs it in a transaction of its
// own (without the retries, which write adds around it).
func (b *batcher) do(ctx context.Context, fn func(*Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	j := &batchJob{ctx: ctx, fn: fn, done: make(chan error, 1), lead: make(chan struct{}, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, j)
	lead := !b.running
	b.running = true
	j.leader = lead
	b.mu.Unlock()
	if !lead {
		select {
		case err := <-j.done:
			return result(err)
		case <-j.lead:
		case <-ctx.Done():
			b.mu.Lock()
			if !j.taken && !j.leader {
				b.queue = slices.DeleteFunc(b.queue, func(x *batchJob) bool { return x == j })
				b.mu.Unlock()
				return fmt.Errorf("begin: %w", ctx.Err())
			}
			b.mu.Unlock()
			select {
			case err := <-j.done:
				return result(err)
			case <-j.lead:
			}
		}
	}
	// Leading: the queue starts with j (a leader is either the first
	// caller of an empty queue or the head it was handed to).
	b.mu.Lock()
	batch := slices.Clone(b.queue[:min(len(b.queue), maxBatch)])
	b.queue = slices.Delete(b.queue, 0, len(batch))
	for _, x := range batch {
		x.taken = true
	}
	b.mu.Unlock()
	b.run(batch)
	b.mu.Lock()
	if len(b.queue) == 0 {
		b.running = false
	} else {
		next := b.queue[0]
		next.leader = true
		next.lead <- struct{}{}
	}
	b.mu.Unlock()
	return result(<-j.done)
}

// result returns a caller's error, panicking again with its function's
// panic.
func result(err error) error {
	if p, ok := err.(*panicked); ok {
		panic(p.value)
	}
	return err
}

// run runs the jobs' functions in one transaction and tells each its
// result.
func (b *batcher) run(jobs []*batchJob) {
	errs := make([]error, len(jobs))
	err := b.runTx(jobs, errs)
	for i, j := range jobs {
		if err != nil && errs[i] == nil {
			// The batch did not commit: the change is gone.
			errs[i] = err
		}
		j.done <- errs[i]
	}
}

// runTx runs the jobs in one transaction, each in a savepoint, and commits.
// It returns the error that kept the transaction from committing.
func (b *batcher) runTx(jobs []*batchJob, errs []error) error {
	ctx := context.Background()
	sqlTx, err := b.s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{Tx: sqlTx, s: b.s, detached: true}
	defer tx.Rollback()
	if len(jobs) == 1 {
		// Alone: the transaction is the job's, no savepoint needed.
		j := jobs[0]
		if err := j.ctx.Err(); err != nil {
			errs[0] = fmt.Errorf("begin: %w", err)
			return nil
		}
		tx.now, tx.actor = b.s.now(), roster.ActorFromContext(j.ctx)
		if errs[0] = runJob(j, tx); errs[0] != nil {
			return nil
		}
		return b.commit(tx)
	}
	for i, j := range jobs {
		if err := j.ctx.Err(); err != nil {
			errs[i] = fmt.Errorf("begin: %w", err)
			continue
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT batched`); err != nil {
			return fmt.Errorf("savepoint: %w", err)
		}
		tx.now, tx.actor = b.s.now(), roster.ActorFromContext(j.ctx)
		if errs[i] = runJob(j, tx); errs[i] != nil {
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO batched`); err != nil {
				return fmt.Errorf("rollback to savepoint: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE batched`); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
	}
	return b.commit(tx)
}

func (b *batcher) commit(tx *Tx) error {
	if err := tx.commit(); err != nil {
		return err
	}
	b.commits.Add(1)
	return nil
}

// runJob runs a job's function, turning a panic into its result.
func runJob(j *batchJob, tx *Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicked{value: v, stack: debug.Stack()}
		}
	}()
	return j.fn(tx)
}
