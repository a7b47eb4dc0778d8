package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/pquerna/otp/totp"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/jobs"
	"github.com/roster-app/roster/mail"
	"github.com/roster-app/roster/outbox"
	"github.com/roster-app/roster/web"
)

// credentialMatrixRows are the authorization matrix rows of issue 3.
func credentialMatrixRows() []matrixRow {
	onVictim := func(suffix string, body any) func(e *env) (string, any) {
		return func(e *env) (string, any) { return path("/api/v1/users/%d%s", e.victim().ID, suffix), body }
	}
	onAcme := func(format string, body any) func(e *env) (string, any) {
		return func(e *env) (string, any) { return path(format, e.acme.ID), body }
	}
	return []matrixRow{
		//                                                                                  anon root admin disp emp other reseller
		{"GET", "/api/v1/registration/{token}", fixed("/api/v1/registration/nope", nil), w{404, 404, 404, 404, 404, 404, 404}},
		{"POST", "/api/v1/registration/{token}", fixed("/api/v1/registration/nope", map[string]string{}), w{404, 404, 404, 404, 404, 404, 404}},
		{"POST", "/api/v1/auth/forgot-password", fixed("/api/v1/auth/forgot-password", map[string]string{"email": "nobody@example.com"}), w{202, 202, 202, 202, 202, 202, 202}},
		{"POST", "/api/v1/auth/password-reset", fixed("/api/v1/auth/password-reset", map[string]string{"token": "nope", "new_password": "x"}), w{404, 404, 404, 404, 404, 404, 404}},
		{"POST", "/api/v1/auth/unlock", fixed("/api/v1/auth/unlock", map[string]string{"username": "nobody@example.com"}), w{202, 202, 202, 202, 202, 202, 202}},
		{"POST", "/api/v1/auth/unlock/{token}", fixed("/api/v1/auth/unlock/nope", nil), w{404, 404, 404, 404, 404, 404, 404}},
		{"POST", "/api/v1/auth/mfa", fixed("/api/v1/auth/mfa", map[string]string{"mfa_token": "nope", "code": "1"}), w{401, 401, 401, 401, 401, 401, 401}},
		{"POST", "/api/v1/auth/mfa/resend", fixed("/api/v1/auth/mfa/resend", map[string]string{"mfa_token": "nope"}), w{401, 401, 401, 401, 401, 401, 401}},
		{"PUT", "/api/v1/me/2fa", fixed("/api/v1/me/2fa", map[string]string{"method": "none", "current_password": "wrong"}), w{401, 422, 422, 422, 422, 422, 422}},
		{"POST", "/api/v1/me/password", fixed("/api/v1/me/password", map[string]string{"current_password": testPassword, "new_password": "short"}), w{401, 422, 422, 422, 422, 422, 422}},
		{"POST", "/api/v1/me/2fa/totp", fixed("/api/v1/me/2fa/totp", map[string]string{"current_password": testPassword}), w{401, 200, 200, 200, 200, 200, 200}},
		// After the row above every persona has a pending secret, which "x" does not match.
		{"POST", "/api/v1/me/2fa/totp/confirm", fixed("/api/v1/me/2fa/totp/confirm", map[string]string{"code": "x"}), w{401, 422, 422, 422, 422, 422, 422}},
		{"POST", "/api/v1/me/2fa/recovery-codes", fixed("/api/v1/me/2fa/recovery-codes", map[string]string{"current_password": testPassword}), w{401, 409, 409, 409, 409, 409, 409}},
		{"GET", "/api/v1/me/sessions", fixed("/api/v1/me/sessions", nil), w{401, 200, 200, 200, 200, 200, 200}},
		{"DELETE", "/api/v1/me/sessions/{id}", fixed("/api/v1/me/sessions/999999", nil), w{401, 404, 404, 404, 404, 404, 404}},
		{"POST", "/api/v1/users/{id}/unlock", onVictim("/unlock", nil), w{401, 200, 200, 403, 403, 404, 200}},
		{"POST", "/api/v1/users/{id}/2fa/reset-to-email", func(e *env) (string, any) {
			return path("/api/v1/users/%d/2fa/reset-to-email", e.emailUser(roster.StatusActive).ID), nil
		}, w{401, 200, 200, 403, 403, 404, 200}},
		{"POST", "/api/v1/users/{id}/2fa/disable", onVictim("/2fa/disable", nil), w{401, 200, 200, 403, 403, 404, 200}},
		{"DELETE", "/api/v1/users/{id}/sessions", onVictim("/sessions", nil), w{401, 200, 200, 403, 403, 404, 200}},
		{"GET", "/api/v1/companies/{id}/settings", onAcme("/api/v1/companies/%d/settings", nil), w{401, 200, 200, 403, 403, 404, 200}},
		{"PATCH", "/api/v1/companies/{id}/settings", onAcme("/api/v1/companies/%d/settings", map[string]int{"password_min_length": 12}), w{401, 200, 200, 403, 403, 404, 200}},
		{"GET", "/api/v1/outbox", fixed("/api/v1/outbox", nil), w{401, 200, 403, 403, 403, 403, 403}},
	}
}

// emailUser creates a fresh e-mail-method Acme employee with testPassword.
func (e *env) emailUser(status roster.UserStatus) *roster.User {
	e.t.Helper()
	u := &roster.User{CompanyID: e.acme.ID, AuthMethod: roster.AuthEmail, Email: path("mail%d@acme.example", e.seq.Add(1)),
		FirstName: "Mila", LastName: "Post", Status: status, PasswordHash: e.hash(testPassword)}
	must(e.t, e.store.CreateUser(context.Background(), u, []int64{e.roles[roster.RoleEmployee]}, nil, time.Time{}))
	return u
}

// credKey is the master key of credEnv.
const credKey = "0123456789abcdef0123456789abcdef"

// credEnv rebuilds e's server with a fixed master key and base URL and
// returns a worker delivering e-mail through sender.
func credEnv(t *testing.T, e *env, sender mail.Sender) *jobs.Worker {
	t.Helper()
	key := []byte(credKey)
	e.server = web.NewServer(web.Deps{
		Companies: e.store, Users: e.store, Roles: e.store, Sessions: e.store, Events: e.store, Platform: e.store,
		Hasher: e.hasher, Clock: e.clock.Now, Logger: testLogger(t), SecretKey: key, BaseURL: "https://roster.example",
	})
	e.h = e.server.Handler()
	wk := jobs.New(e.store, jobs.Options{Clock: e.clock.Now, Logger: testLogger(t)})
	wk.Handle(outbox.Kind, outbox.New(key).Handler(sender))
	return wk
}

// deliver runs every due job.
func deliver(t *testing.T, wk *jobs.Worker) {
	t.Helper()
	if _, err := wk.RunOnce(context.Background(), 100); err != nil {
		t.Fatal(err)
	}
}

// doFrom sends a request from a given peer address with an optional
// X-Forwarded-For header.
func (e *env) doFrom(remote, xff, method, url, token string, body any) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		must(e.t, err)
		rd = strings.NewReader(string(b))
	}
	req := httptest.NewRequest(method, url, rd)
	req.RemoteAddr = remote
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.serve(req)
}

func loginBody(user, pw string) map[string]string {
	return map[string]string{"username": user, "password": pw}
}

// ---- a real SMTP server on loopback ----

type smtpBackend struct {
	mu   sync.Mutex
	msgs []string
}

func (b *smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{b: b}, nil }

func (b *smtpBackend) all() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.msgs...)
}

type smtpSession struct{ b *smtpBackend }

func (s *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, string(b))
	s.b.mu.Unlock()
	return nil
}
func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }

func startSMTP(t *testing.T) (url string, be *smtpBackend) {
	t.Helper()
	be = &smtpBackend{}
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return "smtp://" + l.Addr().String() + "?tls=none", be
}

var (
	registerRE = regexp.MustCompile(`/register/([A-Za-z0-9_-]{43})`)
	resetRE    = regexp.MustCompile(`/password-reset/([A-Za-z0-9_-]{43})`)
	codeRE     = regexp.MustCompile(`\b(\d{6})\b`)
)

// unfold undoes quoted-printable soft line breaks so links read whole.
func unfold(s string) string {
	return strings.NewReplacer("=\r\n", "", "=\n", "", "=3D", "=").Replace(s)
}

// TestInvitationEndToEnd: invite → e-mail on a real SMTP server → read the
// link → register → sign in; the link then is used; resend kills the old
// link; an expired link says so.
func TestInvitationEndToEnd(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		url, be := startSMTP(t)
		sender, err := mail.NewSMTP(url, "roster@example.com")
		must(t, err)
		wk := credEnv(t, e, sender)
		admin := e.token("admin")
		invite := func(email string) {
			t.Helper()
			e.expect("POST", "/api/v1/users", admin, map[string]any{"auth_method": "email", "email": email,
				"role_ids": []int64{e.roles[roster.RoleEmployee]}, "lang": "ru"}, 201)
		}
		lastToken := func() string {
			t.Helper()
			deliver(t, wk)
			msgs := be.all()
			if len(msgs) == 0 {
				t.Fatal("no e-mail received")
			}
			m := registerRE.FindStringSubmatch(unfold(msgs[len(msgs)-1]))
			if m == nil {
				t.Fatalf("no registration link in %s", msgs[len(msgs)-1])
			}
			return m[1]
		}
		invite("new.person@acme.example")
		token := lastToken()
		if !strings.Contains(be.all()[0], "https://roster.example/register/") {
			t.Errorf("the link does not use the base URL")
		}
		var info struct{ Email string }
		e.expect("GET", "/api/v1/registration/"+token, "", nil, 200).JSON(t, &info)
		if info.Email != "new.person@acme.example" {
			t.Fatalf("registration for %q", info.Email)
		}
		body := map[string]string{"password": "a long and private phrase", "first_name": "Nova", "last_name": "Person"}
		var res struct {
			Token string
			User  roster.User
		}
		e.expect("POST", "/api/v1/registration/"+token, "", body, 200).JSON(t, &res)
		if res.Token == "" || res.User.Status != roster.StatusActive || !res.User.NameSetBySelf || res.User.Lang != "ru" {
			t.Fatalf("after registration: %+v", res)
		}
		e.expect("GET", "/api/v1/me", res.Token, nil, 200)
		e.login("new.person@acme.example", "a long and private phrase")

		t.Run("ReusedLink", func(t *testing.T) {
			e.t = t
			r := e.expect("POST", "/api/v1/registration/"+token, "", body, 404)
			if !strings.Contains(string(r.Body), "already used") {
				t.Errorf("unclear answer: %s", r.Body)
			}
			e.expect("GET", "/api/v1/registration/"+token, "", nil, 404)
		})
		t.Run("ResendKillsOldLink", func(t *testing.T) {
			e.t = t
			invite("second@acme.example")
			old := lastToken()
			u, err := e.store.UserByUsername(context.Background(), "second@acme.example")
			must(t, err)
			e.expect("POST", path("/api/v1/users/%d/invitation", u.ID), admin, nil, 200)
			fresh := lastToken()
			if fresh == old {
				t.Fatal("resend reused the token")
			}
			e.expect("GET", "/api/v1/registration/"+old, "", nil, 404)
			e.expect("GET", "/api/v1/registration/"+fresh, "", nil, 200)
		})
		t.Run("ExpiredLink", func(t *testing.T) {
			e.t = t
			invite("third@acme.example")
			tok := lastToken()
			e.clock.Advance(8*time.Hour + time.Second)
			r := e.expect("GET", "/api/v1/registration/"+tok, "", nil, 410)
			if !strings.Contains(string(r.Body), "expired") {
				t.Errorf("unclear answer: %s", r.Body)
			}
			e.expect("POST", "/api/v1/registration/"+tok, "", body, 410)
		})
	})
}

// TestOutboxWithoutSMTP: without SMTP the message stays in the outbox,
// held and readable by the Main administrator, link included.
func TestOutboxWithoutSMTP(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		wk := credEnv(t, e, outbox.LogSender{Logger: testLogger(t)})
		e.expect("POST", "/api/v1/users", e.token("admin"), map[string]any{"auth_method": "email", "email": "kept@acme.example",
			"role_ids": []int64{e.roles[roster.RoleEmployee]}}, 201)
		deliver(t, wk)
		deliver(t, wk) // held: not retried
		var page struct {
			Items []struct {
				ID      int64
				State   string
				To      string
				Subject string
				Links   []string
				Sent    bool
			}
		}
		e.expect("GET", "/api/v1/outbox", e.token("root"), nil, 200).JSON(t, &page)
		if len(page.Items) != 1 {
			t.Fatalf("outbox: %+v", page)
		}
		it := page.Items[0]
		if it.State != roster.JobHeld || it.Sent || it.To != "kept@acme.example" || len(it.Links) == 0 || !strings.Contains(it.Links[0], "/register/") {
			t.Fatalf("outbox item: %+v", it)
		}
		e.expect("GET", "/api/v1/outbox", e.token("admin"), nil, 403)
	})
}

// TestForgotPassword: a known and an unknown address get the same answer;
// only the known one gets a link, which works once and ends sessions.
func TestForgotPassword(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		rec := &mail.Recorder{}
		wk := credEnv(t, e, rec)
		u := e.emailUser(roster.StatusActive)
		before := e.login(u.Email, testPassword)
		known := e.do("POST", "/api/v1/auth/forgot-password", "", map[string]string{"email": strings.ToUpper(u.Email)})
		unknown := e.do("POST", "/api/v1/auth/forgot-password", "", map[string]string{"email": "ghost@acme.example"})
		if known.Status != 202 || unknown.Status != 202 || string(known.Body) != string(unknown.Body) {
			t.Fatalf("answers differ: %d %s / %d %s", known.Status, known.Body, unknown.Status, unknown.Body)
		}
		deliver(t, wk)
		msgs := rec.Messages()
		if len(msgs) != 1 || msgs[0].To != u.Email {
			t.Fatalf("messages: %+v", msgs)
		}
		m := resetRE.FindStringSubmatch(msgs[0].Text)
		if m == nil {
			t.Fatalf("no reset link in %s", msgs[0].Text)
		}
		e.expect("POST", "/api/v1/auth/password-reset", "", map[string]string{"token": m[1], "new_password": "short"}, 422)
		e.expect("POST", "/api/v1/auth/password-reset", "", map[string]string{"token": m[1], "new_password": "another private phrase"}, 200)
		e.expect("POST", "/api/v1/auth/password-reset", "", map[string]string{"token": m[1], "new_password": "yet another private phrase"}, 404)
		e.expect("GET", "/api/v1/me", before, nil, 401) // sessions ended
		e.expect("POST", "/api/v1/auth/login", "", loginBody(u.Email, testPassword), 401)
		e.login(u.Email, "another private phrase")

		t.Run("LinkExpires", func(t *testing.T) {
			e.t = t
			e.expect("POST", "/api/v1/auth/forgot-password", "", map[string]string{"email": u.Email}, 202)
			deliver(t, wk)
			m := resetRE.FindStringSubmatch(rec.Messages()[len(rec.Messages())-1].Text)
			e.clock.Advance(time.Hour + time.Second)
			e.expect("POST", "/api/v1/auth/password-reset", "", map[string]string{"token": m[1], "new_password": "a third private phrase"}, 404)
		})
		t.Run("AdminTriggered", func(t *testing.T) {
			e.t = t
			e.expect("POST", path("/api/v1/users/%d/password-reset", u.ID), e.token("admin"), nil, 202)
			deliver(t, wk)
			if last := rec.Messages()[len(rec.Messages())-1]; !resetRE.MatchString(last.Text) || last.To != u.Email {
				t.Fatalf("no reset e-mail: %+v", last)
			}
		})
	})
}

// mfaAnswer is a login answer asking for a second factor.
type mfaAnswer struct {
	MFARequired bool   `json:"mfa_required"`
	MFAToken    string `json:"mfa_token"`
	Method      string `json:"method"`
	Token       string `json:"token"`
}

// TestTOTP: enrol → sign in with a code → the same code again is refused;
// recovery codes work once; the pre-auth token is not a session; an admin
// password reset still asks for the second factor.
func TestTOTP(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		credEnv(t, e, &mail.Recorder{})
		tok := e.login("emp", testPassword)
		var start struct {
			Secret     string `json:"secret"`
			OTPAuthURL string `json:"otpauth_url"`
			QRPNG      string `json:"qr_png"`
		}
		e.expect("POST", "/api/v1/me/2fa/totp", tok, map[string]string{"current_password": "wrong"}, 422)
		e.expect("POST", "/api/v1/me/2fa/totp", tok, map[string]string{"current_password": testPassword}, 200).JSON(t, &start)
		if start.Secret == "" || !strings.HasPrefix(start.OTPAuthURL, "otpauth://totp/") || start.QRPNG == "" {
			t.Fatalf("enrolment: %+v", start)
		}
		code := func() string {
			c, err := totp.GenerateCode(start.Secret, e.now())
			must(t, err)
			return c
		}
		e.expect("POST", "/api/v1/me/2fa/totp/confirm", tok, map[string]string{"code": "000000x"}, 422)
		var conf struct {
			RecoveryCodes []string `json:"recovery_codes"`
		}
		e.expect("POST", "/api/v1/me/2fa/totp/confirm", tok, map[string]string{"code": code()}, 200).JSON(t, &conf)
		if len(conf.RecoveryCodes) != 10 {
			t.Fatalf("recovery codes: %v", conf.RecoveryCodes)
		}
		var me struct{ User roster.User }
		e.expect("GET", "/api/v1/me", tok, nil, 200).JSON(t, &me)
		if me.User.MFAMethod != roster.MFATOTP {
			t.Fatalf("mfa_method %q", me.User.MFAMethod)
		}
		step := func() mfaAnswer {
			t.Helper()
			var a mfaAnswer
			e.expect("POST", "/api/v1/auth/login", "", loginBody("emp", testPassword), 200).JSON(t, &a)
			if !a.MFARequired || a.Method != roster.MFATOTP || a.MFAToken == "" || a.Token != "" {
				t.Fatalf("login did not ask for TOTP: %+v", a)
			}
			return a
		}
		a := step()
		e.expect("GET", "/api/v1/me", a.MFAToken, nil, 401) // not a session
		e.clock.Advance(30 * time.Second)
		c := code()
		var done mfaAnswer
		e.expect("POST", "/api/v1/auth/mfa", "", map[string]string{"mfa_token": a.MFAToken, "code": c}, 200).JSON(t, &done)
		e.expect("GET", "/api/v1/me", done.Token, nil, 200)
		e.expect("POST", "/api/v1/auth/mfa", "", map[string]string{"mfa_token": a.MFAToken, "code": c}, 401) // attempt finished
		b := step()
		e.expect("POST", "/api/v1/auth/mfa", "", map[string]string{"mfa_token": b.MFAToken, "code": c}, 401) // replay refused

		t.Run("RecoveryCodeOnce", func(t *testing.T) {
			e.t = t
			a := step()
			e.expect("POST", "/api/v1/auth/mfa", "", map[string]string{"mfa_token": a.MFAToken, "code": strings.ToUpper(conf.RecoveryCodes[0])}, 200)
			a = step()
			e.expect("POST", "/api/v1/auth/mfa", "", map[string]string{"mfa_token": a.MFAToken, "code": conf.RecoveryCodes[0]}, 401)
		})
		t.Run("NewRecoveryCodes", func(t *testing.T) {
			e.t = t
			tok := e.token("emp")
			var fresh struct {
				RecoveryCodes []string `json:"recovery_codes"`
			}
			e.expect("POST", "/api/v1/me/2fa/recovery-codes", tok, map[string]string{"current_password": testPassword}, 200).JSON(t, &fresh)
			if len(fresh.RecoveryCodes) != 10 {
				t.Fatalf("codes %v", fresh.RecoveryCodes)
			}
			a := step()
			e.expect("POST", "/api/v1/auth/mfa", "", map[string]string{"mfa_token": a.MFAToken, "code": conf.RecoveryCodes[1]}, 401) // old codes died
			e.expect("POST", "/api/v1/auth/mfa", "", map[string]string{"mfa_token": a.MFAToken, "code": fresh.RecoveryCodes[1]}, 200)
		})
		t.Run("ResetDoesNotBypass", func(t *testing.T) {
			e.t = t
			var tmp struct {
				TemporaryPassword string `json:"temporary_password"`
			}
			e.expect("POST", path("/api/v1/users/%d/password-reset", e.users["emp"].ID), e.token("admin"), nil, 200).JSON(t, &tmp)
			var a mfaAnswer
			e.expect("POST", "/api/v1/auth/login", "", loginBody("emp", tmp.TemporaryPassword), 200).JSON(t, &a)
			if !a.MFARequired {
				t.Fatalf("a reset skipped the second factor: %+v", a)
			}
		})
		t.Run("AdminDisable", func(t *testing.T) {
			e.t = t
			var u roster.User
			e.expect("POST", path("/api/v1/users/%d/2fa/disable", e.users["emp"].ID), e.token("admin"), nil, 200).JSON(t, &u)
			if u.MFAMethod != roster.MFANone {
				t.Fatalf("mfa_method %q", u.MFAMethod)
			}
		})
	})
}

// TestEmailCode: e-mail codes expire after 10 minutes, allow 5 tries, and
// are bound to their sign-in attempt.
func TestEmailCode(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		rec := &mail.Recorder{}
		wk := credEnv(t, e, rec)
		u := e.emailUser(roster.StatusActive)
		e.expect("POST", path("/api/v1/users/%d/2fa/reset-to-email", u.ID), e.token("admin"), nil, 200)
		deliver(t, wk)
		if last, ok := rec.Last(u.Email); !ok || !strings.Contains(strings.ToLower(last.Subject+last.Text), "two-factor") {
			t.Errorf("no notice of the 2FA reset: %+v", last)
		}
		start := func() (mfaAnswer, string) {
			t.Helper()
			var a mfaAnswer
			e.expect("POST", "/api/v1/auth/login", "", loginBody(u.Email, testPassword), 200).JSON(t, &a)
			if !a.MFARequired || a.Method != roster.MFAEmail {
				t.Fatalf("no e-mail step: %+v", a)
			}
			deliver(t, wk)
			last, _ := rec.Last(u.Email)
			m := codeRE.FindStringSubmatch(last.Text)
			if m == nil {
				t.Fatalf("no code in %s", last.Text)
			}
			return a, m[1]
		}
		wrong := func(code string) string {
			if code == "000000" {
				return "000001"
			}
			return "000000"
		}
		a, code := start()
		for i := 1; i <= 4; i++ {
			r := e.expect("POST", "/api/v1/auth/mfa", "", map[string]string{"mfa_token": a.MFAToken, "code": wrong(code)}, 401)
			if !strings.Contains(string(r.Body), strconv.Itoa(5-i)+" tries left") {
				t.Errorf("try %d: %s", i, r.Body)
			}
		}
		e.expect("POST", "/api/v1/auth/mfa", "", map[string]string{"mfa_token": a.MFAToken, "code": wrong(code)}, 401)
		e.expect("POST", "/api/v1/auth/mfa", "", map[string]string{"mfa_token": a.MFAToken, "code": code}, 401) // try limit
		e.clock.Advance(time.Hour)                                                                              // past the delay of 5 failures

		b, codeB := start()
		if codeB != code {
			e.expect("POST", "/api/v1/auth/mfa", "", map[string]string{"mfa_token": b.MFAToken, "code": code}, 401) // not this attempt's
		}
		e.clock.Advance(10*time.Minute + time.Second)
		e.expect("POST", "/api/v1/auth/mfa", "", map[string]string{"mfa_token": b.MFAToken, "code": codeB}, 401) // expired
		e.clock.Advance(time.Hour)

		c, codeC := start()
		// A new code replaces the old one, no sooner than 30 s after it.
		e.expect("POST", "/api/v1/auth/mfa/resend", "", map[string]string{"mfa_token": c.MFAToken}, 429)
		e.clock.Advance(30 * time.Second)
		e.expect("POST", "/api/v1/auth/mfa/resend", "", map[string]string{"mfa_token": c.MFAToken}, 202)
		deliver(t, wk)
		last, _ := rec.Last(u.Email)
		codeD := codeRE.FindStringSubmatch(last.Text)[1]
		if codeD != codeC {
			e.expect("POST", "/api/v1/auth/mfa", "", map[string]string{"mfa_token": c.MFAToken, "code": codeC}, 401) // only the latest
		}
		// Wrong codes count like wrong passwords: after those above this
		// address waits a few seconds before the next code is looked at.
		e.clock.Advance(roster.LoginDelay(roster.LoginLockAt - 1))
		var done mfaAnswer
		e.expect("POST", "/api/v1/auth/mfa", "", map[string]string{"mfa_token": c.MFAToken, "code": codeD}, 200).JSON(t, &done)
		e.expect("GET", "/api/v1/me", done.Token, nil, 200)

		// The user turns e-mail codes off with their password; this session stays.
		e.expect("PUT", "/api/v1/me/2fa", done.Token, map[string]string{"method": "none", "current_password": "wrong"}, 422)
		var me roster.User
		e.expect("PUT", "/api/v1/me/2fa", done.Token, map[string]string{"method": "none", "current_password": testPassword}, 200).JSON(t, &me)
		if me.MFAMethod != roster.MFANone {
			t.Fatalf("mfa_method %q", me.MFAMethod)
		}
		e.expect("GET", "/api/v1/me", done.Token, nil, 200)
		e.login(u.Email, testPassword)
	})
}

// TestLockoutAndUnlock: from the 5th failure from one address each attempt
// from it waits longer; the 10th locks the account for that address for 30
// minutes, even for the right password, until an administrator unlocks it.
func TestLockoutAndUnlock(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		for i := 1; i <= 10; i++ {
			r := e.do("POST", "/api/v1/auth/login", "", loginBody("emp", "wrong password"))
			if r.Status != 401 {
				t.Fatalf("failure %d: status %d %s", i, r.Status, r.Body)
			}
			if i >= roster.LoginDelayFrom && i < roster.LoginLockAt {
				r := e.do("POST", "/api/v1/auth/login", "", loginBody("emp", testPassword))
				secs, _ := strconv.Atoi(r.Header.Get("Retry-After"))
				if r.Status != 429 || time.Duration(secs)*time.Second != roster.LoginDelay(i) {
					t.Fatalf("after %d failures: %d, Retry-After %q", i, r.Status, r.Header.Get("Retry-After"))
				}
				e.clock.Advance(roster.LoginDelay(i))
			}
		}
		r := e.do("POST", "/api/v1/auth/login", "", loginBody("emp", testPassword))
		if secs, _ := strconv.Atoi(r.Header.Get("Retry-After")); r.Status != 429 || secs != 1800 {
			t.Fatalf("locked: %d, Retry-After %q", r.Status, r.Header.Get("Retry-After"))
		}
		var u roster.User
		e.expect("GET", path("/api/v1/users/%d", e.users["emp"].ID), e.token("admin"), nil, 200).JSON(t, &u)
		if u.LockedUntil != nil {
			t.Fatalf("a lock of one address shown as a lock of the account: %v", u.LockedUntil)
		}
		e.expect("POST", path("/api/v1/users/%d/unlock", e.users["emp"].ID), e.token("admin"), nil, 200)
		e.login("emp", testPassword)
		// The counter starts again from zero after a sign-in.
		e.expect("POST", "/api/v1/auth/login", "", loginBody("emp", "wrong password"), 401)
		e.login("emp", testPassword)
	})
}

// TestAddressThrottle: many failures from one address answer 429 with
// Retry-After there, without locking accounts or other addresses out.
func TestAddressThrottle(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		const attacker = "198.51.100.9:4000"
		for i := range roster.AddressMaxFailures {
			r := e.doFrom(attacker, "", "POST", "/api/v1/auth/login", "", loginBody(path("ghost%d", i), "guess"))
			if r.Status != 401 {
				t.Fatalf("failure %d: %d", i, r.Status)
			}
		}
		r := e.doFrom(attacker, "", "POST", "/api/v1/auth/login", "", loginBody("emp", testPassword))
		secs, _ := strconv.Atoi(r.Header.Get("Retry-After"))
		if r.Status != 429 || secs < 1 || secs > int(roster.AddressWindow/time.Second) {
			t.Fatalf("throttled: %d, Retry-After %q: %s", r.Status, r.Header.Get("Retry-After"), r.Body)
		}
		if r := e.doFrom("192.0.2.50:1", "", "POST", "/api/v1/auth/login", "", loginBody("emp", testPassword)); r.Status != 200 {
			t.Fatalf("another address: %d %s", r.Status, r.Body)
		}
		e.clock.Advance(roster.AddressWindow)
		if r := e.doFrom(attacker, "", "POST", "/api/v1/auth/login", "", loginBody("emp", testPassword)); r.Status != 200 {
			t.Fatalf("after the window: %d %s", r.Status, r.Body)
		}
	})
}

// TestIPAllowlist: checked at sign-in and on every request; a spoofed
// X-Forwarded-For from an untrusted peer changes nothing.
func TestIPAllowlist(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		emp := e.users["emp"]
		admin := e.token("admin")
		e.expect("PATCH", path("/api/v1/users/%d", emp.ID), admin, map[string]any{"ip_allowlist": []string{"bad"}}, 422)
		e.expect("PATCH", path("/api/v1/users/%d", emp.ID), e.token("disp"), map[string]any{"ip_allowlist": []string{"203.0.113.0/24"}}, 403)
		var u roster.User
		e.expect("PATCH", path("/api/v1/users/%d", emp.ID), admin, map[string]any{"ip_allowlist": []string{"203.0.113.0/24", "2001:db8::1"}}, 200).JSON(t, &u)
		if strings.Join(u.IPAllowlist, ",") != "203.0.113.0/24,2001:db8::1" {
			t.Fatalf("allowlist %v", u.IPAllowlist)
		}
		// Outside the allowlist the address is refused before the password
		// is checked, with the answer of a wrong password (finding 7).
		if r := e.doFrom("192.0.2.1:1000", "", "POST", "/api/v1/auth/login", "", loginBody("emp", testPassword)); r.Status != 401 {
			t.Fatalf("outside address: %d %s", r.Status, r.Body)
		}
		if r := e.doFrom("192.0.2.1:1000", "203.0.113.5", "POST", "/api/v1/auth/login", "", loginBody("emp", testPassword)); r.Status != 401 {
			t.Fatalf("spoofed X-Forwarded-For was believed: %d %s", r.Status, r.Body)
		}
		r := e.doFrom("203.0.113.5:1000", "", "POST", "/api/v1/auth/login", "", loginBody("emp", testPassword))
		if r.Status != 200 {
			t.Fatalf("allowed address: %d %s", r.Status, r.Body)
		}
		var res struct{ Token string }
		r.JSON(t, &res)
		if r := e.doFrom("[2001:db8::1]:443", "", "GET", "/api/v1/me", res.Token, nil); r.Status != 200 {
			t.Fatalf("IPv6 entry: %d", r.Status)
		}
		if r := e.doFrom("192.0.2.1:1000", "", "GET", "/api/v1/me", res.Token, nil); r.Status != 403 {
			t.Fatalf("mid-session from outside: %d", r.Status)
		}
		e.expect("PATCH", path("/api/v1/users/%d", emp.ID), admin, map[string]any{"ip_allowlist": []string{"198.51.100.0/24"}}, 200)
		if r := e.doFrom("203.0.113.5:1000", "", "GET", "/api/v1/me", res.Token, nil); r.Status != 403 {
			t.Fatalf("after the allowlist changed: %d", r.Status)
		}
		e.expect("PATCH", path("/api/v1/users/%d", emp.ID), admin, map[string]any{"ip_allowlist": []string{}}, 200)
		if r := e.doFrom("192.0.2.1:1000", "", "GET", "/api/v1/me", res.Token, nil); r.Status != 200 {
			t.Fatalf("empty allowlist: %d", r.Status)
		}

		// In a switch session the reseller administrator's own allowlist holds.
		reseller := e.users["reseller"]
		e.expect("PATCH", path("/api/v1/users/%d", reseller.ID), e.token("root"), map[string]any{"ip_allowlist": []string{"203.0.113.0/24"}}, 200)
		r = e.doFrom("203.0.113.9:1000", "", "POST", path("/api/v1/companies/%d/switch", e.acme.ID), e.token("reseller"), nil)
		if r.Status != 200 {
			t.Fatalf("switch: %d %s", r.Status, r.Body)
		}
		var sw struct{ Token string }
		r.JSON(t, &sw)
		if r := e.doFrom("203.0.113.9:1000", "", "GET", "/api/v1/me", sw.Token, nil); r.Status != 200 {
			t.Fatalf("switch session inside the allowlist: %d", r.Status)
		}
		if r := e.doFrom("192.0.2.1:1000", "", "GET", "/api/v1/me", sw.Token, nil); r.Status != 403 {
			t.Fatalf("switch session outside the reseller's allowlist: %d", r.Status)
		}
	})
}

// TestSessions: idle and absolute expiry, a fresh token at every sign-in,
// listing and ending sessions, and a password change ending the others.
func TestSessions(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		emp := e.users["emp"]
		admin := e.token("admin")
		t.Run("Idle", func(t *testing.T) {
			e.t = t
			e.expect("PATCH", path("/api/v1/users/%d", emp.ID), admin, map[string]any{"idle_timeout_seconds": 59}, 422)
			e.expect("PATCH", path("/api/v1/users/%d", emp.ID), admin, map[string]any{"idle_timeout_seconds": 60}, 200)
			tok := e.login("emp", testPassword)
			e.clock.Advance(50 * time.Second)
			e.expect("GET", "/api/v1/me", tok, nil, 200)
			e.clock.Advance(61 * time.Second)
			e.expect("GET", "/api/v1/me", tok, nil, 401)
		})
		t.Run("CompanyDefault", func(t *testing.T) {
			e.t = t
			e.expect("PATCH", path("/api/v1/users/%d", emp.ID), admin, map[string]any{"idle_timeout_seconds": nil}, 200)
			e.expect("PATCH", path("/api/v1/companies/%d/settings", e.acme.ID), admin, map[string]any{"idle_timeout_seconds": 120}, 200)
			tok := e.login("emp", testPassword)
			e.clock.Advance(100 * time.Second)
			e.expect("GET", "/api/v1/me", tok, nil, 200)
			e.clock.Advance(121 * time.Second)
			e.expect("GET", "/api/v1/me", tok, nil, 401)
		})
		t.Run("Absolute", func(t *testing.T) {
			e.t = t
			e.expect("PATCH", path("/api/v1/users/%d", emp.ID), admin, map[string]any{"idle_timeout_seconds": roster.MaxIdleTimeout}, 200)
			tok := e.login("emp", testPassword)
			e.clock.Advance(11*time.Hour + 59*time.Minute)
			e.expect("GET", "/api/v1/me", tok, nil, 200)
			e.clock.Advance(2 * time.Minute)
			e.expect("GET", "/api/v1/me", tok, nil, 401)
		})
		t.Run("Fixation", func(t *testing.T) {
			e.t = t
			a, b := e.login("emp", testPassword), e.login("emp", testPassword)
			if a == b {
				t.Fatal("two sign-ins share a token")
			}
			e.expect("POST", "/api/v1/auth/logout", a, nil, 204)
			e.expect("GET", "/api/v1/me", a, nil, 401)
			e.expect("GET", "/api/v1/me", b, nil, 200)
		})
		t.Run("ListAndEnd", func(t *testing.T) {
			e.t = t
			admin := e.token("admin")
			a, b := e.login("emp", testPassword), e.login("emp", testPassword)
			var list struct {
				Items []struct {
					ID      int64
					Current bool
				}
			}
			e.expect("GET", "/api/v1/me/sessions", a, nil, 200).JSON(t, &list)
			var other int64
			for _, s := range list.Items {
				if !s.Current {
					other = s.ID
				}
			}
			if len(list.Items) < 2 || other == 0 {
				t.Fatalf("sessions: %+v", list)
			}
			e.expect("DELETE", path("/api/v1/me/sessions/%d", other), a, nil, 204)
			e.expect("DELETE", path("/api/v1/me/sessions/%d", other), a, nil, 404)
			c := e.login("emp", testPassword)
			e.expect("POST", "/api/v1/me/password", a, map[string]string{"current_password": "wrong", "new_password": "a new private phrase"}, 422)
			e.expect("POST", "/api/v1/me/password", a, map[string]string{"current_password": testPassword, "new_password": "a new private phrase"}, 204)
			e.expect("GET", "/api/v1/me", a, nil, 200)
			e.expect("GET", "/api/v1/me", c, nil, 401)
			_ = b
			d := e.login("emp", "a new private phrase")
			var ended struct{ Ended int }
			e.expect("DELETE", path("/api/v1/users/%d/sessions", emp.ID), admin, nil, 200).JSON(t, &ended)
			if ended.Ended < 2 {
				t.Errorf("ended %d sessions", ended.Ended)
			}
			e.expect("GET", "/api/v1/me", d, nil, 401)
		})
	})
}

// TestCompanySettings: the password policy's minimum length applies to
// registration and password changes; out-of-range values are refused.
func TestCompanySettings(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		admin := e.token("admin")
		u := path("/api/v1/companies/%d/settings", e.acme.ID)
		e.expect("PATCH", u, admin, map[string]int{"password_min_length": 7}, 422)
		e.expect("PATCH", u, admin, map[string]int{"invitation_ttl_hours": 0}, 422)
		var cs roster.CompanySettings
		e.expect("PATCH", u, admin, map[string]int{"password_min_length": 30, "invitation_ttl_hours": 24}, 200).JSON(t, &cs)
		if cs.PasswordMinLength != 30 || cs.InvitationTTLHours != 24 || cs.IdleTimeoutSeconds != 1800 {
			t.Fatalf("settings %+v", cs)
		}
		tok := e.login("emp", testPassword)
		r := e.expect("POST", "/api/v1/me/password", tok, map[string]string{"current_password": testPassword, "new_password": "twenty characters ok"}, 422)
		if !strings.Contains(string(r.Body), "password_too_short") {
			t.Errorf("%s", r.Body)
		}
		var nu roster.User
		e.expect("POST", "/api/v1/users", admin, map[string]any{"auth_method": "email", "email": "ttl@acme.example",
			"role_ids": []int64{e.roles[roster.RoleEmployee]}}, 201).JSON(t, &nu)
		if nu.InvitationExpiresAt == nil || !nu.InvitationExpiresAt.Equal(e.now().Add(24*time.Hour)) {
			t.Errorf("invitation expires at %v, want now+24h", nu.InvitationExpiresAt)
		}
	})
}

// TestCreateUserSendToEmail (issue 13 item 7, seed 003 "Send to e-mail"):
// with a typed or generated first password the administrator may have the
// user e-mailed a single-use link to set their own password; the e-mail
// never holds the password, and the link works once.
func TestCreateUserSendToEmail(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		rec := &mail.Recorder{}
		wk := credEnv(t, e, rec)
		admin := e.token("admin")
		typed := "violet harbour 42"
		body := func(email, creds string) map[string]any {
			b := map[string]any{"auth_method": "email", "email": email, "role_ids": []int64{e.roles[roster.RoleEmployee]},
				"credentials": creds, "send_email": true}
			if creds == "manual" {
				b["password"] = typed
			}
			return b
		}
		var created struct {
			ID                  int64  `json:"id"`
			TemporaryPassword   string `json:"temporary_password"`
			PasswordLinkEmailed bool   `json:"password_link_emailed"`
			PasswordTemporary   bool   `json:"password_change_required"`
		}
		e.expect("POST", "/api/v1/users", admin, body("mila@acme.example", "manual"), 201).JSON(t, &created)
		if !created.PasswordLinkEmailed || created.TemporaryPassword != "" {
			t.Fatalf("created %+v", created)
		}
		deliver(t, wk)
		msgs := rec.Messages()
		if len(msgs) != 1 || msgs[0].To != "mila@acme.example" || strings.Contains(msgs[0].Text, typed) || strings.Contains(msgs[0].HTML, typed) {
			t.Fatalf("messages %+v", msgs)
		}
		m := resetRE.FindStringSubmatch(msgs[0].Text)
		if m == nil {
			t.Fatalf("no link in %s", msgs[0].Text)
		}
		var log struct{ Items []roster.Event }
		e.expect("GET", path("/api/v1/events?user_id=%d", created.ID), e.token("root"), nil, 200).JSON(t, &log)
		types := map[string]bool{}
		for _, ev := range log.Items {
			types[ev.Type] = true
		}
		if !types[roster.EventUserCreated] || !types[roster.EventPasswordResetSent] {
			t.Fatalf("events %+v", log.Items)
		}
		e.expect("POST", "/api/v1/auth/password-reset", "", map[string]string{"token": m[1], "new_password": "quiet orchard lamp"}, 200)
		e.expect("POST", "/api/v1/auth/password-reset", "", map[string]string{"token": m[1], "new_password": "once more a phrase"}, 404)
		e.login("mila@acme.example", "quiet orchard lamp")

		// Generated: the password is still shown once, and the link goes too.
		e.expect("POST", "/api/v1/users", admin, body("generated@acme.example", "generated"), 201).JSON(t, &created)
		if !created.PasswordLinkEmailed || created.TemporaryPassword == "" {
			t.Fatalf("created %+v", created)
		}
		deliver(t, wk)
		if last := rec.Messages()[len(rec.Messages())-1]; last.To != "generated@acme.example" || strings.Contains(last.Text, created.TemporaryPassword) {
			t.Fatalf("message %+v", last)
		}

		// Without the option nothing is e-mailed; with an invitation or
		// without an address it is refused.
		n := len(rec.Messages())
		plain := body("plain@acme.example", "manual")
		delete(plain, "send_email")
		created.PasswordLinkEmailed = false
		e.expect("POST", "/api/v1/users", admin, plain, 201).JSON(t, &created)
		deliver(t, wk)
		if created.PasswordLinkEmailed || len(rec.Messages()) != n {
			t.Fatalf("e-mailed without send_email: %+v", created)
		}
		r := e.expect("POST", "/api/v1/users", admin, body("inv@acme.example", "invitation"), 422)
		if !strings.Contains(string(r.Body), "not_applicable") {
			t.Fatalf("invitation: %s", r.Body)
		}
		r = e.expect("POST", "/api/v1/users", admin, map[string]any{"auth_method": "login", "login": "nomail", "first_name": "N", "last_name": "M",
			"role_ids": []int64{e.roles[roster.RoleEmployee]}, "credentials": "manual", "password": typed, "send_email": true}, 422)
		if !strings.Contains(string(r.Body), "email_required") {
			t.Fatalf("no address: %s", r.Body)
		}
	})
}
