package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/auth"
	"github.com/a2agrpc/a2agrpc/client"
)

const (
	aliceID   = "spiffe://example.org/agent/alice"
	bobID     = "spiffe://example.org/agent/bob"
	consoleID = "spiffe://example.org/agent/console"
)

// TestRun runs the example as main does and reads its output.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, t.TempDir()); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		`console -> alice "ping"      pong from alice to ` + consoleID + "\n",
		`console -> alice "ping peer" alice asked bob over MESH: pong from bob to ` + aliceID + "\n",
		`console -> bob   "ping peer" bob asked alice over GRPC: pong from alice to ` + bobID + "\n",
		"no certificate -> alice over MESH: refused: UNAUTHENTICATED: ",
		"no certificate -> alice over GRPC: refused: UNAUTHENTICATED: ",
		"no certificate -> alice over HTTP+JSON: refused: UNAUTHENTICATED: ",
		"no certificate -> alice over JSONRPC: refused: UNAUTHENTICATED: ",
		"mallory (another CA) -> alice over GRPC: refused: UNAUTHENTICATED: ",
		"batch (not an agent) -> alice over HTTP+JSON: refused: UNAUTHORIZED: ",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestIdentities checks, over every transport the console can use, that
// each agent reports the identity proven by its caller's certificate —
// the console's, or the other agent's when it calls on the console's
// behalf — and that the cards declare mutual TLS.
func TestIdentities(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p, m := startTestMesh(ctx, t)
	for _, n := range m.nodes() {
		if _, ok := n.agent.Card().GetSecuritySchemes()[auth.SchemeMTLS]; !ok {
			t.Errorf("%s's card declares no mutual TLS scheme: %v", n.name, n.agent.Card().GetSecuritySchemes())
		}
	}
	for _, transport := range []string{client.TransportMesh, client.TransportGRPC, client.TransportREST, client.TransportJSONRPC} {
		t.Run(transport, func(t *testing.T) {
			xs, err := m.converse(ctx, p, transport)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{
				"pong from alice to " + consoleID,
				"alice asked bob over MESH: pong from bob to " + aliceID,
				"bob asked alice over GRPC: pong from alice to " + bobID,
			}
			for i, x := range xs {
				if x.answer != want[i] {
					t.Errorf("%q to %s: %q, want %q", x.said, x.to, x.answer, want[i])
				}
			}
		})
	}
}

// TestStrangers checks that alice refuses, on every binding, a caller
// without a certificate, and refuses certificates of another CA
// (UNAUTHENTICATED) and identities outside the allow-list (PERMISSION_DENIED,
// UNAUTHORIZED in A2A's terms).
func TestStrangers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p, m := startTestMesh(ctx, t)
	rs, err := m.strangers(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 6 {
		t.Fatalf("got %d refusals, want 6: %v", len(rs), rs)
	}
	for _, r := range rs {
		want := a2agrpc.ErrUnauthenticated
		if strings.HasPrefix(r.who, "batch") {
			want = a2agrpc.ErrUnauthorized
		}
		if !errors.Is(r.err, want) {
			t.Errorf("%s over %s: %v, want %s", r.who, r.transport, r.err, want.Reason)
		}
	}
}

// startTestMesh makes the PKI in a test directory and starts the mesh.
func startTestMesh(ctx context.Context, t *testing.T) (*pki, *mesh) {
	t.Helper()
	p, err := makePKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := startMesh(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.shutdown(); err != nil {
			t.Error(err)
		}
	})
	return p, m
}
