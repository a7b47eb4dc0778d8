// Package mfa holds Roster's second factors: TOTP (RFC 6238) with replay
// protection, single-use recovery codes and e-mail sign-in codes. It is pure
// logic; the caller stores secrets (encrypted, see secure.Encrypt), the last
// used TOTP step, hashes and counters.
package mfa

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters: the ones every authenticator app understands
// (Google Authenticator ignores anything else).
const (
	TOTPPeriod = 30 * time.Second
	TOTPDigits = 6
	// TOTPSkew is how many steps before and after the current one are
	// accepted, for clock drift and typing time.
	TOTPSkew = 1
	// qrSize is the width and height of the QR code image in pixels.
	qrSize = 256
)

var totpOpts = totp.ValidateOpts{Period: uint(TOTPPeriod / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// NewTOTPKey makes a new 160-bit TOTP secret for account (the user's e-mail
// or login) at issuer (the product or company name). It returns the secret
// in base32, the otpauth:// URL an app imports, and that URL as a PNG QR
// code for the enrolment page.
func NewTOTPKey(issuer, account string) (secret string, otpauthURL string, qrPNG []byte, err error) {
	if issuer == "" || account == "" {
		return "", "", nil, errors.New("mfa: TOTP key needs an issuer and an account")
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      totpOpts.Period,
		Digits:      totpOpts.Digits,
		Algorithm:   totpOpts.Algorithm,
		SecretSize:  20, // RFC 4226 recommends 160 bits
	})
	if err != nil {
		return "", "", nil, fmt.Errorf("mfa: generate TOTP key: %w", err)
	}
	img, err := key.Image(qrSize, qrSize)
	if err != nil {
		return "", "", nil, fmt.Errorf("mfa: TOTP QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", "", nil, fmt.Errorf("mfa: encode TOTP QR code: %w", err)
	}
	return key.Secret(), key.URL(), buf.Bytes(), nil
}

// TOTPStep is the RFC 6238 time step of t.
func TOTPStep(t time.Time) int64 { return t.Unix() / int64(TOTPPeriod/time.Second) }

// ValidateTOTP checks a code against secret at now, accepting the current
// step and one step either side. A code whose step is not after
// lastUsedStep is refused, so a code accepted once is never accepted again
// (and neither is an older one): on success the caller stores the returned
// step as the new lastUsedStep, atomically with accepting the sign-in.
// A malformed secret or code is simply not ok.
func ValidateTOTP(secret, code string, now time.Time, lastUsedStep int64) (step int64, ok bool) {
	code = normalizeDigits(code)
	if len(code) != TOTPDigits {
		return 0, false
	}
	cur := TOTPStep(now)
	var found int64
	matched := false
	// Every candidate is computed and compared, so the time spent does
	// not tell which step matched.
	for s := cur - TOTPSkew; s <= cur+TOTPSkew; s++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*int64(TOTPPeriod/time.Second), 0), totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && s > lastUsedStep && !matched {
			found, matched = s, true
		}
	}
	return found, matched
}

// normalizeDigits removes the spaces and dashes people type inside codes
// ("123 456").
func normalizeDigits(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, s)
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return ""
		}
	}
	return s
}
