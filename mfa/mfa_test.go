package mfa

import (
	"bytes"
	"encoding/base32"
	"errors"
	"image/png"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

func TestNewTOTPKey(t *testing.T) {
	secret, u, qr, err := NewTOTPKey("Roster", "anna@example.com")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil || len(raw) != 20 {
		t.Fatalf("secret %q: %d bytes, %v", secret, len(raw), err)
	}
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "otpauth" || p.Host != "totp" {
		t.Fatalf("url %q", u)
	}
	q := p.Query()
	if q.Get("secret") != secret || q.Get("issuer") != "Roster" || q.Get("period") != "30" ||
		q.Get("digits") != "6" || q.Get("algorithm") != "SHA1" || !strings.Contains(p.Path, "anna@example.com") {
		t.Fatalf("url %q", u)
	}
	img, err := png.Decode(bytes.NewReader(qr))
	if err != nil || img.Bounds().Dx() != qrSize {
		t.Fatalf("qr: %v", err)
	}
	secret2, _, _, _ := NewTOTPKey("Roster", "anna@example.com")
	if secret2 == secret {
		t.Fatal("same secret twice")
	}
	if _, _, _, err := NewTOTPKey("", "a"); err == nil {
		t.Fatal("empty issuer accepted")
	}
}

// rfcSecret is the RFC 6238 appendix B SHA-1 seed, base32.
var rfcSecret = base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))

func TestValidateTOTPRFCVectors(t *testing.T) {
	// RFC 6238 appendix B, SHA-1, last six of the eight digits.
	for unix, code := range map[int64]string{
		59: "287082", 1111111109: "081804", 1111111111: "050471",
		1234567890: "005924", 2000000000: "279037", 20000000000: "353130",
	} {
		step, ok := ValidateTOTP(rfcSecret, code, time.Unix(unix, 0), 0)
		if !ok || step != unix/30 {
			t.Errorf("%d %s: step %d ok %v", unix, code, step, ok)
		}
	}
}

func codeAt(t *testing.T, secret string, step int64) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, time.Unix(step*30, 0), totpOpts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestValidateTOTPWindowAndReplay(t *testing.T) {
	secret, _, _, err := NewTOTPKey("Roster", "a")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 12, 0, 10, 0, time.UTC)
	cur := TOTPStep(now)
	for d := int64(-3); d <= 3; d++ {
		code := codeAt(t, secret, cur+d)
		step, ok := ValidateTOTP(secret, code, now, 0)
		want := d >= -1 && d <= 1
		// A code of a far step may collide with a near one by chance (1 in 10^6).
		if ok != want && codeAt(t, secret, cur-1) != code && codeAt(t, secret, cur) != code && codeAt(t, secret, cur+1) != code {
			t.Errorf("step %+d: ok %v", d, ok)
		}
		if ok && want && step != cur+d {
			t.Errorf("step %+d: got step %d", d, step)
		}
	}

	// Replay: a code accepted once is refused afterwards, and so is an
	// older one, even inside the window.
	code := codeAt(t, secret, cur)
	step, ok := ValidateTOTP(secret, code, now, 0)
	if !ok {
		t.Fatal("current code refused")
	}
	if _, ok := ValidateTOTP(secret, code, now, step); ok {
		t.Fatal("replayed code accepted")
	}
	if _, ok := ValidateTOTP(secret, code, now.Add(25*time.Second), step); ok {
		t.Fatal("replayed code accepted in the next step")
	}
	if prev := codeAt(t, secret, cur-1); prev != code {
		if _, ok := ValidateTOTP(secret, prev, now, step); ok {
			t.Fatal("older code accepted after a newer one")
		}
	}
	next := codeAt(t, secret, cur+1)
	if s, ok := ValidateTOTP(secret, next, now.Add(30*time.Second), step); !ok || s != cur+1 {
		t.Fatal("next code refused")
	}
}

func TestValidateTOTPMalformed(t *testing.T) {
	now := time.Unix(59, 0)
	for _, c := range []string{"", "28708", "2870821", "28708a", "２８７０８２", "287082\x00"} {
		if _, ok := ValidateTOTP(rfcSecret, c, now, 0); ok {
			t.Errorf("%q accepted", c)
		}
	}
	for _, c := range []string{"287 082", "287-082", " 287082 "} {
		if _, ok := ValidateTOTP(rfcSecret, c, now, 0); !ok {
			t.Errorf("%q refused", c)
		}
	}
	if _, ok := ValidateTOTP("not base32!", "287082", now, 0); ok {
		t.Error("bad secret accepted")
	}
	if _, ok := ValidateTOTP("", "287082", now, 0); ok {
		t.Error("empty secret accepted")
	}
}

var recoveryRE = regexp.MustCompile(`^[a-hjkmnp-z2-9]{4}-[a-hjkmnp-z2-9]{4}-[a-hjkmnp-z2-9]{4}$`)

func TestRecoveryCodes(t *testing.T) {
	codes, hashes := NewRecoveryCodes(0)
	if len(codes) != DefaultRecoveryCodes || len(hashes) != DefaultRecoveryCodes {
		t.Fatalf("%d codes", len(codes))
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if !recoveryRE.MatchString(c) || seen[c] || len(hashes[i]) != 32 {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
		for _, typed := range []string{c, strings.ToUpper(c), strings.ReplaceAll(c, "-", " "), strings.ReplaceAll(c, "-", "")} {
			if idx, ok := MatchRecoveryCode(typed, hashes); !ok || idx != i {
				t.Fatalf("%q: %d %v", typed, idx, ok)
			}
		}
		if bytes.Contains(hashes[i], []byte(c)) {
			t.Fatal("code stored in clear")
		}
	}
	// Used once: the caller removes the matched hash.
	idx, _ := MatchRecoveryCode(codes[3], hashes)
	hashes = append(hashes[:idx], hashes[idx+1:]...)
	if _, ok := MatchRecoveryCode(codes[3], hashes); ok {
		t.Fatal("used code accepted")
	}
	for _, bad := range []string{"", "abcd-efgh-jkm", "abcd-efgh-jkmnp", "zzzz-zzzz-zzzz", codes[0] + "x"} {
		if idx, ok := MatchRecoveryCode(bad, hashes); ok || idx != -1 {
			t.Errorf("%q matched", bad)
		}
	}
	if c, _ := NewRecoveryCodes(3); len(c) != 3 {
		t.Fatal("n ignored")
	}
}

func TestNewEmailCode(t *testing.T) {
	const n = 30000
	var counts [10]int
	leadingZero := false
	for range n {
		code, hash := NewEmailCode()
		if len(code) != 6 || normalizeDigits(code) != code || !bytes.Equal(hash, hashEmailCode(code)) {
			t.Fatalf("code %q", code)
		}
		counts[code[0]-'0']++
		counts[code[5]-'0']++
		leadingZero = leadingZero || code[0] == '0'
	}
	if !leadingZero {
		t.Fatal("no code starts with 0: not uniform over 000000–999999")
	}
	for d, c := range counts {
		// Expected 6000 each; 6 sigma is about 440.
		if c < 5500 || c > 6500 {
			t.Errorf("digit %d appears %d times", d, c)
		}
	}
}

func TestEmailChallenge(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

	t.Run("OK", func(t *testing.T) {
		code, c := NewEmailChallenge(t0)
		if ok, err := c.Check(t0.Add(9*time.Minute+59*time.Second), code); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if ok, err := c.Check(t0.Add(time.Minute), code); ok || !errors.Is(err, ErrCodeUsed) {
			t.Fatal("code accepted twice", err)
		}
	})
	t.Run("ErrCodeExpired", func(t *testing.T) {
		code, c := NewEmailChallenge(t0)
		if ok, err := c.Check(t0.Add(EmailCodeTTL), code); ok || !errors.Is(err, ErrCodeExpired) {
			t.Fatal(ok, err)
		}
		if c.Tries != 0 {
			t.Fatal("expired check used a try")
		}
		if ok, err := c.Check(t0.Add(-2*time.Minute), code); ok || !errors.Is(err, ErrCodeExpired) {
			t.Fatal("code from the future accepted", err)
		}
	})
	t.Run("ErrWrongCode", func(t *testing.T) {
		code, c := NewEmailChallenge(t0)
		wrong := "000000"
		if code == wrong {
			wrong = "000001"
		}
		for _, w := range []string{wrong, "", "12345", "abcdef"} {
			if ok, err := c.Check(t0, w); ok || !errors.Is(err, ErrWrongCode) {
				t.Fatal(ok, err)
			}
		}
		if c.TriesLeft() != 1 {
			t.Fatal(c.TriesLeft())
		}
		if ok, err := c.Check(t0, code); !ok || err != nil {
			t.Fatal("fifth try refused", err)
		}
	})
	t.Run("ErrTooManyTries", func(t *testing.T) {
		code, c := NewEmailChallenge(t0)
		for range EmailCodeMaxTries {
			c.Check(t0, "x")
		}
		if ok, err := c.Check(t0, code); ok || !errors.Is(err, ErrTooManyTries) {
			t.Fatal("right code accepted after the try limit", err)
		}
	})
	t.Run("OnlyLatest", func(t *testing.T) {
		old, c := NewEmailChallenge(t0)
		c.Check(t0, "x")
		code := c.Renew(t0.Add(8 * time.Minute))
		if old != code {
			if ok, err := c.Check(t0.Add(8*time.Minute), old); ok || !errors.Is(err, ErrWrongCode) {
				t.Fatal("replaced code accepted", err)
			}
		}
		if c.Tries != 2 && old != code {
			t.Fatal("renew reset the tries", c.Tries)
		}
		// The new code has its own ten minutes.
		if ok, err := c.Check(t0.Add(17*time.Minute), code); !ok || err != nil {
			t.Fatal(ok, err)
		}
	})
	t.Run("ErrorsDistinct", func(t *testing.T) {
		errs := []error{ErrCodeExpired, ErrTooManyTries, ErrWrongCode, ErrCodeUsed}
		for i := range errs {
			for j := range errs {
				if i != j && errors.Is(errs[i], errs[j]) {
					t.Fatal(errs[i], errs[j])
				}
			}
		}
	})
}
