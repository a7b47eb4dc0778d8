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
