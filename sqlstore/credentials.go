package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/roster-app/roster"
)

var _ roster.CredentialService = (*Store)(nil)

// scanCredentials fills the credential fields scanUser read as raw columns.
func scanCredentials(u *roster.User, allowlist string, idle sql.NullInt64, lockedUntil sql.NullTime) {
	u.IPAllowlist = []string{}
	for _, e := range strings.Split(allowlist, "\n") {
		if e = strings.TrimSpace(e); e != "" {
			u.IPAllowlist = append(u.IPAllowlist, e)
		}
	}
	if idle.Valid {
		n := int(idle.Int64)
		u.IdleTimeoutSeconds = &n
	}
	if lockedUntil.Valid {
		t := lockedUntil.Time.UTC()
		u.LockedUntil = &t
	}
	if u.MFAMethod == "" {
		u.MFAMethod = roster.MFANone
	}
	u.Lang = roster.NormalizeUserLang(u.Lang)
}

// ---- company settings ----

// CompanySettings returns the credential rules of a company in scope.
func (s *Store) CompanySettings(ctx context.Context, scope roster.Scope, companyID int64) (*roster.CompanySettings, error) {
	return companySettings(ctx, s.rdb, scope, companyID)
}

func companySettings(ctx context.Context, q querier, scope roster.Scope, companyID int64) (*roster.CompanySettings, error) {
	if !scope.Contains(companyID) {
		return nil, notFound("Company")
	}
	cs := roster.CompanySettings{CompanyID: companyID}
	err := q.QueryRowContext(ctx, `SELECT invitation_ttl_hours, password_min_length, idle_timeout_seconds,
		plan, reseller, admins_appoint_admins, dormant_block_days FROM companies WHERE id = $1`, companyID).Scan(&cs.InvitationTTLHours,
		&cs.PasswordMinLength, &cs.IdleTimeoutSeconds, &cs.Plan, &cs.Reseller, &cs.AdminsAppointAdmins, &cs.DormantBlockDays)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Company")
	} else if err != nil {
		return nil, fmt.Errorf("company settings: %w", err)
	}
	return &cs, nil
}

// UpdateCompanySettings changes a company's credential rules.
func (s *Store) UpdateCompanySettings(ctx context.Context, scope roster.Scope, companyID int64, upd roster.CompanySettingsUpdate) (*roster.CompanySettings, error) {
	if err := upd.Validate(); err != nil {
		return nil, err
	}
	return writeResult(ctx, s, func(tx *Tx) (*roster.CompanySettings, error) {
		return updateCompanySettings(ctx, tx, scope, companyID, upd)
	})
}

// updateCompanySettings applies upd with the company locked, so that
// concurrent changes of different settings all hold.
func updateCompanySettings(ctx context.Context, tx *Tx, scope roster.Scope, companyID int64, upd roster.CompanySettingsUpdate) (*roster.CompanySettings, error) {
	if scope.Contains(companyID) {
		if err := lockCompany(ctx, tx, companyID); err != nil {
			return nil, err
		}
	}
	cs, err := companySettings(ctx, tx, scope, companyID)
	if err != nil {
		return nil, err
	}
	before, after := map[string]any{}, map[string]any{}
	set := func(name string, cur *int, v *int) {
		if v != nil && *v != *cur {
			before[name], after[name] = *cur, *v
			*cur = *v
		}
	}
	set("invitation_ttl_hours", &cs.InvitationTTLHours, upd.InvitationTTLHours)
	set("password_min_length", &cs.PasswordMinLength, upd.PasswordMinLength)
	set("idle_timeout_seconds", &cs.IdleTimeoutSeconds, upd.IdleTimeoutSeconds)
	set("dormant_block_days", &cs.DormantBlockDays, upd.DormantBlockDays)
	setBool := func(name string, cur *bool, v *bool) {
		if v != nil && *v != *cur {
			before[name], after[name] = *cur, *v
			*cur = *v
		}
	}
	setBool("reseller", &cs.Reseller, upd.Reseller)
	setBool("admins_appoint_admins", &cs.AdminsAppointAdmins, upd.AdminsAppointAdmins)
	planChanged := upd.Plan != nil && *upd.Plan != cs.Plan
	if planChanged {
		before["plan"], after["plan"] = cs.Plan, *upd.Plan
		cs.Plan = *upd.Plan
	}
	if len(after) == 0 {
		return cs, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE companies SET invitation_ttl_hours = $1, password_min_length = $2,
		idle_timeout_seconds = $3, plan = $4, reseller = $5, admins_appoint_admins = $6, dormant_block_days = $7,
		updated_at = $8 WHERE id = $9`,
		cs.InvitationTTLHours, cs.PasswordMinLength, cs.IdleTimeoutSeconds, cs.Plan, cs.Reseller, cs.AdminsAppointAdmins,
		cs.DormantBlockDays, tx.now, companyID); err != nil {
		return nil, fmt.Errorf("update company settings: %w", err)
	}
	if planChanged {
		// Call statistics follow the plan (U13), in the same transaction.
		stats := roster.PlanHasCallStatistics(cs.Plan)
		if _, err := tx.ExecContext(ctx, `INSERT INTO company_operations (company_id, call_statistics, updated_at)
			VALUES ($1, $2, $3) ON CONFLICT (company_id) DO UPDATE SET call_statistics = excluded.call_statistics,
			updated_at = excluded.updated_at`, companyID, stats, tx.now); err != nil {
			return nil, fmt.Errorf("call statistics of plan: %w", err)
		}
		after["call_statistics"] = stats
	}
	if err := writeEvent(ctx, tx, &roster.Event{Type: roster.EventCompanySettings, CompanyID: companyID, Before: before, After: after}); err != nil {
		return nil, err
	}
	return cs, nil
}

// ---- invitations ----

// UserByInvitationHash finds the invited user holding an invitation token.
func (s *Store) UserByInvitationHash(ctx context.Context, hash []byte) (*roster.User, error) {
	return userByInvitation(ctx, s.rdb, hash)
}

func userByInvitation(ctx context.Context, q querier, hash []byte) (*roster.User, error) {
	return queryInvitation(ctx, q, hash, "")
}

// queryInvitation is userByInvitation with a locking clause for the
// user's row: of two registrations with one token, the second finds none.
func queryInvitation(ctx context.Context, q querier, hash []byte, lock string) (*roster.User, error) {
	if len(hash) == 0 {
		return nil, notFound("Invitation")
	}
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM users WHERE invitation_hash = $1 AND status = $2`+lock, hash, string(roster.StatusInvited)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Invitation")
	} else if err != nil {
		return nil, fmt.Errorf("invitation: %w", err)
	}
	u, err := findUser(ctx, q, roster.Scope{All: true}, id)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return nil, notFound("Invitation")
	}
	return u, err
}

// ErrInvitationExpired answers an expired registration link.
var ErrInvitationExpired = &roster.Error{Code: roster.EINVALID, Message: "This invitation has expired. Ask your administrator to send a new one.",
	Fields: []roster.FieldError{{Field: "token", Code: "expired", Message: "This invitation has expired. Ask your administrator to send a new one."}}}

// AcceptInvitation registers the invited user holding the token.
func (s *Store) AcceptInvitation(ctx context.Context, hash []byte, passwordHash, firstName, lastName string) (*roster.User, error) {
	return writeResult(ctx, s, func(tx *Tx) (*roster.User, error) {
		return acceptInvitation(ctx, tx, hash, passwordHash, firstName, lastName)
	})
}

func acceptInvitation(ctx context.Context, tx *Tx, hash []byte, passwordHash, firstName, lastName string) (*roster.User, error) {
	u, err := queryInvitation(ctx, tx, hash, tx.s.d.lock(userLock))
	if err != nil {
		return nil, err
	}
	if u.InvitationExpiresAt == nil || !tx.now.Before(*u.InvitationExpiresAt) {
		return nil, ErrInvitationExpired
	}
	before := map[string]any{"status": string(u.Status), "first_name": u.FirstName, "last_name": u.LastName}
	u.FirstName, u.LastName = firstName, lastName
	if _, err := tx.ExecContext(ctx, updateUsers+`password_hash = $1, password_temporary = FALSE, status = $2,
		first_name = $3, last_name = $4, name_set_by_self = TRUE, invitation_hash = NULL, invitation_accepted_at = $5,
		sort_name = $6, search = $7, updated_at = $5 WHERE id = $8`,
		passwordHash, string(roster.StatusActive), firstName, lastName, tx.now, sortName(u), searchText(u), u.ID); err != nil {
		return nil, fmt.Errorf("accept invitation: %w", err)
	}
	e := selfEvent(tx, roster.EventInvitationAccepted, u)
	e.Before = before
	e.After = map[string]any{"status": string(roster.StatusActive), "first_name": firstName, "last_name": lastName}
	if err := writeEvent(ctx, tx, e); err != nil {
		return nil, err
	}
	return findUser(ctx, tx, roster.Scope{All: true}, u.ID)
}

// ---- password reset ----

// StartPasswordReset stores a reset token and the e-mail carrying it.
func (s *Store) StartPasswordReset(ctx context.Context, userID int64, hash []byte, expiry time.Time, job *roster.Job) error {
	return s.write(ctx, func(tx *Tx) error {
		return startPasswordReset(ctx, tx, userID, hash, expiry, job)
	})
}

func startPasswordReset(ctx context.Context, tx *Tx, userID int64, hash []byte, expiry time.Time, job *roster.Job) error {
	u, err := lockUser(ctx, tx, roster.Scope{All: true}, userID)
	if err != nil {
		return err
	}
	if tx.actor != nil && tx.actor.User != nil && tx.actor.User.ID != u.ID {
		if err := checkManage(ctx, tx, u); err != nil {
			return err
		}
	}
	if err := setResetToken(ctx, tx, u, hash, expiry); err != nil {
		return err
	}
	return insertJobs(ctx, tx, job)
}

// setResetToken gives u a reset link valid until expiry, replacing any
// earlier one, with its event.
func setResetToken(ctx context.Context, tx *Tx, u *roster.User, hash []byte, expiry time.Time) error {
	expiry = expiry.UTC().Truncate(time.Microsecond)
	if _, err := tx.ExecContext(ctx, updateUsers+`reset_hash = $1, reset_expires_at = $2 WHERE id = $3`, hash, expiry, u.ID); err != nil {
		return fmt.Errorf("start password reset: %w", err)
	}
	e := userEvent(roster.EventPasswordResetSent, u)
	e.After = map[string]any{"expires_at": expiry}
	return writeEvent(ctx, tx, e)
}

// UserByResetHash finds the user holding a live reset token.
func (s *Store) UserByResetHash(ctx context.Context, hash []byte) (*roster.User, error) {
	return userByReset(ctx, s.rdb, hash, s.now())
}

var errResetLink = roster.Errorf(roster.ENOTFOUND, "This password-reset link is invalid, used or expired. Ask for a new one.")

func userByReset(ctx context.Context, q querier, hash []byte, now time.Time) (*roster.User, error) {
	return queryReset(ctx, q, hash, now, "")
}

// queryReset is userByReset with a locking clause for the user's row: of
// two uses of one link, the second finds none.
func queryReset(ctx context.Context, q querier, hash []byte, now time.Time, lock string) (*roster.User, error) {
	if len(hash) == 0 {
		return nil, errResetLink
	}
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM users WHERE reset_hash = $1 AND reset_expires_at > $2 AND status <> $3`+lock,
		hash, now, string(roster.StatusBlocked)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errResetLink
	} else if err != nil {
		return nil, fmt.Errorf("reset token: %w", err)
	}
	return findUser(ctx, q, roster.Scope{All: true}, id)
}

// ResetPassword sets a new password through a reset token.
func (s *Store) ResetPassword(ctx context.Context, hash []byte, passwordHash string) (*roster.User, error) {
	return writeResult(ctx, s, func(tx *Tx) (*roster.User, error) {
		return resetPassword(ctx, tx, hash, passwordHash)
	})
}

func resetPassword(ctx context.Context, tx *Tx, hash []byte, passwordHash string) (*roster.User, error) {
	u, err := queryReset(ctx, tx, hash, tx.now, tx.s.d.lock(userLock))
	if err != nil {
		return nil, err
	}
	status := u.Status
	if status == roster.StatusInvited {
		// The e-mail proves the address as well as an invitation does.
		status = roster.StatusActive
	}
	if _, err := tx.ExecContext(ctx, updateUsers+`password_hash = $1, password_temporary = FALSE, status = $2,
		reset_hash = NULL, reset_expires_at = NULL, invitation_hash = NULL, failed_logins = 0, locked_until = NULL,
		updated_at = $3 WHERE id = $4`, passwordHash, string(status), tx.now, u.ID); err != nil {
		return nil, fmt.Errorf("reset password: %w", err)
	}
	if err := unlockAccount(ctx, tx, u); err != nil {
		return nil, err
	}
	if err := deleteUserSessions(ctx, tx, u.ID); err != nil {
		return nil, err
	}
	e := selfEvent(tx, roster.EventUserPasswordChange, u)
	e.After = map[string]any{"via": "reset_link"}
	if err := writeEvent(ctx, tx, e); err != nil {
		return nil, err
	}
	u.Status, u.PasswordTemporary, u.FailedLogins, u.LockedUntil = status, false, 0, nil
	return u, nil
}

// ---- brute force ----

// LoginThrottled reports how long an address must wait before trying again.
func (s *Store) LoginThrottled(ctx context.Context, address string) (time.Duration, error) {
	var start time.Time
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT window_start, failures FROM login_throttle WHERE address = $1`, address).Scan(&start, &n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("login throttle: %w", err)
	}
	end := start.UTC().Add(roster.AddressWindow)
	now := s.now()
	if n < roster.AddressMaxFailures || !now.Before(end) {
		return 0, nil
	}
	return end.Sub(now), nil
}

// pairAddress is the login_failures address of a client address; ” is
// the account's row across all addresses, so an empty address is named.
func pairAddress(address string) string {
	if address == "" {
		return "unknown"
	}
	return address
}

// LoginWait reports whether a sign-in at the account of key from address
// must wait, and why.
func (s *Store) LoginWait(ctx context.Context, key []byte, address string) (roster.Throttle, error) {
	var t roster.Throttle
	wait, err := s.LoginThrottled(ctx, address)
	if err != nil {
		return t, err
	}
	if wait > 0 {
		t = roster.Throttle{Wait: wait, Scope: roster.ScopeAddress}
	}
	now := s.now()
	rows, err := s.rdb.QueryContext(ctx, `SELECT address, locked_until FROM login_failures
		WHERE account_key = $1 AND address IN ($2, '') AND locked_until > $3`, key, pairAddress(address), now)
	if err != nil {
		return t, fmt.Errorf("login wait: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var addr string
		var until time.Time
		if err := rows.Scan(&addr, &until); err != nil {
			return t, fmt.Errorf("login wait: %w", err)
		}
		scope := roster.ScopePair
		if addr == "" {
			scope = roster.ScopeAccount
		}
		t = t.Longer(roster.Throttle{Wait: until.UTC().Sub(now), Scope: scope})
	}
	return t, rows.Err()
}

// RecordLoginFailure counts a failed check of a password or code.
func (s *Store) RecordLoginFailure(ctx context.Context, f roster.FailedLogin) (roster.LoginFailure, error) {
	return writeResult(ctx, s, func(tx *Tx) (roster.LoginFailure, error) {
		return recordLoginFailure(ctx, tx, f)
	})
}

func recordLoginFailure(ctx context.Context, tx *Tx, f roster.FailedLogin) (roster.LoginFailure, error) {
	var out roster.LoginFailure
	tx.actor = addressOnly(tx.actor)
	if err := countAddressFailure(ctx, tx, f.Address); err != nil {
		return out, err
	}
	if f.Key == nil {
		return out, nil
	}
	if err := sweepLoginFailures(ctx, tx); err != nil {
		return out, err
	}
	if f.UserID != 0 {
		if err := lockUserRow(ctx, tx, f.UserID); err != nil {
			return out, err
		}
	}
	pair, err := countFailure(ctx, tx, f.Key, pairAddress(f.Address), roster.LoginFailureMemory, roster.LoginLockAt, roster.PairWait)
	if err != nil {
		return out, err
	}
	out.Failures = pair.failures
	if pair.locked != nil {
		out.LockedUntil, out.Scope = pair.locked, roster.ScopePair
	}
	if !f.NotAGuess {
		acct, err := countFailure(ctx, tx, f.Key, "", roster.AccountFailureMemory, roster.AccountMaxFailures, roster.AccountWait)
		if err != nil {
			return out, err
		}
		out.AccountFailures = acct.failures
		if acct.locked != nil {
			out.LockedUntil, out.Scope = acct.locked, roster.ScopeAccount
		}
	}
	if f.UserID != 0 {
		if err := recordUserFailure(ctx, tx, f, out); err != nil {
			return out, err
		}
	}
	return out, nil
}

// countAddressFailure counts a failure against a client address; a window
// that ended starts again at this failure.
func countAddressFailure(ctx context.Context, tx *Tx, address string) error {
	if address == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO login_throttle (address, window_start, failures) VALUES ($1, $2, 1)
		ON CONFLICT (address) DO UPDATE SET
			failures = CASE WHEN login_throttle.window_start <= $3 THEN 1 ELSE login_throttle.failures + 1 END,
			window_start = CASE WHEN login_throttle.window_start <= $3 THEN $2 ELSE login_throttle.window_start END`,
		address, tx.now, tx.now.Add(-roster.AddressWindow)); err != nil {
		return fmt.Errorf("count address failure: %w", err)
	}
	return nil
}

// failureCount is one counter after a failure: its consecutive failures,
// and the end of the lock this failure set (nil for none, or a delay).
type failureCount struct {
	failures int
	locked   *time.Time
}

// countFailure adds a failure to one row of login_failures and sets the
// wait that follows it. A row with no failure and no lock for memory
// starts again from one. A wait already running is never shortened. The
// upsert locks the row, so failures racing on several instances all count.
func countFailure(ctx context.Context, tx *Tx, key []byte, address string, memory time.Duration, lockAt int,
	wait func(int) time.Duration) (failureCount, error) {
	var c failureCount
	cut := tx.now.Add(-memory)
	if _, err := tx.ExecContext(ctx, `INSERT INTO login_failures (account_key, address, failures, updated_at) VALUES ($1, $2, 1, $3)
		ON CONFLICT (account_key, address) DO UPDATE SET
			failures = CASE WHEN login_failures.updated_at <= $4
				AND (login_failures.locked_until IS NULL OR login_failures.locked_until <= $4)
				THEN 1 ELSE login_failures.failures + 1 END,
			updated_at = $3`, key, address, tx.now, cut); err != nil {
		return c, fmt.Errorf("count failure: %w", err)
	}
	var locked sql.NullTime
	if err := tx.QueryRowContext(ctx, `SELECT failures, locked_until FROM login_failures WHERE account_key = $1 AND address = $2`,
		key, address).Scan(&c.failures, &locked); err != nil {
		return c, fmt.Errorf("count failure: %w", err)
	}
	d := wait(c.failures)
	if d <= 0 {
		return c, nil
	}
	until := tx.now.Add(d).UTC().Truncate(time.Microsecond)
	if locked.Valid && !locked.Time.Before(until) {
		return c, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE login_failures SET locked_until = $1 WHERE account_key = $2 AND address = $3`,
		until, key, address); err != nil {
		return c, fmt.Errorf("count failure: %w", err)
	}
	if c.failures >= lockAt {
		c.locked = &until
	}
	return c, nil
}

// sweepLoginFailures forgets the counters nobody needs any more: those
// whose memory ran out, which would start again from zero anyway.
func sweepLoginFailures(ctx context.Context, tx *Tx) error {
	for _, sw := range []struct {
		cond   string
		memory time.Duration
	}{{"address <> ''", roster.LoginFailureMemory}, {"address = ''", roster.AccountFailureMemory}} {
		cut := tx.now.Add(-sw.memory)
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE updated_at < $1
			AND (locked_until IS NULL OR locked_until < $1) AND `+sw.cond, cut); err != nil {
			return fmt.Errorf("sweep login failures: %w", err)
		}
	}
	return nil
}

// recordUserFailure writes a known user's failure and lock events and
// keeps the copy of the account-wide counter on the user's row.
func recordUserFailure(ctx context.Context, tx *Tx, f roster.FailedLogin, out roster.LoginFailure) error {
	u, err := findUser(ctx, tx, roster.Scope{All: true}, f.UserID)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if !f.NotAGuess {
		q, args := updateUsers+`failed_logins = $1 WHERE id = $2`, []any{out.AccountFailures, u.ID}
		if out.Scope == roster.ScopeAccount {
			q, args = updateUsers+`failed_logins = $1, locked_until = $2 WHERE id = $3`, []any{out.AccountFailures, *out.LockedUntil, u.ID}
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("count failure: %w", err)
		}
	}
	typ := roster.EventSignInFailed
	if f.Reason == "address_not_allowed" {
		typ = roster.EventSignInRefusedByAddr
	}
	e := userEvent(typ, u)
	e.After = map[string]any{"reason": f.Reason, "failures": out.Failures, "account_failures": out.AccountFailures}
	if err := writeEvent(ctx, tx, e); err != nil {
		return err
	}
	if out.LockedUntil == nil {
		return nil
	}
	typ = roster.EventUserAddressLocked
	if out.Scope == roster.ScopeAccount {
		typ = roster.EventUserLocked
	}
	e = userEvent(typ, u)
	e.After = map[string]any{"scope": out.Scope, "locked_until": *out.LockedUntil, "failures": out.Failures,
		"account_failures": out.AccountFailures}
	return writeEvent(ctx, tx, e)
}

// lockUserRow locks a user's row first (FOR UPDATE on PostgreSQL; SQLite
// write transactions hold the database lock), so that every transaction on
// a user's counters takes its locks in one order — the user, the account
// from an address, the account everywhere — and none can deadlock another.
func lockUserRow(ctx context.Context, tx *Tx, userID int64) error {
	q := `SELECT id FROM users WHERE id = $1`
	if tx.s.d.name == dialectPostgres {
		q += ` FOR UPDATE`
	}
	var id int64
	if err := tx.QueryRowContext(ctx, q, userID).Scan(&id); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("lock user: %w", err)
	}
	return nil
}

// ClearLoginFailures forgets an account's failures from one address and
// its budget across addresses after a successful sign-in.
func (s *Store) ClearLoginFailures(ctx context.Context, key []byte, userID int64, address string) error {
	return s.write(ctx, func(tx *Tx) error {
		return clearLoginFailures(ctx, tx, key, userID, address)
	})
}

func clearLoginFailures(ctx context.Context, tx *Tx, key []byte, userID int64, address string) error {
	if err := lockUserRow(ctx, tx, userID); err != nil {
		return err
	}
	for _, addr := range []string{pairAddress(address), ""} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE account_key = $1 AND address = $2`, key, addr); err != nil {
			return fmt.Errorf("clear failures: %w", err)
		}
	}
	if err := clearUserLock(ctx, tx, userID); err != nil {
		return err
	}
	return nil
}

// clearUserLock resets the copy of the account-wide counter on a user row.
func clearUserLock(ctx context.Context, tx *Tx, userID int64) error {
	if _, err := tx.ExecContext(ctx, updateUsers+`failed_logins = 0, locked_until = NULL
		WHERE id = $1 AND (failed_logins <> 0 OR locked_until IS NOT NULL)`, userID); err != nil {
		return fmt.Errorf("clear failures: %w", err)
	}
	return nil
}

// unlockAccount lifts every lock of u, from every address, and kills its
// unlock link.
func unlockAccount(ctx context.Context, tx *Tx, u *roster.User) error {
	if err := lockUserRow(ctx, tx, u.ID); err != nil {
		return err
	}
	// Single addresses' rows before the account's: the order of every
	// transaction on these counters.
	key := roster.LoginKey(u.Username())
	for _, cond := range []string{`address <> ''`, `address = ''`} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE account_key = $1 AND `+cond, key); err != nil {
			return fmt.Errorf("unlock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM unlock_tokens WHERE user_id = $1`, u.ID); err != nil {
		return fmt.Errorf("unlock: %w", err)
	}
	return clearUserLock(ctx, tx, u.ID)
}

// unlockEvent writes user.unlocked for u, unlocked by via.
func unlockEvent(ctx context.Context, tx *Tx, u *roster.User, via string) error {
	e := userEvent(roster.EventUserUnlocked, u)
	if via == "email_link" {
		e = selfEvent(tx, roster.EventUserUnlocked, u)
	}
	e.Before = map[string]any{"failures": u.FailedLogins, "locked_until": u.LockedUntil}
	e.After = map[string]any{"via": via}
	return writeEvent(ctx, tx, e)
}

// UnlockUser lifts every lock of a user (an administrator's action).
func (s *Store) UnlockUser(ctx context.Context, scope roster.Scope, id int64) (*roster.User, error) {
	return writeResult(ctx, s, func(tx *Tx) (*roster.User, error) {
		return unlockUser(ctx, tx, scope, id)
	})
}

func unlockUser(ctx context.Context, tx *Tx, scope roster.Scope, id int64) (*roster.User, error) {
	u, err := onUser(ctx, tx, scope, id)
	if err != nil {
		return nil, err
	}
	if err := unlockAccount(ctx, tx, u); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, updateUsers+`updated_at = $1 WHERE id = $2`, tx.now, u.ID); err != nil {
		return nil, fmt.Errorf("unlock: %w", err)
	}
	if err := unlockEvent(ctx, tx, u, "administrator"); err != nil {
		return nil, err
	}
	u.FailedLogins, u.LockedUntil, u.UpdatedAt = 0, nil, tx.now
	return u, nil
}

var errUnlockLink = roster.Errorf(roster.ENOTFOUND, "This unlock link is invalid, used or expired. Ask for a new one.")

// UnlockWithToken lifts every lock of the holder of a live unlock link.
// Taking the token is the first statement, so of racing uses one wins.
func (s *Store) UnlockWithToken(ctx context.Context, hash []byte) (*roster.User, error) {
	if len(hash) == 0 {
		return nil, errUnlockLink
	}
	return writeResult(ctx, s, func(tx *Tx) (*roster.User, error) {
		return unlockWithToken(ctx, tx, hash)
	})
}

func unlockWithToken(ctx context.Context, tx *Tx, hash []byte) (*roster.User, error) {
	tx.actor = addressOnly(tx.actor)
	var id int64
	err := tx.QueryRowContext(ctx, `DELETE FROM unlock_tokens WHERE hash = $1 AND expires_at > $2 RETURNING user_id`, hash, tx.now).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errUnlockLink
	} else if err != nil {
		return nil, fmt.Errorf("unlock link: %w", err)
	}
	u, err := findUser(ctx, tx, roster.Scope{All: true}, id)
	if roster.ErrorCode(err) == roster.ENOTFOUND || (err == nil && u.Status == roster.StatusBlocked) {
		return nil, errUnlockLink
	} else if err != nil {
		return nil, err
	}
	if err := unlockAccount(ctx, tx, u); err != nil {
		return nil, err
	}
	if err := unlockEvent(ctx, tx, u, "email_link"); err != nil {
		return nil, err
	}
	u.FailedLogins, u.LockedUntil = 0, nil
	return u, nil
}

// ---- self-service e-mail ----

// SelfServiceMail counts a forgot-password or unlock e-mail against its
// limits and, when allowed and the account is real, stores its link and job.
func (s *Store) SelfServiceMail(ctx context.Context, m roster.SelfServiceMail) (bool, error) {
	if m.Kind != roster.MailReset && m.Kind != roster.MailUnlock {
		return false, fmt.Errorf("self-service mail: bad kind %q", m.Kind)
	}
	return writeResult(ctx, s, func(tx *Tx) (bool, error) {
		return selfServiceMail(ctx, tx, m)
	})
}

func selfServiceMail(ctx context.Context, tx *Tx, m roster.SelfServiceMail) (bool, error) {
	tx.actor = addressOnly(tx.actor)
	if _, err := tx.ExecContext(ctx, `DELETE FROM mail_limits WHERE last_sent_at < $1`, tx.now.Add(-time.Hour)); err != nil {
		return false, fmt.Errorf("sweep mail limits: %w", err)
	}
	ok, err := takeMailSlot(ctx, tx, m.Key, m.Kind)
	if err != nil {
		return false, err
	}
	if !ok || m.UserID == 0 {
		// Committed either way: the same work as a sent e-mail.
		return false, nil
	}
	u, err := findUser(ctx, tx, roster.Scope{All: true}, m.UserID)
	if err != nil {
		return false, err
	}
	if m.Kind == roster.MailReset {
		err = setResetToken(ctx, tx, u, m.Hash, m.Expiry)
	} else {
		err = setUnlockToken(ctx, tx, u, m.Hash, m.Expiry)
	}
	if err != nil {
		return false, err
	}
	if err := insertJobs(ctx, tx, m.Job); err != nil {
		return false, err
	}
	return true, nil
}

// takeMailSlot counts one e-mail of kind to the account of key if it is at
// least MailInterval after the last and under MailPerHour in the hour;
// false when a limit holds it back. One upsert decides, so racing requests
// cannot both pass.
func takeMailSlot(ctx context.Context, tx *Tx, key []byte, kind string) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `INSERT INTO mail_limits (account_key, kind, window_start, sent, last_sent_at) VALUES ($1, $2, $3, 1, $3)
		ON CONFLICT (account_key, kind) DO UPDATE SET
			sent = CASE WHEN mail_limits.window_start <= $4 THEN 1 ELSE mail_limits.sent + 1 END,
			window_start = CASE WHEN mail_limits.window_start <= $4 THEN $3 ELSE mail_limits.window_start END,
			last_sent_at = $3
		WHERE mail_limits.last_sent_at <= $5 AND (mail_limits.window_start <= $4 OR mail_limits.sent < $6)
		RETURNING sent`, key, kind, tx.now, tx.now.Add(-time.Hour), tx.now.Add(-roster.MailInterval), roster.MailPerHour).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("mail limit: %w", err)
	}
	return true, nil
}

// setUnlockToken gives u a new unlock link valid until expiry, replacing
// any earlier one, with its event.
func setUnlockToken(ctx context.Context, tx *Tx, u *roster.User, hash []byte, expiry time.Time) error {
	expiry = expiry.UTC().Truncate(time.Microsecond)
	if _, err := tx.ExecContext(ctx, `INSERT INTO unlock_tokens (user_id, hash, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, expires_at = excluded.expires_at`, u.ID, hash, expiry); err != nil {
		return fmt.Errorf("unlock link: %w", err)
	}
	e := userEvent(roster.EventUnlockLinkSent, u)
	e.After = map[string]any{"expires_at": expiry}
	return writeEvent(ctx, tx, e)
}

// ---- two-factor ----

// SetPendingTOTP stores an encrypted secret being enrolled.
func (s *Store) SetPendingTOTP(ctx context.Context, userID int64, encSecret string) error {
	if _, err := s.exec(ctx, updateUsers+`totp_pending_secret = $1 WHERE id = $2`, encSecret, userID); err != nil {
		return fmt.Errorf("pending TOTP: %w", err)
	}
	return nil
}

// PendingTOTP returns the encrypted secret being enrolled.
func (s *Store) PendingTOTP(ctx context.Context, userID int64) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT totp_pending_secret FROM users WHERE id = $1`, userID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && v == "") {
		return "", roster.Errorf(roster.ENOTFOUND, "Start TOTP enrolment first.")
	} else if err != nil {
		return "", fmt.Errorf("pending TOTP: %w", err)
	}
	return v, nil
}

// ConfirmTOTP makes the pending secret the user's second factor.
func (s *Store) ConfirmTOTP(ctx context.Context, userID int64, step int64, recoveryHashes [][]byte) error {
	return s.write(ctx, func(tx *Tx) error {
		return confirmTOTP(ctx, tx, userID, step, recoveryHashes)
	})
}

func confirmTOTP(ctx context.Context, tx *Tx, userID int64, step int64, recoveryHashes [][]byte) error {
	u, err := lockUser(ctx, tx, roster.Scope{All: true}, userID)
	if err != nil {
		return err
	}
	r, err := tx.ExecContext(ctx, updateUsers+`totp_secret = totp_pending_secret, totp_pending_secret = '',
		totp_last_step = $1, mfa_method = $2, updated_at = $3 WHERE id = $4 AND totp_pending_secret <> ''`,
		step, roster.MFATOTP, tx.now, u.ID)
	if err != nil {
		return fmt.Errorf("confirm TOTP: %w", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return roster.Errorf(roster.ECONFLICT, "Start TOTP enrolment first.")
	}
	if err := replaceRecoveryCodes(ctx, tx, u.ID, recoveryHashes); err != nil {
		return err
	}
	e := selfEvent(tx, roster.EventMFAEnabled, u)
	e.Before, e.After = map[string]any{"mfa_method": u.MFAMethod}, map[string]any{"mfa_method": roster.MFATOTP}
	return writeEvent(ctx, tx, e)
}

func replaceRecoveryCodes(ctx context.Context, tx *Tx, userID int64, hashes [][]byte) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("drop recovery codes: %w", err)
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, hash) VALUES ($1, $2)`, userID, h); err != nil {
			return fmt.Errorf("store recovery code: %w", err)
		}
	}
	return nil
}

// ReplaceRecoveryCodes gives a TOTP user new recovery codes.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error {
	return s.write(ctx, func(tx *Tx) error {
		return replaceUserRecoveryCodes(ctx, tx, userID, hashes)
	})
}

func replaceUserRecoveryCodes(ctx context.Context, tx *Tx, userID int64, hashes [][]byte) error {
	u, err := lockUser(ctx, tx, roster.Scope{All: true}, userID)
	if err != nil {
		return err
	}
	if u.MFAMethod != roster.MFATOTP {
		return roster.Errorf(roster.ECONFLICT, "Recovery codes come with TOTP; set up TOTP first.")
	}
	if err := replaceRecoveryCodes(ctx, tx, u.ID, hashes); err != nil {
		return err
	}
	e := selfEvent(tx, roster.EventRecoveryCodesNew, u)
	e.After = map[string]any{"codes": len(hashes)}
	return writeEvent(ctx, tx, e)
}

// UseTOTPStep records step as used if it is later than the stored one.
func (s *Store) UseTOTPStep(ctx context.Context, userID int64, step int64) (bool, error) {
	r, err := s.exec(ctx, updateUsers+`totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1`, step, userID)
	if err != nil {
		return false, fmt.Errorf("use TOTP step: %w", err)
	}
	n, _ := r.RowsAffected()
	return n == 1, nil
}

// RecoveryCodeHashes returns the unused recovery code hashes.
func (s *Store) RecoveryCodeHashes(ctx context.Context, userID int64) ([][]byte, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT hash FROM recovery_codes WHERE user_id = $1`, userID)
	if err != nil {
		return nil, fmt.Errorf("recovery codes: %w", err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// UseRecoveryCode deletes one recovery code; false when already used.
func (s *Store) UseRecoveryCode(ctx context.Context, userID int64, hash []byte) (bool, error) {
	return writeResult(ctx, s, func(tx *Tx) (bool, error) {
		return useRecoveryCode(ctx, tx, userID, hash)
	})
}

func useRecoveryCode(ctx context.Context, tx *Tx, userID int64, hash []byte) (bool, error) {
	u, err := lockUser(ctx, tx, roster.Scope{All: true}, userID)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return false, nil
	} else if err != nil {
		return false, err
	}
	r, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1 AND hash = $2`, userID, hash)
	if err != nil {
		return false, fmt.Errorf("use recovery code: %w", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return false, nil
	}
	var left int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1`, userID).Scan(&left); err != nil {
		return false, fmt.Errorf("count recovery codes: %w", err)
	}
	e := selfEvent(tx, roster.EventRecoveryCodeUsed, u)
	e.After = map[string]any{"codes_left": left}
	if err := writeEvent(ctx, tx, e); err != nil {
		return false, err
	}
	return true, nil
}

// SetMFAMethod is the admin reset of a user's second factor.
func (s *Store) SetMFAMethod(ctx context.Context, scope roster.Scope, id int64, method string, job *roster.Job) (*roster.User, error) {
	typ := roster.EventMFAReset
	switch method {
	case roster.MFAEmail:
	case roster.MFANone:
		typ = roster.EventMFADisabled
	default:
		return nil, fmt.Errorf("set MFA method: bad method %q", method)
	}
	return writeResult(ctx, s, func(tx *Tx) (*roster.User, error) {
		return setMFAMethod(ctx, tx, scope, id, method, typ, job)
	})
}

func setMFAMethod(ctx context.Context, tx *Tx, scope roster.Scope, id int64, method, typ string, job *roster.Job) (*roster.User, error) {
	u, err := onUser(ctx, tx, scope, id)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, updateUsers+`mfa_method = $1, totp_secret = '', totp_pending_secret = '',
		updated_at = $2 WHERE id = $3`, method, tx.now, u.ID); err != nil {
		return nil, fmt.Errorf("set MFA method: %w", err)
	}
	if err := replaceRecoveryCodes(ctx, tx, u.ID, nil); err != nil {
		return nil, err
	}
	if tx.actor != nil && tx.actor.UserID() == u.ID && tx.actor.Impersonator == nil {
		// The user changed their own second factor: their other sessions end.
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id <> $2`, u.ID, tx.actor.SessionID); err != nil {
			return nil, fmt.Errorf("end other sessions: %w", err)
		}
	} else if err := deleteUserSessions(ctx, tx, u.ID); err != nil {
		return nil, err
	}
	e := userEvent(typ, u)
	e.Before, e.After = map[string]any{"mfa_method": u.MFAMethod}, map[string]any{"mfa_method": method}
	if err := writeEvent(ctx, tx, e); err != nil {
		return nil, err
	}
	if err := insertJobs(ctx, tx, job); err != nil {
		return nil, err
	}
	u.MFAMethod, u.TOTPSecret, u.UpdatedAt = method, "", tx.now
	return u, nil
}

// ---- second-factor challenges ----

const challengeColumns = `id, token_hash, user_id, method, code_hash, issued_at, tries, used, address, expires_at`

// CreateMFAChallenge stores a pending second-factor step and, for e-mail
// codes, the e-mail carrying the code.
func (s *Store) CreateMFAChallenge(ctx context.Context, c *roster.MFAChallenge, job *roster.Job) error {
	return s.write(ctx, func(tx *Tx) error {
		return createMFAChallenge(ctx, tx, c, job)
	})
}

func createMFAChallenge(ctx context.Context, tx *Tx, c *roster.MFAChallenge, job *roster.Job) error {
	c.IssuedAt = c.IssuedAt.UTC().Truncate(time.Microsecond)
	c.ExpiresAt = c.ExpiresAt.UTC().Truncate(time.Microsecond)
	if err := tx.QueryRowContext(ctx, `INSERT INTO mfa_challenges (token_hash, user_id, method, code_hash, issued_at,
		tries, used, address, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		c.TokenHash, c.UserID, c.Method, c.CodeHash, c.IssuedAt, c.Tries, c.Used, c.Address, c.ExpiresAt).Scan(&c.ID); err != nil {
		return fmt.Errorf("create MFA challenge: %w", err)
	}
	// Expired attempts of anyone are swept here: they are useless.
	if _, err := tx.ExecContext(ctx, `DELETE FROM mfa_challenges WHERE expires_at <= $1`, tx.now); err != nil {
		return fmt.Errorf("sweep MFA challenges: %w", err)
	}
	return insertJobs(ctx, tx, job)
}

// MFAChallengeByTokenHash returns a challenge that has not expired.
func (s *Store) MFAChallengeByTokenHash(ctx context.Context, hash []byte) (*roster.MFAChallenge, error) {
	var c roster.MFAChallenge
	err := s.db.QueryRowContext(ctx, `SELECT `+challengeColumns+` FROM mfa_challenges WHERE token_hash = $1`, hash).
		Scan(&c.ID, &c.TokenHash, &c.UserID, &c.Method, &c.CodeHash, &c.IssuedAt, &c.Tries, &c.Used, &c.Address, &c.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Sign-in attempt")
	} else if err != nil {
		return nil, fmt.Errorf("MFA challenge: %w", err)
	}
	c.IssuedAt, c.ExpiresAt = c.IssuedAt.UTC(), c.ExpiresAt.UTC()
	if !s.now().Before(c.ExpiresAt) {
		return nil, notFound("Sign-in attempt")
	}
	return &c, nil
}

// UpdateMFAChallenge stores a challenge's new state if unchanged since read.
func (s *Store) UpdateMFAChallenge(ctx context.Context, c *roster.MFAChallenge, prevTries int, job *roster.Job) error {
	return s.write(ctx, func(tx *Tx) error {
		return updateMFAChallenge(ctx, tx, c, prevTries, job)
	})
}

func updateMFAChallenge(ctx context.Context, tx *Tx, c *roster.MFAChallenge, prevTries int, job *roster.Job) error {
	c.IssuedAt = c.IssuedAt.UTC().Truncate(time.Microsecond)
	r, err := tx.ExecContext(ctx, `UPDATE mfa_challenges SET code_hash = $1, issued_at = $2, tries = $3, used = $4
		WHERE id = $5 AND tries = $6 AND used = FALSE`, c.CodeHash, c.IssuedAt, c.Tries, c.Used, c.ID, prevTries)
	if err != nil {
		return fmt.Errorf("update MFA challenge: %w", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return roster.Errorf(roster.ECONFLICT, "This sign-in attempt changed meanwhile; try again.")
	}
	return insertJobs(ctx, tx, job)
}

// DeleteMFAChallenge removes a finished challenge.
func (s *Store) DeleteMFAChallenge(ctx context.Context, id int64) error {
	if _, err := s.exec(ctx, `DELETE FROM mfa_challenges WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete MFA challenge: %w", err)
	}
	return nil
}

// ---- access and sessions ----

// SetUserAccess changes the allowlist, idle timeout and language of a user.
func (s *Store) SetUserAccess(ctx context.Context, scope roster.Scope, id int64, upd roster.AccessUpdate) (*roster.User, error) {
	return s.UpdateUser(ctx, scope, id, roster.UserUpdate{Access: &upd})
}

// setUserAccess applies an access update to u with its event; changed is
// false when nothing differs.
func setUserAccess(ctx context.Context, tx *Tx, u *roster.User, upd roster.AccessUpdate) (changed bool, err error) {
	before, after := map[string]any{}, map[string]any{}
	if upd.IPAllowlist != nil {
		list, err := roster.ParseAllowlist(*upd.IPAllowlist)
		if err != nil {
			return false, err
		}
		if strings.Join(list.Strings(), "\n") != strings.Join(u.IPAllowlist, "\n") {
			before["ip_allowlist"], after["ip_allowlist"] = u.IPAllowlist, list.Strings()
			u.IPAllowlist = list.Strings()
		}
	}
	if upd.ClearIdleTimeout && u.IdleTimeoutSeconds != nil {
		before["idle_timeout_seconds"], after["idle_timeout_seconds"] = *u.IdleTimeoutSeconds, nil
		u.IdleTimeoutSeconds = nil
	} else if p := upd.IdleTimeoutSeconds; p != nil && (u.IdleTimeoutSeconds == nil || *u.IdleTimeoutSeconds != *p) {
		before["idle_timeout_seconds"], after["idle_timeout_seconds"] = u.IdleTimeoutSeconds, *p
		v := *p
		u.IdleTimeoutSeconds = &v
	}
	if upd.Lang != nil && roster.NormalizeUserLang(*upd.Lang) != u.Lang {
		before["lang"], after["lang"] = u.Lang, roster.NormalizeUserLang(*upd.Lang)
		u.Lang = roster.NormalizeUserLang(*upd.Lang)
	}
	if len(after) == 0 {
		return false, nil
	}
	var idle any
	if u.IdleTimeoutSeconds != nil {
		idle = *u.IdleTimeoutSeconds
	}
	if _, err := tx.ExecContext(ctx, updateUsers+`ip_allowlist = $1, idle_timeout_seconds = $2, lang = $3,
		updated_at = $4 WHERE id = $5`, strings.Join(u.IPAllowlist, "\n"), idle, u.Lang, tx.now, u.ID); err != nil {
		return false, fmt.Errorf("set access: %w", err)
	}
	// A new idle timeout applies to the sessions already open.
	if _, ok := after["idle_timeout_seconds"]; ok && u.IdleTimeoutSeconds != nil {
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET idle_timeout_seconds = $1 WHERE user_id = $2`, *u.IdleTimeoutSeconds, u.ID); err != nil {
			return false, fmt.Errorf("apply idle timeout: %w", err)
		}
	}
	e := userEvent(roster.EventUserAccessChanged, u)
	e.Before, e.After = before, after
	u.UpdatedAt = tx.now
	return true, writeEvent(ctx, tx, e)
}

// UserSessions lists a user's live sessions, newest first.
func (s *Store) UserSessions(ctx context.Context, userID int64) ([]*roster.Session, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, kind, user_id, address, user_agent, created_at, last_seen_at,
		idle_timeout_seconds, expires_at FROM sessions WHERE user_id = $1 AND kind <> $2 ORDER BY created_at DESC, id DESC`,
		userID, roster.SessionPasswordChange)
	if err != nil {
		return nil, fmt.Errorf("user sessions: %w", err)
	}
	defer rows.Close()
	now := s.now()
	out := []*roster.Session{}
	for rows.Next() {
		var ss roster.Session
		var idle int64
		if err := rows.Scan(&ss.ID, &ss.Kind, &ss.UserID, &ss.Address, &ss.UserAgent, &ss.CreatedAt, &ss.LastSeenAt,
			&idle, &ss.ExpiresAt); err != nil {
			return nil, fmt.Errorf("user sessions: %w", err)
		}
		ss.IdleTimeout = time.Duration(idle) * time.Second
		ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = ss.CreatedAt.UTC(), ss.LastSeenAt.UTC(), ss.ExpiresAt.UTC()
		if !ss.Expired(now) {
			out = append(out, &ss)
		}
	}
	return out, rows.Err()
}

// EndUserSession ends one session of a user.
func (s *Store) EndUserSession(ctx context.Context, userID, sessionID int64) error {
	r, err := s.exec(ctx, `DELETE FROM sessions WHERE id = $1 AND user_id = $2`, sessionID, userID)
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return notFound("Session")
	}
	return nil
}

// EndAllUserSessions ends every session of a user in scope.
func (s *Store) EndAllUserSessions(ctx context.Context, scope roster.Scope, id int64) (int, error) {
	return writeResult(ctx, s, func(tx *Tx) (int, error) {
		return endAllUserSessions(ctx, tx, scope, id)
	})
}

func endAllUserSessions(ctx context.Context, tx *Tx, scope roster.Scope, id int64) (int, error) {
	u, err := onUser(ctx, tx, scope, id)
	if err != nil {
		return 0, err
	}
	r, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 OR impersonator_id = $1`, u.ID)
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	n, _ := r.RowsAffected()
	e := userEvent(roster.EventSessionsEnded, u)
	e.After = map[string]any{"sessions": n}
	if err := writeEvent(ctx, tx, e); err != nil {
		return 0, err
	}
	return int(n), nil
}

// later returns the later of two times.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
