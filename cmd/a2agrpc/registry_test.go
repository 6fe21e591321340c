package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/examples/echo"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/registry"
)

// TestRegistryCommand runs `a2agrpc registry` on SQLite, registers an
// agent run by `a2agrpc serve -registry`, finds it by its skill, and sees
// it leave when the agent stops; then restarts the registry and finds a
// registration made before the restart.
func TestRegistryCommand(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "sub", "registry.db")
	lines, stopRegistry, waitRegistry := runInProcess(t, 2, io.Discard,
		"registry", "-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0", "-store", db, "-min-ttl", "1s", "-probe-interval", "200ms")
	addr := regexp.MustCompile(`127\.0\.0\.1:\d+`).FindString(lines[0])
	base := regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindString(lines[1])
	if addr == "" || base == "" {
		t.Fatalf("registry printed %q", lines)
	}
	c, err := registry.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	_, stopAgent := serveInProcess(t, 1, "-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0", "-store", "memory",
		"-registry", addr, "-registry-ttl", "3s")
	found := searchSkill(t, c, "echo")
	if len(found) != 1 || found[0].GetTtl().AsDuration() != 3*time.Second || found[0].GetStatus() != registryv1.AgentStatus_AGENT_STATUS_HEALTHY {
		t.Fatalf("search for the echo skill = %v", found)
	}
	resp, err := http.Get(base + "/v1/agents/" + found[0].GetAgentId())
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("REST get: %v, %v", resp, err)
	}
	resp.Body.Close()
	if err := stopAgent(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, found[0].GetAgentId()); !errors.Is(err, a2agrpc.ErrAgentNotFound) {
		t.Fatalf("after the agent stopped: %v", err)
	}

	mustRegisterCLI(t, c, "survivor")
	stopRegistry()
	if err := waitRegistry(); err != nil {
		t.Fatal(err)
	}
	lines, _, _ = runInProcess(t, 1, io.Discard, "registry", "-grpc-addr", "127.0.0.1:0", "-http-addr", "", "-store", db)
	c2, err := registry.Dial(regexp.MustCompile(`127\.0\.0\.1:\d+`).FindString(lines[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.Get(ctx, "survivor"); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
}

func TestRegistryCommand_badFlags(t *testing.T) {
	for _, args := range [][]string{
		{"registry", "-ttl", "soon"},
		{"registry", "-store", "carrier-pigeon", "-grpc-addr", "127.0.0.1:0", "-http-addr", ""},
		{"registry", "extra"},
	} {
		if code := exitCode(run(context.Background(), args, io.Discard, io.Discard)); code != exitUsage {
			t.Errorf("run(%q) exits %d, want %d", args, code, exitUsage)
		}
	}
}

func searchSkill(t *testing.T, c *registry.Client, skill string) []*registryv1.AgentRegistration {
	t.Helper()
	var out []*registryv1.AgentRegistration
	for r, err := range c.Search(context.Background(), &registryv1.AgentFilter{SkillId: skill}, 0) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func mustRegisterCLI(t *testing.T, c *registry.Client, id string) {
	t.Helper()
	card := echo.Card([]*a2av1.AgentInterface{{Url: "127.0.0.1:1", ProtocolBinding: a2agrpc.BindingGRPC}})
	if _, err := c.Register(context.Background(), &registryv1.RegisterAgentRequest{AgentId: id, Source: &registryv1.RegisterAgentRequest_Card{Card: card}}); err != nil {
		t.Fatal(err)
	}
}
