package host_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/a2agrpc/a2agrpc/examples/echo"
	"github.com/a2agrpc/a2agrpc/server/host"
)

// TestMetricsRegistryReuse: an agent that stops takes its series off the
// registry, so another can start on it; and an agent that fails to start
// leaves none behind.
func TestMetricsRegistryReuse(t *testing.T) {
	reg := prometheus.NewRegistry()
	first := start(t, echo.Executor, host.Config{AdminAddr: "127.0.0.1:0", Metrics: reg})
	if value(scrape(t, first), "a2a_tasks", nil) != 0 {
		t.Fatal("a2a_tasks missing from the first agent's metrics")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := first.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if names := families(t, reg); len(names) != 0 {
		t.Fatalf("after Shutdown the registry still holds %v", names)
	}

	// A collector already holding one of the HTTP series makes the start
	// fail after the handler and gRPC series were registered. (Its help
	// must be httpserver's: a registry remembers a name's help and labels
	// even after the collector is gone.)
	squatter := prometheus.NewGauge(prometheus.GaugeOpts{Name: "http_requests_in_flight",
		Help: "HTTP requests being answered (open SSE streams included)."})
	reg.MustRegister(squatter)
	if _, err := host.Start(echo.Executor, host.Config{Metrics: reg}); err == nil || !strings.Contains(err.Error(), "metrics") {
		t.Fatalf("Start with a taken series = %v, want a registration error", err)
	}
	reg.Unregister(squatter)
	if names := families(t, reg); len(names) != 0 {
		t.Fatalf("a failed Start left %v registered", names)
	}

	second := start(t, echo.Executor, host.Config{AdminAddr: "127.0.0.1:0", Metrics: reg})
	if value(scrape(t, second), "a2a_task_state_changes_total", map[string]string{"state": "completed"}) != 0 {
		t.Fatal("the second agent's series are missing")
	}
}

// families lists the metric families reg holds, but for promhttp's own
// (the /metrics handler's errors counter, which any later handler on the
// registry reuses).
func families(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "promhttp_") {
			names = append(names, mf.GetName())
		}
	}
	return names
}
