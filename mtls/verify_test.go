package mtls_test

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc/internal/devcert"
	"github.com/a2agrpc/a2agrpc/mtls"
)

func TestVerifyPeer(t *testing.T) {
	t.Parallel()
	ca, other := newCA(t, "mesh CA"), newCA(t, "other CA")
	srv := writeIdentity(t, ca, serverLeaf(), ca)
	r := newReloader(t, srv.Files)
	now := time.Now()

	valid := issue(t, ca, clientLeaf("alice"))
	tests := []struct {
		name    string
		chain   []*x509.Certificate
		at      time.Time
		want    string
		wantErr error
		wantMsg string
	}{
		{name: "valid", chain: []*x509.Certificate{valid}, at: now, want: "spiffe://example.org/agent/alice"},
		{name: "valid_dns_identity", chain: []*x509.Certificate{issue(t, ca, devcert.Leaf{CommonName: "x", DNSNames: []string{"b.mesh.local"}, Client: true})}, at: now, want: "b.mesh.local"},
		{name: "server_and_client_usage", chain: []*x509.Certificate{issue(t, ca, devcert.Leaf{CommonName: "peer", Server: true, Client: true})}, at: now, want: "peer"},
		{name: "no_certificate", chain: nil, at: now, wantErr: mtls.ErrNoCertificate},
		{name: "other_ca", chain: []*x509.Certificate{issue(t, other, clientLeaf("mallory"))}, at: now,
			wantErr: mtls.ErrUntrusted, wantMsg: "not signed by a trusted CA"},
		{name: "expired", at: now, wantErr: mtls.ErrExpired, wantMsg: "expired at",
			chain: []*x509.Certificate{issue(t, ca, devcert.Leaf{CommonName: "old", Client: true, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)})}},
		{name: "not_yet_valid", at: now, wantErr: mtls.ErrExpired, wantMsg: "not valid before",
			chain: []*x509.Certificate{issue(t, ca, devcert.Leaf{CommonName: "future", Client: true, NotBefore: now.Add(time.Hour), NotAfter: now.Add(48 * time.Hour)})}},
		{name: "expired_at_given_time", chain: []*x509.Certificate{valid}, at: now.Add(devcert.DefaultLeafValidity + time.Hour),
			wantErr: mtls.ErrExpired, wantMsg: "expired at"},
		{name: "server_only_usage", chain: []*x509.Certificate{issue(t, ca, serverLeaf())}, at: now,
			wantErr: mtls.ErrUntrusted, wantMsg: "not valid for client authentication"},
		{name: "no_identity", chain: []*x509.Certificate{issue(t, ca, devcert.Leaf{Client: true})}, at: now, wantErr: mtls.ErrNoIdentity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.VerifyPeer(tt.chain, tt.at)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("VerifyPeer error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("identity = %q, want %q", got, tt.want)
			}
			t.Logf("error: %v", err)
			if err != nil && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}

	// The sentinels are distinct, and the x509 cause stays reachable.
	_, err := r.VerifyPeer([]*x509.Certificate{issue(t, other, clientLeaf("m"))}, now)
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &ua) || errors.Is(err, mtls.ErrExpired) || errors.Is(err, mtls.ErrNoCertificate) {
		t.Errorf("untrusted error %v: wraps UnknownAuthorityError=%v", err, errors.As(err, &ua))
	}
}

func TestVerifyPeerWithoutCABundle(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "mesh CA")
	f := writeIdentity(t, ca, serverLeaf()) // no CA file
	r := newReloader(t, f.Files)
	_, err := r.VerifyPeer([]*x509.Certificate{issue(t, ca, clientLeaf("alice"))}, time.Now())
	if !errors.Is(err, mtls.ErrUntrusted) {
		t.Fatalf("VerifyPeer without a CA bundle = %v, want ErrUntrusted", err)
	}
	if r.CAPool() != nil {
		t.Error("CAPool() is not nil without a CA bundle")
	}
}
