package panel

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/roster-app/roster"
)

// newOpsSite serves a fresh SQLite fixture with operations data over HTTP.
func newOpsSite(t *testing.T) (*opsFixture, string) {
	t.Helper()
	f, base := newSite(t)
	of := &opsFixture{fixture: f}
	ctx := context.Background()
	mk := func(kind, name string) *roster.WorkGroup {
		g := &roster.WorkGroup{CompanyID: f.reseller.ID, Kind: kind, Name: name}
		if err := f.store.CreateWorkGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		return g
	}
	of.queue = mk(roster.KindQueue, "Night queue")
	mk(roster.KindQueue, "Priority line")
	of.teamA = mk(roster.KindAgentGroup, "Team A")
	mk(roster.KindShift, "Morning shift")
	of.tag = &roster.ClientTag{CompanyID: f.reseller.ID, Name: "VIP"}
	if err := f.store.CreateClientTag(ctx, of.tag); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, email, phone, country string }{
		{"Zed Quartermain", "zed@client.test", "+49 30 1234567", "DE"},
		{"Amelia Pond", "amy@client.test", "+44 20 7946 0000", "GB"},
		{"Jonas Berg", "jonas@client.test", "", "SE"},
	} {
		name, email, phone, country, tags := c.name, c.email, c.phone, c.country, []int64{of.tag.ID}
		cl, err := f.store.CreateClient(ctx, f.reseller.ID, roster.ClientInput{Name: &name, Email: &email, Phone: &phone, Country: &country, TagIDs: &tags})
		if err != nil {
			t.Fatal(err)
		}
		if of.client == nil {
			of.client = cl
		}
	}
	return of, base
}

// TestBrowserOperations adds two agents to a queue from the queue page,
// then filters the users list by that queue and by "In no queue".
func TestBrowserOperations(t *testing.T) {
	alloc := newAllocator(t)
	f, base := newOpsSite(t)
	b := newTab(t, alloc, f.fixture, base, "queue-members")
	b.signIn("admin")
	q := strconv.FormatInt(f.queue.ID, 10)
	b.open("/queues/" + q)
	// The picker filters as you type; a checked user stays visible.
	b.do(chromedp.SendKeys(chromedp.CSS("#pick-q"), "olg"))
	b.waitFor(`document.querySelectorAll('[data-pick-list] label:not([hidden])').length === 1`)
	b.do(chromedp.Click(b.css(`input[name=user_ids][value="{olga}"]`)))
	b.eval(`document.querySelector('#pick-q').value = ''; ""`)
	b.do(chromedp.SendKeys(chromedp.CSS("#pick-q"), "kuz"))
	b.waitFor(`document.querySelectorAll('[data-pick-list] label:not([hidden])').length === 2`)
	b.do(chromedp.Click(b.css(`input[name=user_ids][value="{boris}"]`)),
		chromedp.Click(chromedp.CSS(`form[action$="/members"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := b.text(".flash"); got != "2 members added." {
		t.Fatalf("flash %q", got)
	}
	if got := b.text("[data-members]"); !strings.Contains(got, "Olga Ivanova") || !strings.Contains(got, "Boris Kuznetsov") {
		t.Fatalf("members %q", got)
	}

	b.open("/users")
	b.eval(`document.querySelector('#f-queue').value = '` + q + `'; document.querySelector('#f-queue').dispatchEvent(new Event('change', {bubbles: true})); ""`)
	b.waitFor(`location.search.includes('queue=` + q + `') && !document.querySelector('#results').textContent.includes('Ivan Sidorov')`)
	res := b.text("#results")
	if !strings.Contains(res, "Olga Ivanova") || !strings.Contains(res, "Boris Kuznetsov") || !strings.Contains(res, "2 users") {
		t.Fatalf("queue filter: %q", res)
	}
	b.eval(`document.querySelector('#f-queue').value = 'none'; document.querySelector('#f-queue').dispatchEvent(new Event('change', {bubbles: true})); ""`)
	b.waitFor(`location.search.includes('queue=none') && document.querySelector('#results').textContent.includes('Ivan Sidorov')`)
	res = b.text("#results")
	if strings.Contains(res, "Olga Ivanova") || strings.Contains(res, "Boris Kuznetsov") || strings.Contains(res, "Bella Stone") {
		t.Fatalf("in no queue: %q", res)
	}
	// The filter survives a reload.
	b.open("/users?queue=none")
	if v := b.eval(`document.querySelector('#f-queue').value`); v != "none" {
		t.Fatalf("after reload the filter is %q", v)
	}
}

// TestScreensOperations saves the operations screens in both languages to
// $ROSTER_PANEL_SCREENS; skipped when unset.
func TestScreensOperations(t *testing.T) {
	dir := os.Getenv("ROSTER_PANEL_SCREENS")
	if dir == "" {
		t.Skip("set ROSTER_PANEL_SCREENS=dir to save screenshots of every screen")
	}
	alloc := newAllocator(t)
	f, base := newOpsSite(t)
	ctx := context.Background()
	if _, err := f.store.AddWorkGroupMembers(ctx, roster.Scope{All: true}, roster.KindQueue, f.queue.ID, []int64{f.users["olga"].ID, f.users["boris"].ID}); err != nil {
		t.Fatal(err)
	}
	stats := true
	if _, err := f.store.UpdateCompanyOperations(ctx, roster.Scope{All: true}, f.reseller.ID, roster.CompanyOperationsUpdate{CallStatistics: &stats}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.RecordCall(ctx, &roster.Call{CompanyID: f.reseller.ID, CallID: "c-1", UserID: f.users["olga"].ID}); err != nil {
		t.Fatal(err)
	}
	prefs := &roster.NotificationPrefs{TelegramChatID: "-100200300", Subscriptions: []roster.Subscription{{EventType: roster.EventUserBlocked, Channels: []string{roster.ChannelEmail, roster.ChannelTelegram}}}}
	if err := f.store.SetNotificationPrefs(ctx, f.users["admin"].ID, prefs); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.BlockUser(ctx, roster.Scope{All: true}, f.users["ivan"].ID, "left"); err != nil {
		t.Fatal(err)
	}
	for id := int64(1); id < 20; id++ {
		if d, err := f.store.DeliveryByID(ctx, id); err == nil && d.Channel == roster.ChannelTelegram {
			for i := 0; i < 5; i++ {
				_ = f.store.RecordDeliveryAttempt(ctx, id, "telegram: 401 Unauthorized: bot token rejected")
			}
		}
	}
	masked := f.users["boris"]
	yes := true
	if _, err := f.store.UpdateOperator(ctx, roster.Scope{All: true}, masked.ID, roster.OperatorUpdate{MaskData: &yes}); err != nil {
		t.Fatal(err)
	}
	q := strconv.FormatInt(f.queue.ID, 10)
	for _, lang := range []string{"en", "ru"} {
		b := newTab(t, alloc, f.fixture, base, "ops-screens-"+lang)
		shot := func(name string) {
			b.screenshot(filepath.Join(dir, fmt.Sprintf("%s-ops-%s.png", lang, name)))
		}
		b.open("/signin")
		if lang == "ru" {
			b.do(chromedp.Click(chromedp.CSS(`.lang button[value=ru]`)), chromedp.WaitVisible(chromedp.CSS(`.lang button[value=ru][aria-pressed=true]`)))
		}
		b.signIn("admin")
		b.open("/queues")
		shot("01-queues")
		b.open("/queues/" + q)
		shot("02-queue")
		b.open("/shifts")
		shot("03-shifts")
		b.open("/agent-groups/" + strconv.FormatInt(f.teamA.ID, 10))
		b.do(chromedp.Click(chromedp.CSS(`details:has(form[action$="/managers"]) summary`)))
		shot("04-agent-group")
		b.open("/users?queue=" + q)
		shot("05-users-queue")
		b.open("/users?queue=none&view=cards")
		shot("06-users-no-queue-cards")
		b.open("/users?view=table")
		b.open("/users/{olga}")
		b.do(chromedp.Click(chromedp.CSS(`#operations-section summary`)))
		shot("07-user-card")
		b.open("/clients")
		shot("08-clients")
		b.open("/clients/" + strconv.FormatInt(f.client.ID, 10))
		shot("09-client")
		b.open("/client-tags")
		shot("10-tags")
		b.open("/settings/operations")
		shot("11-settings")
		b.open("/profile/notifications")
		shot("12-notifications")
		b.open("/notifications/failed")
		shot("13-failed")
		b.open("/events")
		shot("14-events")
		m := newTab(t, alloc, f.fixture, base, "ops-masked-"+lang)
		m.open("/signin")
		if lang == "ru" {
			m.do(chromedp.Click(chromedp.CSS(`.lang button[value=ru]`)), chromedp.WaitVisible(chromedp.CSS(`.lang button[value=ru][aria-pressed=true]`)))
		}
		m.signIn("boris")
		m.open("/clients")
		m.screenshot(filepath.Join(dir, fmt.Sprintf("%s-ops-15-clients-masked.png", lang)))
	}
}
