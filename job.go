package roster

import (
	"context"
	"encoding/json"
	"time"
)

// Job states. A job is written pending in the transaction of the change
// that causes it, claimed (running, with a lease) by one worker, and ends
// done, dead (out of attempts) or held (kept undelivered on purpose, such
// as e-mail while no SMTP server is configured).
const (
	JobPending = "pending"
	JobRunning = "running"
	JobDone    = "done"
	JobDead    = "dead"
	JobHeld    = "held"
)

// DefaultJobMaxAttempts is how often a job is tried before it is dead.
const DefaultJobMaxAttempts = 8

// Job is one durable unit of background work. Payload is the kind's own
// JSON; the worker hands it to the handler registered for Kind.
type Job struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	Payload     json.RawMessage `json:"-"`
	State       string          `json:"state"`
	RunAt       time.Time       `json:"run_at"`
	Attempts    int             `json:"attempts"`
	MaxAttempts int             `json:"max_attempts"`
	LastError   string          `json:"last_error"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// NewJob returns a pending job of kind carrying payload encoded as JSON.
func NewJob(kind string, payload any) (*Job, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	return &Job{Kind: kind, Payload: b, State: JobPending, MaxAttempts: DefaultJobMaxAttempts}, nil
}

// JobResult is how a claimed job ended: State is JobDone, JobPending (retry
// at RunAt), JobDead or JobHeld; Error says why it did not succeed.
type JobResult struct {
	State string
	Error string
	RunAt time.Time
}

// JobFilter selects jobs to list, newest first.
type JobFilter struct {
	Kind  string
	State string
	// BeforeID pages backwards: only jobs with a smaller ID.
	BeforeID int64
	Limit    int
}

// JobService stores jobs. Claiming uses a lease: a job claimed by a worker
// that dies is claimed again once its lease ends, so a restart loses
// nothing, and no two workers hold one job at the same time.
type JobService interface {
	// EnqueueJob stores a job on its own; most jobs are written instead by
	// the store method making the change that causes them.
	EnqueueJob(ctx context.Context, j *Job) error
	// ClaimJobs leases up to limit due jobs of the given kinds to worker
	// until now+lease and counts an attempt on each.
	ClaimJobs(ctx context.Context, worker string, kinds []string, limit int, lease time.Duration) ([]*Job, error)
	// FinishJob records the result of a job the worker still holds;
	// ECONFLICT when the lease was lost to another worker.
	FinishJob(ctx context.Context, id int64, worker string, res JobResult) error
	// Jobs lists jobs with their payloads, newest first.
	Jobs(ctx context.Context, f JobFilter) ([]*Job, error)
}
