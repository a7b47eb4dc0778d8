package roster

import (
	"strings"
	"unicode/utf8"
)

// Password length limits (NIST SP 800-63B: at least 8, we default to 12; no
// composition rules; long passphrases allowed).
const (
	DefaultPasswordMinLength = 12
	PasswordMaxLength        = 256
)

// commonPasswords holds passwords that appear at the top of every breach
// list, lower-cased; anything containing only one of them is refused too.
var commonPasswords = map[string]bool{}

func init() {
	for _, p := range strings.Fields(`123456 123456789 12345678 1234567890 12345 1234567 password
	password1 password123 qwerty qwerty123 qwertyuiop 111111 123123 abc123 1q2w3e4r 1q2w3e4r5t
	1qaz2wsx zaq12wsx admin administrator letmein welcome welcome1 iloveyou monkey dragon sunshine
	princess football baseball master shadow superman michael qazwsx trustno1 000000 654321
	666666 121212 7777777 987654321 passw0rd p@ssw0rd p@ssword changeme secret default
	login starwars whatever freedom hello hello123 asdfgh asdfghjkl zxcvbnm zxcvbnm123
	aa123456 a123456 123qwe qwe123 q1w2e3r4 q1w2e3r4t5y6 1234qwer qwer1234 password12345
	passwordpassword 123456123456 123456654321 11111111 00000000 12341234 88888888 iloveyou1
	roster roster123 йцукен йцукенгшщзх пароль пароль123 qwertyqwerty abcdef abcdefgh
	abcd1234 1234abcd internet computer killer jordan23 access flower hottie lovely
	charlie donald batman azerty ninja mustang jennifer hunter2 soccer hockey ranger buster`) {
		commonPasswords[p] = true
	}
}

// ValidatePassword checks a new password against the policy: length, the
// list of common passwords, and the user's own login, e-mail and name. The
// message says which rule failed.
func ValidatePassword(v *Validation, field, pw string, u *User, minLength int) {
	if minLength < 8 {
		minLength = DefaultPasswordMinLength
	}
	n := utf8.RuneCountInString(pw)
	switch {
	case n == 0:
		v.Add(field, "required", "Enter a password.")
		return
	case n < minLength:
		v.Fields = append(v.Fields, FieldError{Field: field, Code: "password_too_short",
			Message: "A password needs at least " + itoa(minLength) + " characters.", Args: []any{minLength}})
		return
	case n > PasswordMaxLength:
		v.Add(field, "password_too_long", "A password is at most 256 characters.")
		return
	}
	lower := strings.ToLower(pw)
	if commonPasswords[lower] || commonPasswords[strings.TrimRight(lower, "0123456789!.")] || repeats(lower) {
		v.Add(field, "password_common", "This password is too common; choose another.")
		return
	}
	if u == nil {
		return
	}
	local := u.Email
	if at := strings.IndexByte(local, '@'); at > 0 {
		local = local[:at]
	}
	for _, id := range []string{u.Login, local, u.FirstName, u.LastName} {
		id = strings.ToLower(strings.TrimSpace(id))
		if utf8.RuneCountInString(id) >= 3 && strings.Contains(lower, id) {
			v.Add(field, "password_personal", "A password cannot contain your login, e-mail or name.")
			return
		}
	}
}

// repeats reports a password made of one short chunk repeated ("abcabcabcabc").
func repeats(s string) bool {
	for size := 1; size <= 4 && size < len(s); size++ {
		if len(s)%size == 0 && strings.Repeat(s[:size], len(s)/size) == s {
			return true
		}
	}
	return false
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
