package panel

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserSmaller (issue 12, item 11 and leftovers), in both languages:
// group members show login and status and link to the user; client tags
// are a list with Edit; profile, security and notifications share one tab
// bar; starting TOTP asks the current password; a confirmation's button
// names its action; no page scrolls sideways on a phone.
func TestBrowserSmaller(t *testing.T) {
	alloc := newAllocator(t)
	for _, lang := range []string{"en", "ru"} {
		t.Run(lang, func(t *testing.T) {
			b, f := usersTab(t, alloc, lang, "smaller")
			shot := shooter(t, b, lang)
			queue := "/queues/" + strconv.FormatInt(f.queue.ID, 10)

			b.open(queue)
			want(t, "member login", lang, b.text(b.f.expand(`[data-members] a[href="/users/{olga}"] + .sub`)), texts{"en": "olga@northwind.test", "ru": "olga@northwind.test"})
			wantHas(t, "member status", lang, b.text(`[data-members] tbody tr .badge`), texts{"en": "Active", "ru": "Актив"})
			shot("40-queue-members")

			b.open("/client-tags")
			if b.evalBool(`!!document.querySelector('#tag-list input[name=name]')`) {
				t.Errorf("%s: the tag list is a form per row", lang)
			}
			b.clickNav(`#tag-list a[href^="/client-tags?edit="]`)
			b.do(chromedp.SetValue(chromedp.CSS(`#tag-list input[name=name]`), "Gold"))
			b.clickNav(`#tag-list form button[type=submit]`)
			wantHas(t, "renamed tag", lang, b.text("#tag-list"), texts{"en": "Gold", "ru": "Gold"})
			shot("41-client-tags")
			// Delete asks, and its button says what it does.
			b.do(chromedp.Click(chromedp.CSS(`#tag-list form[data-confirm] button`)), chromedp.WaitVisible(chromedp.CSS("dialog[open]")))
			want(t, "confirm button", lang, b.text("dialog[open] .button.danger"), texts{"en": "Delete", "ru": "Удалить"})
			shot("42-confirm-names-action")
			b.do(chromedp.Click(chromedp.CSS("dialog[open] .button.ghost")))

			for _, p := range []struct{ path, current string }{
				{"/profile", map[string]string{"en": "My profile", "ru": "Мой профиль"}[lang]},
				{"/profile/security", map[string]string{"en": "Security", "ru": "Безопасность"}[lang]},
				{"/profile/notifications", map[string]string{"en": "Notifications", "ru": "Уведомления"}[lang]},
			} {
				b.open(p.path)
				if n := b.evalInt(`document.querySelectorAll('main nav.tabs a').length`); n != 3 {
					t.Errorf("%s: %s has %d profile tabs", lang, p.path, n)
				}
				want(t, "current tab of "+p.path, lang, b.text(`main nav.tabs a[aria-current=page]`), texts{lang: p.current})
			}
			b.open("/profile/security")
			if !b.evalBool(`document.getElementById('t-current').required`) {
				t.Errorf("%s: starting TOTP does not ask the current password", lang)
			}
			shot("43-security-tabs")

			// Companies as the Main administrator: the dependent sits under
			// its reseller, and a company is renamed in its row.
			m := newTab(t, alloc, f.fixture, b.base, "companies-"+lang)
			m.signIn("main")
			if lang == "ru" {
				m.setLang("ru")
			}
			m.open("/companies")
			if !m.evalBool(m.f.expand(`(() => { const r = document.querySelector('tr[data-company="{reseller}"]'), c = document.querySelector('tr[data-company="{child}"]'); return r && c && r.nextElementSibling === c && c.classList.contains('dependent') })()`)) {
				t.Errorf("%s: the dependent is not under its reseller", lang)
			}
			m.clickNav(m.f.expand(`a[href="/companies?rename={child}"]`))
			m.do(chromedp.SetValue(chromedp.CSS(m.f.expand("#co-rename-{child}")), "Harbor Taxi North"))
			m.clickNav(m.f.expand(`form[action="/companies/{child}/rename"] button[type=submit]`))
			wantHas(t, "renamed company", lang, m.text(m.f.expand(`tr[data-company="{child}"]`)), texts{"en": "Harbor Taxi North", "ru": "Harbor Taxi North"})
			wantHas(t, "rename flash", lang, m.text(".flash"), texts{"en": "Company renamed.", "ru": "Компания переименована."})
			shotM := shooter(t, m, lang)
			shotM("45-companies-hierarchy")
			m.do(chromedp.EmulateViewport(390, 844))
			m.open("/companies")
			m.noSideways(lang, "/companies")
			shotM("46-phone-companies")

			b.do(chromedp.EmulateViewport(390, 844))
			defer b.do(chromedp.EmulateViewport(1280, 800))
			for _, p := range []string{queue, "/client-tags", "/client-tags?edit=" + strconv.FormatInt(f.tag.ID, 10), "/profile", "/profile/security", "/profile/notifications"} {
				b.open(p)
				b.noSideways(lang, p)
			}
			b.open(queue)
			shot("44-phone-queue")
		})
	}
}
