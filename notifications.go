package roster

import (
	"context"
	"time"
)

// Notification channels (O3).
const (
	ChannelEmail    = "email"
	ChannelTelegram = "telegram"
	ChannelSlack    = "slack"
)

// Channels lists the notification channels.
var Channels = []string{ChannelEmail, ChannelTelegram, ChannelSlack}

// NotificationEventInfo is one entry of the notification catalog.
type NotificationEventInfo struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

// NotificationCatalog lists the event types a user may subscribe to.
var NotificationCatalog = []NotificationEventInfo{
	{EventUserCreated, "User created"},
	{EventUserBlocked, "User blocked"},
	{EventUserUnblocked, "User unblocked"},
	{EventUserDeleted, "User deleted"},
	{EventUserRolesChanged, "User's roles changed"},
	{EventMFADisabled, "Two-factor authentication disabled"},
	{EventMFAReset, "Two-factor authentication reset to e-mail"},
	{EventSignInRefusedByAddr, "Sign-in refused by the IP allowlist"},
	{EventUserLocked, "Account locked after repeated failed sign-ins"},
	{EventUserAddressLocked, "Sign-in locked for one address after repeated failures"},
	{EventUserUnlocked, "Account unlocked"},
	{EventSignInFailed, "Failed sign-in"},
}

// InNotificationCatalog reports whether typ may be subscribed to.
func InNotificationCatalog(typ string) bool {
	for _, c := range NotificationCatalog {
		if c.Type == typ {
			return true
		}
	}
	return false
}

// EventNotificationTypesChanged records the Main administrator's change of
// the event types enabled for notification (seed 003, System > Event
// notifications).
const EventNotificationTypesChanged = "notification.event_types_changed"

func init() { EventTypes = append(EventTypes, EventNotificationTypesChanged) }

// NotificationEventType is a catalog entry and whether it is enabled for
// notification installation-wide.
type NotificationEventType struct {
	Type    string `json:"type"`
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
}

// ValidateEnabledTypes checks a list of event types to enable: each in the
// catalog, each once.
func ValidateEnabledTypes(types []string) error {
	var v Validation
	seen := map[string]bool{}
	for _, t := range types {
		if !InNotificationCatalog(t) {
			v.Add("enabled", "unknown_event_type", "Unknown event type: "+t+".")
			break
		}
		if seen[t] {
			v.Add("enabled", "duplicate", "Each event type is listed once: "+t+".")
			break
		}
		seen[t] = true
	}
	return v.Err()
}

// NotificationJobKind is the job kind that delivers one notification.
const NotificationJobKind = "notify.deliver"

// NotificationMaxAttempts is how often a notification is tried before its
// delivery is dead.
const NotificationMaxAttempts = 5

// Subscription is one event type and the channels it goes to.
type Subscription struct {
	EventType string   `json:"event_type"`
	Channels  []string `json:"channels"`
}

// NotificationPrefs are a user's notification settings: where Telegram and
// Slack messages go, and which event types go to which channels. E-mail
// goes to the user's own address.
type NotificationPrefs struct {
	TelegramChatID string         `json:"telegram_chat_id"`
	SlackChannelID string         `json:"slack_channel_id"`
	Subscriptions  []Subscription `json:"subscriptions"`
}

// Validate checks the prefs against the catalog and the channels' targets.
func (p *NotificationPrefs) Validate() error {
	var v Validation
	ValidateText(&v, "telegram_chat_id", p.TelegramChatID, 100)
	ValidateText(&v, "slack_channel_id", p.SlackChannelID, 100)
	seen := map[string]bool{}
	for _, s := range p.Subscriptions {
		if !InNotificationCatalog(s.EventType) {
			v.Add("subscriptions", "unknown_event_type", "Unknown event type: "+s.EventType+".")
			break
		}
		if seen[s.EventType] {
			v.Add("subscriptions", "duplicate", "Each event type is listed once: "+s.EventType+".")
			break
		}
		seen[s.EventType] = true
		for _, c := range s.Channels {
			switch c {
			case ChannelEmail:
			case ChannelTelegram:
				if p.TelegramChatID == "" && !v.Has("telegram_chat_id") {
					v.Add("telegram_chat_id", "required", "Give a Telegram chat ID to receive Telegram notifications.")
				}
			case ChannelSlack:
				if p.SlackChannelID == "" && !v.Has("slack_channel_id") {
					v.Add("slack_channel_id", "required", "Give a Slack channel ID to receive Slack notifications.")
				}
			default:
				if !v.Has("subscriptions") {
					v.Add("subscriptions", "unknown_channel", `A channel is "email", "telegram" or "slack".`)
				}
			}
		}
	}
	return v.Err()
}

// Delivery is one notification message to one target, delivered by a job.
type Delivery struct {
	ID        int64     `json:"id"`
	CompanyID int64     `json:"company_id"`
	UserID    *int64    `json:"user_id"`
	EventID   int64     `json:"event_id"`
	EventType string    `json:"event_type"`
	Channel   string    `json:"channel"`
	Target    string    `json:"target"`
	Body      string    `json:"text"`
	Status    string    `json:"status"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error"`
	JobState  string    `json:"job_state"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Delivery statuses.
const (
	DeliveryPending = "pending"
	DeliverySent    = "sent"
	DeliveryFailed  = "failed" // the last try failed; JobState says whether it is retried or dead
)

// NotificationService stores notification settings and deliveries.
// Deliveries are written with their event, in its transaction.
type NotificationService interface {
	NotificationPrefs(ctx context.Context, userID int64) (*NotificationPrefs, error)
	// SetNotificationPrefs replaces a user's settings, with an event
	// (the user's own change, or an administrator's on their card).
	SetNotificationPrefs(ctx context.Context, userID int64, p *NotificationPrefs) error
	// DisabledNotificationTypes lists the catalog's event types switched
	// off for notification installation-wide.
	DisabledNotificationTypes(ctx context.Context) ([]string, error)
	// SetDisabledNotificationTypes replaces that list, with an event in
	// companyID (the Main administrator's own company).
	SetDisabledNotificationTypes(ctx context.Context, companyID int64, disabled []string) error
	DeliveryByID(ctx context.Context, id int64) (*Delivery, error)
	// RecordDeliveryAttempt stores the outcome of one try (errMsg empty on success).
	RecordDeliveryAttempt(ctx context.Context, id int64, errMsg string) error
	// FailedDeliveries lists deliveries in scope whose last try failed, newest first.
	FailedDeliveries(ctx context.Context, scope Scope, limit int) ([]*Delivery, error)
	// CompanyTokens returns a company's sealed Telegram and Slack tokens.
	CompanyTokens(ctx context.Context, companyID int64) (telegram, slack string, err error)
}
