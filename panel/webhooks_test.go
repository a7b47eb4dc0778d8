package panel

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
	"github.com/roster-app/roster/secure"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
	"github.com/roster-app/roster/webhook"
)

var hookSecretRE = regexp.MustCompile(`id="once-secret" class="mono" value="(whsec_[^"]+)"`)

func TestWebhookPages(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		ctx := context.Background()
		f := newFixture(t, s, clock)
		admin := f.signedIn("admin")

		res := admin.get("/settings/webhooks")
		b := body(res)
		if res.Code != http.StatusOK || !strings.Contains(b, "No webhooks yet.") ||
			!strings.Contains(b, `href="/settings/credentials"`) || !strings.Contains(b, `action="/settings/webhooks"`) {
			t.Fatalf("list: %d\n%s", res.Code, b)
		}

		// A loopback URL is refused beside the field, and nothing is added.
		res = admin.post("/settings/webhooks", url.Values{"url": {"http://127.0.0.1:9000/in"}, "event_types": {roster.EventUserBlocked}})
		b = body(res)
		if res.Code != http.StatusUnprocessableEntity || !strings.Contains(b, "This address is not allowed") ||
			!strings.Contains(b, `value="http://127.0.0.1:9000/in"`) {
			t.Fatalf("loopback: %d\n%s", res.Code, b)
		}
		res = admin.post("/settings/webhooks", url.Values{"url": {"https://hooks.example.com/in"}})
		b = body(res)
		if res.Code != http.StatusUnprocessableEntity || !strings.Contains(b, "This field is required.") {
			t.Fatalf("no event types: %d\n%s", res.Code, b)
		}

		// Added: the secret is shown this once.
		res = admin.post("/settings/webhooks", url.Values{"url": {"https://hooks.example.com/in"},
			"event_types": {roster.EventUserBlocked, roster.EventUserDeleted}})
		b = body(res)
		m := hookSecretRE.FindStringSubmatch(b)
		if res.Code != http.StatusCreated || m == nil || !strings.Contains(b, "shown only this once") {
			t.Fatalf("create: %d\n%s", res.Code, b)
		}
		shown := html.UnescapeString(m[1])
		hooks, err := s.Webhooks(ctx, roster.Scope{All: true}, f.reseller.ID)
		if err != nil || len(hooks) != 1 {
			t.Fatalf("hooks %v, %v", hooks, err)
		}
		hook := hooks[0]
		var sealed string
		if err := s.DB().QueryRowContext(ctx, `SELECT secret_enc FROM webhooks WHERE id = $1`, hook.ID).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		master, err := s.Secret(ctx, app.MasterSecretName)
		if err != nil {
			t.Fatal(err)
		}
		if clear, err := secure.Decrypt(webhook.Key(master), sealed); err != nil || string(clear) != shown || strings.Contains(sealed, shown) {
			t.Fatalf("the shown secret is not the sealed one: %v", err)
		}
		if b := body(admin.get("/settings/webhooks")); strings.Contains(b, "whsec_") || !strings.Contains(b, "https://hooks.example.com/in") || !strings.Contains(b, "User blocked, User deleted") {
			t.Fatalf("list after create:\n%s", b)
		}

		// The delivery log shows a delivery, and resends it.
		if _, err := s.BlockUser(ctx, roster.Scope{All: true}, f.users["ivan"].ID, "left"); err != nil {
			t.Fatal(err)
		}
		page := "/settings/webhooks/" + strconv.FormatInt(hook.ID, 10)
		res = admin.get(page)
		b = body(res)
		if res.Code != http.StatusOK || !strings.Contains(b, "Delivery log") || !strings.Contains(b, "Pending") || strings.Contains(b, "whsec_") {
			t.Fatalf("log: %d\n%s", res.Code, b)
		}
		ds, err := s.WebhookDeliveries(ctx, roster.Scope{All: true}, hook.ID, roster.WebhookDeliveryFilter{})
		if err != nil || len(ds) != 1 {
			t.Fatalf("deliveries %v, %v", ds, err)
		}
		resend := page + "/deliveries/" + strconv.FormatInt(ds[0].ID, 10) + "/resend"
		if !strings.Contains(b, `action="`+resend+`"`) {
			t.Fatalf("no resend button:\n%s", b)
		}
		res = admin.post(resend, nil)
		if res.Code != http.StatusSeeOther || res.Header().Get("Location") != page {
			t.Fatalf("resend: %d %s", res.Code, res.Header().Get("Location"))
		}
		if b := body(admin.get(page)); !strings.Contains(b, "will be sent again") {
			t.Fatalf("no flash after resend:\n%s", b)
		}

		// Paused by unticking Active.
		res = admin.post(page, url.Values{"url": {"https://hooks.example.com/in2"}, "event_types": {roster.EventUserBlocked}})
		if res.Code != http.StatusSeeOther {
			t.Fatalf("update: %d", res.Code)
		}
		if got, err := s.WebhookByID(ctx, roster.Scope{All: true}, hook.ID); err != nil || got.Active || got.URL != "https://hooks.example.com/in2" {
			t.Fatalf("updated %+v, %v", got, err)
		}

		// Others: no permission, another company, Russian.
		if res := f.signedIn("dispatcher").get("/settings/webhooks"); res.Code != http.StatusForbidden {
			t.Errorf("dispatcher: %d", res.Code)
		}
		hugo := f.signedIn("hugo")
		if res := hugo.get(page); res.Code != http.StatusNotFound {
			t.Errorf("another company's webhook: %d", res.Code)
		}
		if res := hugo.post(page+"/delete", nil); res.Code != http.StatusNotFound {
			t.Errorf("another company's delete: %d", res.Code)
		}
		admin.lang = "ru"
		if b := body(admin.get(page)); !strings.Contains(b, "Журнал отправок") || !strings.Contains(b, "Отправить снова") {
			t.Errorf("Russian page:\n%s", b)
		}

		res = admin.post(page+"/delete", nil)
		if res.Code != http.StatusSeeOther {
			t.Fatalf("delete: %d", res.Code)
		}
		if res := admin.get(page); res.Code != http.StatusNotFound {
			t.Fatalf("after delete: %d", res.Code)
		}
	})
}
