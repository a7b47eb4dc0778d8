package i18n

// enWebhooks holds the English strings of the webhooks pages (issue 10,
// item 5); init merges it and ruWebhooks into the catalogs.
var enWebhooks = map[string]string{
	"perm.webhooks.manage": "Manage the company's webhooks",

	"webhooks.title":          "Webhooks",
	"webhooks.lead":           "Roster posts the events you choose to your systems' URLs, signed the Standard Webhooks way, and retries failed deliveries.",
	"webhooks.none":           "No webhooks yet.",
	"webhooks.add":            "Add webhook",
	"webhooks.edit":           "Webhook settings",
	"webhooks.url":            "URL",
	"webhooks.url_hint":       "An http:// or https:// address of your system. Addresses of this installation's own network are refused.",
	"webhooks.event_types":    "Events",
	"webhooks.state":          "State",
	"webhooks.created_at":     "Added",
	"webhooks.active":         "Active",
	"webhooks.paused":         "Paused",
	"webhooks.active_label":   "Active: send new events to this URL",
	"webhooks.open":           "Open the delivery log",
	"webhooks.back":           "All webhooks",
	"webhooks.created":        "Webhook added",
	"webhooks.secret":         "Signing secret",
	"webhooks.secret_warning": "Copy the signing secret now: it is shown only this once.",
	"webhooks.secret_hint":    "Your system checks the webhook-signature header of every request with it (HMAC-SHA256, Standard Webhooks). Lost it? Delete the webhook and add it again.",
	"webhooks.log":            "Delivery log",
	"webhooks.no_deliveries":  "Nothing was sent yet: deliveries appear when a chosen event happens.",
	"webhooks.event":          "Event",
	"webhooks.attempts":       "Tries",
	"webhooks.last_answer":    "Last answer",
	"webhooks.times":          "Times",
	"webhooks.next_try":       "Next try",
	"webhooks.last_try":       "Last try",
	"webhooks.delivered":      "Delivered",
	"webhooks.resend":         "Resend",
	"webhooks.resend_label":   "Resend delivery %d",
	"webhooks.status.pending": "Pending",
	"webhooks.status.sent":    "Sent",
	"webhooks.status.failed":  "Failed, will retry",
	"webhooks.status.dead":    "Failed for good",
	"webhooks.delete":         "Delete webhook",
	"webhooks.delete_hint":    "The webhook and its delivery log are deleted; nothing more is sent to this URL.",
	"webhooks.delete_confirm": "Delete this webhook and its delivery log?",

	"flash.webhook_saved":   "Webhook saved.",
	"flash.webhook_deleted": "Webhook deleted.",
	"flash.webhook_resent":  "The delivery will be sent again in a moment.",

	"field.invalid_url":     "Enter an http:// or https:// URL.",
	"field.url_credentials": "A webhook URL carries no user name or password: requests are signed instead.",
	"field.url_refused":     "This address is not allowed: it belongs to a private, loopback or otherwise internal network.",
	"field.webhooks_limit":  "A company has at most %d webhooks; delete one first.",

	"event.webhook.created":         "Webhook added",
	"event.webhook.updated":         "Webhook changed",
	"event.webhook.deleted":         "Webhook deleted",
	"event.webhook.delivery_resent": "Webhook delivery resent",
}

func init() {
	for lang, extra := range map[string]map[string]string{EN: enWebhooks, RU: ruWebhooks} {
		for k, v := range extra {
			if _, ok := catalogs[lang][k]; !ok {
				catalogs[lang][k] = v
			}
		}
	}
}
