package webhook

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// ErrInvalidURL is matched (with errors.Is) by the errors
// [Policy.ValidateURL] returns for URLs that are malformed rather than
// refused.
var ErrInvalidURL = errors.New("invalid webhook URL")

// maxURLLen bounds what ValidateURL accepts; the server's own limit is the
// same, and a bound keeps the checks cheap on hostile input.
const maxURLLen = 2048

// ValidateURL checks a webhook URL against p when a push config is
// registered, so that a caller who names an unusable or internal target is
// told at once instead of the notifications silently failing later.
//
// It does not resolve host names: an answer obtained now says nothing about
// the address the name will have at delivery time. The dialer repeats the
// address check on every connection; this function only catches what can be
// seen in the URL itself — scheme, embedded credentials, literal internal
// addresses, "localhost", and numeric host forms such as "127.1" or
// "2130706433" that some resolvers turn into addresses.
//
// Errors match [ErrInvalidURL] or [ErrRefused]; their text is meant for the
// caller and contains the host but never the path or query.
func (p Policy) ValidateURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("%w: it is empty", ErrInvalidURL)
	}
	if len(raw) > maxURLLen {
		return fmt.Errorf("%w: it is longer than %d bytes", ErrInvalidURL, maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error repeats the whole URL; say less.
		return fmt.Errorf("%w: it cannot be parsed", ErrInvalidURL)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%w: the scheme must be http or https", ErrInvalidURL)
	case p.RequireHTTPS && u.Scheme != "https":
		return fmt.Errorf("%w: the scheme must be https", ErrInvalidURL)
	case u.Opaque != "":
		return fmt.Errorf("%w: it must be an absolute URL with a host", ErrInvalidURL)
	case u.User != nil:
		// Credentials in the URL would end up in logs and proxies; A2A has
		// the authentication field for them.
		return fmt.Errorf("%w: it must not contain user credentials; use authentication instead", ErrInvalidURL)
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%w: port %q is out of range", ErrInvalidURL, port)
		}
	}
	return p.checkHost(u.Hostname())
}

// checkHost applies the policy to the host part of a URL.
func (p Policy) checkHost(host string) error {
	h := normalizeHost(host)
	if h == "" {
		return fmt.Errorf("%w: it has no host", ErrInvalidURL)
	}
	if p.hostAllowed(h) {
		return nil
	}
	if addr, err := netip.ParseAddr(h); err == nil {
		if err := p.CheckAddr(addr); err != nil {
			refused := err.(*RefusedError)
			refused.Host = host
			return refused
		}
		return nil
	}
	if strings.HasPrefix(h, "[") || strings.Contains(h, ":") {
		return fmt.Errorf("%w: host %q is not a valid IPv6 address", ErrInvalidURL, host)
	}
	// RFC 6761 reserves localhost and every name below it for loopback.
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return &RefusedError{Host: host, Reason: "a loopback name"}
	}
	if err := checkHostName(h); err != nil {
		return fmt.Errorf("%w: host %q %v", ErrInvalidURL, host, err)
	}
	return nil
}

// checkHostName accepts DNS names and rejects the rest, in particular the
// legacy numeric address forms ("127.1", "0x7f.0.0.1", "2130706433") that
// netip refuses but getaddrinfo-based resolvers accept: they would reach an
// address the registration check never saw. No real top-level domain is
// numeric, so a numeric last label is enough to tell them apart. Non-ASCII
// letters are let through for internationalized names.
func checkHostName(h string) error {
	if len(h) == 0 || len(h) > 253 {
		return errors.New("is not a valid host name")
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return errors.New("is not a valid host name")
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c >= 0x80) {
				return errors.New("is not a valid host name")
			}
		}
	}
	if numericLabel(labels[len(labels)-1]) {
		return errors.New("is a numeric address form that is not a standard IP address")
	}
	return nil
}

// numericLabel reports whether a label is decimal, or hexadecimal with a 0x
// prefix: the shapes inet_aton reads as address parts.
func numericLabel(l string) bool {
	digits, base := l, "0123456789"
	if rest, ok := strings.CutPrefix(l, "0x"); ok {
		digits, base = rest, "0123456789abcdef"
	}
	for i := 0; i < len(digits); i++ {
		if !strings.ContainsRune(base, rune(digits[i])) {
			return false
		}
	}
	return true
}
