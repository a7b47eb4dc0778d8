package roster

import (
	"context"
	"time"
)

// The credential flows shared by the REST API (package web) and the HTML
// panel (package panel): each front end parses its request and renders its
// answer; the rules in between live here, once.

// PasswordVerifier checks a password against a stored hash (secure.Hasher).
// An empty hash is checked against a dummy one, at the same cost, and never
// matches.
type PasswordVerifier interface {
	Verify(ctx context.Context, encoded, password string) (bool, error)
}

// PasswordCheck is one check of a password: a sign-in, or the
// re-authentication of a signed-in user before a change of their password
// or second factor.
type PasswordCheck struct {
	// Username is the name typed at sign-in. User is set instead to
	// re-authenticate a signed-in user.
	Username string
	User     *User
	Password string
	// Address is the client address.
	Address string
	// Unlock, when set, makes the unlock link e-mailed to the user when
	// this failure locks the account everywhere.
	Unlock *UnlockLink
}

// UnlockLink is a new unlock token and the e-mail carrying it.
type UnlockLink struct {
	// Hash is what the store keeps of the token.
	Hash []byte
	// Now is the clock the link's expiry counts from.
	Now Clock
	// MailJob seals the e-mail carrying the token to u.
	MailJob func(u *User) (*Job, error)
}

// PasswordCheckResult is the outcome of CheckPassword.
type PasswordCheckResult struct {
	// User is the user whose password was right; nil otherwise.
	User *User
	// Refused is set (Wait > 0) when the check was refused before the
	// password was looked at: the address or account must wait.
	Refused Throttle
	// Failure is the counted failure of a refused password.
	Failure LoginFailure
}

// OK reports whether the password was right.
func (r PasswordCheckResult) OK() bool { return r.User != nil }

// CheckPassword is the one path by which Roster checks a user's password:
// sign-in in the API and the panel, and every re-authentication. It refuses
// while the client address, the account from this address or the account
// everywhere must wait (before looking at the password, right or wrong);
// it refuses an address outside the user's IP allowlist before the password
// too, with the answer of a wrong password; it counts every failure and,
// for a re-authentication, clears the counters on success (a sign-in clears
// them once its every factor passed: SignInSucceeded).
//
// A name that belongs to nobody, a blocked user and an address outside the
// allowlist cost one password hash and are counted exactly like a wrong
// password, so neither the answers nor their timing tell them apart. Events
// are recorded with the actor of ctx, reduced to its address.
func CheckPassword(ctx context.Context, users UserService, creds CredentialService, hasher PasswordVerifier, c PasswordCheck) (PasswordCheckResult, error) {
	var res PasswordCheckResult
	u, reauth := c.User, c.User != nil
	if !reauth {
		found, err := users.UserByUsername(ctx, c.Username)
		if err != nil && ErrorCode(err) != ENOTFOUND {
			return res, err
		}
		if err == nil {
			u = found
		}
	}
	key := LoginKey(c.Username)
	if u != nil {
		key = LoginKey(u.Username())
	}
	wait, err := creds.LoginWait(ctx, key, c.Address)
	if err != nil {
		return res, err
	}
	if wait.Wait > 0 {
		// The refusal counts against the address only: spraying locked
		// accounts from one address gets that address throttled.
		if _, err := creds.RecordLoginFailure(ctx, FailedLogin{Address: c.Address, Reason: "locked"}); err != nil {
			return res, err
		}
		res.Refused = wait
		return res, nil
	}
	allowed := u == nil || u.Allows(c.Address)
	hash := ""
	if u != nil && allowed {
		hash = u.PasswordHash
	}
	ok, err := hasher.Verify(ctx, hash, c.Password)
	if err != nil {
		if ctx.Err() != nil {
			return res, err
		}
		ok = false // a malformed stored hash matches nothing
	}
	reason := ""
	switch {
	case u == nil:
		reason = "unknown_user"
	case !allowed:
		reason = "address_not_allowed"
	case !ok && reauth:
		reason = "wrong_current_password"
	case !ok:
		reason = "wrong_password"
	case !reauth && u.Status == StatusBlocked:
		reason = "blocked"
	case !reauth && !canSignIn(u):
		reason = "not_registered"
	}
	if reason == "" {
		res.User = u
		if reauth {
			return res, SignInSucceeded(ctx, creds, u, c.Address)
		}
		return res, nil
	}
	f := FailedLogin{Key: key, Address: c.Address, Reason: reason, NotAGuess: reason == "address_not_allowed"}
	if u != nil {
		f.UserID = u.ID
	}
	if res.Failure, err = creds.RecordLoginFailure(ctx, f); err != nil {
		return res, err
	}
	if err := afterLock(ctx, creds, u, key, res.Failure, c.Unlock); err != nil {
		return res, err
	}
	return res, nil
}

// canSignIn reports whether u's status lets a right password sign in: an
// active user, or an invited one holding a temporary password an
// administrator made.
func canSignIn(u *User) bool {
	return u.Status == StatusActive || (u.Status == StatusInvited && u.PasswordTemporary)
}

// afterLock e-mails the unlock link when failure locked the account of u
// everywhere (within the limits of self-service e-mail).
func afterLock(ctx context.Context, creds CredentialService, u *User, key []byte, failure LoginFailure, link *UnlockLink) error {
	if u == nil || link == nil || failure.LockedUntil == nil || failure.Scope != ScopeAccount ||
		u.Email == "" || u.Status == StatusBlocked {
		return nil
	}
	job, err := link.MailJob(u)
	if err != nil {
		return err
	}
	_, err = creds.SelfServiceMail(ctx, SelfServiceMail{Kind: MailUnlock, Key: key, UserID: u.ID, Hash: link.Hash,
		Expiry: link.Now().Add(UnlockLinkTTL), Job: job})
	return err
}

// SecondFactorWait reports whether u's sign-in from address must wait
// before a second-factor code is looked at.
func SecondFactorWait(ctx context.Context, creds CredentialService, u *User, address string) (Throttle, error) {
	return creds.LoginWait(ctx, LoginKey(u.Username()), address)
}

// SecondFactorFailed counts a wrong second-factor code as a failed sign-in
// of u from address.
func SecondFactorFailed(ctx context.Context, creds CredentialService, u *User, address string, link *UnlockLink) (LoginFailure, error) {
	key := LoginKey(u.Username())
	f, err := creds.RecordLoginFailure(ctx, FailedLogin{Key: key, UserID: u.ID, Address: address, Reason: "wrong_code"})
	if err != nil {
		return f, err
	}
	return f, afterLock(ctx, creds, u, key, f, link)
}

// SignInSucceeded clears u's failures from address, and the account's
// budget across addresses, once every factor passed.
func SignInSucceeded(ctx context.Context, creds CredentialService, u *User, address string) error {
	return creds.ClearLoginFailures(ctx, LoginKey(u.Username()), u.ID, address)
}

// PasswordHasher hashes a password (secure.Hasher).
type PasswordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
}

// PasswordResetRequest is one forgot-password request.
type PasswordResetRequest struct {
	// Email is the normalized address asked for.
	Email string
	// Token is the new reset token carried by the e-mail; Hash is what
	// the store keeps of it.
	Token string
	Hash  []byte
	// Address is the client address.
	Address string
	// Now is the clock the token's expiry counts from.
	Now Clock
	// MailJob seals the reset e-mail carrying Token to u.
	MailJob func(u *User) (*Job, error)
}

// RequestPasswordReset starts a password reset for the e-mail-method user
// of req.Email who is not blocked, at most once per MailInterval and
// MailPerHour times an hour per account. It does the same costly work (a
// rendered e-mail, a password hash, one write transaction counting the
// request) whether or not such a user exists and whether or not a limit
// holds it back, so neither the answer nor its time tells; started reports
// whether a reset was stored with its e-mail job. Events are recorded in
// actx, a context carrying only the client address.
func RequestPasswordReset(ctx, actx context.Context, users UserService, creds CredentialService, hasher PasswordHasher, req PasswordResetRequest) (started bool, err error) {
	u, err := users.UserByUsername(ctx, req.Email)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return false, err
	}
	real := err == nil && u.AuthMethod == AuthEmail && u.Email == req.Email && u.Status != StatusBlocked
	target := u
	if !real {
		target = &User{Email: "nobody@example.invalid", Lang: LangEnglish}
	}
	job, err := req.MailJob(target)
	if err != nil {
		return false, err
	}
	// The hash is thrown away: it only makes both paths cost the same.
	if _, err := hasher.Hash(ctx, req.Token); err != nil {
		return false, err
	}
	m := SelfServiceMail{Kind: MailReset, Key: LoginKey(req.Email), Hash: req.Hash, Expiry: req.Now().Add(PasswordResetTTL), Job: job}
	if real {
		m.UserID = u.ID
	}
	return creds.SelfServiceMail(actx, m)
}

// UnlockRequest is one "Unlock my account" request.
type UnlockRequest struct {
	// Username is the e-mail or login asked for.
	Username string
	// Link is the new unlock token and its e-mail.
	Link UnlockLink
}

// RequestUnlock e-mails an unlock link to the user of req.Username if they
// have an e-mail address and are not blocked, within the limits of
// self-service e-mail. Like RequestPasswordReset it does the same work
// whether or not such a user exists; sent reports whether the e-mail was
// written. Events are recorded in actx.
func RequestUnlock(ctx, actx context.Context, users UserService, creds CredentialService, req UnlockRequest) (sent bool, err error) {
	u, err := users.UserByUsername(ctx, req.Username)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return false, err
	}
	real := err == nil && u.Email != "" && u.Status != StatusBlocked
	target, key := u, LoginKey(req.Username)
	if real {
		key = LoginKey(u.Username())
	} else {
		target = &User{Email: "nobody@example.invalid", Lang: LangEnglish}
	}
	job, err := req.Link.MailJob(target)
	if err != nil {
		return false, err
	}
	m := SelfServiceMail{Kind: MailUnlock, Key: key, Hash: req.Link.Hash, Expiry: req.Link.Now().Add(UnlockLinkTTL), Job: job}
	if real {
		m.UserID = u.ID
	}
	return creds.SelfServiceMail(actx, m)
}

// InvitedUser finds the user whose invitation token hashes to hash;
// expired reports an invitation no longer valid at now.
func InvitedUser(ctx context.Context, creds CredentialService, hash []byte, now time.Time) (u *User, expired bool, err error) {
	u, err = creds.UserByInvitationHash(ctx, hash)
	if err != nil {
		return nil, false, err
	}
	return u, u.InvitationExpiresAt == nil || !now.Before(*u.InvitationExpiresAt), nil
}

// ValidateRegistration checks what an invited user enters to register:
// both names (trimmed by the caller) and a password fit for the user so
// named under the company's minimum length.
func ValidateRegistration(v *Validation, u *User, first, last, password string, minLength int) {
	for _, f := range []struct{ field, value string }{{"first_name", first}, {"last_name", last}} {
		if f.value == "" {
			v.Add(f.field, "required", "Enter your name.")
		} else {
			ValidateName(v, f.field, f.value)
		}
	}
	probe := *u
	probe.FirstName, probe.LastName = first, last
	ValidatePassword(v, "password", password, &probe, minLength)
}
