package registry_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/auth"
	"github.com/a2agrpc/a2agrpc/registry"
)

// apiKeyAuth authenticates the API keys of the named principals and
// returns each one's key.
func apiKeyAuth(t *testing.T, names ...string) (*auth.Authenticator, map[string]string) {
	t.Helper()
	var file strings.Builder
	keys := map[string]string{}
	for _, n := range names {
		k, err := auth.NewAPIKey()
		if err != nil {
			t.Fatal(err)
		}
		keys[n] = k
		fmt.Fprintf(&file, "%s %s\n", n, auth.HashAPIKey(k))
	}
	parsed, err := auth.ParseAPIKeys(strings.NewReader(file.String()))
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Config{APIKeys: parsed})
	if err != nil {
		t.Fatal(err)
	}
	return a, keys
}

func TestOwnerIsolation(t *testing.T) {
	authn, keys := apiKeyAuth(t, "alice", "bob")
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, _ := startRegistry(t, registry.Config{Auth: authn, Logger: logger})
	alice := dial(t, srv.Addr(), registry.WithAPIKey("", keys["alice"]))
	bob := dial(t, srv.Addr(), registry.WithAPIKey("X-API-Key", keys["bob"]))
	anon := dial(t, srv.Addr())
	ctx := context.Background()

	reg := mustRegister(t, alice, byCard("a1", testCard("a1", "127.0.0.1:7701"), 0))
	if reg.GetOwner() != "apikey:alice" {
		t.Fatalf("owner = %q", reg.GetOwner())
	}
	_, err := bob.Heartbeat(ctx, "a1")
	wantReason(t, err, a2agrpc.ReasonUnauthorized)
	wantReason(t, bob.Deregister(ctx, "a1"), a2agrpc.ReasonUnauthorized)
	_, err = bob.Register(ctx, byCard("a1", testCard("hijack", "127.0.0.1:6666"), 0))
	wantReason(t, err, a2agrpc.ReasonUnauthorized)
	// Reads are open to every authenticated caller.
	if got, err := bob.Get(ctx, "a1"); err != nil || got.GetCard().GetName() != "a1" {
		t.Fatalf("bob's Get = %v, %v", got, err)
	}
	if got := search(t, bob, nil, 0); len(got) != 1 {
		t.Fatalf("bob's search = %v", got)
	}
	// Unauthenticated callers get nothing, health excepted.
	_, err = anon.Get(ctx, "a1")
	wantReason(t, err, a2agrpc.ReasonUnauthenticated)
	for _, err := range anon.Watch(ctx, nil) {
		wantReason(t, err, a2agrpc.ReasonUnauthenticated)
		break
	}
	conn := dialConn(t, srv.Addr())
	if resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, %v", resp, err)
	}
	// The owner keeps every right.
	if _, err := alice.Heartbeat(ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Deregister(ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	// Once gone, the id is anyone's.
	if reg := mustRegister(t, bob, byCard("a1", testCard("b1", "127.0.0.1:7702"), 0)); reg.GetOwner() != "apikey:bob" {
		t.Fatalf("owner = %q", reg.GetOwner())
	}
}
