package main

import (
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/a2agrpc/a2agrpc/internal/devcert"
	"github.com/a2agrpc/a2agrpc/mtls"
)

// trustDomain prefixes every workload identity of the mesh. The agents
// admit callers whose SPIFFE ID matches allowPattern: any agent of the
// trust domain, nothing else, even with a certificate from the mesh's CA.
const (
	trustDomain  = "spiffe://example.org"
	allowPattern = trustDomain + "/agent/*"
)

// spiffeID is the identity of the agent (or other workload) name.
func spiffeID(kind, name string) string { return trustDomain + "/" + kind + "/" + name }

// pki is the material of the example, as files: what a certificate
// manager (cert-manager, SPIRE, Vault) would hand each workload.
type pki struct {
	ca    string                // the mesh CA's certificate
	certs map[string]mtls.Files // per workload: its certificate and key, and the CA
}

// files are the TLS files of workload name (see [makePKI]).
func (p *pki) files(name string) mtls.Files { return p.certs[name] }

// makePKI writes into dir a development CA for the mesh and certificates
// signed by it:
//   - alice and bob, the agents: each certificate serves (for 127.0.0.1,
//     where the agents listen) and also authenticates its agent as a
//     client when it calls the other one;
//   - console, an agent identity used by the program's own client;
//   - batch, signed by the mesh CA but outside the allowed identities;
//   - mallory, signed by a CA of her own that the mesh does not trust.
func makePKI(dir string) (*pki, error) {
	ca, err := devcert.NewCA("example.org mesh CA", time.Time{}, time.Time{})
	if err != nil {
		return nil, err
	}
	rogue, err := devcert.NewCA("mallory's CA", time.Time{}, time.Time{})
	if err != nil {
		return nil, err
	}
	p := &pki{ca: filepath.Join(dir, "ca.pem"), certs: map[string]mtls.Files{}}
	if err := devcert.WriteFile(p.ca, ca.CertPEM); err != nil {
		return nil, err
	}
	loopback := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	leaves := []struct {
		ca   *devcert.CA
		leaf devcert.Leaf
	}{
		{ca, devcert.Leaf{CommonName: "alice", URIs: []string{spiffeID("agent", "alice")}, IPAddresses: loopback, Server: true, Client: true}},
		{ca, devcert.Leaf{CommonName: "bob", URIs: []string{spiffeID("agent", "bob")}, IPAddresses: loopback, Server: true, Client: true}},
		{ca, devcert.Leaf{CommonName: "console", URIs: []string{spiffeID("agent", "console")}, Client: true}},
		{ca, devcert.Leaf{CommonName: "batch", URIs: []string{spiffeID("batch", "nightly")}, Client: true}},
		{rogue, devcert.Leaf{CommonName: "mallory", URIs: []string{spiffeID("agent", "mallory")}, Client: true}},
	}
	for _, l := range leaves {
		if err := p.issue(dir, l.ca, l.leaf); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// issue signs l with ca and writes its certificate and key (0600) to dir.
func (p *pki) issue(dir string, ca *devcert.CA, l devcert.Leaf) error {
	certPEM, keyPEM, err := ca.Issue(l)
	if err != nil {
		return fmt.Errorf("issuing %s: %w", l.CommonName, err)
	}
	f := mtls.Files{
		Cert: filepath.Join(dir, l.CommonName+".pem"),
		Key:  filepath.Join(dir, l.CommonName+"-key.pem"),
		CA:   p.ca, // everyone verifies the agents against the mesh CA
	}
	if err := devcert.WriteFile(f.Cert, certPEM); err != nil {
		return err
	}
	if err := devcert.WriteFile(f.Key, keyPEM); err != nil {
		return err
	}
	p.certs[l.CommonName] = f
	return nil
}
