package sqlstore

import (
	"context"
	"database/sql"
)

// This file lends tests in package sqlstore_test a few internals.

// MigrateTo applies the migrations up to version, to build an older schema.
func (s *Store) MigrateTo(ctx context.Context, version int) error { return s.migrate(ctx, version) }

// Write runs fn as the store runs its write transactions, retries included.
func (s *Store) Write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.write(ctx, func(tx *Tx) error { return fn(tx.Tx) })
}

// RetryAttempts is how many times Write runs a transaction at most.
const RetryAttempts = retryAttempts

// BatchCommits is how many batches the SQLite store has committed.
func (s *Store) BatchCommits() int64 { return s.batch.commits.Load() }

// QueuedWrites is how many write transactions wait for a batch.
func (s *Store) QueuedWrites() int {
	s.batch.mu.Lock()
	defer s.batch.mu.Unlock()
	return len(s.batch.queue)
}
