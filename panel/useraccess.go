package panel

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/panel/i18n"
)

// This file holds the user card's credential actions (issue 3, U5):
// "Reset 2FA to e-mail", "Disable 2FA", unlock, the IP allowlist and idle
// timeout, an e-mailed password-reset link and ending the user's
// sessions. All need users.credentials, and none applies to oneself.

// handleUserMFAReset switches a user to e-mail codes (their TOTP device is
// lost, or they had none), ends their sessions and tells them by e-mail.
func (p *Panel) handleUserMFAReset(w http.ResponseWriter, r *http.Request) error {
	return p.userAction(w, r, roster.PermUsersCredentials, "mfa", "flash.mfa_reset", func(ctx context.Context, a *roster.Actor, id int64) error {
		_, err := p.App.Users.ResetMFA(ctx, id)
		return err
	})
}

// handleUserMFADisable turns a user's 2FA off, ends their sessions and
// tells them by e-mail.
func (p *Panel) handleUserMFADisable(w http.ResponseWriter, r *http.Request) error {
	return p.userAction(w, r, roster.PermUsersCredentials, "mfa", "flash.mfa_disabled", func(ctx context.Context, a *roster.Actor, id int64) error {
		_, err := p.App.Users.DisableMFA(ctx, id)
		return err
	})
}

// handleUserUnlock lifts a brute-force lock.
func (p *Panel) handleUserUnlock(w http.ResponseWriter, r *http.Request) error {
	return p.userAction(w, r, roster.PermUsersCredentials, "", "flash.user_unlocked", func(ctx context.Context, a *roster.Actor, id int64) error {
		_, err := p.App.Users.Unlock(ctx, id)
		return err
	})
}

// handleUserSessionsEnd ends every session of a user.
func (p *Panel) handleUserSessionsEnd(w http.ResponseWriter, r *http.Request) error {
	return p.userAction(w, r, roster.PermUsersCredentials, "", "flash.sessions_ended", func(ctx context.Context, a *roster.Actor, id int64) error {
		_, err := p.App.Users.EndSessions(ctx, id)
		return err
	})
}

// handleUserResetLink e-mails a single-use password-reset link valid one
// hour to an e-mail-method user (U9); a login user gets a new temporary
// password instead, as from the password-reset action.
func (p *Panel) handleUserResetLink(w http.ResponseWriter, r *http.Request) error {
	return p.handleUserPasswordReset(w, r)
}

// handleUserAccess saves the IP allowlist (one entry per line, an error
// for each bad entry) and the idle timeout (empty: the company default).
func (p *Panel) handleUserAccess(w http.ResponseWriter, r *http.Request) error {
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return roster.Errorf(roster.ENOTFOUND, "User not found.")
	}
	if err := need(r, roster.PermUsersCredentials); err != nil {
		return err
	}
	ctx, st := r.Context(), state(r)
	entries := []string{}
	var val roster.Validation
	var bad []string
	for _, line := range strings.Split(r.PostFormValue("ip_allowlist"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if _, err := roster.ParseAllowlist([]string{line}); err != nil {
			bad = append(bad, i18n.T(st.lang, "access.bad_entry", line))
		}
		entries = append(entries, line)
	}
	if len(bad) > 0 {
		val.Add("ip_allowlist", "allowlist_entries", strings.Join(bad, "\n"))
	} else if _, err := roster.ParseAllowlist(entries); err != nil {
		val.Add("ip_allowlist", "allowlist_too_many", i18n.T(st.lang, "access.too_many", roster.MaxAllowlistEntries))
	}
	upd := roster.AccessUpdate{IPAllowlist: &entries}
	idle := strings.TrimSpace(r.PostFormValue("idle_timeout"))
	if idle == "" {
		upd.ClearIdleTimeout = true
	} else if n, err := strconv.Atoi(idle); err != nil {
		val.Add("idle_timeout", "idle_timeout", "The idle timeout is 60 to 43200 seconds (12 hours).")
	} else {
		if n < roster.MinIdleTimeout || n > roster.MaxIdleTimeout {
			val.Add("idle_timeout", "idle_timeout", "The idle timeout is 60 to 43200 seconds (12 hours).")
		}
		upd.IdleTimeoutSeconds = &n
	}
	err := val.Err()
	if err == nil {
		_, err = p.App.Users.Update(ctx, id, roster.UserUpdate{Access: &upd})
	}
	if err != nil {
		fe, ok := newFormErrors(st.lang, err)
		if !ok {
			return err
		}
		return p.cardRefused(w, r, id, err, "access", func(v *userView) error {
			v.Errors = *fe
			v.Form["ip_allowlist"], v.Form["idle_timeout"] = r.PostFormValue("ip_allowlist"), idle
			return nil
		})
	}
	return p.redirect(w, r, "/users/"+strconv.FormatInt(id, 10), "flash.access_saved", 0)
}
