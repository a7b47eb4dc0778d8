package web_test

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
	"github.com/roster-app/roster/secure"
	"github.com/roster-app/roster/web"
	"github.com/roster-app/roster/webhook"
)

// hookFixture is a webhook of Acme with one delivery, shared by the cells
// of the authorization matrix (a company has at most 20 webhooks).
type hookFixture struct {
	hook     *roster.Webhook
	delivery int64
}

var sharedHooks sync.Map // *env → *hookFixture

// acmeHook creates a webhook of Acme subscribed to user.blocked directly
// in the store.
func (e *env) acmeHook(url string) *roster.Webhook {
	e.t.Helper()
	w := &roster.Webhook{CompanyID: e.acme.ID, URL: url, EventTypes: []string{roster.EventUserBlocked}, Active: true}
	must(e.t, e.store.CreateWebhook(context.Background(), w, "v1:sealed-elsewhere"))
	return w
}

// sharedHook returns the env's shared webhook, with a delivery caused by
// blocking a fresh user.
func (e *env) sharedHook() *hookFixture {
	e.t.Helper()
	if v, ok := sharedHooks.Load(e); ok {
		return v.(*hookFixture)
	}
	ctx := context.Background()
	f := &hookFixture{hook: e.acmeHook("https://203.0.113.10/shared")}
	_, err := e.store.BlockUser(ctx, roster.Scope{All: true}, e.victim().ID, "webhook fixture")
	must(e.t, err)
	ds, err := e.store.WebhookDeliveries(ctx, roster.Scope{All: true}, f.hook.ID, roster.WebhookDeliveryFilter{})
	must(e.t, err)
	if len(ds) != 1 {
		e.t.Fatalf("shared webhook has %d deliveries, want 1", len(ds))
	}
	f.delivery = ds[0].ID
	sharedHooks.Store(e, f)
	return f
}

// webhookMatrixRows are the authorization matrix rows of the webhooks API.
func webhookMatrixRows() []matrixRow {
	onHook := func(suffix string, body any) func(e *env) (string, any) {
		return func(e *env) (string, any) { return path("/api/v1/webhooks/%d%s", e.sharedHook().hook.ID, suffix), body }
	}
	return []matrixRow{
		//                                                                                  anon root admin disp emp other reseller
		{"GET", "/api/v1/webhooks", func(e *env) (string, any) { return path("/api/v1/webhooks?company_id=%d", e.acme.ID), nil },
			w{401, 200, 200, 403, 403, 422, 200}},
		{"POST", "/api/v1/webhooks", func(e *env) (string, any) {
			return "/api/v1/webhooks", map[string]any{"company_id": e.acme.ID, "url": path("https://203.0.113.10/new%d", e.seq.Add(1)),
				"event_types": []string{roster.EventUserBlocked}}
		}, w{401, 201, 201, 403, 403, 422, 201}},
		{"GET", "/api/v1/webhooks/{id}", onHook("", nil), w{401, 200, 200, 403, 403, 404, 200}},
		{"PATCH", "/api/v1/webhooks/{id}", onHook("", map[string]any{"event_types": []string{roster.EventUserBlocked, roster.EventUserCreated}}),
			w{401, 200, 200, 403, 403, 404, 200}},
		{"DELETE", "/api/v1/webhooks/{id}", func(e *env) (string, any) {
			return path("/api/v1/webhooks/%d", e.acmeHook("https://203.0.113.10/doomed").ID), nil
		}, w{401, 204, 204, 403, 403, 404, 204}},
		{"GET", "/api/v1/webhooks/{id}/deliveries", onHook("/deliveries", nil), w{401, 200, 200, 403, 403, 404, 200}},
		{"POST", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/resend", func(e *env) (string, any) {
			f := e.sharedHook()
			return path("/api/v1/webhooks/%d/deliveries/%d/resend", f.hook.ID, f.delivery), nil
		}, w{401, 202, 202, 403, 403, 404, 202}},
	}
}

// webhookJSON is a webhook as the API answers it.
type webhookJSON struct {
	ID         int64    `json:"id"`
	CompanyID  int64    `json:"company_id"`
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
	Active     bool     `json:"active"`
	Secret     *string  `json:"secret"`
}

type deliveryJSON struct {
	ID        int64  `json:"id"`
	EventType string `json:"event_type"`
	MessageID string `json:"message_id"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	JobState  string `json:"job_state"`
	Payload   struct {
		Type string `json:"type"`
		Data struct {
			Company struct{ ID int64 } `json:"company"`
			Target  struct{ Name string }
		} `json:"data"`
	} `json:"payload"`
}

// allowPrivate returns a handler over e's store whose workflows accept
// private and loopback URLs, as roster serve --webhooks-allow-private does.
func (e *env) allowPrivate() *web.Server {
	s := e.store
	a := app.New(app.Deps{Companies: s, Users: s, Roles: s, Hasher: e.hasher, Clock: e.clock.Now, WebhooksAllowPrivate: true})
	return web.NewServer(web.Deps{Companies: s, Users: s, Roles: s, Sessions: s, Events: s, Platform: s,
		Hasher: e.hasher, Clock: e.clock.Now, Logger: testLogger(e.t), App: a})
}

func TestWebhooksAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		admin, other, disp := e.token("admin"), e.token("other"), e.token("disp")
		var created webhookJSON
		e.expect("POST", "/api/v1/webhooks", admin, map[string]any{"url": "https://hooks.example.com/roster?k=1",
			"event_types": []string{roster.EventUserBlocked, roster.EventUserCreated}}, 201).JSON(t, &created)

		t.Run("CreatedWithSecretOnce", func(t *testing.T) {
			if created.Secret == nil || !strings.HasPrefix(*created.Secret, "whsec_") {
				t.Fatalf("secret %v", created.Secret)
			}
			key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(*created.Secret, "whsec_"))
			if err != nil || len(key) != 32 {
				t.Fatalf("secret key: %d bytes, %v", len(key), err)
			}
			if created.CompanyID != e.acme.ID || !created.Active {
				t.Errorf("created %+v", created)
			}
			// Stored in the catalog's order.
			if strings.Join(created.EventTypes, ",") != roster.EventUserCreated+","+roster.EventUserBlocked {
				t.Errorf("event types %v", created.EventTypes)
			}
			for _, u := range []string{path("/api/v1/webhooks/%d", created.ID), "/api/v1/webhooks", path("/api/v1/events?type=%s", roster.EventWebhookCreated)} {
				r := e.expect("GET", u, admin, nil, 200)
				if strings.Contains(string(r.Body), "whsec_") || strings.Contains(string(r.Body), `"secret"`) {
					t.Errorf("GET %s shows the secret: %s", u, r.Body)
				}
			}
		})

		t.Run("SecretStoredEncrypted", func(t *testing.T) {
			var raw string
			must(t, e.store.DB().QueryRowContext(ctx, `SELECT secret_enc FROM webhooks WHERE id = $1`, created.ID).Scan(&raw))
			secret := *created.Secret
			if strings.Contains(raw, secret) || strings.Contains(raw, strings.TrimPrefix(secret, "whsec_")) || !strings.HasPrefix(raw, "v1:") {
				t.Fatalf("secret_enc %q is not sealed", raw)
			}
			master, err := e.store.Secret(ctx, app.MasterSecretName)
			must(t, err)
			clear, err := secure.Decrypt(webhook.Key(master), raw)
			if err != nil || string(clear) != secret {
				t.Fatalf("secret_enc opens to %q, %v", clear, err)
			}
		})

		t.Run("Validation", func(t *testing.T) {
			types := []string{roster.EventUserBlocked}
			e.run(t, []scenario{
				{name: "Loopback", method: "POST", url: "/api/v1/webhooks", token: admin, body: map[string]any{"url": "http://127.0.0.1:8080/hook", "event_types": types}, wantStatus: 422, wantField: "url", wantBody: []string{"loopback"}},
				{name: "Localhost", method: "POST", url: "/api/v1/webhooks", token: admin, body: map[string]any{"url": "http://localhost/hook", "event_types": types}, wantStatus: 422, wantField: "url"},
				{name: "MappedLoopback", method: "POST", url: "/api/v1/webhooks", token: admin, body: map[string]any{"url": "http://[::ffff:127.0.0.1]/", "event_types": types}, wantStatus: 422, wantField: "url"},
				{name: "DecimalLoopback", method: "POST", url: "/api/v1/webhooks", token: admin, body: map[string]any{"url": "http://2130706433/", "event_types": types}, wantStatus: 422, wantField: "url"},
				{name: "Private", method: "POST", url: "/api/v1/webhooks", token: admin, body: map[string]any{"url": "https://10.1.2.3/", "event_types": types}, wantStatus: 422, wantField: "url", wantBody: []string{"private"}},
				{name: "Metadata", method: "POST", url: "/api/v1/webhooks", token: admin, body: map[string]any{"url": "http://169.254.169.254/latest/meta-data", "event_types": types}, wantStatus: 422, wantField: "url"},
				{name: "NotHTTP", method: "POST", url: "/api/v1/webhooks", token: admin, body: map[string]any{"url": "ftp://files.example.com/", "event_types": types}, wantStatus: 422, wantField: "url"},
				{name: "Credentials", method: "POST", url: "/api/v1/webhooks", token: admin, body: map[string]any{"url": "https://u:p@hooks.example.com/", "event_types": types}, wantStatus: 422, wantField: "url"},
				{name: "UnknownType", method: "POST", url: "/api/v1/webhooks", token: admin, body: map[string]any{"url": "https://hooks.example.com/", "event_types": []string{"user.updated"}}, wantStatus: 422, wantField: "event_types"},
				{name: "NoTypes", method: "POST", url: "/api/v1/webhooks", token: admin, body: map[string]any{"url": "https://hooks.example.com/", "event_types": []string{}}, wantStatus: 422, wantField: "event_types"},
				{name: "AllAtOnce", method: "POST", url: "/api/v1/webhooks", token: admin, body: map[string]any{"url": "gopher://x", "event_types": []string{"nope"}}, wantStatus: 422, wantField: "event_types", wantBody: []string{`"field":"url"`}},
				{name: "PatchBadURL", method: "PATCH", url: path("/api/v1/webhooks/%d", created.ID), token: admin, body: map[string]any{"url": "http://192.168.1.10/"}, wantStatus: 422, wantField: "url"},
				{name: "PatchCompany", method: "PATCH", url: path("/api/v1/webhooks/%d", created.ID), token: admin, body: map[string]any{"company_id": e.other.ID}, wantStatus: 422, wantField: "company_id"},
				{name: "Dispatcher", method: "POST", url: "/api/v1/webhooks", token: disp, body: map[string]any{"url": "https://hooks.example.com/", "event_types": types}, wantStatus: 403},
			})
			var n int
			must(t, e.store.DB().QueryRowContext(ctx, `SELECT count(*) FROM webhooks`).Scan(&n))
			if n != 1 {
				t.Errorf("%d webhooks after refused requests, want 1", n)
			}
		})

		t.Run("AllowPrivateFlag", func(t *testing.T) {
			h := e.allowPrivate().Handler()
			old := e.h
			e.h = h
			defer func() { e.h = old }()
			r := e.expect("POST", "/api/v1/webhooks", admin, map[string]any{"url": "http://127.0.0.1:8080/hook", "event_types": []string{roster.EventUserBlocked}}, 201)
			var w webhookJSON
			r.JSON(t, &w)
			e.expect("DELETE", path("/api/v1/webhooks/%d", w.ID), admin, nil, 204)
			// The metadata address stays refused.
			e.run(t, []scenario{{name: "Metadata", method: "POST", url: "/api/v1/webhooks", token: admin,
				body: map[string]any{"url": "http://169.254.169.254/", "event_types": []string{roster.EventUserBlocked}}, wantStatus: 422, wantField: "url"}})
		})

		t.Run("TenantIsolation", func(t *testing.T) {
			base := path("/api/v1/webhooks/%d", created.ID)
			e.run(t, []scenario{
				{name: "Get", method: "GET", url: base, token: other, wantStatus: 404},
				{name: "Patch", method: "PATCH", url: base, token: other, body: map[string]any{"active": false}, wantStatus: 404},
				{name: "Delete", method: "DELETE", url: base, token: other, wantStatus: 404},
				{name: "Deliveries", method: "GET", url: base + "/deliveries", token: other, wantStatus: 404},
				{name: "Resend", method: "POST", url: base + "/deliveries/1/resend", token: other, wantStatus: 404},
				{name: "List", method: "GET", url: path("/api/v1/webhooks?company_id=%d", e.acme.ID), token: other, wantStatus: 422, wantField: "company_id"},
				{name: "OwnListEmpty", method: "GET", url: "/api/v1/webhooks", token: other, wantStatus: 200, wantBody: []string{`"items":[]`}},
			})
		})

		t.Run("DeliveriesAndResend", func(t *testing.T) {
			v := e.victim()
			e.expect("POST", path("/api/v1/users/%d/block", v.ID), admin, map[string]string{"comment": "left"}, 200)
			var list struct{ Items []deliveryJSON }
			e.expect("GET", path("/api/v1/webhooks/%d/deliveries", created.ID), admin, nil, 200).JSON(t, &list)
			// The new user's creation and their blocking, newest first.
			if len(list.Items) != 2 || list.Items[1].EventType != roster.EventUserCreated {
				t.Fatalf("%d deliveries, want user.created and user.blocked: %+v", len(list.Items), list.Items)
			}
			d := list.Items[0]
			if d.EventType != roster.EventUserBlocked || d.Status != roster.DeliveryPending || d.Attempts != 0 || d.JobState != roster.JobPending ||
				d.Payload.Type != roster.EventUserBlocked || d.Payload.Data.Company.ID != e.acme.ID || d.Payload.Data.Target.Name == "" || !strings.HasPrefix(d.MessageID, "msg_") {
				t.Fatalf("delivery %+v", d)
			}
			var again deliveryJSON
			e.expect("POST", path("/api/v1/webhooks/%d/deliveries/%d/resend", created.ID, d.ID), admin, nil, 202).JSON(t, &again)
			if again.ID != d.ID || again.MessageID != d.MessageID || again.Status != roster.DeliveryPending {
				t.Fatalf("resent %+v", again)
			}
			jobs, err := e.store.Jobs(ctx, roster.JobFilter{Kind: roster.WebhookJobKind})
			must(t, err)
			if len(jobs) < 2 {
				t.Errorf("%d webhook jobs after a resend, want 2 or more", len(jobs))
			}
			e.expect("GET", path("/api/v1/events?type=%s", roster.EventWebhookResent), admin, nil, 200)
			e.expect("POST", path("/api/v1/webhooks/%d/deliveries/%d/resend", created.ID, d.ID+1000), admin, nil, 404)
			e.run(t, []scenario{{name: "BadPaging", method: "GET", url: path("/api/v1/webhooks/%d/deliveries?before_id=x", created.ID), token: admin, wantStatus: 422, wantField: "before_id"}})

			// Paused: new events make no deliveries.
			e.expect("PATCH", path("/api/v1/webhooks/%d", created.ID), admin, map[string]any{"active": false}, 200)
			e.expect("POST", path("/api/v1/users/%d/block", e.victim().ID), admin, map[string]string{"comment": "left"}, 200)
			e.expect("GET", path("/api/v1/webhooks/%d/deliveries", created.ID), admin, nil, 200).JSON(t, &list)
			if len(list.Items) != 2 {
				t.Fatalf("paused webhook got a delivery: %d", len(list.Items))
			}
		})

		t.Run("Limit", func(t *testing.T) {
			var n int
			must(t, e.store.DB().QueryRowContext(ctx, `SELECT count(*) FROM webhooks WHERE company_id = $1`, e.acme.ID).Scan(&n))
			for ; n < roster.MaxWebhooks; n++ {
				e.acmeHook(path("https://203.0.113.10/%d", n))
			}
			e.run(t, []scenario{{name: "TooMany", method: "POST", url: "/api/v1/webhooks", token: admin,
				body: map[string]any{"url": "https://hooks.example.com/21", "event_types": []string{roster.EventUserBlocked}}, wantStatus: 409, wantField: "url"}})
		})

		t.Run("Delete", func(t *testing.T) {
			e.expect("DELETE", path("/api/v1/webhooks/%d", created.ID), admin, nil, 204)
			e.expect("GET", path("/api/v1/webhooks/%d", created.ID), admin, nil, 404)
			var n int
			must(t, e.store.DB().QueryRowContext(ctx, `SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1`, created.ID).Scan(&n))
			if n != 0 {
				t.Errorf("%d deliveries left after delete", n)
			}
		})
	})
}
