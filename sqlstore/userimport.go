package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/roster-app/roster"
)

// UsersByUsernames returns the users whose e-mail or login is one of
// names, keyed by each of their non-empty e-mail and login.
func (s *Store) UsersByUsernames(ctx context.Context, names []string) (map[string]*roster.User, error) {
	out := map[string]*roster.User{}
	var found []*roster.User
	for len(names) > 0 {
		n := min(len(names), 400)
		var b sqlBuilder
		ps := make([]string, n)
		for i, name := range names[:n] {
			ps[i] = b.arg(name)
		}
		in := strings.Join(ps, ", ")
		rows, err := s.rdb.QueryContext(ctx, `SELECT `+userColumns+` FROM users u WHERE (u.email IN (`+in+`) AND u.email <> '')
			OR (u.login IN (`+in+`) AND u.login <> '')`, b.args...)
		if err != nil {
			return nil, fmt.Errorf("users by username: %w", err)
		}
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("users by username: %w", err)
			}
			if out[u.Email] == nil && out[u.Login] == nil {
				found = append(found, u)
			}
			for _, k := range []string{u.Email, u.Login} {
				if k != "" {
					out[k] = u
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("users by username: %w", err)
		}
		names = names[n:]
	}
	if err := loadUserLists(ctx, s.rdb, found); err != nil {
		return nil, err
	}
	return out, nil
}

// ImportUsers writes a CSV import in one transaction.
func (s *Store) ImportUsers(ctx context.Context, scope roster.Scope, creates []roster.ImportCreate, updates []roster.ImportUpdate) error {
	if s.d.name != dialectPostgres {
		// SQLite keeps each statement's undo (the statement journal of an
		// insert that fires the search-index trigger) in a temporary file
		// by default: a file write per row. For the import, memory: the
		// writer is one connection, and the setting cannot change inside
		// a transaction.
		if _, err := s.db.ExecContext(ctx, `PRAGMA temp_store = MEMORY`); err == nil {
			defer s.db.ExecContext(context.WithoutCancel(ctx), `PRAGMA temp_store = DEFAULT`)
		}
	}
	return s.write(ctx, func(tx *Tx) error {
		for _, c := range creates {
			if !scope.Contains(c.User.CompanyID) {
				return atLine(notFound("Company"), c.Line)
			}
		}
		if err := importCreates(ctx, tx, creates); err != nil {
			return err
		}
		for _, up := range updates {
			u, err := onUser(ctx, tx, scope, up.UserID)
			if err != nil {
				return atLine(err, up.Line)
			}
			if _, err := updateUserFields(ctx, tx, u, up.Update); err != nil {
				return atLine(err, up.Line)
			}
			if up.RoleIDs != nil {
				if _, err := setUserRoles(ctx, tx, u, up.RoleIDs); err != nil {
					return atLine(err, up.Line)
				}
			}
		}
		return nil
	})
}

// atLine places an error about one user of an import on its line: its
// field errors carry the line; an error without fields becomes one.
func atLine(err error, line int) error {
	var e *roster.Error
	if !errors.As(err, &e) {
		return err
	}
	out := *e
	if len(out.Fields) == 0 {
		out.Fields = []roster.FieldError{{Code: strings.ToLower(e.Code), Message: e.Message}}
	} else {
		out.Fields = append([]roster.FieldError(nil), e.Fields...)
	}
	for i := range out.Fields {
		out.Fields[i].Line = line
	}
	return &out
}

// importCreates inserts the new users of an import into one company: the
// rules createUser applies per user (the company exists, the roles are
// its own or system roles, each grant within the actor's) are checked
// once for the whole set, and the rows go in through statements prepared
// once — a 100,000-row import spends its time writing, not parsing SQL.
// Uniqueness is the unique indexes' job here (the workflow checked it
// before); a violation names the row's line.
func importCreates(ctx context.Context, tx *Tx, creates []roster.ImportCreate) error {
	if len(creates) == 0 {
		return nil
	}
	companyID := creates[0].User.CompanyID
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM companies WHERE id = $1`, companyID).Scan(&one); err != nil {
		return atLine(notFound("Company"), creates[0].Line)
	}
	var all []int64
	for _, c := range creates {
		if c.User.CompanyID != companyID {
			return fmt.Errorf("import: users of several companies")
		}
		all = append(all, c.RoleIDs...)
	}
	all = dedupe(all)
	roles, err := rolesForUser(ctx, tx, companyID, all)
	if err != nil {
		return atLine(err, creates[0].Line)
	}
	company, err := findCompany(ctx, tx, roster.Scope{All: true}, companyID)
	if err != nil {
		return atLine(err, creates[0].Line)
	}
	for _, id := range all {
		if err := tx.actor.CheckGrant(roles[id], company); err != nil {
			return atLine(err, creates[0].Line)
		}
	}
	// Subscribers of user.created (notifications, webhooks) need the full
	// event path; without any, the event row alone is the whole story.
	fanout, err := eventFanout(ctx, tx, companyID, roster.EventUserCreated)
	if err != nil {
		return err
	}
	insUser, err := tx.PrepareContext(ctx, `INSERT INTO users (company_id, auth_method, email, login, first_name, middle_name,
		last_name, phone, work_phone, position, status, name_set_by_self, password_hash, password_temporary,
		created_by, created_at, updated_at, invitation_hash, invitation_expires_at, sort_name, search, lang)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17, $18, $19, $20, $21)
		RETURNING id`)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer insUser.Close()
	insRole, err := tx.PrepareContext(ctx, `INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2)`)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer insRole.Close()
	insEvent, err := tx.PrepareContext(ctx, `INSERT INTO events (company_id, type, actor_id, actor_name, impersonator_id,
		impersonator_name, target_user_id, target_name, target_role_id, address, before, after, comment, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer insEvent.Close()
	insJob, err := tx.PrepareContext(ctx, `INSERT INTO jobs (kind, payload, state, run_at, attempts, max_attempts,
		created_at, updated_at) VALUES ($1, $2, $3, $4, 0, $5, $6, $6)`)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer insJob.Close()

	var actorID, impID *int64
	var actorName, impName, address string
	if a := tx.actor; a != nil {
		if a.User != nil {
			actorID, actorName = int64Ptr(a.User.ID), a.User.DisplayName()
		}
		if a.Impersonator != nil {
			impID, impName = int64Ptr(a.Impersonator.ID), a.Impersonator.DisplayName()
		}
		address = a.Address
	}
	for i := range creates {
		c := &creates[i]
		u := c.User
		u.Email, u.Login = roster.NormalizeEmail(u.Email), roster.NormalizeLogin(u.Login)
		if u.CreatedBy == nil && actorID != nil {
			u.CreatedBy = actorID
		}
		u.CreatedAt, u.UpdatedAt = tx.now, tx.now
		var invExpiry any
		if c.InvitationHash != nil {
			t := c.InvitationExpiry.UTC().Truncate(time.Microsecond)
			invExpiry, u.InvitationExpiresAt = t, &t
		}
		err := insUser.QueryRowContext(ctx, u.CompanyID, string(u.AuthMethod), u.Email, u.Login, u.FirstName, u.MiddleName, u.LastName, u.Phone,
			u.WorkPhone, u.Position, string(u.Status), u.NameSetBySelf, u.PasswordHash, u.PasswordTemporary,
			u.CreatedBy, tx.now, c.InvitationHash, invExpiry, sortName(u), searchText(u), roster.NormalizeUserLang(u.Lang)).Scan(&u.ID)
		if con, ok := tx.s.d.uniqueViolation(err); ok {
			if strings.Contains(con, "login") {
				return atLine(roster.Conflict("login", "A user with this login already exists."), c.Line)
			}
			return atLine(roster.Conflict("email", "A user with this e-mail already exists."), c.Line)
		} else if err != nil {
			return fmt.Errorf("import user: %w", err)
		}
		u.Roles = u.Roles[:0]
		for _, id := range dedupe(c.RoleIDs) {
			if _, err := insRole.ExecContext(ctx, u.ID, id); err != nil {
				return fmt.Errorf("import user role: %w", err)
			}
			r := roles[id]
			u.Roles = append(u.Roles, roster.RoleRef{ID: r.ID, Key: r.Key, Name: r.Name})
		}
		after := userFields(u)
		after["roles"] = roleKeys(u.Roles)
		if c.InvitationHash != nil {
			after["invitation_expires_at"] = u.InvitationExpiresAt
		}
		e := &roster.Event{Type: roster.EventUserCreated, CompanyID: u.CompanyID, TargetUserID: int64Ptr(u.ID), TargetName: u.DisplayName(), After: after}
		if fanout {
			if err := writeEvent(ctx, tx, e); err != nil {
				return err
			}
		} else {
			data, err := jsonOrNil(after)
			if err != nil {
				return err
			}
			if _, err := insEvent.ExecContext(ctx, e.CompanyID, e.Type, actorID, actorName, impID, impName, e.TargetUserID,
				e.TargetName, e.TargetRoleID, address, nil, data, "", tx.now); err != nil {
				return fmt.Errorf("import event: %w", err)
			}
		}
		if j := c.Job; j != nil {
			if j.MaxAttempts <= 0 {
				j.MaxAttempts = roster.DefaultJobMaxAttempts
			}
			j.State, j.RunAt, j.CreatedAt, j.UpdatedAt = roster.JobPending, tx.now, tx.now, tx.now
			if _, err := insJob.ExecContext(ctx, j.Kind, string(j.Payload), j.State, j.RunAt, j.MaxAttempts, tx.now); err != nil {
				return fmt.Errorf("import job: %w", err)
			}
		}
	}
	return addUserCount(ctx, tx, companyID, len(creates))
}

// eventFanout reports whether an event of typ in company goes anywhere
// beyond the log: a notification subscription or a webhook.
func eventFanout(ctx context.Context, tx *Tx, companyID int64, typ string) (bool, error) {
	if !roster.InNotificationCatalog(typ) {
		return false, nil
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM notification_subscriptions ns JOIN users u ON u.id = ns.user_id
		WHERE ns.event_type = $1 AND u.company_id = $2`, typ, companyID).Scan(&n); err != nil {
		return false, fmt.Errorf("subscribers: %w", err)
	}
	if n > 0 {
		return true, nil
	}
	hooks, err := subscribedWebhooks(ctx, tx, companyID, typ)
	return len(hooks) > 0, err
}
