package roster

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestParseAllowlist(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		l, err := ParseAllowlist([]string{
			" 203.0.113.7 ", "10.1.2.3/8", "2001:DB8::1", "2001:db8:0:0::/32",
			"::ffff:192.0.2.1", "::ffff:198.51.100.0/120", "", "10.0.0.0/8", "203.0.113.7/32",
			"0.0.0.0/0", "::/0",
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"203.0.113.7", "10.0.0.0/8", "2001:db8::1", "2001:db8::/32",
			"192.0.2.1", "198.51.100.0/24", "0.0.0.0/0", "::/0"}
		if got := l.Strings(); !slices.Equal(got, want) {
			t.Fatalf("got %q\nwant %q", got, want)
		}
		if l.Len() != len(want) || len(l.Prefixes()) != len(want) {
			t.Fatal(l.Len())
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		bad := []string{"example.com", "10.0.0.0/33", "1.2.3", "fe80::1%eth0", "::ffff:0:0/90",
			"10.0.0.1/", "/8", "1.2.3.4 /8", "01.2.3.4", strings.Repeat("x", 500)}
		_, err := ParseAllowlist(append([]string{"10.0.0.1"}, bad...))
		var e *Error
		if !errors.As(err, &e) || e.Code != EINVALID {
			t.Fatalf("got %v", err)
		}
		if len(e.Fields) != len(bad) {
			t.Fatalf("%d field errors for %d bad entries: %+v", len(e.Fields), len(bad), e.Fields)
		}
		for i, f := range e.Fields {
			if f.Field != "ip_allowlist" || f.Code != "invalid_address" {
				t.Fatalf("%+v", f)
			}
			if i < len(bad)-1 && !strings.Contains(f.Message, fmt.Sprintf("%q", bad[i])) {
				t.Fatalf("message %q does not name %q", f.Message, bad[i])
			}
		}
		if last := e.Fields[len(e.Fields)-1].Message; len(last) > 200 {
			t.Fatalf("long entry not shortened: %d bytes", len(last))
		}
	})
	t.Run("ErrTooMany", func(t *testing.T) {
		var entries []string
		for i := range MaxAllowlistEntries {
			entries = append(entries, fmt.Sprintf("10.0.%d.%d", i/256, i%256))
		}
		entries = append(entries, entries[0]) // duplicates do not count
		if _, err := ParseAllowlist(entries); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, "192.0.2.1")
		_, err := ParseAllowlist(entries)
		var e *Error
		if !errors.As(err, &e) || e.Code != EINVALID || len(e.Fields) != 1 || e.Fields[0].Code != "too_many" {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		for _, in := range [][]string{nil, {}, {"", "  "}} {
			l, err := ParseAllowlist(in)
			if err != nil || l.Len() != 0 || len(l.Strings()) != 0 {
				t.Fatal(l, err)
			}
		}
	})
}

func TestAllowlistAllows(t *testing.T) {
	var empty Allowlist
	if !empty.Allows(netip.MustParseAddr("198.51.100.1")) || !empty.Allows(netip.Addr{}) {
		t.Fatal("the empty list must allow everything")
	}
	l, err := ParseAllowlist([]string{"203.0.113.0/24", "2001:db8::/32", "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{
		"203.0.113.0": true, "203.0.113.255": true, "203.0.114.0": false,
		"::ffff:203.0.113.9": true, "2001:db8:1::5": true, "2001:db9::": false,
		"192.0.2.1": true, "192.0.2.2": false, "fe80::1%eth0": false, "::1": false,
	} {
		if got := l.Allows(netip.MustParseAddr(addr)); got != want {
			t.Errorf("%s: %v", addr, got)
		}
	}
	if l.Allows(netip.Addr{}) {
		t.Error("invalid address allowed by a non-empty list")
	}
}

func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("::ffff:172.16.0.0/108")}
	for _, tc := range []struct {
		name, remote, xff, want string
	}{
		{"DirectNoHeader", "198.51.100.7:5555", "", "198.51.100.7"},
		{"SpoofedDirect", "198.51.100.7:5555", "10.9.9.9", "198.51.100.7"},
		{"SpoofedDirectMany", "198.51.100.7:5555", "1.1.1.1, 2.2.2.2", "198.51.100.7"},
		{"OneProxy", "10.0.0.2:443", "203.0.113.9", "203.0.113.9"},
		{"SpoofThroughProxy", "10.0.0.2:443", "1.2.3.4, 203.0.113.9", "203.0.113.9"},
		{"TwoTrustedHops", "10.0.0.2:443", "1.2.3.4, 203.0.113.9, 10.0.0.7", "203.0.113.9"},
		{"AllTrusted", "10.0.0.2:443", "10.0.0.5, 10.0.0.7", "10.0.0.5"},
		{"Malformed", "10.0.0.2:443", "1.2.3.4, garbage", "10.0.0.2"},
		{"MalformedEmptyHop", "10.0.0.2:443", "203.0.113.9,,", "10.0.0.2"},
		{"MalformedLeftOfClient", "10.0.0.2:443", "garbage, 203.0.113.9", "203.0.113.9"},
		{"HopWithPort", "10.0.0.2:443", "203.0.113.9:1234", "203.0.113.9"},
		{"IPv6Bracketed", "[::1]:8080", "[2001:db8::7]:1234", "2001:db8::7"},
		{"IPv6Bare", "[::1]:8080", " 2001:db8::7 ", "2001:db8::7"},
		{"MappedPeerTrusted", "[::ffff:10.0.0.2]:443", "203.0.113.9", "203.0.113.9"},
		{"MappedTrustedPrefix", "172.16.3.4:443", "203.0.113.9", "203.0.113.9"},
		{"MappedClient", "10.0.0.2:443", "::ffff:203.0.113.9", "203.0.113.9"},
		{"ZonedPeer", "[fe80::1%eth0]:80", "", "fe80::1"},
		{"BareRemote", "198.51.100.7", "", "198.51.100.7"},
		{"BadRemote", "not-an-address", "203.0.113.9", "invalid IP"},
		{"EmptyRemote", "", "", "invalid IP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ClientAddr(tc.remote, tc.xff, trusted).String(); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
	if got := ClientAddr("10.0.0.2:443", "203.0.113.9", nil).String(); got != "10.0.0.2" {
		t.Fatalf("no trusted proxies: got %s", got)
	}
}
