package web

import (
	"net/http"
	"strconv"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
)

// The webhooks API (issue 10, item 5). Handlers decode, call one workflow
// of app.Webhooks and render.

// webhookRoutes are the rows of the route table for webhooks.
func (s *Server) webhookRoutes() []route {
	P := anyOf(roster.PermWebhooksManage)
	const tag = "webhooks"
	return []route{
		{"GET", "/api/v1/webhooks", P, s.handleWebhookList, opDoc{tag: tag, summary: "List a company's webhooks", status: 200, response: "WebhookList",
			query: []paramDoc{pCompany}, description: "Secrets are never returned here: only in the answer to the creation."}},
		{"POST", "/api/v1/webhooks", P, s.handleWebhookCreate, opDoc{tag: tag, summary: "Subscribe a URL to event types", body: "WebhookCreate", status: 201, response: "WebhookCreated",
			errors: []int{409},
			description: "Answers the signing `secret` (`whsec_…`) this once; it is stored encrypted. Every delivery is a POST of a JSON body " +
				"`{type, timestamp, data}` signed the Standard Webhooks way: headers `webhook-id` (the same on every try of a delivery), " +
				"`webhook-timestamp` (Unix seconds of the try) and `webhook-signature: v1,<base64 HMAC-SHA256 of \"{webhook-id}.{webhook-timestamp}.{body}\">`, " +
				"keyed with the base64-decoded part of the secret after `whsec_`. A 2xx answer is success; anything else, a timeout (10 s) or a redirect " +
				"(never followed) is retried with exponential backoff, 8 tries in all. Only http(s) URLs; loopback, link-local, private, CGNAT, " +
				"multicast and the cloud metadata addresses are refused (422), also when a host name resolves to one at sending time, " +
				"unless the server runs with --webhooks-allow-private (which never allows the metadata address). 409 past 20 webhooks in a company."}},
		{"GET", "/api/v1/webhooks/{id}", P, s.handleWebhookGet, opDoc{tag: tag, summary: "Get a webhook", status: 200, response: "Webhook"}},
		{"PATCH", "/api/v1/webhooks/{id}", P, s.handleWebhookPatch, opDoc{tag: tag, summary: "Change a webhook's URL, event types or active flag", body: "WebhookPatch", status: 200, response: "Webhook",
			description: "A paused webhook (active false) gets no new deliveries; tries still waiting for it end dead."}},
		{"DELETE", "/api/v1/webhooks/{id}", P, s.handleWebhookDelete, opDoc{tag: tag, summary: "Delete a webhook and its delivery log", status: 204}},
		{"GET", "/api/v1/webhooks/{id}/deliveries", P, s.handleWebhookDeliveries, opDoc{tag: tag, summary: "A webhook's delivery log, newest first", status: 200, response: "WebhookDeliveryList",
			query: []paramDoc{pLimit, {"before_id", "integer", "Page backwards: deliveries older than this ID.", nil}},
			description: "Each delivery with its attempts, the HTTP status and the first 4 KB of the body of the last answer (or why there was none), " +
				"its timestamps and the state of its job. status: pending, sent, failed (will be retried at next_attempt_at) or dead (given up)."}},
		{"POST", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/resend", P, s.handleWebhookResend, opDoc{tag: tag, summary: "Send a delivery again",
			status: 202, response: "WebhookDelivery",
			description: "A new job sends the same body with the same webhook-id at once (and a new timestamp and signature); a retry still waiting is superseded."}},
	}
}

func (s *Server) handleWebhookList(w http.ResponseWriter, r *http.Request) error {
	return listInCompany(w, r, s.App.Webhooks.List)
}

// webhookRequest is the body of create and patch.
type webhookRequest struct {
	CompanyID  *int64    `json:"company_id"`
	URL        *string   `json:"url"`
	EventTypes *[]string `json:"event_types"`
	Active     *bool     `json:"active"`
}

func (s *Server) handleWebhookCreate(w http.ResponseWriter, r *http.Request) error {
	var req webhookRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	n := app.NewWebhook{Active: req.Active}
	if req.CompanyID != nil {
		n.CompanyID = *req.CompanyID
	}
	if req.URL != nil {
		n.URL = *req.URL
	}
	if req.EventTypes != nil {
		n.EventTypes = *req.EventTypes
	}
	created, err := s.App.Webhooks.Create(r.Context(), n)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, created)
}

func (s *Server) handleWebhookGet(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	hook, err := s.App.Webhooks.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, hook)
}

func (s *Server) handleWebhookPatch(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req webhookRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.CompanyID != nil {
		var v roster.Validation
		v.Add("company_id", "immutable", "A webhook stays in its company.")
		return v.Err()
	}
	hook, err := s.App.Webhooks.Update(r.Context(), id, roster.WebhookUpdate{URL: req.URL, EventTypes: req.EventTypes, Active: req.Active})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, hook)
}

func (s *Server) handleWebhookDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.App.Webhooks.Delete(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	q := newQuery(r, "limit", "before_id")
	f := roster.WebhookDeliveryFilter{Limit: q.limit()}
	if b := q.id("before_id"); b != nil {
		f.BeforeID = *b
	}
	if err := q.err(); err != nil {
		return err
	}
	ds, err := s.App.Webhooks.Deliveries(r.Context(), id, f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": ds})
}

func (s *Server) handleWebhookResend(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	deliveryID, err := strconv.ParseInt(r.PathValue("delivery_id"), 10, 64)
	if err != nil || deliveryID < 1 {
		return roster.Errorf(roster.ENOTFOUND, "Not found.")
	}
	d, err := s.App.Webhooks.Resend(r.Context(), id, deliveryID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, d)
}

// withWebhookSchemas adds the webhook schemas to the document's schemas.
func withWebhookSchemas(m map[string]any) map[string]any {
	var types []string
	for _, c := range roster.NotificationCatalog {
		types = append(types, c.Type)
	}
	eventType := enum(types...)
	props := func(extra map[string]any) map[string]any {
		p := map[string]any{"id": integer(), "company_id": integer(), "url": str(), "event_types": arr(eventType),
			"active": boolean(), "created_by": nullable("integer"), "created_at": dateTime(), "updated_at": dateTime()}
		for k, v := range extra {
			p[k] = v
		}
		return p
	}
	required := []string{"id", "company_id", "url", "event_types", "active", "created_at", "updated_at"}
	url := map[string]any{"type": "string", "format": "uri", "maxLength": roster.MaxWebhookURLLength, "description": "An http:// or https:// URL."}
	m["Webhook"] = obj(required, props(nil))
	m["WebhookCreated"] = obj(append(required, "secret"), props(map[string]any{"secret": map[string]any{"type": "string",
		"description": "The signing secret, whsec_ and base64: shown this once."}}))
	m["WebhookList"] = obj([]string{"items"}, map[string]any{"items": arr(ref("Webhook"))})
	m["WebhookCreate"] = closed(obj([]string{"url", "event_types"}, map[string]any{"company_id": integer(), "url": url,
		"event_types": map[string]any{"type": "array", "items": eventType, "minItems": 1, "uniqueItems": true},
		"active":      map[string]any{"type": "boolean", "default": true}}))
	m["WebhookPatch"] = closed(obj(nil, map[string]any{"url": url,
		"event_types": map[string]any{"type": "array", "items": eventType, "minItems": 1, "uniqueItems": true}, "active": boolean()}))
	m["WebhookDelivery"] = obj([]string{"id", "webhook_id", "event_id", "event_type", "message_id", "status", "attempts", "created_at"}, map[string]any{
		"id": integer(), "company_id": integer(), "webhook_id": integer(), "event_id": integer(), "event_type": eventType,
		"message_id":      map[string]any{"type": "string", "description": "The webhook-id header."},
		"status":          enum(roster.DeliveryPending, roster.DeliverySent, roster.DeliveryFailed, roster.DeliveryDead),
		"attempts":        integer(),
		"last_status":     map[string]any{"type": "integer", "description": "HTTP status of the last answer; 0 when there was none."},
		"last_response":   map[string]any{"type": "string", "description": "The first 4 KB of the last answer's body."},
		"last_error":      map[string]any{"type": "string", "description": "Why the last try got no answer."},
		"job_state":       enum(roster.JobPending, roster.JobRunning, roster.JobDone, roster.JobDead, roster.JobHeld, ""),
		"next_attempt_at": nullableDateTime(), "payload": obj([]string{"type", "timestamp", "data"}, map[string]any{
			"type": str(), "timestamp": dateTime(),
			"data": freeForm(map[string]any{"type": "object", "description": "The event: event_id, company, actor, impersonator, target, before, after, comment, address."})}),
		"created_at": dateTime(), "updated_at": dateTime(), "last_attempt_at": nullableDateTime(), "delivered_at": nullableDateTime(),
	})
	m["WebhookDeliveryList"] = obj([]string{"items"}, map[string]any{"items": arr(ref("WebhookDelivery"))})
	return m
}
