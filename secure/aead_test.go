package secure

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func testMaster() []byte { return bytes.Repeat([]byte{7}, MinMasterKeyLen) }

func TestEncryptDecrypt(t *testing.T) {
	key := DeriveKey(testMaster(), "totp-secret")
	for _, plain := range [][]byte{nil, []byte("x"), []byte("JBSWY3DPEHPK3PXP"), bytes.Repeat([]byte("z"), 10000)} {
		s, err := Encrypt(key, plain)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(s, "v1:") || strings.Contains(s, string(plain)) && len(plain) > 3 {
			t.Fatalf("value %q", s)
		}
		got, err := Decrypt(key, s)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("round trip: %q %v", got, err)
		}
		s2, _ := Encrypt(key, plain)
		if s2 == s {
			t.Fatal("same ciphertext twice: nonce not random")
		}
	}
}

func TestDecryptRefuses(t *testing.T) {
	master := testMaster()
	key := DeriveKey(master, "totp-secret")
	s, _ := Encrypt(key, []byte("secret"))
	other := DeriveKey(master, "other-purpose")
	for name, tc := range map[string]struct {
		key []byte
		s   string
	}{
		"OtherKey":       {other, s},
		"NoPrefix":       {key, strings.TrimPrefix(s, "v1:")},
		"OtherVersion":   {key, "v2:" + strings.TrimPrefix(s, "v1:")},
		"Truncated":      {key, s[:len(s)-1]},
		"Short":          {key, "v1:AAAA"},
		"Empty":          {key, ""},
		"NotBase64":      {key, "v1:!!!!" + s[7:]},
		"Padded":         {key, s + "="},
		"NewlineInside":  {key, s[:10] + "\n" + s[10:]},
		"TrailingSpaces": {key, s + " "},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Decrypt(tc.key, tc.s); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("got %v", err)
			}
		})
	}
	if _, err := Encrypt([]byte("short"), nil); err == nil {
		t.Fatal("short key accepted")
	}
	if _, err := Decrypt(make([]byte, 16), s); err == nil || errors.Is(err, ErrDecrypt) {
		t.Fatalf("AES-128 key: %v", err)
	}
}

func TestDeriveKey(t *testing.T) {
	m := testMaster()
	a, b := DeriveKey(m, "a"), DeriveKey(m, "b")
	if len(a) != 32 || bytes.Equal(a, b) || !bytes.Equal(a, DeriveKey(m, "a")) {
		t.Fatal("keys not 32 bytes, distinct per purpose and deterministic")
	}
	m2 := append(bytes.Clone(m), 1)
	if bytes.Equal(a, DeriveKey(m2, "a")) {
		t.Fatal("master ignored")
	}
	// A master key shorter than MinMasterKeyLen is a configuration error.
	defer func() {
		if recover() == nil {
			t.Fatal("short master key accepted")
		}
	}()
	DeriveKey(make([]byte, MinMasterKeyLen-1), "a")
}
