package roster

import (
	"context"
	"crypto/sha256"
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

// Brute-force protection (SPEC A5; NIST SP 800-63B §5.2.2; OWASP ASVS
// V2.2.1). Failures are counted in the database, so every instance shares
// them and a restart forgets nothing, on three levels:
//
//   - per account and client address: the address that fails waits, then is
//     locked out of that account; every other address signs in as usual, so
//     a stranger who knows an address cannot lock its owner out;
//   - per account across all addresses: a budget of AccountMaxFailures
//     consecutive failures (NIST's limit of 100), after which the account is
//     locked everywhere until its owner follows the e-mailed unlock link, an
//     administrator unlocks it, the password is reset, or
//     AccountLockDuration passes (each further failure locks it again);
//   - per client address across all accounts: AddressMaxFailures failures
//     within AddressWindow throttle that address whatever name it tries.
//
// Accounts are identified by LoginKey, a hash of the normalized username, so
// a name that belongs to nobody is counted exactly like a real account and
// the answers do not tell them apart.
const (
	// LoginDelayFrom is the consecutive failure of an account from one
	// address from which that address waits LoginDelay(n) before its next
	// attempt at the account.
	LoginDelayFrom = 5
	// LoginLockAt failures lock the account for that address for
	// LoginLockDuration; each further failure doubles the lock, up to
	// LoginMaxLock.
	LoginLockAt       = 10
	LoginLockDuration = 30 * time.Minute
	LoginMaxLock      = 24 * time.Hour
	// LoginFailureMemory: an account and address with no failure and no
	// lock for this long start again from zero.
	LoginFailureMemory = 24 * time.Hour

	// AccountMaxFailures consecutive failures of an account, from any
	// addresses, lock it everywhere for AccountLockDuration or until it is
	// unlocked; a successful sign-in starts the count again.
	AccountMaxFailures  = 100
	AccountLockDuration = 24 * time.Hour
	// AccountFailureMemory: an account with no failure for this long
	// starts again from zero.
	AccountFailureMemory = 30 * 24 * time.Hour

	// AddressMaxFailures failed sign-ins from one address within
	// AddressWindow answer 429 until the window ends: an attacker cannot
	// spray every account from one address, nor guess on for ever.
	AddressMaxFailures = 30
	AddressWindow      = 15 * time.Minute

	// UnlockLinkTTL is how long an e-mailed unlock link works.
	UnlockLinkTTL = time.Hour
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

// PairWait is how long an address must wait after its failures-th
// consecutive failure at one account: the growing delay, then from
// LoginLockAt a lock of LoginLockDuration doubling with each further
// failure, at most LoginMaxLock.
func PairWait(failures int) time.Duration {
	if failures < LoginLockAt {
		return LoginDelay(failures)
	}
	return min(LoginLockDuration<<min(failures-LoginLockAt, 16), LoginMaxLock)
}

// AccountWait is how long every address must wait after the account's
// failures-th consecutive failure.
func AccountWait(failures int) time.Duration {
	if failures < AccountMaxFailures {
		return 0
	}
	return AccountLockDuration
}

// LoginKey identifies an account to the failure counters: the SHA-256 of
// its normalized username. Names that belong to nobody get keys too, and
// the counters never store what was typed.
func LoginKey(username string) []byte {
	sum := sha256.Sum256([]byte("roster login key v1\x00" + strings.ToLower(strings.TrimSpace(username))))
	return sum[:]
}

// Scopes of a sign-in wait or lock.
const (
	// ScopeAddress: the client address failed too often, whatever account.
	ScopeAddress = "address"
	// ScopePair: this account failed too often from this address.
	ScopePair = "account_address"
	// ScopeAccount: this account failed too often from all addresses.
	ScopeAccount = "account"
)

// Throttle says whether a sign-in must wait: Wait is 0 when it may go on.
type Throttle struct {
	Wait time.Duration
	// Scope is ScopeAddress, ScopePair or ScopeAccount.
	Scope string
}

// Longer returns the longer of t and o.
func (t Throttle) Longer(o Throttle) Throttle {
	if o.Wait > t.Wait {
		return o
	}
	return t
}

// FailedLogin is one failed check of a password or second factor.
type FailedLogin struct {
	// Key is the LoginKey of the account; nil counts against the address
	// only (an attempt refused before anything was checked).
	Key []byte
	// UserID is the account's user, 0 for a name that belongs to nobody.
	UserID int64
	// Address is the client address.
	Address string
	// Reason goes to the event log ("wrong_password", "unknown_user", …).
	Reason string
	// NotAGuess marks a refusal that checked no secret (an address outside
	// the user's allowlist): it counts against the address and the account
	// from that address, never against the account's budget, so nobody
	// outside the allowlist can lock the account for the addresses in it.
	NotAGuess bool
}

// Limits of self-service e-mail (forgot password, unlock link), per
// account and kind: repeating the request cannot flood a mailbox.
const (
	MailInterval = 5 * time.Minute
	MailPerHour  = 3
)

// Kinds of self-service e-mail.
const (
	MailReset  = "password_reset"
	MailUnlock = "unlock"
)

// SelfServiceMail is one self-service e-mail carrying a link: a password
// reset or an unlock link.
type SelfServiceMail struct {
	// Kind is MailReset or MailUnlock.
	Kind string
	// Key is the LoginKey of the name asked for; UserID is its user, or 0
	// when it belongs to nobody (only the limit is counted then).
	Key    []byte
	UserID int64
	// Hash is what the store keeps of the link's token, valid until Expiry.
	Hash   []byte
	Expiry time.Time
	// Job is the e-mail carrying the token.
	Job *Job
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
	// Plan is standard, professional or pro_plus; call statistics are on
	// exactly for professional and pro_plus (U13).
	Plan string `json:"plan"`
	// Reseller lets the company's administrators appoint administrators of
	// its dependent companies; AdminsAppointAdmins lets them appoint
	// administrators of the company itself (U7).
	Reseller            bool `json:"reseller"`
	AdminsAppointAdmins bool `json:"admins_appoint_admins"`
	// DormantBlockDays blocks accounts nobody signed in to for that many
	// days, after an e-mail warning a week before; 0 is off.
	DormantBlockDays int `json:"dormant_block_days"`
}

// Limits of DormantBlockDays when on: the warning goes a week before.
const (
	MinDormantBlockDays = 8
	MaxDormantBlockDays = 3650
)

// DormantWarningDays is how long before blocking a dormant account its
// owner is warned.
const DormantWarningDays = 7

// InvitationTTL is InvitationTTLHours as a duration.
func (c *CompanySettings) InvitationTTL() time.Duration {
	return time.Duration(c.InvitationTTLHours) * time.Hour
}

// CompanySettingsUpdate holds the settings to change; nil means unchanged.
type CompanySettingsUpdate struct {
	InvitationTTLHours *int `json:"invitation_ttl_hours"`
	PasswordMinLength  *int `json:"password_min_length"`
	IdleTimeoutSeconds *int `json:"idle_timeout_seconds"`
	// Plan, Reseller and AdminsAppointAdmins only the Main administrator changes.
	Plan                *string `json:"plan"`
	Reseller            *bool   `json:"reseller"`
	AdminsAppointAdmins *bool   `json:"admins_appoint_admins"`
	DormantBlockDays    *int    `json:"dormant_block_days"`
}

// MainAdminOnly reports whether the update sets a field that only the Main
// administrator may change.
func (u *CompanySettingsUpdate) MainAdminOnly() bool {
	return u.Plan != nil || u.Reseller != nil || u.AdminsAppointAdmins != nil
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
	if p := u.Plan; p != nil && !ValidPlan(*p) {
		v.Add("plan", "invalid_choice", `The plan is "standard", "professional" or "pro_plus".`)
	}
	if p := u.DormantBlockDays; p != nil && *p != 0 && (*p < MinDormantBlockDays || *p > MaxDormantBlockDays) {
		v.Add("dormant_block_days", "out_of_range", "Block dormant accounts after 8 to 3650 days (the warning goes a week before), or 0 for never.")
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

// Locked reports whether the account is locked for every address at now
// (AccountMaxFailures reached); locks of single addresses are not shown.
func (u *User) Locked(now time.Time) bool {
	return u.LockedUntil != nil && now.Before(*u.LockedUntil)
}

// LoginFailure is what the store answers after counting a failed sign-in.
type LoginFailure struct {
	// Failures is the account's consecutive failures from this address.
	Failures int
	// AccountFailures is the account's consecutive failures from all
	// addresses.
	AccountFailures int
	// LockedUntil is set when this failure locked the account (from this
	// address, or everywhere: Scope says which); a mere delay is not a lock.
	LockedUntil *time.Time
	Scope       string
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
	// EventUserAddressLocked: one client address is locked out of the
	// account; other addresses are not.
	EventUserAddressLocked = "user.address_locked"
	// EventUnlockLinkSent: an unlock link was e-mailed to the user.
	EventUnlockLinkSent = "user.unlock_link_sent"
)

func init() {
	EventTypes = append(EventTypes, EventInvitationAccepted, EventPasswordResetSent, EventUserUnlocked,
		EventUserLocked, EventUserAccessChanged, EventMFAEnabled, EventMFAReset, EventMFADisabled,
		EventRecoveryCodeUsed, EventRecoveryCodesNew, EventSessionsEnded, EventCompanySettings, EventSignInRefusedByAddr,
		EventUserAddressLocked, EventUnlockLinkSent)
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
	// SelfServiceMail counts one self-service e-mail of kind (MailReset,
	// MailUnlock) to the account of key against its limits (MailInterval,
	// MailPerHour) and, when allowed and userID is not 0, stores the link's
	// token hash valid until expiry with job, the e-mail carrying it, and
	// its event, in one transaction. It answers whether the e-mail was
	// written; the same work is done for a key that belongs to nobody.
	SelfServiceMail(ctx context.Context, m SelfServiceMail) (bool, error)
	// UserByResetHash finds the user holding a live reset token.
	UserByResetHash(ctx context.Context, hash []byte) (*User, error)
	// ResetPassword sets a new permanent password for the holder of a live
	// reset token, kills the token, clears the failure counters and locks
	// and ends every session of the user.
	ResetPassword(ctx context.Context, hash []byte, passwordHash string) (*User, error)

	// LoginThrottled reports how long the address must wait, or 0.
	LoginThrottled(ctx context.Context, address string) (time.Duration, error)
	// LoginWait reports whether a sign-in at the account of key from
	// address must wait: the address's, the account's from this address
	// and the account's everywhere, whichever is longest.
	LoginWait(ctx context.Context, key []byte, address string) (Throttle, error)
	// RecordLoginFailure counts a failed check against the address and,
	// when f.Key is set, the account from this address and (unless
	// f.NotAGuess) everywhere, delaying or locking them as PairWait and
	// AccountWait say; for a user it writes the failure and lock events.
	RecordLoginFailure(ctx context.Context, f FailedLogin) (LoginFailure, error)
	// ClearLoginFailures forgets the failures of the account of key from
	// address and its budget across addresses after a successful sign-in.
	// Other addresses stay locked.
	ClearLoginFailures(ctx context.Context, key []byte, userID int64, address string) error
	// UnlockUser lifts every lock of a user and clears the counters, with
	// an event (an administrator's action).
	UnlockUser(ctx context.Context, scope Scope, id int64) (*User, error)
	// UnlockWithToken does the same for the holder of a live unlock link,
	// which dies; ENOTFOUND for an unknown, used or expired link.
	UnlockWithToken(ctx context.Context, hash []byte) (*User, error)

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
