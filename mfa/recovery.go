package mfa

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"strings"
)

// DefaultRecoveryCodes is how many recovery codes a user gets.
const DefaultRecoveryCodes = 10

// recoveryAlphabet has no look-alike characters (0/o, 1/l/i); 12 characters
// of it carry about 59 bits, far beyond guessing through a rate-limited form.
const recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

const recoveryGroups, recoveryGroupLen = 3, 4

// NewRecoveryCodes returns n single-use recovery codes to show the user once,
// in readable groups like "abcd-efgh-jkmn", and their SHA-256 hashes to
// store (the codes are random enough that a plain hash suffices). n < 1
// means DefaultRecoveryCodes.
func NewRecoveryCodes(n int) (codes []string, hashes [][]byte) {
	if n < 1 {
		n = DefaultRecoveryCodes
	}
	for range n {
		var b strings.Builder
		raw := randomString(recoveryGroups*recoveryGroupLen, recoveryAlphabet)
		for g := range recoveryGroups {
			if g > 0 {
				b.WriteByte('-')
			}
			b.WriteString(raw[g*recoveryGroupLen : (g+1)*recoveryGroupLen])
		}
		codes = append(codes, b.String())
		hashes = append(hashes, hashRecoveryCode(raw))
	}
	return codes, hashes
}

// NormalizeRecoveryCode lower-cases a typed code and removes spaces and
// dashes, so "ABCD EFGH JKMN" matches "abcd-efgh-jkmn".
func NormalizeRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, code)
}

func hashRecoveryCode(normalized string) []byte {
	sum := sha256.Sum256([]byte("roster-recovery-code:" + normalized))
	return sum[:]
}

// MatchRecoveryCode reports which stored hash the typed code matches. Every
// hash is compared in constant time, so timing tells nothing about which or
// whether one matched. The caller deletes (or marks used) the matched hash
// in the same transaction that accepts the sign-in: a code works once.
func MatchRecoveryCode(code string, hashes [][]byte) (index int, ok bool) {
	norm := NormalizeRecoveryCode(code)
	if len(norm) != recoveryGroups*recoveryGroupLen {
		return -1, false
	}
	h := hashRecoveryCode(norm)
	index = -1
	for i, stored := range hashes {
		if subtle.ConstantTimeCompare(h, stored) == 1 && index < 0 {
			index = i
		}
	}
	return index, index >= 0
}

// randomString returns n characters drawn uniformly from alphabet (fewer
// than 256 characters), by rejection sampling.
func randomString(n int, alphabet string) string {
	out := make([]byte, 0, n)
	limit := 256 - 256%len(alphabet)
	buf := make([]byte, 2*n)
	for len(out) < n {
		rand.Read(buf) // never fails (Go 1.24+)
		for _, c := range buf {
			if int(c) < limit && len(out) < n {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out)
}
