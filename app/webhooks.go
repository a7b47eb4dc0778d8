package app

import (
	"context"
	"slices"
	"strings"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/secure"
	"github.com/roster-app/roster/webhook"
)

// Webhooks are the workflows on a company's webhooks (issue 10, item 5):
// holders of webhooks.manage subscribe URLs of their company's systems to
// event types of the notification catalog, read the delivery log and send
// a delivery again. Another company's webhook is not found.
type Webhooks struct{ app *App }

// NewWebhook is a subscription as the front doors receive it.
type NewWebhook struct {
	// CompanyID is a company in the actor's scope; 0 means their own.
	CompanyID  int64
	URL        string
	EventTypes []string
	// Active defaults to true.
	Active *bool
}

// CreatedWebhook is a new webhook with its signing secret, which is shown
// this once: only its encryption is stored.
type CreatedWebhook struct {
	*roster.Webhook
	Secret string `json:"secret"`
}

// hookKeyOf returns the key sealing signing secrets.
func (a *App) hookKeyOf(ctx context.Context) ([]byte, error) {
	if err := a.keys(ctx); err != nil {
		return nil, err
	}
	return a.hookKey, nil
}

// Catalog lists the event types a webhook may subscribe to.
func (s *Webhooks) Catalog() []roster.NotificationEventInfo { return roster.NotificationCatalog }

// Create subscribes a URL to event types. The URL, the event types and the
// company are checked at once; the secret is made here and sealed before
// the store sees it.
func (s *Webhooks) Create(ctx context.Context, n NewWebhook) (*CreatedWebhook, error) {
	a, err := actor(ctx, roster.PermWebhooksManage)
	if err != nil {
		return nil, err
	}
	n.URL = strings.TrimSpace(n.URL)
	cerr := s.app.companyIn(ctx, a, &n.CompanyID)
	var v roster.Validation
	roster.ValidateWebhookEventTypes(&v, "event_types", n.EventTypes)
	if err := merge(cerr, webhook.CheckURL(n.URL, s.app.d.WebhooksAllowPrivate), v.Err()); err != nil {
		return nil, err
	}
	key, err := s.app.hookKeyOf(ctx)
	if err != nil {
		return nil, err
	}
	secret := webhook.NewSecret()
	sealed, err := secure.Encrypt(key, []byte(secret))
	if err != nil {
		return nil, err
	}
	w := &roster.Webhook{CompanyID: n.CompanyID, URL: n.URL, EventTypes: catalogOrder(n.EventTypes), Active: true}
	if n.Active != nil {
		w.Active = *n.Active
	}
	if err := s.app.d.Webhooks.CreateWebhook(ctx, w, sealed); err != nil {
		return nil, err
	}
	return &CreatedWebhook{Webhook: w, Secret: secret}, nil
}

// catalogOrder sorts event types as the catalog lists them.
func catalogOrder(types []string) []string {
	out := slices.Clone(types)
	pos := func(t string) int {
		return slices.IndexFunc(roster.NotificationCatalog, func(c roster.NotificationEventInfo) bool { return c.Type == t })
	}
	slices.SortStableFunc(out, func(a, b string) int { return pos(a) - pos(b) })
	return out
}

// List returns the webhooks of a company in the actor's scope (0: their own).
func (s *Webhooks) List(ctx context.Context, companyID int64) ([]*roster.Webhook, error) {
	a, err := actor(ctx, roster.PermWebhooksManage)
	if err != nil {
		return nil, err
	}
	if err := s.app.companyIn(ctx, a, &companyID); err != nil {
		return nil, err
	}
	return s.app.d.Webhooks.Webhooks(ctx, a.Scope, companyID)
}

// Get returns a webhook in the actor's scope, without its secret.
func (s *Webhooks) Get(ctx context.Context, id int64) (*roster.Webhook, error) {
	a, err := actor(ctx, roster.PermWebhooksManage)
	if err != nil {
		return nil, err
	}
	return s.app.d.Webhooks.WebhookByID(ctx, a.Scope, id)
}

// Update changes a webhook's URL, event types or active flag, all checked
// at once.
func (s *Webhooks) Update(ctx context.Context, id int64, upd roster.WebhookUpdate) (*roster.Webhook, error) {
	a, err := actor(ctx, roster.PermWebhooksManage)
	if err != nil {
		return nil, err
	}
	if _, err := s.app.d.Webhooks.WebhookByID(ctx, a.Scope, id); err != nil {
		return nil, err
	}
	var uerr error
	if upd.URL != nil {
		u := strings.TrimSpace(*upd.URL)
		upd.URL = &u
		uerr = webhook.CheckURL(u, s.app.d.WebhooksAllowPrivate)
	}
	var v roster.Validation
	if upd.EventTypes != nil {
		roster.ValidateWebhookEventTypes(&v, "event_types", *upd.EventTypes)
		types := catalogOrder(*upd.EventTypes)
		upd.EventTypes = &types
	}
	if err := merge(uerr, v.Err()); err != nil {
		return nil, err
	}
	return s.app.d.Webhooks.UpdateWebhook(ctx, a.Scope, id, upd)
}

// Delete removes a webhook and its delivery log.
func (s *Webhooks) Delete(ctx context.Context, id int64) error {
	a, err := actor(ctx, roster.PermWebhooksManage)
	if err != nil {
		return err
	}
	return s.app.d.Webhooks.DeleteWebhook(ctx, a.Scope, id)
}

// Deliveries returns one page of a webhook's delivery log, newest first.
func (s *Webhooks) Deliveries(ctx context.Context, id int64, f roster.WebhookDeliveryFilter) ([]*roster.WebhookDelivery, error) {
	a, err := actor(ctx, roster.PermWebhooksManage)
	if err != nil {
		return nil, err
	}
	return s.app.d.Webhooks.WebhookDeliveries(ctx, a.Scope, id, f)
}

// Resend sends a delivery again, with the same body and webhook-id, as a
// new job: at once, even while an earlier job waits to retry it.
func (s *Webhooks) Resend(ctx context.Context, id, deliveryID int64) (*roster.WebhookDelivery, error) {
	a, err := actor(ctx, roster.PermWebhooksManage)
	if err != nil {
		return nil, err
	}
	d, err := s.app.d.Webhooks.ResendWebhookDelivery(ctx, a.Scope, id, deliveryID)
	if err != nil {
		return nil, err
	}
	s.app.JobsWritten()
	return d, nil
}
