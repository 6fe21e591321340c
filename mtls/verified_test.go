package mtls_test

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc/mtls"
)

// TestVerifiedCacheForgetsOnReload: a certificate that verified is
// answered from the cache, but never once the CA bundle no longer trusts
// it, and never outside its validity period.
func TestVerifiedCacheForgetsOnReload(t *testing.T) {
	t.Parallel()
	ca, other := newCA(t, "mesh CA"), newCA(t, "next CA")
	srv := writeIdentity(t, ca, serverLeaf(), ca)
	r := newReloader(t, srv.Files)
	leaf := issue(t, ca, clientLeaf("alice"))
	chain := []*x509.Certificate{leaf}
	for range 3 { // the repeats are cache hits
		if id, err := r.VerifyPeer(chain, time.Now()); err != nil || id != "spiffe://example.org/agent/alice" {
			t.Fatalf("VerifyPeer = %q, %v", id, err)
		}
	}
	if _, err := r.VerifyPeer(chain, leaf.NotAfter.Add(time.Second)); !errors.Is(err, mtls.ErrExpired) {
		t.Errorf("after NotAfter: %v, want ErrExpired", err)
	}
	srv.trust(other)
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.VerifyPeer(chain, time.Now()); !errors.Is(err, mtls.ErrUntrusted) {
		t.Errorf("after the CA was dropped: %v, want ErrUntrusted", err)
	}
}
