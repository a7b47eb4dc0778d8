package secure

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// MinMasterKeyLen is the shortest master key DeriveKey accepts: the
// configuration must check it at start.
const MinMasterKeyLen = 32

// aeadVersion prefixes every value Encrypt makes, so that the algorithm or
// key can change later while old values still decrypt.
const aeadVersion = "v1:"

// ErrDecrypt is returned by Decrypt for a value that is malformed, was
// altered, or was encrypted with another key. The cases are not told apart.
var ErrDecrypt = errors.New("secure: cannot decrypt value")

// DeriveKey derives a 32-byte key for one purpose ("totp-secret", …) from
// the master key with HKDF-SHA256, so that one configured secret yields
// independent keys and a value encrypted for one purpose cannot be
// decrypted as another. It panics when master is shorter than
// MinMasterKeyLen: a configuration error that must be caught at start.
func DeriveKey(master []byte, purpose string) []byte {
	if len(master) < MinMasterKeyLen {
		panic(fmt.Sprintf("secure: master key of %d bytes, need at least %d", len(master), MinMasterKeyLen))
	}
	key, err := hkdf.Key(sha256.New, master, nil, "roster/"+purpose, 32)
	if err != nil {
		panic(err) // only for lengths above 255*32 bytes
	}
	return key
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secure: AES-256 key must be 32 bytes, not %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secure: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secure: %w", err)
	}
	return gcm, nil
}

// Encrypt seals plaintext with AES-256-GCM under a 32-byte key (see
// DeriveKey) and a random 96-bit nonce, and returns "v1:" followed by the
// base64url of nonce and ciphertext: text for a database column. Random
// nonces are safe for far more than 2^32 values under one key.
func Encrypt(key []byte, plaintext []byte) (string, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize(), gcm.NonceSize()+len(plaintext)+gcm.Overhead())
	rand.Read(nonce) // never fails (Go 1.24+)
	sealed := gcm.Seal(nonce, nonce, plaintext, []byte(aeadVersion))
	return aeadVersion + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// Decrypt opens a value made by Encrypt with the same key. Any change to
// the value, including to its encoding, makes it fail with ErrDecrypt.
func Decrypt(key []byte, s string) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	rest, ok := strings.CutPrefix(s, aeadVersion)
	if !ok {
		return nil, ErrDecrypt
	}
	// Only the canonical encoding is accepted (the decoder would skip line
	// breaks and ignore the unused bits of the last character), so one
	// value has exactly one spelling.
	b, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	if err != nil || len(b) < gcm.NonceSize()+gcm.Overhead() ||
		base64.RawURLEncoding.EncodeToString(b) != rest {
		return nil, ErrDecrypt
	}
	plain, err := gcm.Open(nil, b[:gcm.NonceSize()], b[gcm.NonceSize():], []byte(aeadVersion))
	if err != nil {
		return nil, ErrDecrypt
	}
	return plain, nil
}
