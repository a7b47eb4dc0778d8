package panel

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestEventTypesPage (issue 13 item 5, seed 003 "System > Event
// notifications"): only the Main administrator opens and saves it, without
// JavaScript, in both languages; a switched-off type leaves the profile's
// matrix and is refused there.
func TestEventTypesPage(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		main, admin := f.signedIn("main"), f.signedIn("admin")
		if res := admin.get("/system/event-notifications"); res.Code != http.StatusForbidden {
			t.Fatalf("company administrator: %d", res.Code)
		}
		if res := admin.post("/system/event-notifications", url.Values{"enabled": {roster.EventUserCreated}}); res.Code != http.StatusForbidden {
			t.Fatalf("company administrator saves: %d", res.Code)
		}
		if strings.Contains(body(admin.get("/")), `href="/system/event-notifications"`) {
			t.Error("the company administrator's menu links to System")
		}
		page := body(main.get("/system/event-notifications"))
		for _, want := range []string{`href="/system/event-notifications" aria-current="page"`, `<a href="/outbox">Outbox</a>`, "<legend>User accounts</legend>",
			`name="enabled" value="user.blocked" checked`, "Failed sign-in"} {
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %q", want)
			}
		}
		main.lang = "ru"
		if page := body(main.get("/system/event-notifications")); !strings.Contains(page, "Уведомления о событиях") || !strings.Contains(page, "Учётные записи") {
			t.Error("no Russian page")
		}
		main.lang = ""
		enabled := url.Values{}
		for _, c := range roster.NotificationCatalog {
			if c.Type != roster.EventUserBlocked {
				enabled.Add("enabled", c.Type)
			}
		}
		if res := main.post("/system/event-notifications", enabled); res.Code != http.StatusSeeOther {
			t.Fatalf("save: %d %s", res.Code, body(res))
		}
		off, err := s.DisabledNotificationTypes(context.Background())
		if err != nil || !slices.Equal(off, []string{roster.EventUserBlocked}) {
			t.Fatalf("switched off %v %v", off, err)
		}
		if page := body(main.get("/system/event-notifications")); strings.Contains(page, `value="user.blocked" checked`) || !strings.Contains(page, "Event notifications saved.") {
			t.Error("the saved page does not show the change")
		}

		disp := f.signedIn("dispatcher")
		if page := body(disp.get("/profile/notifications")); strings.Contains(page, `value="user.blocked/`) || !strings.Contains(page, `value="user.created/email"`) {
			t.Error("the profile's matrix offers a switched-off type")
		}
		res := disp.post("/profile/notifications", url.Values{"sub": {"user.blocked/email"}})
		if res.Code != http.StatusUnprocessableEntity || !strings.Contains(body(res), "Notifications of this event are switched off.") {
			t.Fatalf("subscribing to a switched-off type: %d", res.Code)
		}
	})
}

// TestUserCardNotifications (issue 13 item 5, seed 003): an administrator
// sets a user's Telegram chat ID, Slack channel ID and events on the
// user's card, without JavaScript; a refused form comes back open with its
// errors; another company's user is not found.
func TestUserCardNotifications(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		admin := f.signedIn("admin")
		card := body(admin.get(f.expand("/users/{dispatcher}")))
		for _, want := range []string{`id="notifications-section"`, f.expand(`action="/users/{dispatcher}/notifications"`), `id="un-tg"`, `value="user.blocked/telegram"`} {
			if !strings.Contains(card, want) {
				t.Errorf("card lacks %q", want)
			}
		}
		res := admin.post(f.expand("/users/{dispatcher}/notifications"), url.Values{"sub": {"user.blocked/telegram"}})
		if res.Code != http.StatusUnprocessableEntity {
			t.Fatalf("telegram without a chat ID: %d", res.Code)
		}
		page := body(res)
		if !strings.Contains(page, `id="notifications-section" open`) || !strings.Contains(page, `value="user.blocked/telegram" checked`) || !strings.Contains(page, `aria-invalid="true"`) {
			t.Error("the refused form is not shown again, open, with what was sent")
		}
		res = admin.post(f.expand("/users/{dispatcher}/notifications"), url.Values{"telegram_chat_id": {"-1001"}, "slack_channel_id": {"C42"},
			"sub": {"user.blocked/telegram", "user.blocked/slack", "user.created/email"}})
		if res.Code != http.StatusSeeOther {
			t.Fatalf("save: %d %s", res.Code, body(res))
		}
		p, err := s.NotificationPrefs(context.Background(), f.users["dispatcher"].ID)
		if err != nil || p.TelegramChatID != "-1001" || p.SlackChannelID != "C42" || len(p.Subscriptions) != 2 {
			t.Fatalf("stored %+v %v", p, err)
		}
		ev, err := s.Events(context.Background(), roster.Scope{All: true}, roster.EventFilter{Type: roster.EventNotificationsChanged, UserID: &f.users["dispatcher"].ID})
		if err != nil || len(ev.Items) != 1 || ev.Items[0].ActorID == nil || *ev.Items[0].ActorID != f.users["admin"].ID {
			t.Fatalf("events %+v %v", ev, err)
		}
		if page := body(admin.get(f.expand("/users/{dispatcher}"))); !strings.Contains(page, "Notification settings saved.") || !strings.Contains(page, `value="-1001"`) {
			t.Error("the card does not show the saved settings")
		}
		// An employee may not receive notifications: their matrix is off.
		if page := body(admin.get(f.expand("/users/{olga}"))); !strings.Contains(page, "do not let them receive notifications") || !strings.Contains(page, `value="user.blocked/email" disabled`) {
			t.Error("the employee's card offers subscriptions")
		}
		admin.lang = "ru"
		if page := body(admin.get(f.expand("/users/{dispatcher}"))); !strings.Contains(page, "Сохранить уведомления") {
			t.Error("no Russian panel")
		}
		if res := admin.post(f.expand("/users/{main}/notifications"), url.Values{"telegram_chat_id": {"1"}}); res.Code != http.StatusNotFound {
			t.Errorf("the Main administrator's settings from a company: %d", res.Code)
		}
		if res := f.signedIn("olga").post(f.expand("/users/{dispatcher}/notifications"), url.Values{"telegram_chat_id": {"1"}}); res.Code != http.StatusForbidden {
			t.Errorf("an employee: %d", res.Code)
		}
		if strings.Contains(body(f.signedIn("dispatcher").get(f.expand("/users/{olga}"))), `id="notifications-section"`) {
			t.Error("a dispatcher without users.edit sees the form")
		}
	})
}

// TestSendToEmailTypedPassword (issue 13 item 7, seed 003 "Send to
// e-mail"): beside a typed first password the administrator may have the
// user e-mailed a single-use link to set their own; the password itself
// is never in the e-mail.
func TestSendToEmailTypedPassword(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		admin := f.signedIn("admin")
		if page := body(admin.get("/users/new")); !strings.Contains(page, `name="send_email" value="1"`) || !strings.Contains(page, "Send to e-mail") {
			t.Fatal("the form has no Send to e-mail option")
		}
		typed := "amber-kettle-92"
		form := url.Values{"auth_method": {"email"}, "email": {"nina@northwind.test"}, "role_ids": {f.expand("{role:employee}")},
			"credentials": {"manual"}, "password": {typed}, "send_email": {"1"}}
		res := admin.post("/users", form)
		if res.Code != http.StatusSeeOther {
			t.Fatalf("create: %d %s", res.Code, body(res))
		}
		if link := f.lastLink("nina@northwind.test", "/password-reset/"); link == "" {
			t.Fatal("no set-password link e-mailed")
		}
		for _, l := range f.outboxLinks("nina@northwind.test") {
			if strings.Contains(l, typed) {
				t.Fatal("the password went by e-mail")
			}
		}
		if page := body(admin.get(res.Header().Get("Location"))); !strings.Contains(page, "A single-use link to set their password was e-mailed") {
			t.Error("no flash about the link")
		}
		// Login method: no address to send to.
		res = admin.post("/users", url.Values{"auth_method": {"login"}, "login": {"nina2"}, "first_name": {"Nina"}, "last_name": {"Berg"},
			"role_ids": {f.expand("{role:employee}")}, "credentials": {"manual"}, "password": {typed}, "send_email": {"1"}})
		if res.Code != http.StatusUnprocessableEntity || !strings.Contains(body(res), "The link goes to the user") {
			t.Fatalf("login method with send_email: %d", res.Code)
		}
	})
}
