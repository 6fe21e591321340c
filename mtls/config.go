package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// cipherSuites are the TLS 1.2 suites offered: ECDHE for forward secrecy
// and AEAD only, so no CBC padding oracles. All of them are on HTTP/2's
// allowed list. TLS 1.3 suites are not configurable and are all AEAD.
var cipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// ServerConfig returns the server side for r: TLS 1.2 or newer (1.3 when
// the client offers it), ALPN "h2" and "http/1.1" so gRPC and HTTP share a
// port, and the certificate fetched from r on every handshake so reloads
// apply to new connections at once.
//
// When r has a CA bundle the handshake requests a client certificate but
// does not verify it (tls.RequestClientCert; Go still checks that the
// client holds the certificate's key). Verification is left to
// [Reloader.VerifyPeer] in the authentication middleware because
//   - public endpoints (health checks, the public Agent Card) must stay
//     reachable by callers without a certificate, on the same port;
//   - a rejected certificate then gets an HTTP 401 or gRPC Unauthenticated
//     answer that says why, instead of a TLS alert most clients report as
//     an opaque "bad certificate".
//
// Every handler that is not public must therefore go through that
// middleware. Deployments that prefer rejection at the handshake use
// [ServerConfigStrict]. Without a CA bundle no client certificate is
// requested.
func ServerConfig(r *Reloader) *tls.Config {
	c := baseConfig()
	c.NextProtos = []string{"h2", "http/1.1"}
	c.GetCertificate = r.GetCertificate
	if r.files.CA != "" {
		c.ClientAuth = tls.RequestClientCert
	}
	return c
}

// ServerConfigStrict is [ServerConfig] that refuses, at the handshake, any
// client without a certificate chaining to r's current CA pool for client
// authentication. Each handshake gets a copy of the config holding the pool
// of that moment, so CA reloads apply to new connections. Without a CA
// bundle it refuses every client rather than fall back to the system
// roots, which would let any publicly trusted certificate in.
func ServerConfigStrict(r *Reloader) *tls.Config {
	base := ServerConfig(r)
	base.ClientAuth = tls.RequireAndVerifyClientCert
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		pool := r.pool()
		if pool == nil {
			return nil, errors.New("mtls: strict server has no CA bundle to verify clients with")
		}
		c := base.Clone()
		c.GetConfigForClient = nil
		c.ClientCAs = pool
		return c, nil
	}
	return base
}

// ClientConfig returns the client side for r, connecting to serverName: the
// client certificate is fetched from r when the server asks for one, and
// the server's chain is verified against r's current CA pool (the system
// roots when r has no CA bundle) and must be valid for serverName, a host
// name or IP address.
//
// crypto/tls reads RootCAs once per config, so to follow CA reloads the
// built-in verification is replaced (InsecureSkipVerify) by an equivalent
// one in VerifyConnection: the same x509 verification with the current
// pool, server-auth usage and the host name, run on every handshake
// including resumed ones. Go still checks that the server holds the key
// of the certificate it presented. If serverName is empty the name sent in
// SNI is used, and a connection with neither is refused rather than left
// unchecked.
//
// NextProtos is left empty: HTTP and gRPC clients set their own.
func ClientConfig(r *Reloader, serverName string) *tls.Config {
	c := baseConfig()
	c.ServerName = serverName
	c.GetClientCertificate = r.GetClientCertificate
	c.InsecureSkipVerify = true
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		return r.verifyServer(cs, serverName)
	}
	return c
}

func baseConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		CipherSuites: cipherSuites,
	}
}

// verifyServer is the client's server verification for [ClientConfig].
func (r *Reloader) verifyServer(cs tls.ConnectionState, serverName string) error {
	name := serverName
	if name == "" {
		name = cs.ServerName
	}
	if name == "" {
		return errors.New("mtls: no server name to verify the server certificate against")
	}
	if len(cs.PeerCertificates) == 0 {
		return errors.New("mtls: server sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	leaf := cs.PeerCertificates[0]
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         r.pool(), // nil: system roots
		Intermediates: inter,
		DNSName:       name,
		CurrentTime:   time.Now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return fmt.Errorf("mtls: server certificate for %q: %w", name, err)
	}
	return nil
}
