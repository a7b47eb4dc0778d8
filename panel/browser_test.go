package panel

import (
	"context"
	"fmt"
	"github.com/roster-app/roster"
	"github.com/roster-app/roster/internal/ci"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// chromiumPath is Debian's Chromium, or ROSTER_TEST_CHROMIUM. Missing, the
// browser tests skip, except on CI, where they fail.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("ROSTER_TEST_CHROMIUM")
	if p == "" {
		p = "/usr/lib/chromium/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		ci.Missing(t, "Chromium for the browser tests: %v (apt-get install -y chromium, or set ROSTER_TEST_CHROMIUM)", err)
	}
	return p
}

// newAllocator starts one headless Chromium for a test and its subtests
// and returns the context of its first tab.
func newAllocator(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	// The first context starts the browser; tabs open their own browser
	// contexts (separate cookies) from it.
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// tab is one browser context (its own cookies) on a panel server.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	f    *fixture
	name string
}

// newSite serves a fresh SQLite fixture over HTTP.
func newSite(t *testing.T) (*fixture, string) {
	t.Helper()
	s, clock := sqlstoretest.OpenClock(t, sqlstoretest.SQLite)
	f := newFixture(t, s, clock)
	srv := httptest.NewServer(f.handler)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

// newTab opens an isolated browser context; on failure it saves a
// screenshot under the test's temp folder.
func newTab(t *testing.T, alloc context.Context, f *fixture, base, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithNewBrowserContext())
	// A tab's whole life, generous: a phone test opens over a dozen pages
	// of a server built with -race on a shared 2-core CI machine.
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	b := &tab{t: t, ctx: ctx, base: base, f: f, name: name}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		cancelTimeout()
		cancel()
		t.Fatalf("start browser: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b.screenshot(filepath.Join(t.TempDir(), "failure-"+name+".png"))
		}
		cancelTimeout()
		cancel()
	})
	return b
}

func (b *tab) screenshot(path string) {
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot: %v", err)
		return
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("screenshot: %v", err)
		return
	}
	b.t.Logf("screenshot saved: %s", path)
}

// do runs steps and fails the test on the first error.
func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", b.name, err)
	}
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("%s: text of %s: %v", b.name, sel, err)
	}
	return strings.TrimSpace(s)
}

func (b *tab) eval(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("%s: eval %s: %v", b.name, js, err)
	}
	return s
}

// waitFor polls a JavaScript condition until it holds.
func (b *tab) waitFor(js string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js)); err != nil {
		b.t.Fatalf("%s: waiting for %s: %v", b.name, js, err)
	}
}

func (b *tab) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base+b.f.expand(path)), chromedp.WaitReady(chromedp.CSS("body")))
}

func (b *tab) signIn(user string) {
	b.t.Helper()
	b.open("/signin")
	b.do(
		chromedp.SendKeys(chromedp.CSS("#username"), b.f.users[user].Username()),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".topbar")),
	)
}

func (b *tab) css(sel string) chromedp.CSS { return chromedp.CSS(b.f.expand(sel)) }

func TestBrowser(t *testing.T) {
	alloc := newAllocator(t)

	t.Run("SignInAndOut", func(t *testing.T) {
		f, base := newSite(t)
		b := newTab(t, alloc, f, base, "signin")
		b.signIn("admin")
		if got := b.text(".topbar .me"); got != "Anna Petrova" {
			t.Errorf("top bar user %q", got)
		}
		if got := b.text(".topbar .company"); got != "Northwind Dispatch" {
			t.Errorf("top bar company %q", got)
		}
		b.do(chromedp.Click(chromedp.CSS(`form[action="/signout"] button`)), chromedp.WaitVisible(chromedp.CSS("#username")))
		if got := b.text(".flash"); got != "You are signed out." {
			t.Errorf("flash %q", got)
		}
		b.open("/users")
		b.do(chromedp.WaitVisible(chromedp.CSS("#username")))
	})

	t.Run("AddLoginUserAndReadOneTimePassword", func(t *testing.T) {
		f, base := newSite(t)
		b := newTab(t, alloc, f, base, "adduser")
		b.signIn("admin")
		b.do(
			chromedp.Click(chromedp.CSS(`a[data-dialog="add-user"]`)),
			chromedp.WaitVisible(chromedp.CSS("#add-user")),
			chromedp.Click(chromedp.CSS(`#add-user input[name=auth_method][value=login]`)),
			chromedp.WaitVisible(chromedp.CSS("#nu-login")),
			chromedp.WaitNotVisible(chromedp.CSS("#nu-email")),
			chromedp.SendKeys(chromedp.CSS("#nu-login"), "Driver9"),
			chromedp.SendKeys(chromedp.CSS("#nu-first"), "Nina"),
			chromedp.SendKeys(chromedp.CSS("#nu-last"), "Kaur"),
			chromedp.Click(b.css(`#add-user input[name=role_ids][value="{role:employee}"]`)),
		)
		if got := b.eval(`document.querySelector('#add-user input[name=credentials]:checked').value`); got != "generated" {
			t.Errorf("login method must default to a generated password, got %q", got)
		}
		b.do(chromedp.Click(chromedp.CSS(`#add-user button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("#once-password")))
		pw := b.eval(`document.getElementById('once-password').value`)
		if login := b.eval(`document.getElementById('once-username').value`); login != "driver9" {
			t.Errorf("login %q", login)
		}
		if len(pw) != 16 {
			t.Fatalf("one-time password %q", pw)
		}
		if !strings.Contains(b.text(".once .warning"), "only once") {
			t.Error("no warning that the password is shown once")
		}
		u, err := f.store.UserByUsername(context.Background(), "driver9")
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := f.panel.Hasher.Verify(context.Background(), u.PasswordHash, pw); !ok || !u.PasswordTemporary {
			t.Error("the shown password is not the user's temporary password")
		}
	})

	t.Run("SearchAsYouType", func(t *testing.T) {
		f, base := newSite(t)
		b := newTab(t, alloc, f, base, "search")
		b.signIn("admin")
		before := b.eval(`String(document.querySelectorAll('#results tbody tr').length)`)
		if n, _ := strconv.Atoi(before); n < 5 {
			t.Fatalf("rows before search: %s", before)
		}
		b.eval(`window.__noReload = "yes"`)
		b.do(chromedp.SendKeys(chromedp.CSS("#q"), "olg"))
		b.waitFor(`document.querySelectorAll('#results tbody tr').length === 1 && location.search === '?q=olg'`)
		if got := b.text("#results tbody tr .name"); got != "Olga Ivanova" {
			t.Errorf("result %q", got)
		}
		if b.eval(`window.__noReload || ""`) != "yes" {
			t.Error("the page reloaded")
		}
		// The query survives a reload.
		b.open("/users?q=olg")
		if got := b.eval(`document.getElementById('q').value`); got != "olg" {
			t.Errorf("query after reload %q", got)
		}
	})

	t.Run("CardViewRemembered", func(t *testing.T) {
		f, base := newSite(t)
		b := newTab(t, alloc, f, base, "cards")
		b.signIn("admin")
		b.do(chromedp.WaitVisible(chromedp.CSS("table.grid")), chromedp.Click(chromedp.CSS(`a[data-view=cards]`)), chromedp.WaitVisible(chromedp.CSS("ul.cards")))
		b.open("/users")
		b.do(chromedp.WaitVisible(chromedp.CSS("ul.cards")), chromedp.Click(chromedp.CSS(`a[data-view=table]`)), chromedp.WaitVisible(chromedp.CSS("table.grid")))
		b.open("/users")
		b.do(chromedp.WaitVisible(chromedp.CSS("table.grid")))
	})

	t.Run("BulkBlockTwoUsers", func(t *testing.T) {
		f, base := newSite(t)
		b := newTab(t, alloc, f, base, "bulk")
		b.signIn("admin")
		b.do(
			chromedp.Click(b.css(`input[data-row][value="{olga}"]`)),
			chromedp.Click(b.css(`input[data-row][value="{boris}"]`)),
			chromedp.SetValue(chromedp.CSS("#bulk-action"), "block"),
			chromedp.Click(chromedp.CSS("[data-bulk-submit]")),
			chromedp.WaitVisible(chromedp.CSS("#bulk-comment")),
		)
		if got := b.text("p.lead"); got != "This affects 2 users." {
			t.Errorf("confirmation says %q", got)
		}
		if got := b.text("[data-bulk-users]"); !strings.Contains(got, f.users["olga"].DisplayName()) || !strings.Contains(got, f.users["boris"].DisplayName()) {
			t.Errorf("confirmation names %q", got)
		}
		b.do(
			chromedp.SendKeys(chromedp.CSS("#bulk-comment"), "quarterly audit"),
			chromedp.Click(chromedp.CSS(`button[name=confirm]`)),
			chromedp.WaitVisible(chromedp.CSS(".flash")),
		)
		if got := b.text(".flash"); got != "2 users blocked." {
			t.Errorf("flash %q", got)
		}
		for _, name := range []string{"olga", "boris"} {
			u, _ := f.store.UserByID(context.Background(), roster.Scope{All: true}, f.users[name].ID)
			if u.Status != "blocked" {
				t.Errorf("%s is %s", name, u.Status)
			}
		}
	})

	t.Run("OpenCardAndUnblock", func(t *testing.T) {
		f, base := newSite(t)
		b := newTab(t, alloc, f, base, "unblock")
		b.signIn("admin")
		b.do(chromedp.SendKeys(chromedp.CSS("#q"), "bella"))
		b.waitFor(`document.querySelectorAll('#results tbody tr').length === 1`)
		b.do(
			chromedp.Click(chromedp.CSS("#results tbody tr a.name")),
			chromedp.WaitVisible(chromedp.CSS(`.card-actions a[data-action="unblock"]`)),
			chromedp.Click(chromedp.CSS(`.card-actions a[data-action="unblock"]`)),
			chromedp.WaitVisible(chromedp.CSS("#action-dialog #unblock-comment")),
			chromedp.SendKeys(chromedp.CSS("#unblock-comment"), "came back"),
			chromedp.Click(chromedp.CSS(`#action-dialog button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(".flash")),
		)
		if got := b.text(".flash"); got != "User unblocked." {
			t.Errorf("flash %q", got)
		}
		if got := b.text("h1 .badge"); got != "Active" {
			t.Errorf("status %q", got)
		}
	})

	t.Run("RolePermissionsHideDispatcherButton", func(t *testing.T) {
		f, base := newSite(t)
		admin := newTab(t, alloc, f, base, "roles-admin")
		disp := newTab(t, alloc, f, base, "roles-dispatcher")
		admin.signIn("admin")
		disp.signIn("dispatcher")
		setBlock := func(on bool) {
			admin.open("/roles")
			box := `input[name="perm_{role:dispatcher}"][value="users.block"]`
			if checked := admin.eval(`String(document.querySelector('` + admin.f.expand(box) + `').checked)`); checked != strconv.FormatBool(on) {
				admin.do(chromedp.Click(admin.css(box)))
			}
			admin.do(chromedp.Click(chromedp.CSS(`.matrix-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
		}
		hasBlock := func() bool {
			disp.open("/users/{olga}")
			return disp.eval(`String(!!document.querySelector('.card-actions a[data-action="block"]'))`) == "true"
		}
		if hasBlock() {
			t.Fatal("a Dispatcher sees Block before having the permission")
		}
		setBlock(true)
		if !hasBlock() {
			t.Fatal("the Dispatcher does not see Block after getting users.block")
		}
		setBlock(false)
		if hasBlock() {
			t.Fatal("the Dispatcher still sees Block after losing users.block")
		}
	})

	t.Run("SwitchIntoDependentCompanyAndBack", func(t *testing.T) {
		f, base := newSite(t)
		b := newTab(t, alloc, f, base, "switch")
		b.signIn("admin")
		b.open("/companies")
		b.do(chromedp.Click(b.css(`form[action="/companies/{child}/switch"] button`)), chromedp.WaitVisible(chromedp.CSS(".switch-banner")))
		if got := b.text(".switch-banner span"); got != "Anna Petrova is working as Hugo Berg, administrator of Harbor Taxi." {
			t.Errorf("banner %q", got)
		}
		if got := b.text(".topbar .company"); got != "Harbor Taxi" {
			t.Errorf("company %q", got)
		}
		// The page we leave has a flash of its own: wait for the banner to go
		// (the new page has loaded) before reading the new flash.
		b.do(chromedp.Click(chromedp.CSS(".switch-banner button")), chromedp.WaitNotPresent(chromedp.CSS(".switch-banner")),
			chromedp.WaitVisible(chromedp.CSS(".flash")))
		if got := b.text(".flash"); got != "You are back in your own account." {
			t.Errorf("flash %q", got)
		}
		if n := b.eval(`String(document.querySelectorAll('.switch-banner').length)`); n != "0" {
			t.Error("banner still shown")
		}
		if got := b.text(".topbar .me"); got != "Anna Petrova" {
			t.Errorf("user %q", got)
		}
	})

	t.Run("SwitchLanguageToRussian", func(t *testing.T) {
		f, base := newSite(t)
		b := newTab(t, alloc, f, base, "russian")
		b.signIn("admin")
		b.do(chromedp.Click(chromedp.CSS(`.topbar .lang button[value=ru]`)), chromedp.WaitVisible(chromedp.CSS(`.topbar .lang button[value=ru][aria-pressed=true]`)))
		if got := b.text("h1"); got != "Пользователи" {
			t.Errorf("heading %q", got)
		}
		if got := b.eval(`document.documentElement.lang`); got != "ru" {
			t.Errorf("lang %q", got)
		}
		b.open("/users/{olga}")
		if !strings.Contains(b.text("#details-title"), "Сведения") {
			t.Error("card not in Russian")
		}
	})
}

// TestScreens saves every screen in both languages to
// $ROSTER_PANEL_SCREENS, for a person to look at; skipped when unset.
func TestScreens(t *testing.T) {
	dir := os.Getenv("ROSTER_PANEL_SCREENS")
	if dir == "" {
		t.Skip("set ROSTER_PANEL_SCREENS=dir to save screenshots of every screen")
	}
	alloc := newAllocator(t)
	f, base := newSite(t)
	for _, lang := range []string{"en", "ru"} {
		b := newTab(t, alloc, f, base, "screens-"+lang)
		shot := func(name string) {
			b.screenshot(filepath.Join(dir, fmt.Sprintf("%s-%s.png", lang, name)))
		}
		b.open("/signin")
		if lang == "ru" {
			b.do(chromedp.Click(chromedp.CSS(`.lang button[value=ru]`)), chromedp.WaitVisible(chromedp.CSS(`.lang button[value=ru][aria-pressed=true]`)))
		}
		shot("01-signin")
		b.do(chromedp.SendKeys(chromedp.CSS("#username"), "anna@northwind.test"), chromedp.SendKeys(chromedp.CSS("#password"), "wrong-password-1"),
			chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".form-error")))
		shot("02-signin-error")
		b.signIn("admin")
		shot("03-users-table")
		b.do(chromedp.Click(chromedp.CSS(`a[data-dialog="add-user"]`)), chromedp.WaitVisible(chromedp.CSS("#add-user")))
		shot("04-add-user")
		b.open("/users/new")
		b.do(chromedp.Click(chromedp.CSS(`input[name=auth_method][value=login]`)), chromedp.Click(chromedp.CSS(`.user-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".field-error")))
		shot("05-add-user-errors")
		b.open("/users?view=cards")
		shot("06-users-cards")
		b.open("/users?view=table")
		b.do(chromedp.Click(b.css(`input[data-row][value="{olga}"]`)), chromedp.Click(b.css(`input[data-row][value="{boris}"]`)),
			chromedp.SetValue(chromedp.CSS("#bulk-action"), "block"), chromedp.Click(chromedp.CSS("[data-bulk-submit]")), chromedp.WaitVisible(chromedp.CSS("#bulk-comment")))
		shot("07-bulk-dialog")
		b.open("/users/{boris}")
		b.do(chromedp.Click(chromedp.CSS(`.card-actions a[data-action=block]`)), chromedp.WaitVisible(chromedp.CSS("#action-dialog #block-comment")))
		shot("08-user-card")
		b.open("/roles")
		shot("09-roles")
		b.open("/roles/{role:dispatcher}")
		shot("10-role")
		b.open("/events")
		shot("11-events")
		b.open("/companies")
		shot("12-companies")
		b.open("/profile")
		shot("13-profile")
		b.open("/users/999999")
		shot("14-not-found")
		b.open("/companies")
		b.do(chromedp.Click(b.css(`form[action="/companies/{child}/switch"] button`)), chromedp.WaitVisible(chromedp.CSS(".switch-banner")))
		shot("15-switched")
		b.do(chromedp.Click(chromedp.CSS(".switch-banner button")), chromedp.WaitNotPresent(chromedp.CSS(".switch-banner")))
		b.open("/users/{agent}")
		b.do(chromedp.Click(chromedp.CSS(`.card-actions a[data-action="password-reset"]`)), chromedp.WaitVisible(chromedp.CSS(`#action-dialog form[action$="/password-reset"] button`)),
			chromedp.Click(chromedp.CSS(`#action-dialog form[action$="/password-reset"] button`)))
		b.do(chromedp.WaitVisible(chromedp.CSS("#once-password")))
		shot("16-one-time-password")
		b.do(chromedp.EmulateViewport(390, 844))
		b.open("/users")
		shot("17-phone-users")
		b.do(chromedp.EmulateViewport(1280, 800))
	}
}
