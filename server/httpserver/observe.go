package httpserver

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/a2agrpc/a2agrpc/internal/promset"
	"github.com/a2agrpc/a2agrpc/server/calllog"
)

// WithLogger logs every request to l once it is answered, with a request
// id (see package calllog for what is logged and at which level). Default:
// no request logs.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithMetrics registers HTTP request metrics with reg, labelled by handler
// ("rest" for HTTP+JSON and its SSE streams, "jsonrpc", "card",
// "openapi"), method and status code: http_requests_total,
// http_request_duration_seconds (until the response ends: a stream's whole
// life) and http_requests_in_flight. Default: none.
func WithMetrics(reg prometheus.Registerer) Option { return func(c *config) { c.metrics = reg } }

// WithTracerProvider traces every request with OpenTelemetry's HTTP
// instrumentation, continuing W3C trace context from the request's
// traceparent header. Default: no tracing.
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *config) { c.tracer = tp } }

// httpMetrics are the request series, curried per handler.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
	set      *promset.Set
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests answered, by handler, method and status code.",
		}, []string{"handler", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time to answer an HTTP request (a stream: until it ends).",
			Buckets: prometheus.DefBuckets,
		}, []string{"handler", "method", "code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_requests_in_flight",
			Help: "HTTP requests being answered (open SSE streams included).",
		}),
	}
	var err error
	if m.set, err = promset.Register(reg, m.requests, m.duration, m.inFlight); err != nil {
		return nil, fmt.Errorf("httpserver: registering metrics: %w", err)
	}
	return m, nil
}

// instrument wraps one handler with the request series (nil m: none).
func (m *httpMetrics) instrument(name string, h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	labels := prometheus.Labels{"handler": name}
	return promhttp.InstrumentHandlerInFlight(m.inFlight,
		promhttp.InstrumentHandlerCounter(m.requests.MustCurryWith(labels),
			promhttp.InstrumentHandlerDuration(m.duration.MustCurryWith(labels), h)))
}

// observe wraps the whole mux: tracing outermost, so the request log and
// everything below run inside the span; then the request log.
func observe(cfg config, h http.Handler) http.Handler {
	if cfg.logger != nil {
		h = calllog.HTTP(cfg.logger, h)
	}
	if cfg.tracer != nil {
		h = otelhttp.NewHandler(h, "a2a.http",
			otelhttp.WithTracerProvider(cfg.tracer),
			otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})),
			otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + route(r.URL.Path) }))
	}
	return h
}

// route is a request path with its tenant, task id and config id replaced
// by placeholders ("/tasks/{id}:cancel"), or "unmatched": span names stay
// few whatever paths clients send.
func route(path string) string {
	switch path {
	case JSONRPCPath, JSONRPCPath + "/", WellKnownCardPath, OpenAPIPath:
		return path
	}
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(segs) > 1 && !topLevel[segs[0]] {
		segs[0] = "{tenant}"
	}
	for i := 1; i < len(segs); i++ {
		switch segs[i-1] {
		case "tasks":
			_, verb, _ := strings.Cut(segs[i], ":")
			segs[i] = "{id}"
			if verb != "" {
				segs[i] += ":" + verb
			}
		case "pushNotificationConfigs":
			segs[i] = "{config_id}"
		}
	}
	r := "/" + strings.TrimPrefix(strings.Join(segs, "/"), "{tenant}/")
	if !routes[r] {
		return "unmatched"
	}
	if segs[0] == "{tenant}" {
		return "/{tenant}" + r
	}
	return r
}

// topLevel are the first segments of the A2A routes without a tenant.
var topLevel = map[string]bool{"message:send": true, "message:stream": true, "tasks": true, "extendedAgentCard": true}

// routes are the A2A HTTP+JSON routes, tenant prefix removed.
var routes = map[string]bool{
	"/message:send": true, "/message:stream": true, "/tasks": true, "/tasks/{id}": true,
	"/tasks/{id}:cancel": true, "/tasks/{id}:subscribe": true, "/extendedAgentCard": true,
	"/tasks/{id}/pushNotificationConfigs": true, "/tasks/{id}/pushNotificationConfigs/{config_id}": true,
}
