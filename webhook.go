package roster

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Webhooks (issue 10, item 5): a company subscribes URLs of its own systems
// to event types of the notification catalog. Every matching event becomes
// a delivery, written in the event's transaction and sent by a job, signed
// the Standard Webhooks way (https://www.standardwebhooks.com/).

// Event types of changes to webhooks. They are not in the notification
// catalog, so a webhook change is never itself delivered by a webhook.
const (
	EventWebhookCreated  = "webhook.created"
	EventWebhookUpdated  = "webhook.updated"
	EventWebhookDeleted  = "webhook.deleted"
	EventWebhookResent   = "webhook.delivery_resent"
	WebhookJobKind       = "webhook.deliver"
	WebhookMaxAttempts   = 8
	MaxWebhooks          = 20
	MaxWebhookURLLength  = 2000
	WebhookResponseLimit = 4 << 10
)

// WebhookEventTypes are the event types of changes to webhooks.
var WebhookEventTypes = []string{EventWebhookCreated, EventWebhookUpdated, EventWebhookDeleted, EventWebhookResent}

func init() { EventTypes = append(EventTypes, WebhookEventTypes...) }

// DeliveryDead is the status of a webhook delivery that ran out of
// attempts (or was refused for good); a resend tries it again.
const DeliveryDead = "dead"

// Webhook is one subscription of a URL to event types. Its signing secret
// is stored encrypted and shown only once, in the answer to its creation.
type Webhook struct {
	ID         int64     `json:"id"`
	CompanyID  int64     `json:"company_id"`
	URL        string    `json:"url"`
	EventTypes []string  `json:"event_types"`
	Active     bool      `json:"active"`
	CreatedBy  *int64    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// WebhookUpdate holds the changeable fields of a webhook; nil means unchanged.
type WebhookUpdate struct {
	URL        *string
	EventTypes *[]string
	Active     *bool
}

// ValidateWebhookEventTypes checks a subscription's event types: at least
// one, each from the notification catalog, none twice.
func ValidateWebhookEventTypes(v *Validation, field string, types []string) {
	if len(types) == 0 {
		v.Add(field, "required", "Choose at least one event type.")
		return
	}
	seen := map[string]bool{}
	for _, t := range types {
		switch {
		case !InNotificationCatalog(t):
			v.Add(field, "unknown_event_type", "Unknown event type: "+t+".")
			return
		case seen[t]:
			v.Add(field, "duplicate", "Each event type is listed once: "+t+".")
			return
		}
		seen[t] = true
	}
}

// WebhookDelivery is one event sent (or to be sent) to one webhook, with
// the outcome of its last try. Payload is the exact body every try sends.
type WebhookDelivery struct {
	ID        int64  `json:"id"`
	CompanyID int64  `json:"company_id"`
	WebhookID int64  `json:"webhook_id"`
	EventID   int64  `json:"event_id"`
	EventType string `json:"event_type"`
	// MessageID is the webhook-id header: the same on every try and resend,
	// so a receiver can drop duplicates.
	MessageID string `json:"message_id"`
	// Status is pending, sent, failed (the last try failed and another
	// will follow) or dead.
	Status   string `json:"status"`
	Attempts int    `json:"attempts"`
	// LastStatus is the HTTP status of the last answer, 0 when there was none.
	LastStatus int `json:"last_status"`
	// LastResponse is the start of the last answer's body (at most
	// WebhookResponseLimit bytes).
	LastResponse string `json:"last_response"`
	// LastError says why the last try failed without an answer (refused
	// address, timeout, connection error).
	LastError string `json:"last_error"`
	// JobState is the state of the job that sends it ("" once purged).
	JobState      string          `json:"job_state"`
	NextAttemptAt *time.Time      `json:"next_attempt_at"`
	Payload       json.RawMessage `json:"payload"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
	LastAttemptAt *time.Time      `json:"last_attempt_at"`
	DeliveredAt   *time.Time      `json:"delivered_at"`
}

// WebhookDeliveryFilter pages a webhook's deliveries, newest first.
type WebhookDeliveryFilter struct {
	// BeforeID pages backwards: only deliveries with a smaller ID.
	BeforeID int64
	Limit    int
}

// WebhookDispatch is what the sender needs for one try of a delivery.
type WebhookDispatch struct {
	Delivery *WebhookDelivery
	// Seq counts the delivery's jobs: a resend makes a new job with the next
	// number, and a job whose number is not the delivery's is stale.
	Seq       int
	URL       string
	SecretEnc string
	Active    bool
	// JobAttempts and JobMaxAttempts are the counters of the delivery's
	// current job, this try included.
	JobAttempts, JobMaxAttempts int
}

// WebhookAttempt is the outcome of one try.
type WebhookAttempt struct {
	Seq        int
	Status     string // DeliverySent, DeliveryFailed or DeliveryDead
	HTTPStatus int
	Response   string
	Error      string
}

// WebhookService stores webhooks and their deliveries. Deliveries are
// written with their event, in its transaction.
type WebhookService interface {
	// CreateWebhook stores w with its encrypted secret and sets w.ID and
	// the timestamps; ECONFLICT past MaxWebhooks in the company.
	CreateWebhook(ctx context.Context, w *Webhook, secretEnc string) error
	// Webhooks lists a company's webhooks in scope, oldest first.
	Webhooks(ctx context.Context, scope Scope, companyID int64) ([]*Webhook, error)
	// WebhookByID returns a webhook in scope.
	WebhookByID(ctx context.Context, scope Scope, id int64) (*Webhook, error)
	UpdateWebhook(ctx context.Context, scope Scope, id int64, upd WebhookUpdate) (*Webhook, error)
	// DeleteWebhook removes a webhook and its deliveries; their pending
	// jobs then find nothing to send.
	DeleteWebhook(ctx context.Context, scope Scope, id int64) error
	// WebhookDeliveries lists a webhook's deliveries, newest first.
	WebhookDeliveries(ctx context.Context, scope Scope, webhookID int64, f WebhookDeliveryFilter) ([]*WebhookDelivery, error)
	// ResendWebhookDelivery sends a delivery again with a new job; a job
	// still waiting for the delivery is superseded.
	ResendWebhookDelivery(ctx context.Context, scope Scope, webhookID, deliveryID int64) (*WebhookDelivery, error)
	// WebhookDispatch returns a delivery with its webhook's URL and secret.
	WebhookDispatch(ctx context.Context, deliveryID int64) (*WebhookDispatch, error)
	// RecordWebhookAttempt stores one try's outcome, unless a resend has
	// superseded the try's job (a.Seq).
	RecordWebhookAttempt(ctx context.Context, deliveryID int64, a WebhookAttempt) error
}

// webhookRef names a user in a webhook body.
type webhookRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// webhookBody is the JSON body of a delivery, in the shape Standard
// Webhooks suggests: type, timestamp and data.
type webhookBody struct {
	Type      string      `json:"type"`
	Timestamp time.Time   `json:"timestamp"`
	Data      webhookData `json:"data"`
}

type webhookData struct {
	EventID      int64          `json:"event_id"`
	Company      webhookRef     `json:"company"`
	Actor        *webhookRef    `json:"actor"`
	Impersonator *webhookRef    `json:"impersonator,omitempty"`
	Target       *webhookTarget `json:"target"`
	Before       map[string]any `json:"before"`
	After        map[string]any `json:"after"`
	Comment      string         `json:"comment"`
	Address      string         `json:"address"`
}

type webhookTarget struct {
	UserID *int64 `json:"user_id"`
	RoleID *int64 `json:"role_id,omitempty"`
	Name   string `json:"name"`
}

// WebhookPayload is the body of the deliveries of e: the event's type,
// time, company, actor, target, before and after, and comment. Keys that
// could hold a secret (password, hash, secret, token) are left out of
// before and after, whatever an event carries.
func WebhookPayload(e *Event, companyName string) ([]byte, error) {
	b := webhookBody{Type: e.Type, Timestamp: e.CreatedAt.UTC(), Data: webhookData{
		EventID: e.ID, Company: webhookRef{ID: e.CompanyID, Name: companyName},
		Before: redact(e.Before), After: redact(e.After), Comment: e.Comment, Address: e.Address,
	}}
	if e.ActorID != nil {
		b.Data.Actor = &webhookRef{ID: *e.ActorID, Name: e.ActorName}
	}
	if e.ImpersonatorID != nil {
		b.Data.Impersonator = &webhookRef{ID: *e.ImpersonatorID, Name: e.ImpersonatorName}
	}
	if e.TargetUserID != nil || e.TargetRoleID != nil || e.TargetName != "" {
		b.Data.Target = &webhookTarget{UserID: e.TargetUserID, RoleID: e.TargetRoleID, Name: e.TargetName}
	}
	return json.Marshal(b)
}

// redact copies m without the keys that could hold a secret, at any depth.
func redact(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if secretKey(k) {
			continue
		}
		if inner, ok := v.(map[string]any); ok {
			v = redact(inner)
		}
		out[k] = v
	}
	return out
}

func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"password", "hash", "secret", "token"} {
		if strings.Contains(k, s) && k != "password_temporary" {
			return true
		}
	}
	return false
}
