// Package devcert makes development PKI material: a throw-away certificate
// authority and the server and client certificates it signs. Tests across
// the project use it to run real TLS handshakes, and "a2agrpc certs" uses it
// to give a developer a working mutual-TLS setup in one command. It is not a
// production CA: keys live in memory or in 0600 files, there is no
// revocation, and every key is ECDSA P-256 because that is fast to generate
// and accepted by every TLS stack the project talks to.
package devcert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// DefaultCAValidity is how long a CA made with zero times stays valid.
// Development CAs are long-lived so that leaves can be added to them later
// ("a2agrpc certs -client NAME" reuses the CA it finds).
const DefaultCAValidity = 10 * 365 * 24 * time.Hour

// clockSkew backdates default NotBefore values so that a peer whose clock is
// a little behind does not reject a certificate made a moment ago.
const clockSkew = time.Hour

// CA is a certificate authority that can sign leaves.
type CA struct {
	// Cert is the parsed self-signed CA certificate.
	Cert *x509.Certificate
	// Key signs the leaves.
	Key crypto.Signer
	// CertPEM is Cert encoded as a PEM "CERTIFICATE" block: what peers put
	// in their CA bundle.
	CertPEM []byte
	// KeyPEM is Key encoded as a PKCS#8 PEM "PRIVATE KEY" block, so the CA
	// can be saved and loaded again with [LoadCA].
	KeyPEM []byte
}

// NewCA makes a self-signed ECDSA P-256 CA. A zero notBefore means an hour
// ago and a zero notAfter means [DefaultCAValidity] after notBefore. The CA
// can sign leaves only (MaxPathLen 0), never intermediate CAs, so a leaked
// leaf key cannot be used to mint further certificates.
func NewCA(commonName string, notBefore, notAfter time.Time) (*CA, error) {
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-clockSkew)
	}
	if notAfter.IsZero() {
		notAfter = notBefore.Add(DefaultCAValidity)
	}
	if !notAfter.After(notBefore) {
		return nil, fmt.Errorf("devcert: CA %q: notAfter %s is not after notBefore %s", commonName, notAfter, notBefore)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("devcert: generating the CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("devcert: signing the CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("devcert: parsing the CA certificate: %w", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, CertPEM: encodeCert(der), KeyPEM: keyPEM}, nil
}

// LoadCA reads back a CA saved from [CA.CertPEM] and [CA.KeyPEM], so that a
// development CA on disk can sign more leaves. It checks that the
// certificate is a CA and that the key belongs to it.
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("devcert: CA certificate: no PEM CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("devcert: CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("devcert: certificate %q is not a CA", cert.Subject.CommonName)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, errors.New("devcert: CA key: no PEM block")
	}
	var parsed any
	switch kb.Type {
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(kb.Bytes)
	case "EC PRIVATE KEY":
		parsed, err = x509.ParseECPrivateKey(kb.Bytes)
	default:
		return nil, fmt.Errorf("devcert: CA key: unexpected PEM block %q", kb.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("devcert: CA key: %w", err)
	}
	signer, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("devcert: CA key: %T cannot sign", parsed)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pub, ok := signer.Public().(equaler); !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("devcert: CA key does not match the certificate %q", cert.Subject.CommonName)
	}
	return &CA{
		Cert:    cert,
		Key:     signer,
		CertPEM: encodeCert(cert.Raw),
		KeyPEM:  pem.EncodeToMemory(kb),
	}, nil
}

// Pool returns a new pool trusting only this CA, for RootCAs or ClientCAs in
// a test's tls.Config.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// TLSCertificate issues l and returns it ready for tls.Config.Certificates,
// saving tests the PEM round trip.
func (ca *CA) TLSCertificate(l Leaf) (tls.Certificate, error) {
	certPEM, keyPEM, err := ca.Issue(l)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// randomSerial returns a positive 128-bit serial number: unique enough that
// two leaves of the same CA never share one, which RFC 5280 requires.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("devcert: generating a serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

func encodeCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func encodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("devcert: encoding the private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
