package secure

import (
	"bytes"
	"encoding/base64"
	"testing"
)

// Fuzz targets for token decoding. The seed corpora run in every `go test`;
// explore with, for example:
//
//	go test -fuzz=FuzzSealOpen -fuzztime=20s ./secure

func FuzzValidTokenFormat(f *testing.F) {
	tok, _ := NewToken()
	for _, s := range []string{tok, tok[:42], tok + "A", "", "====", "\x00", "é" + tok[2:],
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", "++++++++++++++++++++++++++++++++++++++++++/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidTokenFormat(s) {
			return
		}
		b, err := base64.RawURLEncoding.DecodeString(s)
		if len(s) != 43 || err != nil || len(b) != 32 {
			t.Fatalf("%q accepted: %d bytes, %v", s, len(b), err)
		}
		for _, c := range []byte(s) {
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				t.Fatalf("%q accepted with %q", s, c)
			}
		}
	})
}

func FuzzOpen(f *testing.F) {
	key := []byte("cursor-key")
	f.Add(key, Seal(key, []byte(`{"id":42,"name":"Anna"}`)))
	f.Add(key, Seal(key, nil))
	f.Add([]byte{}, "")
	f.Add(key, "AAAA")
	f.Add(key, "!!!!")
	f.Add(key, Seal([]byte("other"), []byte("x")))
	f.Fuzz(func(t *testing.T, key []byte, sealed string) {
		payload, err := Open(key, sealed)
		if err != nil {
			if payload != nil {
				t.Fatal("payload with an error")
			}
			return
		}
		// Whatever Open accepts re-seals to a value Open accepts again
		// with the same payload.
		again, err := Open(key, Seal(key, payload))
		if err != nil || !bytes.Equal(again, payload) {
			t.Fatalf("re-seal: %q %v", again, err)
		}
	})
}

func FuzzSealOpen(f *testing.F) {
	f.Add([]byte("cursor-key"), []byte(`{"id":42}`), 0, byte(1))
	f.Add([]byte("k"), []byte("a"), 22, byte(3)) // last character of a 17-byte value
	f.Add([]byte{}, []byte{}, 5, byte(0x80))
	f.Add([]byte("k"), bytes.Repeat([]byte{0xff}, 100), 1000, byte(0xff))
	f.Fuzz(func(t *testing.T, key, payload []byte, pos int, delta byte) {
		sealed := Seal(key, payload)
		got, err := Open(key, sealed)
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("Open(Seal(%q)) = %q, %v", payload, got, err)
		}
		if delta == 0 {
			delta = 1
		}
		if pos < 0 {
			pos = -(pos + 1)
		}

		// Any change to the sealed bytes is refused.
		raw, _ := base64.RawURLEncoding.DecodeString(sealed)
		raw[pos%len(raw)] ^= delta
		if _, err := Open(key, base64.RawURLEncoding.EncodeToString(raw)); err == nil {
			t.Fatalf("altered byte %d of %q accepted", pos%len(raw), payload)
		}

		// Any single-byte change to the text is refused, or at worst (see
		// TestOpenRefusesNonCanonicalEncoding) is another spelling of the
		// very same bytes: never a different payload.
		s := []byte(sealed)
		i := pos % len(s)
		s[i] += delta
		p2, err := Open(key, string(s))
		if err == nil {
			b1, _ := base64.RawURLEncoding.DecodeString(sealed)
			b2, _ := base64.RawURLEncoding.DecodeString(string(s))
			if !bytes.Equal(b1, b2) || !bytes.Equal(p2, payload) {
				t.Fatalf("altered text %q (byte %d) accepted with payload %q", s, i, p2)
			}
		}

		// A sealed value under another key is refused.
		if _, err := Open(append(bytes.Clone(key), 'x'), sealed); err == nil {
			t.Fatal("opened with another key")
		}
	})
}

// TestOpenRefusesNonCanonicalEncoding: the last character of a base64 value
// whose length is not a multiple of three carries unused bits that a lax
// decoder ignores; Open decodes strictly, so one sealed value has exactly
// one spelling.
func TestOpenRefusesNonCanonicalEncoding(t *testing.T) {
	key := []byte("k")
	sealed := Seal(key, []byte("a")) // 17 bytes: 2 unused bits at the end
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	accepted := 0
	for i := range len(alphabet) {
		if s := sealed[:len(sealed)-1] + alphabet[i:i+1]; s != sealed {
			if _, err := Open(key, s); err == nil {
				accepted++
			}
		}
	}
	if accepted > 0 {
		t.Fatalf("Open accepts %d non-canonical spellings of one sealed value", accepted)
	}
}

func FuzzDecrypt(f *testing.F) {
	key := DeriveKey(bytes.Repeat([]byte{1}, MinMasterKeyLen), "fuzz")
	v, _ := Encrypt(key, []byte("JBSWY3DPEHPK3PXP"))
	f.Add(v, []byte("JBSWY3DPEHPK3PXP"), 0, byte(1))
	f.Add("v1:", []byte{}, 3, byte(2))
	f.Add("", []byte("x"), 40, byte(0x80))
	f.Add("v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", []byte("xy"), 7, byte(0xff))
	f.Fuzz(func(t *testing.T, s string, plain []byte, pos int, delta byte) {
		if got, err := Decrypt(key, s); err == nil {
			// Only a value made with this key decrypts; it re-encrypts.
			if _, err := Encrypt(key, got); err != nil {
				t.Fatal(err)
			}
		}
		v, err := Encrypt(key, plain)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decrypt(key, v)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("round trip %q: %q %v", plain, got, err)
		}
		if delta == 0 {
			delta = 1
		}
		if pos < 0 {
			pos = -(pos + 1)
		}
		b := []byte(v)
		b[pos%len(b)] += delta
		if _, err := Decrypt(key, string(b)); err == nil {
			t.Fatalf("altered byte %d of %q accepted", pos%len(b), v)
		}
	})
}
