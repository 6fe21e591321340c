package mtls

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// Errors of [Reloader.VerifyPeer], for errors.Is. The returned error wraps
// one of them and, where there is one, the x509 error behind it.
var (
	// ErrNoCertificate: the peer sent no certificate.
	ErrNoCertificate = errors.New("no client certificate")
	// ErrUntrusted: the certificate does not chain to the CA bundle, is not
	// meant for client authentication, or no CA bundle is configured.
	ErrUntrusted = errors.New("client certificate not trusted")
	// ErrExpired: the certificate is expired or not yet valid.
	ErrExpired = errors.New("client certificate outside its validity period")
	// ErrNoIdentity: the certificate is trusted but names nobody (no URI or
	// DNS SAN and no common name). It is refused because every such
	// certificate would map to the same empty principal.
	ErrNoIdentity = errors.New("client certificate names no identity")
)

// VerifyPeer verifies a client's certificate chain, as received in
// tls.ConnectionState.PeerCertificates, against the current CA pool at
// time now, and returns the client's [Identity]. chain[0] is the leaf and
// the rest are offered as intermediates; the leaf must allow client
// authentication (ExtKeyUsageClientAuth, or no extended key usage at all).
//
// It is meant for servers built with [ServerConfig], whose handshake asks
// for a certificate without verifying it, and runs in the authentication
// middleware so that a bad certificate gets a clear 401 / Unauthenticated
// answer instead of a TLS alert.
func (r *Reloader) VerifyPeer(chain []*x509.Certificate, now time.Time) (string, error) {
	if len(chain) == 0 {
		return "", ErrNoCertificate
	}
	leaf := chain[0]
	m := r.cur.Load()
	if id, ok := m.verified.lookup(leaf, now); ok {
		return id, nil
	}
	pool := m.pool
	if pool == nil {
		return "", fmt.Errorf("%w: no CA bundle configured to verify %q", ErrUntrusted, describe(leaf))
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots:         pool,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return "", classify(leaf, now, err)
	}
	id := Identity(leaf)
	if id == "" {
		return "", fmt.Errorf("%w (serial %s)", ErrNoIdentity, leaf.SerialNumber)
	}
	m.verified.remember(leaf, chains[0], id)
	return id, nil
}

// classify maps an x509 verification error to one of the package errors,
// with a message that says what is wrong in the caller's terms.
func classify(leaf *x509.Certificate, now time.Time, err error) error {
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) {
		c := inv.Cert
		if c == nil {
			c = leaf
		}
		switch inv.Reason {
		case x509.Expired:
			what := "client certificate"
			if c != leaf {
				what = fmt.Sprintf("issuer %q of client certificate", c.Subject.CommonName)
			}
			return fmt.Errorf("%w: %s %q %s: %w", ErrExpired, what, describe(leaf), validity(c, now), err)
		case x509.IncompatibleUsage:
			return fmt.Errorf("%w: certificate %q is not valid for client authentication (extended key usage): %w", ErrUntrusted, describe(leaf), err)
		}
	}
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) {
		return fmt.Errorf("%w: client certificate %q is not signed by a trusted CA (issuer %q): %w", ErrUntrusted, describe(leaf), leaf.Issuer.CommonName, err)
	}
	return fmt.Errorf("%w: client certificate %q: %w", ErrUntrusted, describe(leaf), err)
}

// describe names a certificate in an error message: its identity, or its
// serial when it names nobody.
func describe(c *x509.Certificate) string {
	if id := Identity(c); id != "" {
		return id
	}
	return "serial " + c.SerialNumber.String()
}

// validity says why c is not valid at now.
func validity(c *x509.Certificate, now time.Time) string {
	if now.Before(c.NotBefore) {
		return "is not valid before " + c.NotBefore.UTC().Format(time.RFC3339)
	}
	return "expired at " + c.NotAfter.UTC().Format(time.RFC3339)
}
