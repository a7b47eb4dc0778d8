package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/roster-app/roster"
)

const companyColumns = `c.id, c.parent_id, c.name, c.created_at, c.updated_at, c.user_count, c.plan, c.reseller, c.admins_appoint_admins`

// addUserCount moves a company's user count by delta in the transaction
// that creates or deletes its users.
func addUserCount(ctx context.Context, tx *Tx, companyID int64, delta int) error {
	if _, err := tx.ExecContext(ctx, `UPDATE companies SET user_count = user_count + $1 WHERE id = $2`, delta, companyID); err != nil {
		return fmt.Errorf("company user count: %w", err)
	}
	return nil
}

// lockCompany locks a company's row until tx ends (FOR NO KEY UPDATE on
// PostgreSQL: users and roles may still be added to it), or answers
// ENOTFOUND. Changes of a company's own columns (name, settings) and of
// the set of its roles take this lock first, after any user locks.
func lockCompany(ctx context.Context, tx *Tx, id int64) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM companies WHERE id = $1`+tx.s.d.lock(lockNoKeyUpdate), id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("Company")
	} else if err != nil {
		return fmt.Errorf("company %d: %w", id, err)
	}
	return nil
}

func scanCompany(rs rowScanner) (*roster.Company, error) {
	var c roster.Company
	var parent sql.NullInt64
	if err := rs.Scan(&c.ID, &parent, &c.Name, &c.CreatedAt, &c.UpdatedAt, &c.UserCount, &c.Plan, &c.Reseller, &c.AdminsAppointAdmins); err != nil {
		return nil, err
	}
	if parent.Valid {
		c.ParentID = &parent.Int64
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}

func findCompany(ctx context.Context, q querier, scope roster.Scope, id int64) (*roster.Company, error) {
	if !scope.Contains(id) {
		return nil, notFound("Company")
	}
	c, err := scanCompany(q.QueryRowContext(ctx, `SELECT `+companyColumns+` FROM companies c WHERE c.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Company")
	} else if err != nil {
		return nil, fmt.Errorf("company %d: %w", id, err)
	}
	return c, nil
}

// CompanyByID returns a company in scope.
func (s *Store) CompanyByID(ctx context.Context, scope roster.Scope, id int64) (*roster.Company, error) {
	return findCompany(ctx, s.rdb, scope, id)
}

// Companies lists the companies in scope, ordered by name.
func (s *Store) Companies(ctx context.Context, scope roster.Scope) ([]*roster.Company, error) {
	var b sqlBuilder
	out := []*roster.Company{}
	if !b.scopeCond(scope, "c.id") {
		return out, nil
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+companyColumns+` FROM companies c`+b.whereSQL()+` ORDER BY c.name, c.id`, b.args...)
	if err != nil {
		return nil, fmt.Errorf("companies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanCompany(rows)
		if err != nil {
			return nil, fmt.Errorf("companies: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DependentIDs returns the IDs of the companies whose parent is id.
func (s *Store) DependentIDs(ctx context.Context, id int64) ([]int64, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id FROM companies WHERE parent_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("dependent companies: %w", err)
	}
	defer rows.Close()
	out := []int64{}
	for rows.Next() {
		var c int64
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("dependent companies: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CreateCompany creates a company with its copies of the default roles.
func (s *Store) CreateCompany(ctx context.Context, c *roster.Company) error {
	return s.write(ctx, func(tx *Tx) error {
		if err := createCompany(ctx, tx, c); err != nil {
			return err
		}
		after := map[string]any{"name": c.Name}
		if c.ParentID != nil {
			after["parent_id"] = *c.ParentID
		}
		return writeEvent(ctx, tx, &roster.Event{Type: roster.EventCompanyCreated, CompanyID: c.ID, After: after})
	})
}

func createCompany(ctx context.Context, tx *Tx, c *roster.Company) error {
	c.Name = strings.TrimSpace(c.Name)
	if c.ParentID != nil {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM companies WHERE id = $1`, *c.ParentID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return &roster.Error{Code: roster.EINVALID, Message: "The parent company does not exist.",
				Fields: []roster.FieldError{{Field: "parent_id", Code: "unknown_company", Message: "The parent company does not exist."}}}
		} else if err != nil {
			return fmt.Errorf("parent company: %w", err)
		}
	}
	c.CreatedAt, c.UpdatedAt = tx.now, tx.now
	if err := tx.QueryRowContext(ctx, `INSERT INTO companies (parent_id, name, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id`,
		c.ParentID, c.Name, tx.now).Scan(&c.ID); err != nil {
		return fmt.Errorf("insert company: %w", err)
	}
	for _, dr := range roster.DefaultRoles {
		r := &roster.Role{CompanyID: int64Ptr(c.ID), Key: dr.Key, Name: dr.Name, Permissions: dr.Permissions}
		if err := createRole(ctx, tx, r); err != nil {
			return err
		}
	}
	return nil
}

// RenameCompany changes a company's name.
func (s *Store) RenameCompany(ctx context.Context, scope roster.Scope, id int64, name string) (*roster.Company, error) {
	name = strings.TrimSpace(name)
	return writeResult(ctx, s, func(tx *Tx) (*roster.Company, error) {
		if !scope.Contains(id) {
			return nil, notFound("Company")
		}
		if err := lockCompany(ctx, tx, id); err != nil {
			return nil, err
		}
		c, err := findCompany(ctx, tx, scope, id)
		if err != nil {
			return nil, err
		}
		if name == c.Name {
			return c, nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE companies SET name = $1, updated_at = $2 WHERE id = $3`, name, tx.now, id); err != nil {
			return nil, fmt.Errorf("rename company: %w", err)
		}
		e := &roster.Event{Type: roster.EventCompanyUpdated, CompanyID: id,
			Before: map[string]any{"name": c.Name}, After: map[string]any{"name": name}}
		c.Name, c.UpdatedAt = name, tx.now
		return c, writeEvent(ctx, tx, e)
	})
}
