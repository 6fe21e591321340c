package grpcserver

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"

	meshv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/mesh/v1"
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

func newObservers(cfg *config) (*observers, error) {
	var o observers
	var logUnary []grpc.UnaryServerInterceptor
	var logStream []grpc.StreamServerInterceptor
	if cfg.logger != nil {
		logUnary, logStream = calllog.GRPC(cfg.logger)
		// The request id interceptor comes first, so metrics and every log
		// line see it.
		o.unary, o.stream = slices.Clone(logUnary[:1]), slices.Clone(logStream[:1])
	}
	if cfg.metrics != nil {
		o.prom = grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
		if err := cfg.metrics.Register(o.prom); err != nil {
			return nil, fmt.Errorf("grpcserver: registering metrics: %w", err)
		}
		o.unary = append(o.unary, o.prom.UnaryServerInterceptor())
		o.stream = append(o.stream, o.prom.StreamServerInterceptor())
	}
	if cfg.logger != nil {
		o.unary, o.stream = append(o.unary, logUnary[1:]...), append(o.stream, logStream[1:]...)
	}
	if cfg.tracer != nil {
		o.stats = grpc.StatsHandler(otelgrpc.NewServerHandler(
			otelgrpc.WithTracerProvider(cfg.tracer), otelgrpc.WithPropagators(propagator)))
	}
	return &o, nil
}

// meshTracer returns the tracer of mesh request spans.
func meshTracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	return tp.Tracer("github.com/a2agrpc/a2agrpc/server/grpcserver")
}

// startRequestSpan opens a mesh request's server span: a child of the
// trace context in its frame if it carries one, else of the stream's span.
func (m *mesh) startRequestSpan(ctx context.Context, f *meshv1.Request) (context.Context, trace.Span) {
	if tc := f.GetTraceContext(); len(tc) > 0 {
		ctx = propagator.Extract(ctx, propagation.MapCarrier(tc))
	}
	name := "a2agrpc.mesh.v1.MeshService/unknown"
	if op := f.ProtoReflect().WhichOneof(f.ProtoReflect().Descriptor().Oneofs().ByName("operation")); op != nil {
		name = "a2agrpc.mesh.v1.MeshService/" + string(op.Name())
	}
	return m.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer))
}

// failSpan marks a request's span as failed.
func failSpan(span trace.Span, err error) {
	if span.IsRecording() {
		span.SetStatus(codes.Error, err.Error())
	}
}
