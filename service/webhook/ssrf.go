// Package webhook delivers a workspace's event log to its webhook endpoints:
// the worker, the signatures, the retry schedule, and the address rules that
// keep deliveries off the server's own network.
package webhook

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// MaxURLLength bounds an endpoint's URL, in bytes.
const MaxURLLength = 2048

// refusedPrefixes are the networks a delivery may not reach unless the
// operator allows private addresses: loopback, private (RFC 1918, ULA),
// link-local (which holds the cloud metadata address 169.254.169.254),
// "this network", CGNAT, and the ULA that holds AWS's IPv6 metadata address
// fd00:ec2::254.
var refusedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("ff00::/8"),
}

// nat64 is the well-known NAT64 prefix: its addresses reach the IPv4 address
// in their last 32 bits, which is checked instead.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Refused reports whether ip is an address deliveries may not reach when
// private addresses are not allowed. The delivery dialer checks the address
// it connects to with it (DNS rebinding); CheckURL checks every address the
// URL's host resolves to.
func Refused(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	if nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	if !ip.IsValid() {
		return true
	}
	for _, p := range refusedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Resolver looks up a host's addresses; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// URLError is why a URL is refused, in words for the API's message.
type URLError struct{ Reason string }

func (e *URLError) Error() string { return e.Reason }

// CheckURL applies the rules of an endpoint's URL at creation and update: at
// most MaxURLLength bytes, absolute, http or https with a host and no user
// information; and unless allowPrivate, https, and a host (a name resolved
// by r, or an address) none of whose addresses is Refused. The error is a
// *URLError, or the context's.
func CheckURL(ctx context.Context, r Resolver, raw string, allowPrivate bool) error {
	if len(raw) > MaxURLLength {
		return &URLError{"url must be at most 2048 characters"}
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return &URLError{"url must be an absolute URL (https://host/path)"}
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return &URLError{"url must be an https URL"}
	}
	if u.Host == "" || u.Hostname() == "" {
		return &URLError{"url must have a host"}
	}
	if u.User != nil {
		return &URLError{"url must not carry a user name or password"}
	}
	if allowPrivate {
		return nil
	}
	if u.Scheme != "https" {
		return &URLError{"url must be an https URL"}
	}
	host := strings.TrimSuffix(u.Hostname(), ".")
	if ip, err := netip.ParseAddr(host); err == nil {
		if Refused(ip) {
			return &URLError{"url's host is a loopback, private, link-local or metadata address, which webhooks may not reach"}
		}
		return nil
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return &URLError{"url's host does not resolve"}
		}
		return &URLError{"url's host could not be resolved: " + err.Error()}
	}
	if len(addrs) == 0 {
		return &URLError{"url's host does not resolve"}
	}
	for _, ip := range addrs {
		if Refused(ip) {
			return &URLError{"url's host resolves to a loopback, private, link-local or metadata address, which webhooks may not reach"}
		}
	}
	return nil
}
