package registry

import (
	"github.com/prometheus/client_golang/prometheus"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/internal/promset"
)

// metrics are the registry's series. The collectors exist even without a
// registerer, so the code that counts needs no checks; set is nil then.
type metrics struct {
	set         *promset.Set
	expirations prometheus.Counter
	probes      *prometheus.CounterVec
}

// statusLabels name the statuses in the registrations gauge.
var statusLabels = map[registryv1.AgentStatus]string{
	registryv1.AgentStatus_AGENT_STATUS_HEALTHY:   "healthy",
	registryv1.AgentStatus_AGENT_STATUS_UNHEALTHY: "unhealthy",
}

func newMetrics(reg prometheus.Registerer, v *view) (*metrics, error) {
	m := &metrics{
		expirations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "a2agrpc_registry_expirations_total",
			Help: "Registrations this replica removed because their lease ended.",
		}),
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "a2agrpc_registry_probes_total",
			Help: "Active health probes of registered agents, by result (healthy, unhealthy).",
		}, []string{"result"}),
	}
	if reg == nil {
		return m, nil
	}
	cs := []prometheus.Collector{m.expirations, m.probes}
	for status, label := range statusLabels {
		// Read from the view on scrape: the view is what this replica
		// serves, so the gauge says what its searches see.
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "a2agrpc_registry_registrations",
			Help:        "Registrations in this replica's view of the store, by status.",
			ConstLabels: prometheus.Labels{"status": label},
		}, func() float64 { return float64(v.statusCount(status)) }))
	}
	var err error
	m.set, err = promset.Register(reg, cs...)
	return m, err
}
