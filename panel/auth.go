package panel

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
	"github.com/roster-app/roster/observe"
	"github.com/roster-app/roster/panel/i18n"
	"github.com/roster-app/roster/secure"
)

// Cookie names, before the __Host- prefix Deps.Secure adds.
const (
	sessionCookie = "roster_session"
	parentCookie  = "roster_parent" // the reseller's own session while switched (U15)
	flashCookie   = "roster_flash"
	langCookie    = "roster_lang"
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token"
)

func (p *Panel) cookieName(name string) string {
	if p.Secure {
		return "__Host-" + name
	}
	return name
}

// setCookie sets an HttpOnly, SameSite=Lax cookie on "/"; maxAge 0 makes a
// browser-session cookie.
func (p *Panel) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: p.cookieName(name), Value: value, Path: "/", HttpOnly: true,
		Secure: p.Secure, SameSite: http.SameSiteLaxMode}
	if maxAge > 0 {
		c.MaxAge = int(maxAge / time.Second)
	}
	http.SetCookie(w, c)
}

func (p *Panel) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: p.cookieName(name), Value: "", Path: "/", HttpOnly: true,
		Secure: p.Secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

func (p *Panel) cookie(r *http.Request, name string) string {
	c, err := r.Cookie(p.cookieName(name))
	if err != nil {
		return ""
	}
	return c.Value
}

// language picks the request's language: the cookie the user chose, else
// the browser's Accept-Language.
func (p *Panel) language(r *http.Request) string {
	if l := p.cookie(r, langCookie); i18n.Supported(l) {
		return l
	}
	return i18n.FromAcceptLanguage(r.Header.Get("Accept-Language"))
}

// csrfToken derives the per-session form token from the session token, so
// it needs no storage and an attacker without the cookie cannot know it.
func csrfToken(sessionToken string) string {
	sum := sha256.Sum256([]byte("roster-panel-csrf:" + sessionToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// clientAddress is the client's IP: the connection's peer, or the last
// address in X-Forwarded-For not added by a trusted proxy.
func (p *Panel) clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = addr.Unmap()
	hops := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
	for i := len(hops); p.trusted(addr) && i > 0; i-- {
		next, err := netip.ParseAddr(strings.TrimSpace(hops[i-1]))
		if err != nil {
			break
		}
		addr = next.Unmap()
	}
	return addr.String()
}

func (p *Panel) trusted(a netip.Addr) bool {
	for _, pr := range p.TrustedProxies {
		if pr.Contains(a) {
			return true
		}
	}
	return false
}

// anon wraps a handler that needs no session. Its form is read and its
// text checked before the handler runs, as for auth.
func (p *Panel) anon(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = withState(r, &reqState{lang: p.language(r)})
		if err := parseForm(w, r); err != nil {
			p.formError(w, r, err)
			return
		}
		if err := formTextError(r); err != nil {
			p.renderError(w, r, err)
			return
		}
		if err := h(w, r); err != nil {
			p.renderError(w, r, err)
		}
	})
}

// auth wraps a handler that needs a signed-in user: it loads the session,
// the user and their permissions fresh (so role changes and blocks apply on
// the next request), builds the actor and checks the CSRF token of every
// unsafe request.
func (p *Panel) auth(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &reqState{lang: p.language(r)}
		r = withState(r, st)
		token := p.cookie(r, sessionCookie)
		sess, actor, err := p.loadSession(r.Context(), token, p.clientAddress(r))
		if err != nil {
			if err == errPasswordChange {
				http.Redirect(w, r, "/password/change", http.StatusSeeOther)
				return
			}
			if roster.ErrorCode(err) != roster.EUNAUTHORIZED {
				p.renderError(w, r, err)
				return
			}
			p.clearCookie(w, sessionCookie)
			p.redirectSignIn(w, r)
			return
		}
		st.actor, st.session, st.token, st.csrf = actor, sess, token, csrfToken(token)
		observe.SetUser(r.Context(), actor.UserID())
		r = r.WithContext(roster.NewContextWithActor(app.WithBaseURL(r.Context(), p.baseURL(r)), actor))
		// The form is read whole first: one over its limit or unreadable
		// is not an expired one.
		if err := parseForm(w, r); err != nil {
			p.formError(w, r, err)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			got := r.Header.Get(csrfHeader)
			if got == "" {
				got = r.PostFormValue(csrfField)
			}
			if !secure.Equal(got, st.csrf) {
				p.renderError(w, r, roster.Errorf(roster.EFORBIDDEN, "The form expired; reload the page and try again."))
				return
			}
		}
		if err := formTextError(r); err != nil {
			p.renderError(w, r, err)
			return
		}
		if err := h(w, r); err != nil {
			p.renderError(w, r, err)
		}
	})
}

var (
	errSignedOut      = roster.Errorf(roster.EUNAUTHORIZED, "Sign in.")
	errPasswordChange = roster.Errorf(roster.EUNAUTHORIZED, "Choose a new password first.")
)

// loadSession resolves a session cookie into the session and its actor.
func (p *Panel) loadSession(ctx context.Context, token, address string) (*roster.Session, *roster.Actor, error) {
	if !secure.ValidTokenFormat(token) {
		return nil, nil, errSignedOut
	}
	sess, err := p.Sessions.SessionByTokenHash(ctx, secure.HashToken(token))
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return nil, nil, errSignedOut
	} else if err != nil {
		return nil, nil, err
	}
	now := p.Clock()
	if sess.Expired(now) {
		return nil, nil, errSignedOut
	}
	if sess.Kind == roster.SessionPasswordChange {
		return nil, nil, errPasswordChange
	}
	if sess.Kind != roster.SessionWeb && sess.Kind != roster.SessionSwitch {
		return nil, nil, errSignedOut
	}
	actor, err := roster.ActorForSession(ctx, p.Users, p.Companies, sess, address)
	if roster.ErrorCode(err) == roster.EUNAUTHORIZED || err == roster.ErrAddressNotAllowed {
		return nil, nil, errSignedOut
	} else if err != nil {
		return nil, nil, err
	}
	if sess.NeedsTouch(now) {
		if err := p.Sessions.TouchSession(ctx, sess.ID, now); err != nil {
			return nil, nil, err
		}
	}
	return sess, actor, nil
}

func (p *Panel) redirectSignIn(w http.ResponseWriter, r *http.Request) {
	to := "/signin"
	if r.Method == http.MethodGet && r.URL.Path != "/" && r.URL.Query().Get("fragment") == "" {
		to += "?next=" + urlQueryEscape(r.URL.RequestURI())
	}
	if r.Header.Get(csrfHeader) != "" || r.URL.Query().Get("fragment") != "" {
		// A script's fetch: tell it to reload rather than follow into a form.
		w.Header().Set("X-Roster-Signin", to)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// need refuses the request unless the actor holds perm.
func need(r *http.Request, perm roster.Permission) error {
	if !state(r).actor.Can(perm) {
		return roster.Errorf(roster.EFORBIDDEN, "You do not have permission to do this.")
	}
	return nil
}

// ---- Sign-in ----

type signInView struct {
	*page
	Username string
	Next     string
	Error    string
	// Locked offers the "Unlock my account" link.
	Locked bool
}

func (p *Panel) handleSignInPage(w http.ResponseWriter, r *http.Request) error {
	if _, _, err := p.loadSession(r.Context(), p.cookie(r, sessionCookie), ""); err == nil {
		return p.redirect(w, r, "/users", "", 0)
	}
	v := &signInView{page: p.newPage(w, r, "signin.title", ""), Next: localPath(r.URL.Query().Get("next"), "")}
	return p.render(w, r, http.StatusOK, "signin", v)
}

func (p *Panel) handleSignIn(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	lang := state(r).lang
	username := strings.TrimSpace(r.PostFormValue("username"))
	password := r.PostFormValue("password")
	v := &signInView{page: p.newPage(w, r, "signin.title", ""), Username: username,
		Next: localPath(r.PostFormValue("next"), "")}
	fail := func(key string) error {
		v.Error = i18n.T(lang, key)
		return p.render(w, r, http.StatusUnauthorized, "signin", v)
	}
	if username == "" || password == "" {
		return fail("signin.error.empty")
	}
	if p.Credentials == nil {
		return roster.Errorf(roster.EINTERNAL, "credentials store missing")
	}
	// Every refusal — unknown name, wrong password, blocked user, an address
	// outside the user's allowlist — gets the same answer and is counted
	// the same way, so neither the page nor its 429s tell them apart.
	res, err := roster.CheckPassword(p.anonymous(r), p.Users, p.Credentials, p.Hasher, roster.PasswordCheck{
		Username: username, Password: password, Address: p.clientAddress(r), Unlock: p.unlockLink(r)})
	if err != nil {
		return err
	}
	if res.Refused.Wait > 0 {
		v.Error, v.Locked = p.waitMessage(w, r, res.Refused)
		return p.render(w, r, http.StatusTooManyRequests, "signin", v)
	}
	if !res.OK() {
		// The failure that locks says so at once.
		if f := res.Failure; f.LockedUntil != nil {
			v.Error, v.Locked = p.waitMessage(w, r, roster.Throttle{Wait: f.LockedUntil.Sub(p.Clock()), Scope: f.Scope})
			return p.render(w, r, http.StatusTooManyRequests, "signin", v)
		}
		return fail("signin.error.invalid")
	}
	u := res.User
	if u.AuthMethod != roster.AuthEmail {
		if err := p.Users.RecordSignInFailure(ctx, u.ID, "login_method_in_panel"); err != nil {
			return err
		}
		return fail("signin.error.login_method")
	}
	return p.afterPassword(w, r, u, v.Next, fail)
}

// signIn opens a web session for a user and records the sign-in.
func (p *Panel) signIn(w http.ResponseWriter, r *http.Request, userID int64) error {
	idle := roster.DefaultIdleTimeout
	if u, err := p.Users.UserByID(r.Context(), roster.Scope{All: true}, userID); err == nil {
		idle = p.idleTimeout(r.Context(), u)
	}
	token, err := p.createSession(r, userID, roster.SessionWeb, idle, roster.DefaultAbsoluteExpiry, nil, nil)
	if err != nil {
		return err
	}
	p.setCookie(w, sessionCookie, token, 0)
	p.clearCookie(w, parentCookie)
	// The event records the client's address, as API sign-ins do.
	return p.Users.RecordSignIn(p.anonymous(r), userID)
}

func (p *Panel) createSession(r *http.Request, userID int64, kind string, idle, absolute time.Duration, parentID, impersonatorID *int64) (string, error) {
	token, hash := secure.NewToken()
	now := p.Clock()
	ua := r.UserAgent()
	if len(ua) > 300 {
		ua = ua[:300]
	}
	s := &roster.Session{TokenHash: hash, Kind: kind, UserID: userID, ParentID: parentID,
		ImpersonatorID: impersonatorID, Address: p.clientAddress(r), UserAgent: ua,
		CreatedAt: now, LastSeenAt: now, IdleTimeout: idle, ExpiresAt: now.Add(absolute)}
	if err := p.Sessions.CreateSession(r.Context(), s); err != nil {
		return "", err
	}
	return token, nil
}

func (p *Panel) handleSignOut(w http.ResponseWriter, r *http.Request) error {
	st := state(r)
	ctx := r.Context()
	if err := p.Events.LogEvent(ctx, &roster.Event{CompanyID: st.actor.User.CompanyID, Type: roster.EventSignOut,
		TargetUserID: &st.actor.User.ID, TargetName: st.actor.User.DisplayName()}); err != nil {
		return err
	}
	if err := p.Sessions.DeleteSession(ctx, st.session.ID); err != nil {
		return err
	}
	// Signing out of a switch session signs out of the parent one too.
	if st.session.ParentID != nil {
		if err := p.Sessions.DeleteSession(ctx, *st.session.ParentID); err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
			return err
		}
	}
	p.clearCookie(w, sessionCookie)
	p.clearCookie(w, parentCookie)
	return p.redirect(w, r, "/signin", "flash.signed_out", 0)
}

// ---- Forced password change ----

type passwordChangeView struct {
	*page
	Errors    formErrors
	MinLength int
}

// passwordChangeSession returns the user of a live password-change session.
func (p *Panel) passwordChangeSession(r *http.Request) (*roster.Session, *roster.User, error) {
	token := p.cookie(r, sessionCookie)
	if !secure.ValidTokenFormat(token) {
		return nil, nil, errSignedOut
	}
	sess, err := p.Sessions.SessionByTokenHash(r.Context(), secure.HashToken(token))
	if err != nil || sess.Kind != roster.SessionPasswordChange || sess.Expired(p.Clock()) {
		return nil, nil, errSignedOut
	}
	u, err := p.Users.UserByID(r.Context(), roster.Scope{All: true}, sess.UserID)
	if err != nil || u.Status == roster.StatusBlocked {
		return nil, nil, errSignedOut
	}
	return sess, u, nil
}

func (p *Panel) handleForcedPasswordPage(w http.ResponseWriter, r *http.Request) error {
	_, u, err := p.passwordChangeSession(r)
	if err != nil {
		return p.redirect(w, r, "/signin", "", 0)
	}
	v := &passwordChangeView{page: p.newPage(w, r, "password.title", ""), MinLength: p.settingsOf(r.Context(), u.CompanyID).PasswordMinLength}
	return p.render(w, r, http.StatusOK, "password", v)
}

func (p *Panel) handleForcedPassword(w http.ResponseWriter, r *http.Request) error {
	sess, u, err := p.passwordChangeSession(r)
	if err != nil {
		return p.redirect(w, r, "/signin", "", 0)
	}
	lang := state(r).lang
	pw := r.PostFormValue("new_password")
	minLen := p.settingsOf(r.Context(), u.CompanyID).PasswordMinLength
	var val roster.Validation
	roster.ValidatePassword(&val, "new_password", pw, u, minLen)
	if pw != r.PostFormValue("confirm_password") && !val.Has("new_password") {
		val.Add("confirm_password", "password_mismatch", "The passwords do not match.")
	}
	if err := val.Err(); err != nil {
		fe, _ := passwordFormErrors(lang, err, minLen)
		v := &passwordChangeView{page: p.newPage(w, r, "password.title", ""), Errors: *fe, MinLength: minLen}
		return p.render(w, r, http.StatusUnprocessableEntity, "password", v)
	}
	hash, err := p.Hasher.Hash(r.Context(), pw)
	if err != nil {
		return err
	}
	if err := p.Users.ChangeOwnPassword(r.Context(), u.ID, hash); err != nil {
		return err
	}
	if err := p.Sessions.DeleteSession(r.Context(), sess.ID); err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
		return err
	}
	if err := p.signIn(w, r, u.ID); err != nil {
		return err
	}
	return p.redirect(w, r, "/users", "flash.password_changed", 0)
}

// ---- Language ----

func (p *Panel) handleLanguage(w http.ResponseWriter, r *http.Request) error {
	lang := r.PostFormValue("lang")
	if !i18n.Supported(lang) {
		return roster.Errorf(roster.EINVALID, "Unknown language.")
	}
	p.setCookie(w, langCookie, lang, 365*24*time.Hour)
	return p.redirect(w, r, localPath(r.PostFormValue("return"), "/"), "", 0)
}

// ---- Home ----

func (p *Panel) handleHome(w http.ResponseWriter, r *http.Request) error {
	a := state(r).actor
	// A fresh installation starts with a company: people belong to one.
	if g, err := p.App.Companies.FirstRun(r.Context()); err != nil {
		return err
	} else if g != nil && g.NeedCompany {
		return p.redirect(w, r, "/companies#newco-title", "", 0)
	}
	switch {
	case a.Can(roster.PermUsersView):
		return p.redirect(w, r, "/users", "", 0)
	default:
		return p.redirect(w, r, "/profile", "", 0)
	}
}
