package panel

import (
	"net/http"
	"strings"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/panel/i18n"
	"github.com/roster-app/roster/secure"
)

// This file serves "Unlock my account" (issue 11): asking for an unlock
// link by e-mail, and the link itself, which lifts every sign-in lock of
// the account. The link page only shows a button: opening the link (as
// mail scanners do) changes nothing, the button's POST does.

// unlockView is the request form, its one answer, or the link's button.
type unlockView struct {
	*page
	Email string
	Sent  bool
	Error string
	// Token is set on the link's page.
	Token string
}

func (p *Panel) handleUnlockRequestPage(w http.ResponseWriter, r *http.Request) error {
	v := &unlockView{page: p.newPage(w, r, "unlock.title", ""), Email: strings.TrimSpace(r.URL.Query().Get("email"))}
	return p.render(w, r, http.StatusOK, "unlock", v)
}

// handleUnlockRequest e-mails an unlock link. Like "Forgot password" the
// page says the same whether or not the address exists, and at most one
// e-mail goes out every 5 minutes and 3 an hour per account.
func (p *Panel) handleUnlockRequest(w http.ResponseWriter, r *http.Request) error {
	email := roster.NormalizeEmail(r.PostFormValue("email"))
	v := &unlockView{page: p.newPage(w, r, "unlock.title", ""), Email: email}
	if email == "" {
		v.Error = i18n.T(state(r).lang, "forgot.empty")
		return p.render(w, r, http.StatusUnprocessableEntity, "unlock", v)
	}
	if msg, err := p.throttleMessage(w, r); err != nil {
		return err
	} else if msg != "" {
		v.Error = msg
		return p.render(w, r, http.StatusTooManyRequests, "unlock", v)
	}
	if p.Credentials == nil {
		return roster.Errorf(roster.EINTERNAL, "credentials store missing")
	}
	sent, err := roster.RequestUnlock(r.Context(), p.anonymous(r), p.Users, p.Credentials, roster.UnlockRequest{
		Username: email, Link: *p.unlockLink(r)})
	if err != nil {
		return err
	}
	if sent {
		p.jobsWritten()
	}
	v.Sent = true
	return p.render(w, r, http.StatusOK, "unlock", v)
}

func (p *Panel) handleUnlockPage(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	if !secure.ValidTokenFormat(token) {
		return p.linkProblem(w, r, "unlock.title", "unlock.invalid")
	}
	v := &unlockView{page: p.newPage(w, r, "unlock.title", ""), Token: token}
	return p.render(w, r, http.StatusOK, "unlock", v)
}

// handleUnlock lifts the locks of the link's holder; the link dies. It
// does not sign in.
func (p *Panel) handleUnlock(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	if p.Credentials == nil || !secure.ValidTokenFormat(token) {
		return p.linkProblem(w, r, "unlock.title", "unlock.invalid")
	}
	if _, err := p.Credentials.UnlockWithToken(p.anonymous(r), secure.HashToken(token)); err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return p.linkProblem(w, r, "unlock.title", "unlock.invalid")
		}
		return err
	}
	return p.redirect(w, r, "/signin", "flash.unlocked", 0)
}
