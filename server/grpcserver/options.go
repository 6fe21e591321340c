package grpcserver

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// Option configures a [Server].
type Option func(*config)

type config struct {
	identity             IdentityFunc
	grpcOptions          []grpc.ServerOption
	unary                []grpc.UnaryServerInterceptor
	stream               []grpc.StreamServerInterceptor
	maxRecvMsgSize       int
	maxConnections       int
	maxConcurrentStreams uint32
	keepalive            keepalive.ServerParameters
	keepalivePolicy      keepalive.EnforcementPolicy
	reflection           bool
	streamWorkers        uint32
	mesh                 meshConfig
	logger               *slog.Logger
	metrics              prometheus.Registerer
	tracer               trace.TracerProvider
}

// Defaults of [New].
const (
	DefaultMaxRecvMsgSize       = 4 << 20
	DefaultMaxConnections       = 10_000
	DefaultMaxConcurrentStreams = 1_000
	DefaultMeshMaxInFlight      = 256
	DefaultMeshHeartbeat        = 15 * time.Second
	DefaultStreamWorkers        = 256
)

func defaultConfig() config {
	return config{
		maxRecvMsgSize:       DefaultMaxRecvMsgSize,
		maxConnections:       DefaultMaxConnections,
		maxConcurrentStreams: DefaultMaxConcurrentStreams,
		// Ping idle connections so dead peers (and the streams they hold)
		// are found within a minute; recycle connections slowly so load
		// spreads over new replicas.
		keepalive: keepalive.ServerParameters{
			Time:                  30 * time.Second,
			Timeout:               10 * time.Second,
			MaxConnectionAge:      2 * time.Hour,
			MaxConnectionAgeGrace: 5 * time.Minute,
		},
		// Refuse clients that ping more often than every 10 s (a
		// misconfigured client could otherwise flood the server).
		keepalivePolicy: keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true},
		reflection:      true,
		streamWorkers:   DefaultStreamWorkers,
		mesh:            meshConfig{maxInFlight: DefaultMeshMaxInFlight, heartbeat: DefaultMeshHeartbeat, sendQueue: 256},
	}
}

// WithIdentity sets how the caller's identity is read from a call's context
// (default: every caller is anonymous). Tasks are visible only to the
// identity that created them.
func WithIdentity(f IdentityFunc) Option { return func(c *config) { c.identity = f } }

// WithGRPCOptions adds grpc.ServerOptions (credentials, stats handlers, ...)
// after the defaults, so they override them.
func WithGRPCOptions(opts ...grpc.ServerOption) Option {
	return func(c *config) { c.grpcOptions = append(c.grpcOptions, opts...) }
}

// WithInterceptors adds interceptors that run outside the built-in ones
// (authentication, metrics, logging); see [New] for the whole chain.
func WithInterceptors(unary []grpc.UnaryServerInterceptor, stream []grpc.StreamServerInterceptor) Option {
	return func(c *config) {
		c.unary = append(c.unary, unary...)
		c.stream = append(c.stream, stream...)
	}
}

// WithMaxRecvMsgSize bounds incoming messages (default 4 MiB); larger ones
// are refused with RESOURCE_EXHAUSTED. n <= 0 keeps the default.
func WithMaxRecvMsgSize(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxRecvMsgSize = n
		}
	}
}

// WithMaxConnections bounds concurrent connections on each listener passed
// to Serve (default 10,000); further connections wait in the accept queue.
// n <= 0 keeps the default.
func WithMaxConnections(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxConnections = n
		}
	}
}

// WithMaxConcurrentStreams bounds concurrent calls per connection (default
// 1,000). n == 0 keeps the default.
func WithMaxConcurrentStreams(n uint32) Option {
	return func(c *config) {
		if n > 0 {
			c.maxConcurrentStreams = n
		}
	}
}

// WithKeepalive replaces the keepalive parameters and enforcement policy.
func WithKeepalive(p keepalive.ServerParameters, e keepalive.EnforcementPolicy) Option {
	return func(c *config) { c.keepalive, c.keepalivePolicy = p, e }
}

// WithStreamWorkers sets how many goroutines grpc keeps to serve calls
// (default 256; 0 starts a goroutine per call, grpc's own default). Reused
// goroutines keep their grown stacks, which spares every call the stack
// growth through the handler; calls beyond the pool still get their own
// goroutine.
func WithStreamWorkers(n uint32) Option { return func(c *config) { c.streamWorkers = n } }

// WithReflection turns gRPC server reflection on or off (default on).
func WithReflection(on bool) Option { return func(c *config) { c.reflection = on } }

// WithMeshLimits sets the mesh stream's bound on requests in flight per
// stream (default 256) and its heartbeat interval (default 15 s; 0 disables
// heartbeats). Values < 0 keep the defaults.
func WithMeshLimits(maxInFlight int, heartbeat time.Duration) Option {
	return func(c *config) {
		if maxInFlight > 0 {
			c.mesh.maxInFlight = maxInFlight
		}
		if heartbeat >= 0 {
			c.mesh.heartbeat = heartbeat
		}
	}
}
