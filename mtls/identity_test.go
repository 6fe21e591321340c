package mtls_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc/internal/devcert"
	"github.com/a2agrpc/a2agrpc/mtls"
)

func TestIdentity(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "identity CA")
	tests := []struct {
		name string
		leaf devcert.Leaf
		want string
	}{
		{"spiffe_wins_over_earlier_uri",
			devcert.Leaf{CommonName: "cn", DNSNames: []string{"a.mesh.local"}, URIs: []string{"https://example.org/x", "spiffe://example.org/agent/a"}},
			"spiffe://example.org/agent/a"},
		{"two_spiffe_ids_name_nobody",
			devcert.Leaf{URIs: []string{"spiffe://example.org/agent/a", "spiffe://example.org/agent/b"}},
			""},
		{"cn_posing_as_spiffe_id",
			devcert.Leaf{CommonName: "spiffe://example.org/agent/a"},
			""},
		{"dns_posing_as_uri",
			devcert.Leaf{DNSNames: []string{"spiffe://example.org/agent/a"}},
			""},
		{"cn_ignored_when_there_are_sans",
			devcert.Leaf{CommonName: "alice", IPAddresses: []net.IP{net.IPv4(10, 0, 0, 1)}},
			""},
		{"other_uri_before_dns",
			devcert.Leaf{CommonName: "cn", DNSNames: []string{"a.mesh.local"}, URIs: []string{"urn:agent:a", "https://example.org/x"}},
			"urn:agent:a"},
		{"dns_before_cn",
			devcert.Leaf{CommonName: "cn", DNSNames: []string{"a.mesh.local", "b.mesh.local"}},
			"a.mesh.local"},
		{"cn_last",
			devcert.Leaf{CommonName: "alice"},
			"alice"},
		{"nothing",
			devcert.Leaf{},
			""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.leaf.Client = true
			if got := mtls.Identity(issue(t, ca, tt.leaf)); got != tt.want {
				t.Errorf("Identity = %q, want %q", got, tt.want)
			}
		})
	}
	if got := mtls.Identity(nil); got != "" {
		t.Errorf("Identity(nil) = %q", got)
	}
}

// FuzzIdentity puts fuzzed names into a real certificate and checks that
// Identity never panics and answers with one of those names, or "".
func FuzzIdentity(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("spiffe://example.org/agent/a", "https://example.org/", "a.mesh.local", "alice")
	f.Add("", "urn:x", "", "")
	f.Add("", "", "", "")
	f.Add("SPIFFE://Example.org/a", "spiffe://x/y", "*.mesh.local", "é")
	f.Fuzz(func(t *testing.T, uri1, uri2, dns, cn string) {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    time.Unix(0, 0),
			NotAfter:     time.Unix(1e9, 0),
		}
		if dns != "" {
			tmpl.DNSNames = []string{dns}
		}
		for _, s := range []string{uri1, uri2} {
			if u, err := url.Parse(s); err == nil && s != "" {
				tmpl.URIs = append(tmpl.URIs, u)
			}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return // not encodable: nothing to identify
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return // x509 rejects some names it can encode
		}
		got := mtls.Identity(cert)
		allowed := []string{"", dns, cn}
		for _, u := range tmpl.URIs {
			allowed = append(allowed, u.String())
		}
		if !slices.Contains(allowed, got) {
			t.Fatalf("Identity = %q, not one of %q", got, allowed)
		}
		// A single SPIFFE ID, when present, always wins; several name
		// nobody.
		var ids []string
		for _, u := range cert.URIs {
			if strings.EqualFold(u.Scheme, "spiffe") {
				ids = append(ids, u.String())
			}
		}
		if len(ids) == 1 && got != ids[0] {
			t.Fatalf("Identity = %q although the certificate has SPIFFE ID %q", got, ids[0])
		}
		if len(ids) > 1 && got != "" {
			t.Fatalf("Identity = %q for a certificate with SPIFFE IDs %q", got, ids)
		}
		// A name from the DNS SAN or CN never looks like a URI.
		if got != "" && (got == dns || got == cn) && strings.ContainsAny(got, ":/") && !slices.ContainsFunc(cert.URIs, func(u *url.URL) bool { return u.String() == got }) {
			t.Fatalf("Identity = %q: a host-like name that looks like a URI", got)
		}
	})
}
