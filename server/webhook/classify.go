package webhook

import "net/netip"

// addrBlock is a special-purpose address range that no webhook may target
// unless the operator allow-lists it, with the word used to explain why.
type addrBlock struct {
	prefix netip.Prefix
	reason string
}

// refusedBlocks are the ranges that are not ordinary public unicast
// destinations (IANA special-purpose registries, RFC 6890 and successors).
// Beyond the obvious internal ranges the list also refuses ranges that are
// merely unroutable (documentation, benchmarking, reserved): no legitimate
// receiver lives there, and refusing them keeps the rule "public unicast
// only" simple to state. More specific blocks come first so that the reason
// given is the most precise one.
var refusedBlocks = []addrBlock{
	// 0.0.0.0/8 is "this network"; on Linux a connect to 0.0.0.0 reaches
	// the local host, so it is as dangerous as loopback.
	{netip.MustParsePrefix("0.0.0.0/8"), "an unspecified address"},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address"},
	// Carrier-grade NAT space: internal to providers, and home to some
	// cloud metadata services (e.g. 100.100.100.200).
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (CGNAT) address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	// Includes the cloud metadata endpoint 169.254.169.254.
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address"},
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol assignment"},
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address"},
	{netip.MustParsePrefix("192.88.99.0/24"), "a 6to4 relay anycast address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("255.255.255.255/32"), "the broadcast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},

	{netip.MustParsePrefix("::/128"), "an unspecified address"},
	{netip.MustParsePrefix("::1/128"), "a loopback address"},
	// Deprecated IPv4-compatible form (::a.b.c.d); never routed.
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible address"},
	// SIIT IPv4-translated form (::ffff:0:a.b.c.d).
	{netip.MustParsePrefix("::ffff:0:0:0/96"), "an IPv4-translated address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local-use translation address"},
	{netip.MustParsePrefix("100::/64"), "a discard-only address"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
	// Teredo and other IETF assignments; Teredo embeds an IPv4 address the
	// guard cannot reliably judge, and none of these hosts a webhook.
	{netip.MustParsePrefix("2001::/23"), "an IETF protocol assignment"},
	{netip.MustParsePrefix("3fff::/20"), "a documentation address"},
	{netip.MustParsePrefix("fc00::/7"), "a unique local (private) address"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
}

// Prefixes whose addresses carry an IPv4 address inside them. A gateway on
// the path turns them into that IPv4 address, so they are judged by it: a
// NAT64 form of 127.0.0.1 is loopback all the same.
var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// globalUnicast is the only IPv6 space assigned for public unicast (RFC
// 4291). Whatever lies outside it and is not listed above is unassigned or
// reserved, and is refused rather than trusted to stay unused.
var globalUnicast = netip.MustParsePrefix("2000::/3")

// classify says why addr is not a public unicast address, or returns ""
// when it is one. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are judged as
// the IPv4 address they are, since the kernel connects them as such; zones
// are ignored.
func classify(addr netip.Addr) string {
	if !addr.IsValid() {
		return "not a valid address"
	}
	addr = addr.WithZone("").Unmap()
	for _, b := range refusedBlocks {
		if b.prefix.Contains(addr) {
			return b.reason
		}
	}
	if embedded, ok := embeddedIPv4(addr); ok {
		if r := classify(embedded); r != "" {
			return r + " behind an IPv6 translation prefix"
		}
		return "" // NAT64 or 6to4 of a public IPv4 address
	}
	if addr.Is6() && !globalUnicast.Contains(addr) {
		return "not a global unicast address"
	}
	return ""
}

// embeddedIPv4 extracts the IPv4 address a NAT64 (64:ff9b::/96) or 6to4
// (2002::/16) address stands for.
func embeddedIPv4(addr netip.Addr) (netip.Addr, bool) {
	b := addr.As16()
	switch {
	case nat64Prefix.Contains(addr):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(addr):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}
