package grpcserver

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"

	"github.com/a2agrpc/a2agrpc"
	meshv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/mesh/v1"
	"github.com/a2agrpc/a2agrpc/internal/promset"
	"github.com/a2agrpc/a2agrpc/server/calllog"
)

// WithLogger logs every call to l when it finishes, with a request id (see
// package calllog for what is logged and at which level). Default: no call
// logs.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithMetrics registers go-grpc-middleware's Prometheus server metrics
// (grpc_server_started_total, grpc_server_handled_total,
// grpc_server_msg_received_total, grpc_server_msg_sent_total,
// grpc_server_handling_seconds) with reg. Default: none.
func WithMetrics(reg prometheus.Registerer) Option { return func(c *config) { c.metrics = reg } }

// WithTracerProvider traces every call with OpenTelemetry's gRPC stats
// handler, continuing W3C trace context from the caller's metadata, and
// gives each mesh request a span of its own, continuing the trace context
// its frame carries. Default: no tracing.
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *config) { c.tracer = tp } }

// propagator reads W3C trace context and baggage, whatever the process's
// global propagator is (OpenTelemetry's default is none).
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// observers are the built-in interceptors that watch calls: request ids,
// metrics, logging, in that order (see [New] for the whole chain).
type observers struct {
	unary  []grpc.UnaryServerInterceptor
	stream []grpc.StreamServerInterceptor
	prom   *grpcprom.ServerMetrics // initialized once services are registered
	stats  grpc.ServerOption       // nil without tracing
}

func newObservers(cfg *config) *observers {
	var o observers
	if cfg.logger != nil {
		o.unary, o.stream = append(o.unary, calllog.UnaryID), append(o.stream, calllog.StreamID)
	}
	if cfg.metrics != nil {
		o.prom = grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
		o.unary = append(o.unary, o.prom.UnaryServerInterceptor())
		o.stream = append(o.stream, o.prom.StreamServerInterceptor())
	}
	if cfg.logger != nil {
		unary, stream := calllog.GRPC(cfg.logger)
		o.unary, o.stream = append(o.unary, unary), append(o.stream, stream)
	}
	if cfg.tracer != nil {
		// Health checks (load balancers and Kubernetes probes, every few
		// seconds) would only fill traces with roots of their own.
		o.stats = grpc.StatsHandler(otelgrpc.NewServerHandler(
			otelgrpc.WithTracerProvider(cfg.tracer), otelgrpc.WithPropagators(propagator),
			otelgrpc.WithFilter(filters.Not(filters.HealthCheck()))))
	}
	return &o
}

// meshTracer returns the tracer of mesh request spans; nil without a
// provider, and then mesh requests start no spans.
func meshTracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		return nil
	}
	return tp.Tracer("github.com/a2agrpc/a2agrpc/server/grpcserver")
}

// meshOperation is the field name of a mesh request's operation
// ("send_message"), "unknown" if it has none.
func meshOperation(f *meshv1.Request) string {
	r := f.ProtoReflect()
	if op := r.WhichOneof(r.Descriptor().Oneofs().ByName("operation")); op != nil {
		return string(op.Name())
	}
	return "unknown"
}

// startRequestSpan opens a mesh request's server span: a child of the
// trace context in its frame if it carries one, else of the stream's span.
// Without a tracer it returns ctx and a nil span.
func (m *mesh) startRequestSpan(ctx context.Context, f *meshv1.Request) (context.Context, trace.Span) {
	if m.tracer == nil {
		return ctx, nil
	}
	if tc := f.GetTraceContext(); len(tc) > 0 {
		ctx = propagator.Extract(ctx, propagation.MapCarrier(tc))
	}
	return m.tracer.Start(ctx, "a2agrpc.mesh.v1.MeshService/"+meshOperation(f), trace.WithSpanKind(trace.SpanKindServer))
}

// endSpan ends a request's span (nil: none), marking it failed with err's
// A2A reason when err is set.
func endSpan(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.SetStatus(codes.Error, string(a2agrpc.AsError(err).Reason))
	}
	span.End()
}

// meshObserver logs and counts each mesh request as the interceptors do a
// call: the interceptors see only the stream, which carries many requests.
type meshObserver struct {
	log      *slog.Logger // nil: no request logs
	requests *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
}

func newMeshObserver(cfg *config) *meshObserver {
	o := &meshObserver{}
	if cfg.logger != nil {
		o.log = calllog.Logger(cfg.logger)
	}
	if cfg.metrics != nil {
		o.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "a2agrpc_mesh_requests_total",
			Help: "Requests answered on mesh streams, by operation and gRPC code.",
		}, []string{"operation", "code"})
		o.seconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "a2agrpc_mesh_request_seconds",
			Help:    "Time to answer a mesh request (a stream: until its last frame).",
			Buckets: prometheus.DefBuckets,
		}, []string{"operation"})
	}
	return o
}

// registerMetrics registers the server's series with cfg.metrics as one
// set (none without it), which Shutdown and Stop unregister.
func registerMetrics(cfg *config, obs *observers, mobs *meshObserver) (*promset.Set, error) {
	if cfg.metrics == nil {
		return nil, nil
	}
	set, err := promset.Register(cfg.metrics, obs.prom, mobs.requests, mobs.seconds)
	if err != nil {
		return nil, fmt.Errorf("grpcserver: registering metrics: %w", err)
	}
	return set, nil
}

// begin gives a request its own request id (the stream's is shared by all
// its requests) and returns what to call when it ends.
func (o *meshObserver) begin(ctx context.Context, f *meshv1.Request) (context.Context, func(err error)) {
	if o.log == nil && o.requests == nil {
		return ctx, func(error) {}
	}
	start := time.Now()
	ctx = calllog.WithID(ctx, calllog.NewID())
	return ctx, func(err error) {
		op, code := meshOperation(f), grpccodes.OK
		if err != nil {
			code = a2agrpc.AsError(err).GRPCStatus().Code()
		}
		elapsed := time.Since(start)
		if o.requests != nil {
			o.requests.WithLabelValues(op, code.String()).Inc()
			o.seconds.WithLabelValues(op).Observe(elapsed.Seconds())
		}
		if lvl := calllog.Level(code); o.log != nil && o.log.Enabled(ctx, lvl) {
			attrs := []slog.Attr{
				slog.String("grpc.service", meshv1.MeshService_ServiceDesc.ServiceName), slog.String("mesh.operation", op),
				slog.Uint64("mesh.request_id", f.GetRequestId()), slog.String("grpc.code", code.String()),
				slog.Float64("grpc.time_ms", float64(elapsed.Microseconds())/1000),
			}
			if err != nil {
				attrs = append(attrs, slog.String("grpc.error", err.Error()))
			}
			o.log.LogAttrs(ctx, lvl, "finished mesh request", attrs...)
		}
	}
}
