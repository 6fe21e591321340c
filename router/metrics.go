package router

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/internal/promset"
)

// metrics holds the router's series (see [WithMetrics]). A nil *metrics
// records nothing, so call sites need no checks.
type metrics struct {
	calls   *prometheus.CounterVec
	retries *prometheus.CounterVec
	set     *promset.Set
}

func newMetrics(reg prometheus.Registerer, r *Router) (*metrics, error) {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "a2a_router_calls_total",
			Help: "Attempts made by the router, by route, endpoint, operation and outcome (ok, an A2A reason in lower case, or circuit_open).",
		}, []string{"route", "endpoint", "operation", "outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "a2a_router_retries_total",
			Help: "Retries and stream resumptions made by the router, by route and operation.",
		}, []string{"route", "operation"}),
	}
	set, err := promset.Register(reg, m.calls, m.retries, endpointCollector{r})
	if err != nil {
		return nil, err
	}
	m.set = set
	return m, nil
}

// Outcome labels besides the reasons.
const (
	outcomeOK          = "ok"
	outcomeCircuitOpen = "circuit_open"
)

// outcome is the label of a call that ended with err.
func outcome(err error) string {
	if err == nil {
		return outcomeOK
	}
	return strings.ToLower(string(a2agrpc.AsError(err).Reason))
}

func (m *metrics) call(route, endpoint, op, outcome string) {
	if m != nil {
		m.calls.WithLabelValues(route, endpoint, op, outcome).Inc()
	}
}

func (m *metrics) retry(route, op string) {
	if m != nil {
		m.retries.WithLabelValues(route, op).Inc()
	}
}

// forget removes a dropped endpoint's call series.
func (m *metrics) forget(endpoint string) {
	if m != nil {
		m.calls.DeletePartialMatch(prometheus.Labels{"endpoint": endpoint})
	}
}

func (m *metrics) unregister() {
	if m != nil {
		m.set.Unregister()
	}
}

// endpointCollector reports the live endpoints' gauges when scraped, so
// that a dropped endpoint's series disappear with it and no update can
// race its removal.
type endpointCollector struct{ r *Router }

var (
	inFlightDesc = prometheus.NewDesc("a2a_router_in_flight",
		"Calls and open streams the router has in flight, by endpoint.", []string{"endpoint"}, nil)
	breakerDesc = prometheus.NewDesc("a2a_router_breaker_state",
		"Circuit breaker state by endpoint: 0 closed, 1 half-open, 2 open.", []string{"endpoint"}, nil)
)

func (c endpointCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- inFlightDesc
	ch <- breakerDesc
}

func (c endpointCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.r.Endpoints() {
		ch <- prometheus.MustNewConstMetric(inFlightDesc, prometheus.GaugeValue, float64(s.InFlight), s.ID)
		v := 0.0
		switch s.Breaker {
		case BreakerHalfOpen:
			v = 1
		case BreakerOpen:
			v = 2
		}
		ch <- prometheus.MustNewConstMetric(breakerDesc, prometheus.GaugeValue, v, s.ID)
	}
}
