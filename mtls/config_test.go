package mtls_test

import (
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc/internal/devcert"
	"github.com/a2agrpc/a2agrpc/mtls"
)

// mesh is a server and the reloaders its clients build configs from.
type mesh struct {
	ca, other *devcert.CA
	srv       identityFiles
	srvR      *mtls.Reloader
}

func newMesh(t *testing.T) *mesh {
	t.Helper()
	m := &mesh{ca: newCA(t, "mesh CA"), other: newCA(t, "other CA")}
	m.srv = writeIdentity(t, m.ca, serverLeaf(), m.ca)
	m.srvR = newReloader(t, m.srv.Files)
	return m
}

// client returns a client config with a leaf from ca, trusting the mesh CA.
func (m *mesh) client(t *testing.T, ca *devcert.CA, l devcert.Leaf, serverName string) *tls.Config {
	t.Helper()
	f := writeIdentity(t, ca, l, m.ca)
	return mtls.ClientConfig(newReloader(t, f.Files), serverName)
}

// anonymous returns a client config without a certificate.
func (m *mesh) anonymous(t *testing.T, serverName string) *tls.Config {
	t.Helper()
	f := writeIdentity(t, m.ca, serverLeaf(), m.ca)
	return mtls.ClientConfig(newReloader(t, mtls.Files{CA: f.CA}), serverName)
}

func TestServerConfigRequestsClientCert(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	cfg := mtls.ServerConfig(m.srvR)
	if cfg.ClientAuth != tls.RequestClientCert || cfg.MinVersion != tls.VersionTLS12 {
		t.Fatalf("ClientAuth=%v MinVersion=%x", cfg.ClientAuth, cfg.MinVersion)
	}
	addr, seen := serve(t, cfg)

	tests := []struct {
		name    string
		cfg     *tls.Config
		want    string
		wantErr error
	}{
		{"valid_client", m.client(t, m.ca, clientLeaf("alice"), "localhost"), "spiffe://example.org/agent/alice", nil},
		// The handshake lets these through; VerifyPeer turns them away.
		{"no_certificate", m.anonymous(t, "localhost"), "", mtls.ErrNoCertificate},
		{"other_ca", m.client(t, m.other, clientLeaf("mallory"), "localhost"), "", mtls.ErrUntrusted},
		{"server_only_usage", m.client(t, m.ca, serverLeaf(), "localhost"), "", mtls.ErrUntrusted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := dial(addr, tt.cfg); err != nil {
				t.Fatalf("handshake failed: %v", err)
			}
			h := next(t, seen)
			if h.err != nil {
				t.Fatalf("server handshake: %v", h.err)
			}
			id, err := m.srvR.VerifyPeer(h.state.PeerCertificates, time.Now())
			if id != tt.want || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("VerifyPeer = %q, %v; want %q, %v", id, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestServerConfigProtocols(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	addr, seen := serve(t, mtls.ServerConfig(m.srvR))
	client := func(mod func(*tls.Config)) *tls.Config {
		c := m.client(t, m.ca, clientLeaf("alice"), "localhost")
		mod(c)
		return c
	}
	t.Run("tls13_and_h2", func(t *testing.T) {
		st, err := dial(addr, client(func(c *tls.Config) { c.NextProtos = []string{"h2", "http/1.1"} }))
		next(t, seen)
		if err != nil {
			t.Fatal(err)
		}
		if st.Version != tls.VersionTLS13 || st.NegotiatedProtocol != "h2" {
			t.Errorf("version %x, ALPN %q; want TLS 1.3, h2", st.Version, st.NegotiatedProtocol)
		}
	})
	t.Run("tls12_aead", func(t *testing.T) {
		st, err := dial(addr, client(func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.NextProtos = []string{"http/1.1"}
		}))
		next(t, seen)
		if err != nil {
			t.Fatal(err)
		}
		if st.Version != tls.VersionTLS12 || st.NegotiatedProtocol != "http/1.1" {
			t.Errorf("version %x, ALPN %q", st.Version, st.NegotiatedProtocol)
		}
		if name := tls.CipherSuiteName(st.CipherSuite); !strings.Contains(name, "ECDHE") || !(strings.Contains(name, "GCM") || strings.Contains(name, "CHACHA20")) {
			t.Errorf("TLS 1.2 suite %s is not ECDHE+AEAD", name)
		}
	})
	for name, mod := range map[string]func(*tls.Config){
		"tls12_cbc_only": func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}
		},
		"tls11": func(c *tls.Config) {
			c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := dial(addr, client(mod))
			if h := next(t, seen); h.err == nil || err == nil {
				t.Errorf("handshake succeeded (client %v, server %v)", err, h.err)
			}
		})
	}
}

func TestServerConfigWithoutCABundle(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "mesh CA")
	srv := writeIdentity(t, ca, serverLeaf()) // no CA file: no client auth
	cfg := mtls.ServerConfig(newReloader(t, srv.Files))
	if cfg.ClientAuth != tls.NoClientCert {
		t.Fatalf("ClientAuth = %v, want NoClientCert", cfg.ClientAuth)
	}
	addr, seen := serve(t, cfg)
	cli := writeIdentity(t, ca, clientLeaf("alice"), ca)
	if _, err := dial(addr, mtls.ClientConfig(newReloader(t, cli.Files), "localhost")); err != nil {
		t.Fatal(err)
	}
	if h := next(t, seen); h.err != nil || len(h.state.PeerCertificates) != 0 {
		t.Errorf("server got %d client certificates, err %v; want none", len(h.state.PeerCertificates), h.err)
	}
}

func TestServerConfigStrict(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	addr, seen := serve(t, mtls.ServerConfigStrict(m.srvR))

	valid := m.client(t, m.ca, clientLeaf("alice"), "localhost")
	st, err := dial(addr, valid)
	if h := next(t, seen); err != nil || h.err != nil {
		t.Fatalf("valid client refused: client %v, server %v", err, h.err)
	}
	if st.Version != tls.VersionTLS13 {
		t.Errorf("version %x", st.Version)
	}
	for name, cfg := range map[string]*tls.Config{
		"no_certificate":    m.anonymous(t, "localhost"),
		"other_ca":          m.client(t, m.other, clientLeaf("mallory"), "localhost"),
		"server_only_usage": m.client(t, m.ca, serverLeaf(), "localhost"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := dial(addr, cfg)
			if h := next(t, seen); h.err == nil || err == nil {
				t.Errorf("strict server accepted the client (client %v, server %v)", err, h.err)
			}
		})
	}

	// After the server's CA bundle is replaced, the next handshake uses
	// the new pool: old clients are refused, clients of the new CA pass.
	newCA := newCA(t, "new mesh CA")
	m.srv.trust(newCA)
	if err := m.srvR.Reload(); err != nil {
		t.Fatal(err)
	}
	_, err = dial(addr, valid)
	if h := next(t, seen); h.err == nil || err == nil {
		t.Errorf("client of the replaced CA accepted (client %v, server %v)", err, h.err)
	}
	if _, err := dial(addr, m.client(t, newCA, clientLeaf("bob"), "localhost")); err != nil {
		t.Errorf("client of the new CA refused: %v", err)
	}
	next(t, seen)
}

func TestServerConfigStrictWithoutCABundleRefusesAll(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "mesh CA")
	srv := writeIdentity(t, ca, serverLeaf())
	addr, seen := serve(t, mtls.ServerConfigStrict(newReloader(t, srv.Files)))
	cli := writeIdentity(t, ca, clientLeaf("alice"), ca)
	_, err := dial(addr, mtls.ClientConfig(newReloader(t, cli.Files), "localhost"))
	if h := next(t, seen); err == nil || h.err == nil {
		t.Errorf("strict server without CA accepted a client (client %v, server %v)", err, h.err)
	}
}

func TestClientConfigVerifiesServer(t *testing.T) {
	t.Parallel()
	ca, other := newCA(t, "mesh CA"), newCA(t, "other CA")
	servers := map[string]devcert.Leaf{
		"good":        serverLeaf(),
		"client_only": {CommonName: "server", DNSNames: []string{"localhost"}, Client: true},
	}
	addrs := map[string]string{}
	for name, l := range servers {
		f := writeIdentity(t, ca, l, ca)
		addrs[name], _ = serve(t, mtls.ServerConfig(newReloader(t, f.Files)))
	}
	f := writeIdentity(t, other, serverLeaf(), ca)
	addrs["other_ca"], _ = serve(t, mtls.ServerConfig(newReloader(t, f.Files)))

	cli := writeIdentity(t, ca, clientLeaf("alice"), ca)
	r := newReloader(t, cli.Files)
	tests := []struct {
		name, server, serverName string
		ok                       bool
	}{
		{"dns_name", "good", "localhost", true},
		{"ip_address", "good", "127.0.0.1", true},
		{"wrong_name", "good", "other.example", false},
		{"other_ca", "other_ca", "localhost", false},
		{"server_without_server_usage", "client_only", "localhost", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mtls.ClientConfig(r, tt.serverName)
			if cfg.MinVersion != tls.VersionTLS12 {
				t.Errorf("MinVersion = %x", cfg.MinVersion)
			}
			_, err := dial(addrs[tt.server], cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("dial error = %v, want success %v", err, tt.ok)
			}
			if !tt.ok && !strings.Contains(err.Error(), "mtls: server certificate") {
				t.Errorf("error %q does not come from the server verification", err)
			}
		})
	}

	// An empty serverName falls back to the name dialled (sent in SNI)…
	_, port, _ := net.SplitHostPort(addrs["good"])
	if _, err := dial(net.JoinHostPort("localhost", port), mtls.ClientConfig(r, "")); err != nil {
		t.Errorf("dial localhost with empty serverName: %v", err)
	}
	// …and is refused when there is no name at all, never left unchecked.
	if _, err := dial(addrs["good"], mtls.ClientConfig(r, "")); err == nil {
		t.Error("dial by IP with empty serverName succeeded without a name check")
	}
}
