package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
	"github.com/roster-app/roster/secure"
)

// errWrongCredentials is the one answer to every refused sign-in: unknown
// user, wrong password, blocked user, invited user without a password.
var errWrongCredentials = roster.Errorf(roster.EUNAUTHORIZED, "Wrong username or password.")

// authenticate finds the session of the request's bearer token and builds
// the actor from fresh rows: a blocked user's token dies at once and a role
// change applies on the next request.
func (s *Server) authenticate(r *http.Request) (*roster.Actor, *roster.Session, error) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if ok && isServiceToken(strings.TrimSpace(token)) {
		a, err := s.authenticateServiceToken(r, strings.TrimSpace(token))
		return a, nil, err
	}
	if !ok || !secure.ValidTokenFormat(strings.TrimSpace(token)) {
		return nil, nil, errUnauthorized
	}
	ctx := r.Context()
	sess, err := s.Sessions.SessionByTokenHash(ctx, secure.HashToken(strings.TrimSpace(token)))
	if err != nil {
		return nil, nil, unauthorizedUnlessInternal(err)
	}
	now := s.now()
	// Password-change tokens travel in a body, panel cookies in a cookie:
	// neither is a bearer token.
	if sess.Expired(now) || (sess.Kind != roster.SessionAPI && sess.Kind != roster.SessionSwitch) {
		return nil, nil, errUnauthorized
	}
	if sess.NeedsTouch(now) {
		if err := s.Sessions.TouchSession(ctx, sess.ID, now); err != nil {
			return nil, nil, unauthorizedUnlessInternal(err)
		}
	}
	actor, err := roster.ActorForSession(ctx, s.Users, s.Companies, sess, addressOf(r))
	if err == roster.ErrAddressNotAllowed {
		s.Logger.WarnContext(r.Context(), "request refused: address not in the user's allowlist", "user_id", sess.UserID, "addr", addressOf(r))
		return nil, nil, err
	} else if err != nil {
		return nil, nil, unauthorizedUnlessInternal(err)
	}
	return actor, sess, nil
}

// unauthorizedUnlessInternal turns "not found" into 401 and keeps real failures.
func unauthorizedUnlessInternal(err error) error {
	if err == nil || roster.ErrorCode(err) == roster.ENOTFOUND || roster.ErrorCode(err) == roster.EUNAUTHORIZED {
		return errUnauthorized
	}
	return err
}

// loginRequest is the body of POST /api/v1/auth/login.
type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// loginResponse answers a successful sign-in, password change or switch.
type loginResponse struct {
	Token        string       `json:"token"`
	ExpiresAt    time.Time    `json:"expires_at"`
	User         *roster.User `json:"user"`
	Impersonator *roster.User `json:"impersonator,omitempty"`
}

// passwordChangeStep answers a sign-in with a temporary password.
type passwordChangeStep struct {
	PasswordChangeRequired bool      `json:"password_change_required"`
	ChangeToken            string    `json:"change_token"`
	ExpiresAt              time.Time `json:"expires_at"`
}

// handleLogin signs a user in with e-mail or login and password.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var v roster.Validation
	if strings.TrimSpace(req.Username) == "" {
		v.Add("username", "required", "Enter your e-mail or login.")
	}
	if req.Password == "" {
		v.Add("password", "required", "Enter your password.")
	}
	if err := v.Err(); err != nil {
		return err
	}
	// Every refusal — unknown name, wrong password, blocked user, an address
	// outside the user's allowlist — is the same 401, counted the same way,
	// so the answers (and their sequence of 429s) never tell which it was.
	res, err := roster.CheckPassword(anonymous(r), s.Users, s.Credentials, s.Hasher, roster.PasswordCheck{
		Username: strings.TrimSpace(req.Username), Password: req.Password, Address: addressOf(r), Unlock: s.unlockLink(r)})
	if err != nil {
		return err
	}
	if res.Refused.Wait > 0 {
		return tooManySignIns(w, res.Refused)
	}
	if !res.OK() {
		return errWrongCredentials
	}
	return s.afterPassword(w, r, res.User)
}

// tooManySignIns answers 429 with Retry-After for a sign-in that must wait;
// the text depends only on the scope, never on whether the account exists.
func tooManySignIns(w http.ResponseWriter, t roster.Throttle) error {
	switch t.Scope {
	case roster.ScopeAddress:
		return tooMany(w, t.Wait, "Too many failed sign-ins from your address. Try again later.")
	case roster.ScopeAccount:
		return tooMany(w, t.Wait, "Too many failed sign-ins for this account. Its owner can unlock it with the link e-mailed to them "+
			"(or ask for one: POST /api/v1/auth/unlock), or an administrator can unlock it.")
	}
	return tooMany(w, t.Wait, "Too many failed sign-ins for this account from your address. Try again later.")
}

// startPasswordChange issues a short-lived token usable only to set a new password.
func (s *Server) startPasswordChange(w http.ResponseWriter, r *http.Request, u *roster.User) error {
	token, hash := secure.NewToken()
	now := s.now()
	sess := &roster.Session{TokenHash: hash, Kind: roster.SessionPasswordChange, UserID: u.ID,
		Address: addressOf(r), UserAgent: r.UserAgent(), CreatedAt: now, LastSeenAt: now,
		IdleTimeout: roster.PasswordChangeTTL, ExpiresAt: now.Add(roster.PasswordChangeTTL)}
	if err := s.Sessions.CreateSession(r.Context(), sess); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, passwordChangeStep{PasswordChangeRequired: true, ChangeToken: token, ExpiresAt: sess.ExpiresAt})
}

// signIn creates an API session for u, records the sign-in and answers
// the token.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, u *roster.User, status int) error {
	ctx := r.Context()
	token, sess, err := s.newSession(r, u.ID, roster.SessionAPI, nil, nil, roster.DefaultAbsoluteExpiry)
	if err != nil {
		return err
	}
	actx := roster.NewContextWithActor(ctx, &roster.Actor{User: u, Address: addressOf(r), SessionID: sess.ID, SessionKind: sess.Kind})
	if err := s.Users.RecordSignIn(actx, u.ID); err != nil {
		return err
	}
	if fresh, err := s.Users.UserByID(ctx, roster.Scope{All: true}, u.ID); err == nil {
		u = fresh
	}
	return writeJSON(w, status, loginResponse{Token: token, ExpiresAt: sess.ExpiresAtNow(s.now()), User: u})
}

// newSession stores a new session of kind for userID and returns its token.
func (s *Server) newSession(r *http.Request, userID int64, kind string, parentID, impersonatorID *int64, ttl time.Duration) (string, *roster.Session, error) {
	token, hash := secure.NewToken()
	now := s.now()
	sess := &roster.Session{TokenHash: hash, Kind: kind, UserID: userID, ParentID: parentID,
		ImpersonatorID: impersonatorID, Address: addressOf(r), UserAgent: r.UserAgent(),
		CreatedAt: now, LastSeenAt: now, IdleTimeout: s.idleTimeout(r.Context(), userID), ExpiresAt: now.Add(ttl)}
	if err := s.Sessions.CreateSession(r.Context(), sess); err != nil {
		return "", nil, err
	}
	return token, sess, nil
}

// passwordChangeRequest is the body of POST /api/v1/auth/password-change.
type passwordChangeRequest struct {
	ChangeToken string `json:"change_token"`
	NewPassword string `json:"new_password"`
}

var errChangeToken = roster.Errorf(roster.EUNAUTHORIZED, "This password-change token is wrong or has expired; sign in again.")

// handlePasswordChange sets the permanent password after a sign-in with a
// temporary one, and signs the user in.
func (s *Server) handlePasswordChange(w http.ResponseWriter, r *http.Request) error {
	var req passwordChangeRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if !secure.ValidTokenFormat(req.ChangeToken) {
		return errChangeToken
	}
	ctx := r.Context()
	sess, err := s.Sessions.SessionByTokenHash(ctx, secure.HashToken(req.ChangeToken))
	if err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return errChangeToken
		}
		return err
	}
	if sess.Kind != roster.SessionPasswordChange || sess.Expired(s.now()) {
		return errChangeToken
	}
	u, err := s.Users.UserByID(ctx, roster.Scope{All: true}, sess.UserID)
	if err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return errChangeToken
		}
		return err
	}
	if u.Status == roster.StatusBlocked {
		return errChangeToken
	}
	var v roster.Validation
	roster.ValidatePassword(&v, "new_password", req.NewPassword, u, s.settingsOf(ctx, u.CompanyID).PasswordMinLength)
	if err := v.Err(); err != nil {
		return err
	}
	hash, err := s.Hasher.Hash(ctx, req.NewPassword)
	if err != nil {
		return err
	}
	actx := roster.NewContextWithActor(ctx, &roster.Actor{User: u, Address: addressOf(r)})
	if err := s.Users.ChangeOwnPassword(actx, u.ID, hash); err != nil {
		return err
	}
	if err := s.Sessions.DeleteSession(ctx, sess.ID); err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
		return err
	}
	u.Status, u.PasswordTemporary = roster.StatusActive, false
	return s.signIn(w, r, u, http.StatusOK)
}

// handleLogout ends the session of the request's token.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) error {
	a := actorOf(r)
	ctx := r.Context()
	if err := s.Sessions.DeleteSession(ctx, a.SessionID); err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
		return err
	}
	s.logEvent(r, &roster.Event{CompanyID: a.User.CompanyID, Type: roster.EventSignOut, TargetUserID: &a.User.ID, TargetName: a.User.DisplayName()})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// logEvent writes a security event; failing to log is logged, not fatal,
// because the action itself has already happened.
func (s *Server) logEvent(r *http.Request, e *roster.Event) {
	a := actorOf(r)
	if a != nil {
		if a.User != nil {
			e.ActorID, e.ActorName = &a.User.ID, a.User.DisplayName()
		} else {
			e.ActorName = a.Name()
		}
		if a.Impersonator != nil {
			e.ImpersonatorID, e.ImpersonatorName = &a.Impersonator.ID, a.Impersonator.DisplayName()
		}
		e.Address = a.Address
	}
	e.CreatedAt = s.now()
	if err := s.Events.LogEvent(r.Context(), e); err != nil {
		s.Logger.ErrorContext(r.Context(), "log event", "type", e.Type, "err", err)
	}
}

// meResponse is the body of GET /api/v1/me.
type meResponse struct {
	User         *roster.User        `json:"user"`
	Company      *roster.Company     `json:"company"`
	Permissions  []roster.Permission `json:"permissions"`
	Impersonator *roster.User        `json:"impersonator"`
	Session      sessionInfo         `json:"session"`
}

type sessionInfo struct {
	Kind      string    `json:"kind"`
	ExpiresAt time.Time `json:"expires_at"`
}

// handleMe describes the caller: who, where, what they may do, and who is
// behind a switch session.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) error {
	a := actorOf(r)
	sess := sessionOf(r)
	return writeJSON(w, http.StatusOK, meResponse{
		User: a.User, Company: a.Company, Permissions: a.Permissions.Sorted(), Impersonator: a.Impersonator,
		Session: sessionInfo{Kind: sess.Kind, ExpiresAt: sess.ExpiresAtNow(s.now())},
	})
}

// switchRequest is the optional body of POST /api/v1/companies/{id}/switch.
type switchRequest struct {
	UserID *int64 `json:"user_id"`
}

// handleCompanySwitch lets a reseller administrator act as an
// administrator of a direct dependent company (U15).
func (s *Server) handleCompanySwitch(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req switchRequest
	if err := decodeJSONOptional(r, &req, true); err != nil {
		return err
	}
	sw, err := s.App.Companies.Switch(r.Context(), id, req.UserID, app.SessionMeta{Address: addressOf(r), UserAgent: r.UserAgent()})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, loginResponse{Token: sw.Token, ExpiresAt: sw.Session.ExpiresAtNow(s.now()), User: sw.Admin,
		Impersonator: actorOf(r).User})
}

// handleSwitchBack ends a switch session. The client goes back to the
// token it held before switching, which stayed valid all along.
func (s *Server) handleSwitchBack(w http.ResponseWriter, r *http.Request) error {
	a := actorOf(r)
	if a.SessionKind != roster.SessionSwitch || a.Impersonator == nil {
		return roster.Errorf(roster.ECONFLICT, "You are not acting in another company.")
	}
	if err := s.Sessions.DeleteSession(r.Context(), a.SessionID); err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
		return err
	}
	s.logEvent(r, &roster.Event{CompanyID: a.User.CompanyID, Type: roster.EventSwitchBack, TargetUserID: &a.User.ID, TargetName: a.User.DisplayName()})
	return writeJSON(w, http.StatusOK, map[string]any{"user": a.Impersonator})
}
