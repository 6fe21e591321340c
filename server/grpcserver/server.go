package grpcserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"golang.org/x/net/netutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/a2agrpc/a2agrpc"
	meshv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/mesh/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/promset"
	"github.com/a2agrpc/a2agrpc/server"
)

// Server is a grpc.Server serving A2A, the mesh extension, health and
// (optionally) reflection for one Handler.
type Server struct {
	h      *server.Handler
	cfg    config
	grpc   *grpc.Server
	health *health.Server
	drain  *drain

	metrics  *promset.Set // nil without WithMetrics
	stopOnce sync.Once
}

// New builds the server. Tracing ([WithTracerProvider]) is a stats
// handler, outside every interceptor, so its spans cover rejected calls too.
// The interceptor chain, outermost first, is:
//
//  0. recovery, so that a panic in an interceptor below (auth, metrics)
//     cannot kill the process either;
//  1. the request id ([WithLogger]), so every later step and the agent's
//     logs carry it;
//  2. metrics ([WithMetrics]), then the call log ([WithLogger]): they see
//     every call with its final code, rejected ones included;
//  3. interceptors from [WithInterceptors] (authentication, rate limits),
//     in the order given;
//  4. service parameters: a2a-version / a2a-extensions metadata into the
//     call, activated extensions back in the response header;
//  5. recovery, innermost, so a panic anywhere below becomes an INTERNAL
//     status carrying ErrorInfo instead of killing the process.
func New(h *server.Handler, opts ...Option) (*Server, error) {
	if h == nil {
		return nil, errors.New("grpcserver: nil Handler")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	recover := recovery.WithRecoveryHandler(func(p any) error {
		return a2agrpc.NewError(a2agrpc.ReasonInternal, "").WithCause(fmt.Errorf("panic: %v", p))
	})
	obs, mobs := newObservers(&cfg), newMeshObserver(&cfg)
	metrics, err := registerMetrics(&cfg, obs, mobs)
	if err != nil {
		return nil, err
	}
	unary := slices.Concat([]grpc.UnaryServerInterceptor{recovery.UnaryServerInterceptor(recover)}, obs.unary, cfg.unary,
		[]grpc.UnaryServerInterceptor{unaryParams(cfg.identity), recovery.UnaryServerInterceptor(recover)})
	stream := slices.Concat([]grpc.StreamServerInterceptor{recovery.StreamServerInterceptor(recover)}, obs.stream, cfg.stream,
		[]grpc.StreamServerInterceptor{streamParams(cfg.identity), recovery.StreamServerInterceptor(recover)})
	gopts := append([]grpc.ServerOption{
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		grpc.MaxRecvMsgSize(cfg.maxRecvMsgSize),
		grpc.MaxConcurrentStreams(cfg.maxConcurrentStreams),
		grpc.KeepaliveParams(cfg.keepalive),
		grpc.KeepaliveEnforcementPolicy(cfg.keepalivePolicy),
	}, cfg.grpcOptions...)
	if cfg.streamWorkers > 0 {
		gopts = append(gopts, grpc.NumStreamWorkers(cfg.streamWorkers))
	}
	if obs.stats != nil {
		gopts = append(gopts, obs.stats)
	}

	s := &Server{h: h, cfg: cfg, grpc: grpc.NewServer(gopts...), health: health.NewServer(), drain: newDrain(), metrics: metrics}
	a2av1.RegisterA2AServiceServer(s.grpc, &service{h: h, draining: s.drain})
	meshv1.RegisterMeshServiceServer(s.grpc, &mesh{h: h, cfg: cfg.mesh, draining: s.drain, tracer: meshTracer(cfg.tracer), obs: mobs})
	healthpb.RegisterHealthServer(s.grpc, s.health)
	s.SetServing(true)
	if cfg.reflection {
		reflection.Register(s.grpc)
	}
	if obs.prom != nil {
		obs.prom.InitializeMetrics(s.grpc) // every method's series read 0 from the start
	}
	return s, nil
}

// SetServing sets what the grpc.health.v1 service reports for the server
// and its services: SERVING, or NOT_SERVING so load balancers stop sending
// new calls while the server still answers them (the first step of a
// graceful shutdown). After Shutdown it stays NOT_SERVING.
func (s *Server) SetServing(on bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if on {
		st = healthpb.HealthCheckResponse_SERVING
	}
	for _, name := range healthServices {
		s.health.SetServingStatus(name, st)
	}
}

// healthServices are the names the health service reports on: the server
// as a whole ("") and each A2A service.
var healthServices = []string{"", a2av1.A2AService_ServiceDesc.ServiceName, meshv1.MeshService_ServiceDesc.ServiceName}

// GRPCServer returns the underlying server, e.g. to register more services
// before Serve.
func (s *Server) GRPCServer() *grpc.Server { return s.grpc }

// Serve accepts connections on lis (at most the configured number at once)
// until Shutdown or Stop.
func (s *Server) Serve(lis net.Listener) error {
	return s.grpc.Serve(netutil.LimitListener(lis, s.cfg.maxConnections))
}

// Shutdown stops the server gracefully:
//  1. health checks report NOT_SERVING and no new calls are accepted;
//  2. streams that only follow tasks (SubscribeToTask, mesh subscriptions)
//     end at once with UNAVAILABLE, so clients resubscribe elsewhere; mesh
//     streams refuse new requests and end with UNAVAILABLE once their
//     requests are done;
//  3. calls waiting for agents (blocking and streaming sends) finish
//     normally until ctx is done; then the handler interrupts the agents
//     still running, whose tasks fail with an "interrupted" status that
//     those calls return as their final answer.
//
// It returns ctx's error if the deadline forced step 3.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.stopOnce.Do(func() {
		defer s.metrics.Unregister()
		s.health.Shutdown()
		s.drain.begin()
		stopped := make(chan struct{})
		go func() { s.grpc.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
			err = s.h.Close(ctx)
			return
		case <-ctx.Done():
		}
		// Past the deadline: interrupt the agents, whose tasks then settle and
		// end the calls waiting for them; give those calls a moment to send
		// their final answer, then close whatever is still open (a client that
		// stopped reading, a health Watch).
		closed := make(chan error, 1)
		go func() { closed <- s.h.Close(ctx) }()
		select {
		case <-stopped:
		case <-time.After(forceAfter):
			s.grpc.Stop()
			<-stopped
		}
		err = <-closed
	})
	return err
}

// forceAfter is how long Shutdown waits, once its deadline has passed, for
// interrupted calls to finish before closing connections outright.
const forceAfter = time.Second

// Stop closes every connection at once, without a final status, and
// interrupts running agents. Like Shutdown, it unregisters the server's
// metrics ([WithMetrics]) and the handler's, so new ones can take their
// place on the registry.
func (s *Server) Stop() {
	s.drain.begin()
	s.grpc.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = s.h.Close(ctx)
	s.metrics.Unregister()
}
