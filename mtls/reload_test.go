package mtls_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/big"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/a2agrpc/a2agrpc/internal/devcert"
	"github.com/a2agrpc/a2agrpc/mtls"
)

func TestNewReloaderErrors(t *testing.T) {
	t.Parallel()
	ca, other := newCA(t, "mesh CA"), newCA(t, "other CA")
	good := writeIdentity(t, ca, serverLeaf(), ca)
	mismatched := writeIdentity(t, ca, serverLeaf(), ca)
	write(t, mismatched.Key, readFile(t, writeIdentity(t, other, serverLeaf()).Key))
	dir := t.TempDir()
	junk := dir + "/junk.pem"
	write(t, junk, []byte("not PEM at all"))
	cert := readFile(t, good.Cert)
	truncated := dir + "/truncated.pem"
	write(t, truncated, cert[:len(cert)/2])
	halfBundle := dir + "/half-bundle.pem"
	write(t, halfBundle, append(append([]byte{}, ca.CertPEM...), other.CertPEM[:len(other.CertPEM)-40]...))
	keyOnlyBundle := dir + "/key-bundle.pem"
	write(t, keyOnlyBundle, readFile(t, good.Key))
	missing := dir + "/missing.pem"

	tests := []struct {
		name    string
		files   mtls.Files
		wantMsg string // the file the error must name, or its reason
	}{
		{"nothing", mtls.Files{}, "no files"},
		{"cert_without_key", mtls.Files{Cert: good.Cert, CA: good.CA}, "must be given together"},
		{"missing_cert", mtls.Files{Cert: missing, Key: good.Key}, missing},
		{"missing_key", mtls.Files{Cert: good.Cert, Key: missing}, missing},
		{"missing_ca", mtls.Files{Cert: good.Cert, Key: good.Key, CA: missing}, missing},
		{"junk_cert", mtls.Files{Cert: junk, Key: good.Key}, junk},
		{"truncated_cert", mtls.Files{Cert: truncated, Key: good.Key}, truncated},
		{"key_not_matching", mismatched.Files, "private key does not match public key"},
		{"junk_ca", mtls.Files{CA: junk}, junk},
		{"truncated_ca_bundle", mtls.Files{CA: halfBundle}, halfBundle},
		{"ca_bundle_without_certificates", mtls.Files{CA: keyOnlyBundle}, "no PEM certificates"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := mtls.NewReloader(tt.files, mtls.WithPollInterval(0))
			if err == nil {
				r.Close()
				t.Fatal("NewReloader succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
		})
	}
	// A good bundle with several CAs trusts all of them.
	write(t, good.CA, append(append([]byte{}, other.CertPEM...), ca.CertPEM...))
	r := newReloader(t, good.Files)
	for _, c := range []*devcert.CA{ca, other} {
		if id, err := r.VerifyPeer(certChain(t, c, "x"), time.Now()); err != nil || id == "" {
			t.Errorf("bundle CA %q not trusted: %v", c.Cert.Subject.CommonName, err)
		}
	}
}

func certChain(t *testing.T, ca *devcert.CA, name string) []*x509.Certificate {
	t.Helper()
	return []*x509.Certificate{issue(t, ca, clientLeaf(name))}
}

// serialSeen dials the server and returns the serial of the certificate it
// presented.
func serialSeen(t *testing.T, addr string, cfg *tls.Config, seen <-chan handshake) *big.Int {
	t.Helper()
	st, err := dial(addr, cfg)
	next(t, seen)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return st.PeerCertificates[0].SerialNumber
}

func TestReload(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "mesh CA")
	srv := writeIdentity(t, ca, serverLeaf(), ca)
	srvR := newReloader(t, srv.Files)
	addr, seen := serve(t, mtls.ServerConfig(srvR))
	cli := writeIdentity(t, ca, clientLeaf("alice"), ca)
	cliR := newReloader(t, cli.Files)
	cfg := mtls.ClientConfig(cliR, "localhost")

	first := serialSeen(t, addr, cfg, seen)

	// A new server certificate is served after Reload, on the same config.
	srv.rotate(ca, serverLeaf())
	if got := serialSeen(t, addr, cfg, seen); got.Cmp(first) != 0 {
		t.Fatal("the certificate changed before Reload")
	}
	if err := srvR.Reload(); err != nil {
		t.Fatal(err)
	}
	second := serialSeen(t, addr, cfg, seen)
	if second.Cmp(first) == 0 {
		t.Fatal("Reload did not change the served certificate")
	}

	// CA rotation: the server moves to a new CA. The client refuses it
	// until its own bundle is reloaded, then accepts it; the server sees
	// the client's reloaded certificate too.
	next2 := newCA(t, "next mesh CA")
	srv.rotate(next2, serverLeaf())
	srv.trust(ca, next2)
	if err := srvR.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := dial(addr, cfg); err == nil {
		t.Fatal("client accepted a server of a CA it does not trust yet")
	}
	next(t, seen)
	cli.trust(next2)
	cli.rotate(next2, clientLeaf("alice2"))
	if err := cliR.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := dial(addr, cfg); err != nil {
		t.Fatalf("client refused the server after reloading its CA: %v", err)
	}
	h := next(t, seen)
	if id, err := srvR.VerifyPeer(h.state.PeerCertificates, time.Now()); err != nil || id != "spiffe://example.org/agent/alice2" {
		t.Errorf("server saw %q, %v; want the reloaded client certificate", id, err)
	}
}

func TestFailedReloadKeepsPreviousMaterial(t *testing.T) {
	t.Parallel()
	ca, other := newCA(t, "mesh CA"), newCA(t, "other CA")
	srv := writeIdentity(t, ca, serverLeaf(), ca)
	srvR := newReloader(t, srv.Files)
	addr, seen := serve(t, mtls.ServerConfig(srvR))
	cfg := mtls.ClientConfig(newReloader(t, writeIdentity(t, ca, clientLeaf("alice"), ca).Files), "localhost")
	first := serialSeen(t, addr, cfg, seen)
	goodCert, goodKey := readFile(t, srv.Cert), readFile(t, srv.Key)

	newCert, _, err := ca.Issue(serverLeaf())
	if err != nil {
		t.Fatal(err)
	}
	breakages := []struct {
		name    string
		apply   func()
		wantMsg string
	}{
		{"half_written_cert", func() { write(t, srv.Cert, newCert[:len(newCert)-30]) }, srv.Cert},
		{"key_of_another_cert", func() { write(t, srv.Cert, newCert) }, "does not match"},
		{"bad_ca_bundle", func() { write(t, srv.CA, []byte("garbage")) }, srv.CA},
		{"missing_key", func() { os.Remove(srv.Key) }, srv.Key},
	}
	for _, b := range breakages {
		t.Run(b.name, func(t *testing.T) {
			write(t, srv.Cert, goodCert)
			write(t, srv.Key, goodKey)
			srv.trust(ca)
			b.apply()
			err := srvR.Reload()
			if err == nil || !strings.Contains(err.Error(), b.wantMsg) {
				t.Fatalf("Reload = %v, want an error mentioning %q", err, b.wantMsg)
			}
			if got := serialSeen(t, addr, cfg, seen); got.Cmp(first) != 0 {
				t.Error("a failed reload replaced the served certificate")
			}
			if _, err := srvR.VerifyPeer(certChain(t, ca, "bob"), time.Now()); err != nil {
				t.Errorf("a failed reload replaced the CA pool: %v", err)
			}
			if _, err := srvR.VerifyPeer(certChain(t, other, "eve"), time.Now()); !errors.Is(err, mtls.ErrUntrusted) {
				t.Errorf("after a failed reload a foreign CA is trusted: %v", err)
			}
		})
	}
}

// waitFor polls cond until it holds or the test times out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPollingReload(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "mesh CA")
	srv := writeIdentity(t, ca, serverLeaf(), ca)
	var (
		mu   sync.Mutex
		errs []error
	)
	srvR := newReloader(t, srv.Files, mtls.WithPollInterval(20*time.Millisecond), mtls.WithErrorLog(func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}))
	addr, seen := serve(t, mtls.ServerConfig(srvR))
	cfg := mtls.ClientConfig(newReloader(t, writeIdentity(t, ca, clientLeaf("alice"), ca).Files), "localhost")
	first := serialSeen(t, addr, cfg, seen)

	srv.rotate(ca, serverLeaf())
	var second *big.Int
	waitFor(t, "polling to pick up the new certificate", func() bool {
		second = serialSeen(t, addr, cfg, seen)
		return second.Cmp(first) != 0
	})

	// A broken file is reported through the error log and changes nothing.
	mu.Lock()
	errs = nil // forget states caught between writing cert and key
	mu.Unlock()
	good := readFile(t, srv.Cert)
	write(t, srv.Cert, []byte("-----BEGIN CERTIFICATE-----\nMIIB"))
	waitFor(t, "the error log to report the broken file", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(errs) > 0 && strings.Contains(errs[len(errs)-1].Error(), srv.Cert+": truncated")
	})
	if got := serialSeen(t, addr, cfg, seen); got.Cmp(second) != 0 {
		t.Error("a broken file replaced the served certificate")
	}
	// Once the file is good again polling recovers by itself.
	write(t, srv.Cert, good)
	srv.rotate(ca, serverLeaf())
	waitFor(t, "polling to recover", func() bool {
		return serialSeen(t, addr, cfg, seen).Cmp(second) != 0
	})
}

// TestCloseStopsPolling is not parallel so that goleak sees only its own
// goroutines.
func TestCloseStopsPolling(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ca := newCA(t, "mesh CA")
	srv := writeIdentity(t, ca, serverLeaf(), ca)
	calls := make(chan error, 100)
	r, err := mtls.NewReloader(srv.Files, mtls.WithPollInterval(5*time.Millisecond), mtls.WithErrorLog(func(err error) { calls <- err }))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := r.GetCertificate(nil)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	srv.rotate(ca, serverLeaf())
	time.Sleep(50 * time.Millisecond)
	after, err := r.GetCertificate(nil)
	if err != nil || after != before {
		t.Errorf("material changed after Close (err %v)", err)
	}
	if len(calls) != 0 {
		t.Errorf("error log called after Close: %v", <-calls)
	}
	// Reload still works by hand after Close.
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if now, _ := r.GetCertificate(nil); now == before {
		t.Error("explicit Reload after Close did not load the new certificate")
	}
}

// TestConcurrentReloadAndHandshakes lets the race detector watch reloads
// swap material under handshakes in flight.
func TestConcurrentReloadAndHandshakes(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "mesh CA")
	srv := writeIdentity(t, ca, serverLeaf(), ca)
	srvR := newReloader(t, srv.Files)
	addr, seen := serve(t, mtls.ServerConfig(srvR))
	_ = seen // 40 handshakes fit in its buffer
	cli := writeIdentity(t, ca, clientLeaf("alice"), ca)
	cliR := newReloader(t, cli.Files)
	stop := make(chan struct{})
	var reloading sync.WaitGroup
	reloading.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			srvR.Reload()
			cliR.Reload()
			_ = srvR.CAPool()
		}
	})
	errs := make(chan error, 40)
	var dialers sync.WaitGroup
	for range 4 {
		dialers.Go(func() {
			for range 10 {
				if _, err := dial(addr, mtls.ClientConfig(cliR, "localhost")); err != nil {
					errs <- err
				}
			}
		})
	}
	dialers.Wait()
	close(stop)
	reloading.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("handshake during reloads failed: %v", err)
	}
}
