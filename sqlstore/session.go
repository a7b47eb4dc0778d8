package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/roster-app/roster"
)

// CreateSession stores a session and sets its ID.
func (s *Store) CreateSession(ctx context.Context, ss *roster.Session) error {
	now := s.now()
	if ss.CreatedAt.IsZero() {
		ss.CreatedAt = now
	}
	if ss.LastSeenAt.IsZero() {
		ss.LastSeenAt = ss.CreatedAt
	}
	ss.CreatedAt = ss.CreatedAt.UTC().Truncate(time.Microsecond)
	ss.LastSeenAt = ss.LastSeenAt.UTC().Truncate(time.Microsecond)
	ss.ExpiresAt = ss.ExpiresAt.UTC().Truncate(time.Microsecond)
	err := s.write(ctx, func(tx *Tx) error {
		// The people behind the session must not be blocked, checked
		// under a lock that a block (which ends their sessions under the
		// user's row lock) waits for, or waits on: a sign-in that checked
		// the password just before a block cannot leave a blocked user
		// with a session.
		for _, id := range []*int64{&ss.UserID, ss.ImpersonatorID} {
			if id == nil {
				continue
			}
			var status roster.UserStatus
			err := tx.QueryRowContext(ctx, `SELECT status FROM users WHERE id = $1`+tx.s.d.lock(lockShare), *id).Scan(&status)
			if errors.Is(err, sql.ErrNoRows) {
				return notFound("User")
			} else if err != nil {
				return err
			}
			if status == roster.StatusBlocked {
				return errInactiveSession
			}
		}
		return tx.QueryRowContext(ctx, `INSERT INTO sessions (token_hash, kind, user_id, parent_id, impersonator_id,
			address, user_agent, created_at, last_seen_at, idle_timeout_seconds, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			ss.TokenHash, ss.Kind, ss.UserID, ss.ParentID, ss.ImpersonatorID, ss.Address, ss.UserAgent,
			ss.CreatedAt, ss.LastSeenAt, int64(ss.IdleTimeout/time.Second), ss.ExpiresAt).Scan(&ss.ID)
	})
	if s.d.foreignKeyViolation(err) {
		// The parent session was deleted meanwhile.
		return notFound("Session")
	} else if err != nil {
		if _, ours := errors.AsType[*roster.Error](err); ours {
			return err
		}
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// errInactiveSession refuses a session for someone blocked since their
// credentials were checked.
var errInactiveSession = roster.Errorf(roster.EUNAUTHORIZED, "This account cannot sign in now.")

// SessionByTokenHash returns a live session; expired ones are ENOTFOUND.
func (s *Store) SessionByTokenHash(ctx context.Context, hash []byte) (*roster.Session, error) {
	var ss roster.Session
	var parent, imp sql.NullInt64
	var idle int64
	v := &ss.ActorVersion
	// The versions of the session's actor come with the session (see
	// migration 0013): one indexed read decides whether a cached actor
	// still holds.
	err := s.rdb.QueryRowContext(ctx, `SELECT s.id, s.token_hash, s.kind, s.user_id, s.parent_id, s.impersonator_id, s.address,
		s.user_agent, s.created_at, s.last_seen_at, s.idle_timeout_seconds, s.expires_at,
		u.version, c.version, coalesce(i.version, 0), coalesce(ic.version, 0), e.version
		FROM sessions s JOIN users u ON u.id = s.user_id JOIN companies c ON c.id = u.company_id
		LEFT JOIN users i ON i.id = s.impersonator_id LEFT JOIN companies ic ON ic.id = i.company_id
		CROSS JOIN auth_epoch e
		WHERE s.token_hash = $1`, hash).
		Scan(&ss.ID, &ss.TokenHash, &ss.Kind, &ss.UserID, &parent, &imp, &ss.Address, &ss.UserAgent,
			&ss.CreatedAt, &ss.LastSeenAt, &idle, &ss.ExpiresAt,
			&v.User, &v.Company, &v.Impersonator, &v.ImpersonatorCompany, &v.Epoch)
	v.Known = true
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Session")
	} else if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	if parent.Valid {
		ss.ParentID = &parent.Int64
	}
	if imp.Valid {
		ss.ImpersonatorID = &imp.Int64
	}
	ss.IdleTimeout = time.Duration(idle) * time.Second
	ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = ss.CreatedAt.UTC(), ss.LastSeenAt.UTC(), ss.ExpiresAt.UTC()
	if ss.Expired(s.now()) {
		return nil, notFound("Session")
	}
	return &ss, nil
}

// touchInterval is how far apart activity is recorded: a request stream
// does not turn every read into a write.
const touchInterval = roster.TouchInterval

// TouchSession records activity at most once every few seconds.
func (s *Store) TouchSession(ctx context.Context, id int64, at time.Time) error {
	at = at.UTC().Truncate(time.Microsecond)
	if _, err := s.exec(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $3`,
		at, id, at.Add(-touchInterval)); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// DeleteSession ends one session (and the switch sessions made from it).
func (s *Store) DeleteSession(ctx context.Context, id int64) error {
	if _, err := s.exec(ctx, `DELETE FROM sessions WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of a user, and every switch
// session they act through.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64) error {
	return s.retry(ctx, func() error { return deleteUserSessions(ctx, s.db, userID) })
}

// DeleteExpiredSessions removes sessions past their idle or absolute expiry.
func (s *Store) DeleteExpiredSessions(ctx context.Context) (int, error) {
	now := s.now()
	var res sql.Result
	err := s.retry(ctx, func() error {
		var err error
		res, err = s.d.deleteExpiredSessions(ctx, s.db, now)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ActorCache is the store's cache of resolved actors, kept valid by the
// versions SessionByTokenHash reads (roster.ActorForSession uses it).
func (s *Store) ActorCache() *roster.ActorCache { return s.actors }
