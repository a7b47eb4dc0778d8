// Package secure holds Roster's cryptography: argon2id password hashing with
// bounded concurrency, random tokens stored as SHA-256 hashes, generated
// passwords and HMAC-sealed values such as list cursors.
package secure

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// OWASP are the OWASP Password Storage Cheat Sheet parameters for argon2id:
// 19 MiB, two iterations, one lane.
var OWASP = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// TestParams are cheap parameters for tests only.
var TestParams = Params{Memory: 64, Time: 1, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

// Hasher hashes and verifies passwords. At most a fixed number of hashes run
// at once (each holds Params.Memory), so a flood of sign-ins queues instead
// of exhausting memory.
type Hasher struct {
	params Params
	sem    chan struct{}
	dummy  string
}

// NewHasher returns a Hasher running at most maxConcurrent hashes at once
// (the CPU count when maxConcurrent < 1).
func NewHasher(p Params, maxConcurrent int) *Hasher {
	if maxConcurrent < 1 {
		maxConcurrent = runtime.NumCPU()
	}
	h := &Hasher{params: p, sem: make(chan struct{}, maxConcurrent)}
	h.dummy = h.encode(make([]byte, saltLen), "roster-dummy-password")
	return h
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.sem }

// Hash returns the PHC-format argon2id hash of password.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	rand.Read(salt)
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.encode(salt, password), nil
}

func (h *Hasher) encode(salt []byte, password string) string {
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.Memory, h.params.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.params.Memory, h.params.Time, h.params.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// ErrMalformedHash is returned for a stored hash that cannot be parsed.
var ErrMalformedHash = errors.New("secure: malformed password hash")

// Verify reports whether password matches the encoded hash. An empty encoded
// hash (no password set) is verified against a dummy hash, so that the time
// spent does not tell whether an account exists, and never matches.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	target := encoded
	if encoded == "" {
		target = h.dummy
	}
	var version int
	var p Params
	parts := strings.Split(target, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrMalformedHash
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrMalformedHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Memory == 0 || p.Time == 0 || p.Threads == 0 || p.Memory > 1<<22 || p.Time > 64 {
		return false, ErrMalformedHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false, ErrMalformedHash
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	h.release()
	return encoded != "" && subtle.ConstantTimeCompare(got, want) == 1, nil
}

// NeedsRehash reports whether an encoded hash uses other parameters than h.
func (h *Hasher) NeedsRehash(encoded string) bool {
	return !strings.Contains(encoded, fmt.Sprintf("$m=%d,t=%d,p=%d$", h.params.Memory, h.params.Time, h.params.Threads))
}

// NewToken returns a random 256-bit token for a client and its SHA-256 hash
// for storage: only the hash is ever stored.
func NewToken() (token string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken returns the SHA-256 of a token as stored.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// ValidTokenFormat reports whether s could be a token made by NewToken, so
// that garbage is refused before any database lookup.
func ValidTokenFormat(s string) bool {
	if len(s) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == 32
}

// Password alphabet without look-alike characters (0/O, 1/l/I).
const passwordAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// GeneratePassword returns a random 16-character temporary password
// (about 93 bits).
func GeneratePassword() string {
	return randomString(16, passwordAlphabet)
}

func randomString(n int, alphabet string) string {
	out := make([]byte, n)
	max := 256 - 256%len(alphabet)
	buf := make([]byte, 1)
	for i := 0; i < n; {
		rand.Read(buf)
		if int(buf[0]) < max {
			out[i] = alphabet[int(buf[0])%len(alphabet)]
			i++
		}
	}
	return string(out)
}

// Equal compares two secrets in constant time.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Seal returns payload with an HMAC-SHA256 tag, base64url-encoded, so a
// client can hold it (a cursor) and cannot alter it.
func Seal(key, payload []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	return base64.RawURLEncoding.EncodeToString(append(m.Sum(nil)[:16], payload...))
}

// ErrTampered is returned by Open for a value that was not sealed with key.
var ErrTampered = errors.New("secure: sealed value was altered")

// Open checks and returns the payload of a value made by Seal.
func Open(key []byte, sealed string) ([]byte, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(sealed)
	if err != nil || len(b) < 16 {
		return nil, ErrTampered
	}
	m := hmac.New(sha256.New, key)
	m.Write(b[16:])
	if !hmac.Equal(m.Sum(nil)[:16], b[:16]) {
		return nil, ErrTampered
	}
	return b[16:], nil
}
