package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/jobs"
	"github.com/roster-app/roster/mail"
	"github.com/roster-app/roster/notify"
	"github.com/roster-app/roster/outbox"
)

// fakeAPI records requests and answers 500 for the first failures ones.
type fakeAPI struct {
	mu       sync.Mutex
	failures int
	reqs     []fakeRequest
	srv      *httptest.Server
}

type fakeRequest struct {
	Method, Path, Auth, ContentType string
	Body                            map[string]any
}

func newFakeAPI(t *testing.T, failures int) *fakeAPI {
	f := &fakeAPI{failures: failures}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		fr := fakeRequest{Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type")}
		if err := json.Unmarshal(data, &fr.Body); err != nil {
			t.Errorf("fake API: body %s: %v", data, err)
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, fr)
		fail := len(f.reqs) <= f.failures
		f.mu.Unlock()
		if fail {
			http.Error(w, `{"ok":false,"error":"internal"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true,"result":{"message_id":1}}`)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) requests() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest{}, f.reqs...)
}

// notifySetup gives Acme tokens, subscribes the admin to user.blocked on
// Telegram and Slack, and returns a worker delivering to the fakes.
func notifySetup(t *testing.T, e *env, tg, sl *fakeAPI) *jobs.Worker {
	admin := e.token("admin")
	e.expect("PATCH", path("/api/v1/companies/%d/operations", e.acme.ID), admin,
		map[string]any{"telegram_bot_token": "123:ABC", "slack_token": "xoxb-1"}, 200)
	var got struct {
		roster.NotificationPrefs
		Catalog []roster.NotificationEventInfo
	}
	e.expect("PUT", "/api/v1/me/notifications", admin, map[string]any{"telegram_chat_id": "-1001", "slack_channel_id": "C123",
		"subscriptions": []map[string]any{{"event_type": "user.blocked", "channels": []string{"telegram", "slack"}}}}, 200).JSON(t, &got)
	if len(got.Subscriptions) != 1 || len(got.Subscriptions[0].Channels) != 2 || len(got.Catalog) == 0 {
		t.Fatalf("settings %+v", got)
	}
	e.expect("PUT", "/api/v1/me/notifications", admin, map[string]any{
		"subscriptions": []map[string]any{{"event_type": "user.blocked", "channels": []string{"slack"}}}}, 422)
	e.expect("PUT", "/api/v1/me/notifications", admin, map[string]any{
		"subscriptions": []map[string]any{{"event_type": "nope", "channels": []string{"email"}}}}, 422)
	e.expect("PUT", "/api/v1/me/notifications", e.token("emp"), map[string]any{
		"subscriptions": []map[string]any{{"event_type": "user.blocked", "channels": []string{"email"}}}}, 403)
	sender := &notify.Sender{Store: e.store, Platform: e.store,
		Telegram: &notify.Telegram{BaseURL: tg.srv.URL}, Slack: &notify.Slack{BaseURL: sl.srv.URL}}
	w := jobs.New(e.store, jobs.Options{Clock: e.clock.Now, BackoffBase: time.Minute, BackoffMax: time.Hour, Logger: testLogger(t)})
	w.Handle(roster.NotificationJobKind, sender.Handle)
	return w
}

func TestNotificationsDelivered(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		tg, sl := newFakeAPI(t, 0), newFakeAPI(t, 0)
		w := notifySetup(t, e, tg, sl)
		v := e.victim()
		e.expect("POST", path("/api/v1/users/%d/block", v.ID), e.token("admin"), map[string]string{"comment": "left the company"}, 200)
		n, err := w.RunOnce(context.Background(), 10)
		must(t, err)
		if n != 2 {
			t.Fatalf("ran %d jobs, want 2", n)
		}
		text := "Roster: User blocked: " + v.DisplayName() + " (by Admin Tester)\nComment: left the company"
		tr, sr := tg.requests(), sl.requests()
		if len(tr) != 1 || len(sr) != 1 {
			t.Fatalf("requests: telegram %d, slack %d", len(tr), len(sr))
		}
		if r := tr[0]; r.Method != "POST" || r.Path != "/bot123:ABC/sendMessage" || !strings.HasPrefix(r.ContentType, "application/json") ||
			r.Body["chat_id"] != "-1001" || r.Body["text"] != text || len(r.Body) != 2 {
			t.Errorf("telegram request %+v", r)
		}
		if r := sr[0]; r.Method != "POST" || r.Path != "/api/chat.postMessage" || r.Auth != "Bearer xoxb-1" ||
			r.Body["channel"] != "C123" || r.Body["text"] != text || len(r.Body) != 2 {
			t.Errorf("slack request %+v", r)
		}
		var failed struct{ Items []roster.Delivery }
		e.expect("GET", "/api/v1/notifications/failed", e.token("admin"), nil, 200).JSON(t, &failed)
		if len(failed.Items) != 0 {
			t.Fatalf("failed deliveries %+v", failed.Items)
		}
	})
}

func TestNotificationsRetried(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		tg, sl := newFakeAPI(t, 2), newFakeAPI(t, 100)
		w := notifySetup(t, e, tg, sl)
		admin := e.token("admin")
		e.expect("POST", path("/api/v1/users/%d/block", e.victim().ID), admin, map[string]string{"comment": "x"}, 200)
		var failed struct{ Items []roster.Delivery }
		for try := 1; try <= roster.NotificationMaxAttempts; try++ {
			if _, err := w.RunOnce(context.Background(), 10); err != nil {
				t.Fatal(err)
			}
			e.expect("GET", "/api/v1/notifications/failed", e.token("admin"), nil, 200).JSON(t, &failed)
			byChannel := map[string]roster.Delivery{}
			for _, d := range failed.Items {
				byChannel[d.Channel] = d
			}
			tgd, tgFailed := byChannel["telegram"]
			switch {
			case try <= 2 && (!tgFailed || !strings.Contains(tgd.LastError, "HTTP 500") || tgd.JobState != "pending" || tgd.Attempts != try):
				t.Fatalf("try %d: telegram delivery %+v", try, tgd)
			case try >= 3 && tgFailed:
				t.Fatalf("try %d: telegram still failed %+v", try, tgd)
			}
			sld := byChannel["slack"]
			wantState := "pending"
			if try == roster.NotificationMaxAttempts {
				wantState = "dead"
			}
			if sld.JobState != wantState || sld.Attempts != try || !strings.Contains(sld.LastError, "HTTP 500") {
				t.Fatalf("try %d: slack delivery %+v, want %s", try, sld, wantState)
			}
			e.clock.Advance(2 * time.Hour) // past any backoff
		}
		if n := len(tg.requests()); n != 3 {
			t.Fatalf("telegram got %d requests, want 3", n)
		}
		if n := len(sl.requests()); n != roster.NotificationMaxAttempts {
			t.Fatalf("slack got %d requests, want %d", n, roster.NotificationMaxAttempts)
		}
	})
}

// mailNotifyEnv subscribes a fresh Russian-speaking e-mail user of Acme to
// "user blocked" by e-mail, and returns a worker running notifications and
// e-mail through sender (the outbox path of every e-mail), and the address.
func mailNotifyEnv(t *testing.T, e *env, sender mail.Sender) (*jobs.Worker, string) {
	t.Helper()
	wk := credEnv(t, e, sender)
	u := &roster.User{CompanyID: e.acme.ID, AuthMethod: roster.AuthEmail, Email: "watcher@acme.example", Lang: "ru",
		FirstName: "Vera", LastName: "Watch", Status: roster.StatusActive, PasswordHash: e.hash(testPassword)}
	must(t, e.store.CreateUser(context.Background(), u, []int64{e.roles[roster.RoleEmployee]}, nil, time.Time{}))
	must(t, e.store.SetNotificationPrefs(context.Background(), u.ID, &roster.NotificationPrefs{
		Subscriptions: []roster.Subscription{{EventType: roster.EventUserBlocked, Channels: []string{roster.ChannelEmail}}}}))
	ns := &notify.Sender{Store: e.store, Platform: e.store, Mail: &notify.Mail{
		Box: outbox.New([]byte(credKey)), Jobs: e.store, Users: e.store, BaseURL: "https://roster.example"}}
	wk.Handle(roster.NotificationJobKind, ns.Handle)
	return wk, u.Email
}

// TestNotificationByEmailWithoutSMTP: without SMTP an e-mail notification
// is kept in the outbox, held, in the recipient's language.
func TestNotificationByEmailWithoutSMTP(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		wk, to := mailNotifyEnv(t, e, outbox.LogSender{Logger: testLogger(t)})
		v := e.victim()
		e.expect("POST", path("/api/v1/users/%d/block", v.ID), e.token("admin"), map[string]string{"comment": "left"}, 200)
		deliver(t, wk) // the notification: its e-mail goes to the outbox
		deliver(t, wk) // the e-mail: held
		deliver(t, wk) // held: not retried
		var page struct {
			Items []struct {
				State, To, Subject, Text string
				Links                    []string
				Sent                     bool
			}
		}
		e.expect("GET", "/api/v1/outbox", e.token("root"), nil, 200).JSON(t, &page)
		if len(page.Items) != 1 {
			t.Fatalf("outbox: %+v", page)
		}
		it := page.Items[0]
		if it.State != roster.JobHeld || it.Sent || it.To != to || it.Subject != "Уведомление Roster: Пользователь заблокирован" ||
			!strings.Contains(it.Text, "Roster: User blocked: "+v.DisplayName()+" (by Admin Tester)") ||
			len(it.Links) != 1 || it.Links[0] != "https://roster.example/profile/notifications" {
			t.Fatalf("outbox item: %+v", it)
		}
		var failed struct{ Items []roster.Delivery }
		e.expect("GET", "/api/v1/notifications/failed", e.token("admin"), nil, 200).JSON(t, &failed)
		if len(failed.Items) != 0 {
			t.Fatalf("failed deliveries %+v", failed.Items)
		}
	})
}

// TestNotificationByEmailSent: with a sender the notification e-mail goes out.
func TestNotificationByEmailSent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		rec := &mail.Recorder{}
		wk, to := mailNotifyEnv(t, e, rec)
		v := e.victim()
		e.expect("POST", path("/api/v1/users/%d/block", v.ID), e.token("admin"), map[string]string{"comment": "left"}, 200)
		deliver(t, wk)
		deliver(t, wk)
		m, ok := rec.Last(to)
		if !ok || len(rec.Messages()) != 1 {
			t.Fatalf("sent %+v", rec.Messages())
		}
		if m.Lang != "ru" || m.Subject != "Уведомление Roster: Пользователь заблокирован" ||
			!strings.Contains(m.Text, "Roster: User blocked: "+v.DisplayName()+" (by Admin Tester)\nComment: left") ||
			!strings.Contains(m.HTML, `href="https://roster.example/profile/notifications"`) {
			t.Fatalf("message %+v", m)
		}
		deliver(t, wk)
		if n := len(rec.Messages()); n != 1 {
			t.Fatalf("sent %d messages, want 1", n)
		}
	})
}

// TestNotificationEventTypes (issue 13 item 5, seed 003 "System > Event
// notifications"): the Main administrator switches event types off
// installation-wide; nobody can subscribe to them, they are not
// delivered, the change is logged, and kept subscriptions come back when
// the type is switched on again.
func TestNotificationEventTypes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		tg, sl := newFakeAPI(t, 0), newFakeAPI(t, 0)
		w := notifySetup(t, e, tg, sl)
		root, admin := e.token("root"), e.token("admin")
		all := []string{}
		for _, c := range roster.NotificationCatalog {
			if c.Type != roster.EventUserBlocked {
				all = append(all, c.Type)
			}
		}
		var types struct {
			Items []roster.NotificationEventType
		}
		e.expect("PUT", "/api/v1/notification-event-types", admin, map[string]any{"enabled": all}, 403)
		e.expect("PUT", "/api/v1/notification-event-types", root, map[string]any{"enabled": []string{"nope"}}, 422)
		e.expect("PUT", "/api/v1/notification-event-types", root, map[string]any{}, 422)
		e.expect("PUT", "/api/v1/notification-event-types", root, map[string]any{"enabled": all}, 200).JSON(t, &types)
		if len(types.Items) != len(roster.NotificationCatalog) {
			t.Fatalf("types %+v", types.Items)
		}
		for _, it := range types.Items {
			if it.Enabled != (it.Type != roster.EventUserBlocked) {
				t.Errorf("type %s enabled %v", it.Type, it.Enabled)
			}
		}
		e.expect("GET", "/api/v1/notification-event-types", admin, nil, 200).JSON(t, &types)
		if types.Items[1].Type != roster.EventUserBlocked || types.Items[1].Enabled {
			t.Fatalf("admin sees %+v", types.Items[1])
		}

		var mine struct {
			roster.NotificationPrefs
			Catalog []roster.NotificationEventInfo
		}
		e.expect("GET", "/api/v1/me/notifications", admin, nil, 200).JSON(t, &mine)
		if len(mine.Subscriptions) != 0 || len(mine.Catalog) != len(roster.NotificationCatalog)-1 {
			t.Fatalf("settings while switched off %+v", mine)
		}
		r := e.expect("PUT", "/api/v1/me/notifications", admin, map[string]any{"telegram_chat_id": "-1001",
			"subscriptions": []map[string]any{{"event_type": "user.blocked", "channels": []string{"telegram"}}}}, 422)
		if !strings.Contains(string(r.Body), "event_type_disabled") {
			t.Fatalf("refusal %s", r.Body)
		}
		e.expect("POST", path("/api/v1/users/%d/block", e.victim().ID), admin, map[string]string{"comment": "x"}, 200)
		if n, err := w.RunOnce(context.Background(), 10); err != nil || n != 0 {
			t.Fatalf("delivered %d jobs (%v) of a switched-off type", n, err)
		}

		var log struct{ Items []roster.Event }
		e.expect("GET", "/api/v1/events?type=notification.event_types_changed", root, nil, 200).JSON(t, &log)
		if len(log.Items) != 1 || log.Items[0].ActorName == "" {
			t.Fatalf("events %+v", log.Items)
		}
		// Saving the same list again changes nothing and logs nothing.
		e.expect("PUT", "/api/v1/notification-event-types", root, map[string]any{"enabled": all}, 200)
		e.expect("GET", "/api/v1/events?type=notification.event_types_changed", root, nil, 200).JSON(t, &log)
		if len(log.Items) != 1 {
			t.Fatalf("a change of nothing was logged: %+v", log.Items)
		}

		e.expect("PUT", "/api/v1/notification-event-types", root, map[string]any{"enabled": append(all, roster.EventUserBlocked)}, 200)
		e.expect("GET", "/api/v1/me/notifications", admin, nil, 200).JSON(t, &mine)
		if len(mine.Subscriptions) != 1 || mine.Subscriptions[0].EventType != roster.EventUserBlocked {
			t.Fatalf("subscription not back: %+v", mine.Subscriptions)
		}
		e.expect("POST", path("/api/v1/users/%d/block", e.victim().ID), admin, map[string]string{"comment": "y"}, 200)
		if n, err := w.RunOnce(context.Background(), 10); err != nil || n != 2 {
			t.Fatalf("delivered %d jobs (%v), want 2", n, err)
		}
	})
}

// TestUserNotificationsByAdmin (issue 13 item 5, seed 003): an
// administrator edits a user's Telegram chat ID, Slack channel ID and
// subscriptions on their card, with the rules of the user's own change,
// and the event names the administrator.
func TestUserNotificationsByAdmin(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		admin := e.token("admin")
		disp := e.users["disp"]
		u := path("/api/v1/users/%d/notifications", disp.ID)
		var got struct {
			roster.NotificationPrefs
			Catalog []roster.NotificationEventInfo
		}
		e.expect("GET", u, admin, nil, 200).JSON(t, &got)
		if got.TelegramChatID != "" || len(got.Subscriptions) != 0 || len(got.Catalog) != len(roster.NotificationCatalog) {
			t.Fatalf("fresh settings %+v", got)
		}
		e.expect("PUT", u, admin, map[string]any{"subscriptions": []map[string]any{
			{"event_type": "user.blocked", "channels": []string{"telegram"}}}}, 422) // no chat ID
		e.expect("PUT", u, admin, map[string]any{"telegram_chat_id": " -100 ", "slack_channel_id": "C9", "subscriptions": []map[string]any{
			{"event_type": "user.blocked", "channels": []string{"telegram", "slack"}}, {"event_type": "user.created", "channels": []string{"email"}}}}, 200).JSON(t, &got)
		if got.TelegramChatID != "-100" || got.SlackChannelID != "C9" || len(got.Subscriptions) != 2 {
			t.Fatalf("saved %+v", got)
		}
		var mine roster.NotificationPrefs
		e.expect("GET", "/api/v1/me/notifications", e.token("disp"), nil, 200).JSON(t, &mine)
		if mine.TelegramChatID != "-100" || len(mine.Subscriptions) != 2 {
			t.Fatalf("the user sees %+v", mine)
		}
		var log struct{ Items []roster.Event }
		e.expect("GET", path("/api/v1/events?type=user.notifications_changed&user_id=%d", disp.ID), e.token("root"), nil, 200).JSON(t, &log)
		if len(log.Items) != 1 || log.Items[0].ActorName != "Admin Tester" || log.Items[0].TargetUserID == nil || *log.Items[0].TargetUserID != disp.ID {
			t.Fatalf("events %+v", log.Items)
		}

		// The user's own rules: an employee cannot subscribe (no users.view).
		emp := path("/api/v1/users/%d/notifications", e.users["emp"].ID)
		e.expect("PUT", emp, admin, map[string]any{"subscriptions": []map[string]any{{"event_type": "user.blocked", "channels": []string{"email"}}}}, 403)
		e.expect("PUT", emp, admin, map[string]any{"telegram_chat_id": "7"}, 200)
		// No change to someone the administrator does not manage.
		e.expect("PUT", path("/api/v1/users/%d/notifications", e.users["root"].ID), admin, map[string]any{"telegram_chat_id": "7"}, 404)
		e.expect("PUT", u, e.token("other"), map[string]any{"telegram_chat_id": "7"}, 404)
		e.expect("PUT", u, e.token("emp"), map[string]any{"telegram_chat_id": "7"}, 403)
	})
}
