package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/admin"
	"github.com/a2agrpc/a2agrpc/server/grpcserver"
	"github.com/a2agrpc/a2agrpc/server/httpserver"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// Paths of the admin listener ([Config.AdminAddr]): those of package
// admin, which serves them, kept here for the callers that name them
// through host.
const (
	HealthzPath = admin.HealthzPath // liveness: 200 while the process serves
	ReadyzPath  = admin.ReadyzPath  // readiness: 200 when it should get traffic
	MetricsPath = admin.MetricsPath // Prometheus text exposition
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

// pingTimeout bounds one ping of the task store, by a readiness probe or
// by the gRPC health probe.
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
// Shutdown calls it too. It is final: no later store probe turns gRPC
// health back on.
func (a *Agent) Quiesce() {
	a.healthMu.Lock()
	defer a.healthMu.Unlock()
	a.quiesced.Store(true)
	a.grpc.SetServing(false)
}

// DefaultHealthInterval is how often the task store is pinged for gRPC
// health when [Config.HealthInterval] is zero.
const DefaultHealthInterval = 5 * time.Second

// probeStore makes gRPC health follow the task store: gRPC load balancers
// and Kubernetes gRPC probes read grpc.health.v1, not /readyz, and an
// agent whose store is gone fails every call, so it should get none. The
// store is pinged at once, then every interval, until ctx ends (a ping in
// flight then is abandoned, so Shutdown never waits up to pingTimeout).
// Pings run outside healthMu; only setting the status is serialized with
// Quiesce. Changes are logged, since they explain a drop in traffic.
func (a *Agent) probeStore(ctx context.Context, p taskstore.Pinger, every time.Duration, log *slog.Logger) {
	defer close(a.probeDone)
	tick := time.NewTicker(every)
	defer tick.Stop()
	healthy := true // grpcserver starts SERVING
	for {
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		err := p.Ping(pctx)
		cancel()
		if ctx.Err() != nil || !a.setStoreHealth(err == nil) {
			return // stopped, or quiesced: health stays off for good
		}
		if ok := err == nil; ok != healthy && log != nil {
			if ok {
				log.Info("task store reachable again: gRPC health SERVING")
			} else {
				log.Warn("task store unreachable: gRPC health NOT_SERVING", "error", err.Error())
			}
		}
		healthy = err == nil
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// setStoreHealth sets gRPC health from a store probe unless Quiesce came
// first; the check and the update happen under healthMu, so a probe that
// finishes while Quiesce runs cannot report SERVING after it. It reports
// whether the status was set.
func (a *Agent) setStoreHealth(ok bool) bool {
	a.healthMu.Lock()
	defer a.healthMu.Unlock()
	if a.quiesced.Load() {
		return false
	}
	a.grpc.SetServing(ok)
	return true
}

// startProbe starts probeStore when the store can be pinged and the
// probe is not turned off.
func (a *Agent) startProbe(cfg Config) {
	p, ok := a.h.Store().(taskstore.Pinger)
	if !ok || cfg.HealthInterval < 0 {
		return
	}
	every := cfg.HealthInterval
	if every == 0 {
		every = DefaultHealthInterval
	}
	var ctx context.Context
	ctx, a.probeCancel = context.WithCancel(context.Background())
	a.probeDone = make(chan struct{})
	go a.probeStore(ctx, p, every, cfg.Logger)
}

// stopProbe ends the store probe and waits for it, so that nothing touches
// gRPC health once Shutdown has begun.
func (a *Agent) stopProbe() {
	if a.probeCancel == nil {
		return
	}
	a.probeCancel()
	<-a.probeDone
}

// serveAdmin starts the admin listener, which stays up until the very
// end of Shutdown so probes see readiness fall and the drain proceed.
func (a *Agent) serveAdmin(cfg Config, lis net.Listener) {
	a.admin = &http.Server{Handler: admin.Handler(a.Ready, cfg.Metrics), ReadHeaderTimeout: 10 * time.Second}
	a.adminAddr = lis.Addr().String()
	a.run(func() error { return serveHTTP(a.admin, lis, nil) })
}

// AdminAddr is the admin listener's address ("" without one).
func (a *Agent) AdminAddr() string { return a.adminAddr }
