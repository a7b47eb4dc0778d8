package sqlstore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/secure"
)

const eventColumns = `e.id, e.company_id, e.type, e.actor_id, e.actor_name, e.impersonator_id, e.impersonator_name,
	e.target_user_id, e.target_name, e.target_role_id, e.address, e.before, e.after, e.comment, e.created_at`

func scanEvent(rs rowScanner) (*roster.Event, error) {
	var e roster.Event
	var actor, imp, target, role sql.NullInt64
	var before, after sql.NullString
	if err := rs.Scan(&e.ID, &e.CompanyID, &e.Type, &actor, &e.ActorName, &imp, &e.ImpersonatorName,
		&target, &e.TargetName, &role, &e.Address, &before, &after, &e.Comment, &e.CreatedAt); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		n   sql.NullInt64
		dst **int64
	}{{actor, &e.ActorID}, {imp, &e.ImpersonatorID}, {target, &e.TargetUserID}, {role, &e.TargetRoleID}} {
		if p.n.Valid {
			v := p.n.Int64
			*p.dst = &v
		}
	}
	for _, p := range []struct {
		s   sql.NullString
		dst *map[string]any
	}{{before, &e.Before}, {after, &e.After}} {
		if p.s.Valid {
			if err := json.Unmarshal([]byte(p.s.String), p.dst); err != nil {
				return nil, fmt.Errorf("decode event data: %w", err)
			}
		}
	}
	e.CreatedAt = e.CreatedAt.UTC()
	e.Comments = []roster.EventComment{}
	return &e, nil
}

// Events lists events of companies in scope, newest first, by keyset on id.
func (s *Store) Events(ctx context.Context, scope roster.Scope, f roster.EventFilter) (*roster.EventPage, error) {
	page := &roster.EventPage{Items: []*roster.Event{}}
	var b sqlBuilder
	if !b.scopeCond(scope, "e.company_id") {
		return page, nil
	}
	if f.UserID != nil {
		p := b.arg(*f.UserID)
		b.cond(`(e.actor_id = ` + p + ` OR e.target_user_id = ` + p + `)`)
	}
	if f.Type != "" {
		b.cond(`e.type = ` + b.arg(f.Type))
	}
	if len(f.ExcludeTypes) > 0 {
		ps := make([]string, len(f.ExcludeTypes))
		for i, t := range f.ExcludeTypes {
			ps[i] = b.arg(t)
		}
		b.cond(`e.type NOT IN (` + strings.Join(ps, ", ") + `)`)
	}
	if f.Since != nil {
		b.cond(`e.created_at >= ` + b.arg(f.Since.UTC()))
	}
	if f.Until != nil {
		b.cond(`e.created_at < ` + b.arg(f.Until.UTC()))
	}
	key, err := s.Secret(ctx, "cursor")
	if err != nil {
		return nil, err
	}
	if f.Cursor != "" {
		payload, err := secure.Open(key, f.Cursor)
		if err != nil || len(payload) != 9 || payload[0] != 'e' {
			return nil, invalidCursor()
		}
		b.cond(`e.id < ` + b.arg(int64(binary.BigEndian.Uint64(payload[1:]))))
	}
	limit := f.Limit
	if limit <= 0 || limit > roster.MaxPageSize {
		limit = roster.DefaultPageSize
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+eventColumns+` FROM events e`+b.whereSQL()+
		` ORDER BY e.id DESC LIMIT `+b.arg(limit+1), b.args...)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		page.Items = append(page.Items, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		payload := make([]byte, 9)
		payload[0] = 'e'
		binary.BigEndian.PutUint64(payload[1:], uint64(page.Items[limit-1].ID))
		page.NextCursor = secure.Seal(key, payload)
	}
	if err := attachComments(ctx, s.rdb, page.Items); err != nil {
		return nil, err
	}
	return page, nil
}

// attachComments fills the comments of a page of events with one query,
// oldest comment first under each event.
func attachComments(ctx context.Context, q querier, events []*roster.Event) error {
	if len(events) == 0 {
		return nil
	}
	byID := make(map[int64]*roster.Event, len(events))
	var b sqlBuilder
	ps := make([]string, 0, len(events))
	for _, e := range events {
		byID[e.ID] = e
		ps = append(ps, b.arg(e.ID))
	}
	rows, err := q.QueryContext(ctx, `SELECT id, event_id, author_id, author_name, body, created_at
		FROM event_comments WHERE event_id IN (`+strings.Join(ps, ", ")+`) ORDER BY id`, b.args...)
	if err != nil {
		return fmt.Errorf("event comments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c roster.EventComment
		if err := rows.Scan(&c.ID, &c.EventID, &c.AuthorID, &c.AuthorName, &c.Body, &c.CreatedAt); err != nil {
			return fmt.Errorf("event comments: %w", err)
		}
		c.CreatedAt = c.CreatedAt.UTC()
		if e := byID[c.EventID]; e != nil {
			e.Comments = append(e.Comments, c)
		}
	}
	return rows.Err()
}

// EventByID returns one event in scope with its comments.
func (s *Store) EventByID(ctx context.Context, scope roster.Scope, id int64) (*roster.Event, error) {
	return findEvent(ctx, s.rdb, scope, id)
}

func findEvent(ctx context.Context, q querier, scope roster.Scope, id int64) (*roster.Event, error) {
	var b sqlBuilder
	b.cond(`e.id = ` + b.arg(id))
	if !b.scopeCond(scope, "e.company_id") {
		return nil, notFound("Event")
	}
	e, err := scanEvent(q.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events e`+b.whereSQL(), b.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Event")
	} else if err != nil {
		return nil, fmt.Errorf("event %d: %w", id, err)
	}
	if err := attachComments(ctx, q, []*roster.Event{e}); err != nil {
		return nil, err
	}
	return e, nil
}

// AddEventComment adds the actor's comment to an event in scope.
func (s *Store) AddEventComment(ctx context.Context, scope roster.Scope, eventID int64, body string) (*roster.EventComment, error) {
	return writeResult(ctx, s, func(tx *Tx) (*roster.EventComment, error) {
		return addEventComment(ctx, tx, scope, eventID, body)
	})
}

func addEventComment(ctx context.Context, tx *Tx, scope roster.Scope, eventID int64, body string) (*roster.EventComment, error) {
	if tx.actor == nil || tx.actor.User == nil {
		return nil, roster.Errorf(roster.EUNAUTHORIZED, "Sign in to comment.")
	}
	body = strings.TrimSpace(body)
	var v roster.Validation
	roster.ValidateComment(&v, "body", body, true)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if _, err := findEvent(ctx, tx, scope, eventID); err != nil {
		return nil, err
	}
	c := &roster.EventComment{EventID: eventID, AuthorID: tx.actor.User.ID, AuthorName: tx.actor.User.DisplayName(),
		Body: body, CreatedAt: tx.now}
	if err := tx.QueryRowContext(ctx, `INSERT INTO event_comments (event_id, author_id, author_name, body, created_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, c.EventID, c.AuthorID, c.AuthorName, c.Body, c.CreatedAt).Scan(&c.ID); err != nil {
		return nil, fmt.Errorf("add comment: %w", err)
	}
	return c, nil
}

// LogEvent appends a security event that has no other change with it.
func (s *Store) LogEvent(ctx context.Context, e *roster.Event) error {
	companyID := e.CompanyID
	return s.write(ctx, func(tx *Tx) error {
		e.CompanyID = companyID
		if e.CompanyID == 0 {
			switch {
			case e.TargetUserID != nil:
				if err := tx.QueryRowContext(ctx, `SELECT company_id FROM users WHERE id = $1`, *e.TargetUserID).Scan(&e.CompanyID); err != nil {
					return fmt.Errorf("event company: %w", err)
				}
			case tx.actor != nil && tx.actor.User != nil:
				e.CompanyID = tx.actor.User.CompanyID
			default:
				e.CompanyID = roster.PlatformCompanyID
			}
		}
		return writeEvent(ctx, tx, e)
	})
}
