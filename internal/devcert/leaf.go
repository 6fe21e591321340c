package devcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"net/url"
	"time"
)

// DefaultLeafValidity is how long a leaf made with a zero NotAfter stays
// valid: long enough for a development setup, short enough that a
// forgotten key does not stay useful for years.
const DefaultLeafValidity = 90 * 24 * time.Hour

// Leaf describes a certificate to issue.
type Leaf struct {
	CommonName  string
	DNSNames    []string
	IPAddresses []net.IP
	// URIs are URI SANs such as "spiffe://example.org/agent/billing".
	URIs []string
	// NotBefore zero means an hour ago (tolerating clock skew). NotAfter
	// zero means DefaultLeafValidity after now, cut to the CA's own expiry.
	NotBefore, NotAfter time.Time
	// Server and Client set the ExtKeyUsage ServerAuth and ClientAuth. At
	// least one is required: a certificate without extended key usage is
	// accepted for any purpose, which is never what a test means.
	Server, Client bool
}

// Issue signs a new leaf for l with a fresh ECDSA P-256 key and returns the
// certificate and its PKCS#8 key, both PEM-encoded.
func (ca *CA) Issue(l Leaf) (certPEM, keyPEM []byte, err error) {
	if !l.Server && !l.Client {
		return nil, nil, fmt.Errorf("devcert: leaf %q: neither Server nor Client is set", l.CommonName)
	}
	now := time.Now()
	notBefore, notAfter := l.NotBefore, l.NotAfter
	if notBefore.IsZero() {
		notBefore = now.Add(-clockSkew)
	}
	if notAfter.IsZero() {
		notAfter = now.Add(DefaultLeafValidity)
		if notAfter.After(ca.Cert.NotAfter) {
			notAfter = ca.Cert.NotAfter
		}
	}
	if !notAfter.After(notBefore) {
		return nil, nil, fmt.Errorf("devcert: leaf %q: NotAfter %s is not after NotBefore %s", l.CommonName, notAfter, notBefore)
	}
	uris := make([]*url.URL, 0, len(l.URIs))
	for _, s := range l.URIs {
		u, err := url.Parse(s)
		if err != nil {
			return nil, nil, fmt.Errorf("devcert: leaf %q: URI SAN: %w", l.CommonName, err)
		}
		uris = append(uris, u)
	}
	var eku []x509.ExtKeyUsage
	if l.Server {
		eku = append(eku, x509.ExtKeyUsageServerAuth)
	}
	if l.Client {
		eku = append(eku, x509.ExtKeyUsageClientAuth)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("devcert: generating a leaf key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: l.CommonName},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           eku,
		BasicConstraintsValid: true,
		DNSNames:              l.DNSNames,
		IPAddresses:           l.IPAddresses,
		URIs:                  uris,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("devcert: signing leaf %q: %w", l.CommonName, err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return encodeCert(der), keyPEM, nil
}
