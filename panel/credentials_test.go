package panel

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/outbox"
	"github.com/roster-app/roster/secure"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// outboxLinks returns the links of the e-mails to addr, oldest first.
func (f *fixture) outboxLinks(addr string) []string {
	f.t.Helper()
	ctx := context.Background()
	if err := f.panel.keys(ctx); err != nil {
		f.t.Fatal(err)
	}
	jobs, err := f.store.Jobs(ctx, roster.JobFilter{Kind: outbox.Kind, Limit: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	var links []string
	for i := len(jobs) - 1; i >= 0; i-- {
		m, err := f.panel.creds.box.Decode(jobs[i].Payload)
		if err != nil {
			f.t.Fatal(err)
		}
		if m.To == addr {
			links = append(links, outbox.Links(m)...)
		}
	}
	return links
}

// lastLink returns the path of the newest e-mailed link to addr under prefix.
func (f *fixture) lastLink(addr, prefix string) string {
	f.t.Helper()
	links := f.outboxLinks(addr)
	for i := len(links) - 1; i >= 0; i-- {
		if u, err := url.Parse(links[i]); err == nil && strings.HasPrefix(u.Path, prefix) {
			return u.Path
		}
	}
	f.t.Fatalf("no %s link e-mailed to %s among %v", prefix, addr, links)
	return ""
}

var secretRE = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)

// enrolTOTP turns TOTP on for a signed-in client and returns the secret
// and the recovery codes.
func enrolTOTP(t *testing.T, f *fixture, c *client) (string, []string) {
	t.Helper()
	// The current password is asked first, as in the API.
	if rec := c.post("/profile/security/totp", nil); rec.Code != 422 || !strings.Contains(rec.Body.String(), `id="t-current-err">The current password is wrong.`) ||
		secretRE.MatchString(rec.Body.String()) {
		t.Fatalf("enrol without the password: %d", rec.Code)
	}
	rec := c.post("/profile/security/totp", url.Values{"current_password": {testPassword}})
	m := secretRE.FindStringSubmatch(rec.Body.String())
	if rec.Code != 200 || m == nil || !strings.Contains(rec.Body.String(), `src="data:image/png;base64,`) {
		t.Fatalf("enrol: %d %.2000s", rec.Code, rec.Body.String())
	}
	if rec := c.post("/profile/security/totp/confirm", url.Values{"code": {"000000"}}); rec.Code != 422 || !strings.Contains(rec.Body.String(), "The code does not match") || !strings.Contains(rec.Body.String(), m[1]) {
		t.Fatalf("wrong confirm code: %d", rec.Code)
	}
	code, err := totp.GenerateCode(m[1], f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	rec = c.post("/profile/security/totp/confirm", url.Values{"code": {code}})
	b := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(b, "shown only once") {
		t.Fatalf("confirm: %d %.2000s", rec.Code, b)
	}
	codes := regexp.MustCompile(`<li>([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})</li>`).FindAllStringSubmatch(b, -1)
	if len(codes) != 10 {
		t.Fatalf("recovery codes: %d\n%.3000s", len(codes), b)
	}
	var out []string
	for _, c := range codes {
		out = append(out, c[1])
	}
	return m[1], out
}

func TestCredentialScreens(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		const get, post = http.MethodGet, http.MethodPost

		t.Run("ForgotAndReset", func(t *testing.T) {
			runScenario(t, f, []step{
				{name: "sign-in page links to forgot", method: get, path: "/signin", wantStatus: 200, want: []string{`href="/password/forgot"`, "Forgot password?"}},
				{name: "forgot page", method: get, path: "/password/forgot", wantStatus: 200, want: []string{`action="/password/forgot"`, `for="f-email"`}},
				{name: "known address", method: post, path: "/password/forgot", form: url.Values{"email": {"olga@northwind.test"}}, wantStatus: 200, want: []string{"If an account uses this e-mail address"}},
				{name: "unknown address, same answer", method: post, path: "/password/forgot", form: url.Values{"email": {"ghost@northwind.test"}}, wantStatus: 200, want: []string{"If an account uses this e-mail address"}},
				{name: "Russian answer", method: post, path: "/password/forgot", form: url.Values{"email": {"ghost@northwind.test"}}, header: map[string]string{"Accept-Language": "ru"}, wantStatus: 200, want: []string{"Если учётная запись с этой почтой существует"}},
				{name: "empty", method: post, path: "/password/forgot", form: url.Values{"email": {" "}}, wantStatus: 422, want: []string{"Enter your e-mail."}},
				{name: "unknown reset link", method: get, path: "/password-reset/" + strings.Repeat("A", 43), wantStatus: 404, want: []string{"This reset link does not work", `href="/password/forgot"`}},
				{name: "garbage reset link", method: get, path: "/password-reset/x", wantStatus: 404, want: []string{"This reset link does not work"}},
				{name: "Russian problem page", method: get, path: "/password-reset/x", header: map[string]string{"Accept-Language": "ru"}, wantStatus: 404, want: []string{"Ссылка для сброса не работает"}},
			})
			if links := f.outboxLinks("ghost@northwind.test"); len(links) != 0 {
				t.Fatalf("mail to an unknown address: %v", links)
			}
			link := f.lastLink("olga@northwind.test", "/password-reset/")
			old := f.signedIn("olga")
			c := f.client()
			if rec := c.get(link); rec.Code != 200 || !strings.Contains(rec.Body.String(), "olga@northwind.test") {
				t.Fatalf("reset page: %d", rec.Code)
			}
			if rec := c.post(link, url.Values{"new_password": {"short"}, "confirm_password": {"short"}}); rec.Code != 422 || !strings.Contains(rec.Body.String(), "field-error") {
				t.Fatalf("weak: %d", rec.Code)
			}
			if rec := c.post(link, url.Values{"new_password": {"meadow-copper-violin"}, "confirm_password": {"meadow-copper-violon"}}); rec.Code != 422 || !strings.Contains(rec.Body.String(), "The passwords do not match.") {
				t.Fatalf("mismatch: %d", rec.Code)
			}
			if rec := c.post(link, url.Values{"new_password": {"meadow-copper-violin"}, "confirm_password": {"meadow-copper-violin"}}); rec.Code != 303 || rec.Header().Get("Location") != "/signin" {
				t.Fatalf("reset: %d", rec.Code)
			}
			if rec := c.get("/signin"); !strings.Contains(rec.Body.String(), "Your password was changed") {
				t.Fatal("no flash after reset")
			}
			if rec := c.get(link); rec.Code != 404 {
				t.Fatalf("used link: %d", rec.Code)
			}
			if rec := old.get("/users"); rec.Code != 303 {
				t.Fatalf("old session survived the reset: %d", rec.Code)
			}
			if rec := c.post("/signin", url.Values{"username": {"olga@northwind.test"}, "password": {"meadow-copper-violin"}}); rec.Code != 303 {
				t.Fatalf("sign in with the new password: %d", rec.Code)
			}
			// An expired link.
			f.client().post("/password/forgot", url.Values{"email": {"boris@northwind.test"}})
			link = f.lastLink("boris@northwind.test", "/password-reset/")
			f.clock.Advance(61 * time.Minute)
			if rec := f.client().get(link); rec.Code != 404 || !strings.Contains(rec.Body.String(), "Ask for a new one") {
				t.Fatalf("expired link: %d", rec.Code)
			}
		})

		t.Run("Registration", func(t *testing.T) {
			admin := f.signedIn("admin")
			ctx := context.Background()
			u := &roster.User{CompanyID: f.reseller.ID, AuthMethod: roster.AuthEmail, Email: "nina@northwind.test"}
			token, hash := secure.NewToken()
			if err := f.store.CreateUser(ctx, u, []int64{f.roles[roster.RoleEmployee].ID}, hash, f.clock.Now().Add(8*time.Hour)); err != nil {
				t.Fatal(err)
			}
			link := "/register/" + token
			runScenario(t, f, []step{
				{name: "form", method: get, path: link, wantStatus: 200, want: []string{"nina@northwind.test", `name="first_name"`, `name="password"`, "At least 12 characters", "You were invited to Northwind Dispatch in Roster as nina@northwind.test."}},
				{name: "Russian form", method: get, path: link, header: map[string]string{"Accept-Language": "ru"}, wantStatus: 200, want: []string{"Создание учётной записи", "Вас пригласили в компанию «Northwind Dispatch»"}},
				{name: "errors beside fields", method: post, path: link, form: url.Values{"first_name": {""}, "last_name": {"Kaur"}, "password": {"nina"}, "confirm_password": {"nina"}}, wantStatus: 422, want: []string{"Enter a first name.", `value="Kaur"`, "invited to Northwind Dispatch"}},
				{name: "unknown link", method: get, path: "/register/" + strings.Repeat("B", 43), wantStatus: 404, want: []string{"This invitation link does not work", "If you have registered, sign in"}},
			})
			c := f.client()
			rec := c.post(link, url.Values{"first_name": {"Nina"}, "last_name": {"Kaur"}, "password": {"harbor-lantern-velvet"}, "confirm_password": {"harbor-lantern-velvet"}})
			if rec.Code != 303 || rec.Header().Get("Location") != "/users" || c.cookies[sessionCookie] == "" {
				t.Fatalf("register: %d %s", rec.Code, rec.Body.String())
			}
			if rec := c.get("/profile"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "Nina") {
				t.Fatalf("signed in after registration: %d", rec.Code)
			}
			if rec := f.client().get(link); rec.Code != 404 {
				t.Fatalf("used invitation: %d", rec.Code)
			}
			// An expired invitation.
			v := &roster.User{CompanyID: f.reseller.ID, AuthMethod: roster.AuthEmail, Email: "late@northwind.test"}
			token, hash = secure.NewToken()
			if err := f.store.CreateUser(ctx, v, []int64{f.roles[roster.RoleEmployee].ID}, hash, f.clock.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(2 * time.Hour)
			if rec := f.client().get("/register/" + token); rec.Code != 410 || !strings.Contains(rec.Body.String(), "This invitation has expired") {
				t.Fatalf("expired invitation: %d", rec.Code)
			}
			_ = admin
		})

		t.Run("TOTPSignIn", func(t *testing.T) {
			c := f.signedIn("boris")
			secret, recovery := enrolTOTP(t, f, c)
			if rec := c.get("/profile/security"); !strings.Contains(rec.Body.String(), `id="mfa-state">Authenticator app`) {
				t.Fatalf("state after enrol: %.2000s", rec.Body.String())
			}
			// Sign in: the password leads to the second step, which is no session.
			b := f.client()
			planted := "planted-" + strings.Repeat("x", 35)
			b.cookies[sessionCookie] = planted
			rec := b.post("/signin", url.Values{"username": {"boris@northwind.test"}, "password": {testPassword}, "next": {"/profile"}})
			if rec.Code != 303 || rec.Header().Get("Location") != "/signin/2fa?next=%2Fprofile" {
				t.Fatalf("password step: %d %s", rec.Code, rec.Header().Get("Location"))
			}
			if b.cookies[sessionCookie] != "" || b.cookies[mfaCookie] == "" {
				t.Fatalf("cookies after the password: %v", b.cookies)
			}
			if rec := b.get("/users"); rec.Code != 303 || !strings.HasPrefix(rec.Header().Get("Location"), "/signin") {
				t.Fatalf("the pending step opened a page: %d", rec.Code)
			}
			if rec := b.get("/signin/2fa"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "authenticator app") {
				t.Fatalf("second step page: %d", rec.Code)
			}
			form := csrfToken(b.cookies[mfaCookie])
			if rec := b.post("/signin/2fa", url.Values{"form": {"forged"}, "code": {"123456"}}); rec.Code != 403 {
				t.Fatalf("forged form: %d", rec.Code)
			}
			if rec := b.post("/signin/2fa", url.Values{"form": {form}, "code": {"000000"}}); rec.Code != 401 || !strings.Contains(rec.Body.String(), "tries left") {
				t.Fatalf("wrong code: %d %.1000s", rec.Code, rec.Body.String())
			}
			f.clock.Advance(30 * time.Second) // the enrolment's step is used
			code, _ := totp.GenerateCode(secret, f.clock.Now())
			rec = b.post("/signin/2fa", url.Values{"form": {form}, "code": {code}, "next": {"/profile"}})
			if rec.Code != 303 || rec.Header().Get("Location") != "/profile" {
				t.Fatalf("code: %d %.1000s", rec.Code, rec.Body.String())
			}
			session := b.cookies[sessionCookie]
			if session == "" || session == planted || b.cookies[mfaCookie] != "" {
				t.Fatalf("session fixation: %v", b.cookies)
			}
			if rec := b.get("/profile"); rec.Code != 200 {
				t.Fatalf("signed in: %d", rec.Code)
			}
			// Replay of the same code in another attempt is refused.
			d := f.client()
			d.post("/signin", url.Values{"username": {"boris@northwind.test"}, "password": {testPassword}})
			if rec := d.post("/signin/2fa", url.Values{"form": {csrfToken(d.cookies[mfaCookie])}, "code": {code}}); rec.Code != 401 {
				t.Fatalf("replayed code: %d", rec.Code)
			}
			// A recovery code works once.
			if rec := d.post("/signin/2fa", url.Values{"form": {csrfToken(d.cookies[mfaCookie])}, "code": {recovery[0]}}); rec.Code != 303 {
				t.Fatalf("recovery code: %d %.800s", rec.Code, rec.Body.String())
			}
			e := f.client()
			e.post("/signin", url.Values{"username": {"boris@northwind.test"}, "password": {testPassword}})
			if rec := e.post("/signin/2fa", url.Values{"form": {csrfToken(e.cookies[mfaCookie])}, "code": {recovery[0]}}); rec.Code != 401 {
				t.Fatalf("recovery code reused: %d", rec.Code)
			}
			// Sessions list and ending one.
			rec = b.get("/profile/security")
			if !strings.Contains(rec.Body.String(), "this one") || strings.Count(rec.Body.String(), "/profile/security/sessions/") < 2 {
				t.Fatalf("sessions: %.3000s", rec.Body.String())
			}
			// The admin resets Boris to e-mail codes: his sessions end and he is told.
			a := f.signedIn("admin")
			if rec := a.get(f.expand("/users/{boris}")); !strings.Contains(rec.Body.String(), "/2fa/reset-to-email") {
				t.Fatal("no 2FA actions on the card")
			}
			if rec := a.post(f.expand("/users/{boris}/2fa/reset-to-email"), nil); rec.Code != 303 {
				t.Fatalf("reset 2FA: %d", rec.Code)
			}
			if rec := b.get("/profile"); rec.Code != 303 {
				t.Fatalf("session survived a 2FA reset: %d", rec.Code)
			}
			if links := f.outboxLinks("boris@northwind.test"); len(links) == 0 {
				t.Fatal("no notice e-mailed")
			}
			// Now an e-mailed code: read it from the outbox.
			g := f.client()
			g.post("/signin", url.Values{"username": {"boris@northwind.test"}, "password": {testPassword}})
			if rec := g.get("/signin/2fa"); !strings.Contains(rec.Body.String(), "We e-mailed you a 6-digit code") {
				t.Fatalf("e-mail step: %.1000s", rec.Body.String())
			}
			if rec := g.post("/signin/2fa/resend", url.Values{"form": {csrfToken(g.cookies[mfaCookie])}}); rec.Code != 429 || rec.Header().Get("Retry-After") == "" {
				t.Fatalf("early resend: %d", rec.Code)
			}
		})

		t.Run("UserCardCredentials", func(t *testing.T) {
			runScenario(t, f, []step{
				{name: "2FA column chosen", as: "admin", method: post, path: "/users/columns", form: url.Values{"col": {"mfa"}}, wantStatus: 303},
				{name: "2FA column", as: "admin", method: get, path: "/users", wantStatus: 200, want: []string{`<th scope="col">2FA</th>`, "Off"}},
				{name: "card shows access", as: "admin", method: get, path: "/users/{ivan}", wantStatus: 200, want: []string{"Any address", "Company default", `action="/users/{ivan}/access"`, `action="/users/{ivan}/reset-link"`, `action="/users/{ivan}/sessions/end"`}},
				{name: "bad entries each named", as: "admin", method: post, path: "/users/{ivan}/access", form: url.Values{"ip_allowlist": {"203.0.113.7\nnot-an-ip\n10.0.0.0/33"}, "idle_timeout": {"5"}}, wantStatus: 422,
					want: []string{"“not-an-ip” is not an IP address", "“10.0.0.0/33” is not an IP address", "The idle timeout is 60 to 43200 seconds", "not-an-ip\n10.0.0.0/33"}},
				{name: "Russian entry errors", as: "admin", method: post, path: "/users/{ivan}/access", form: url.Values{"ip_allowlist": {"nope"}}, header: map[string]string{"Accept-Language": "ru"}, wantStatus: 422, want: []string{"«nope» — не IP-адрес"}},
				{name: "save access", as: "admin", method: post, path: "/users/{ivan}/access", form: url.Values{"ip_allowlist": {"198.51.100.0/24\n2001:db8::1"}, "idle_timeout": {"900"}}, wantStatus: 303, wantLocation: "/users/{ivan}"},
				{name: "saved", as: "admin", method: get, path: "/users/{ivan}", wantStatus: 200, want: []string{"Access settings saved.", "198.51.100.0/24, 2001:db8::1", "900 s"}},
				{name: "reset link", as: "admin", method: post, path: "/users/{ivan}/reset-link", wantStatus: 303},
				{name: "reset link flash", as: "admin", method: get, path: "/users/{ivan}", wantStatus: 200, want: []string{"A password-reset link was e-mailed"}},
				{name: "end sessions", as: "admin", method: post, path: "/users/{dispatcher}/sessions/end", wantStatus: 303},
				{name: "not on oneself", as: "admin", method: post, path: "/users/{admin}/sessions/end", wantStatus: 403},
				{name: "dispatcher sees no actions", as: "dispatcher", method: get, path: "/users/{olga}", wantStatus: 200, notWant: []string{"/access", "/reset-link", "/sessions/end", "/2fa/"}},
				{name: "dispatcher refused: access", as: "dispatcher", method: post, path: "/users/{olga}/access", form: url.Values{"ip_allowlist": {""}}, wantStatus: 403},
				{name: "dispatcher refused: unlock", as: "dispatcher", method: post, path: "/users/{olga}/unlock", wantStatus: 403},
				{name: "dispatcher refused: 2FA", as: "dispatcher", method: post, path: "/users/{olga}/2fa/disable", wantStatus: 403},
				{name: "dispatcher refused: sessions", as: "dispatcher", method: post, path: "/users/{olga}/sessions/end", wantStatus: 403},
				{name: "other company's user not found", as: "admin", method: post, path: "/users/{main}/unlock", wantStatus: 404},
			})
			// The allowlist holds at sign-in: Ivan's address is not in it, and
			// it is refused before the password with the answer of a wrong one.
			c := f.client()
			if rec := c.post("/signin", url.Values{"username": {"ivan@northwind.test"}, "password": {testPassword}}); rec.Code != 401 || !strings.Contains(rec.Body.String(), "The e-mail or password is wrong") {
				t.Fatalf("allowlist at sign-in: %d", rec.Code)
			}
		})

		t.Run("LockAndUnlock", func(t *testing.T) {
			c := f.client()
			var last *httptest.ResponseRecorder
			for range 10 {
				last = c.post("/signin", url.Values{"username": {"dmitri@northwind.test"}, "password": {"wrong-wrong-wrong"}})
				f.clock.Advance(20 * time.Second)
			}
			rec := c.post("/signin", url.Values{"username": {"dmitri@northwind.test"}, "password": {testPassword}})
			if rec.Code != 429 || !strings.Contains(rec.Body.String(), "from your network address") || rec.Header().Get("Retry-After") == "" ||
				!strings.Contains(rec.Body.String(), `href="/unlock?email=dmitri%40northwind.test"`) {
				t.Fatalf("locked: %d %.600s (last %d)", rec.Code, rec.Body.String(), last.Code)
			}
			runScenario(t, f, []step{
				{name: "card shows the failures", as: "admin", method: get, path: "/users/{dispatcher}", wantStatus: 200, want: []string{"10 failed sign-ins in a row", `action="/users/{dispatcher}/unlock"`}},
				{name: "unlock", as: "admin", method: post, path: "/users/{dispatcher}/unlock", wantStatus: 303},
				{name: "unlocked", as: "admin", method: get, path: "/users/{dispatcher}", wantStatus: 200, want: []string{"User unlocked."}, notWant: []string{`action="/users/{dispatcher}/unlock"`}},
			})
			if rec := c.post("/signin", url.Values{"username": {"dmitri@northwind.test"}, "password": {testPassword}}); rec.Code != 303 {
				t.Fatalf("after unlock: %d", rec.Code)
			}
		})

		t.Run("SettingsAndOutbox", func(t *testing.T) {
			runScenario(t, f, []step{
				{name: "settings page", as: "admin", method: get, path: "/settings/credentials", wantStatus: 200, want: []string{`name="password_min_length"`, `value="12"`, `value="8"`}},
				{name: "out of range", as: "admin", method: post, path: "/settings/credentials", form: url.Values{"invitation_ttl_hours": {"8"}, "password_min_length": {"7"}, "idle_timeout_seconds": {"1800"}}, wantStatus: 422, want: []string{"field-error", `value="7"`}},
				{name: "save", as: "admin", method: post, path: "/settings/credentials", form: url.Values{"invitation_ttl_hours": {"24"}, "password_min_length": {"14"}, "idle_timeout_seconds": {"1200"}}, wantStatus: 303},
				{name: "saved", as: "admin", method: get, path: "/settings/credentials", wantStatus: 200, want: []string{"Settings saved.", `value="14"`, `value="24"`}},
				{name: "dispatcher refused settings", as: "dispatcher", method: get, path: "/settings/credentials", wantStatus: 403},
				{name: "outbox for the Main administrator", as: "main", method: get, path: "/outbox", wantStatus: 200, want: []string{"olga@northwind.test", "/password-reset/", "Held (no SMTP)"}},
				{name: "outbox in Russian", as: "main", method: get, path: "/outbox?state=held", header: map[string]string{"Accept-Language": "ru"}, wantStatus: 200, want: []string{"Исходящие письма"}},
				{name: "outbox refused to a company admin", as: "admin", method: get, path: "/outbox", wantStatus: 403},
				{name: "nav has no outbox for admin", as: "admin", method: get, path: "/users", wantStatus: 200, want: []string{`href="/settings/credentials"`}, notWant: []string{`href="/outbox"`}},
			})
		})
	})
}

// testPicture encodes a w×h picture in format ("png" or "jpeg").
func testPicture(t *testing.T, format string, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 160, 255})
		}
	}
	var buf bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// upload posts a file to /profile/avatar.
func (c *client) upload(name string, data []byte) *httptest.ResponseRecorder {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField(csrfField, csrfToken(c.cookies[sessionCookie]))
	fw, _ := mw.CreateFormFile("avatar", name)
	fw.Write(data)
	mw.Close()
	req := httptest.NewRequest(http.MethodPost, "/profile/avatar", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

func TestAvatarUpload(t *testing.T) {
	const get = http.MethodGet
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		c := f.signedIn("olga")
		if rec := c.get("/profile"); !strings.Contains(rec.Body.String(), `class="avatar initials"`) || !strings.Contains(rec.Body.String(), ">OI<") {
			t.Fatalf("initials fallback: %.2000s", rec.Body.String())
		}
		// Checked by content, not by name.
		if rec := c.upload("evil.png", []byte("<svg onload=alert(1)>")); rec.Code != 422 || !strings.Contains(rec.Body.String(), "A picture is a PNG or JPEG file.") {
			t.Fatalf("svg as png: %d", rec.Code)
		}
		gif := []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")
		if rec := c.upload("a.jpg", gif); rec.Code != 422 {
			t.Fatalf("gif: %d", rec.Code)
		}
		big := append(testPicture(t, "png", 10, 10), make([]byte, 3<<20)...)
		if rec := c.upload("big.png", big); rec.Code != 422 && rec.Code != 413 {
			t.Fatalf("too large: %d", rec.Code)
		} else if !strings.Contains(rec.Body.String(), "at most 3 MB") {
			t.Fatalf("too large message: %.500s", rec.Body.String())
		}
		// A large JPEG is scaled down and re-encoded.
		if rec := c.upload("me.txt", testPicture(t, "jpeg", 800, 400)); rec.Code != 303 {
			t.Fatalf("upload: %d %.800s", rec.Code, rec.Body.String())
		}
		rec := c.get("/profile")
		m := regexp.MustCompile(`src="(/avatars/\d+\?v=[0-9a-z]+)"`).FindStringSubmatch(rec.Body.String())
		if m == nil || !strings.Contains(rec.Body.String(), "Avatar saved.") {
			t.Fatalf("top bar avatar: %.2000s", rec.Body.String())
		}
		rec = c.get(m[1])
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/jpeg" || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
			t.Fatalf("serve: %d %v", rec.Code, rec.Header())
		}
		cfg, format, err := image.DecodeConfig(rec.Body)
		if err != nil || format != "jpeg" || cfg.Width != 256 || cfg.Height != 128 {
			t.Fatalf("stored %s %dx%d %v", format, cfg.Width, cfg.Height, err)
		}
		// Who may see it.
		runScenario(t, f, []step{
			{name: "admin sees it", as: "admin", method: get, path: "/avatars/{olga}", wantStatus: 200},
			{name: "another company does not", as: "hugo", method: get, path: "/avatars/{olga}", wantStatus: 404},
			{name: "an employee without users.view does not", as: "boris", method: get, path: "/avatars/{olga}", wantStatus: 404},
			{name: "anonymous is sent to sign in", method: get, path: "/avatars/{olga}", wantStatus: 303},
			{name: "no avatar", as: "admin", method: get, path: "/avatars/{boris}", wantStatus: 404},
		})
		// Removing it brings the initials back.
		if rec := c.post("/profile/avatar/delete", nil); rec.Code != 303 {
			t.Fatalf("delete: %d", rec.Code)
		}
		if rec := c.get("/profile"); strings.Contains(rec.Body.String(), "/avatars/") {
			t.Fatal("avatar still shown")
		}
	})
}

// TestPanelInvitationMailed: an invitation made in the panel is e-mailed,
// and its link registers the user; a resend kills the old link.
func TestPanelInvitationMailed(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		a := f.signedIn("admin")
		rec := a.post("/users", url.Values{"auth_method": {"email"}, "email": {"zoe@northwind.test"}, "role_ids": {f.expand("{role:employee}")}, "credentials": {"invitation"}})
		if rec.Code != 303 {
			t.Fatalf("invite: %d %.800s", rec.Code, rec.Body.String())
		}
		first := f.lastLink("zoe@northwind.test", "/register/")
		if rec := f.client().get(first); rec.Code != 200 {
			t.Fatalf("first link: %d", rec.Code)
		}
		u, err := s.UserByUsername(context.Background(), "zoe@northwind.test")
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
		if rec := a.post("/users/"+strconv.FormatInt(u.ID, 10)+"/invitation", nil); rec.Code != 303 {
			t.Fatalf("resend: %d", rec.Code)
		}
		second := f.lastLink("zoe@northwind.test", "/register/")
		if second == first {
			t.Fatal("resend sent the same link")
		}
		if rec := f.client().get(first); rec.Code != 404 {
			t.Fatalf("old link after resend: %d", rec.Code)
		}
		c := f.client()
		if rec := c.post(second, url.Values{"first_name": {"Zoe"}, "last_name": {"Lane"}, "password": {"orbit-willow-canvas"}, "confirm_password": {"orbit-willow-canvas"}}); rec.Code != 303 {
			t.Fatalf("register: %d %.800s", rec.Code, rec.Body.String())
		}
	})
}
