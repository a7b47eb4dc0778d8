package roster

import (
	"fmt"
	"net/netip"
	"strings"
)

// MaxAllowlistEntries bounds a user's IP allowlist (SPEC A3).
const MaxAllowlistEntries = 100

// Allowlist is a user's set of allowed client addresses and CIDR ranges
// (SPEC A3), normalized: ranges masked to their prefix, IPv4-mapped IPv6
// unmapped to IPv4, no duplicates, in the order first given. The zero value
// is the empty list, which allows every address.
type Allowlist struct {
	prefixes []netip.Prefix
}

// ParseAllowlist parses addresses ("203.0.113.7", "2001:db8::1") and CIDR
// ranges ("203.0.113.0/24", "2001:db8::/32"); blank entries are skipped.
// A range with host bits set is masked ("10.1.2.3/8" is "10.0.0.0/8").
// It returns an EINVALID *Error with one "ip_allowlist" FieldError per bad
// entry, or for more than MaxAllowlistEntries distinct entries.
func ParseAllowlist(entries []string) (Allowlist, error) {
	var v Validation
	var list Allowlist
	seen := make(map[netip.Prefix]bool, len(entries))
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		p, ok := parseAllowlistEntry(e)
		if !ok {
			v.Add("ip_allowlist", "invalid_address",
				fmt.Sprintf("%s is not an IP address or a CIDR range like 203.0.113.0/24.", quoteEntry(e)))
			continue
		}
		if !seen[p] {
			seen[p] = true
			list.prefixes = append(list.prefixes, p)
		}
	}
	if len(list.prefixes) > MaxAllowlistEntries {
		v.Add("ip_allowlist", "too_many",
			fmt.Sprintf("An allowlist holds at most %d addresses and ranges.", MaxAllowlistEntries))
	}
	if err := v.Err(); err != nil {
		return Allowlist{}, err
	}
	return list, nil
}

// parseAllowlistEntry parses one trimmed entry into a normalized prefix.
func parseAllowlistEntry(e string) (netip.Prefix, bool) {
	var p netip.Prefix
	if strings.Contains(e, "/") {
		var err error
		if p, err = netip.ParsePrefix(e); err != nil {
			return netip.Prefix{}, false
		}
	} else {
		a, err := netip.ParseAddr(e)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, false
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	return normalizePrefix(p)
}

// normalizePrefix masks p and turns an IPv4-mapped IPv6 prefix into IPv4.
// A mapped prefix shorter than /96 would also cover non-IPv4 addresses and
// is refused.
func normalizePrefix(p netip.Prefix) (netip.Prefix, bool) {
	if !p.IsValid() {
		return netip.Prefix{}, false
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, false
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), true
}

// quoteEntry quotes a bad entry for an error message, shortened so a
// pasted essay does not fill the page.
func quoteEntry(e string) string {
	if r := []rune(e); len(r) > 60 {
		e = string(r[:60]) + "…"
	}
	return fmt.Sprintf("%q", e)
}

// Allows reports whether addr is in the list; the empty list allows every
// address. IPv4-mapped IPv6 addresses are matched as IPv4. An invalid
// address is allowed only by the empty list.
func (l Allowlist) Allows(addr netip.Addr) bool {
	if len(l.prefixes) == 0 {
		return true
	}
	return prefixesContain(l.prefixes, addr)
}

// Len is the number of entries.
func (l Allowlist) Len() int { return len(l.prefixes) }

// Prefixes returns a copy of the entries, for example to use an allowlist
// as the trusted proxies of ClientAddr.
func (l Allowlist) Prefixes() []netip.Prefix { return append([]netip.Prefix(nil), l.prefixes...) }

// Strings returns the entries in their canonical form: a single address
// without "/32" or "/128", a range in CIDR notation. ParseAllowlist of the
// result gives the same list.
func (l Allowlist) Strings() []string {
	out := make([]string, len(l.prefixes))
	for i, p := range l.prefixes {
		if p.IsSingleIP() {
			out[i] = p.Addr().String()
		} else {
			out[i] = p.String()
		}
	}
	return out
}

// prefixesContain reports whether any prefix holds addr, comparing
// IPv4-mapped addresses and prefixes as IPv4 and ignoring zones.
func prefixesContain(prefixes []netip.Prefix, addr netip.Addr) bool {
	if !addr.IsValid() {
		return false
	}
	addr = addr.Unmap().WithZone("")
	for _, p := range prefixes {
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// ClientAddr returns the address of the client behind a request.
// remoteAddr is the direct peer (http.Request.RemoteAddr, "host:port" or a
// bare address); xff is the X-Forwarded-For header, all its values joined
// with commas; trusted lists the reverse proxies in front of Roster.
//
// X-Forwarded-For is honoured only when the direct peer is a trusted proxy.
// It is then read from the right, skipping trusted hops: the first untrusted
// address is the client, as only the hops we trust wrote reliably; anything
// to its left is whatever the client chose to send. When every hop is
// trusted the leftmost is the client. An empty or malformed element makes
// the whole header untrustworthy and the peer is returned. So a client
// reaching Roster directly, or adding its own X-Forwarded-For in front of
// a proxy, cannot choose its address. The result is unmapped to IPv4 where
// possible and has no zone; it is invalid only when remoteAddr is.
func ClientAddr(remoteAddr string, xff string, trusted []netip.Prefix) netip.Addr {
	peer := parseHostAddr(strings.TrimSpace(remoteAddr))
	if !peer.IsValid() || xff == "" || !prefixesContain(trusted, peer) {
		return peer
	}
	client := peer
	for rest := xff; ; {
		i := strings.LastIndexByte(rest, ',')
		hop := parseHostAddr(strings.TrimSpace(rest[i+1:]))
		if !hop.IsValid() {
			return peer
		}
		client = hop
		if !prefixesContain(trusted, hop) {
			return client
		}
		if i < 0 {
			return client // every hop trusted: the leftmost is the client
		}
		rest = rest[:i]
	}
}

// parseHostAddr parses "1.2.3.4", "1.2.3.4:80", "::1", "[::1]:80" or
// "[::1]" into an unmapped address without zone, or the invalid Addr.
func parseHostAddr(s string) netip.Addr {
	if s == "" {
		return netip.Addr{}
	}
	if inner, ok := strings.CutPrefix(s, "["); ok && strings.HasSuffix(inner, "]") {
		s = strings.TrimSuffix(inner, "]") // "[::1]": one level only
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone("")
}
