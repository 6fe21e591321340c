package host

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/grpcserver"
	"github.com/a2agrpc/a2agrpc/server/httpserver"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// Paths of the admin listener ([Config.AdminAddr]).
const (
	HealthzPath = "/healthz" // liveness: 200 while the process serves
	ReadyzPath  = "/readyz"  // readiness: 200 when it should get traffic
	MetricsPath = "/metrics" // Prometheus text exposition
)

// observeOptions turns Config's Logger, Metrics and Tracer into options of
// the three layers, ahead of the caller's own.
func observeOptions(cfg *Config) {
	var h []server.Option
	var g []grpcserver.Option
	var w []httpserver.Option
	if cfg.Logger != nil {
		h = append(h, server.WithLogger(cfg.Logger))
		g = append(g, grpcserver.WithLogger(cfg.Logger))
		w = append(w, httpserver.WithLogger(cfg.Logger))
	}
	if cfg.Metrics != nil {
		h = append(h, server.WithMetrics(cfg.Metrics))
		g = append(g, grpcserver.WithMetrics(cfg.Metrics))
		w = append(w, httpserver.WithMetrics(cfg.Metrics))
	}
	if cfg.Tracer != nil {
		h = append(h, server.WithTracerProvider(cfg.Tracer))
		g = append(g, grpcserver.WithTracerProvider(cfg.Tracer))
		w = append(w, httpserver.WithTracerProvider(cfg.Tracer))
	}
	cfg.Handler = append(h, cfg.Handler...)
	cfg.GRPC = append(g, cfg.GRPC...)
	cfg.HTTP = append(w, cfg.HTTP...)
}

// errNotReady is readiness's answer once shutdown has begun.
var errNotReady = errors.New("shutting down")

// pingTimeout bounds the store check of a readiness probe.
const pingTimeout = 2 * time.Second

// Ready reports whether the agent should get new traffic: nil while it
// serves and its task store answers (a store kept outside the process is
// pinged); an error once [Agent.Quiesce] or Shutdown has begun, or while
// the store is unreachable.
func (a *Agent) Ready(ctx context.Context) error {
	if a.quiesced.Load() {
		return errNotReady
	}
	if p, ok := a.h.Store().(taskstore.Pinger); ok {
		ctx, cancel := context.WithTimeout(ctx, pingTimeout)
		defer cancel()
		if err := p.Ping(ctx); err != nil {
			return fmt.Errorf("task store: %w", err)
		}
	}
	return nil
}

// Quiesce turns readiness off — [Agent.Ready] fails, /readyz answers 503
// and gRPC health checks report NOT_SERVING — while everything keeps
// serving: the first step of a graceful shutdown, which gives load
// balancers time to stop sending new calls before Shutdown drains the rest.
// Shutdown calls it too.
func (a *Agent) Quiesce() {
	a.quiesced.Store(true)
	a.grpc.SetServing(false)
}

// adminHandler serves liveness, readiness and metrics.
func (a *Agent) adminHandler(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+HealthzPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET "+ReadyzPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := a.Ready(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready:", err)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	if reg != nil {
		mux.Handle("GET "+MetricsPath, promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, EnableOpenMetrics: true}))
	}
	return mux
}

// serveAdmin starts the admin listener, which stays up until the very
// end of Shutdown so probes see readiness fall and the drain proceed.
func (a *Agent) serveAdmin(cfg Config, lis net.Listener) {
	a.admin = &http.Server{Handler: a.adminHandler(cfg.Metrics), ReadHeaderTimeout: 10 * time.Second}
	a.adminAddr = lis.Addr().String()
	a.run(func() error { return serveHTTP(a.admin, lis, nil) })
}

// AdminAddr is the admin listener's address ("" without one).
func (a *Agent) AdminAddr() string { return a.adminAddr }
