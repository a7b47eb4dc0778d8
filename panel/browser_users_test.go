package panel

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/roster-app/roster"
)

// usersSite is the operations fixture with a company big enough to page
// (60 more users, Russian names with patronymics among them) and Olga in
// a queue, a shift and an agent group.
func newUsersSite(t *testing.T) (*opsFixture, string) {
	t.Helper()
	f, base := newOpsSite(t)
	ctx := context.Background()
	s := f.store
	groups := map[string]*roster.WorkGroup{}
	for _, kind := range []string{roster.KindQueue, roster.KindShift, roster.KindAgentGroup} {
		gs, err := s.WorkGroups(ctx, roster.Scope{All: true}, f.reseller.ID, kind)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range gs {
			groups[g.Name] = g
		}
	}
	for _, name := range []string{"Night queue", "Morning shift", "Team A"} {
		g := groups[name]
		if _, err := s.AddWorkGroupMembers(ctx, roster.Scope{All: true}, g.Kind, g.ID, []int64{f.users["olga"].ID}); err != nil {
			t.Fatal(err)
		}
	}
	// Even: women, odd: men; surnames in the matching form.
	firsts := []string{"Мария", "Алексей", "Елена", "Сергей", "Наталья", "Андрей", "Ольга", "Дмитрий", "Ирина", "Павел"}
	mids := []string{"Ивановна", "Петрович", "Сергеевна", "Андреевич", "Павловна", "Олегович", "Юрьевна", "Игоревич", "Викторовна", "Николаевич"}
	lasts := []string{"Смирнов", "Кузнецов", "Попов", "Васильев", "Соколов", "Михайлов", "Новиков", "Фёдоров", "Морозов", "Волков"}
	emp := f.roles[roster.RoleEmployee].ID
	for i := 0; i < 60; i++ {
		f.clock.Advance(time.Minute)
		u := &roster.User{CompanyID: f.reseller.ID, AuthMethod: roster.AuthEmail, Email: fmt.Sprintf("staff%02d@northwind.test", i),
			FirstName: firsts[i%10], MiddleName: mids[i%10], LastName: lasts[(i/10+i)%10], PasswordHash: "x"}
		if i%2 == 0 {
			u.LastName += "а"
		}
		if err := s.CreateUser(ctx, u, []int64{emp}, nil, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			f.users["maria"] = u
		}
	}
	return f, base
}

// setLang switches a tab's language from the top bar (or the sign-in page).
func (b *tab) setLang(lang string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(`.lang button[value=`+lang+`]`)), chromedp.WaitVisible(chromedp.CSS(`.lang button[value=`+lang+`][aria-pressed=true]`)))
}

// TestScreensUsers saves the users workspace's screens (issue 12) in both
// languages, desktop and phone, to $ROSTER_PANEL_SCREENS for a person to
// look at; skipped when unset.
func TestScreensUsers(t *testing.T) {
	dir := os.Getenv("ROSTER_PANEL_SCREENS")
	if dir == "" {
		t.Skip("set ROSTER_PANEL_SCREENS=dir to save screenshots of the users workspace")
	}
	alloc := newAllocator(t)
	for _, lang := range []string{"en", "ru"} {
		f, base := newUsersSite(t)
		b := newTab(t, alloc, f.fixture, base, "users-"+lang)
		// What the reader sees: the viewport, not the whole page.
		shot := func(name string) {
			png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatalf("screenshot %s: %v", name, err)
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s.png", lang, name)), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		b.signIn("admin")
		if lang == "ru" {
			b.setLang("ru")
		}
		// Block Boris through the panel, so the list and card know by whom.
		b.open("/users/{boris}/block")
		b.do(chromedp.SendKeys(chromedp.CSS("#block-comment"), "Contract ended in March"), chromedp.Click(chromedp.CSS(`form[data-action-form] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(".flash")))
		b.open("/users")
		shot("01-users-list")
		b.do(chromedp.Focus(chromedp.CSS(`#results button.tip`)))
		shot("02-users-block-reason")
		b.do(chromedp.Click(b.css(`button[popovertarget="menu-{olga}"]`)), chromedp.WaitVisible(b.css(`#menu-{olga}`)))
		shot("03-users-row-menu")
		b.do(chromedp.Click(b.css(`#menu-{olga} a[href*="/block"]`)), chromedp.WaitVisible(chromedp.CSS("#action-dialog #block-comment")))
		shot("04-block-dialog")
		b.open("/users/{boris}")
		shot("05-user-card-blocked")
		b.open("/users/{olga}")
		shot("06-user-card")
		b.open("/users")
		b.do(chromedp.Click(b.css(`input[data-row][value="{olga}"]`)), chromedp.Click(b.css(`input[data-row][value="{ivan}"]`)),
			chromedp.Click(chromedp.CSS(`[data-all]`)),
			chromedp.SetValue(chromedp.CSS("#bulk-action"), "block"), chromedp.Click(chromedp.CSS("[data-bulk-submit]")), chromedp.WaitVisible(chromedp.CSS("#bulk-comment")))
		shot("07-bulk-confirmation")
		b.open("/users")
		b.do(chromedp.Click(chromedp.CSS(`a[data-dialog="add-user"]`)), chromedp.WaitVisible(chromedp.CSS("#add-user")),
			chromedp.Click(chromedp.CSS(`#add-user button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("#add-user .field-error")))
		shot("08-add-user-errors")
		b.open("/users?sort=-last_login_at&view=table")
		b.do(chromedp.Click(chromedp.CSS(`button[popovertarget="columns-menu"]`)), chromedp.WaitVisible(chromedp.CSS("#columns-menu")))
		shot("09-columns-menu")
		b.open("/users?view=table")
		if err := b.f.panel.Users.SetUserPreference(context.Background(), f.users["admin"].ID, roster.PrefUsersView, ""); err != nil {
			t.Fatal(err)
		}
		b.do(chromedp.EmulateViewport(390, 844))
		b.open("/users")
		b.do(chromedp.WaitVisible(chromedp.CSS("ul.cards")))
		shot("10-phone-users")
		b.do(chromedp.Click(chromedp.CSS("[data-filters-toggle]")))
		shot("11-phone-filters")
		b.open("/users/{olga}")
		shot("12-phone-card")
		b.open("/roles")
		shot("13-phone-roles")
		b.open("/queues")
		shot("14-phone-queues")
		b.open("/companies")
		shot("15-phone-companies")
		b.do(chromedp.EmulateViewport(1280, 800))
		b.open("/users/999999")
		shot("16-not-found")
	}
}
