package webhook

import (
	"errors"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// FuzzValidateURL checks that whatever ValidateURL accepts is an http(s)
// URL whose host is not a refused literal address or a loopback name, and
// that it never panics.
func FuzzValidateURL(f *testing.F) {
	for _, seed := range []string{
		"https://example.com/hook", "http://127.0.0.1/", "http://[::ffff:127.0.0.1]/",
		"http://[fe80::1%25eth0]/", "http://127.1/", "http://0x7f.1/", "http://localhost./",
		"http://[64:ff9b::7f00:1]/", "http://2130706433/", "http://a@b/", "https://xn--bcher-kva.example/",
		"http://169.254.169.254/latest", "HTTP://EXAMPLE.com:80/", "http://[::1]:65535/",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := Policy{}.ValidateURL(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidURL) && !errors.Is(err, ErrRefused) {
				t.Fatalf("ValidateURL(%q) = %v: neither ErrInvalidURL nor ErrRefused", raw, err)
			}
			return
		}
		u, perr := url.Parse(raw)
		if perr != nil {
			t.Fatalf("accepted %q, which url.Parse rejects: %v", raw, perr)
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.User != nil {
			t.Fatalf("accepted %q: scheme %q, user %v", raw, u.Scheme, u.User)
		}
		host := normalizeHost(u.Hostname())
		if addr, err := netip.ParseAddr(host); err == nil {
			if r := classify(addr); r != "" {
				t.Fatalf("accepted %q whose host is %s", raw, r)
			}
		} else if host == "localhost" || strings.HasSuffix(host, ".localhost") || host == "" {
			t.Fatalf("accepted %q with host %q", raw, host)
		}
	})
}

// FuzzClassify checks that an IPv4 address and its IPv4-mapped IPv6 form
// are always judged alike, that allow-listing an address admits it in both
// forms, and that classification never panics.
func FuzzClassify(f *testing.F) {
	for _, seed := range []string{"127.0.0.1", "10.0.0.1", "8.8.8.8", "::1", "fe80::1", "64:ff9b::7f00:1", "2002:a00:1::"} {
		b, _ := netip.MustParseAddr(seed).MarshalBinary()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var addr netip.Addr
		if err := addr.UnmarshalBinary(b); err != nil || !addr.IsValid() {
			return
		}
		reason := classify(addr)
		if addr.Is4() {
			mapped := netip.AddrFrom16(addr.As16())
			if got := classify(mapped); got != reason {
				t.Fatalf("classify(%s) = %q but classify(%s) = %q", addr, reason, mapped, got)
			}
		}
		p := Policy{Allow: []netip.Prefix{netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())}}
		if err := p.CheckAddr(addr); err != nil {
			t.Fatalf("allow-listed %s refused: %v", addr, err)
		}
		if err := (Policy{}).CheckAddr(addr); (err != nil) != (reason != "") {
			t.Fatalf("CheckAddr(%s) = %v, classify = %q", addr, err, reason)
		}
	})
}
