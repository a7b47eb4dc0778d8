package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/roster-app/roster"
)

// HasMainAdmin reports whether a Main administrator exists.
func (s *Store) HasMainAdmin(ctx context.Context) (bool, error) {
	return hasMainAdmin(ctx, s.rdb)
}

func hasMainAdmin(ctx context.Context, q querier) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM user_roles ur JOIN roles r ON r.id = ur.role_id
		WHERE r.company_id IS NULL AND r.key = $1`, roster.RoleMainAdmin).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("main admin: %w", err)
	}
	return n > 0, nil
}

// CreateMainAdmin creates the first Main administrator in the platform
// company; ECONFLICT when one exists already.
func (s *Store) CreateMainAdmin(ctx context.Context, u *roster.User) error {
	return s.write(ctx, func(tx *Tx) error { return createMainAdmin(ctx, tx, u) })
}

// createMainAdmin creates the first Main administrator with the Main
// administrator role locked, so that of two at once the second finds one.
func createMainAdmin(ctx context.Context, tx *Tx, u *roster.User) error {
	var roleID int64
	if err := tx.QueryRowContext(ctx, `SELECT id FROM roles WHERE company_id IS NULL AND key = $1`+tx.s.d.lock(lockNoKeyUpdate),
		roster.RoleMainAdmin).Scan(&roleID); err != nil {
		return fmt.Errorf("main admin role (is the schema migrated?): %w", err)
	}
	if has, err := hasMainAdmin(ctx, tx); err != nil {
		return err
	} else if has {
		return roster.Errorf(roster.ECONFLICT, "A Main administrator exists already.")
	}
	u.CompanyID = roster.PlatformCompanyID
	if u.Status == "" {
		u.Status = roster.StatusActive
	}
	tx.actor = nil // bootstrap: no actor, and no escalation check
	return createUser(ctx, tx, u, []int64{roleID}, nil, tx.now, roster.EventMainAdminCreated)
}

// Secret returns an installation-wide random secret by name, creating it on
// first use.
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	s.secretsMu.Lock()
	if v, ok := s.secrets[name]; ok {
		s.secretsMu.Unlock()
		return v, nil
	}
	s.secretsMu.Unlock()
	key := "secret:" + name
	var val string
	err := s.rdb.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, key).Scan(&val)
	if errors.Is(err, sql.ErrNoRows) {
		b := make([]byte, 32)
		rand.Read(b)
		if _, err := s.exec(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
			key, hex.EncodeToString(b)); err != nil {
			return nil, fmt.Errorf("create secret: %w", err)
		}
		err = s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, key).Scan(&val)
	}
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	b, err := hex.DecodeString(val)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	s.secretsMu.Lock()
	s.secrets[name] = b
	s.secretsMu.Unlock()
	return b, nil
}

const bootstrapSetting = "bootstrap_token_hash"

// SetBootstrapToken stores the hash of the one-time admin-creation link,
// replacing any earlier one.
func (s *Store) SetBootstrapToken(ctx context.Context, hash []byte) error {
	if _, err := s.exec(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, bootstrapSetting, hex.EncodeToString(hash)); err != nil {
		return fmt.Errorf("set bootstrap token: %w", err)
	}
	return nil
}

// UseBootstrapToken consumes the one-time link and creates the Main
// administrator u; ENOTFOUND when the token is wrong or used.
func (s *Store) UseBootstrapToken(ctx context.Context, hash []byte, u *roster.User) error {
	return s.write(ctx, func(tx *Tx) error {
		var val string
		err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`+tx.s.d.lock(lockUpdate), bootstrapSetting).Scan(&val)
		if errors.Is(err, sql.ErrNoRows) {
			return roster.Errorf(roster.ENOTFOUND, "This link is invalid or was used already.")
		} else if err != nil {
			return fmt.Errorf("bootstrap token: %w", err)
		}
		stored, err := hex.DecodeString(val)
		if err != nil || len(hash) == 0 || subtle.ConstantTimeCompare(stored, hash) != 1 {
			return roster.Errorf(roster.ENOTFOUND, "This link is invalid or was used already.")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE name = $1`, bootstrapSetting); err != nil {
			return fmt.Errorf("use bootstrap token: %w", err)
		}
		return createMainAdmin(ctx, tx, u)
	})
}
