package mfa

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Rules of e-mail sign-in codes (issue 3).
const (
	EmailCodeDigits   = 6
	EmailCodeTTL      = 10 * time.Minute
	EmailCodeMaxTries = 5
)

// Errors of EmailChallenge.Check; each says what the user should do next.
var (
	// ErrCodeExpired: more than EmailCodeTTL passed; ask for a new code.
	ErrCodeExpired = errors.New("mfa: the code has expired")
	// ErrTooManyTries: EmailCodeMaxTries wrong codes; sign in again.
	ErrTooManyTries = errors.New("mfa: too many wrong codes")
	// ErrWrongCode: the code does not match; try again.
	ErrWrongCode = errors.New("mfa: wrong code")
	// ErrCodeUsed: the code was already accepted once.
	ErrCodeUsed = errors.New("mfa: the code was already used")
)

// NewEmailCode returns a uniformly random six-digit code to e-mail and its
// SHA-256 hash to store. A six-digit hash can be reversed by anyone who
// reads the database; the protection is the short life, the try limit and
// the binding to one sign-in attempt, which EmailChallenge enforces.
func NewEmailCode() (code string, hash []byte) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(fmt.Sprintf("mfa: crypto/rand failed: %v", err)) // cannot happen since Go 1.24
	}
	code = fmt.Sprintf("%06d", n.Int64())
	return code, hashEmailCode(code)
}

func hashEmailCode(code string) []byte {
	sum := sha256.Sum256([]byte(code))
	return sum[:]
}

// EmailChallenge is the state of the e-mail code of one sign-in attempt, as
// stored beside that attempt. The rules:
//
//   - a code is valid for EmailCodeTTL after IssuedAt;
//   - only the latest code works: Renew replaces the hash, so earlier codes
//     die, and keeps Tries, so asking for new codes buys no extra guesses;
//   - at most EmailCodeMaxTries codes may be checked per attempt, right or
//     wrong; after that the user must start signing in again;
//   - a code is accepted once.
//
// Check and Renew change the value: the caller stores it (Tries, Used)
// in the same transaction that acts on the result.
type EmailChallenge struct {
	Hash     []byte
	IssuedAt time.Time
	Tries    int
	Used     bool
}

// NewEmailChallenge starts a challenge at now and returns the code to send.
func NewEmailChallenge(now time.Time) (code string, c EmailChallenge) {
	code, hash := NewEmailCode()
	return code, EmailChallenge{Hash: hash, IssuedAt: now}
}

// Renew replaces the code with a new one issued at now and returns it.
func (c *EmailChallenge) Renew(now time.Time) (code string) {
	code, c.Hash = NewEmailCode()
	c.IssuedAt, c.Used = now, false
	return code
}

// ExpiresAt is when the current code stops working.
func (c *EmailChallenge) ExpiresAt() time.Time { return c.IssuedAt.Add(EmailCodeTTL) }

// TriesLeft is how many more codes may be checked.
func (c *EmailChallenge) TriesLeft() int { return max(0, EmailCodeMaxTries-c.Tries) }

// Check tests code at now. It returns true, nil when the code is right and
// marks it used; otherwise false with ErrCodeUsed, ErrTooManyTries,
// ErrCodeExpired or ErrWrongCode, in that order of precedence. A wrong code
// uses up one try; an expired code is refused without looking at it.
func (c *EmailChallenge) Check(now time.Time, code string) (ok bool, err error) {
	switch {
	case c.Used:
		return false, ErrCodeUsed
	case c.Tries >= EmailCodeMaxTries:
		return false, ErrTooManyTries
	case !now.Before(c.ExpiresAt()) || now.Before(c.IssuedAt.Add(-time.Minute)):
		// A code from the future means a broken clock or tampered state:
		// refuse it too.
		return false, ErrCodeExpired
	}
	c.Tries++
	code = normalizeDigits(code)
	if len(code) != EmailCodeDigits || len(c.Hash) != sha256.Size ||
		subtle.ConstantTimeCompare(hashEmailCode(code), c.Hash) != 1 {
		return false, ErrWrongCode
	}
	c.Used = true
	return true, nil
}
