package mtls

import (
	"crypto/x509"
	"strings"
)

// Identity names the holder of cert for authorization and task ownership.
// It prefers the most specific, machine-assigned name:
//
//  1. the spiffe:// URI SAN (the SPIFFE ID, the mesh's workload identity);
//     a certificate with several SPIFFE IDs names nobody, as a valid SVID
//     carries exactly one;
//  2. otherwise the first URI SAN;
//  3. otherwise the first DNS SAN;
//  4. otherwise the subject common name, but only when the certificate has
//     no SAN at all (older certificates).
//
// A DNS SAN or common name is a host-like name: one containing ':' or '/'
// names nobody. Without that rule a certificate whose requester chose the
// CN "spiffe://example.org/agent/billing" (many CAs let requesters pick the
// CN) would take over the billing workload's identity and its tasks.
//
// It returns "" for a nil certificate or one that names nobody. Identity
// does not verify anything; use it on a verified chain (see
// [Reloader.VerifyPeer]).
func Identity(cert *x509.Certificate) string {
	if cert == nil {
		return ""
	}
	spiffe := ""
	for _, u := range cert.URIs {
		if u != nil && strings.EqualFold(u.Scheme, "spiffe") {
			if spiffe != "" {
				return ""
			}
			spiffe = u.String()
		}
	}
	if spiffe != "" {
		return spiffe
	}
	for _, u := range cert.URIs {
		if u != nil {
			if s := u.String(); s != "" {
				return s
			}
		}
	}
	for _, d := range cert.DNSNames {
		if d != "" {
			return hostLike(d)
		}
	}
	if len(cert.URIs) > 0 || len(cert.DNSNames) > 0 || len(cert.IPAddresses) > 0 || len(cert.EmailAddresses) > 0 {
		return ""
	}
	return hostLike(cert.Subject.CommonName)
}

// hostLike returns name if it cannot be mistaken for a URI identity.
func hostLike(name string) string {
	if strings.ContainsAny(name, ":/") {
		return ""
	}
	return name
}
