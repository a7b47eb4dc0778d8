package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/roster-app/roster"
)

// This file stores user preferences (SPEC U3) as name-value rows, removed
// with the user.

// Limits on a preference, so the table stays small.
const (
	maxPreferenceName  = 64
	maxPreferenceValue = 256
)

// UserPreference returns a user's preference by name, "" when unset.
func (s *Store) UserPreference(ctx context.Context, userID int64, name string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM user_preferences WHERE user_id = $1 AND name = $2`, userID, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("user preference: %w", err)
	}
	return v, nil
}

// SetUserPreference stores or replaces a user's preference; an empty value
// removes it. ENOTFOUND when the user does not exist.
func (s *Store) SetUserPreference(ctx context.Context, userID int64, name, value string) error {
	if name == "" || len(name) > maxPreferenceName || len(value) > maxPreferenceValue {
		return roster.Errorf(roster.EINVALID, "A preference has a name of at most %d bytes and a value of at most %d.", maxPreferenceName, maxPreferenceValue)
	}
	if value == "" {
		if _, err := s.exec(ctx, `DELETE FROM user_preferences WHERE user_id = $1 AND name = $2`, userID, name); err != nil {
			return fmt.Errorf("delete user preference: %w", err)
		}
		return nil
	}
	// Inserting from users makes a missing user affect no row, rather
	// than fail on the foreign key in an engine-specific way.
	res, err := s.exec(ctx, `INSERT INTO user_preferences (user_id, name, value) SELECT id, $2, $3 FROM users WHERE id = $1
		ON CONFLICT (user_id, name) DO UPDATE SET value = excluded.value`, userID, name, value)
	if s.d.foreignKeyViolation(err) {
		// The user was deleted meanwhile.
		return notFound("User")
	} else if err != nil {
		return fmt.Errorf("set user preference: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return notFound("User")
	}
	return nil
}
