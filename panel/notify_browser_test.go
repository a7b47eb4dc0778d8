package panel

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/roster-app/roster"
)

// TestBrowserNotify drives issue 13's items 5 and 7 in Chromium, by
// keyboard where a person would: the Main administrator's System > Event
// notifications page, the Notifications panel of a user's card, and "Send
// to e-mail" beside a typed first password. With ROSTER_PANEL_SCREENS set
// it saves the screens there.
func TestBrowserNotify(t *testing.T) {
	alloc := newAllocator(t)
	axe := axeSource(t)
	shots := os.Getenv("ROSTER_PANEL_SCREENS")
	shot := func(b *tab, name string) {
		if shots != "" {
			b.screenshot(filepath.Join(shots, "notify-"+name+".png"))
		}
	}

	t.Run("EventTypes", func(t *testing.T) {
		f, base := newSite(t)
		b := newTab(t, alloc, f, base, "event-types")
		b.signIn("main")
		b.do(chromedp.Click(chromedp.CSS(`nav a[href="/system/event-notifications"]`)), chromedp.WaitVisible(chromedp.CSS(`input[name=enabled][value="user.blocked"]`)))
		if got := b.text("h1"); got != "Event notifications" {
			t.Fatalf("heading %q", got)
		}
		shot(b, "system-en")
		b.axe(axe, "System > Event notifications")
		// Untick "User blocked" with the keyboard and save with Enter.
		b.do(chromedp.Focus(chromedp.CSS(`input[name=enabled][value="user.blocked"]`)), chromedp.KeyEvent(" "))
		if b.eval(`String(document.querySelector('input[name=enabled][value="user.blocked"]').checked)`) != "false" {
			t.Fatal("space did not untick the box")
		}
		b.do(chromedp.Focus(chromedp.CSS(`.event-types-form button[type=submit]`)), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(".flash")))
		if got := b.text(".flash"); !strings.Contains(got, "Event notifications saved") {
			t.Errorf("flash %q", got)
		}
		off, err := f.store.DisabledNotificationTypes(context.Background())
		if err != nil || !slices.Equal(off, []string{roster.EventUserBlocked}) {
			t.Fatalf("switched off %v %v", off, err)
		}
		// The System menu's other tab is the Outbox.
		b.do(chromedp.Click(chromedp.CSS(`nav.tabs a[href="/outbox"]`)), chromedp.WaitVisible(chromedp.CSS(`nav.tabs a[href="/outbox"][aria-current=page]`)))
		b.do(chromedp.Click(chromedp.CSS(`nav.tabs a[href="/system/event-notifications"]`)), chromedp.WaitVisible(chromedp.CSS(`input[name=enabled]`)))
		b.setLang("ru")
		if got := b.text("h1"); got != "Уведомления о событиях" {
			t.Errorf("Russian heading %q", got)
		}
		shot(b, "system-ru")
		// A Company administrator has no System menu.
		a := newTab(t, alloc, f, base, "event-types-admin")
		a.signIn("admin")
		if n := a.eval(`String(document.querySelectorAll('nav a[href="/system/event-notifications"]').length)`); n != "0" {
			t.Errorf("%s System links for a company administrator", n)
		}
	})

	t.Run("UserCard", func(t *testing.T) {
		f, base := newSite(t)
		b := newTab(t, alloc, f, base, "card-notify")
		b.signIn("admin")
		b.open("/users/{dispatcher}")
		// Open the panel with the keyboard.
		b.do(chromedp.Focus(chromedp.CSS(`#notifications-section > summary`)), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`#un-tg`)))
		b.do(chromedp.SendKeys(chromedp.CSS(`#un-tg`), "-1001"), chromedp.SendKeys(chromedp.CSS(`#un-slack`), "C42"),
			chromedp.Focus(chromedp.CSS(`input[name=sub][value="user.blocked/telegram"]`)), chromedp.KeyEvent(" "),
			chromedp.Focus(chromedp.CSS(`input[name=sub][value="user.created/slack"]`)), chromedp.KeyEvent(" "))
		shot(b, "card-en")
		b.axe(axe, "user card, Notifications open")
		b.do(chromedp.Click(chromedp.CSS(`#notifications-section button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
		if got := b.text(".flash"); !strings.Contains(got, "Notification settings saved") {
			t.Errorf("flash %q", got)
		}
		p, err := f.store.NotificationPrefs(context.Background(), f.users["dispatcher"].ID)
		if err != nil || p.TelegramChatID != "-1001" || p.SlackChannelID != "C42" || len(p.Subscriptions) != 2 {
			t.Fatalf("stored %+v %v", p, err)
		}
		// A refused form comes back open, with the error beside its field.
		b.do(chromedp.Click(chromedp.CSS(`#notifications-section > summary`)), chromedp.WaitVisible(chromedp.CSS(`#un-tg`)))
		b.eval(`document.querySelector('#un-tg').value = ''; 'ok'`)
		b.do(chromedp.Click(chromedp.CSS(`#notifications-section button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`#notifications-section .field-error`)))
		if got := b.text(`#notifications-section .field-error`); !strings.Contains(got, "Telegram") {
			t.Errorf("error %q", got)
		}
		b.setLang("ru")
		b.open("/users/{dispatcher}")
		if got := b.text(`#notifications-section > summary`); got != "Уведомления" {
			t.Errorf("Russian summary %q", got)
		}
		b.do(chromedp.Click(chromedp.CSS(`#notifications-section > summary`)), chromedp.WaitVisible(chromedp.CSS(`#un-tg`)))
		shot(b, "card-ru")
	})

	t.Run("SendToEmail", func(t *testing.T) {
		f, base := newSite(t)
		b := newTab(t, alloc, f, base, "send-to-email")
		b.signIn("admin")
		b.open("/users/new")
		// The option shows with a typed password only, and for e-mail users.
		if b.eval(`String(document.querySelector('input[name=send_email]').closest('[data-cred]').hidden)`) != "true" {
			t.Error("Send to e-mail shows before a typed password is chosen")
		}
		b.do(chromedp.SendKeys(chromedp.CSS("#nu-email"), "nina@northwind.test"),
			chromedp.Click(b.css(`input[name=role_ids][value="{role:employee}"]`)),
			chromedp.Click(chromedp.CSS(`input[name=credentials][value=manual]`)), chromedp.WaitVisible(chromedp.CSS(`input[name=send_email]`)),
			chromedp.SendKeys(chromedp.CSS("#nu-password"), "amber-kettle-92"),
			chromedp.Focus(chromedp.CSS(`input[name=send_email]`)), chromedp.KeyEvent(" "))
		shot(b, "usernew-en")
		b.axe(axe, "add user, typed password, Send to e-mail")
		b.do(chromedp.Click(chromedp.CSS(`form[data-user-form] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
		if got := b.text(".flash"); !strings.Contains(got, "single-use link to set their password") {
			t.Errorf("flash %q", got)
		}
		link := f.lastLink("nina@northwind.test", "/password-reset/")
		if link == "" {
			t.Fatal("no link e-mailed")
		}
		// The user sets their own password through the link, once.
		u := newTab(t, alloc, f, base, "send-to-email-user")
		u.open(link)
		u.do(chromedp.SendKeys(chromedp.CSS("#new_password"), "meadow-copper-violin"), chromedp.SendKeys(chromedp.CSS("#confirm_password"), "meadow-copper-violin"),
			chromedp.Click(chromedp.CSS(`form[action^="/password-reset/"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("#username")))
		u.do(chromedp.SendKeys(chromedp.CSS("#username"), "nina@northwind.test"), chromedp.SendKeys(chromedp.CSS("#password"), "meadow-copper-violin"),
			chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".topbar")))
		// Login method: the option is hidden with the e-mail field.
		b.open("/users/new")
		b.do(chromedp.Click(chromedp.CSS(`input[name=auth_method][value=login]`)), chromedp.Click(chromedp.CSS(`input[name=credentials][value=manual]`)))
		if b.eval(`String(document.querySelector('input[name=send_email]').closest('[data-method]').hidden)`) != "true" {
			t.Error("Send to e-mail shows for a login user")
		}
		b.setLang("ru")
		b.open("/users/new")
		b.do(chromedp.Click(chromedp.CSS(`input[name=credentials][value=manual]`)), chromedp.WaitVisible(chromedp.CSS(`input[name=send_email]`)))
		if got := b.text(`label:has(> input[name=send_email])`); got != "Отправить на e-mail" {
			t.Errorf("Russian label %q", got)
		}
		shot(b, "usernew-ru")
	})
}
