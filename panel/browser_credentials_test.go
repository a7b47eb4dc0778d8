package panel

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/secure"
)

// TestBrowserCredentials drives the credential screens in Chromium: TOTP
// enrolment and sign-in with a code computed here, forgot password with
// the link read from the outbox, and an avatar upload seen in the top bar.
func TestBrowserCredentials(t *testing.T) {
	alloc := newAllocator(t)

	t.Run("TOTPSignIn", func(t *testing.T) {
		f, base := newSite(t)
		b := newTab(t, alloc, f, base, "totp")
		b.signIn("boris")
		b.open("/profile/security")
		b.do(chromedp.SendKeys(chromedp.CSS("#t-current"), testPassword), chromedp.Click(chromedp.CSS(`form[action="/profile/security/totp"] button`)), chromedp.WaitVisible(chromedp.CSS("#totp-secret")))
		secret := b.text("#totp-secret")
		code, err := totp.GenerateCode(secret, f.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		b.do(chromedp.SendKeys(chromedp.CSS("#totp-code"), code),
			chromedp.Click(chromedp.CSS(`form[action="/profile/security/totp/confirm"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS("#recovery-codes")))
		if n := b.eval(`String(document.querySelectorAll("#recovery-codes li").length)`); n != "10" {
			t.Fatalf("%s recovery codes", n)
		}
		b.do(chromedp.Click(chromedp.CSS(`form[action="/signout"] button`)), chromedp.WaitVisible(chromedp.CSS("#username")))
		b.do(chromedp.SendKeys(chromedp.CSS("#username"), "boris@northwind.test"), chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
			chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("#code")))
		f.clock.Advance(30 * time.Second)
		code, _ = totp.GenerateCode(secret, f.clock.Now())
		b.do(chromedp.SendKeys(chromedp.CSS("#code"), code), chromedp.Click(chromedp.CSS(`form[action="/signin/2fa"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(".topbar")))
		if got := b.text(".topbar .me"); got != "Boris Kuznetsov" {
			t.Errorf("top bar %q", got)
		}
	})

	t.Run("ForgotAndReset", func(t *testing.T) {
		f, base := newSite(t)
		b := newTab(t, alloc, f, base, "forgot")
		b.open("/signin")
		b.do(chromedp.Click(chromedp.CSS(`a[href="/password/forgot"]`)), chromedp.WaitVisible(chromedp.CSS("#f-email")),
			chromedp.SendKeys(chromedp.CSS("#f-email"), "olga@northwind.test"),
			chromedp.Click(chromedp.CSS(`form[action="/password/forgot"] button`)), chromedp.WaitVisible(chromedp.CSS("#forgot-sent")))
		link := f.lastLink("olga@northwind.test", "/password-reset/")
		b.open(link)
		b.do(chromedp.SendKeys(chromedp.CSS("#new_password"), "meadow-copper-violin"), chromedp.SendKeys(chromedp.CSS("#confirm_password"), "meadow-copper-violin"),
			chromedp.Click(chromedp.CSS(`form[action^="/password-reset/"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("#username")))
		if got := b.text(".flash"); !strings.Contains(got, "Your password was changed") {
			t.Errorf("flash %q", got)
		}
		b.do(chromedp.SendKeys(chromedp.CSS("#username"), "olga@northwind.test"), chromedp.SendKeys(chromedp.CSS("#password"), "meadow-copper-violin"),
			chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".topbar")))
		if got := b.text(".topbar .me"); got != "Olga Ivanova" {
			t.Errorf("top bar %q", got)
		}
	})

	t.Run("AvatarInTopBar", func(t *testing.T) {
		f, base := newSite(t)
		b := newTab(t, alloc, f, base, "avatar")
		path := filepath.Join(t.TempDir(), "portrait.jpg")
		if err := os.WriteFile(path, testPicture(t, "jpeg", 600, 600), 0o644); err != nil {
			t.Fatal(err)
		}
		b.signIn("admin")
		if got := b.text(".topbar .avatar.initials"); got != "AP" {
			t.Errorf("initials %q", got)
		}
		b.open("/profile")
		b.do(chromedp.SetUploadFiles(chromedp.CSS("#p-avatar"), []string{path}),
			chromedp.Click(chromedp.CSS(`form[action="/profile/avatar"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(".topbar img.avatar")))
		b.waitFor(`document.querySelector(".topbar img.avatar").complete && document.querySelector(".topbar img.avatar").naturalWidth === 256`)
	})
}

// TestScreensCredentials saves the credential screens in both
// languages to $ROSTER_PANEL_SCREENS; skipped when unset.
func TestScreensCredentials(t *testing.T) {
	dir := os.Getenv("ROSTER_PANEL_SCREENS")
	if dir == "" {
		t.Skip("set ROSTER_PANEL_SCREENS=dir to save screenshots of every screen")
	}
	alloc := newAllocator(t)
	f, base := newSite(t)
	avatar := filepath.Join(t.TempDir(), "portrait.png")
	if err := os.WriteFile(avatar, testPicture(t, "png", 300, 300), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"en", "ru"} {
		var b *tab
		// Each part gets its own tab (a tab's deadline is 30 s), in lang.
		part := func(name string) {
			b = newTab(t, alloc, f, base, "cred-screens-"+lang+"-"+name)
			if lang == "ru" {
				b.open("/signin")
				b.do(chromedp.Click(chromedp.CSS(`.lang button[value=ru]`)), chromedp.WaitVisible(chromedp.CSS(`.lang button[value=ru][aria-pressed=true]`)))
			}
		}
		part("anonymous")
		shot := func(name string) {
			b.screenshot(filepath.Join(dir, fmt.Sprintf("%s-c%s.png", lang, name)))
		}
		signOut := func() {
			b.do(chromedp.Click(chromedp.CSS(`form[action="/signout"] button`)), chromedp.WaitVisible(chromedp.CSS("#username")))
		}
		b.open("/password/forgot")
		shot("01-forgot")
		b.do(chromedp.SendKeys(chromedp.CSS("#f-email"), "ivan@northwind.test"), chromedp.Click(chromedp.CSS(`form[action="/password/forgot"] button`)), chromedp.WaitVisible(chromedp.CSS("#forgot-sent")))
		shot("02-forgot-sent")
		b.open(f.lastLink("ivan@northwind.test", "/password-reset/"))
		b.do(chromedp.SendKeys(chromedp.CSS("#new_password"), "ivan"), chromedp.SendKeys(chromedp.CSS("#confirm_password"), "ivan"), chromedp.Click(chromedp.CSS(`form[action^="/password-reset/"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".field-error")))
		shot("03-reset-errors")
		b.open("/password-reset/" + strings.Repeat("Z", 43))
		shot("04-reset-invalid")
		b.open("/register/" + strings.Repeat("Z", 43))
		shot("05-register-unknown")
		token, hash := secure.NewToken()
		inv := &roster.User{CompanyID: f.reseller.ID, AuthMethod: roster.AuthEmail, Email: lang + "-new@northwind.test"}
		if err := f.store.CreateUser(t.Context(), inv, []int64{f.roles[roster.RoleEmployee].ID}, hash, f.clock.Now().Add(8*time.Hour)); err != nil {
			t.Fatal(err)
		}
		b.open("/register/" + token)
		b.do(chromedp.SendKeys(chromedp.CSS("#r-first"), "Nina"), chromedp.SendKeys(chromedp.CSS("#r-last"), "Kaur"), chromedp.SendKeys(chromedp.CSS("#r-password"), "kaur"), chromedp.SendKeys(chromedp.CSS("#r-confirm"), "kaur"),
			chromedp.Click(chromedp.CSS(`form[action^="/register/"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".field-error")))
		shot("06-register-errors")

		part("admin")
		b.signIn("admin")
		b.open("/users/{dispatcher}")
		b.do(chromedp.Click(chromedp.CSS("#access-section summary")))
		b.do(chromedp.SendKeys(chromedp.CSS("#c-allow"), "203.0.113.7\nnot-an-ip\n10.0.0.0/33"), chromedp.SendKeys(chromedp.CSS("#c-idle"), "5"),
			chromedp.Click(chromedp.CSS(`form[action$="/access"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".field-error")))
		shot("07-user-access-errors")
		b.open("/settings/credentials")
		shot("08-settings")
		b.open("/profile")
		b.do(chromedp.SetUploadFiles(chromedp.CSS("#p-avatar"), []string{avatar}), chromedp.Click(chromedp.CSS(`form[action="/profile/avatar"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".topbar img.avatar")))
		shot("09-profile-avatar")
		b.open("/users")
		shot("10-users-2fa")
		b.open("/events")
		shot("11-events")
		signOut()

		who := map[string]string{"en": "olga", "ru": "boris"}[lang]
		part("security")
		b.signIn(who)
		b.open("/profile/security")
		b.do(chromedp.SendKeys(chromedp.CSS("#t-current"), testPassword), chromedp.Click(chromedp.CSS(`form[action="/profile/security/totp"] button`)), chromedp.WaitVisible(chromedp.CSS("#totp-secret")))
		shot("12-security-enrol")
		secret := b.text("#totp-secret")
		code, _ := totp.GenerateCode(secret, f.clock.Now())
		b.do(chromedp.SendKeys(chromedp.CSS("#totp-code"), code), chromedp.Click(chromedp.CSS(`form[action="/profile/security/totp/confirm"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("#recovery-codes")))
		shot("13-security-recovery")
		b.open("/profile/security")
		b.eval(`(function(){var d=document.getElementById('idle-warning');document.getElementById('idle-text').textContent=d.getAttribute('data-template').replace('%d','60');d.showModal();return ''})()`)
		shot("14-idle-warning")
		b.eval(`(function(){document.getElementById('idle-warning').close();return ''})()`)
		signOut()
		b.do(chromedp.SendKeys(chromedp.CSS("#username"), f.users[who].Email), chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
			chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("#code")))
		shot("15-signin-2fa")
		b.do(chromedp.SendKeys(chromedp.CSS("#code"), "000000"), chromedp.Click(chromedp.CSS(`form[action="/signin/2fa"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("#mfa-error")))
		shot("16-signin-2fa-wrong")

		part("lock")
		for range 10 {
			b.open("/signin")
			b.do(chromedp.SendKeys(chromedp.CSS("#username"), "dmitri@northwind.test"), chromedp.SendKeys(chromedp.CSS("#password"), "wrong-password-1"),
				chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".form-error")))
			f.clock.Advance(20 * time.Second)
		}
		shot("17-signin-locked")
		if _, err := f.store.UnlockUser(t.Context(), roster.Scope{All: true}, f.users["dispatcher"].ID); err != nil {
			t.Fatal(err)
		}
		b.signIn("main")
		b.open("/outbox")
		shot("18-outbox")
		signOut()
	}
}
