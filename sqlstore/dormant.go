package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/roster-app/roster"
)

// idleSince is when a user on alias u was last active: the last sign-in,
// or the creation for one who never signed in.
const idleSince = `coalesce(u.last_login_at, u.created_at)`

// notMainAdmin keeps the Main administrator out of dormant blocking: the
// installation must keep an account that can sign in.
const notMainAdmin = `NOT EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
	WHERE ur.user_id = u.id AND r.key = '` + roster.RoleMainAdmin + `')`

// DormantCompanies lists the settings of the companies with
// dormant_block_days on.
func (s *Store) DormantCompanies(ctx context.Context) ([]*roster.CompanySettings, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, invitation_ttl_hours, password_min_length, idle_timeout_seconds, dormant_block_days
		FROM companies WHERE dormant_block_days > 0 ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("dormant companies: %w", err)
	}
	defer rows.Close()
	var out []*roster.CompanySettings
	for rows.Next() {
		var cs roster.CompanySettings
		if err := rows.Scan(&cs.CompanyID, &cs.InvitationTTLHours, &cs.PasswordMinLength, &cs.IdleTimeoutSeconds, &cs.DormantBlockDays); err != nil {
			return nil, fmt.Errorf("dormant companies: %w", err)
		}
		out = append(out, &cs)
	}
	return out, rows.Err()
}

// toWarnCond selects, on alias u, the active users with an e-mail address
// idle since before $1 and not warned since they were last active.
const toWarnCond = `u.status = 'active' AND u.email <> '' AND ` + idleSince + ` < $1
	AND (u.dormant_warned_at IS NULL OR u.dormant_warned_at < ` + idleSince + `) AND ` + notMainAdmin

// DormantToWarn returns up to limit users of a company due for a warning.
func (s *Store) DormantToWarn(ctx context.Context, companyID int64, idleBefore time.Time, limit int) ([]roster.DormantUser, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+userColumns+`, `+idleSince+` FROM users u
		WHERE `+toWarnCond+` AND u.company_id = $2 ORDER BY u.id LIMIT $3`, idleBefore.UTC(), companyID, limit)
	if err != nil {
		return nil, fmt.Errorf("dormant users: %w", err)
	}
	defer rows.Close()
	var out []roster.DormantUser
	for rows.Next() {
		var at time.Time
		u, err := scanUser(scanTime{rows, &at})
		if err != nil {
			return nil, fmt.Errorf("dormant users: %w", err)
		}
		out = append(out, roster.DormantUser{User: u, IdleSince: at.UTC()})
	}
	return out, rows.Err()
}

// scanTime scans a user row followed by a time expression, which SQLite
// answers as unix microseconds (an expression has no declared type for
// the driver to convert by).
type scanTime struct {
	rs rowScanner
	at *time.Time
}

func (p scanTime) Scan(dest ...any) error {
	var v any
	if err := p.rs.Scan(append(dest, &v)...); err != nil {
		return err
	}
	switch t := v.(type) {
	case time.Time:
		*p.at = t
	case int64:
		*p.at = time.UnixMicro(t)
	default:
		return fmt.Errorf("idle since: unexpected %T", v)
	}
	return nil
}

// WarnDormant records a warning and writes its e-mail job, if the user
// still qualifies once locked.
func (s *Store) WarnDormant(ctx context.Context, userID int64, idleBefore time.Time, job *roster.Job) (bool, error) {
	return writeResult(ctx, s, func(tx *Tx) (bool, error) {
		u, err := lockUser(ctx, tx, roster.Scope{All: true}, userID)
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return false, nil
		} else if err != nil {
			return false, err
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM users u WHERE `+toWarnCond+` AND u.id = $2`, idleBefore.UTC(), userID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		} else if err != nil {
			return false, fmt.Errorf("warn dormant user: %w", err)
		}
		if _, err := tx.ExecContext(ctx, updateUsers+`dormant_warned_at = $1 WHERE id = $2`, tx.now, userID); err != nil {
			return false, fmt.Errorf("warn dormant user: %w", err)
		}
		e := userEvent(roster.EventUserDormantWarned, u)
		e.After = map[string]any{"email": u.Email}
		if err := writeEvent(ctx, tx, e); err != nil {
			return false, err
		}
		return true, insertJobs(ctx, tx, job)
	})
}

// toBlockCond selects, on alias u, the active users of company $3 idle
// since before $1 who were warned before $2 (and since they were last
// active) or have no e-mail address to warn.
const toBlockCond = `u.status = 'active' AND ` + idleSince + ` < $1 AND u.company_id = $3
	AND (u.email = '' OR (u.dormant_warned_at >= ` + idleSince + ` AND u.dormant_warned_at <= $2)) AND ` + notMainAdmin

// BlockDormant blocks up to limit of a company's dormant users, each with
// an event carrying comment, in one transaction.
func (s *Store) BlockDormant(ctx context.Context, companyID int64, idleBefore, warnedBefore time.Time, comment string, limit int) (int, error) {
	return writeResult(ctx, s, func(tx *Tx) (int, error) {
		rows, err := tx.QueryContext(ctx, `SELECT u.id FROM users u WHERE `+toBlockCond+` ORDER BY u.id LIMIT $4`,
			idleBefore.UTC(), warnedBefore.UTC(), companyID, limit)
		if err != nil {
			return 0, fmt.Errorf("dormant users: %w", err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return 0, fmt.Errorf("dormant users: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("dormant users: %w", err)
		}
		if err := lockUserRows(ctx, tx, ids); err != nil {
			return 0, err
		}
		n := 0
		for _, id := range ids {
			// Checked again under lock: a sign-in in between keeps the account.
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM users u WHERE `+toBlockCond+` AND u.id = $4`,
				idleBefore.UTC(), warnedBefore.UTC(), companyID, id).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			} else if err != nil {
				return 0, fmt.Errorf("dormant user: %w", err)
			}
			u, err := findUser(ctx, tx, roster.Scope{All: true}, id)
			if err != nil {
				return 0, err
			}
			changed, err := setUserBlocked(ctx, tx, u, comment, true)
			if err != nil {
				return 0, err
			}
			if changed {
				n++
			}
		}
		return n, nil
	})
}

// EnsureJob writes j unless a job of its kind is pending or running.
func (s *Store) EnsureJob(ctx context.Context, j *roster.Job) (bool, error) {
	return writeResult(ctx, s, func(tx *Tx) (bool, error) {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM jobs WHERE kind = $1 AND state IN ('pending', 'running')`,
			j.Kind).Scan(&n); err != nil {
			return false, fmt.Errorf("ensure job: %w", err)
		}
		if n > 0 {
			return false, nil
		}
		return true, insertJobs(ctx, tx, j)
	})
}
