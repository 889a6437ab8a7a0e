package web

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"

	"crossdock/handlers"
)

// ParseTrustedProxies reads CROSSDOCK_TRUSTED_PROXIES: comma-separated IP
// addresses and CIDR ranges of the proxies (load balancers) in front of
// Crossdock. An address alone stands for itself.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.Contains(part, "/") {
			p, err := netip.ParsePrefix(part)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR range like 10.0.0.0/8 or fd00::/8", part)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("%q is not an IP address like 10.0.0.7 or a CIDR range like 10.0.0.0/8", part)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// ClientAddr is the address of the client behind a request. Without trusted
// proxies, or when the direct peer is not one, it is the peer itself: a
// client can write any X-Forwarded-For it likes. When the peer is a trusted
// proxy, X-Forwarded-For is read from the right — each proxy appends the
// address it received the request from — skipping trusted proxies; the first
// address that is not one is the client. Fiber's own proxy support takes the
// leftmost address, which is the one the client chose, so it does not fit.
func ClientAddr(peer netip.Addr, forwardedFor []string, trusted []netip.Prefix) netip.Addr {
	peer = peer.Unmap()
	if !isTrusted(peer, trusted) {
		return peer
	}
	client := peer
	for i := len(forwardedFor) - 1; i >= 0; i-- {
		hops := strings.Split(forwardedFor[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			hop := strings.TrimSpace(hops[j])
			if hop == "" {
				continue
			}
			a, ok := parseHop(hop)
			if !ok {
				// A trusted proxy wrote something that is no address:
				// the nearest proxy is all that is known.
				return client
			}
			client = a
			if !isTrusted(a, trusted) {
				return a
			}
		}
	}
	return client
}

// parseHop reads one X-Forwarded-For entry: an address, possibly with a
// port ("203.0.113.9:5123", "[2001:db8::1]:443").
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.WithZone("").Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().WithZone("").Unmap(), true
	}
	return netip.Addr{}, false
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr finds the request's client address once, for sign-in
// throttling, the audit log and the request log.
func (s *Server) clientAddr(c *fiber.Ctx) error {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	var xff []string
	if len(s.cfg.TrustedProxies) > 0 {
		for _, v := range c.Request().Header.PeekAll(fiber.HeaderXForwardedFor) {
			xff = append(xff, string(v))
		}
	}
	if a := ClientAddr(peer, xff, s.cfg.TrustedProxies); a.IsValid() {
		handlers.SetClientIP(c, a.String())
	}
	return c.Next()
}
