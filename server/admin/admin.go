// Package admin is the operator's HTTP surface of an a2agrpc process:
// liveness, readiness and Prometheus metrics, on a listener of their own
// that is kept off the public network. `a2agrpc serve` (through package
// host) and `a2agrpc gateway` both serve it, so probes and scrapers see
// the same paths and the same answers whichever process they watch.
package admin

import (
	"context"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Paths of the admin handler.
const (
	HealthzPath = "/healthz" // liveness: 200 while the process serves
	ReadyzPath  = "/readyz"  // readiness: 200 when it should get traffic
	MetricsPath = "/metrics" // Prometheus text exposition (OpenMetrics on request)
)

// Handler serves the admin paths.
//
// Liveness answers 200 "ok" as long as the process answers at all: it
// must not depend on anything outside the process, or an outage of a
// dependency would get every replica restarted at once, which helps
// nothing.
//
// Readiness calls ready (nil: always ready) with the probe's request
// context and answers 200 "ok", or 503 "not ready: <err>" so that an
// operator reading the probe's output sees why. ready should bound its own
// checks: a probe that hangs counts as a failure anyway, but holds a
// connection meanwhile.
//
// /metrics exposes reg, in the OpenMetrics format when the scraper asks
// for it (exemplars and created timestamps need it); with reg nil there is
// no /metrics at all rather than an empty one, so a misconfigured scraper
// sees a 404 instead of silently collecting nothing.
func Handler(ready func(context.Context) error, reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+HealthzPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET "+ReadyzPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		// Probes must never be answered from a cache on the way.
		w.Header().Set("Cache-Control", "no-store")
		if ready != nil {
			if err := ready(r.Context()); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintln(w, "not ready:", err)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	if reg != nil {
		// Registry: reg also counts the handler's own failures to gather or
		// encode (promhttp_metric_handler_errors_total) in reg.
		mux.Handle("GET "+MetricsPath, promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, EnableOpenMetrics: true}))
	}
	return mux
}
