package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/cardsign"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// TestServeSecured runs the README's mTLS setup end to end: `certs` makes
// the PKI, `apikey` a key, and `serve` enforces both and publishes a
// signed card that says so.
func TestServeSecured(t *testing.T) {
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs")
	if err := run(context.Background(), []string{"certs", "-dir", certs, "-client", "alice"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	keyFile, apiKey := newAPIKey(t, dir, "ci-robot")
	signKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(signKey)
	if err != nil {
		t.Fatal(err)
	}
	signFile := filepath.Join(dir, "card-key.pem")
	if err := os.WriteFile(signFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}

	extendedFile := filepath.Join(dir, "extended.json")
	if err := os.WriteFile(extendedFile, []byte(`{"name":"a2agrpc echo","description":"for members only","version":"1.0.0",
		"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],
		"skills":[{"id":"echo","name":"Echo","description":"echoes","tags":["echo"]},{"id":"vip","name":"VIP","description":"members' skill","tags":["vip"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	lines, stop := serveInProcess(t, 2, "-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0", "-store", "memory",
		"-tls-cert", filepath.Join(certs, "server.pem"), "-tls-key", filepath.Join(certs, "server-key.pem"),
		"-client-ca", filepath.Join(certs, "ca.pem"), "-allow", "spiffe://example.org/agent/*",
		"-api-keys", keyFile, "-card-sign-key", signFile, "-card-sign-kid", "card-2026", "-extended-card", extendedFile)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	var grpcAddr, httpBase string
	if m := regexp.MustCompile(`gRPC (127\.0\.0\.1:\d+)`).FindStringSubmatch(lines[0]); m != nil {
		grpcAddr = m[1]
	}
	httpBase = regexp.MustCompile(`https?://127\.0\.0\.1:\d+`).FindString(lines[1])
	if grpcAddr == "" || httpBase == "" {
		t.Fatalf("serve did not print its addresses: %q", lines)
	}
	httpBase = strings.Replace(httpBase, "http://", "https://", 1)

	caPEM, err := os.ReadFile(filepath.Join(certs, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	alice, err := tls.LoadX509KeyPair(filepath.Join(certs, "alice.pem"), filepath.Join(certs, "alice-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	tlsFor := func(certs ...tls.Certificate) *tls.Config {
		return &tls.Config{RootCAs: roots, Certificates: certs, ServerName: "127.0.0.1"}
	}

	// The card: public, advertising https and what is enforced, signed.
	anon := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsFor()}}
	resp, err := anon.Get(httpBase + "/.well-known/agent-card.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("card: HTTP %d: %s", resp.StatusCode, raw)
	}
	var card a2av1.AgentCard
	if err := protojson.Unmarshal(raw, &card); err != nil {
		t.Fatal(err)
	}
	for _, iface := range card.GetSupportedInterfaces() {
		if iface.GetProtocolBinding() != a2agrpc.BindingGRPC && !strings.HasPrefix(iface.GetUrl(), "https://") {
			t.Errorf("interface %s advertised without TLS: %s", iface.GetProtocolBinding(), iface.GetUrl())
		}
	}
	if card.GetSecuritySchemes()["mtls"] == nil || card.GetSecuritySchemes()["apiKey"] == nil || len(card.GetSecurityRequirements()) != 1 {
		t.Errorf("card security = %v / %v", card.GetSecuritySchemes(), card.GetSecurityRequirements())
	}
	keys := cardsign.NewKeySet()
	if err := keys.Add("card-2026", &signKey.PublicKey); err != nil {
		t.Fatal(err)
	}
	if kid, err := cardsign.Verify(&card, keys); err != nil || kid != "card-2026" {
		t.Fatalf("card signature: kid %q, %v", kid, err)
	}
	if !card.GetCapabilities().GetExtendedAgentCard() {
		t.Error("the public card does not declare the extended card")
	}
	public := proto.Clone(&card).(*a2av1.AgentCard)
	card.Name += " (evil twin)"
	if _, err := cardsign.Verify(&card, keys); !errors.Is(err, cardsign.ErrInvalidSignature) {
		t.Errorf("tampered card verified: %v", err)
	}

	// gRPC: no certificate → UNAUTHENTICATED; certificate and key → served.
	call := func(cfg *tls.Config, key string) error {
		conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if key != "" {
			cctx = metadata.AppendToOutgoingContext(cctx, "x-api-key", key)
		}
		_, err = a2av1.NewA2AServiceClient(conn).ListTasks(cctx, &a2av1.ListTasksRequest{})
		return err
	}
	if err := call(tlsFor(), apiKey); status.Code(err) != codes.Unauthenticated {
		t.Errorf("no client certificate: %v", err)
	}
	if err := call(tlsFor(alice), ""); status.Code(err) != codes.Unauthenticated {
		t.Errorf("no API key: %v", err)
	}
	if err := call(tlsFor(alice), apiKey); err != nil {
		t.Errorf("certificate and key: %v", err)
	}

	// REST: the same rules, with a challenge on 401.
	authed := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsFor(alice)}}
	resp, err = authed.Get(httpBase + "/tasks")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("REST without key: HTTP %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	req, _ := http.NewRequest(http.MethodGet, httpBase+"/tasks", nil)
	req.Header.Set("X-API-Key", apiKey)
	resp, err = authed.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("REST with certificate and key: HTTP %d", resp.StatusCode)
	}

	// The extended card: to authenticated callers only, finished like the
	// public one (interfaces, security schemes) and signed by the same key.
	if resp, err := authed.Get(httpBase + "/extendedAgentCard"); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("extended card without a key: HTTP %d", resp.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodGet, httpBase+"/extendedAgentCard", nil)
	req.Header.Set("X-API-Key", apiKey)
	resp, err = authed.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	var extended a2av1.AgentCard
	if resp.StatusCode != http.StatusOK || protojson.Unmarshal(raw, &extended) != nil {
		t.Fatalf("extended card: HTTP %d: %s", resp.StatusCode, raw)
	}
	if extended.GetDescription() != "for members only" || len(extended.GetSkills()) != 2 {
		t.Errorf("extended card is not the configured one: %s", raw)
	}
	if !proto.Equal(&a2av1.AgentCard{SupportedInterfaces: extended.GetSupportedInterfaces(), SecuritySchemes: extended.GetSecuritySchemes(), SecurityRequirements: extended.GetSecurityRequirements()},
		&a2av1.AgentCard{SupportedInterfaces: public.GetSupportedInterfaces(), SecuritySchemes: public.GetSecuritySchemes(), SecurityRequirements: public.GetSecurityRequirements()}) {
		t.Errorf("extended card interfaces/security differ from the public card's:\n%s", raw)
	}
	if kid, err := cardsign.Verify(&extended, keys); err != nil || kid != "card-2026" {
		t.Errorf("extended card signature: kid %q, %v", kid, err)
	}
}

// newAPIKey creates an API key for name with the apikey command, in a key
// file under dir; it returns the file and the key.
func newAPIKey(t *testing.T, dir, name string) (file, key string) {
	t.Helper()
	file = filepath.Join(dir, "api-keys")
	var out strings.Builder
	if err := run(context.Background(), []string{"apikey", "-file", file, name}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	key = regexp.MustCompile(`a2a_[A-Za-z0-9_-]+`).FindString(out.String())
	if key == "" {
		t.Fatalf("no key in %q", out.String())
	}
	return file, key
}

// TestServeSecurityFlagErrors: inconsistent security flags stop serve
// before it listens, saying what is missing.
func TestServeSecurityFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-jwt-keys", "k.pem", "-jwt-audience", "a2a://x"}, "-jwt-issuer is required"},
		{[]string{"-jwt-jwks-url", "https://idp.example/jwks", "-jwt-audience", "a2a://x"}, "-jwt-issuer is required"},
		{[]string{"-tls-cert", "c.pem"}, "-tls-cert and -tls-key go together"},
		{[]string{"-client-ca", "ca.pem"}, "-client-ca needs -tls-cert"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			args := append([]string{"serve", "-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0", "-store", "memory"}, tt.args...)
			err := run(context.Background(), args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("serve %q: %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}
