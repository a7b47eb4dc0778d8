package panel

import (
	"net/http"
	"slices"
	"strings"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
)

// The company's webhooks (issue 10, item 5), under its settings: the list,
// a form to add one with event-type checkboxes, the signing secret shown
// once, and each webhook's page with its delivery log and resend buttons.
// Every handler calls one workflow of app.Webhooks, which checks the
// webhooks.manage permission and the company.

func (p *Panel) webhookRoutes(mux *http.ServeMux) {
	mux.Handle("GET /settings/webhooks", p.auth(p.handleWebhooks))
	mux.Handle("POST /settings/webhooks", p.auth(p.handleWebhookCreate))
	mux.Handle("GET /settings/webhooks/{id}", p.auth(p.handleWebhook))
	mux.Handle("POST /settings/webhooks/{id}", p.auth(p.handleWebhookUpdate))
	mux.Handle("POST /settings/webhooks/{id}/delete", p.auth(p.handleWebhookDelete))
	mux.Handle("POST /settings/webhooks/{id}/deliveries/{delivery_id}/resend", p.auth(p.handleWebhookResend))
}

// navOpsSettings marks the operations settings as a section of Settings.
const navOpsSettings = "settings-operations"

// settingsTab is one tab of the company settings: one Settings place
// whose sections are sign-in and passwords, operations (call statistics,
// notification tokens), webhooks and service tokens.
type settingsTab struct {
	Href, Label string
	Current     bool
}

// SettingsTabs are the company settings pages the actor may open.
func (pg *page) SettingsTabs() []settingsTab {
	var tabs []settingsTab
	if pg.CanSettings() {
		tabs = append(tabs, settingsTab{"/settings/credentials", pg.T("settings.credentials"), pg.Nav == "settings"})
	}
	if app.CanChangeCompanySettings(pg.Actor) {
		tabs = append(tabs, settingsTab{"/settings/operations", pg.T("settings.operations"), pg.Nav == navOpsSettings})
	}
	if pg.Can(string(roster.PermWebhooksManage)) {
		tabs = append(tabs, settingsTab{"/settings/webhooks", pg.T("webhooks.title"), pg.Nav == "webhooks"})
	}
	if pg.Can(string(roster.PermServiceTokensManage)) && pg.Actor.User != nil {
		tabs = append(tabs, settingsTab{"/settings/service-tokens", pg.T("tokens.title"), pg.Nav == "service-tokens"})
	}
	return tabs
}

// webhookForm is the add and edit form as typed.
type webhookForm struct {
	URL    string
	Types  []string
	Active bool
}

// Checked reports whether an event type is ticked.
func (f webhookForm) Checked(typ string) bool { return slices.Contains(f.Types, typ) }

func readWebhookForm(r *http.Request) webhookForm {
	var f webhookForm
	f.URL = strings.TrimSpace(r.PostFormValue("url"))
	for _, c := range roster.NotificationCatalog {
		if slices.Contains(r.PostForm["event_types"], c.Type) {
			f.Types = append(f.Types, c.Type)
		}
	}
	f.Active = r.PostFormValue("active") != ""
	return f
}

// webhooksView is the list page.
type webhooksView struct {
	*page
	Hooks   []*roster.Webhook
	Catalog []roster.NotificationEventInfo
	Form    webhookForm
	Errors  formErrors
	// Created is the webhook just added, with its secret: shown this once.
	Created *app.CreatedWebhook
}

func (p *Panel) webhooksView(w http.ResponseWriter, r *http.Request) (*webhooksView, error) {
	hooks, err := p.App.Webhooks.List(r.Context(), 0)
	if err != nil {
		return nil, err
	}
	return &webhooksView{page: p.newPage(w, r, "webhooks.title", "webhooks"), Hooks: hooks,
		Catalog: p.App.Webhooks.Catalog(), Form: webhookForm{Active: true}}, nil
}

func (p *Panel) handleWebhooks(w http.ResponseWriter, r *http.Request) error {
	v, err := p.webhooksView(w, r)
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "webhooks", v)
}

// handleWebhookCreate adds a webhook and answers the list with its secret
// (not a redirect: the secret exists only in this answer).
func (p *Panel) handleWebhookCreate(w http.ResponseWriter, r *http.Request) error {
	form := readWebhookForm(r)
	created, err := p.App.Webhooks.Create(r.Context(), app.NewWebhook{URL: form.URL, EventTypes: form.Types})
	if err != nil {
		fe, ok := newFormErrors(state(r).lang, err)
		if !ok {
			return err
		}
		v, verr := p.webhooksView(w, r)
		if verr != nil {
			return verr
		}
		v.Form, v.Errors = form, *fe
		return p.render(w, r, formStatus(err), "webhooks", v)
	}
	v, err := p.webhooksView(w, r)
	if err != nil {
		return err
	}
	v.Created = created
	return p.render(w, r, http.StatusCreated, "webhooks", v)
}

// webhookView is one webhook's page: its settings and its delivery log.
type webhookView struct {
	*page
	Hook       *roster.Webhook
	Catalog    []roster.NotificationEventInfo
	Form       webhookForm
	Errors     formErrors
	Deliveries []*roster.WebhookDelivery
	// Next pages the log backwards (0: no older deliveries).
	Next int64
}

// DeliveryClass is the badge class of a delivery status.
func (v *webhookView) DeliveryClass(status string) string {
	switch status {
	case roster.DeliverySent:
		return "badge-job-done"
	case roster.DeliveryDead:
		return "badge-job-dead"
	}
	return "badge-job-pending"
}

// Short cuts an answer's body for the log's table; the whole of it (at
// most 4 KB) is in the cell's title.
func (v *webhookView) Short(s string) string {
	const max = 160
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}

// deliveryPage is how many deliveries the log shows at once.
const deliveryPage = 50

func (p *Panel) webhookView(w http.ResponseWriter, r *http.Request) (*webhookView, error) {
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return nil, roster.Errorf(roster.ENOTFOUND, "Webhook not found.")
	}
	ctx := r.Context()
	hook, err := p.App.Webhooks.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	f := roster.WebhookDeliveryFilter{Limit: deliveryPage}
	if b, ok := pathID(r.URL.Query().Get("before")); ok {
		f.BeforeID = b
	}
	ds, err := p.App.Webhooks.Deliveries(ctx, id, f)
	if err != nil {
		return nil, err
	}
	v := &webhookView{page: p.newPage(w, r, "webhooks.title", "webhooks"), Hook: hook, Catalog: p.App.Webhooks.Catalog(),
		Form: webhookForm{URL: hook.URL, Types: hook.EventTypes, Active: hook.Active}, Deliveries: ds}
	if len(ds) == deliveryPage {
		v.Next = ds[len(ds)-1].ID
	}
	return v, nil
}

func (p *Panel) handleWebhook(w http.ResponseWriter, r *http.Request) error {
	v, err := p.webhookView(w, r)
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "webhook", v)
}

func (p *Panel) handleWebhookUpdate(w http.ResponseWriter, r *http.Request) error {
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return roster.Errorf(roster.ENOTFOUND, "Webhook not found.")
	}
	form := readWebhookForm(r)
	types := form.Types
	_, err := p.App.Webhooks.Update(r.Context(), id, roster.WebhookUpdate{URL: &form.URL, EventTypes: &types, Active: &form.Active})
	if err != nil {
		fe, ok := newFormErrors(state(r).lang, err)
		if !ok {
			return err
		}
		v, verr := p.webhookView(w, r)
		if verr != nil {
			return verr
		}
		v.Form, v.Errors = form, *fe
		return p.render(w, r, formStatus(err), "webhook", v)
	}
	return p.redirect(w, r, r.URL.Path, "flash.webhook_saved", 0)
}

func (p *Panel) handleWebhookDelete(w http.ResponseWriter, r *http.Request) error {
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return roster.Errorf(roster.ENOTFOUND, "Webhook not found.")
	}
	if err := p.App.Webhooks.Delete(r.Context(), id); err != nil {
		return err
	}
	return p.redirect(w, r, "/settings/webhooks", "flash.webhook_deleted", 0)
}

func (p *Panel) handleWebhookResend(w http.ResponseWriter, r *http.Request) error {
	id, ok := pathID(r.PathValue("id"))
	deliveryID, ok2 := pathID(r.PathValue("delivery_id"))
	if !ok || !ok2 {
		return roster.Errorf(roster.ENOTFOUND, "Delivery not found.")
	}
	if _, err := p.App.Webhooks.Resend(r.Context(), id, deliveryID); err != nil {
		return err
	}
	return p.redirect(w, r, "/settings/webhooks/"+r.PathValue("id"), "flash.webhook_resent", 0)
}
