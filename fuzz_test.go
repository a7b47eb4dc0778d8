package roster

import (
	"errors"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// Fuzz targets for the domain's parsers. The seed corpora run in every
// `go test`; explore with, for example:
//
//	go test -run '^$' -fuzz '^FuzzParseAllowlist$' -fuzztime 20s .

func FuzzParseAllowlist(f *testing.F) {
	for _, s := range []string{
		"", "203.0.113.7", "10.1.2.3/8\n2001:db8::/32", "::ffff:192.0.2.1", "::ffff:198.51.100.0/120",
		"fe80::1%eth0", "0.0.0.0/0\n::/0", "1.2.3.4\n1.2.3.4/32\n::ffff:1.2.3.4", "10.0.0.0/33",
		"::ffff:0:0/90", "a\nb\nc", "1.2.3.4/8/8", "[::1]", "  \n \t", "2001:db8::1/64",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		entries := strings.Split(s, "\n")
		l, err := ParseAllowlist(entries)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != EINVALID || len(e.Fields) == 0 {
				t.Fatalf("error %v is not EINVALID with fields", err)
			}
			for _, fe := range e.Fields {
				if fe.Field != "ip_allowlist" || fe.Message == "" {
					t.Fatalf("field error %+v", fe)
				}
			}
			return
		}
		strs := l.Strings()
		if len(strs) > MaxAllowlistEntries || len(strs) > len(entries) {
			t.Fatalf("%d entries", len(strs))
		}
		// Canonical: parsing the output again gives the same list.
		again, err := ParseAllowlist(strs)
		if err != nil {
			t.Fatalf("canonical %q refused: %v", strs, err)
		}
		if !slices.Equal(again.Strings(), strs) || !slices.Equal(again.Prefixes(), l.Prefixes()) {
			t.Fatalf("round trip %q -> %q", strs, again.Strings())
		}
		seen := map[netip.Prefix]bool{}
		for _, p := range l.Prefixes() {
			if seen[p] || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
				t.Fatalf("entry %s is not normalized or repeated", p)
			}
			seen[p] = true
			if !l.Allows(p.Addr()) {
				t.Fatalf("%s does not allow its own address", p)
			}
		}
		// Every accepted entry, as typed, is allowed by the list.
		for _, e := range entries {
			if a, err := netip.ParseAddr(strings.TrimSpace(e)); err == nil && !l.Allows(a) {
				t.Fatalf("listed address %s not allowed", a)
			}
		}
	})
}

func FuzzClientAddr(f *testing.F) {
	for _, tc := range [][2]string{
		{"198.51.100.7:5555", ""}, {"198.51.100.7:5555", "10.9.9.9"}, {"10.0.0.2:443", "1.2.3.4, 203.0.113.9"},
		{"10.0.0.2:443", "10.0.0.5, 10.0.0.7"}, {"10.0.0.2:443", "1.2.3.4, garbage"}, {"[::1]:8080", "[2001:db8::7]:1234"},
		{"[::ffff:10.0.0.2]:443", "::ffff:203.0.113.9"}, {"", ""}, {"10.0.0.2:443", ",,,"}, {"10.0.0.2", "[[::1]]"},
	} {
		f.Add(tc[0], tc[1])
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		got := ClientAddr(remote, xff, trusted)
		peer := ClientAddr(remote, "", trusted)
		if !peer.IsValid() {
			if got.IsValid() {
				t.Fatalf("address %s from an invalid peer %q", got, remote)
			}
			return
		}
		if got.Is4In6() || got.Zone() != "" {
			t.Fatalf("%s not normalized", got)
		}
		if !prefixesContain(trusted, peer) && got != peer {
			t.Fatalf("untrusted peer %s: header %q chose %s", peer, xff, got)
		}
		if got != peer {
			// The answer is one of the header's hops, and every hop to
			// its right is trusted.
			hops := strings.Split(xff, ",")
			i := len(hops) - 1
			for ; i >= 0 && parseHostAddr(strings.TrimSpace(hops[i])) != got; i-- {
				if !prefixesContain(trusted, parseHostAddr(strings.TrimSpace(hops[i]))) {
					t.Fatalf("untrusted hop %q right of the answer %s", hops[i], got)
				}
			}
			if i < 0 {
				t.Fatalf("answer %s is not in %q", got, xff)
			}
		}
	})
}

var loginRE2 = regexp.MustCompile(`^[a-z0-9]+$`)

func FuzzEmail(f *testing.F) {
	for _, s := range []string{"Anna@Example.COM", " a@b.co ", "a@b", "\"a b\"@example.com", "a@b.c\r\nBcc: x@y.z",
		"Ivan <ivan@example.com>", "иван@пример.рф", "a@@b.c", "@example.com", "\u212Aelvin@example.com",
		"a@b.c\x00", strings.Repeat("a", 250) + "@b.co"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeEmail(s)
		if NormalizeEmail(n) != n {
			t.Fatalf("NormalizeEmail not idempotent: %q -> %q -> %q", s, n, NormalizeEmail(n))
		}
		var v Validation
		ValidateEmail(&v, "email", n)
		if len(v.Fields) > 1 {
			t.Fatalf("%d errors for one field", len(v.Fields))
		}
		if len(v.Fields) == 1 {
			if v.Fields[0].Field != "email" || v.Fields[0].Code == "" {
				t.Fatalf("%+v", v.Fields[0])
			}
			return
		}
		// An accepted address is safe in a mail header and a lookup key.
		at := strings.LastIndexByte(n, '@')
		if at < 1 || len(n) > 254 || n != strings.TrimSpace(n) {
			t.Fatalf("accepted %q", n)
		}
		if strings.ToLower(n) != n {
			t.Fatalf("accepted %q is not lower-case", n)
		}
		for _, r := range n {
			if unicode.IsControl(r) || unicode.IsSpace(r) || strings.ContainsRune("<>\",", r) {
				t.Fatalf("accepted %q with %q", n, r)
			}
		}
	})
}

func FuzzLogin(f *testing.F) {
	for _, s := range []string{"Ivan", " ivan42 ", "iv", "i", "ivan.petrov", "иван", "\u212Aelvin", "ſam",
		"İstanbul", "a\x00b", strings.Repeat("a", 65), "ABC123"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeLogin(s)
		if NormalizeLogin(n) != n {
			t.Fatalf("NormalizeLogin not idempotent: %q -> %q -> %q", s, n, NormalizeLogin(n))
		}
		var v Validation
		ValidateLogin(&v, "login", n)
		if len(v.Fields) == 0 && (!loginRE2.MatchString(n) || len(n) < 2 || len(n) > 64) {
			t.Fatalf("accepted login %q (from %q)", n, s)
		}
		if len(v.Fields) > 1 {
			t.Fatalf("%d errors for one field", len(v.Fields))
		}
	})
}
