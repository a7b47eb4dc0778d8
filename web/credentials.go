package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/mail"
	"github.com/roster-app/roster/mfa"
	"github.com/roster-app/roster/outbox"
	"github.com/roster-app/roster/secure"
)

// This file serves issue 3: invitations and registration, password
// change and reset, brute-force answers, two-factor sign-in and
// enrolment, sessions, company credential settings and the outbox.

// credentialRoutes are the rows of the route table for credentials.
func (s *Server) credentialRoutes() []route {
	P := func(ps ...roster.Permission) access { return anyOf(ps...) }
	return []route{
		{"GET", "/api/v1/registration/{token}", public(), s.handleRegistrationGet, docRegistrationGet},
		{"POST", "/api/v1/registration/{token}", public(), s.handleRegistrationPost, docRegistrationPost},
		{"POST", "/api/v1/auth/forgot-password", public(), s.handleForgotPassword, docForgotPassword},
		{"POST", "/api/v1/auth/password-reset", public(), s.handlePasswordResetToken, docPasswordResetToken},
		{"POST", "/api/v1/auth/unlock", public(), s.handleUnlockRequest, docUnlockRequest},
		{"POST", "/api/v1/auth/unlock/{token}", public(), s.handleUnlock, docUnlock},
		{"POST", "/api/v1/auth/mfa", public(), s.handleMFA, docMFA},
		{"POST", "/api/v1/auth/mfa/resend", public(), s.handleMFAResend, docMFAResend},
		{"POST", "/api/v1/me/password", authenticated(), s.handleMyPassword, docMyPassword},
		{"PUT", "/api/v1/me/2fa", authenticated(), s.handleMyMFA, docMyMFA},
		{"POST", "/api/v1/me/2fa/totp", authenticated(), s.handleTOTPStart, docTOTPStart},
		{"POST", "/api/v1/me/2fa/totp/confirm", authenticated(), s.handleTOTPConfirm, docTOTPConfirm},
		{"POST", "/api/v1/me/2fa/recovery-codes", authenticated(), s.handleRecoveryCodes, docRecoveryCodes},
		{"GET", "/api/v1/me/sessions", authenticated(), s.handleMySessions, docMySessions},
		{"DELETE", "/api/v1/me/sessions/{id}", authenticated(), s.handleMySessionDelete, docMySessionDelete},
		{"POST", "/api/v1/users/{id}/unlock", P(roster.PermUsersCredentials), s.handleUserUnlock, docUserUnlock},
		{"POST", "/api/v1/users/{id}/2fa/reset-to-email", P(roster.PermUsersCredentials), s.handleUserMFAReset, docUserMFAReset},
		{"POST", "/api/v1/users/{id}/2fa/disable", P(roster.PermUsersCredentials), s.handleUserMFADisable, docUserMFADisable},
		{"DELETE", "/api/v1/users/{id}/sessions", P(roster.PermUsersCredentials), s.handleUserSessionsDelete, docUserSessionsDelete},
		{"GET", "/api/v1/companies/{id}/settings", authenticated(), s.handleCompanySettingsGet, docCompanySettingsGet},
		{"PATCH", "/api/v1/companies/{id}/settings", authenticated(), s.handleCompanySettingsPatch, docCompanySettingsPatch},
		{"GET", "/api/v1/outbox", authenticated(), s.handleOutbox, docOutbox},
	}
}

// ---- keys, settings and e-mail ----

// Key purposes of secure.DeriveKey.
const totpKeyPurpose = "roster totp v1"

// masterSecretName is the Platform.Secret used as master key when
// ROSTER_SECRET_KEY is not set, so a fresh installation works.
const masterSecretName = "master_key"

// keys derives the TOTP key and the outbox once.
func (s *Server) keys(ctx context.Context) error {
	s.keysOnce.Do(func() {
		master := s.SecretKey
		if len(master) == 0 {
			if master, s.keysErr = s.Platform.Secret(ctx, masterSecretName); s.keysErr != nil {
				return
			}
		}
		s.totpKey = secure.DeriveKey(master, totpKeyPurpose)
		s.outboxBox = s.Outbox
		if s.outboxBox == nil {
			s.outboxBox = outbox.New(master)
		}
	})
	return s.keysErr
}

// box returns the outbox sealing e-mail jobs.
func (s *Server) box(ctx context.Context) (*outbox.Box, error) {
	if err := s.keys(ctx); err != nil {
		return nil, err
	}
	return s.outboxBox, nil
}

// baseURL is the public address for links: the configured one, or the
// request's own host.
func (s *Server) baseURL(r *http.Request) string {
	if s.BaseURL != "" {
		return s.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// settingsOf returns a company's credential settings, or the defaults.
func (s *Server) settingsOf(ctx context.Context, companyID int64) *roster.CompanySettings {
	cs, err := s.Credentials.CompanySettings(ctx, roster.Scope{All: true}, companyID)
	if err != nil {
		s.Logger.ErrorContext(ctx, "company settings", "company_id", companyID, "err", err)
		return &roster.CompanySettings{CompanyID: companyID, InvitationTTLHours: 8,
			PasswordMinLength: roster.DefaultPasswordMinLength, IdleTimeoutSeconds: int(roster.DefaultIdleTimeout / time.Second)}
	}
	return cs
}

// idleTimeout is the idle logout of a user's new session.
func (s *Server) idleTimeout(ctx context.Context, userID int64) time.Duration {
	u, err := s.Users.UserByID(ctx, roster.Scope{All: true}, userID)
	if err != nil {
		return roster.DefaultIdleTimeout
	}
	return u.IdleTimeout(s.settingsOf(ctx, u.CompanyID).IdleTimeoutSeconds)
}

// mailJob seals one e-mail to u as a job.
func (s *Server) mailJob(ctx context.Context, u *roster.User, kind string, data any) (*roster.Job, error) {
	b, err := s.box(ctx)
	if err != nil {
		return nil, err
	}
	return b.NewJob(u.Email, u.Lang, kind, data)
}

// jobsWritten wakes the worker after a job was committed.
func (s *Server) jobsWritten() {
	if s.NotifyJobs != nil {
		s.NotifyJobs()
	}
}

// resetJob makes the e-mail carrying a password-reset token to u.
func (s *Server) resetJob(r *http.Request, u *roster.User, token string) (*roster.Job, error) {
	return s.mailJob(r.Context(), u, mail.KindPasswordReset, mail.PasswordReset{BaseURL: s.baseURL(r), Token: token,
		Name: u.DisplayName(), ValidFor: roster.PasswordResetTTL})
}

// unlockLink makes a new unlock token and the e-mail carrying it, for
// roster.CheckPassword to send if a failure locks the account everywhere.
func (s *Server) unlockLink(r *http.Request) *roster.UnlockLink {
	token, hash := secure.NewToken()
	return &roster.UnlockLink{Hash: hash, Now: s.now, MailJob: func(u *roster.User) (*roster.Job, error) {
		return s.mailJob(r.Context(), u, mail.KindUnlock, mail.Unlock{BaseURL: s.baseURL(r), Token: token,
			Name: u.DisplayName(), ValidFor: roster.UnlockLinkTTL})
	}}
}

// tooMany answers 429 with Retry-After.
func tooMany(w http.ResponseWriter, wait time.Duration, msg string) error {
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	return roster.Errorf(roster.ERATELIMIT, "%s", msg)
}

// throttled answers 429 when the client address has failed too often.
func (s *Server) throttled(w http.ResponseWriter, r *http.Request) error {
	wait, err := s.Credentials.LoginThrottled(r.Context(), addressOf(r))
	if err != nil {
		return err
	}
	if wait > 0 {
		return tooMany(w, wait, "Too many failed sign-ins from your address. Try again later.")
	}
	return nil
}

// anonymous is a context whose events carry only the client address.
func anonymous(r *http.Request) context.Context {
	return roster.NewContextWithActor(r.Context(), &roster.Actor{Address: addressOf(r)})
}

// ---- sign-in steps ----

// afterPassword continues a sign-in whose password (or registration) was
// right: the address must be allowed, then the second factor, then a
// forced password change, then the session.
func (s *Server) afterPassword(w http.ResponseWriter, r *http.Request, u *roster.User) error {
	if !u.Allows(addressOf(r)) {
		if err := s.Users.RecordSignInFailure(anonymous(r), u.ID, "address_not_allowed"); err != nil {
			s.Logger.ErrorContext(r.Context(), "record sign-in failure", "user_id", u.ID, "err", err)
		}
		return errAddressNotAllowed
	}
	switch {
	case u.MFAMethod == roster.MFATOTP && u.TOTPSecret != "":
		return s.startMFA(w, r, u, roster.MFATOTP)
	case u.MFAMethod == roster.MFAEmail && u.Email != "":
		return s.startMFA(w, r, u, roster.MFAEmail)
	}
	return s.completeSignIn(w, r, u)
}

var errAddressNotAllowed = roster.ErrAddressNotAllowed

// completeSignIn ends a sign-in whose every factor passed.
func (s *Server) completeSignIn(w http.ResponseWriter, r *http.Request, u *roster.User) error {
	if err := roster.SignInSucceeded(r.Context(), s.Credentials, u, addressOf(r)); err != nil {
		return err
	}
	if u.PasswordTemporary {
		return s.startPasswordChange(w, r, u)
	}
	return s.signIn(w, r, u, http.StatusOK)
}

// mfaStep answers a sign-in that needs a second factor.
type mfaStep struct {
	MFARequired bool      `json:"mfa_required"`
	MFAToken    string    `json:"mfa_token"`
	Method      string    `json:"method"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// startMFA stores the pending attempt (and, for e-mail, the code's e-mail)
// and answers its token. The token only finishes this attempt.
func (s *Server) startMFA(w http.ResponseWriter, r *http.Request, u *roster.User, method string) error {
	ctx := r.Context()
	token, hash := secure.NewToken()
	now := s.now()
	c := &roster.MFAChallenge{TokenHash: hash, UserID: u.ID, Method: method, IssuedAt: now,
		Address: addressOf(r), ExpiresAt: now.Add(roster.MFAChallengeTTL)}
	var job *roster.Job
	if method == roster.MFAEmail {
		code, ec := mfa.NewEmailChallenge(now)
		c.CodeHash = ec.Hash
		var err error
		if job, err = s.mailJob(ctx, u, mail.KindEmailCode, mail.EmailCode{BaseURL: s.baseURL(r), Code: code, Name: u.DisplayName()}); err != nil {
			return err
		}
	}
	if err := s.Credentials.CreateMFAChallenge(ctx, c, job); err != nil {
		return err
	}
	if job != nil {
		s.jobsWritten()
	}
	return writeJSON(w, http.StatusOK, mfaStep{MFARequired: true, MFAToken: token, Method: method, ExpiresAt: c.ExpiresAt})
}

// mfaRequest is the body of POST /api/v1/auth/mfa.
type mfaRequest struct {
	MFAToken string `json:"mfa_token"`
	Code     string `json:"code"`
}

var (
	errMFAToken   = roster.Errorf(roster.EUNAUTHORIZED, "This sign-in attempt is unknown, finished or expired; sign in again.")
	errMFATries   = roster.Errorf(roster.EUNAUTHORIZED, "Too many wrong codes; sign in again.")
	errMFAExpired = roster.Errorf(roster.EUNAUTHORIZED, "The code has expired; sign in again to get a new one.")
)

// isRecoveryCode tells a recovery code ("abcd-efgh-jkmn") from a six-digit one.
func isRecoveryCode(code string) bool {
	n := mfa.NormalizeRecoveryCode(code)
	return len(n) == 12 && strings.IndexFunc(n, func(r rune) bool { return r < '0' || r > '9' }) >= 0
}

// handleMFA finishes a sign-in with the second factor: a TOTP code, the
// e-mailed code, or a recovery code (each accepted once).
func (s *Server) handleMFA(w http.ResponseWriter, r *http.Request) error {
	var req mfaRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if !secure.ValidTokenFormat(req.MFAToken) {
		return errMFAToken
	}
	if err := s.throttled(w, r); err != nil {
		return err
	}
	ctx := r.Context()
	c, err := s.Credentials.MFAChallengeByTokenHash(ctx, secure.HashToken(req.MFAToken))
	if err != nil {
		return unauthorizedAs(err, errMFAToken)
	}
	u, err := s.Users.UserByID(ctx, roster.Scope{All: true}, c.UserID)
	if err != nil || u.Status == roster.StatusBlocked {
		s.dropChallenge(ctx, c)
		return unauthorizedAs(err, errMFAToken)
	}
	if c.Tries >= mfa.EmailCodeMaxTries {
		s.dropChallenge(ctx, c)
		return errMFATries
	}
	// A code counts like a password: while the account must wait (for this
	// address or everywhere) no code is looked at.
	if t, err := roster.SecondFactorWait(ctx, s.Credentials, u, addressOf(r)); err != nil {
		return err
	} else if t.Wait > 0 {
		return tooManySignIns(w, t)
	}
	now := s.now()
	prev := c.Tries
	ok := false
	var failure error
	switch {
	case isRecoveryCode(req.Code):
		c.Tries++
		hashes, err := s.Credentials.RecoveryCodeHashes(ctx, u.ID)
		if err != nil {
			return err
		}
		if i, match := mfa.MatchRecoveryCode(req.Code, hashes); match {
			actx := roster.NewContextWithActor(ctx, &roster.Actor{User: u, Address: addressOf(r)})
			if ok, err = s.Credentials.UseRecoveryCode(actx, u.ID, hashes[i]); err != nil {
				return err
			}
		}
	case c.Method == roster.MFATOTP:
		c.Tries++
		if err := s.keys(ctx); err != nil {
			return err
		}
		secret, err := secure.Decrypt(s.totpKey, u.TOTPSecret)
		if err != nil {
			return err
		}
		if step, match := mfa.ValidateTOTP(string(secret), req.Code, now, u.TOTPLastStep); match {
			// The conditional update makes the step single-use even
			// between instances racing with the same code.
			if ok, err = s.Credentials.UseTOTPStep(ctx, u.ID, step); err != nil {
				return err
			}
		}
	default: // e-mail code
		ec := mfa.EmailChallenge{Hash: c.CodeHash, IssuedAt: c.IssuedAt, Tries: c.Tries, Used: c.Used}
		match, cerr := ec.Check(now, req.Code)
		c.Tries, c.Used = ec.Tries, ec.Used
		ok = match
		switch cerr {
		case mfa.ErrCodeExpired:
			failure = errMFAExpired
		case mfa.ErrTooManyTries, mfa.ErrCodeUsed:
			failure = errMFATries
		}
	}
	if err := s.Credentials.UpdateMFAChallenge(ctx, c, prev, nil); err != nil {
		if roster.ErrorCode(err) != roster.ECONFLICT {
			return err
		}
		ok = false // another request used this attempt meanwhile
	}
	if !ok {
		if failure == errMFAExpired || failure == errMFATries || c.Tries >= mfa.EmailCodeMaxTries {
			s.dropChallenge(ctx, c)
		}
		if _, err := roster.SecondFactorFailed(anonymous(r), s.Credentials, u, addressOf(r), s.unlockLink(r)); err != nil {
			return err
		}
		if failure != nil {
			return failure
		}
		if left := mfa.EmailCodeMaxTries - c.Tries; left > 0 {
			return roster.Errorf(roster.EUNAUTHORIZED, "Wrong code; %d tries left.", left)
		}
		return errMFATries
	}
	s.dropChallenge(ctx, c)
	if !u.Allows(addressOf(r)) {
		return errAddressNotAllowed
	}
	return s.completeSignIn(w, r, u)
}

// mfaResendInterval is how long a new e-mail code must wait after the last.
const mfaResendInterval = 30 * time.Second

// mfaResendRequest is the body of POST /api/v1/auth/mfa/resend.
type mfaResendRequest struct {
	MFAToken string `json:"mfa_token"`
}

// handleMFAResend e-mails a new code for a pending e-mail sign-in step.
// Only the newest code works, and the tries already used stay used.
func (s *Server) handleMFAResend(w http.ResponseWriter, r *http.Request) error {
	var req mfaResendRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if !secure.ValidTokenFormat(req.MFAToken) {
		return errMFAToken
	}
	ctx := r.Context()
	c, err := s.Credentials.MFAChallengeByTokenHash(ctx, secure.HashToken(req.MFAToken))
	if err != nil {
		return unauthorizedAs(err, errMFAToken)
	}
	if c.Method != roster.MFAEmail {
		return roster.Errorf(roster.ECONFLICT, "This sign-in step does not use e-mailed codes.")
	}
	now := s.now()
	if wait := c.IssuedAt.Add(mfaResendInterval).Sub(now); wait > 0 {
		return tooMany(w, wait, "A code was sent moments ago; wait a little before asking for another.")
	}
	u, err := s.Users.UserByID(ctx, roster.Scope{All: true}, c.UserID)
	if err != nil || u.Status == roster.StatusBlocked || u.Email == "" {
		return unauthorizedAs(err, errMFAToken)
	}
	ec := mfa.EmailChallenge{Hash: c.CodeHash, IssuedAt: c.IssuedAt, Tries: c.Tries, Used: c.Used}
	code := ec.Renew(now)
	c.CodeHash, c.IssuedAt, c.Used = ec.Hash, ec.IssuedAt, ec.Used
	job, err := s.mailJob(ctx, u, mail.KindEmailCode, mail.EmailCode{BaseURL: s.baseURL(r), Code: code, Name: u.DisplayName()})
	if err != nil {
		return err
	}
	if err := s.Credentials.UpdateMFAChallenge(ctx, c, c.Tries, job); err != nil {
		return unauthorizedAs(err, errMFAToken)
	}
	s.jobsWritten()
	return writeJSON(w, http.StatusAccepted, map[string]string{"status": "accepted", "detail": "A new code is on its way; earlier codes no longer work."})
}

func (s *Server) dropChallenge(ctx context.Context, c *roster.MFAChallenge) {
	if err := s.Credentials.DeleteMFAChallenge(ctx, c.ID); err != nil {
		s.Logger.ErrorContext(ctx, "delete MFA challenge", "err", err)
	}
}

// unauthorizedAs turns "not found" into the given 401 and keeps real failures.
func unauthorizedAs(err, as error) error {
	if err == nil || roster.ErrorCode(err) == roster.ENOTFOUND {
		return as
	}
	return err
}

// ---- registration ----

var errInvitationLink = roster.Errorf(roster.ENOTFOUND,
	"This invitation link is unknown or was already used. If you registered, sign in; otherwise ask your administrator for a new invitation.")

var errInvitationExpired = &httpError{http.StatusGone, "invitation_expired",
	"This invitation has expired. Ask your administrator to send a new one."}

// invitedUser resolves the {token} of a registration route.
func (s *Server) invitedUser(r *http.Request) (*roster.User, []byte, error) {
	token := r.PathValue("token")
	if !secure.ValidTokenFormat(token) {
		return nil, nil, errInvitationLink
	}
	hash := secure.HashToken(token)
	u, expired, err := roster.InvitedUser(r.Context(), s.Credentials, hash, s.now())
	if err != nil {
		return nil, nil, unauthorizedAs(err, errInvitationLink)
	}
	if expired {
		return nil, nil, errInvitationExpired
	}
	return u, hash, nil
}

// registrationInfo answers GET /api/v1/registration/{token}.
type registrationInfo struct {
	Email             string    `json:"email"`
	FirstName         string    `json:"first_name"`
	LastName          string    `json:"last_name"`
	ExpiresAt         time.Time `json:"expires_at"`
	PasswordMinLength int       `json:"password_min_length"`
}

// handleRegistrationGet tells whether a registration link works and for whom.
func (s *Server) handleRegistrationGet(w http.ResponseWriter, r *http.Request) error {
	u, _, err := s.invitedUser(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, registrationInfo{Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		ExpiresAt: *u.InvitationExpiresAt, PasswordMinLength: s.settingsOf(r.Context(), u.CompanyID).PasswordMinLength})
}

// registrationRequest is the body of POST /api/v1/registration/{token}.
type registrationRequest struct {
	Password  string `json:"password"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

// handleRegistrationPost accepts an invitation (U4): sets the password and
// name, activates the user and signs them in.
func (s *Server) handleRegistrationPost(w http.ResponseWriter, r *http.Request) error {
	u, hash, err := s.invitedUser(r)
	if err != nil {
		return err
	}
	var req registrationRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	req.FirstName, req.LastName = strings.TrimSpace(req.FirstName), strings.TrimSpace(req.LastName)
	var v roster.Validation
	ctx := r.Context()
	roster.ValidateRegistration(&v, u, req.FirstName, req.LastName, req.Password, s.settingsOf(ctx, u.CompanyID).PasswordMinLength)
	if err := v.Err(); err != nil {
		return err
	}
	pw, err := s.Hasher.Hash(ctx, req.Password)
	if err != nil {
		return err
	}
	u, err = s.Credentials.AcceptInvitation(anonymous(r), hash, pw, req.FirstName, req.LastName)
	if err != nil {
		if roster.ErrorCode(err) == roster.EINVALID {
			return errInvitationExpired
		}
		return unauthorizedAs(err, errInvitationLink)
	}
	return s.afterPassword(w, r, u)
}

// ---- passwords ----

// acceptedBody is the one answer of forgot-password.
var acceptedBody = map[string]string{"status": "accepted",
	"detail": "If an account uses this e-mail address, a password-reset link valid 1 hour is on its way."}

// forgotRequest is the body of POST /api/v1/auth/forgot-password.
type forgotRequest struct {
	Email string `json:"email"`
}

// handleForgotPassword e-mails a reset link to an e-mail-method user. It
// answers 202 identically whether or not the address exists, and does the
// same costly work either way (a token, a rendered e-mail and a password
// hash), so neither the answer nor its time tells.
func (s *Server) handleForgotPassword(w http.ResponseWriter, r *http.Request) error {
	var req forgotRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.throttled(w, r); err != nil {
		return err
	}
	ctx := r.Context()
	token, hash := secure.NewToken()
	started, err := roster.RequestPasswordReset(ctx, anonymous(r), s.Users, s.Credentials, s.Hasher, roster.PasswordResetRequest{
		Email: roster.NormalizeEmail(req.Email), Token: token, Hash: hash, Address: addressOf(r), Now: s.now,
		MailJob: func(u *roster.User) (*roster.Job, error) {
			return s.resetJob(r, u, token)
		}})
	if err != nil {
		return err
	}
	if started {
		s.jobsWritten()
	}
	return writeJSON(w, http.StatusAccepted, acceptedBody)
}

// passwordResetRequest is the body of POST /api/v1/auth/password-reset.
type passwordResetRequest struct {
	Token       string `json:"token"`
	NewPassword string `json:"new_password"`
}

var errResetToken = roster.Errorf(roster.ENOTFOUND, "This password-reset link is invalid, used or expired. Ask for a new one.")

// handlePasswordResetToken sets a new password with an e-mailed link. It
// does not sign in: the user signs in next, second factor included.
func (s *Server) handlePasswordResetToken(w http.ResponseWriter, r *http.Request) error {
	var req passwordResetRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if !secure.ValidTokenFormat(req.Token) {
		return errResetToken
	}
	ctx := r.Context()
	hash := secure.HashToken(req.Token)
	u, err := s.Credentials.UserByResetHash(ctx, hash)
	if err != nil {
		return unauthorizedAs(err, errResetToken)
	}
	var v roster.Validation
	roster.ValidatePassword(&v, "new_password", req.NewPassword, u, s.settingsOf(ctx, u.CompanyID).PasswordMinLength)
	if err := v.Err(); err != nil {
		return err
	}
	pw, err := s.Hasher.Hash(ctx, req.NewPassword)
	if err != nil {
		return err
	}
	if _, err := s.Credentials.ResetPassword(anonymous(r), hash, pw); err != nil {
		return unauthorizedAs(err, errResetToken)
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "password_changed",
		"detail": "Your password was changed and your sessions ended. Sign in with the new password."})
}

// unlockRequest is the body of POST /api/v1/auth/unlock.
type unlockRequest struct {
	Username string `json:"username"`
}

// acceptedUnlockBody is the one answer of POST /api/v1/auth/unlock.
var acceptedUnlockBody = map[string]string{"status": "accepted",
	"detail": "If an account uses this name and has an e-mail address, a single-use unlock link valid 1 hour is on its way."}

// handleUnlockRequest e-mails an unlock link to a locked-out user. Like
// forgot-password it answers 202 identically whether or not the account
// exists, and e-mails at most once every 5 minutes and 3 times an hour.
func (s *Server) handleUnlockRequest(w http.ResponseWriter, r *http.Request) error {
	var req unlockRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Username) == "" {
		var v roster.Validation
		v.Add("username", "required", "Enter your e-mail or login.")
		return v.Err()
	}
	if err := s.throttled(w, r); err != nil {
		return err
	}
	link := s.unlockLink(r)
	sent, err := roster.RequestUnlock(r.Context(), anonymous(r), s.Users, s.Credentials, roster.UnlockRequest{
		Username: strings.TrimSpace(req.Username), Link: *link})
	if err != nil {
		return err
	}
	if sent {
		s.jobsWritten()
	}
	return writeJSON(w, http.StatusAccepted, acceptedUnlockBody)
}

var errUnlockToken = roster.Errorf(roster.ENOTFOUND, "This unlock link is invalid, used or expired. Ask for a new one.")

// handleUnlock lifts every sign-in lock of the holder of an e-mailed
// unlock link, which then dies. It does not sign in.
func (s *Server) handleUnlock(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	if !secure.ValidTokenFormat(token) {
		return errUnlockToken
	}
	if _, err := s.Credentials.UnlockWithToken(anonymous(r), secure.HashToken(token)); err != nil {
		return unauthorizedAs(err, errUnlockToken)
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "unlocked",
		"detail": "Your account is unlocked from every address. Sign in with your password."})
}

// myPasswordRequest is the body of POST /api/v1/me/password.
type myPasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// handleMyPassword changes the caller's password; the current one is
// required, and every other session of theirs ends.
func (s *Server) handleMyPassword(w http.ResponseWriter, r *http.Request) error {
	a, ctx := actorOf(r), r.Context()
	var req myPasswordRequest
	if err := decodeOwn(r, a, &req, "You cannot change the password of an account you act as."); err != nil {
		return err
	}
	var v roster.Validation
	if err := s.checkCurrentPassword(w, r, a, req.CurrentPassword, &v); err != nil {
		return err
	}
	roster.ValidatePassword(&v, "new_password", req.NewPassword, a.User, s.settingsOf(ctx, a.User.CompanyID).PasswordMinLength)
	if err := v.Err(); err != nil {
		return err
	}
	pw, err := s.Hasher.Hash(ctx, req.NewPassword)
	if err != nil {
		return err
	}
	if err := s.Users.ChangeOwnPassword(ctx, a.User.ID, pw); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- two-factor enrolment and admin actions ----

// totpStart answers POST /api/v1/me/2fa/totp.
type totpStart struct {
	Secret     string `json:"secret"`
	OTPAuthURL string `json:"otpauth_url"`
	QRPNG      string `json:"qr_png"`
}

// passwordRequest is a body holding the caller's current password.
type passwordRequest struct {
	CurrentPassword string `json:"current_password"`
}

// checkCurrentPassword re-authenticates the caller before a change of
// their password or second factor (ASVS V2.1.6, V3.7.1) through
// roster.CheckPassword, the rate-limited path every password check takes:
// 429 while the account must wait, else wrong_password added to v.
func (s *Server) checkCurrentPassword(w http.ResponseWriter, r *http.Request, a *roster.Actor, pw string, v *roster.Validation) error {
	res, err := roster.CheckPassword(r.Context(), s.Users, s.Credentials, s.Hasher, roster.PasswordCheck{
		User: a.User, Password: pw, Address: addressOf(r), Unlock: s.unlockLink(r)})
	if err != nil {
		return err
	}
	if res.Refused.Wait > 0 {
		return tooManySignIns(w, res.Refused)
	}
	if !res.OK() {
		v.Add("current_password", "wrong_password", "The current password is wrong.")
	}
	return nil
}

// requireCurrentPassword answers 422 when pw is not the caller's password.
func (s *Server) requireCurrentPassword(w http.ResponseWriter, r *http.Request, a *roster.Actor, pw string) error {
	var v roster.Validation
	if err := s.checkCurrentPassword(w, r, a, pw, &v); err != nil {
		return err
	}
	return v.Err()
}

// decodeOwn decodes the body of a change to the caller's own account,
// refused with forbidden to someone acting as another user.
func decodeOwn(r *http.Request, a *roster.Actor, req any, forbidden string) error {
	if a.Impersonator != nil {
		return roster.Errorf(roster.EFORBIDDEN, "%s", forbidden)
	}
	return decodeJSON(r, req)
}

// handleTOTPStart makes a new TOTP secret for the caller to scan; it takes
// effect once a code confirms it. The current password is required.
func (s *Server) handleTOTPStart(w http.ResponseWriter, r *http.Request) error {
	a, ctx := actorOf(r), r.Context()
	var req passwordRequest
	if err := decodeOwn(r, a, &req, "You cannot set up two-factor authentication for an account you act as."); err != nil {
		return err
	}
	if err := s.requireCurrentPassword(w, r, a, req.CurrentPassword); err != nil {
		return err
	}
	if err := s.keys(ctx); err != nil {
		return err
	}
	secret, url, png, err := mfa.NewTOTPKey("Roster", a.User.Username())
	if err != nil {
		return err
	}
	enc, err := secure.Encrypt(s.totpKey, []byte(secret))
	if err != nil {
		return err
	}
	if err := s.Credentials.SetPendingTOTP(ctx, a.User.ID, enc); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, totpStart{Secret: secret, OTPAuthURL: url, QRPNG: base64.StdEncoding.EncodeToString(png)})
}

// codeRequest is a body holding one code.
type codeRequest struct {
	Code string `json:"code"`
}

// handleTOTPConfirm turns TOTP on with a first code and answers the
// recovery codes, shown this once.
func (s *Server) handleTOTPConfirm(w http.ResponseWriter, r *http.Request) error {
	a, ctx := actorOf(r), r.Context()
	var req codeRequest
	if err := decodeOwn(r, a, &req, "You cannot set up two-factor authentication for an account you act as."); err != nil {
		return err
	}
	if err := s.keys(ctx); err != nil {
		return err
	}
	enc, err := s.Credentials.PendingTOTP(ctx, a.User.ID)
	if err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return roster.Errorf(roster.ECONFLICT, "Start TOTP enrolment first.")
		}
		return err
	}
	secret, err := secure.Decrypt(s.totpKey, enc)
	if err != nil {
		return err
	}
	step, ok := mfa.ValidateTOTP(string(secret), req.Code, s.now(), 0)
	if !ok {
		var v roster.Validation
		v.Add("code", "wrong_code", "The code does not match; check the time on your phone and try the next code.")
		return v.Err()
	}
	codes, hashes := mfa.NewRecoveryCodes(mfa.DefaultRecoveryCodes)
	if err := s.Credentials.ConfirmTOTP(ctx, a.User.ID, step, hashes); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"mfa_method": roster.MFATOTP, "recovery_codes": codes})
}

// handleRecoveryCodes replaces the caller's recovery codes with 10 new
// ones, shown this once. The current password is required.
func (s *Server) handleRecoveryCodes(w http.ResponseWriter, r *http.Request) error {
	a := actorOf(r)
	var req passwordRequest
	if err := decodeOwn(r, a, &req, "You cannot change the recovery codes of an account you act as."); err != nil {
		return err
	}
	if err := s.requireCurrentPassword(w, r, a, req.CurrentPassword); err != nil {
		return err
	}
	codes, hashes := mfa.NewRecoveryCodes(mfa.DefaultRecoveryCodes)
	if err := s.Credentials.ReplaceRecoveryCodes(r.Context(), a.User.ID, hashes); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"mfa_method": roster.MFATOTP, "recovery_codes": codes})
}

// myMFARequest is the body of PUT /api/v1/me/2fa.
type myMFARequest struct {
	Method          string `json:"method"`
	CurrentPassword string `json:"current_password"`
}

// handleMyMFA lets users choose e-mail codes or turn their second factor
// off; TOTP is chosen by enrolling. The current password is required.
func (s *Server) handleMyMFA(w http.ResponseWriter, r *http.Request) error {
	a, ctx := actorOf(r), r.Context()
	var req myMFARequest
	if err := decodeOwn(r, a, &req, "You cannot change the two-factor authentication of an account you act as."); err != nil {
		return err
	}
	var v roster.Validation
	switch req.Method {
	case roster.MFAEmail:
		if a.User.Email == "" {
			v.Add("method", "no_email", "Your account has no e-mail address to receive codes.")
		}
	case roster.MFANone:
	default:
		v.Add("method", "invalid_choice", `The method is "email" or "none"; set up TOTP with POST /api/v1/me/2fa/totp.`)
	}
	if err := s.checkCurrentPassword(w, r, a, req.CurrentPassword, &v); err != nil {
		return err
	}
	if err := v.Err(); err != nil {
		return err
	}
	u, err := s.Credentials.SetMFAMethod(ctx, roster.Scope{All: true}, a.User.ID, req.Method, nil)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

// handleUserMFAReset switches a user to e-mail codes (their TOTP device is
// lost, or they had none), ends their sessions and tells them by e-mail.
func (s *Server) handleUserMFAReset(w http.ResponseWriter, r *http.Request) error {
	return s.userAction(w, r, s.App.Users.ResetMFA)
}

// handleUserMFADisable turns a user's 2FA off, ends their sessions and
// tells them by e-mail.
func (s *Server) handleUserMFADisable(w http.ResponseWriter, r *http.Request) error {
	return s.userAction(w, r, s.App.Users.DisableMFA)
}

// handleUserUnlock lifts a brute-force lock.
func (s *Server) handleUserUnlock(w http.ResponseWriter, r *http.Request) error {
	return s.userAction(w, r, s.App.Users.Unlock)
}

// userAction runs a workflow on the {id} user and answers the user.
func (s *Server) userAction(w http.ResponseWriter, r *http.Request, do func(context.Context, int64) (*roster.User, error)) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	u, err := do(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

// ---- sessions ----

// sessionView is one session in a list.
type sessionView struct {
	ID         int64     `json:"id"`
	Kind       string    `json:"kind"`
	Address    string    `json:"address"`
	UserAgent  string    `json:"user_agent"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Current    bool      `json:"current"`
}

// handleMySessions lists the caller's live sessions.
func (s *Server) handleMySessions(w http.ResponseWriter, r *http.Request) error {
	a := actorOf(r)
	list, err := s.Credentials.UserSessions(r.Context(), a.User.ID)
	if err != nil {
		return err
	}
	now := s.now()
	out := make([]sessionView, 0, len(list))
	for _, ss := range list {
		out = append(out, sessionView{ID: ss.ID, Kind: ss.Kind, Address: ss.Address, UserAgent: ss.UserAgent,
			CreatedAt: ss.CreatedAt, LastSeenAt: ss.LastSeenAt, ExpiresAt: ss.ExpiresAtNow(now), Current: ss.ID == a.SessionID})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

// handleMySessionDelete ends one of the caller's sessions.
func (s *Server) handleMySessionDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	a := actorOf(r)
	if err := s.Credentials.EndUserSession(r.Context(), a.User.ID, id); err != nil {
		return err
	}
	s.logEvent(r, &roster.Event{CompanyID: a.User.CompanyID, Type: roster.EventSessionsEnded, TargetUserID: &a.User.ID,
		TargetName: a.User.DisplayName(), After: map[string]any{"session_id": id}})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleUserSessionsDelete ends every session of a user.
func (s *Server) handleUserSessionsDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	n, err := s.App.Users.EndSessions(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int{"ended": n})
}

// ---- company settings ----

// handleCompanySettingsGet shows a company's credential rules.
func (s *Server) handleCompanySettingsGet(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	cs, err := s.App.Companies.Settings(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, cs)
}

// handleCompanySettingsPatch changes a company's credential rules.
func (s *Server) handleCompanySettingsPatch(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var upd roster.CompanySettingsUpdate
	if err := decodeJSON(r, &upd); err != nil {
		return err
	}
	cs, err := s.App.Companies.UpdateSettings(r.Context(), id, upd)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, cs)
}

// ---- outbox ----

// outboxItem is one e-mail of the outbox.
type outboxItem struct {
	*roster.Job
	To      string   `json:"to"`
	Subject string   `json:"subject"`
	Text    string   `json:"text"`
	Links   []string `json:"links"`
	Sent    bool     `json:"sent"`
}

// handleOutbox lets the Main administrator read e-mail, sent or not (the
// held ones are what a fresh installation without SMTP would have sent).
func (s *Server) handleOutbox(w http.ResponseWriter, r *http.Request) error {
	a, ctx := actorOf(r), r.Context()
	if !a.MainAdmin {
		return roster.Errorf(roster.EFORBIDDEN, "Only the Main administrator reads the outbox.")
	}
	q := newQuery(r, "state", "before_id", "limit")
	f := roster.JobFilter{Kind: outbox.Kind, State: q.str("state"), Limit: q.limit()}
	if id := q.id("before_id"); id != nil {
		f.BeforeID = *id
	}
	if err := q.err(); err != nil {
		return err
	}
	box, err := s.box(ctx)
	if err != nil {
		return err
	}
	list, err := s.Jobs.Jobs(ctx, f)
	if err != nil {
		return err
	}
	items := make([]outboxItem, 0, len(list))
	for _, j := range list {
		it := outboxItem{Job: j, Sent: j.State == roster.JobDone, Links: []string{}}
		if m, err := box.Decode(j.Payload); err != nil {
			it.Subject = "(cannot be read: " + err.Error() + ")"
		} else {
			it.To, it.Subject, it.Text, it.Links = m.To, m.Subject, m.Text, outbox.Links(m)
		}
		items = append(items, it)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// ---- user access fields of PATCH /api/v1/users/{id} ----

// accessPatch holds the credential fields of a user PATCH.
type accessPatch struct {
	IPAllowlist        *[]string       `json:"ip_allowlist"`
	IdleTimeoutSeconds json.RawMessage `json:"idle_timeout_seconds"`
	Lang               *string         `json:"lang"`
}

// update returns the store update, or nil when no field is set; the
// workflow validates it and checks who may change what.
func (p accessPatch) update() (*roster.AccessUpdate, error) {
	var upd roster.AccessUpdate
	set := false
	if p.IPAllowlist != nil {
		upd.IPAllowlist, set = p.IPAllowlist, true
	}
	if len(p.IdleTimeoutSeconds) > 0 {
		set = true
		if string(p.IdleTimeoutSeconds) == "null" {
			upd.ClearIdleTimeout = true
		} else {
			var n int
			if err := json.Unmarshal(p.IdleTimeoutSeconds, &n); err != nil {
				var v roster.Validation
				v.Add("idle_timeout_seconds", "invalid_type", "The idle timeout is a number of seconds, or null for the company default.")
				return nil, v.Err()
			}
			upd.IdleTimeoutSeconds = &n
		}
	}
	if p.Lang != nil {
		upd.Lang, set = p.Lang, true
	}
	if !set {
		return nil, nil
	}
	return &upd, nil
}
