package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/roster-app/roster"
)

var _ roster.NotificationService = (*Store)(nil)

// NotificationPrefs returns a user's notification settings.
func (s *Store) NotificationPrefs(ctx context.Context, userID int64) (*roster.NotificationPrefs, error) {
	p := &roster.NotificationPrefs{Subscriptions: []roster.Subscription{}}
	err := s.rdb.QueryRowContext(ctx, `SELECT telegram_chat_id, slack_channel_id FROM notification_targets WHERE user_id = $1`,
		userID).Scan(&p.TelegramChatID, &p.SlackChannelID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("notification targets: %w", err)
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT event_type, channel FROM notification_subscriptions WHERE user_id = $1
		ORDER BY event_type, channel`, userID)
	if err != nil {
		return nil, fmt.Errorf("subscriptions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var typ, ch string
		if err := rows.Scan(&typ, &ch); err != nil {
			return nil, fmt.Errorf("subscriptions: %w", err)
		}
		if n := len(p.Subscriptions); n > 0 && p.Subscriptions[n-1].EventType == typ {
			p.Subscriptions[n-1].Channels = append(p.Subscriptions[n-1].Channels, ch)
		} else {
			p.Subscriptions = append(p.Subscriptions, roster.Subscription{EventType: typ, Channels: []string{ch}})
		}
	}
	return p, rows.Err()
}

// SetNotificationPrefs replaces a user's notification settings.
func (s *Store) SetNotificationPrefs(ctx context.Context, userID int64, p *roster.NotificationPrefs) error {
	p.TelegramChatID, p.SlackChannelID = strings.TrimSpace(p.TelegramChatID), strings.TrimSpace(p.SlackChannelID)
	if err := p.Validate(); err != nil {
		return err
	}
	return s.write(ctx, func(tx *Tx) error {
		return setNotificationPrefs(ctx, tx, userID, p)
	})
}

// setNotificationPrefs replaces the settings with the user locked, so that
// replacements run one after another.
func setNotificationPrefs(ctx context.Context, tx *Tx, userID int64, p *roster.NotificationPrefs) error {
	u, err := lockUser(ctx, tx, roster.Scope{All: true}, userID)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO notification_targets (user_id, telegram_chat_id, slack_channel_id) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET telegram_chat_id = excluded.telegram_chat_id, slack_channel_id = excluded.slack_channel_id`,
		u.ID, p.TelegramChatID, p.SlackChannelID); err != nil {
		return fmt.Errorf("notification targets: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM notification_subscriptions WHERE user_id = $1`, u.ID); err != nil {
		return fmt.Errorf("subscriptions: %w", err)
	}
	for _, sub := range p.Subscriptions {
		for _, ch := range dedupeStrings(sub.Channels) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO notification_subscriptions (user_id, event_type, channel) VALUES ($1, $2, $3)`,
				u.ID, sub.EventType, ch); err != nil {
				return fmt.Errorf("subscriptions: %w", err)
			}
		}
	}
	e := selfEvent(tx, roster.EventNotificationsChanged, u)
	e.After = map[string]any{"telegram_chat_id": p.TelegramChatID, "slack_channel_id": p.SlackChannelID, "subscriptions": p.Subscriptions}
	return writeEvent(ctx, tx, e)
}

// DisabledNotificationTypes lists the event types switched off for
// notification, in catalog order.
func (s *Store) DisabledNotificationTypes(ctx context.Context) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT event_type FROM notification_disabled_types`)
	if err != nil {
		return nil, fmt.Errorf("disabled notification types: %w", err)
	}
	defer rows.Close()
	off := map[string]bool{}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("disabled notification types: %w", err)
		}
		off[t] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("disabled notification types: %w", err)
	}
	out := []string{}
	for _, c := range roster.NotificationCatalog {
		if off[c.Type] {
			out = append(out, c.Type)
		}
	}
	return out, nil
}

// SetDisabledNotificationTypes replaces the switched-off types with an
// event saying which were switched off and on, when anything changed.
func (s *Store) SetDisabledNotificationTypes(ctx context.Context, companyID int64, disabled []string) error {
	for _, t := range disabled {
		if !roster.InNotificationCatalog(t) {
			return roster.Errorf(roster.EINVALID, "Unknown event type: %s.", t)
		}
	}
	return s.write(ctx, func(tx *Tx) error {
		// Writers of this one small table run one after another: each
		// takes the whole table (PostgreSQL) or the write lock (SQLite).
		if tx.s.d.name == dialectPostgres {
			if _, err := tx.ExecContext(ctx, `LOCK TABLE notification_disabled_types IN EXCLUSIVE MODE`); err != nil {
				return fmt.Errorf("lock notification types: %w", err)
			}
		}
		rows, err := tx.QueryContext(ctx, `SELECT event_type FROM notification_disabled_types`)
		if err != nil {
			return fmt.Errorf("disabled notification types: %w", err)
		}
		before := map[string]bool{}
		for rows.Next() {
			var t string
			if err := rows.Scan(&t); err != nil {
				rows.Close()
				return fmt.Errorf("disabled notification types: %w", err)
			}
			before[t] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("disabled notification types: %w", err)
		}
		after := map[string]bool{}
		for _, t := range disabled {
			after[t] = true
		}
		off, on := []string{}, []string{}
		for _, c := range roster.NotificationCatalog {
			switch {
			case after[c.Type] && !before[c.Type]:
				off = append(off, c.Type)
			case before[c.Type] && !after[c.Type]:
				on = append(on, c.Type)
			}
		}
		if len(off) == 0 && len(on) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM notification_disabled_types`); err != nil {
			return fmt.Errorf("disabled notification types: %w", err)
		}
		for t := range after {
			if _, err := tx.ExecContext(ctx, `INSERT INTO notification_disabled_types (event_type) VALUES ($1)`, t); err != nil {
				return fmt.Errorf("disabled notification types: %w", err)
			}
		}
		return writeEvent(ctx, tx, &roster.Event{Type: roster.EventNotificationTypesChanged, CompanyID: companyID,
			After: map[string]any{"disabled": off, "enabled": on}})
	})
}

func dedupeStrings(ss []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// notificationText is the message of an event: short, one line per fact.
func notificationText(e *roster.Event) string {
	name := e.Type
	for _, c := range roster.NotificationCatalog {
		if c.Type == e.Type {
			name = c.Name
		}
	}
	var b strings.Builder
	b.WriteString("Roster: " + name)
	if e.TargetName != "" {
		b.WriteString(": " + e.TargetName)
	}
	if e.ActorName != "" {
		b.WriteString(" (by " + e.ActorName + ")")
	}
	if e.Comment != "" {
		b.WriteString("\nComment: " + e.Comment)
	}
	return b.String()
}

// enqueueNotifications writes a delivery and its job for every active
// subscriber of the event's company, in the event's transaction: the
// notification exists exactly when the event does, and survives restarts.
func enqueueNotifications(ctx context.Context, tx *Tx, e *roster.Event) error {
	if !roster.InNotificationCatalog(e.Type) {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT ns.user_id, ns.channel, u.email, coalesce(nt.telegram_chat_id, ''), coalesce(nt.slack_channel_id, '')
		FROM notification_subscriptions ns JOIN users u ON u.id = ns.user_id
		LEFT JOIN notification_targets nt ON nt.user_id = ns.user_id
		WHERE ns.event_type = $1 AND u.company_id = $2 AND u.status = 'active'
		AND NOT EXISTS (SELECT 1 FROM notification_disabled_types dt WHERE dt.event_type = ns.event_type)
		ORDER BY ns.user_id, ns.channel`, e.Type, e.CompanyID)
	if err != nil {
		return fmt.Errorf("subscribers: %w", err)
	}
	type target struct {
		user            int64
		channel, target string
	}
	var targets []target
	for rows.Next() {
		var t target
		var email, tg, sl string
		if err := rows.Scan(&t.user, &t.channel, &email, &tg, &sl); err != nil {
			rows.Close()
			return fmt.Errorf("subscribers: %w", err)
		}
		t.target = map[string]string{roster.ChannelEmail: email, roster.ChannelTelegram: tg, roster.ChannelSlack: sl}[t.channel]
		if t.target != "" {
			targets = append(targets, t)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("subscribers: %w", err)
	}
	text := notificationText(e)
	for _, t := range targets {
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO notification_deliveries (company_id, user_id, event_id, event_type, channel, target,
			body, status, next_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8, $8) RETURNING id`,
			e.CompanyID, t.user, e.ID, e.Type, t.channel, t.target, text, tx.now).Scan(&id); err != nil {
			return fmt.Errorf("enqueue notification: %w", err)
		}
		job, err := roster.NewJob(roster.NotificationJobKind, map[string]int64{"delivery_id": id})
		if err != nil {
			return err
		}
		job.MaxAttempts = roster.NotificationMaxAttempts
		if err := insertJobs(ctx, tx, job); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE notification_deliveries SET job_id = $1 WHERE id = $2`, job.ID, id); err != nil {
			return fmt.Errorf("enqueue notification: %w", err)
		}
	}
	return nil
}

const deliveryColumns = `d.id, d.company_id, d.user_id, d.event_id, d.event_type, d.channel, d.target, d.body, d.status,
	d.attempts, d.last_error, coalesce(j.state, ''), d.created_at, d.updated_at`

func scanDelivery(rs rowScanner) (*roster.Delivery, error) {
	var d roster.Delivery
	var uid sql.NullInt64
	if err := rs.Scan(&d.ID, &d.CompanyID, &uid, &d.EventID, &d.EventType, &d.Channel, &d.Target, &d.Body, &d.Status,
		&d.Attempts, &d.LastError, &d.JobState, &d.CreatedAt, &d.UpdatedAt); err != nil {
		return nil, err
	}
	if uid.Valid {
		d.UserID = &uid.Int64
	}
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return &d, nil
}

// DeliveryByID returns one delivery.
func (s *Store) DeliveryByID(ctx context.Context, id int64) (*roster.Delivery, error) {
	d, err := scanDelivery(s.rdb.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM notification_deliveries d
		LEFT JOIN jobs j ON j.id = d.job_id WHERE d.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Delivery")
	} else if err != nil {
		return nil, fmt.Errorf("delivery %d: %w", id, err)
	}
	return d, nil
}

// RecordDeliveryAttempt stores the outcome of one try.
func (s *Store) RecordDeliveryAttempt(ctx context.Context, id int64, errMsg string) error {
	status := roster.DeliverySent
	if errMsg != "" {
		status = roster.DeliveryFailed
	}
	if len(errMsg) > 1000 {
		errMsg = errMsg[:1000]
	}
	if _, err := s.exec(ctx, `UPDATE notification_deliveries SET status = $1, last_error = $2, attempts = attempts + 1,
		updated_at = $3 WHERE id = $4`, status, errMsg, s.now(), id); err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	return nil
}

// FailedDeliveries lists deliveries in scope whose last try failed, with
// the state of their job (pending: will be retried; dead: given up).
func (s *Store) FailedDeliveries(ctx context.Context, scope roster.Scope, limit int) ([]*roster.Delivery, error) {
	if limit <= 0 || limit > roster.MaxPageSize {
		limit = roster.DefaultPageSize
	}
	var b sqlBuilder
	b.cond(`d.status = 'failed'`)
	out := []*roster.Delivery{}
	if !b.scopeCond(scope, "d.company_id") {
		return out, nil
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM notification_deliveries d
		LEFT JOIN jobs j ON j.id = d.job_id`+b.whereSQL()+` ORDER BY d.id DESC LIMIT `+b.arg(limit), b.args...)
	if err != nil {
		return nil, fmt.Errorf("failed deliveries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("failed deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
