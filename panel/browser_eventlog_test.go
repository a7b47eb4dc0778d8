package panel

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/roster-app/roster"
)

// shooter saves what the reader sees (the viewport) under
// $ROSTER_PANEL_SCREENS for a person to look at; without it, nothing.
func shooter(t *testing.T, b *tab, lang string) func(name string) {
	dir := os.Getenv("ROSTER_PANEL_SCREENS")
	return func(name string) {
		if dir == "" {
			return
		}
		png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s.png", lang, name)), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// noSideways fails when the page is wider than a 390 px phone.
func (b *tab) noSideways(lang, page string) {
	b.t.Helper()
	if w := b.evalInt(`Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)`); w > 390 {
		b.t.Errorf("%s: %s is %d px wide on a 390 px phone", lang, page, w)
	}
}

// TestBrowserEventLog (issue 12, items 1 and 7): the person filter's live
// search picks a person by name, comments show with their authors'
// avatars under their event and on the user card, calls stay hidden
// until asked, and the log fits a phone; in both languages.
func TestBrowserEventLog(t *testing.T) {
	alloc := newAllocator(t)
	for _, lang := range []string{"en", "ru"} {
		t.Run(lang, func(t *testing.T) {
			b, f := usersTab(t, alloc, lang, "eventlog")
			shot := shooter(t, b, lang)
			ctx := context.Background()
			olga := f.users["olga"]
			ev, err := f.store.Events(ctx, roster.Scope{All: true}, roster.EventFilter{UserID: &olga.ID, Type: roster.EventWorkGroupMemberAdded})
			if err != nil || len(ev.Items) == 0 {
				t.Fatalf("olga's group events: %v %d", err, len(ev.Items))
			}
			actx := roster.NewContextWithActor(ctx, &roster.Actor{User: f.users["dispatcher"]})
			if _, err := f.store.AddEventComment(actx, roster.Scope{All: true}, ev.Items[0].ID, "Moved for the winter season."); err != nil {
				t.Fatal(err)
			}
			if _, err := f.store.RecordCall(ctx, &roster.Call{CompanyID: f.reseller.ID, CallID: "c-77", UserID: olga.ID, Direction: "inbound", DurationSeconds: 61}); err != nil {
				t.Fatal(err)
			}

			b.open("/events")
			b.do(chromedp.SendKeys(chromedp.CSS("#ev-person"), "olga@"))
			b.waitFor(`!!document.querySelector('#person-results [data-pick-person]')`)
			want(t, "suggestion", lang, b.text("#person-results [data-pick-person] strong"), texts{"en": "Olga Ivanova", "ru": "Olga Ivanova"})
			if b.eval(`document.getElementById('ev-person').getAttribute('aria-expanded')`) != "true" {
				t.Errorf("%s: the combobox does not say it is open", lang)
			}
			shot("20-events-person-search")
			b.clickNav("#person-results [data-pick-person]")
			wantHas(t, "filtered log", lang, b.text("main"), texts{"en": "Events of Olga Ivanova", "ru": "Olga Ivanova"})
			if got := b.eval(`document.querySelector('[data-person-id]').value`); got != fmt.Sprint(olga.ID) {
				t.Errorf("%s: person id = %q", lang, got)
			}
			// Group membership names the group; the comment shows with its
			// author's initials; the call is hidden and the page says so.
			wantHas(t, "group event", lang, b.text(`.event-log`), texts{"en": "Added to a group · Queue “Night queue”", "ru": "Добавлен в группу · Очередь «Night queue»"})
			note := `[data-event="work_group.member_added"] .note` // on the newest of them
			wantHas(t, "comment", lang, b.text(note), texts{"en": "Moved for the winter season.", "ru": "Moved for the winter season."})
			want(t, "avatar", lang, b.text(note+" .avatar"), texts{"en": "DV", "ru": "DV"})
			if b.evalBool(`!!document.querySelector('[data-event="call.recorded"]')`) {
				t.Errorf("%s: a call shows by default", lang)
			}
			wantHas(t, "hidden note", lang, b.text("#high-volume-note"), texts{"en": "Calls and dialogues are hidden", "ru": "Звонки и диалоги скрыты"})
			shot("21-events-person")
			b.do(chromedp.Click(chromedp.CSS(`input[name=all]`)))
			b.clickNav(`#event-filters button[type=submit]`)
			if !b.evalBool(`!!document.querySelector('[data-event="call.recorded"]')`) {
				t.Errorf("%s: the call does not show when asked", lang)
			}
			// The user card's recent events carry the comment too.
			b.open("/users/{olga}")
			wantHas(t, "card comment", lang, b.text(`section[aria-labelledby=events-title]`), texts{"en": "Moved for the winter season.", "ru": "Moved for the winter season."})
			if !b.evalBool(`!!document.querySelector('section[aria-labelledby=events-title] .note .avatar')`) {
				t.Errorf("%s: no avatar by the card's comment", lang)
			}
			// The phone: nothing scrolls sideways.
			b.do(chromedp.EmulateViewport(390, 844))
			defer b.do(chromedp.EmulateViewport(1280, 800))
			for _, p := range []string{"/events", "/events?user={olga}", "/events?person=northwind", "/users/{olga}"} {
				b.open(p)
				b.noSideways(lang, p)
			}
			b.open("/events?user={olga}")
			shot("22-phone-events")
		})
	}
}
