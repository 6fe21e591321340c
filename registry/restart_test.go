package registry_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/registry"
	"github.com/a2agrpc/a2agrpc/registry/regstore/sqlitereg"
)

// The registrations of a registry on SQLite survive its restart: leases,
// owners and all, and a heartbeat finds the agent still registered.
func TestRestartKeepsRegistrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	ctx := context.Background()

	st, err := sqlitereg.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := registry.Start(registry.Config{Store: st, Options: fast()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := registry.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	var before []*registryv1.AgentRegistration
	for _, id := range []string{"kept-a", "kept-b"} {
		before = append(before, mustRegister(t, c, byCard(id, testCard(id, "127.0.0.1:7901", skill("durable")), time.Minute)))
	}
	c.Close()
	sctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st2, err := sqlitereg.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st2.Close() })
	_, c2 := startRegistry(t, registry.Config{Store: st2})
	for _, want := range before {
		got, err := c2.Get(ctx, want.GetAgentId())
		if err != nil || !proto.Equal(got, want) {
			t.Fatalf("after the restart: %v, %v; want %v", got, err, want)
		}
	}
	if got := search(t, c2, &registryv1.AgentFilter{SkillId: "durable"}, 0); !slices.Equal(got, []string{"kept-a", "kept-b"}) {
		t.Fatalf("search after the restart = %v", got)
	}
	if _, err := c2.Heartbeat(ctx, "kept-a"); err != nil {
		t.Fatalf("heartbeat after the restart: %v", err)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	_, c := startRegistry(t, registry.Config{Metrics: reg})
	ctx := context.Background()
	mustRegister(t, c, byCard("m1", testCard("m1", "127.0.0.1:7902"), 0))
	mustRegister(t, c, byCard("m2", testCard("m2", "127.0.0.1:7903"), 200*time.Millisecond))
	eventually(t, "m2 to expire", func() bool {
		_, err := c.Get(ctx, "m2")
		return err != nil && counterValue(t, reg, "a2agrpc_registry_expirations_total") == 1
	})
	for status, want := range map[string]float64{"healthy": 1, "unhealthy": 0} {
		if got := gaugeValue(t, reg, "a2agrpc_registry_registrations", "status", status); got != want {
			t.Errorf("registrations{status=%q} = %v, want %v", status, got, want)
		}
	}
}

// counterValue reads an unlabelled counter from reg (0 if absent).
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

// gaugeValue reads the gauge name{label=value} from reg (-1 if absent).
func gaugeValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}
