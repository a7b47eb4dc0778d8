package sqlstore

import (
	"context"
	"fmt"
)

// PingRead checks that the database answers through the read pool. On
// SQLite the writer is a single connection that a long write transaction
// holds; a health check going through it would call the database
// unreachable while it is only busy.
func (s *Store) PingRead(ctx context.Context) error {
	if err := s.rdb.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.d.name, err)
	}
	return nil
}
