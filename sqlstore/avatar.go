package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/roster-app/roster"
)

// This file stores avatars (SPEC U14) in their own table, so listing users
// never reads picture bytes.

var _ roster.AvatarService = (*Store)(nil)

// SetAvatar stores or replaces a user's avatar, stamped with the store's clock.
func (s *Store) SetAvatar(ctx context.Context, a *roster.Avatar) error {
	if a.ContentType != "image/png" && a.ContentType != "image/jpeg" {
		return roster.Errorf(roster.EINVALID, "An avatar is a PNG or JPEG picture.")
	}
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO avatars (user_id, content_type, data, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id) DO UPDATE SET content_type = excluded.content_type, data = excluded.data, updated_at = excluded.updated_at`,
			a.UserID, a.ContentType, a.Data, tx.now)
		if s.d.foreignKeyViolation(err) {
			return notFound("User")
		} else if err != nil {
			return fmt.Errorf("set avatar: %w", err)
		}
		a.UpdatedAt = tx.now
		return nil
	})
}

// Avatar returns the avatar of a user in scope.
func (s *Store) Avatar(ctx context.Context, scope roster.Scope, userID int64) (*roster.Avatar, error) {
	if _, err := findUser(ctx, s.db, scope, userID); err != nil {
		return nil, err
	}
	a := &roster.Avatar{UserID: userID}
	err := s.db.QueryRowContext(ctx, `SELECT content_type, data, updated_at FROM avatars WHERE user_id = $1`, userID).
		Scan(&a.ContentType, &a.Data, &a.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Avatar")
	} else if err != nil {
		return nil, fmt.Errorf("avatar: %w", err)
	}
	return a, nil
}

// AvatarVersions answers the update times of the avatars of userIDs.
func (s *Store) AvatarVersions(ctx context.Context, userIDs []int64) (map[int64]int64, error) {
	out := make(map[int64]int64, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	marks := make([]string, len(userIDs))
	args := make([]any, len(userIDs))
	for i, id := range userIDs {
		marks[i], args[i] = "$"+strconv.Itoa(i+1), id
	}
	rows, err := s.db.QueryContext(ctx, `SELECT user_id, updated_at FROM avatars WHERE user_id IN (`+strings.Join(marks, ", ")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("avatar versions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a roster.Avatar
		if err := rows.Scan(&a.UserID, &a.UpdatedAt); err != nil {
			return nil, fmt.Errorf("avatar versions: %w", err)
		}
		out[a.UserID] = a.UpdatedAt.UnixNano()
	}
	return out, rows.Err()
}

// DeleteAvatar removes a user's avatar.
func (s *Store) DeleteAvatar(ctx context.Context, userID int64) error {
	if _, err := s.exec(ctx, `DELETE FROM avatars WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("delete avatar: %w", err)
	}
	return nil
}
