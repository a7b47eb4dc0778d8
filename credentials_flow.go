package roster

import (
	"context"
	"time"
)

// The credential flows shared by the REST API (package web) and the HTML
// panel (package panel): each front end parses its request and renders its
// answer; the rules in between live here, once.

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
// of req.Email who is not blocked. It does the same costly work (a rendered
// e-mail, a password hash, a store read) whether or not such a user exists,
// so neither the answer nor its time tells; started reports whether a reset
// was stored with its e-mail job. Events are recorded in actx, a context
// carrying only the client address.
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
	if !real {
		_, err := creds.LoginThrottled(ctx, req.Address) // a read of similar cost
		return false, err
	}
	if err := creds.StartPasswordReset(actx, u.ID, req.Hash, req.Now().Add(PasswordResetTTL), job); err != nil {
		return false, err
	}
	return true, nil
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
