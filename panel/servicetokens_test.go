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
	"github.com/roster-app/roster/secure"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

var tokenSecretRE = regexp.MustCompile(`id="once-secret" class="mono" value="(rst_[^"]+)"`)

func TestServiceTokenPages(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		ctx := context.Background()
		f := newFixture(t, s, clock)
		admin := f.signedIn("admin")

		res := admin.get("/settings/service-tokens")
		b := body(res)
		if res.Code != http.StatusOK || !strings.Contains(b, "No service tokens yet.") || !strings.Contains(b, `value="scim.provision"`) ||
			strings.Contains(b, `value="companies.manage"`) || !strings.Contains(b, `href="/settings/webhooks"`) {
			t.Fatalf("list: %d\n%s", res.Code, b)
		}

		// Bad input is refused beside its fields, and nothing is made.
		res = admin.post("/settings/service-tokens", url.Values{"name": {"Telephony"}, "ip_allowlist": {"10.0.0.0/8\nnot an address"}})
		b = body(res)
		if res.Code != http.StatusUnprocessableEntity || !strings.Contains(b, "This field is required.") ||
			!strings.Contains(b, "Enter IP addresses or ranges") || !strings.Contains(b, "Telephony") {
			t.Fatalf("invalid: %d\n%s", res.Code, b)
		}
		res = admin.post("/settings/service-tokens", url.Values{"name": {"Telephony"}, "permissions": {"users.view"}, "expires_on": {"31.12.2020"}})
		if b = body(res); res.Code != http.StatusUnprocessableEntity || !strings.Contains(b, "Enter a date like") {
			t.Fatalf("bad date: %d\n%s", res.Code, b)
		}
		res = admin.post("/settings/service-tokens", url.Values{"name": {"Telephony"}, "permissions": {"users.view"}, "ip_allowlist": {"not an address"}})
		if b = body(res); res.Code != http.StatusUnprocessableEntity || !strings.Contains(b, "Enter IP addresses or ranges") {
			t.Fatalf("bad allowlist: %d\n%s", res.Code, b)
		}

		// Created: the secret is shown this once, and it works.
		res = admin.post("/settings/service-tokens", url.Values{"name": {"Telephony"}, "permissions": {"users.view", "users.block"},
			"ip_allowlist": {"203.0.113.0/24\n"}, "expires_on": {clock.Now().AddDate(0, 1, 0).Format("2006-01-02")}})
		b = body(res)
		m := tokenSecretRE.FindStringSubmatch(b)
		if res.Code != http.StatusCreated || m == nil || !strings.Contains(b, "shown only this once") {
			t.Fatalf("create: %d\n%s", res.Code, b)
		}
		secret := html.UnescapeString(m[1])
		got, err := s.ServiceTokenByHash(ctx, secure.HashToken(strings.TrimPrefix(secret, roster.ServiceTokenPrefix)))
		if err != nil || got.Name != "Telephony" || got.ExpiresAt == nil || strings.Join(got.IPAllowlist, ",") != "203.0.113.0/24" {
			t.Fatalf("stored %+v, %v", got, err)
		}
		if b := body(admin.get("/settings/service-tokens")); strings.Contains(b, secret) || !strings.Contains(b, "View users, Block and unblock users") ||
			!strings.Contains(b, "203.0.113.0/24") {
			t.Errorf("list after create:\n%s", b)
		}

		// Others: no permission, another company's token, Russian.
		if res := f.signedIn("dispatcher").get("/settings/service-tokens"); res.Code != http.StatusForbidden {
			t.Errorf("dispatcher: %d", res.Code)
		}
		revoke := "/settings/service-tokens/" + strconv.FormatInt(got.ID, 10) + "/revoke"
		if res := f.signedIn("hugo").post(revoke, url.Values{}); res.Code != http.StatusNotFound {
			t.Errorf("other company revokes: %d", res.Code)
		}
		admin.lang = "ru"
		if b := body(admin.get("/settings/service-tokens")); !strings.Contains(b, "Сервисные токены") || !strings.Contains(b, "Отозвать") {
			t.Errorf("Russian page:\n%s", b)
		}
		admin.lang = "en"

		// Revoked at once.
		res = admin.post(revoke, url.Values{})
		if res.Code != http.StatusSeeOther || res.Header().Get("Location") != "/settings/service-tokens" {
			t.Fatalf("revoke: %d %s", res.Code, res.Header().Get("Location"))
		}
		if _, err := s.ServiceTokenByHash(ctx, secure.HashToken(strings.TrimPrefix(secret, roster.ServiceTokenPrefix))); roster.ErrorCode(err) != roster.ENOTFOUND {
			t.Errorf("revoked token still found: %v", err)
		}
		if b := body(admin.get("/settings/service-tokens")); !strings.Contains(b, "Service token revoked.") || !strings.Contains(b, "No service tokens yet.") {
			t.Errorf("after revoke:\n%s", b)
		}
	})
}
