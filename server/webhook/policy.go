package webhook

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrRefused is matched (with errors.Is) by every error that stops a
// delivery because its target is not allowed: at registration by
// [Policy.ValidateURL], at delivery by the guarded dialer.
var ErrRefused = errors.New("webhook target refused")

// RefusedError says which target a [Policy] refused and why. It never
// contains more of the URL than its host.
type RefusedError struct {
	Host   string     // the host name or address as given; "" if unknown
	Addr   netip.Addr // the address refused; invalid when refused by name
	Reason string     // e.g. "a loopback address"
}

func (e *RefusedError) Error() string {
	switch {
	case e.Addr.IsValid() && e.Host != "" && e.Host != e.Addr.String():
		return fmt.Sprintf("%v: %s resolves to %s, %s", ErrRefused, e.Host, e.Addr, e.Reason)
	case e.Addr.IsValid():
		return fmt.Sprintf("%v: %s is %s", ErrRefused, e.Addr, e.Reason)
	default:
		return fmt.Sprintf("%v: %s is %s", ErrRefused, e.Host, e.Reason)
	}
}

// Is makes errors.Is(err, ErrRefused) hold.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Policy decides which webhook targets may be contacted. The zero Policy is
// the safe default: public unicast addresses only, over http or https.
//
// Operators who run receivers on internal networks open exactly those with
// the allow-lists; tests allow 127.0.0.1/32 to reach their local receivers.
// An allowed address does not make the name "localhost" acceptable in a
// URL: list "localhost" in AllowHosts for that.
type Policy struct {
	// Allow lists address ranges that may be contacted although they are
	// internal or special-purpose. IPv4 prefixes also cover the IPv4-mapped
	// IPv6 forms of their addresses.
	Allow []netip.Prefix
	// AllowHosts lists host names whose addresses are not checked at all:
	// "hooks.corp.example" matches that name only, "*.corp.example" any
	// name below it. It is for internal names the operator controls; it
	// trusts their DNS, so prefer Allow where the addresses are known.
	AllowHosts []string
	// RequireHTTPS refuses plain http URLs. Without it both schemes are
	// accepted, which development setups need; production deployments
	// should set it so tokens and credentials never travel in clear text.
	RequireHTTPS bool
}

// NewPolicy builds a Policy from an operator's allow-list, as it would be
// written in a flag or configuration file: each entry is a CIDR prefix
// ("10.1.0.0/16"), a single address ("127.0.0.1", "::1") or a host name
// ("hooks.corp.example", "*.corp.example").
func NewPolicy(allow ...string) (Policy, error) {
	var p Policy
	for _, raw := range allow {
		entry := strings.TrimSpace(raw)
		if pfx, err := netip.ParsePrefix(entry); err == nil {
			p.Allow = append(p.Allow, pfx.Masked())
			continue
		}
		if addr, err := netip.ParseAddr(entry); err == nil {
			if addr.Zone() != "" {
				return Policy{}, fmt.Errorf("webhook: allow-list entry %q: zoned addresses cannot be allow-listed", raw)
			}
			p.Allow = append(p.Allow, netip.PrefixFrom(addr, addr.BitLen()))
			continue
		}
		name := normalizeHost(strings.TrimPrefix(entry, "*."))
		if err := checkHostName(name); err != nil {
			return Policy{}, fmt.Errorf("webhook: allow-list entry %q is neither a prefix, an address nor a host name: %w", raw, err)
		}
		if strings.HasPrefix(entry, "*.") {
			name = "*." + name
		}
		p.AllowHosts = append(p.AllowHosts, name)
	}
	return p, nil
}

// CheckAddr returns nil if addr may be contacted, or a *[RefusedError].
func (p Policy) CheckAddr(addr netip.Addr) error {
	if p.addrAllowed(addr) {
		return nil
	}
	if reason := classify(addr); reason != "" {
		return &RefusedError{Addr: addr.WithZone(""), Reason: reason}
	}
	return nil
}

// addrAllowed reports whether the allow-list covers addr. Both sides are
// compared in their plain IPv4 form where they have one, so that
// "127.0.0.1/32" also admits ::ffff:127.0.0.1 and the other way round.
func (p Policy) addrAllowed(addr netip.Addr) bool {
	addr = addr.WithZone("").Unmap()
	for _, pfx := range p.Allow {
		if pa := pfx.Addr(); pa.Is4In6() && pfx.Bits() >= 96 {
			pfx = netip.PrefixFrom(pa.Unmap(), pfx.Bits()-96)
		}
		if pfx.Contains(addr) {
			return true
		}
	}
	return false
}

// hostAllowed reports whether AllowHosts names host.
func (p Policy) hostAllowed(host string) bool {
	host = normalizeHost(host)
	if host == "" {
		return false
	}
	for _, entry := range p.AllowHosts {
		entry = normalizeHost(entry)
		if suffix, ok := strings.CutPrefix(entry, "*"); ok {
			if len(host) > len(suffix) && strings.HasSuffix(host, suffix) {
				return true
			}
		} else if host == entry {
			return true
		}
	}
	return false
}

// normalizeHost makes equal host names compare equal: DNS names are
// case-insensitive and "example.com." is the same name as "example.com".
func normalizeHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}
