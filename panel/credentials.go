package panel

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/mail"
	"github.com/roster-app/roster/mfa"
	"github.com/roster-app/roster/outbox"
	"github.com/roster-app/roster/panel/i18n"
	"github.com/roster-app/roster/secure"
)

// This file serves the credential screens of issue 3 in the panel:
// registration by invitation, "Forgot password" and the e-mailed reset
// link, the second sign-in step, and the shared helpers (keys, e-mail
// jobs, company settings, brute-force answers). It calls the store
// interfaces directly, with the same rules as package web's API.

// Key purpose of the TOTP secrets; the same as package web's, so a secret
// enrolled through either works with both.
const totpKeyPurpose = "roster totp v1"

// masterSecretName is the Platform.Secret used as master key when no
// SecretKey is configured (as in package web).
const masterSecretName = "master_key"

// mfaCookie holds the token of a pending second sign-in step. It is not a
// session: it opens no page, and only finishes that one attempt.
const mfaCookie = "roster_mfa"

// credentialState holds the keys derived once from the master key.
type credentialState struct {
	once    sync.Once
	err     error
	totpKey []byte
	box     *outbox.Box
}

// credentialDefaults fills the credential dependencies from Users when the
// store implements them, as package web does.
func (p *Panel) credentialDefaults() {
	if p.Credentials == nil {
		p.Credentials, _ = p.Users.(roster.CredentialService)
	}
	if p.Jobs == nil {
		p.Jobs, _ = p.Users.(roster.JobService)
	}
	if p.Platform == nil {
		p.Platform, _ = p.Users.(roster.PlatformService)
	}
	if p.Avatars == nil {
		p.Avatars, _ = p.Users.(roster.AvatarService)
	}
}

// credentialRoutes adds the routes of this file and of the other
// credential screens (security page, user card actions, avatars, outbox,
// company settings).
func (p *Panel) credentialRoutes(mux *http.ServeMux) {
	mux.Handle("GET /register/{token}", p.anon(p.handleRegisterPage))
	mux.Handle("POST /register/{token}", p.anon(p.handleRegister))
	mux.Handle("GET /password/forgot", p.anon(p.handleForgotPage))
	mux.Handle("POST /password/forgot", p.anon(p.handleForgot))
	mux.Handle("GET /password-reset/{token}", p.anon(p.handleResetPage))
	mux.Handle("POST /password-reset/{token}", p.anon(p.handleReset))
	mux.Handle("GET /unlock", p.anon(p.handleUnlockRequestPage))
	mux.Handle("POST /unlock", p.anon(p.handleUnlockRequest))
	mux.Handle("GET /unlock/{token}", p.anon(p.handleUnlockPage))
	mux.Handle("POST /unlock/{token}", p.anon(p.handleUnlock))
	mux.Handle("GET /signin/2fa", p.anon(p.handleMFAPage))
	mux.Handle("POST /signin/2fa", p.anon(p.handleMFA))
	mux.Handle("POST /signin/2fa/resend", p.anon(p.handleMFAResend))

	mux.Handle("GET /profile/security", p.auth(p.handleSecurity))
	mux.Handle("POST /profile/security/totp", p.auth(p.handleTOTPStart))
	mux.Handle("POST /profile/security/totp/confirm", p.auth(p.handleTOTPConfirm))
	mux.Handle("POST /profile/security/method", p.auth(p.handleMyMFA))
	mux.Handle("POST /profile/security/sessions/{id}/end", p.auth(p.handleMySessionEnd))
	mux.Handle("POST /profile/ping", p.auth(p.handlePing))
	mux.Handle("POST /profile/avatar", p.auth(p.handleAvatarUpload))
	mux.Handle("POST /profile/avatar/delete", p.auth(p.handleAvatarDelete))
	mux.Handle("GET /avatars/{id}", p.auth(p.handleAvatar))

	mux.Handle("POST /users/{id}/2fa/reset-to-email", p.auth(p.handleUserMFAReset))
	mux.Handle("POST /users/{id}/2fa/disable", p.auth(p.handleUserMFADisable))
	mux.Handle("POST /users/{id}/unlock", p.auth(p.handleUserUnlock))
	mux.Handle("POST /users/{id}/access", p.auth(p.handleUserAccess))
	mux.Handle("POST /users/{id}/sessions/end", p.auth(p.handleUserSessionsEnd))
	mux.Handle("POST /users/{id}/reset-link", p.auth(p.handleUserResetLink))

	mux.Handle("GET /outbox", p.auth(p.handleOutbox))
	mux.Handle("GET /settings/credentials", p.auth(p.handleCredentialSettings))
	mux.Handle("POST /settings/credentials", p.auth(p.handleCredentialSettingsSave))
}

// keys derives the TOTP key and the outbox once.
func (p *Panel) keys(ctx context.Context) error {
	p.creds.once.Do(func() {
		master := p.SecretKey
		if len(master) == 0 {
			if p.Platform == nil {
				p.creds.err = errors.New("panel: no master key and no platform store")
				return
			}
			if master, p.creds.err = p.Platform.Secret(ctx, masterSecretName); p.creds.err != nil {
				return
			}
		}
		p.creds.totpKey = secure.DeriveKey(master, totpKeyPurpose)
		p.creds.box = p.Outbox
		if p.creds.box == nil {
			p.creds.box = outbox.New(master)
		}
	})
	return p.creds.err
}

// baseURL is the public address for e-mailed links.
func (p *Panel) baseURL(r *http.Request) string {
	if p.BaseURL != "" {
		return p.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// settingsOf returns a company's credential settings, or the defaults.
func (p *Panel) settingsOf(ctx context.Context, companyID int64) *roster.CompanySettings {
	if p.Credentials != nil {
		cs, err := p.Credentials.CompanySettings(ctx, roster.Scope{All: true}, companyID)
		if err == nil {
			return cs
		}
		p.Logger.ErrorContext(ctx, "company settings", "company_id", companyID, "err", err)
	}
	return &roster.CompanySettings{CompanyID: companyID, InvitationTTLHours: int(roster.InvitationTTL / time.Hour),
		PasswordMinLength: roster.DefaultPasswordMinLength, IdleTimeoutSeconds: int(roster.DefaultIdleTimeout / time.Second)}
}

// idleTimeout is the idle logout of a user's new session.
func (p *Panel) idleTimeout(ctx context.Context, u *roster.User) time.Duration {
	return u.IdleTimeout(p.settingsOf(ctx, u.CompanyID).IdleTimeoutSeconds)
}

// mailJob seals one e-mail to u as a job.
func (p *Panel) mailJob(ctx context.Context, u *roster.User, kind string, data any) (*roster.Job, error) {
	if err := p.keys(ctx); err != nil {
		return nil, err
	}
	return p.creds.box.NewJob(u.Email, u.Lang, kind, data)
}

// resetJob makes the e-mail carrying a password-reset token to u.
func (p *Panel) resetJob(r *http.Request, u *roster.User, token string) (*roster.Job, error) {
	return p.mailJob(r.Context(), u, mail.KindPasswordReset, mail.PasswordReset{BaseURL: p.baseURL(r), Token: token,
		Name: u.DisplayName(), ValidFor: roster.PasswordResetTTL})
}

// jobsWritten wakes the mail worker after a job was committed.
func (p *Panel) jobsWritten() {
	if p.NotifyJobs != nil {
		p.NotifyJobs()
	}
}

// anonymous is a context whose events carry only the client address.
func (p *Panel) anonymous(r *http.Request) context.Context {
	return roster.NewContextWithActor(r.Context(), &roster.Actor{Address: p.clientAddress(r)})
}

// ---- brute force ----

// waitText says how long to wait, in whole minutes or seconds.
func waitText(lang string, d time.Duration) string {
	if d < time.Minute {
		return i18n.Plural(lang, "wait.seconds", max(1, int((d+time.Second-1)/time.Second)))
	}
	return i18n.Plural(lang, "wait.minutes", int((d+time.Minute-1)/time.Minute))
}

// setRetryAfter sets Retry-After for a 429 answer.
func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", itoa(max(1, int((d+time.Second-1)/time.Second))))
}

// throttleMessage answers the text of a 429 when the client address has
// failed too often, or "".
func (p *Panel) throttleMessage(w http.ResponseWriter, r *http.Request) (string, error) {
	if p.Credentials == nil {
		return "", nil
	}
	wait, err := p.Credentials.LoginThrottled(r.Context(), p.clientAddress(r))
	if err != nil || wait <= 0 {
		return "", err
	}
	setRetryAfter(w, wait)
	return i18n.T(state(r).lang, "signin.error.throttled", waitText(state(r).lang, wait)), nil
}

// waitMessage is the text of a sign-in that must wait, by its scope only
// (never by whether the account exists), and sets Retry-After; locked is
// true when an unlock link would help.
func (p *Panel) waitMessage(w http.ResponseWriter, r *http.Request, t roster.Throttle) (msg string, locked bool) {
	lang := state(r).lang
	setRetryAfter(w, t.Wait)
	switch {
	case t.Scope == roster.ScopeAddress:
		return i18n.T(lang, "signin.error.throttled", waitText(lang, t.Wait)), false
	case t.Scope == roster.ScopeAccount:
		return i18n.T(lang, "signin.error.locked", waitText(lang, t.Wait)), true
	case t.Wait < time.Minute:
		return i18n.T(lang, "signin.error.delay", waitText(lang, t.Wait)), false
	}
	return i18n.T(lang, "signin.error.locked_address", waitText(lang, t.Wait)), true
}

// unlockLink makes a new unlock token and the e-mail carrying it, for
// roster.CheckPassword to send if a failure locks the account everywhere.
func (p *Panel) unlockLink(r *http.Request) *roster.UnlockLink {
	token, hash := secure.NewToken()
	return &roster.UnlockLink{Hash: hash, Now: p.Clock, MailJob: func(u *roster.User) (*roster.Job, error) {
		return p.mailJob(r.Context(), u, mail.KindUnlock, mail.Unlock{BaseURL: p.baseURL(r), Token: token,
			Name: u.DisplayName(), ValidFor: roster.UnlockLinkTTL})
	}}
}

// ---- after the password ----

// afterPassword continues a sign-in whose password (or registration) was
// right: the address must be allowed, then the second factor, then a
// forced password change, then a new session. It answers with a redirect;
// fail renders the sign-in form with a message key.
func (p *Panel) afterPassword(w http.ResponseWriter, r *http.Request, u *roster.User, next string, fail func(key string) error) error {
	if !u.Allows(p.clientAddress(r)) {
		if err := p.Users.RecordSignInFailure(p.anonymous(r), u.ID, "address_not_allowed"); err != nil {
			p.Logger.ErrorContext(r.Context(), "record sign-in failure", "user_id", u.ID, "err", err)
		}
		return fail("signin.error.address")
	}
	if p.Credentials != nil {
		switch {
		case u.MFAMethod == roster.MFATOTP && u.TOTPSecret != "":
			return p.startMFA(w, r, u, roster.MFATOTP, next)
		case u.MFAMethod == roster.MFAEmail && u.Email != "":
			return p.startMFA(w, r, u, roster.MFAEmail, next)
		}
	}
	return p.completeSignIn(w, r, u, next)
}

// completeSignIn ends a sign-in whose every factor passed, with a new
// session token (never one the browser brought: no session fixation).
func (p *Panel) completeSignIn(w http.ResponseWriter, r *http.Request, u *roster.User, next string) error {
	if p.Credentials != nil {
		if err := roster.SignInSucceeded(r.Context(), p.Credentials, u, p.clientAddress(r)); err != nil {
			return err
		}
	}
	if p.cookie(r, mfaCookie) != "" {
		p.clearCookie(w, mfaCookie)
	}
	if u.PasswordTemporary {
		token, err := p.createSession(r, u.ID, roster.SessionPasswordChange, roster.PasswordChangeTTL, roster.PasswordChangeTTL, nil, nil)
		if err != nil {
			return err
		}
		p.setCookie(w, sessionCookie, token, 0)
		return p.redirect(w, r, "/password/change", "", 0)
	}
	if err := p.signIn(w, r, u.ID); err != nil {
		return err
	}
	return p.redirect(w, r, localPath(next, "/users"), "", 0)
}

// ---- second step ----

// mfaView is the second sign-in step.
type mfaView struct {
	*page
	Method string
	// Form is the token binding the form to the pending attempt.
	Form  string
	Next  string
	Error string
}

// startMFA stores the pending attempt (and, for e-mail, the code's e-mail)
// and sends the browser to the second step.
func (p *Panel) startMFA(w http.ResponseWriter, r *http.Request, u *roster.User, method, next string) error {
	ctx := r.Context()
	token, hash := secure.NewToken()
	now := p.Clock()
	c := &roster.MFAChallenge{TokenHash: hash, UserID: u.ID, Method: method, IssuedAt: now,
		Address: p.clientAddress(r), ExpiresAt: now.Add(roster.MFAChallengeTTL)}
	var job *roster.Job
	if method == roster.MFAEmail {
		code, ec := mfa.NewEmailChallenge(now)
		c.CodeHash = ec.Hash
		var err error
		if job, err = p.mailJob(ctx, u, mail.KindEmailCode, mail.EmailCode{BaseURL: p.baseURL(r), Code: code, Name: u.DisplayName()}); err != nil {
			return err
		}
	}
	if err := p.Credentials.CreateMFAChallenge(ctx, c, job); err != nil {
		return err
	}
	if job != nil {
		p.jobsWritten()
	}
	// A session cookie the browser brought is dropped: the session comes
	// only after the second factor, with a fresh token.
	p.clearCookie(w, sessionCookie)
	p.setCookie(w, mfaCookie, token, roster.MFAChallengeTTL)
	to := "/signin/2fa"
	if n := localPath(next, ""); n != "" {
		to += "?next=" + urlQueryEscape(n)
	}
	return p.redirect(w, r, to, "", 0)
}

// pendingMFA returns the challenge of the browser's second-step cookie.
func (p *Panel) pendingMFA(r *http.Request) (*roster.MFAChallenge, string, error) {
	token := p.cookie(r, mfaCookie)
	if p.Credentials == nil || !secure.ValidTokenFormat(token) {
		return nil, "", errSignedOut
	}
	c, err := p.Credentials.MFAChallengeByTokenHash(r.Context(), secure.HashToken(token))
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return nil, "", errSignedOut
	}
	return c, token, err
}

func (p *Panel) mfaPage(w http.ResponseWriter, r *http.Request, c *roster.MFAChallenge, token, next string) *mfaView {
	return &mfaView{page: p.newPage(w, r, "mfa.title", ""), Method: c.Method, Form: csrfToken(token), Next: localPath(next, "")}
}

func (p *Panel) handleMFAPage(w http.ResponseWriter, r *http.Request) error {
	c, token, err := p.pendingMFA(r)
	if err != nil {
		if roster.ErrorCode(err) == roster.EUNAUTHORIZED {
			return p.redirect(w, r, "/signin", "flash.mfa_expired", 0)
		}
		return err
	}
	return p.render(w, r, http.StatusOK, "mfa", p.mfaPage(w, r, c, token, r.URL.Query().Get("next")))
}

// isRecoveryCode tells a recovery code ("abcd-efgh-jkmn") from a six-digit one.
func isRecoveryCode(code string) bool {
	n := mfa.NormalizeRecoveryCode(code)
	return len(n) == 12 && strings.IndexFunc(n, func(r rune) bool { return r < '0' || r > '9' }) >= 0
}

// handleMFA finishes a sign-in with a TOTP code, the e-mailed code or a
// recovery code, each accepted once, by the same rules as the API.
func (p *Panel) handleMFA(w http.ResponseWriter, r *http.Request) error {
	c, token, err := p.pendingMFA(r)
	if err != nil {
		if roster.ErrorCode(err) == roster.EUNAUTHORIZED {
			return p.redirect(w, r, "/signin", "flash.mfa_expired", 0)
		}
		return err
	}
	ctx := r.Context()
	lang := state(r).lang
	next := r.PostFormValue("next")
	v := p.mfaPage(w, r, c, token, next)
	if !secure.Equal(r.PostFormValue("form"), csrfToken(token)) {
		return roster.Errorf(roster.EFORBIDDEN, "The form expired; reload the page and try again.")
	}
	if msg, err := p.throttleMessage(w, r); err != nil {
		return err
	} else if msg != "" {
		v.Error = msg
		return p.render(w, r, http.StatusTooManyRequests, "mfa", v)
	}
	restart := func(key string) error {
		p.dropChallenge(ctx, c)
		p.clearCookie(w, mfaCookie)
		return p.redirect(w, r, "/signin", key, 0)
	}
	u, err := p.Users.UserByID(ctx, roster.Scope{All: true}, c.UserID)
	if err != nil || u.Status == roster.StatusBlocked {
		if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
			return err
		}
		return restart("flash.mfa_expired")
	}
	if c.Tries >= mfa.EmailCodeMaxTries {
		return restart("flash.mfa_tries")
	}
	// A code counts like a password: while the account must wait (for this
	// address or everywhere) no code is looked at.
	if t, err := roster.SecondFactorWait(ctx, p.Credentials, u, p.clientAddress(r)); err != nil {
		return err
	} else if t.Wait > 0 {
		v.Error, _ = p.waitMessage(w, r, t)
		return p.render(w, r, http.StatusTooManyRequests, "mfa", v)
	}
	code := strings.TrimSpace(r.PostFormValue("code"))
	now := p.Clock()
	prev := c.Tries
	ok := false
	failure := ""
	switch {
	case isRecoveryCode(code):
		c.Tries++
		hashes, err := p.Credentials.RecoveryCodeHashes(ctx, u.ID)
		if err != nil {
			return err
		}
		if i, match := mfa.MatchRecoveryCode(code, hashes); match {
			actx := roster.NewContextWithActor(ctx, &roster.Actor{User: u, Address: p.clientAddress(r)})
			if ok, err = p.Credentials.UseRecoveryCode(actx, u.ID, hashes[i]); err != nil {
				return err
			}
		}
	case c.Method == roster.MFATOTP:
		c.Tries++
		if err := p.keys(ctx); err != nil {
			return err
		}
		secret, err := secure.Decrypt(p.creds.totpKey, u.TOTPSecret)
		if err != nil {
			return err
		}
		if step, match := mfa.ValidateTOTP(string(secret), code, now, u.TOTPLastStep); match {
			// The conditional update makes the step single-use even
			// between instances racing with the same code.
			if ok, err = p.Credentials.UseTOTPStep(ctx, u.ID, step); err != nil {
				return err
			}
		}
	default: // e-mail code
		ec := mfa.EmailChallenge{Hash: c.CodeHash, IssuedAt: c.IssuedAt, Tries: c.Tries, Used: c.Used}
		match, cerr := ec.Check(now, code)
		c.Tries, c.Used = ec.Tries, ec.Used
		ok = match
		switch cerr {
		case mfa.ErrCodeExpired:
			failure = "flash.mfa_code_expired"
		case mfa.ErrTooManyTries, mfa.ErrCodeUsed:
			failure = "flash.mfa_tries"
		}
	}
	if err := p.Credentials.UpdateMFAChallenge(ctx, c, prev, nil); err != nil {
		if roster.ErrorCode(err) != roster.ECONFLICT {
			return err
		}
		ok = false // another request used this attempt meanwhile
	}
	if !ok {
		if _, err := roster.SecondFactorFailed(p.anonymous(r), p.Credentials, u, p.clientAddress(r), p.unlockLink(r)); err != nil {
			return err
		}
		if failure != "" {
			return restart(failure)
		}
		left := mfa.EmailCodeMaxTries - c.Tries
		if left <= 0 {
			return restart("flash.mfa_tries")
		}
		v.Error = i18n.Plural(lang, "mfa.wrong", left)
		return p.render(w, r, http.StatusUnauthorized, "mfa", v)
	}
	p.dropChallenge(ctx, c)
	if !u.Allows(p.clientAddress(r)) {
		return restart("flash.address_refused")
	}
	return p.completeSignIn(w, r, u, next)
}

// mfaResendInterval is how long a new e-mail code must wait after the last.
const mfaResendInterval = 30 * time.Second

// handleMFAResend e-mails a new code; only the newest works and the tries
// already used stay used.
func (p *Panel) handleMFAResend(w http.ResponseWriter, r *http.Request) error {
	c, token, err := p.pendingMFA(r)
	if err != nil {
		if roster.ErrorCode(err) == roster.EUNAUTHORIZED {
			return p.redirect(w, r, "/signin", "flash.mfa_expired", 0)
		}
		return err
	}
	if !secure.Equal(r.PostFormValue("form"), csrfToken(token)) {
		return roster.Errorf(roster.EFORBIDDEN, "The form expired; reload the page and try again.")
	}
	back := "/signin/2fa"
	if n := localPath(r.PostFormValue("next"), ""); n != "" {
		back += "?next=" + urlQueryEscape(n)
	}
	if c.Method != roster.MFAEmail {
		return p.redirect(w, r, back, "", 0)
	}
	ctx := r.Context()
	now := p.Clock()
	if wait := c.IssuedAt.Add(mfaResendInterval).Sub(now); wait > 0 {
		setRetryAfter(w, wait)
		v := p.mfaPage(w, r, c, token, r.PostFormValue("next"))
		v.Error = i18n.T(state(r).lang, "mfa.resend_wait", waitText(state(r).lang, wait))
		return p.render(w, r, http.StatusTooManyRequests, "mfa", v)
	}
	u, err := p.Users.UserByID(ctx, roster.Scope{All: true}, c.UserID)
	if err != nil || u.Status == roster.StatusBlocked || u.Email == "" {
		return p.redirect(w, r, "/signin", "flash.mfa_expired", 0)
	}
	ec := mfa.EmailChallenge{Hash: c.CodeHash, IssuedAt: c.IssuedAt, Tries: c.Tries, Used: c.Used}
	code := ec.Renew(now)
	c.CodeHash, c.IssuedAt, c.Used = ec.Hash, ec.IssuedAt, ec.Used
	job, err := p.mailJob(ctx, u, mail.KindEmailCode, mail.EmailCode{BaseURL: p.baseURL(r), Code: code, Name: u.DisplayName()})
	if err != nil {
		return err
	}
	if err := p.Credentials.UpdateMFAChallenge(ctx, c, c.Tries, job); err != nil {
		if roster.ErrorCode(err) == roster.ECONFLICT || roster.ErrorCode(err) == roster.ENOTFOUND {
			return p.redirect(w, r, "/signin", "flash.mfa_expired", 0)
		}
		return err
	}
	p.jobsWritten()
	return p.redirect(w, r, back, "flash.mfa_resent", 0)
}

func (p *Panel) dropChallenge(ctx context.Context, c *roster.MFAChallenge) {
	if err := p.Credentials.DeleteMFAChallenge(ctx, c.ID); err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
		p.Logger.ErrorContext(ctx, "delete MFA challenge", "err", err)
	}
}

// ---- registration ----

// linkView is a registration or reset page: the form, or why the link
// does not work.
type linkView struct {
	*page
	Token     string
	Email     string
	Form      map[string]string
	Errors    formErrors
	MinLength int
	// Problem is the key of the text saying why the link does not work.
	Problem string
	// Reset is set for a reset link, whose problem page offers a new one.
	Reset bool
	// Unlock is set for an unlock link, whose problem page offers a new one.
	Unlock bool
	// Company names the company an invitation is to.
	Company string
}

// invitedUser resolves a registration token; problem is a message key
// when the link does not work.
func (p *Panel) invitedUser(r *http.Request) (u *roster.User, hash []byte, problem string, err error) {
	token := r.PathValue("token")
	if p.Credentials == nil || !secure.ValidTokenFormat(token) {
		return nil, nil, "register.unknown", nil
	}
	hash = secure.HashToken(token)
	u, expired, err := roster.InvitedUser(r.Context(), p.Credentials, hash, p.Clock())
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return nil, nil, "register.unknown", nil
	} else if err != nil {
		return nil, nil, "", err
	}
	if expired {
		return nil, nil, "register.expired", nil
	}
	return u, hash, "", nil
}

// companyName names an invitee's company ("" if it cannot be read).
func (p *Panel) companyName(r *http.Request, id int64) string {
	c, err := p.Companies.CompanyByID(r.Context(), roster.Scope{All: true}, id)
	if err != nil {
		return ""
	}
	return c.Name
}

// linkProblem renders the page of a link that does not work.
func (p *Panel) linkProblem(w http.ResponseWriter, r *http.Request, title, problem string) error {
	v := &linkView{page: p.newPage(w, r, title, ""), Problem: problem, Reset: strings.HasPrefix(problem, "reset."),
		Unlock: strings.HasPrefix(problem, "unlock.")}
	status := http.StatusNotFound
	if strings.HasSuffix(problem, ".expired") {
		status = http.StatusGone
	}
	return p.render(w, r, status, "linkproblem", v)
}

func (p *Panel) handleRegisterPage(w http.ResponseWriter, r *http.Request) error {
	u, _, problem, err := p.invitedUser(r)
	if err != nil {
		return err
	}
	if problem != "" {
		return p.linkProblem(w, r, "register.title", problem)
	}
	v := &linkView{page: p.newPage(w, r, "register.title", ""), Token: r.PathValue("token"), Email: u.Email,
		Form: map[string]string{"first_name": u.FirstName, "last_name": u.LastName}, MinLength: p.settingsOf(r.Context(), u.CompanyID).PasswordMinLength,
		Company: p.companyName(r, u.CompanyID)}
	return p.render(w, r, http.StatusOK, "register", v)
}

// handleRegister accepts an invitation (U4): sets the password and name,
// activates the user and signs them in.
func (p *Panel) handleRegister(w http.ResponseWriter, r *http.Request) error {
	u, hash, problem, err := p.invitedUser(r)
	if err != nil {
		return err
	}
	if problem != "" {
		return p.linkProblem(w, r, "register.title", problem)
	}
	ctx := r.Context()
	lang := state(r).lang
	first, last := strings.TrimSpace(r.PostFormValue("first_name")), strings.TrimSpace(r.PostFormValue("last_name"))
	pw := r.PostFormValue("password")
	minLen := p.settingsOf(ctx, u.CompanyID).PasswordMinLength
	var val roster.Validation
	roster.ValidateRegistration(&val, u, first, last, pw, minLen)
	if pw != r.PostFormValue("confirm_password") && !val.Has("password") {
		val.Add("confirm_password", "password_mismatch", "The passwords do not match.")
	}
	if err := val.Err(); err != nil {
		fe, _ := newFormErrors(lang, err)
		v := &linkView{page: p.newPage(w, r, "register.title", ""), Token: r.PathValue("token"), Email: u.Email,
			Form: map[string]string{"first_name": first, "last_name": last}, Errors: *fe, MinLength: minLen, Company: p.companyName(r, u.CompanyID)}
		return p.render(w, r, http.StatusUnprocessableEntity, "register", v)
	}
	pwHash, err := p.Hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	u, err = p.Credentials.AcceptInvitation(p.anonymous(r), hash, pwHash, first, last)
	switch roster.ErrorCode(err) {
	case "":
	case roster.EINVALID:
		return p.linkProblem(w, r, "register.title", "register.expired")
	case roster.ENOTFOUND:
		return p.linkProblem(w, r, "register.title", "register.unknown")
	default:
		return err
	}
	return p.afterPassword(w, r, u, "", func(key string) error {
		return p.redirect(w, r, "/signin", "flash.registered_signin", 0)
	})
}

// ---- forgot password and the reset link ----

// forgotView is the "Forgot password" form and its one answer.
type forgotView struct {
	*page
	Email string
	Sent  bool
	Error string
}

func (p *Panel) handleForgotPage(w http.ResponseWriter, r *http.Request) error {
	v := &forgotView{page: p.newPage(w, r, "forgot.title", ""), Email: strings.TrimSpace(r.URL.Query().Get("email"))}
	return p.render(w, r, http.StatusOK, "forgot", v)
}

// handleForgot e-mails a reset link to an e-mail-method user. The page
// says the same whether or not the address exists, and the same costly
// work (a token, a rendered e-mail, a password hash) is done either way.
func (p *Panel) handleForgot(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	email := roster.NormalizeEmail(r.PostFormValue("email"))
	v := &forgotView{page: p.newPage(w, r, "forgot.title", ""), Email: email}
	if email == "" {
		v.Error = i18n.T(state(r).lang, "forgot.empty")
		return p.render(w, r, http.StatusUnprocessableEntity, "forgot", v)
	}
	if msg, err := p.throttleMessage(w, r); err != nil {
		return err
	} else if msg != "" {
		v.Error = msg
		return p.render(w, r, http.StatusTooManyRequests, "forgot", v)
	}
	if p.Credentials == nil {
		return roster.Errorf(roster.EINTERNAL, "credentials store missing")
	}
	token, hash := secure.NewToken()
	started, err := roster.RequestPasswordReset(ctx, p.anonymous(r), p.Users, p.Credentials, p.Hasher, roster.PasswordResetRequest{
		Email: email, Token: token, Hash: hash, Address: p.clientAddress(r), Now: p.Clock,
		MailJob: func(u *roster.User) (*roster.Job, error) {
			return p.resetJob(r, u, token)
		}})
	if err != nil {
		return err
	}
	if started {
		p.jobsWritten()
	}
	v.Sent = true
	return p.render(w, r, http.StatusOK, "forgot", v)
}

// resetUser resolves a reset token; problem is a message key when the
// link does not work (unknown, used and expired links look the same to
// the store, which keeps only live ones).
func (p *Panel) resetUser(r *http.Request) (*roster.User, []byte, string, error) {
	token := r.PathValue("token")
	if p.Credentials == nil || !secure.ValidTokenFormat(token) {
		return nil, nil, "reset.invalid", nil
	}
	hash := secure.HashToken(token)
	u, err := p.Credentials.UserByResetHash(r.Context(), hash)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return nil, nil, "reset.invalid", nil
	} else if err != nil {
		return nil, nil, "", err
	}
	return u, hash, "", nil
}

func (p *Panel) handleResetPage(w http.ResponseWriter, r *http.Request) error {
	u, _, problem, err := p.resetUser(r)
	if err != nil {
		return err
	}
	if problem != "" {
		return p.linkProblem(w, r, "reset.title", problem)
	}
	v := &linkView{page: p.newPage(w, r, "reset.title", ""), Token: r.PathValue("token"), Email: u.Email,
		MinLength: p.settingsOf(r.Context(), u.CompanyID).PasswordMinLength}
	return p.render(w, r, http.StatusOK, "reset", v)
}

// handleReset sets a new password with an e-mailed link. It does not sign
// in: the user signs in next, second factor included.
func (p *Panel) handleReset(w http.ResponseWriter, r *http.Request) error {
	u, hash, problem, err := p.resetUser(r)
	if err != nil {
		return err
	}
	if problem != "" {
		return p.linkProblem(w, r, "reset.title", problem)
	}
	ctx := r.Context()
	pw := r.PostFormValue("new_password")
	minLen := p.settingsOf(ctx, u.CompanyID).PasswordMinLength
	var val roster.Validation
	roster.ValidatePassword(&val, "new_password", pw, u, minLen)
	if pw != r.PostFormValue("confirm_password") && !val.Has("new_password") {
		val.Add("confirm_password", "password_mismatch", "The passwords do not match.")
	}
	if err := val.Err(); err != nil {
		fe, _ := newFormErrors(state(r).lang, err)
		v := &linkView{page: p.newPage(w, r, "reset.title", ""), Token: r.PathValue("token"), Email: u.Email, Errors: *fe, MinLength: minLen}
		return p.render(w, r, http.StatusUnprocessableEntity, "reset", v)
	}
	pwHash, err := p.Hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	if _, err := p.Credentials.ResetPassword(p.anonymous(r), hash, pwHash); err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return p.linkProblem(w, r, "reset.title", "reset.invalid")
		}
		return err
	}
	p.clearCookie(w, sessionCookie)
	return p.redirect(w, r, "/signin", "flash.password_reset_done", 0)
}
