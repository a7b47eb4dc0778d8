package panel

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"image/png"
	"net/http"
	"net/url"
	"time"

	"github.com/pquerna/otp"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/mfa"
	"github.com/roster-app/roster/secure"
)

// This file serves Profile → Security (/profile/security): TOTP
// enrolment with a QR code and recovery codes shown once, the choice of
// e-mail codes or no second factor, the user's own sessions, and the
// keep-alive ping of the idle-logout warning.

// securityView is the security page.
type securityView struct {
	*page
	User     *roster.User
	Sessions []sessionRow
	// Enrol is set while a TOTP secret waits for its confirming code.
	Enrol *totpEnrolment
	// RecoveryCodes are shown once, right after TOTP is confirmed.
	RecoveryCodes []string
	Errors        formErrors
	Open          string
}

// totpEnrolment is what the user scans or types.
type totpEnrolment struct {
	Secret string
	// QR is a data: URL of the QR code PNG (the CSP allows data: images).
	QR template.URL
}

// sessionRow is one session in a list.
type sessionRow struct {
	*roster.Session
	Current bool
}

// Browser guesses a short name for the session's user agent.
func (s sessionRow) Browser() string { return browserName(s.UserAgent) }

func (p *Panel) securityPage(w http.ResponseWriter, r *http.Request) (*securityView, error) {
	st := state(r)
	list, err := p.Credentials.UserSessions(r.Context(), st.actor.User.ID)
	if err != nil {
		return nil, err
	}
	v := &securityView{page: p.newPage(w, r, "security.title", "profile"), User: st.actor.User}
	for _, s := range list {
		v.Sessions = append(v.Sessions, sessionRow{Session: s, Current: s.ID == st.session.ID})
	}
	return v, nil
}

// notImpersonated refuses changing the credentials of an account one acts as.
func notImpersonated(r *http.Request) error {
	if state(r).actor.Impersonator != nil {
		return roster.Errorf(roster.EFORBIDDEN, "You cannot change the security settings of an account you act as.")
	}
	return nil
}

func (p *Panel) handleSecurity(w http.ResponseWriter, r *http.Request) error {
	v, err := p.securityPage(w, r)
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "security", v)
}

// totpQR renders the enrolment of a base32 secret.
func totpQR(account, secret string) (*totpEnrolment, error) {
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/Roster:" + account,
		RawQuery: url.Values{"secret": {secret}, "issuer": {"Roster"}, "period": {"30"}, "digits": {"6"}, "algorithm": {"SHA1"}}.Encode()}
	key, err := otp.NewKeyFromURL(u.String())
	if err != nil {
		return nil, err
	}
	img, err := key.Image(200, 200)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return &totpEnrolment{Secret: secret, QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))}, nil
}

// handleTOTPStart makes a new TOTP secret to scan; it takes effect once a
// code confirms it. The current password is required, as in the API.
func (p *Panel) handleTOTPStart(w http.ResponseWriter, r *http.Request) error {
	if err := notImpersonated(r); err != nil {
		return err
	}
	ctx := r.Context()
	a := state(r).actor
	var val roster.Validation
	status, err := p.checkCurrentPassword(w, r, r.PostFormValue("current_password"), &val)
	if err != nil {
		return err
	}
	if err := val.Err(); err != nil {
		return p.securityRefused(w, r, err, status, "totp")
	}
	if err := p.keys(ctx); err != nil {
		return err
	}
	secret, _, _, err := mfa.NewTOTPKey("Roster", a.User.Username())
	if err != nil {
		return err
	}
	enc, err := secure.Encrypt(p.creds.totpKey, []byte(secret))
	if err != nil {
		return err
	}
	if err := p.Credentials.SetPendingTOTP(ctx, a.User.ID, enc); err != nil {
		return err
	}
	v, err := p.securityPage(w, r)
	if err != nil {
		return err
	}
	if v.Enrol, err = totpQR(a.User.Username(), secret); err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "security", v)
}

// handleTOTPConfirm turns TOTP on with a first code and shows the
// recovery codes, this once.
func (p *Panel) handleTOTPConfirm(w http.ResponseWriter, r *http.Request) error {
	if err := notImpersonated(r); err != nil {
		return err
	}
	ctx := r.Context()
	a := state(r).actor
	if err := p.keys(ctx); err != nil {
		return err
	}
	enc, err := p.Credentials.PendingTOTP(ctx, a.User.ID)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return p.redirect(w, r, "/profile/security", "flash.totp_start_again", 0)
	} else if err != nil {
		return err
	}
	secret, err := secure.Decrypt(p.creds.totpKey, enc)
	if err != nil {
		return err
	}
	step, ok := mfa.ValidateTOTP(string(secret), r.PostFormValue("code"), p.Clock(), 0)
	if !ok {
		v, err := p.securityPage(w, r)
		if err != nil {
			return err
		}
		if v.Enrol, err = totpQR(a.User.Username(), string(secret)); err != nil {
			return err
		}
		var val roster.Validation
		val.Add("code", "wrong_code", "The code does not match; check the time on your phone and try the next code.")
		fe, _ := newFormErrors(state(r).lang, val.Err())
		v.Errors = *fe
		return p.render(w, r, http.StatusUnprocessableEntity, "security", v)
	}
	codes, hashes := mfa.NewRecoveryCodes(mfa.DefaultRecoveryCodes)
	if err := p.Credentials.ConfirmTOTP(ctx, a.User.ID, step, hashes); err != nil {
		return err
	}
	v, err := p.securityPage(w, r)
	if err != nil {
		return err
	}
	v.User.MFAMethod = roster.MFATOTP
	v.RecoveryCodes = codes
	v.Flash = v.T("flash.totp_enabled")
	return p.render(w, r, http.StatusOK, "security", v)
}

// handleMyMFA lets users choose e-mail codes or turn their second factor
// off; TOTP is chosen by enrolling. The current password is required.
func (p *Panel) handleMyMFA(w http.ResponseWriter, r *http.Request) error {
	if err := notImpersonated(r); err != nil {
		return err
	}
	ctx := r.Context()
	a := state(r).actor
	method := r.PostFormValue("method")
	var val roster.Validation
	switch method {
	case roster.MFAEmail:
		if a.User.Email == "" {
			val.Add("method", "no_email", "Your account has no e-mail address to receive codes.")
		}
	case roster.MFANone:
	default:
		val.Add("method", "invalid_choice", "Choose one of the offered values.")
	}
	status, err := p.checkCurrentPassword(w, r, r.PostFormValue("current_password"), &val)
	if err != nil {
		return err
	}
	if err := val.Err(); err != nil {
		return p.securityRefused(w, r, err, status, "method")
	}
	if _, err := p.Credentials.SetMFAMethod(ctx, roster.Scope{All: true}, a.User.ID, method, nil); err != nil {
		return err
	}
	return p.redirect(w, r, "/profile/security", "flash.mfa_method_"+method, 0)
}

// handleMySessionEnd ends one of the user's own sessions.
func (p *Panel) handleMySessionEnd(w http.ResponseWriter, r *http.Request) error {
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return roster.Errorf(roster.ENOTFOUND, "Session not found.")
	}
	a := state(r).actor
	if err := p.Credentials.EndUserSession(r.Context(), a.User.ID, id); err != nil {
		return err
	}
	if err := p.Events.LogEvent(r.Context(), &roster.Event{CompanyID: a.User.CompanyID, Type: roster.EventSessionsEnded,
		TargetUserID: &a.User.ID, TargetName: a.User.DisplayName(), After: map[string]any{"session_id": id}}); err != nil {
		p.Logger.ErrorContext(r.Context(), "log event", "err", err)
	}
	if id == state(r).session.ID {
		p.clearCookie(w, sessionCookie)
		return p.redirect(w, r, "/signin", "flash.signed_out", 0)
	}
	return p.redirect(w, r, "/profile/security", "flash.session_ended", 0)
}

// handlePing keeps the session alive: the middleware has touched it. The
// idle-logout dialog's "Stay signed in" posts here.
func (p *Panel) handlePing(w http.ResponseWriter, r *http.Request) error {
	if r.Header.Get(csrfHeader) == "" {
		return p.redirect(w, r, localPath(r.PostFormValue("return"), "/"), "", 0)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// IdleSeconds is the idle timeout of the page's session, for the warning
// script; 0 when there is no session.
func (pg *page) IdleSeconds() int {
	if pg.idle <= 0 {
		return 0
	}
	return int(pg.idle / time.Second)
}

// IntP dereferences an optional number for a template.
func (pg *page) IntP(n *int) int {
	if n == nil {
		return 0
	}
	return *n
}

// securityRefused shows the security page again with the refusal err next
// to the fields of the folded section open, answering 422 (or the 429 of a
// current password that must wait).
func (p *Panel) securityRefused(w http.ResponseWriter, r *http.Request, err error, status int, open string) error {
	v, perr := p.securityPage(w, r)
	if perr != nil {
		return perr
	}
	fe, _ := newFormErrors(state(r).lang, err)
	v.Errors, v.Open = *fe, open
	if status != http.StatusTooManyRequests {
		status = http.StatusUnprocessableEntity
	}
	return p.render(w, r, status, "security", v)
}
