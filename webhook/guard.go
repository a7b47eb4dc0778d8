package webhook

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/roster-app/roster"
)

// The guard against server-side request forgery: a webhook may only reach
// the outside world, never the installation's own network. URLs are
// checked when an administrator enters them (CheckURL), and every
// connection is checked again on the address actually dialled, after DNS
// resolution (NewClient's dialer), so a name that resolves — or later
// re-resolves — to an inside address is refused too.

var (
	cgnat       = netip.MustParsePrefix("100.64.0.0/10")
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	reserved    = netip.MustParsePrefix("240.0.0.0/4") // and the broadcast address
	nat64       = netip.MustParsePrefix("64:ff9b::/96")
	v4compat    = netip.MustParsePrefix("::/96")
	siteLocal   = netip.MustParsePrefix("fec0::/10")
	// The cloud metadata service (AWS, GCP, Azure, OpenStack; AWS's IPv6 one).
	metadata = []netip.Addr{netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("fd00:ec2::254")}
)

// Refused says why an address may not be reached.
type Refused struct {
	Addr   netip.Addr
	Reason string
}

func (e *Refused) Error() string {
	if !e.Addr.IsValid() {
		return "refused: " + e.Reason
	}
	return fmt.Sprintf("refused: %s is %s", e.Addr, e.Reason)
}

// Check refuses the addresses a webhook must not reach. Unspecified,
// multicast, reserved and the cloud metadata addresses are always refused;
// loopback, link-local, private (RFC 1918, RFC 4193) and CGNAT ones unless
// allowPrivate (roster serve --webhooks-allow-private, for installations
// whose receivers live on their own network, and for tests).
func Check(a netip.Addr, allowPrivate bool) error {
	a = a.Unmap().WithZone("")
	refuse := func(reason string) error { return &Refused{Addr: a, Reason: reason} }
	for _, m := range metadata {
		if a == m {
			return refuse("the cloud metadata address")
		}
	}
	switch {
	case !a.IsValid():
		return refuse("not an address")
	case a.IsUnspecified() || thisNetwork.Contains(a):
		return refuse("an unspecified address")
	case a.Is6() && v4compat.Contains(a) && !a.IsLoopback():
		return refuse("a reserved address")
	case a.IsMulticast():
		return refuse("a multicast address")
	case reserved.Contains(a):
		return refuse("a reserved address")
	case nat64.Contains(a):
		// A NAT64 address reaches the IPv4 address in its last four bytes.
		b := a.As16()
		return Check(netip.AddrFrom4([4]byte(b[12:])), allowPrivate)
	case allowPrivate:
		return nil
	case a.IsLoopback():
		return refuse("a loopback address")
	case a.IsLinkLocalUnicast() || siteLocal.Contains(a):
		return refuse("a link-local address")
	case a.IsPrivate():
		return refuse("a private address")
	case cgnat.Contains(a):
		return refuse("a shared (CGNAT) address")
	}
	return nil
}

// CheckURL validates a webhook URL as an administrator enters it: an
// absolute http(s) URL without credentials, whose host, when it is an
// address (or localhost), passes Check. Host names are checked on every
// connection instead, once resolved.
func CheckURL(raw string, allowPrivate bool) error {
	var v roster.Validation
	bad := func(code, msg string) error { v.Add("url", code, msg); return v.Err() }
	if strings.TrimSpace(raw) == "" {
		return bad("required", "Enter the URL to send events to.")
	}
	if len(raw) > roster.MaxWebhookURLLength {
		return bad("too_long", fmt.Sprintf("A URL is at most %d characters.", roster.MaxWebhookURLLength))
	}
	if strings.ContainsAny(raw, " \t\r\n") {
		return bad("invalid_url", "Enter an http:// or https:// URL.")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return bad("invalid_url", "Enter an http:// or https:// URL.")
	}
	if u.User != nil {
		return bad("url_credentials", "A webhook URL carries no user name or password: requests are signed instead.")
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if port := u.Port(); port != "" {
		if n, err := net.LookupPort("tcp", port); err != nil || n < 1 || n > 65535 {
			return bad("invalid_url", "The port is not a number from 1 to 65535.")
		}
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if err := Check(a, allowPrivate); err != nil {
			return bad("url_refused", "This address is not allowed: "+err.(*Refused).Reason+".")
		}
		return nil
	}
	if host == "" || strings.HasPrefix(host, ".") {
		return bad("invalid_url", "Enter an http:// or https:// URL.")
	}
	labels := strings.Split(host, ".")
	if last := labels[len(labels)-1]; strings.Trim(last, "0123456789") == "" || strings.HasPrefix(last, "0x") {
		// A numeric last label is no DNS name but an address in an odd
		// spelling (2130706433, 0x7f.1, 127.1) that resolvers may accept.
		return bad("url_refused", "Write an address in its usual form, like 203.0.113.5.")
	}
	if !allowPrivate && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
		return bad("url_refused", "This address is not allowed: a loopback address.")
	}
	return nil
}

// Timeouts and limits of a delivery.
const (
	DialTimeout = 5 * time.Second
	// Timeout bounds a whole try, from dialling to reading the answer.
	Timeout = 10 * time.Second
)

// NewClient returns the HTTP client deliveries use: every connection's
// address is checked after resolution (Check), no proxy from the
// environment (it would hide the real target), no redirects followed (a
// 3xx is a failed try: the administrator entered the URL, not its
// redirect), and a 10 s limit per try.
func NewClient(allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: DialTimeout, Control: dialControl(allowPrivate)}
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   DialTimeout,
		ResponseHeaderTimeout: Timeout,
		MaxIdleConns:          16,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
	}
	return &http.Client{Transport: t, Timeout: Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// dialControl checks the address a connection is about to be made to: the
// one resolution produced, not the name in the URL.
func dialControl(allowPrivate bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return &Refused{Reason: "not an address: " + address}
		}
		return Check(ap.Addr(), allowPrivate)
	}
}

// IsRefused reports whether err is a refusal by the guard.
func IsRefused(err error) bool {
	var r *Refused
	return errors.As(err, &r)
}
