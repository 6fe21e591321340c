package webhook

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// ClientOptions tune the client [NewClient] builds.
type ClientOptions struct {
	// Timeout bounds a whole request, response body included; 0 means
	// [DefaultAttemptTimeout]. A [Deliverer] sets it to its attempt
	// timeout.
	Timeout time.Duration
	// Proxy, when set, sends every request through an HTTP proxy (see
	// [http.ProxyURL]). The proxy's own address must pass the policy —
	// allow-list it — and since the proxy, not this process, then resolves
	// and connects to webhook hosts, it must do its own egress filtering.
	// Nil (the default) connects directly; the environment's HTTP_PROXY is
	// deliberately ignored, because a proxy silently picked up from the
	// environment would bypass the connect-time check.
	Proxy func(*http.Request) (*url.URL, error)
	// TLSConfig customizes TLS, e.g. with the root CAs of an internal
	// receiver. It is cloned.
	TLSConfig *tls.Config
}

// Connection-level limits. The per-request timeout bounds the total; these
// stop one slow phase from using all of it and keep idle connections to
// frequent receivers around for reuse.
const (
	dialTimeout         = 10 * time.Second
	tlsHandshakeTimeout = 10 * time.Second
	idleConnTimeout     = 90 * time.Second
	maxIdleConns        = 128
	maxIdleConnsPerHost = 16
	maxResponseHeader   = 64 << 10
)

// NewClient returns an HTTP client that can only connect where p allows.
//
// Every connection's address is checked by the dialer after DNS resolution
// and before connecting (net.Dialer.ControlContext), including each address
// a name resolves to and each reconnect; names in p.AllowHosts are exempt.
// Redirects are not followed: the 3xx response is returned as is. A
// redirect could lead anywhere, including to an address the registration
// check never saw, and the request's Authorization and token headers would
// go along; a receiver that moved should be registered at its new URL.
func NewClient(p Policy, o ClientOptions) *http.Client {
	if o.Timeout <= 0 {
		o.Timeout = DefaultAttemptTimeout
	}
	guarded := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second, ControlContext: guard(p)}
	trusted := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy: o.Proxy,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, _, err := net.SplitHostPort(addr); err == nil && p.hostAllowed(host) {
				return trusted.DialContext(ctx, network, addr)
			}
			return guarded.DialContext(ctx, network, addr)
		},
		TLSClientConfig:        o.TLSConfig.Clone(),
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           maxIdleConns,
		MaxIdleConnsPerHost:    maxIdleConnsPerHost,
		IdleConnTimeout:        idleConnTimeout,
		TLSHandshakeTimeout:    tlsHandshakeTimeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: maxResponseHeader,
	}
	return &http.Client{
		Transport:     transport,
		Timeout:       o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// guard returns the dialer hook that refuses addresses p does not allow.
// It runs once per connection attempt with the resolved address, after the
// socket exists and before connect(2), which is the only point where the
// address checked is certainly the address used.
func guard(p Policy) func(ctx context.Context, network, address string, c syscall.RawConn) error {
	return func(_ context.Context, network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return &RefusedError{Host: address, Reason: fmt.Sprintf("not an IP address (%s)", network)}
		}
		return p.CheckAddr(ap.Addr())
	}
}
