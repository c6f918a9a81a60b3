package webhook

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// ErrRefusedAddress is a delivery's connection refused by the address rule:
// the name resolved (now, at delivery: DNS rebinding) to an address that
// Refused forbids.
var ErrRefusedAddress = errors.New("webhook: the URL's host resolves to a loopback, private, link-local or metadata address")

// dialer connects deliveries. Its Control sees the address each connection
// is about to reach, after resolution, so a name that resolves to a
// forbidden address is refused whatever it resolved to when the endpoint
// was created.
func dialer(allowPrivate bool) *net.Dialer {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || Refused(ap.Addr()) {
				return ErrRefusedAddress
			}
			return nil
		}
	}
	return d
}
