package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/observe"
)

var _ roster.JobService = (*Store)(nil)

const jobColumns = `id, kind, payload, state, run_at, attempts, max_attempts, last_error, created_at, updated_at`

func scanJob(r rowScanner) (*roster.Job, error) {
	var j roster.Job
	var payload string
	if err := r.Scan(&j.ID, &j.Kind, &payload, &j.State, &j.RunAt, &j.Attempts, &j.MaxAttempts, &j.LastError,
		&j.CreatedAt, &j.UpdatedAt); err != nil {
		return nil, err
	}
	j.Payload = []byte(payload)
	j.RunAt, j.CreatedAt, j.UpdatedAt = j.RunAt.UTC(), j.CreatedAt.UTC(), j.UpdatedAt.UTC()
	return &j, nil
}

// EnqueueJob stores one job in its own transaction.
func (s *Store) EnqueueJob(ctx context.Context, j *roster.Job) error {
	return s.write(ctx, func(tx *Tx) error { return insertJobs(ctx, tx, j) })
}

// insertJobs writes jobs in tx, the transaction of the change causing them,
// so a job exists exactly when its change was committed.
func insertJobs(ctx context.Context, tx *Tx, jobs ...*roster.Job) error {
	for _, j := range jobs {
		if j == nil {
			continue
		}
		if j.Kind == "" || len(j.Payload) == 0 {
			return fmt.Errorf("enqueue job: kind and payload are required")
		}
		if j.MaxAttempts <= 0 {
			j.MaxAttempts = roster.DefaultJobMaxAttempts
		}
		if j.RunAt.IsZero() || j.RunAt.Before(tx.now) {
			j.RunAt = tx.now
		}
		j.RunAt = j.RunAt.UTC().Truncate(time.Microsecond)
		j.State, j.CreatedAt, j.UpdatedAt = roster.JobPending, tx.now, tx.now
		if err := tx.QueryRowContext(ctx, `INSERT INTO jobs (kind, payload, state, run_at, attempts, max_attempts,
			created_at, updated_at) VALUES ($1, $2, $3, $4, 0, $5, $6, $6) RETURNING id`,
			j.Kind, string(j.Payload), j.State, j.RunAt, j.MaxAttempts, tx.now).Scan(&j.ID); err != nil {
			return fmt.Errorf("enqueue job %s: %w", j.Kind, err)
		}
	}
	return nil
}

// ClaimJobs leases due jobs to worker. Due means pending with run_at
// reached, or running with an expired lease (its worker died). On
// PostgreSQL the candidate rows are locked with FOR UPDATE SKIP LOCKED, so
// concurrent instances claim disjoint sets without waiting; on SQLite the
// one statement runs in an immediate transaction holding the write lock.
func (s *Store) ClaimJobs(ctx context.Context, worker string, kinds []string, limit int, lease time.Duration) ([]*roster.Job, error) {
	if len(kinds) == 0 || limit <= 0 {
		return nil, nil
	}
	return writeResult(ctx, s, func(tx *Tx) ([]*roster.Job, error) {
		return claimJobs(ctx, tx, worker, kinds, limit, lease)
	})
}

func claimJobs(ctx context.Context, tx *Tx, worker string, kinds []string, limit int, lease time.Duration) ([]*roster.Job, error) {
	var b sqlBuilder
	pWorker, pUntil, pNow := b.arg(worker), b.arg(tx.now.Add(lease)), b.arg(tx.now)
	ps := make([]string, len(kinds))
	for i, k := range kinds {
		ps[i] = b.arg(k)
	}
	lock := ""
	if tx.s.d.name == dialectPostgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	// The due jobs are the pending ones whose time has come and the running
	// ones whose lease ran out. Each is read in (run_at, id) order from
	// jobs_due and stops at limit: as one condition with OR, both engines
	// read and sorted every due job on each claim, so a backlog (a CSV
	// import's invitations) made each claim slower than the last.
	kindIn, n := `kind IN (`+strings.Join(ps, ", ")+`)`, b.arg(limit)
	q := `UPDATE jobs SET state = 'running', locked_by = ` + pWorker + `, locked_until = ` + pUntil + `,
		attempts = attempts + 1, updated_at = ` + pNow + `
		WHERE id IN (SELECT id FROM (
			SELECT id, run_at FROM (SELECT id, run_at FROM jobs WHERE state = 'pending' AND run_at <= ` + pNow + ` AND ` + kindIn + `
				ORDER BY run_at, id LIMIT ` + n + lock + `) pending
			UNION ALL
			SELECT id, run_at FROM (SELECT id, run_at FROM jobs WHERE state = 'running' AND locked_until <= ` + pNow + ` AND ` + kindIn + `
				ORDER BY run_at, id LIMIT ` + n + lock + `) expired
		) due ORDER BY run_at, id LIMIT ` + n + `)
		RETURNING ` + jobColumns
	rows, err := tx.QueryContext(ctx, q, b.args...)
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	var out []*roster.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("claim jobs: %w", err)
		}
		out = append(out, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	return out, nil
}

// FinishJob records how a claimed job ended, provided worker still holds it.
func (s *Store) FinishJob(ctx context.Context, id int64, worker string, res roster.JobResult) error {
	switch res.State {
	case roster.JobDone, roster.JobPending, roster.JobDead, roster.JobHeld:
	default:
		return fmt.Errorf("finish job: bad state %q", res.State)
	}
	now := s.now()
	runAt := res.RunAt.UTC().Truncate(time.Microsecond)
	if runAt.IsZero() {
		runAt = now
	}
	msg := res.Error
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	r, err := s.exec(ctx, `UPDATE jobs SET state = $1, last_error = $2, run_at = $3, locked_by = '',
		locked_until = NULL, updated_at = $4 WHERE id = $5 AND locked_by = $6 AND state = 'running'`,
		res.State, msg, runAt, now, id, worker)
	if err != nil {
		return fmt.Errorf("finish job: %w", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return roster.Errorf(roster.ECONFLICT, "Job %d is no longer held by this worker.", id)
	}
	return nil
}

// Jobs lists jobs newest first.
func (s *Store) Jobs(ctx context.Context, f roster.JobFilter) ([]*roster.Job, error) {
	var b sqlBuilder
	if f.Kind != "" {
		b.cond("kind = " + b.arg(f.Kind))
	}
	if f.State != "" {
		b.cond("state = " + b.arg(f.State))
	}
	if f.BeforeID > 0 {
		b.cond("id < " + b.arg(f.BeforeID))
	}
	limit := f.Limit
	if limit <= 0 || limit > roster.MaxPageSize {
		limit = roster.MaxPageSize
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs`+b.whereSQL()+` ORDER BY id DESC LIMIT `+b.arg(limit), b.args...)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	defer rows.Close()
	out := []*roster.Job{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// PurgeJobs deletes finished jobs (done, dead or held) last changed before
// before, and clears password-reset tokens that have expired, so neither
// old mail nor dead links linger. It returns how many jobs went.
func (s *Store) PurgeJobs(ctx context.Context, before time.Time) (int, error) {
	before = before.UTC().Truncate(time.Microsecond)
	r, err := s.exec(ctx, `DELETE FROM jobs WHERE state IN ('done', 'dead', 'held') AND updated_at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("purge jobs: %w", err)
	}
	if _, err := s.exec(ctx, updateUsers+`reset_hash = NULL, reset_expires_at = NULL
		WHERE reset_hash IS NOT NULL AND reset_expires_at < $1`, s.now()); err != nil {
		return 0, fmt.Errorf("purge reset tokens: %w", err)
	}
	n, _ := r.RowsAffected()
	return int(n), nil
}

// JobStats answers the queue by kind for the metrics: queued (pending or
// running), dead and held counts, and when the oldest queued job was
// written. Done jobs are not counted.
func (s *Store) JobStats(ctx context.Context) ([]observe.JobStats, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT kind, state, COUNT(*) FROM jobs
		WHERE state IN ('pending', 'running', 'dead', 'held') GROUP BY kind, state ORDER BY kind`)
	if err != nil {
		return nil, fmt.Errorf("job stats: %w", err)
	}
	defer rows.Close()
	byKind := map[string]*observe.JobStats{}
	var out []*observe.JobStats
	for rows.Next() {
		var kind, state string
		var n int
		if err := rows.Scan(&kind, &state, &n); err != nil {
			return nil, fmt.Errorf("job stats: %w", err)
		}
		st := byKind[kind]
		if st == nil {
			st = &observe.JobStats{Kind: kind}
			byKind[kind] = st
			out = append(out, st)
		}
		switch state {
		case roster.JobPending, roster.JobRunning:
			st.Queued += n
		case roster.JobDead:
			st.Dead += n
		case roster.JobHeld:
			st.Held += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("job stats: %w", err)
	}
	rows.Close()
	// Ids grow with time: the smallest queued id of a kind is its oldest.
	rows, err = s.rdb.QueryContext(ctx, `SELECT kind, created_at FROM jobs WHERE id IN
		(SELECT MIN(id) FROM jobs WHERE state IN ('pending', 'running') GROUP BY kind)`)
	if err != nil {
		return nil, fmt.Errorf("job stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var at time.Time
		if err := rows.Scan(&kind, &at); err != nil {
			return nil, fmt.Errorf("job stats: %w", err)
		}
		if st := byKind[kind]; st != nil {
			st.Oldest = at.UTC()
		}
	}
	res := make([]observe.JobStats, len(out))
	for i, st := range out {
		res[i] = *st
	}
	return res, rows.Err()
}

// Pools names the connection pools for their metrics: one on PostgreSQL,
// the writer and the readers on SQLite.
func (s *Store) Pools() map[string]*sql.DB {
	if s.rdb == s.db {
		return map[string]*sql.DB{"main": s.db.DB}
	}
	return map[string]*sql.DB{"write": s.db.DB, "read": s.rdb.DB}
}
