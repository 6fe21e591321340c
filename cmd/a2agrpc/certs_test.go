package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc/mtls"
)

func runCertsTest(t *testing.T, args ...string) (stdout string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = runCerts(context.Background(), args, &out, &errOut)
	if err != nil {
		t.Logf("certs %q: %v; stderr: %s", args, err, errOut.String())
	}
	return out.String(), err
}

func certsParse(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		t.Fatalf("%s holds no certificate", path)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCerts(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "pki")
	out, err := runCertsTest(t, "-dir", dir, "-client", "alice", "-client", "bob",
		"-trust-domain", "mesh.test", "-host", "agent.internal", "-host", "10.0.0.7", "-host", "LOCALHOST", "-days", "30")
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"ca.pem", "ca-key.pem", "server.pem", "server-key.pem", "alice.pem", "alice-key.pem", "bob.pem", "bob-key.pem"}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, slices.Sorted(slices.Values(files))) {
		t.Errorf("files = %q, want %q", names, files)
	}
	for _, f := range append(files, "") {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o600)
		if f == "" {
			want = 0o700 | os.ModeDir
		}
		if fi.Mode() != want {
			t.Errorf("mode of %s = %v, want %v", fi.Name(), fi.Mode(), want)
		}
	}

	ca := certsParse(t, filepath.Join(dir, "ca.pem"))
	if !ca.IsCA {
		t.Fatal("ca.pem is not a CA")
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)

	srv := certsParse(t, filepath.Join(dir, "server.pem"))
	if want := []string{"localhost", "agent.internal"}; !slices.Equal(srv.DNSNames, want) {
		t.Errorf("server DNS names = %q, want %q", srv.DNSNames, want)
	}
	var ips []string
	for _, ip := range srv.IPAddresses {
		ips = append(ips, ip.String())
	}
	if want := []string{"127.0.0.1", "::1", "10.0.0.7"}; !slices.Equal(ips, want) {
		t.Errorf("server IPs = %q, want %q", ips, want)
	}
	if !slices.Equal(srv.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("server EKU = %v", srv.ExtKeyUsage)
	}
	for _, name := range []string{"localhost", "agent.internal", "10.0.0.7", "::1"} {
		if _, err := srv.Verify(x509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
			t.Errorf("server certificate for %s: %v", name, err)
		}
	}
	if days := time.Until(srv.NotAfter).Hours() / 24; days < 29.9 || days > 30.1 {
		t.Errorf("server valid for %.1f more days, want 30", days)
	}

	for _, name := range []string{"alice", "bob"} {
		c := certsParse(t, filepath.Join(dir, name+".pem"))
		want := "spiffe://mesh.test/agent/" + name
		if len(c.URIs) != 1 || c.URIs[0].String() != want || c.Subject.CommonName != name || mtls.Identity(c) != want {
			t.Errorf("%s: URIs %v, CN %q, identity %q; want %s", name, c.URIs, c.Subject.CommonName, mtls.Identity(c), want)
		}
		if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
			t.Errorf("%s EKU = %v", name, c.ExtKeyUsage)
		}
		if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s does not chain to ca.pem: %v", name, err)
		}
		if _, err := tls.LoadX509KeyPair(filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")); err != nil {
			t.Errorf("%s key: %v", name, err)
		}
		if !strings.Contains(out, "identity "+want) {
			t.Errorf("output does not report %s's identity:\n%s", name, out)
		}
	}
	t.Logf("output:\n%s", out)
	if !strings.Contains(out, filepath.Join(dir, "ca-key.pem")) {
		t.Errorf("output does not report the CA key:\n%s", out)
	}
}

// TestCertsHandshake uses the written files as an agent would: a strict
// mutual-TLS server and a client, over loopback.
func TestCertsHandshake(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := runCertsTest(t, "-dir", dir, "-client", "alice"); err != nil {
		t.Fatal(err)
	}
	p := func(f string) string { return filepath.Join(dir, f) }
	srvR, err := mtls.NewReloader(mtls.Files{Cert: p("server.pem"), Key: p("server-key.pem"), CA: p("ca.pem")}, mtls.WithPollInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer srvR.Close()
	cliR, err := mtls.NewReloader(mtls.Files{Cert: p("alice.pem"), Key: p("alice-key.pem"), CA: p("ca.pem")}, mtls.WithPollInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cliR.Close()
	lis, err := tls.Listen("tcp", "127.0.0.1:0", mtls.ServerConfigStrict(srvR))
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	identity := make(chan string, 1)
	go func() {
		c, err := lis.Accept()
		if err != nil {
			identity <- err.Error()
			return
		}
		defer c.Close()
		tc := c.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			identity <- err.Error()
			return
		}
		id, err := srvR.VerifyPeer(tc.ConnectionState().PeerCertificates, time.Now())
		if err != nil {
			id = err.Error()
		}
		identity <- id
		io.WriteString(tc, "ok")
	}()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", lis.Addr().String(), mtls.ClientConfig(cliR, "127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if got, err := io.ReadAll(conn); err != nil || string(got) != "ok" {
		t.Fatalf("read %q, %v", got, err)
	}
	if got := <-identity; got != "spiffe://example.org/agent/alice" {
		t.Errorf("server saw %q", got)
	}
}

func TestCertsRerun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := func(f string) string { return filepath.Join(dir, f) }
	if _, err := runCertsTest(t, "-dir", dir, "-client", "alice"); err != nil {
		t.Fatal(err)
	}
	read := func(f string) []byte {
		b, err := os.ReadFile(p(f))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	caPEM, caKey, serverPEM, alicePEM := read("ca.pem"), read("ca-key.pem"), read("server.pem"), read("alice.pem")

	// Another client joins the same CA; nothing else changes.
	out, err := runCertsTest(t, "-dir", dir, "-client", "carol")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read("ca.pem"), caPEM) || !bytes.Equal(read("ca-key.pem"), caKey) || !bytes.Equal(read("server.pem"), serverPEM) || !bytes.Equal(read("alice.pem"), alicePEM) {
		t.Error("adding a client changed the CA, server or another client")
	}
	if !strings.Contains(out, "using CA") || !strings.Contains(out, "kept server") {
		t.Errorf("output does not say the CA and server were kept:\n%s", out)
	}
	roots := x509.NewCertPool()
	roots.AddCert(certsParse(t, p("ca.pem")))
	if _, err := certsParse(t, p("carol.pem")).Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("carol does not chain to the reused CA: %v", err)
	}

	// Existing leaves are not overwritten without -force…
	for _, args := range [][]string{{"-client", "alice"}, {"-host", "new.example"}} {
		if _, err := runCertsTest(t, append([]string{"-dir", dir}, args...)...); err == nil || !strings.Contains(err.Error(), "-force") {
			t.Errorf("certs %q over existing files: error %v, want a refusal naming -force", args, err)
		}
	}
	if !bytes.Equal(read("alice.pem"), alicePEM) || !bytes.Equal(read("server.pem"), serverPEM) {
		t.Error("a refused run changed files")
	}
	// …and are with it, still under the same CA.
	if _, err := runCertsTest(t, "-dir", dir, "-force", "-client", "alice", "-host", "new.example"); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(read("alice.pem"), alicePEM) || bytes.Equal(read("server.pem"), serverPEM) || !bytes.Equal(read("ca.pem"), caPEM) {
		t.Error("-force did not replace the leaves, or replaced the CA")
	}
	if srv := certsParse(t, p("server.pem")); !slices.Contains(srv.DNSNames, "new.example") {
		t.Errorf("new server names %q lack new.example", srv.DNSNames)
	}

	// A CA certificate without its key cannot sign: refuse.
	if err := os.Remove(p("ca-key.pem")); err != nil {
		t.Fatal(err)
	}
	if _, err := runCertsTest(t, "-dir", dir, "-client", "dave"); err == nil || !strings.Contains(err.Error(), "without its key") {
		t.Errorf("missing CA key: error %v", err)
	}
	if _, err := os.Stat(p("dave.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Error("dave.pem written although the run failed")
	}
}

func TestCertsBadArguments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		wantErr string // "" means errUsage
	}{
		{[]string{"-nope"}, ""},
		{[]string{"stray"}, ""},
		{[]string{"-days", "0"}, "-days"},
		{[]string{"-client", "../evil"}, "must start"},
		{[]string{"-client", "a/b"}, "may only contain"},
		{[]string{"-client", ".hidden"}, "must start"},
		{[]string{"-client", "ca"}, "clash"},
		{[]string{"-client", "server"}, "clash"},
		{[]string{"-client", "alice-key"}, "clash"},
		{[]string{"-client", "a", "-client", "a"}, "twice"},
		{[]string{"-trust-domain", "Example.org"}, "trust domain"},
		{[]string{"-host", "a b"}, "-host"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		_, err := runCertsTest(t, append([]string{"-dir", dir}, tt.args...)...)
		switch {
		case tt.wantErr == "" && !errors.Is(err, errUsage):
			t.Errorf("certs %q: error %v, want errUsage", tt.args, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("certs %q: error %v, want one mentioning %q", tt.args, err, tt.wantErr)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("certs %q wrote files although it failed", tt.args)
		}
	}
}
