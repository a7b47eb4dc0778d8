// Package jobs runs Roster's durable background jobs: a worker polls the
// jobs table (roster.JobService), leases due jobs, hands each to the handler
// registered for its kind, and records the outcome, retrying failures with
// exponential backoff. Several workers, in one process or many, never run
// one job at the same time: a job belongs to the worker holding its lease.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/roster-app/roster"
)

// Handler does the work of one job. An error means "try again later",
// unless it wraps ErrPermanent (give up now) or ErrHold (keep the job,
// undelivered, without retrying).
type Handler func(ctx context.Context, payload json.RawMessage) error

// ErrPermanent marks a failure that retrying cannot fix (a malformed
// payload): the job goes dead at once.
var ErrPermanent = errors.New("jobs: permanent failure")

// ErrHold marks a job kept on purpose without being done, such as an
// e-mail while no SMTP server is configured: it stays in the table as held.
var ErrHold = errors.New("jobs: held")

// Permanent wraps err so the job is not retried.
func Permanent(err error) error { return fmt.Errorf("%w: %w", ErrPermanent, err) }

// Options tune a Worker; zero values take the defaults.
type Options struct {
	// ID names this worker in the leases; random when empty.
	ID string
	// PollInterval is how long an idle worker waits before looking again (1 s).
	PollInterval time.Duration
	// Lease is how long a claimed job belongs to this worker (2 min); a
	// handler gets half of it before its context ends.
	Lease time.Duration
	// Concurrency is how many jobs run at once (4).
	Concurrency int
	// BackoffBase is the delay before the first retry (30 s); it doubles
	// with every attempt up to BackoffMax (1 h).
	BackoffBase, BackoffMax time.Duration
	// ShutdownGrace is how long the jobs in hand may go on once Run's
	// context ends; past it their contexts are cancelled and each job is
	// handed back to the queue, due at once, for the next worker. Zero
	// lets them run to their handler timeout (Lease/2).
	ShutdownGrace time.Duration
	// Clock is the source of time (time.Now).
	Clock roster.Clock
	// Logger receives failures (slog.Default).
	Logger *slog.Logger
}

// Worker polls for jobs and runs them.
type Worker struct {
	store    roster.JobService
	opt      Options
	mu       sync.RWMutex
	handlers map[string]Handler
	wake     chan struct{}
}

// New returns a worker over store. Register handlers with Handle before Run.
func New(store roster.JobService, opt Options) *Worker {
	if opt.ID == "" {
		host, _ := os.Hostname()
		b := make([]byte, 6)
		rand.Read(b)
		opt.ID = host + "-" + hex.EncodeToString(b)
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = time.Second
	}
	if opt.Lease <= 0 {
		opt.Lease = 2 * time.Minute
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 4
	}
	if opt.BackoffBase <= 0 {
		opt.BackoffBase = 30 * time.Second
	}
	if opt.BackoffMax <= 0 {
		opt.BackoffMax = time.Hour
	}
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	return &Worker{store: store, opt: opt, handlers: map[string]Handler{}, wake: make(chan struct{}, 1)}
}

// ID is the worker's name in job leases.
func (w *Worker) ID() string { return w.opt.ID }

// Handle registers the handler of a job kind. Only registered kinds are
// claimed, so instances with different handlers can share the table.
func (w *Worker) Handle(kind string, h Handler) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.handlers[kind] = h
}

// Notify wakes an idle worker to look for jobs now, after an enqueue.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Worker) kinds() []string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]string, 0, len(w.handlers))
	for k := range w.handlers {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Backoff is the delay before the retry that follows attempt (1-based).
func (w *Worker) Backoff(attempt int) time.Duration {
	d := w.opt.BackoffBase
	for i := 1; i < attempt && d < w.opt.BackoffMax; i++ {
		d *= 2
	}
	return min(d, w.opt.BackoffMax)
}

// Run polls and runs jobs until ctx ends, then stops claiming, waits for
// the jobs in hand to finish (each bounded by its handler timeout, and all
// by ShutdownGrace when set) and returns: a graceful shutdown. A job cut
// short by ShutdownGrace is handed back to the queue; one cut short by a
// crash is claimed again when its lease ends.
func (w *Worker) Run(ctx context.Context) error {
	// The jobs in hand outlive ctx, up to the grace.
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	if g := w.opt.ShutdownGrace; g > 0 {
		stop := context.AfterFunc(ctx, func() { time.AfterFunc(g, cancelJobs) })
		defer stop()
	}
	sem := make(chan struct{}, w.opt.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		free := w.opt.Concurrency - len(sem)
		var claimed []*roster.Job
		if free > 0 {
			var err error
			claimed, err = w.store.ClaimJobs(ctx, w.opt.ID, w.kinds(), free, w.opt.Lease)
			if err != nil && ctx.Err() == nil {
				w.opt.Logger.Error("claim jobs", "worker", w.opt.ID, "err", err)
			}
		}
		for _, j := range claimed {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				w.run(jobCtx, j)
			}()
		}
		if len(claimed) == free && free > 0 {
			continue // there may be more waiting
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.wake:
		case <-time.After(w.opt.PollInterval):
		}
	}
}

// RunOnce claims up to limit due jobs and runs them one after another; it
// returns how many it ran. For tests and tools.
func (w *Worker) RunOnce(ctx context.Context, limit int) (int, error) {
	claimed, err := w.store.ClaimJobs(ctx, w.opt.ID, w.kinds(), limit, w.opt.Lease)
	if err != nil {
		return 0, err
	}
	for _, j := range claimed {
		w.run(ctx, j)
	}
	return len(claimed), nil
}

// run executes one claimed job and records its outcome.
func (w *Worker) run(ctx context.Context, j *roster.Job) {
	w.mu.RLock()
	h := w.handlers[j.Kind]
	w.mu.RUnlock()
	var err error
	if h == nil {
		err = Permanent(fmt.Errorf("no handler for kind %q", j.Kind))
	} else {
		hctx, cancel := context.WithTimeout(ctx, w.opt.Lease/2)
		err = safeCall(hctx, h, j.Payload)
		cancel()
	}
	res := roster.JobResult{State: roster.JobDone}
	switch {
	case err != nil && ctx.Err() != nil:
		// Cut short by the shutdown (ShutdownGrace): not the job's fault.
		res = roster.JobResult{State: roster.JobPending, Error: "interrupted by shutdown: " + err.Error(), RunAt: w.opt.Clock()}
		w.opt.Logger.Warn("job interrupted by shutdown, handed back", "job", j.ID, "kind", j.Kind)
	case err == nil:
	case errors.Is(err, ErrHold):
		res = roster.JobResult{State: roster.JobHeld, Error: err.Error()}
	case errors.Is(err, ErrPermanent) || j.Attempts >= j.MaxAttempts:
		res = roster.JobResult{State: roster.JobDead, Error: err.Error()}
		w.opt.Logger.Error("job failed for good", "job", j.ID, "kind", j.Kind, "attempts", j.Attempts, "err", err)
	default:
		res = roster.JobResult{State: roster.JobPending, Error: err.Error(), RunAt: w.opt.Clock().Add(w.Backoff(j.Attempts))}
		w.opt.Logger.Warn("job failed, will retry", "job", j.ID, "kind", j.Kind, "attempts", j.Attempts, "retry_at", res.RunAt, "err", err)
	}
	// The outcome is recorded even when ctx has ended.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if ferr := w.store.FinishJob(fctx, j.ID, w.opt.ID, res); ferr != nil {
		w.opt.Logger.Error("finish job", "job", j.ID, "kind", j.Kind, "err", ferr)
	}
}

// safeCall runs h, turning a panic into an error so one bad job cannot
// stop the worker.
func safeCall(ctx context.Context, h Handler, payload json.RawMessage) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("handler panic: %v", v)
		}
	}()
	return h(ctx, payload)
}
