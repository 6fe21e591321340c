package devcert_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc/internal/devcert"
)

func newCA(t *testing.T) *devcert.CA {
	t.Helper()
	ca, err := devcert.NewCA("test CA", time.Time{}, time.Time{})
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return ca
}

func parseCert(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	b, rest := pem.Decode(certPEM)
	if b == nil || b.Type != "CERTIFICATE" {
		t.Fatalf("no CERTIFICATE block in %q", certPEM)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("trailing data after the certificate: %q", rest)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatalf("ParseCertificate: %v", err)
	}
	return c
}

func TestNewCA(t *testing.T) {
	t.Parallel()
	before := time.Now()
	ca := newCA(t)
	c := ca.Cert
	if !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("CA constraints: IsCA=%v valid=%v MaxPathLen=%d zero=%v", c.IsCA, c.BasicConstraintsValid, c.MaxPathLen, c.MaxPathLenZero)
	}
	if want := x509.KeyUsageCertSign | x509.KeyUsageCRLSign; c.KeyUsage != want {
		t.Errorf("KeyUsage = %v, want %v", c.KeyUsage, want)
	}
	if c.Subject.CommonName != "test CA" {
		t.Errorf("CN = %q", c.Subject.CommonName)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("CA is not self-signed: %v", err)
	}
	if pub, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve.Params().Name != "P-256" {
		t.Errorf("CA key is %T, want ECDSA P-256", c.PublicKey)
	}
	if !c.NotBefore.Before(before) || c.NotAfter.Sub(c.NotBefore) != devcert.DefaultCAValidity {
		t.Errorf("default validity %s … %s", c.NotBefore, c.NotAfter)
	}
	if !bytes.Equal(parseCert(t, ca.CertPEM).Raw, c.Raw) {
		t.Error("CertPEM does not hold Cert")
	}
	if _, err := devcert.NewCA("x", time.Now(), time.Now().Add(-time.Minute)); err == nil {
		t.Error("NewCA accepted notAfter before notBefore")
	}
}

func TestIssue(t *testing.T) {
	t.Parallel()
	ca := newCA(t)
	tests := []struct {
		name    string
		leaf    devcert.Leaf
		wantEKU []x509.ExtKeyUsage
	}{
		{"server", devcert.Leaf{CommonName: "srv", DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true},
			[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
		{"client", devcert.Leaf{CommonName: "alice", URIs: []string{"spiffe://example.org/agent/alice"}, Client: true},
			[]x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
		{"both", devcert.Leaf{CommonName: "peer", Server: true, Client: true},
			[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}},
	}
	serials := map[string]bool{}
	for _, tt := range tests {
		certPEM, keyPEM, err := ca.Issue(tt.leaf)
		if err != nil {
			t.Fatalf("%s: Issue: %v", tt.name, err)
		}
		c := parseCert(t, certPEM)
		if !slices.Equal(c.ExtKeyUsage, tt.wantEKU) {
			t.Errorf("%s: ExtKeyUsage = %v, want %v", tt.name, c.ExtKeyUsage, tt.wantEKU)
		}
		if c.IsCA || c.KeyUsage != x509.KeyUsageDigitalSignature {
			t.Errorf("%s: IsCA=%v KeyUsage=%v", tt.name, c.IsCA, c.KeyUsage)
		}
		if c.Subject.CommonName != tt.leaf.CommonName || !slices.Equal(c.DNSNames, tt.leaf.DNSNames) || len(c.IPAddresses) != len(tt.leaf.IPAddresses) {
			t.Errorf("%s: names CN=%q DNS=%v IP=%v", tt.name, c.Subject.CommonName, c.DNSNames, c.IPAddresses)
		}
		var uris []string
		for _, u := range c.URIs {
			uris = append(uris, u.String())
		}
		if !slices.Equal(uris, tt.leaf.URIs) {
			t.Errorf("%s: URIs = %v, want %v", tt.name, uris, tt.leaf.URIs)
		}
		if serials[c.SerialNumber.String()] {
			t.Errorf("%s: serial %s reused", tt.name, c.SerialNumber)
		}
		serials[c.SerialNumber.String()] = true
		if time.Until(c.NotBefore) > -30*time.Minute || c.NotAfter.Sub(time.Now()) < devcert.DefaultLeafValidity-time.Minute {
			t.Errorf("%s: default validity %s … %s", tt.name, c.NotBefore, c.NotAfter)
		}
		if _, err := c.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: tt.wantEKU}); err != nil {
			t.Errorf("%s: chain does not verify: %v", tt.name, err)
		}
		kb, _ := pem.Decode(keyPEM)
		if kb == nil || kb.Type != "PRIVATE KEY" {
			t.Fatalf("%s: key PEM is not PKCS#8: %q", tt.name, keyPEM)
		}
		key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
		if err != nil {
			t.Fatalf("%s: ParsePKCS8PrivateKey: %v", tt.name, err)
		}
		if !key.(*ecdsa.PrivateKey).PublicKey.Equal(c.PublicKey) {
			t.Errorf("%s: key does not match the certificate", tt.name)
		}
	}
}

func TestIssueValidity(t *testing.T) {
	t.Parallel()
	caEnd := time.Now().Add(48 * time.Hour)
	ca, err := devcert.NewCA("short CA", time.Time{}, caEnd)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, _, err := ca.Issue(devcert.Leaf{CommonName: "x", Client: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := parseCert(t, certPEM).NotAfter; !got.Equal(caEnd.Truncate(time.Second)) {
		t.Errorf("default NotAfter = %s, want it cut to the CA's %s", got, caEnd)
	}
	nb, na := time.Now().Add(-72*time.Hour), time.Now().Add(-24*time.Hour)
	certPEM, _, err = ca.Issue(devcert.Leaf{CommonName: "old", Client: true, NotBefore: nb, NotAfter: na})
	if err != nil {
		t.Fatal(err)
	}
	if c := parseCert(t, certPEM); !c.NotAfter.Equal(na.Truncate(time.Second)) || !c.NotBefore.Equal(nb.Truncate(time.Second)) {
		t.Errorf("explicit validity not kept: %s … %s", c.NotBefore, c.NotAfter)
	}
}

func TestIssueErrors(t *testing.T) {
	t.Parallel()
	ca := newCA(t)
	for name, l := range map[string]devcert.Leaf{
		"no_usage":      {CommonName: "x"},
		"bad_uri":       {CommonName: "x", Client: true, URIs: []string{"spiffe://bad host/%zz"}},
		"inverted_time": {CommonName: "x", Client: true, NotBefore: time.Now(), NotAfter: time.Now().Add(-time.Hour)},
	} {
		if _, _, err := ca.Issue(l); err == nil {
			t.Errorf("%s: Issue succeeded", name)
		}
	}
}

func TestLoadCA(t *testing.T) {
	t.Parallel()
	ca := newCA(t)
	loaded, err := devcert.LoadCA(ca.CertPEM, ca.KeyPEM)
	if err != nil {
		t.Fatalf("LoadCA: %v", err)
	}
	certPEM, _, err := loaded.Issue(devcert.Leaf{CommonName: "later", Client: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseCert(t, certPEM).Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("leaf of the reloaded CA does not verify against the original: %v", err)
	}

	other := newCA(t)
	if _, err := devcert.LoadCA(ca.CertPEM, other.KeyPEM); err == nil {
		t.Error("LoadCA accepted another CA's key")
	}
	leafPEM, leafKey, err := ca.Issue(devcert.Leaf{CommonName: "leaf", Server: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := devcert.LoadCA(leafPEM, leafKey); err == nil {
		t.Error("LoadCA accepted a leaf certificate")
	}
	if _, err := devcert.LoadCA([]byte("junk"), ca.KeyPEM); err == nil {
		t.Error("LoadCA accepted junk")
	}
}

func TestWriteFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "new", "certs")
	path := filepath.Join(dir, "key.pem")
	if err := devcert.WriteFile(path, []byte("first contents")); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	assertMode(t, dir, 0o700|os.ModeDir)
	assertMode(t, path, 0o600)

	// An existing, world-readable file is tightened and truncated.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := devcert.WriteFile(path, []byte("short")); err != nil {
		t.Fatalf("WriteFile over an existing file: %v", err)
	}
	assertMode(t, path, 0o600)
	if got, err := os.ReadFile(path); err != nil || string(got) != "short" {
		t.Errorf("contents = %q, %v; want %q", got, err, "short")
	}

	// An existing parent keeps its mode.
	parent := t.TempDir()
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := devcert.WriteFile(filepath.Join(parent, "ca.pem"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	assertMode(t, parent, 0o755|os.ModeDir)
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != want {
		t.Errorf("mode of %s = %v, want %v", path, fi.Mode(), want)
	}
}

// TestMutualTLSHandshake shows the material works end to end: a real TLS
// 1.3 handshake over loopback, each side verifying the other against the CA.
func TestMutualTLSHandshake(t *testing.T) {
	t.Parallel()
	ca := newCA(t)
	srvCert, err := ca.TLSCertificate(devcert.Leaf{CommonName: "server", DNSNames: []string{"localhost"}, Server: true})
	if err != nil {
		t.Fatal(err)
	}
	cliCert, err := ca.TLSCertificate(devcert.Leaf{CommonName: "client", URIs: []string{"spiffe://example.org/agent/c"}, Client: true})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{srvCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca.Pool(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	peer := make(chan string, 1)
	go func() {
		c, err := lis.Accept()
		if err != nil {
			peer <- "accept: " + err.Error()
			return
		}
		defer c.Close()
		tc := c.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			peer <- "handshake: " + err.Error()
			return
		}
		peer <- tc.ConnectionState().PeerCertificates[0].URIs[0].String()
		io.WriteString(tc, "ok")
	}()
	conn, err := tls.Dial("tcp", lis.Addr().String(), &tls.Config{
		ServerName:   "localhost",
		RootCAs:      ca.Pool(),
		Certificates: []tls.Certificate{cliCert},
	})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer conn.Close()
	if got, err := io.ReadAll(conn); err != nil || string(got) != "ok" {
		t.Errorf("read %q, %v", got, err)
	}
	if got := <-peer; got != "spiffe://example.org/agent/c" {
		t.Errorf("server saw %q", got)
	}
	if v := conn.ConnectionState().Version; v != tls.VersionTLS13 {
		t.Errorf("negotiated %x, want TLS 1.3", v)
	}
}
