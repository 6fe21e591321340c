package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/a2agrpc/a2agrpc/internal/devcert"
	"github.com/a2agrpc/a2agrpc/mtls"
)

// certsList is a flag that may be given several times.
type certsList []string

func (l *certsList) String() string     { return strings.Join(*l, ",") }
func (l *certsList) Set(v string) error { *l = append(*l, v); return nil }

// certsDefaultHosts are always in the server certificate so that the local
// examples work without flags.
var certsDefaultHosts = []string{"localhost", "127.0.0.1", "::1"}

// runCerts writes a development PKI for mutual TLS: a CA, a server
// certificate and one client certificate per -client, each client named by
// a SPIFFE ID. The CA found in the directory is reused, so running it again
// with another -client adds an agent to the same mesh.
func runCerts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("certs", flag.ContinueOnError)
	fset.SetOutput(stderr)
	dir := fset.String("dir", "certs", "directory to write the PEM files to (created with mode 0700)")
	var clients, hosts certsList
	fset.Var(&clients, "client", "issue a client certificate NAME.pem with identity spiffe://<trust-domain>/agent/NAME (repeatable)")
	fset.Var(&hosts, "host", "DNS name or IP address to add to the server certificate besides "+strings.Join(certsDefaultHosts, ", ")+" (repeatable)")
	trustDomain := fset.String("trust-domain", "example.org", "SPIFFE trust domain of the client identities")
	days := fset.Int("days", 365, "validity of new server and client certificates, in days")
	force := fset.Bool("force", false, "replace existing server and client certificates (the CA is always kept)")
	fset.Usage = func() {
		fmt.Fprint(stderr, "Usage: a2agrpc certs [flags]\n\nWrites a development CA, a server certificate and client certificates for mutual TLS. All files are 0600.\n\n")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		return errUsage
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(stderr, "certs: unexpected argument %q\n", fset.Arg(0))
		fset.Usage()
		return errUsage
	}
	if *days < 1 || *days > 100*365 {
		return fmt.Errorf("certs: -days must be between 1 and %d, not %d", 100*365, *days)
	}
	if err := certsCheckTrustDomain(*trustDomain); err != nil {
		return err
	}
	for i, name := range clients {
		if err := certsCheckClientName(name); err != nil {
			return err
		}
		if slices.Contains(clients[:i], name) {
			return fmt.Errorf("certs: -client %q given twice", name)
		}
	}
	dnsNames, ips, err := certsServerNames(hosts)
	if err != nil {
		return err
	}

	// Decide everything before writing anything, so a refusal leaves the
	// directory as it was.
	path := func(name string) string { return filepath.Join(*dir, name) }
	caCert, caKey := path("ca.pem"), path("ca-key.pem")
	ca, caIsNew, err := certsOpenCA(caCert, caKey, *days)
	if err != nil {
		return err
	}
	serverExists, err := certsAnyExists(path("server.pem"), path("server-key.pem"))
	if err != nil {
		return err
	}
	writeServer := !serverExists || *force
	if serverExists && !*force && len(hosts) > 0 {
		return fmt.Errorf("certs: %s exists; add -force to replace it with one for the new -host names", path("server.pem"))
	}
	for _, name := range clients {
		exists, err := certsAnyExists(path(name+".pem"), path(name+"-key.pem"))
		if err != nil {
			return err
		}
		if exists && !*force {
			return fmt.Errorf("certs: %s exists; add -force to replace it", path(name+".pem"))
		}
	}

	now := time.Now()
	notAfter := now.Add(time.Duration(*days) * 24 * time.Hour)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
		fmt.Fprintf(stderr, "certs: note: new certificates end with the CA on %s\n", notAfter.UTC().Format(time.DateOnly))
	}
	if caIsNew {
		if err := devcert.WriteFile(caKey, ca.KeyPEM); err != nil {
			return err
		}
		if err := devcert.WriteFile(caCert, ca.CertPEM); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote CA      %s (key %s)\n", caCert, caKey)
	} else {
		fmt.Fprintf(stdout, "using CA      %s (%q)\n", caCert, ca.Cert.Subject.CommonName)
	}
	issue := func(file string, l devcert.Leaf) (*x509.Certificate, error) {
		l.NotAfter = notAfter
		certPEM, keyPEM, err := ca.Issue(l)
		if err != nil {
			return nil, err
		}
		if err := devcert.WriteFile(path(file+"-key.pem"), keyPEM); err != nil {
			return nil, err
		}
		if err := devcert.WriteFile(path(file+".pem"), certPEM); err != nil {
			return nil, err
		}
		b, _ := pem.Decode(certPEM)
		return x509.ParseCertificate(b.Bytes)
	}
	if writeServer {
		if _, err := issue("server", devcert.Leaf{CommonName: "a2agrpc dev server", DNSNames: dnsNames, IPAddresses: ips, Server: true}); err != nil {
			return err
		}
		var names []string
		names = append(names, dnsNames...)
		for _, ip := range ips {
			names = append(names, ip.String())
		}
		fmt.Fprintf(stdout, "wrote server  %s (key %s) for %s\n", path("server.pem"), path("server-key.pem"), strings.Join(names, ", "))
	} else {
		fmt.Fprintf(stdout, "kept server   %s\n", path("server.pem"))
	}
	for _, name := range clients {
		cert, err := issue(name, devcert.Leaf{
			CommonName: name,
			URIs:       []string{"spiffe://" + *trustDomain + "/agent/" + name},
			Client:     true,
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote client  %s (key %s) identity %s\n", path(name+".pem"), path(name+"-key.pem"), mtls.Identity(cert))
	}
	return nil
}

// certsOpenCA loads the CA in the directory, or makes a new one when
// neither of its files exists. A new CA outlives the leaves asked for.
func certsOpenCA(certPath, keyPath string, days int) (ca *devcert.CA, isNew bool, err error) {
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
		ca, err := devcert.LoadCA(certPEM, keyPEM)
		if err != nil {
			return nil, false, fmt.Errorf("certs: existing CA %s: %w", certPath, err)
		}
		return ca, false, nil
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		notBefore := time.Now().Add(-time.Hour)
		notAfter := notBefore.Add(max(devcert.DefaultCAValidity, time.Duration(days+1)*24*time.Hour))
		ca, err := devcert.NewCA("a2agrpc development CA", notBefore, notAfter)
		return ca, true, err
	case certErr != nil && !errors.Is(certErr, fs.ErrNotExist):
		return nil, false, fmt.Errorf("certs: %w", certErr)
	case keyErr != nil && !errors.Is(keyErr, fs.ErrNotExist):
		return nil, false, fmt.Errorf("certs: %w", keyErr)
	case certErr == nil:
		return nil, false, fmt.Errorf("certs: %s exists without its key %s; restore the key or remove both to start a new CA", certPath, keyPath)
	default:
		return nil, false, fmt.Errorf("certs: %s exists without its certificate %s; restore it or remove both to start a new CA", keyPath, certPath)
	}
}

func certsAnyExists(paths ...string) (bool, error) {
	for _, p := range paths {
		_, err := os.Lstat(p)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("certs: %w", err)
		}
	}
	return false, nil
}

// certsCheckClientName admits names that are safe both as a file name and
// as a SPIFFE path segment, and that cannot collide with the CA's or the
// server's files (or with another client's key file, hence no "-key").
func certsCheckClientName(name string) error {
	if name == "" || name[0] == '.' || name[0] == '-' {
		return fmt.Errorf("certs: client name %q must start with a letter, digit or '_'", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return fmt.Errorf("certs: client name %q may only contain letters, digits, '.', '-' and '_'", name)
		}
	}
	if name == "ca" || name == "server" || strings.HasSuffix(name, "-key") {
		return fmt.Errorf("certs: client name %q would clash with the CA, server or key files", name)
	}
	return nil
}

// certsCheckTrustDomain applies the SPIFFE rule for trust domain names:
// lower-case letters, digits, '.', '-' and '_'.
func certsCheckTrustDomain(td string) error {
	if td == "" {
		return errors.New("certs: -trust-domain is empty")
	}
	for _, r := range td {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return fmt.Errorf("certs: trust domain %q may only contain lower-case letters, digits, '.', '-' and '_'", td)
		}
	}
	return nil
}

// certsServerNames splits the default and -host names into DNS names and
// IP addresses, dropping duplicates.
func certsServerNames(hosts []string) (dnsNames []string, ips []net.IP, err error) {
	seen := map[string]bool{}
	for _, h := range append(slices.Clone(certsDefaultHosts), hosts...) {
		if h == "" || strings.ContainsFunc(h, func(r rune) bool { return r <= ' ' || r > '~' || r == '/' }) {
			return nil, nil, fmt.Errorf("certs: -host %q is not a host name or IP address", h)
		}
		if ip := net.ParseIP(h); ip != nil {
			if !seen[ip.String()] {
				seen[ip.String()] = true
				ips = append(ips, ip)
			}
			continue
		}
		if h = strings.ToLower(h); !seen[h] {
			seen[h] = true
			dnsNames = append(dnsNames, h)
		}
	}
	return dnsNames, ips, nil
}
