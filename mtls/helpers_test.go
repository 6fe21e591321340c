package mtls_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc/internal/devcert"
	"github.com/a2agrpc/a2agrpc/mtls"
)

func newCA(t testing.TB, name string) *devcert.CA {
	t.Helper()
	ca, err := devcert.NewCA(name, time.Time{}, time.Time{})
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return ca
}

func serverLeaf() devcert.Leaf {
	return devcert.Leaf{CommonName: "server", DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true}
}

func clientLeaf(name string) devcert.Leaf {
	return devcert.Leaf{CommonName: name, URIs: []string{"spiffe://example.org/agent/" + name}, Client: true}
}

// issue returns l signed by ca, parsed.
func issue(t testing.TB, ca *devcert.CA, l devcert.Leaf) *x509.Certificate {
	t.Helper()
	certPEM, _, err := ca.Issue(l)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	b, _ := pem.Decode(certPEM)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// identityFiles are one party's files in its own directory.
type identityFiles struct {
	mtls.Files
	t testing.TB
}

// writeIdentity writes a leaf issued by ca, and a bundle of the trusted
// CAs, into a new directory.
func writeIdentity(t testing.TB, ca *devcert.CA, l devcert.Leaf, trusted ...*devcert.CA) identityFiles {
	t.Helper()
	dir := t.TempDir()
	f := identityFiles{t: t, Files: mtls.Files{
		Cert: filepath.Join(dir, "cert.pem"),
		Key:  filepath.Join(dir, "key.pem"),
	}}
	f.rotate(ca, l)
	if len(trusted) > 0 {
		f.CA = filepath.Join(dir, "ca.pem")
		f.trust(trusted...)
	}
	return f
}

// rotate replaces the certificate and key with a new leaf.
func (f identityFiles) rotate(ca *devcert.CA, l devcert.Leaf) {
	f.t.Helper()
	certPEM, keyPEM, err := ca.Issue(l)
	if err != nil {
		f.t.Fatalf("Issue: %v", err)
	}
	write(f.t, f.Cert, certPEM)
	write(f.t, f.Key, keyPEM)
}

// trust replaces the CA bundle.
func (f identityFiles) trust(cas ...*devcert.CA) {
	f.t.Helper()
	var bundle []byte
	for _, ca := range cas {
		bundle = append(bundle, ca.CertPEM...)
	}
	write(f.t, f.CA, bundle)
}

func write(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := devcert.WriteFile(path, data); err != nil {
		t.Fatal(err)
	}
}

func newReloader(t testing.TB, f mtls.Files, opts ...mtls.ReloaderOption) *mtls.Reloader {
	t.Helper()
	if len(opts) == 0 {
		opts = []mtls.ReloaderOption{mtls.WithPollInterval(0)}
	}
	r, err := mtls.NewReloader(f, opts...)
	if err != nil {
		t.Fatalf("NewReloader: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// handshake is what the server saw of one connection.
type handshake struct {
	state tls.ConnectionState
	err   error
}

// serve accepts TLS connections on a loopback port until the test ends.
// Each connection is handshaken, reported on the returned channel, answered
// with "ok" when the handshake succeeded, and closed.
func serve(t testing.TB, cfg *tls.Config) (string, <-chan handshake) {
	t.Helper()
	lis, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan handshake, 64)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				tc := c.(*tls.Conn)
				tc.SetDeadline(time.Now().Add(10 * time.Second))
				err := tc.Handshake()
				seen <- handshake{state: tc.ConnectionState(), err: err}
				if err == nil {
					io.WriteString(tc, "ok")
				}
			})
		}
	})
	t.Cleanup(func() {
		lis.Close()
		wg.Wait()
	})
	return lis.Addr().String(), seen
}

// dial connects with cfg and reads the server's answer to the end. It fails
// when the handshake fails on either side: with TLS 1.3 a server's refusal
// of the client certificate only shows when the client reads.
func dial(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(conn)
	if err != nil {
		return conn.ConnectionState(), err
	}
	if string(got) != "ok" {
		return conn.ConnectionState(), errors.New("server answered " + string(got))
	}
	return conn.ConnectionState(), nil
}

// next returns the server's view of the next connection.
func next(t testing.TB, seen <-chan handshake) handshake {
	t.Helper()
	select {
	case h := <-seen:
		return h
	case <-time.After(10 * time.Second):
		t.Fatal("no connection reached the server")
		return handshake{}
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
