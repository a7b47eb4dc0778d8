package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roster-app/roster"
)

var _ roster.WebhookService = (*Store)(nil)

const webhookColumns = `w.id, w.company_id, w.url, w.event_types, w.active, w.created_by, w.created_at, w.updated_at`

func scanWebhook(rs rowScanner) (*roster.Webhook, error) {
	var w roster.Webhook
	var types string
	var createdBy sql.NullInt64
	if err := rs.Scan(&w.ID, &w.CompanyID, &w.URL, &types, &w.Active, &createdBy, &w.CreatedAt, &w.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(types), &w.EventTypes); err != nil {
		return nil, fmt.Errorf("webhook %d event types: %w", w.ID, err)
	}
	if createdBy.Valid {
		w.CreatedBy = &createdBy.Int64
	}
	w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC()
	return &w, nil
}

// loadWebhooks runs a webhooks query built in b, oldest first.
func loadWebhooks(ctx context.Context, q querier, b *sqlBuilder) ([]*roster.Webhook, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+webhookColumns+` FROM webhooks w`+b.whereSQL()+` ORDER BY w.id`, b.args...)
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	defer rows.Close()
	out := []*roster.Webhook{}
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("webhooks: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// findWebhook returns a webhook in scope, ENOTFOUND outside it.
func findWebhook(ctx context.Context, q querier, scope roster.Scope, id int64) (*roster.Webhook, error) {
	var b sqlBuilder
	b.cond(`w.id = ` + b.arg(id))
	if !b.scopeCond(scope, "w.company_id") {
		return nil, notFound("Webhook")
	}
	ws, err := loadWebhooks(ctx, q, &b)
	if err != nil {
		return nil, err
	}
	if len(ws) == 0 {
		return nil, notFound("Webhook")
	}
	return ws[0], nil
}

// Webhooks lists a company's webhooks in scope, oldest first.
func (s *Store) Webhooks(ctx context.Context, scope roster.Scope, companyID int64) ([]*roster.Webhook, error) {
	var b sqlBuilder
	b.cond(`w.company_id = ` + b.arg(companyID))
	if !b.scopeCond(scope, "w.company_id") {
		return []*roster.Webhook{}, nil
	}
	return loadWebhooks(ctx, s.rdb, &b)
}

// WebhookByID returns a webhook in scope.
func (s *Store) WebhookByID(ctx context.Context, scope roster.Scope, id int64) (*roster.Webhook, error) {
	return findWebhook(ctx, s.rdb, scope, id)
}

// CreateWebhook stores a webhook with its sealed secret and its event.
func (s *Store) CreateWebhook(ctx context.Context, w *roster.Webhook, secretEnc string) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := insertWebhook(ctx, tx, w, secretEnc); err != nil {
		return err
	}
	if err := writeEvent(ctx, tx, webhookEvent(roster.EventWebhookCreated, w, nil, w)); err != nil {
		return err
	}
	return tx.commit()
}

func insertWebhook(ctx context.Context, tx *Tx, w *roster.Webhook, secretEnc string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM webhooks WHERE company_id = $1`, w.CompanyID).Scan(&n); err != nil {
		return fmt.Errorf("count webhooks: %w", err)
	}
	if n >= roster.MaxWebhooks {
		msg := fmt.Sprintf("A company has at most %d webhooks; delete one first.", roster.MaxWebhooks)
		return &roster.Error{Code: roster.ECONFLICT, Message: msg,
			Fields: []roster.FieldError{{Field: "url", Code: "webhooks_limit", Message: msg, Args: []any{roster.MaxWebhooks}}}}
	}
	if tx.actor != nil && tx.actor.User != nil {
		w.CreatedBy = int64Ptr(tx.actor.User.ID)
	}
	types, err := json.Marshal(w.EventTypes)
	if err != nil {
		return err
	}
	w.CreatedAt, w.UpdatedAt = tx.now, tx.now
	if err := tx.QueryRowContext(ctx, `INSERT INTO webhooks (company_id, url, event_types, secret_enc, active, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id`,
		w.CompanyID, w.URL, string(types), secretEnc, w.Active, w.CreatedBy, tx.now).Scan(&w.ID); err != nil {
		return fmt.Errorf("insert webhook: %w", err)
	}
	return nil
}

// UpdateWebhook changes a webhook's URL, event types or active flag.
func (s *Store) UpdateWebhook(ctx context.Context, scope roster.Scope, id int64, upd roster.WebhookUpdate) (*roster.Webhook, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	w, err := updateWebhook(ctx, tx, scope, id, upd)
	if err != nil {
		return nil, err
	}
	return w, tx.commit()
}

func updateWebhook(ctx context.Context, tx *Tx, scope roster.Scope, id int64, upd roster.WebhookUpdate) (*roster.Webhook, error) {
	old, err := findWebhook(ctx, tx, scope, id)
	if err != nil {
		return nil, err
	}
	w := *old
	if upd.URL != nil {
		w.URL = *upd.URL
	}
	if upd.EventTypes != nil {
		w.EventTypes = slices.Clone(*upd.EventTypes)
	}
	if upd.Active != nil {
		w.Active = *upd.Active
	}
	types, err := json.Marshal(w.EventTypes)
	if err != nil {
		return nil, err
	}
	w.UpdatedAt = tx.now
	if _, err := tx.ExecContext(ctx, `UPDATE webhooks SET url = $1, event_types = $2, active = $3, updated_at = $4 WHERE id = $5`,
		w.URL, string(types), w.Active, tx.now, w.ID); err != nil {
		return nil, fmt.Errorf("update webhook: %w", err)
	}
	if err := writeEvent(ctx, tx, webhookEvent(roster.EventWebhookUpdated, &w, old, &w)); err != nil {
		return nil, err
	}
	return &w, nil
}

// DeleteWebhook removes a webhook and its deliveries.
func (s *Store) DeleteWebhook(ctx context.Context, scope roster.Scope, id int64) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := deleteWebhook(ctx, tx, scope, id); err != nil {
		return err
	}
	return tx.commit()
}

func deleteWebhook(ctx context.Context, tx *Tx, scope roster.Scope, id int64) error {
	w, err := findWebhook(ctx, tx, scope, id)
	if err != nil {
		return err
	}
	// Pending jobs of the deliveries stay in the jobs table; their handler
	// finds no delivery and ends them as done.
	if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE webhook_id = $1`, w.ID); err != nil {
		return fmt.Errorf("delete webhook deliveries: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE id = $1`, w.ID); err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	return writeEvent(ctx, tx, webhookEvent(roster.EventWebhookDeleted, w, w, nil))
}

// webhookEvent is the event of a change to w. The URL is logged without
// its query string, where some receivers keep a key.
func webhookEvent(typ string, w, before, after *roster.Webhook) *roster.Event {
	snap := func(w *roster.Webhook) map[string]any {
		if w == nil {
			return nil
		}
		return map[string]any{"id": w.ID, "url": loggedURL(w.URL), "event_types": w.EventTypes, "active": w.Active}
	}
	return &roster.Event{Type: typ, CompanyID: w.CompanyID, TargetName: loggedURL(w.URL), Before: snap(before), After: snap(after)}
}

func loggedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}

// enqueueWebhooks writes a delivery and its job for every active webhook
// of the event's company subscribed to its type, in the event's
// transaction: a delivery exists exactly when its event does.
func enqueueWebhooks(ctx context.Context, tx *Tx, e *roster.Event) error {
	if !roster.InNotificationCatalog(e.Type) {
		return nil
	}
	hooks, err := subscribedWebhooks(ctx, tx, e.CompanyID, e.Type)
	if err != nil || len(hooks) == 0 {
		return err
	}
	var company string
	if err := tx.QueryRowContext(ctx, `SELECT name FROM companies WHERE id = $1`, e.CompanyID).Scan(&company); err != nil {
		return fmt.Errorf("webhook company: %w", err)
	}
	body, err := roster.WebhookPayload(e, company)
	if err != nil {
		return fmt.Errorf("webhook payload: %w", err)
	}
	for _, hookID := range hooks {
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO webhook_deliveries (company_id, webhook_id, event_id, event_type, message_id,
			payload, seq, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $8) RETURNING id`,
			e.CompanyID, hookID, e.ID, e.Type, newMessageID(), string(body), roster.DeliveryPending, tx.now).Scan(&id); err != nil {
			return fmt.Errorf("enqueue webhook: %w", err)
		}
		if err := setDeliveryJob(ctx, tx, id, 1); err != nil {
			return err
		}
	}
	return nil
}

// subscribedWebhooks returns the IDs of a company's active webhooks
// subscribed to typ. A company has at most roster.MaxWebhooks, so they are
// filtered here rather than in SQL over a JSON column.
func subscribedWebhooks(ctx context.Context, tx *Tx, companyID int64, typ string) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, event_types FROM webhooks WHERE company_id = $1 AND active = TRUE ORDER BY id`, companyID)
	if err != nil {
		return nil, fmt.Errorf("subscribed webhooks: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		var raw string
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, fmt.Errorf("subscribed webhooks: %w", err)
		}
		var types []string
		if err := json.Unmarshal([]byte(raw), &types); err != nil {
			return nil, fmt.Errorf("webhook %d event types: %w", id, err)
		}
		if slices.Contains(types, typ) {
			out = append(out, id)
		}
	}
	return out, rows.Err()
}

// setDeliveryJob writes the job that sends delivery id for the seq-th time
// and points the delivery at it.
func setDeliveryJob(ctx context.Context, tx *Tx, id int64, seq int) error {
	job, err := roster.NewJob(roster.WebhookJobKind, webhookJobPayload{DeliveryID: id, Seq: seq})
	if err != nil {
		return err
	}
	job.MaxAttempts = roster.WebhookMaxAttempts
	if err := insertJobs(ctx, tx, job); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET job_id = $1, seq = $2, status = $3, updated_at = $4 WHERE id = $5`,
		job.ID, seq, roster.DeliveryPending, tx.now, id); err != nil {
		return fmt.Errorf("webhook delivery job: %w", err)
	}
	return nil
}

// webhookJobPayload is the payload of a roster.WebhookJobKind job.
type webhookJobPayload struct {
	DeliveryID int64 `json:"delivery_id"`
	Seq        int   `json:"seq"`
}

// newMessageID is a delivery's webhook-id: random, so it says nothing
// about how many deliveries there are.
func newMessageID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "msg_" + hex.EncodeToString(b)
}

const webhookDeliveryColumns = `d.id, d.company_id, d.webhook_id, d.event_id, d.event_type, d.message_id, d.payload, d.status,
	d.attempts, d.last_status, d.last_response, d.last_error, coalesce(j.state, ''), j.run_at, d.created_at, d.updated_at,
	d.last_attempt_at, d.delivered_at`

func scanWebhookDelivery(rs rowScanner, extra ...any) (*roster.WebhookDelivery, error) {
	var d roster.WebhookDelivery
	var payload string
	var runAt, lastAttempt, delivered sql.NullTime
	dest := append([]any{&d.ID, &d.CompanyID, &d.WebhookID, &d.EventID, &d.EventType, &d.MessageID, &payload, &d.Status,
		&d.Attempts, &d.LastStatus, &d.LastResponse, &d.LastError, &d.JobState, &runAt, &d.CreatedAt, &d.UpdatedAt,
		&lastAttempt, &delivered}, extra...)
	if err := rs.Scan(dest...); err != nil {
		return nil, err
	}
	d.Payload = json.RawMessage(payload)
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	d.LastAttemptAt, d.DeliveredAt = nullTime(lastAttempt), nullTime(delivered)
	if d.JobState == roster.JobPending && d.Status != roster.DeliverySent {
		d.NextAttemptAt = nullTime(runAt)
	}
	return &d, nil
}

func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// WebhookDeliveries lists a webhook's deliveries in scope, newest first.
func (s *Store) WebhookDeliveries(ctx context.Context, scope roster.Scope, webhookID int64, f roster.WebhookDeliveryFilter) ([]*roster.WebhookDelivery, error) {
	w, err := findWebhook(ctx, s.rdb, scope, webhookID)
	if err != nil {
		return nil, err
	}
	var b sqlBuilder
	b.cond(`d.webhook_id = ` + b.arg(w.ID))
	if f.BeforeID > 0 {
		b.cond(`d.id < ` + b.arg(f.BeforeID))
	}
	limit := f.Limit
	if limit <= 0 || limit > roster.MaxPageSize {
		limit = roster.DefaultPageSize
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+webhookDeliveryColumns+` FROM webhook_deliveries d LEFT JOIN jobs j ON j.id = d.job_id`+
		b.whereSQL()+` ORDER BY d.id DESC LIMIT `+b.arg(limit), b.args...)
	if err != nil {
		return nil, fmt.Errorf("webhook deliveries: %w", err)
	}
	defer rows.Close()
	out := []*roster.WebhookDelivery{}
	for rows.Next() {
		d, err := scanWebhookDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("webhook deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// findWebhookDelivery returns a delivery of webhook webhookID.
func findWebhookDelivery(ctx context.Context, q querier, webhookID, id int64) (*roster.WebhookDelivery, error) {
	d, err := scanWebhookDelivery(q.QueryRowContext(ctx, `SELECT `+webhookDeliveryColumns+` FROM webhook_deliveries d
		LEFT JOIN jobs j ON j.id = d.job_id WHERE d.id = $1 AND d.webhook_id = $2`, id, webhookID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Delivery")
	} else if err != nil {
		return nil, fmt.Errorf("webhook delivery %d: %w", id, err)
	}
	return d, nil
}

// ResendWebhookDelivery gives a delivery a new job, superseding any job
// still waiting to send it, and logs the resend.
func (s *Store) ResendWebhookDelivery(ctx context.Context, scope roster.Scope, webhookID, deliveryID int64) (*roster.WebhookDelivery, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if err := resendWebhookDelivery(ctx, tx, scope, webhookID, deliveryID); err != nil {
		return nil, err
	}
	d, err := findWebhookDelivery(ctx, tx, webhookID, deliveryID)
	if err != nil {
		return nil, err
	}
	return d, tx.commit()
}

func resendWebhookDelivery(ctx context.Context, tx *Tx, scope roster.Scope, webhookID, deliveryID int64) error {
	w, err := findWebhook(ctx, tx, scope, webhookID)
	if err != nil {
		return err
	}
	var seq int
	var eventType, before string
	err = tx.QueryRowContext(ctx, `SELECT seq, event_type, status FROM webhook_deliveries WHERE id = $1 AND webhook_id = $2`,
		deliveryID, w.ID).Scan(&seq, &eventType, &before)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("Delivery")
	} else if err != nil {
		return fmt.Errorf("webhook delivery %d: %w", deliveryID, err)
	}
	if err := setDeliveryJob(ctx, tx, deliveryID, seq+1); err != nil {
		return err
	}
	e := webhookEvent(roster.EventWebhookResent, w, nil, nil)
	e.Before = map[string]any{"delivery_id": deliveryID, "status": before}
	e.After = map[string]any{"delivery_id": deliveryID, "event_type": eventType, "status": roster.DeliveryPending}
	return writeEvent(ctx, tx, e)
}

// WebhookDispatch returns a delivery with what one try needs.
func (s *Store) WebhookDispatch(ctx context.Context, deliveryID int64) (*roster.WebhookDispatch, error) {
	var out roster.WebhookDispatch
	d, err := scanWebhookDelivery(s.db.QueryRowContext(ctx, `SELECT `+webhookDeliveryColumns+`, d.seq, w.url, w.secret_enc, w.active,
		coalesce(j.attempts, 0), coalesce(j.max_attempts, 0)
		FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id LEFT JOIN jobs j ON j.id = d.job_id WHERE d.id = $1`, deliveryID),
		&out.Seq, &out.URL, &out.SecretEnc, &out.Active, &out.JobAttempts, &out.JobMaxAttempts)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Delivery")
	} else if err != nil {
		return nil, fmt.Errorf("webhook delivery %d: %w", deliveryID, err)
	}
	out.Delivery = d
	return &out, nil
}

// RecordWebhookAttempt stores one try's outcome unless a resend has
// superseded the try's job.
func (s *Store) RecordWebhookAttempt(ctx context.Context, deliveryID int64, a roster.WebhookAttempt) error {
	switch a.Status {
	case roster.DeliverySent, roster.DeliveryFailed, roster.DeliveryDead:
	default:
		return fmt.Errorf("record webhook attempt: bad status %q", a.Status)
	}
	resp, msg := truncateUTF8(a.Response, roster.WebhookResponseLimit), truncateUTF8(a.Error, 1000)
	now := s.now()
	if _, err := s.db.ExecContext(ctx, `UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, last_status = $2,
		last_response = $3, last_error = $4, last_attempt_at = $5, updated_at = $5,
		delivered_at = CASE WHEN $1 = 'sent' THEN $5 ELSE delivered_at END
		WHERE id = $6 AND seq = $7`, a.Status, a.HTTPStatus, resp, msg, now, deliveryID, a.Seq); err != nil {
		return fmt.Errorf("record webhook attempt: %w", err)
	}
	return nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a character
// and replaces bytes that are not UTF-8 (and NUL, which PostgreSQL text
// refuses), so both engines store it as text.
func truncateUTF8(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
