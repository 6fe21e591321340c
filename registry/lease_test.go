package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/a2agrpc/a2agrpc"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/registry"
	"github.com/a2agrpc/a2agrpc/server/host"
)

func TestHeartbeatRenewsAndSilenceExpires(t *testing.T) {
	_, c := startRegistry(t, registry.Config{})
	ctx := context.Background()
	w := watch(t, c, nil)
	if ev := w.next(t); ev.GetType() != registryv1.WatchEventType_WATCH_EVENT_TYPE_SYNCED {
		t.Fatalf("first event of an empty registry = %v", ev)
	}
	reg := mustRegister(t, c, byCard("beat", testCard("beat", "127.0.0.1:7101"), 2*time.Second))
	time.Sleep(500 * time.Millisecond)
	renewed, err := c.Heartbeat(ctx, "beat")
	if err != nil {
		t.Fatal(err)
	}
	if !renewed.GetExpireTime().AsTime().After(reg.GetExpireTime().AsTime()) || renewed.GetRevision() <= reg.GetRevision() ||
		!renewed.GetRegisterTime().AsTime().Equal(reg.GetRegisterTime().AsTime()) {
		t.Fatalf("heartbeat: %v, registration: %v", renewed, reg)
	}
	// Heartbeats keep it past its first lease ...
	for range 6 {
		time.Sleep(500 * time.Millisecond)
		if _, err := c.Heartbeat(ctx, "beat"); err != nil {
			t.Fatalf("heartbeat: %v", err)
		}
	}
	// ... silence lets it expire, and watchers are told.
	start := time.Now()
	ev := w.expect(t, registryv1.WatchEventType_WATCH_EVENT_TYPE_REMOVED, "beat")
	if ev.GetReason() != "expired" {
		t.Fatalf("REMOVED reason = %q", ev.GetReason())
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("expired %v after the last heartbeat, before its 2 s lease", d)
	}
	_, err = c.Heartbeat(ctx, "beat")
	wantReason(t, err, a2agrpc.ReasonAgentNotFound)
	_, err = c.Get(ctx, "beat")
	wantReason(t, err, a2agrpc.ReasonAgentNotFound)
	if got := search(t, c, nil, 0); len(got) != 0 {
		t.Fatalf("search after expiry = %v", got)
	}
}

func TestDeregister(t *testing.T) {
	_, c := startRegistry(t, registry.Config{})
	ctx := context.Background()
	mustRegister(t, c, byCard("gone", testCard("gone", "127.0.0.1:7102"), 0))
	if err := c.Deregister(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	wantReason(t, c.Deregister(ctx, "gone"), a2agrpc.ReasonAgentNotFound)
	if got := search(t, c, nil, 0); len(got) != 0 {
		t.Fatalf("search after deregistration = %v", got)
	}
}

// An agent registered by URL is kept alive by probes while it answers; once
// killed it turns UNHEALTHY (left out of searches) and then expires.
func TestProbesFindKilledAgent(t *testing.T) {
	_, c := startRegistry(t, registry.Config{Options: fast(registry.WithProbes(100*time.Millisecond, time.Second))})
	ctx := context.Background()
	agent := startAgent(t, host.Config{})
	reg := mustRegister(t, c, &registryv1.RegisterAgentRequest{AgentId: "probed", Ttl: durationpb.New(time.Second),
		Source: &registryv1.RegisterAgentRequest_CardUrl{CardUrl: agent.URL()}})
	w := watch(t, c, &registryv1.AgentFilter{IncludeUnhealthy: true})
	w.expect(t, registryv1.WatchEventType_WATCH_EVENT_TYPE_ADDED, "probed")
	// Probes renew the lease of an agent that cannot heartbeat.
	time.Sleep(1500 * time.Millisecond)
	live, err := c.Get(ctx, "probed")
	if err != nil {
		t.Fatalf("a healthy agent registered by URL expired: %v", err)
	}
	if !live.GetExpireTime().AsTime().After(reg.GetExpireTime().AsTime()) || live.GetStatus() != registryv1.AgentStatus_AGENT_STATUS_HEALTHY {
		t.Fatalf("after probes: %v", live)
	}

	sctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := agent.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	for {
		ev := w.expect(t, registryv1.WatchEventType_WATCH_EVENT_TYPE_UPDATED, "probed")
		if ev.GetAgent().GetStatus() == registryv1.AgentStatus_AGENT_STATUS_UNHEALTHY {
			break
		}
	}
	if got := search(t, c, nil, 0); len(got) != 0 {
		t.Fatalf("search finds the dead agent: %v", got)
	}
	if got := search(t, c, &registryv1.AgentFilter{IncludeUnhealthy: true}, 0); len(got) != 1 {
		t.Fatalf("search with include_unhealthy = %v", got)
	}
	if ev := w.expect(t, registryv1.WatchEventType_WATCH_EVENT_TYPE_REMOVED, "probed"); ev.GetReason() != "expired" {
		t.Fatalf("REMOVED reason = %q", ev.GetReason())
	}
}

// A probe that fails overrides heartbeats: the agent says it is alive, but
// the registry cannot reach it, so callers could not either.
func TestProbeFailureOutlivesHeartbeat(t *testing.T) {
	_, c := startRegistry(t, registry.Config{Options: fast(registry.WithProbes(50*time.Millisecond, 500*time.Millisecond))})
	ctx := context.Background()
	mustRegister(t, c, byCard("unreachable", testCard("unreachable", "127.0.0.1:1"), 5*time.Second))
	eventually(t, "the unreachable agent to turn UNHEALTHY", func() bool {
		reg, err := c.Get(ctx, "unreachable")
		return err == nil && reg.GetStatus() == registryv1.AgentStatus_AGENT_STATUS_UNHEALTHY
	})
	reg, err := c.Heartbeat(ctx, "unreachable")
	if err != nil || reg.GetStatus() != registryv1.AgentStatus_AGENT_STATUS_UNHEALTHY {
		t.Fatalf("heartbeat = %v, %v; want it still UNHEALTHY", reg, err)
	}
}

func TestKeepRegistersAgainAfterExpiry(t *testing.T) {
	_, c := startRegistry(t, registry.Config{})
	ctx := context.Background()
	w := watch(t, c, nil)
	// Heartbeats slower than the lease stand for a partition: the lease
	// lapses between them and the next one must register again.
	lease, err := registry.Keep(ctx, c, byCard("kept", testCard("kept", "127.0.0.1:7103"), 500*time.Millisecond),
		registry.KeepInterval(1500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if lease.AgentID() != "kept" || lease.Registration() == nil {
		t.Fatalf("lease: id %q, registration %v", lease.AgentID(), lease.Registration())
	}
	first := lease.Registration()
	w.expect(t, registryv1.WatchEventType_WATCH_EVENT_TYPE_ADDED, "kept")
	w.expect(t, registryv1.WatchEventType_WATCH_EVENT_TYPE_REMOVED, "kept")
	again := w.expect(t, registryv1.WatchEventType_WATCH_EVENT_TYPE_ADDED, "kept")
	if !again.GetAgent().GetRegisterTime().AsTime().After(first.GetRegisterTime().AsTime()) {
		t.Fatalf("re-registration %v is not a fresh one", again.GetAgent())
	}
	if err := lease.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if ev := w.expect(t, registryv1.WatchEventType_WATCH_EVENT_TYPE_REMOVED, "kept"); ev.GetReason() != "deregistered" {
		t.Fatalf("REMOVED reason after Stop = %q", ev.GetReason())
	}
	if err := lease.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestKeepHeartbeats(t *testing.T) {
	_, c := startRegistry(t, registry.Config{})
	ctx := context.Background()
	lease, err := registry.Keep(ctx, c, byCard("", testCard("beats", "127.0.0.1:7104"), 900*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer lease.Stop(ctx)
	first := lease.Registration()
	time.Sleep(2 * time.Second) // over two leases: only heartbeats keep it
	reg, err := c.Get(ctx, lease.AgentID())
	if err != nil {
		t.Fatal(err)
	}
	if !reg.GetRegisterTime().AsTime().Equal(first.GetRegisterTime().AsTime()) || reg.GetRevision() < first.GetRevision()+2 {
		t.Fatalf("after two seconds of heartbeats: %v (first %v)", reg, first)
	}
}

func TestKeepRefusesInvalidRequest(t *testing.T) {
	_, c := startRegistry(t, registry.Config{})
	_, err := registry.Keep(context.Background(), c, byCard("bad id", testCard("x", "127.0.0.1:7105"), 0))
	wantField(t, err, "agentId")
}

// Keep does not fail an agent because the registry is down: it registers
// once the registry is up.
func TestKeepWaitsForRegistry(t *testing.T) {
	srv, c := startRegistry(t, registry.Config{})
	addr := srv.Addr()
	sctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lease, err := registry.Keep(ctx, c, byCard("later", testCard("later", "127.0.0.1:7106"), 0), registry.KeepRetry(20*time.Millisecond, 100*time.Millisecond))
	if err != nil {
		t.Fatalf("Keep with the registry down: %v", err)
	}
	defer lease.Stop(ctx)
	if lease.Registration() != nil {
		t.Fatal("registered with the registry down")
	}
	_, c2 := startRegistry(t, registry.Config{GRPCAddr: addr})
	eventually(t, "the registration once the registry is back", func() bool {
		_, err := c2.Get(ctx, "later")
		return err == nil
	})
}

func TestHostSelfRegistration(t *testing.T) {
	_, c := startRegistry(t, registry.Config{})
	ctx := context.Background()
	agent := startAgent(t, host.Config{Register: registry.SelfRegister(c, &registryv1.RegisterAgentRequest{
		Ttl: durationpb.New(2 * time.Second), Labels: map[string]string{"zone": "test"}})})
	id := registry.DeriveAgentID(agent.Card())
	reg, err := c.Get(ctx, id)
	if err != nil {
		t.Fatalf("the agent is not registered after Start: %v", err)
	}
	if reg.GetCard().GetName() != agent.Card().GetName() || reg.GetCard().GetSupportedInterfaces()[0].GetUrl() != agent.GRPCAddr() ||
		reg.GetLabels()["zone"] != "test" {
		t.Fatalf("registration = %v", reg)
	}
	sctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := agent.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(ctx, id)
	wantReason(t, err, a2agrpc.ReasonAgentNotFound)
}

func TestHostStartFailsWhenRegistrationRefused(t *testing.T) {
	_, c := startRegistry(t, registry.Config{})
	_, err := host.Start(echoExecutor, host.Config{Register: registry.SelfRegister(c, &registryv1.RegisterAgentRequest{AgentId: "not/valid"})})
	if err == nil || !errors.Is(err, a2agrpc.ErrInvalidParams) || !strings.Contains(err.Error(), "registering") {
		t.Fatalf("Start = %v, want the registration's INVALID_PARAMS", err)
	}
}
