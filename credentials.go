package roster

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"time"
)

// Second factors (SPEC A2).
const (
	MFANone  = "none"
	MFAEmail = "email"
	MFATOTP  = "totp"
)

// Languages of a user's e-mail.
const (
	LangEnglish = "en"
	LangRussian = "ru"
)

// NormalizeUserLang returns "ru" for Russian and "en" for anything else.
func NormalizeUserLang(s string) string {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(s)), LangRussian) {
		return LangRussian
	}
	return LangEnglish
}

// Brute-force protection (SPEC A5; NIST SP 800-63B §3.2.2). Failures are
// counted per account and, separately, per client address, in the
// database, so every instance shares them and a restart forgets nothing.
const (
	// LoginDelayFrom is the consecutive failure from which each sign-in of
	// the account waits LoginDelay(n) before it is answered.
	LoginDelayFrom = 5
	// LoginLockAt failures lock the account for LoginLockDuration.
	LoginLockAt       = 10
	LoginLockDuration = 30 * time.Minute
	// AddressMaxFailures failed sign-ins from one address within
	// AddressWindow answer 429 until the window ends: an attacker cannot
	// lock everyone out from one address, nor guess on for ever.
	AddressMaxFailures = 30
	AddressWindow      = 15 * time.Minute
)

// LoginDelay is how long a sign-in attempt waits after failures
// consecutive failures: nothing below LoginDelayFrom, then 1 s doubling up
// to 16 s.
func LoginDelay(failures int) time.Duration {
	if failures < LoginDelayFrom {
		return 0
	}
	d := time.Second << min(failures-LoginDelayFrom, 4)
	return d
}

// Validity of links (SPEC U4, U9).
const (
	PasswordResetTTL = time.Hour
	MFAChallengeTTL  = 10 * time.Minute
)

// Limits of company settings.
const (
	MinPasswordMinLength = 8
	MaxPasswordMinLength = 64
	MinIdleTimeout       = 60
	MaxIdleTimeout       = 12 * 3600
	MaxInvitationTTL     = 30 * 24
)

// CompanySettings are a company's credential rules.
type CompanySettings struct {
	CompanyID int64 `json:"company_id"`
	// InvitationTTLHours is how long a registration link works (8 h).
	InvitationTTLHours int `json:"invitation_ttl_hours"`
	// PasswordMinLength is the policy's minimum length (12, 8–64).
	PasswordMinLength int `json:"password_min_length"`
	// IdleTimeoutSeconds is the default idle logout of the company's users.
	IdleTimeoutSeconds int `json:"idle_timeout_seconds"`
}

// InvitationTTL is InvitationTTLHours as a duration.
func (c *CompanySettings) InvitationTTL() time.Duration {
	return time.Duration(c.InvitationTTLHours) * time.Hour
}

// CompanySettingsUpdate holds the settings to change; nil means unchanged.
type CompanySettingsUpdate struct {
	InvitationTTLHours *int `json:"invitation_ttl_hours"`
	PasswordMinLength  *int `json:"password_min_length"`
	IdleTimeoutSeconds *int `json:"idle_timeout_seconds"`
}

// Validate checks the set fields.
func (u *CompanySettingsUpdate) Validate() error {
	var v Validation
	if p := u.InvitationTTLHours; p != nil && (*p < 1 || *p > MaxInvitationTTL) {
		v.Add("invitation_ttl_hours", "out_of_range", "An invitation is valid for 1 to 720 hours.")
	}
	if p := u.PasswordMinLength; p != nil && (*p < MinPasswordMinLength || *p > MaxPasswordMinLength) {
		v.Add("password_min_length", "out_of_range", "The minimum password length is 8 to 64 characters.")
	}
	if p := u.IdleTimeoutSeconds; p != nil {
		ValidateIdleTimeout(&v, "idle_timeout_seconds", *p)
	}
	return v.Err()
}

// ValidateIdleTimeout checks an idle timeout in seconds.
func ValidateIdleTimeout(v *Validation, field string, secs int) {
	if secs < MinIdleTimeout || secs > MaxIdleTimeout {
		v.Add(field, "out_of_range", "The idle timeout is 60 to 43200 seconds (12 hours).")
	}
}

// AccessUpdate changes a user's access settings (SPEC A3, A4); nil means
// unchanged. ClearIdleTimeout returns the user to the company default.
type AccessUpdate struct {
	IPAllowlist        *[]string
	IdleTimeoutSeconds *int
	ClearIdleTimeout   bool
	Lang               *string
}

// Validate checks the set fields.
func (u *AccessUpdate) Validate() error {
	var v Validation
	u.validate(&v)
	return v.Err()
}

func (u *AccessUpdate) validate(v *Validation) {
	if u.IPAllowlist != nil {
		if _, err := ParseAllowlist(*u.IPAllowlist); err != nil {
			var e *Error
			if errors.As(err, &e) {
				v.Fields = append(v.Fields, e.Fields...)
			}
		}
	}
	if u.IdleTimeoutSeconds != nil {
		ValidateIdleTimeout(v, "idle_timeout_seconds", *u.IdleTimeoutSeconds)
	}
	if u.Lang != nil && *u.Lang != LangEnglish && *u.Lang != LangRussian {
		v.Add("lang", "invalid_choice", `The language is "en" or "ru".`)
	}
}

// Allows reports whether the user may come from addr: an empty allowlist
// allows every address; an unparsable stored list allows none.
func (u *User) Allows(addr string) bool {
	if len(u.IPAllowlist) == 0 {
		return true
	}
	list, err := ParseAllowlist(u.IPAllowlist)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		if ap, perr := netip.ParseAddrPort(addr); perr == nil {
			a = ap.Addr()
		} else {
			return false
		}
	}
	return list.Allows(a)
}

// IdleTimeout is the user's idle logout, or the company default.
func (u *User) IdleTimeout(companyDefault int) time.Duration {
	if u.IdleTimeoutSeconds != nil {
		return time.Duration(*u.IdleTimeoutSeconds) * time.Second
	}
	if companyDefault <= 0 {
		return DefaultIdleTimeout
	}
	return time.Duration(companyDefault) * time.Second
}

// Locked reports whether sign-in is locked at now.
func (u *User) Locked(now time.Time) bool {
	return u.LockedUntil != nil && now.Before(*u.LockedUntil)
}

// LoginFailure is what the store answers after counting a failed sign-in.
type LoginFailure struct {
	// Failures is the account's consecutive failures (0 for unknown users).
	Failures int
	// LockedUntil is set when this failure locked the account.
	LockedUntil *time.Time
}

// MFAChallenge is a sign-in attempt waiting for its second factor. Its
// token finishes this attempt only: it is not a session.
type MFAChallenge struct {
	ID        int64
	TokenHash []byte
	UserID    int64
	Method    string
	// CodeHash, IssuedAt, Tries and Used are the e-mail code's state
	// (mfa.EmailChallenge); Tries also bounds TOTP and recovery guesses.
	CodeHash  []byte
	IssuedAt  time.Time
	Tries     int
	Used      bool
	Address   string
	ExpiresAt time.Time
}

// More event types of issue 3.
const (
	EventInvitationAccepted  = "user.invitation_accepted"
	EventPasswordResetSent   = "user.password_reset_requested"
	EventUserUnlocked        = "user.unlocked"
	EventUserLocked          = "user.locked"
	EventUserAccessChanged   = "user.access_changed"
	EventMFAEnabled          = "user.mfa_enabled"
	EventMFAReset            = "user.mfa_reset"
	EventMFADisabled         = "user.mfa_disabled"
	EventRecoveryCodeUsed    = "auth.recovery_code_used"
	EventRecoveryCodesNew    = "user.recovery_codes_replaced"
	EventSessionsEnded       = "auth.sessions_ended"
	EventCompanySettings     = "company.settings_changed"
	EventSignInRefusedByAddr = "auth.sign_in_refused_address"
)

func init() {
	EventTypes = append(EventTypes, EventInvitationAccepted, EventPasswordResetSent, EventUserUnlocked,
		EventUserLocked, EventUserAccessChanged, EventMFAEnabled, EventMFAReset, EventMFADisabled,
		EventRecoveryCodeUsed, EventRecoveryCodesNew, EventSessionsEnded, EventCompanySettings, EventSignInRefusedByAddr)
}

// CredentialService stores everything about getting in: invitations,
// password resets, failure counters, second factors, access rules and
// sessions. Methods that cause e-mail take the job to write in the same
// transaction.
type CredentialService interface {
	// CompanySettings returns the credential rules of a company in scope.
	CompanySettings(ctx context.Context, scope Scope, companyID int64) (*CompanySettings, error)
	// UpdateCompanySettings changes them, with an event.
	UpdateCompanySettings(ctx context.Context, scope Scope, companyID int64, upd CompanySettingsUpdate) (*CompanySettings, error)

	// UserByInvitationHash finds the invited user holding an invitation
	// token (expired or not); ENOTFOUND for an unknown or used one.
	UserByInvitationHash(ctx context.Context, hash []byte) (*User, error)
	// AcceptInvitation sets the password and name of the invited user
	// holding the token, activates them and kills the token; ENOTFOUND
	// when unknown or used, EINVALID (field "token") when expired.
	AcceptInvitation(ctx context.Context, hash []byte, passwordHash, firstName, lastName string) (*User, error)

	// StartPasswordReset stores a reset token valid until expiry (replacing
	// any earlier one) and writes job, the e-mail carrying it.
	StartPasswordReset(ctx context.Context, userID int64, hash []byte, expiry time.Time, job *Job) error
	// UserByResetHash finds the user holding a live reset token.
	UserByResetHash(ctx context.Context, hash []byte) (*User, error)
	// ResetPassword sets a new permanent password for the holder of a live
	// reset token, kills the token, clears the failure counter and lock
	// and ends every session of the user.
	ResetPassword(ctx context.Context, hash []byte, passwordHash string) (*User, error)

	// LoginThrottled reports how long the address must wait, or 0.
	LoginThrottled(ctx context.Context, address string) (time.Duration, error)
	// RecordLoginFailure counts a failed sign-in against the address and,
	// when userID is not 0, the account (locking it at LoginLockAt), and
	// writes the event.
	RecordLoginFailure(ctx context.Context, userID int64, address, reason string) (LoginFailure, error)
	// ClearLoginFailures resets the account's counter after a sign-in.
	ClearLoginFailures(ctx context.Context, userID int64) error
	// UnlockUser clears a user's lock and failure counter.
	UnlockUser(ctx context.Context, scope Scope, id int64) (*User, error)

	// SetPendingTOTP stores an encrypted secret being enrolled.
	SetPendingTOTP(ctx context.Context, userID int64, encSecret string) error
	// PendingTOTP returns the encrypted secret being enrolled, or ENOTFOUND.
	PendingTOTP(ctx context.Context, userID int64) (string, error)
	// ConfirmTOTP makes the pending secret the user's second factor,
	// records step as used and replaces the recovery codes.
	ConfirmTOTP(ctx context.Context, userID int64, step int64, recoveryHashes [][]byte) error
	// UseTOTPStep records step as the last used one if it is later than the
	// stored one, atomically; false means the code was used already.
	UseTOTPStep(ctx context.Context, userID int64, step int64) (bool, error)
	// RecoveryCodeHashes returns the unused recovery code hashes.
	RecoveryCodeHashes(ctx context.Context, userID int64) ([][]byte, error)
	// ReplaceRecoveryCodes gives a TOTP user new recovery codes, the old
	// ones dying; ECONFLICT when the user has no TOTP.
	ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error
	// UseRecoveryCode deletes one recovery code; false when it was used already.
	UseRecoveryCode(ctx context.Context, userID int64, hash []byte) (bool, error)
	// SetMFAMethod sets e-mail codes or no second factor: the admin actions
	// "reset to e-mail" and "disable", or the user's own choice. It drops
	// the TOTP secret and recovery codes, ends the user's sessions (all of
	// them, or the others when the user acts on themselves), writes the
	// event and job (the notice to the user).
	SetMFAMethod(ctx context.Context, scope Scope, id int64, method string, job *Job) (*User, error)

	// CreateMFAChallenge stores a pending second-factor step.
	CreateMFAChallenge(ctx context.Context, c *MFAChallenge, job *Job) error
	// MFAChallengeByTokenHash returns a challenge that has not expired.
	MFAChallengeByTokenHash(ctx context.Context, hash []byte) (*MFAChallenge, error)
	// UpdateMFAChallenge stores the challenge's code, tries and used flag if
	// nobody changed it since it was read (tries as read is prevTries);
	// ECONFLICT otherwise. job, when set, is written with it.
	UpdateMFAChallenge(ctx context.Context, c *MFAChallenge, prevTries int, job *Job) error
	// DeleteMFAChallenge removes a finished challenge.
	DeleteMFAChallenge(ctx context.Context, id int64) error

	// SetUserAccess changes the allowlist, idle timeout and language of a
	// user in scope, with an event.
	SetUserAccess(ctx context.Context, scope Scope, id int64, upd AccessUpdate) (*User, error)
	// UserSessions lists a user's live sessions, newest first.
	UserSessions(ctx context.Context, userID int64) ([]*Session, error)
	// EndUserSession ends one session of a user; ENOTFOUND if not theirs.
	EndUserSession(ctx context.Context, userID, sessionID int64) error
	// EndAllUserSessions ends every session of a user in scope, with an event.
	EndAllUserSessions(ctx context.Context, scope Scope, id int64) (int, error)
}
