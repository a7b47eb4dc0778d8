package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"

	"fmt"
	"time"

	"github.com/roster-app/roster"
)

var _ roster.ServiceTokenService = (*Store)(nil)

const serviceTokenColumns = `t.id, t.company_id, t.name, t.permissions, t.ip_allowlist, t.expires_at, t.created_by,
	t.created_by_name, t.created_at, t.last_used_at, t.last_used_from`

func scanServiceToken(rs rowScanner) (*roster.ServiceToken, error) {
	var t roster.ServiceToken
	var perms, allow string
	var expires, used sql.NullTime
	var createdBy sql.NullInt64
	if err := rs.Scan(&t.ID, &t.CompanyID, &t.Name, &perms, &allow, &expires, &createdBy, &t.CreatedByName,
		&t.CreatedAt, &used, &t.LastUsedFrom); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(perms), &t.Permissions); err != nil {
		return nil, fmt.Errorf("service token %d permissions: %w", t.ID, err)
	}
	if err := json.Unmarshal([]byte(allow), &t.IPAllowlist); err != nil {
		return nil, fmt.Errorf("service token %d allowlist: %w", t.ID, err)
	}
	if t.IPAllowlist == nil {
		t.IPAllowlist = []string{}
	}
	if expires.Valid {
		e := expires.Time.UTC()
		t.ExpiresAt = &e
	}
	if used.Valid {
		u := used.Time.UTC()
		t.LastUsedAt = &u
	}
	if createdBy.Valid {
		t.CreatedBy = &createdBy.Int64
	}
	t.CreatedAt = t.CreatedAt.UTC()
	return &t, nil
}

func loadServiceTokens(ctx context.Context, q querier, b *sqlBuilder) ([]*roster.ServiceToken, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+serviceTokenColumns+` FROM service_tokens t`+b.whereSQL()+` ORDER BY t.id`, b.args...)
	if err != nil {
		return nil, fmt.Errorf("service tokens: %w", err)
	}
	defer rows.Close()
	out := []*roster.ServiceToken{}
	for rows.Next() {
		t, err := scanServiceToken(rows)
		if err != nil {
			return nil, fmt.Errorf("service tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func findServiceToken(ctx context.Context, q querier, scope roster.Scope, id int64) (*roster.ServiceToken, error) {
	var b sqlBuilder
	b.cond(`t.id = ` + b.arg(id))
	if !b.scopeCond(scope, "t.company_id") {
		return nil, notFound("Service token")
	}
	ts, err := loadServiceTokens(ctx, q, &b)
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, notFound("Service token")
	}
	return ts[0], nil
}

// ServiceTokens lists a company's service tokens in scope, oldest first.
func (s *Store) ServiceTokens(ctx context.Context, scope roster.Scope, companyID int64) ([]*roster.ServiceToken, error) {
	var b sqlBuilder
	b.cond(`t.company_id = ` + b.arg(companyID))
	if !b.scopeCond(scope, "t.company_id") {
		return []*roster.ServiceToken{}, nil
	}
	return loadServiceTokens(ctx, s.rdb, &b)
}

// ServiceTokenByID returns a service token in scope.
func (s *Store) ServiceTokenByID(ctx context.Context, scope roster.Scope, id int64) (*roster.ServiceToken, error) {
	return findServiceToken(ctx, s.rdb, scope, id)
}

// ServiceTokenByHash finds the token whose secret hashes to hash.
func (s *Store) ServiceTokenByHash(ctx context.Context, hash []byte) (*roster.ServiceToken, error) {
	var b sqlBuilder
	b.cond(`t.token_hash = ` + b.arg(hash))
	ts, err := loadServiceTokens(ctx, s.rdb, &b)
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, notFound("Service token")
	}
	return ts[0], nil
}

// CreateServiceToken stores a token with its hash and logs its creation.
func (s *Store) CreateServiceToken(ctx context.Context, t *roster.ServiceToken, hash []byte) error {
	return s.write(ctx, func(tx *Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM service_tokens WHERE company_id = $1`, t.CompanyID).Scan(&n); err != nil {
			return fmt.Errorf("count service tokens: %w", err)
		}
		if n >= roster.MaxServiceTokens {
			msg := fmt.Sprintf("A company has at most %d service tokens; revoke one first.", roster.MaxServiceTokens)
			return &roster.Error{Code: roster.ECONFLICT, Message: msg,
				Fields: []roster.FieldError{{Field: "name", Code: "service_tokens_limit", Message: msg, Args: []any{roster.MaxServiceTokens}}}}
		}
		t.CreatedBy, t.CreatedByName = nil, tx.actor.Name()
		if tx.actor != nil && tx.actor.User != nil {
			t.CreatedBy = int64Ptr(tx.actor.User.ID)
		}
		if t.IPAllowlist == nil {
			t.IPAllowlist = []string{}
		}
		perms, err := json.Marshal(t.Permissions)
		if err != nil {
			return err
		}
		allow, err := json.Marshal(t.IPAllowlist)
		if err != nil {
			return err
		}
		t.CreatedAt, t.LastUsedAt, t.LastUsedFrom = tx.now, nil, ""
		if err := tx.QueryRowContext(ctx, `INSERT INTO service_tokens (company_id, name, token_hash, permissions, ip_allowlist,
			expires_at, created_by, created_by_name, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			t.CompanyID, t.Name, hash, string(perms), string(allow), t.ExpiresAt, t.CreatedBy, t.CreatedByName, tx.now).Scan(&t.ID); err != nil {
			return fmt.Errorf("insert service token: %w", err)
		}
		return writeEvent(ctx, tx, serviceTokenEvent(roster.EventServiceTokenCreated, t, nil, t))
	})
}

// RevokeServiceToken deletes a token in scope and logs it.
func (s *Store) RevokeServiceToken(ctx context.Context, scope roster.Scope, id int64) error {
	return s.write(ctx, func(tx *Tx) error {
		t, err := findServiceToken(ctx, tx, scope, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM service_tokens WHERE id = $1`, t.ID); err != nil {
			return fmt.Errorf("delete service token: %w", err)
		}
		return writeEvent(ctx, tx, serviceTokenEvent(roster.EventServiceTokenRevoked, t, t, nil))
	})
}

// TouchServiceToken records a use; a write only when the last one is older
// than ServiceTokenTouchEvery, so concurrent requests rarely both write.
func (s *Store) TouchServiceToken(ctx context.Context, id int64, now time.Time, address string) error {
	now = now.UTC().Truncate(time.Microsecond)
	if _, err := s.exec(ctx, `UPDATE service_tokens SET last_used_at = $1, last_used_from = $2
		WHERE id = $3 AND (last_used_at IS NULL OR last_used_at < $4)`,
		now, address, id, now.Add(-roster.ServiceTokenTouchEvery)); err != nil {
		return fmt.Errorf("touch service token: %w", err)
	}
	return nil
}

func serviceTokenEvent(typ string, t, before, after *roster.ServiceToken) *roster.Event {
	snap := func(t *roster.ServiceToken) map[string]any {
		if t == nil {
			return nil
		}
		m := map[string]any{"id": t.ID, "name": t.Name, "permissions": t.Permissions, "ip_allowlist": t.IPAllowlist}
		if t.ExpiresAt != nil {
			m["expires_at"] = t.ExpiresAt.Format(time.RFC3339)
		}
		return m
	}
	return &roster.Event{Type: typ, CompanyID: t.CompanyID, TargetName: t.ActorName(), Before: snap(before), After: snap(after)}
}
