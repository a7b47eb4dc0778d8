package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
	if err := loadRoles(ctx, s.rdb, found); err != nil {
		return nil, err
	}
	return out, nil
}

// ImportUsers writes a CSV import in one transaction.
func (s *Store) ImportUsers(ctx context.Context, scope roster.Scope, creates []roster.ImportCreate, updates []roster.ImportUpdate) error {
	return s.write(ctx, func(tx *Tx) error {
		for i := range creates {
			c := &creates[i]
			if !scope.Contains(c.User.CompanyID) {
				return atLine(notFound("Company"), c.Line)
			}
			c.User.ID = 0
			if err := createUser(ctx, tx, c.User, c.RoleIDs, c.InvitationHash, c.InvitationExpiry, roster.EventUserCreated); err != nil {
				return atLine(err, c.Line)
			}
			if c.Job != nil {
				c.Job.ID = 0
				if err := insertJobs(ctx, tx, c.Job); err != nil {
					return err
				}
			}
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
