package citizenguard

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// EnvTrustedProxies names the environment variable listing the trusted
// proxies: comma-separated CIDRs or addresses (e.g. "10.62.0.0/16,127.0.0.1").
const EnvTrustedProxies = "MOTCUA_TRUSTED_PROXIES"

// DefaultTrustedProxies is used when EnvTrustedProxies is unset: the
// loopback address of the local gateway, and the private networks a
// cluster's gateway, watchdog and ingress run on (RFC 1918, IPv6 ULA).
// Without the private ranges, a function behind OpenFaaS would see its
// gateway's pod address as "the client" and count every citizen as one.
// Deployments whose proxies have public addresses must list them.
const DefaultTrustedProxies = "127.0.0.1/32,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"

// Proxies is a list of trusted proxy networks. The zero value trusts no
// one: the client is then the last hop of X-Forwarded-For.
type Proxies struct {
	nets []netip.Prefix
}

// ParseProxies parses a comma-separated list of CIDRs or single addresses.
// Blank entries are ignored; a malformed one is an error naming it.
func ParseProxies(s string) (Proxies, error) {
	var p Proxies
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if pre, err := netip.ParsePrefix(part); err == nil {
			p.nets = append(p.nets, pre.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return Proxies{}, fmt.Errorf("%s: %q is neither a CIDR nor an address", EnvTrustedProxies, part)
		}
		a = a.Unmap()
		p.nets = append(p.nets, netip.PrefixFrom(a, a.BitLen()))
	}
	return p, nil
}

// ProxiesFromEnv reads EnvTrustedProxies through getenv (DefaultTrustedProxies
// when unset; set it to a blank value to trust no proxy).
func ProxiesFromEnv(getenv func(string) (string, bool)) (Proxies, error) {
	v, ok := getenv(EnvTrustedProxies)
	if !ok {
		v = DefaultTrustedProxies
	}
	return ParseProxies(v)
}

// Trusted reports whether a is a trusted proxy.
func (p Proxies) Trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddress returns the address a request is counted under: the
// X-Forwarded-For chain (every header line, comma-separated) read from the
// right, skipping trusted proxies; the first untrusted address is the
// client. When every hop is trusted the leftmost is the client (a caller on
// the proxies' own network). "" means unknown: no header, or a malformed
// entry met before any untrusted one (then only per-identifier counting
// applies). Ports and zones are dropped; IPv6 clients are counted per /64,
// one subscriber's usual allocation. X-Real-Ip and any other header the
// client may set are ignored.
func (p Proxies) ClientAddress(h http.Header) string {
	a := p.ClientIP(h)
	if !a.IsValid() {
		return ""
	}
	return bucket(a)
}

// ClientIP is the client's own address as ClientAddress finds it, not
// bucketed (for payment providers that want the payer's IP); the zero Addr
// when unknown.
func (p Proxies) ClientIP(h http.Header) netip.Addr {
	var hops []string
	for _, line := range h.Values("X-Forwarded-For") {
		for part := range strings.SplitSeq(line, ",") {
			hops = append(hops, strings.TrimSpace(part))
		}
	}
	var last netip.Addr
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseAddr(hops[i])
		if !ok {
			return netip.Addr{}
		}
		last = a
		if !p.Trusted(a) {
			break
		}
	}
	return last
}

func parseAddr(s string) (netip.Addr, bool) {
	s = strings.Trim(strings.TrimSpace(s), "\"")
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// bucket is the counting unit of an address: itself (IPv4) or its /64.
func bucket(a netip.Addr) string {
	if a.Is6() {
		p, err := a.Prefix(64)
		if err != nil {
			return ""
		}
		return p.String()
	}
	return a.String()
}
