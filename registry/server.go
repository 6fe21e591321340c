package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/auth"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/registry/regstore"
	"github.com/a2agrpc/a2agrpc/server/admin"
	"github.com/a2agrpc/a2agrpc/server/calllog"
)

// Config says where and how to serve the registry. Store is required.
type Config struct {
	// GRPCAddr is the gRPC listen address (default "127.0.0.1:0").
	GRPCAddr string
	// HTTPAddr is the REST listen address (default "127.0.0.1:0"; "-":
	// no REST).
	HTTPAddr string
	// TLS, if set, serves both over TLS (mtls.ServerConfig for client
	// certificates).
	TLS *tls.Config
	// Auth, if set, authenticates every call but grpc.health.v1, on both
	// listeners; the principal owns the registrations it makes.
	Auth *auth.Authenticator
	// Store keeps the registrations. Shutdown does not close it.
	Store regstore.Store
	// Options configure the service (see [NewService]).
	Options []Option
	// Logger receives the call logs of both listeners and the service's
	// log (nil: nothing is logged).
	Logger *slog.Logger
	// Metrics, if set, collects the service's series and is served at
	// /metrics on the admin listener.
	Metrics *prometheus.Registry
	// AdminAddr, if set, serves /healthz, /readyz (ready while the store
	// answers and no shutdown has begun) and /metrics, as package admin
	// does for agents. Keep it off the public network.
	AdminAddr string
	// SSEKeepAlive is the interval of keep-alive comments on idle watch
	// streams over REST (default 15 s).
	SSEKeepAlive time.Duration
}

// Server is a running registry: gRPC (RegistryService, grpc.health.v1,
// reflection) and REST with SSE watches.
type Server struct {
	svc    *Service
	store  regstore.Store
	grpc   *grpc.Server
	health *health.Server
	web    *http.Server // nil without REST
	admin  *http.Server // nil without AdminAddr

	gAddr, hURL, adminAddr string

	mu       sync.Mutex
	running  int
	serr     error
	stopped  chan struct{}
	quiesced bool

	once sync.Once
	err  error
}

// Start listens on the configured addresses and serves until Shutdown. It
// returns once the listeners are bound, so the addresses are reachable.
func Start(cfg Config) (_ *Server, err error) {
	if cfg.Store == nil {
		return nil, errors.New("registry: Config.Store is required")
	}
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = "127.0.0.1:0"
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = "127.0.0.1:0"
	}
	if cfg.SSEKeepAlive <= 0 {
		cfg.SSEKeepAlive = 15 * time.Second
	}
	var listeners []net.Listener
	defer func() {
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
		}
	}()
	listen := func(what, addr string) (net.Listener, error) {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("registry: %s listener: %w", what, err)
		}
		listeners = append(listeners, l)
		return l, nil
	}
	gLis, err := listen("gRPC", cfg.GRPCAddr)
	if err != nil {
		return nil, err
	}
	var hLis, aLis net.Listener
	if cfg.HTTPAddr != "-" {
		if hLis, err = listen("HTTP", cfg.HTTPAddr); err != nil {
			return nil, err
		}
	}
	if cfg.AdminAddr != "" {
		if aLis, err = listen("admin", cfg.AdminAddr); err != nil {
			return nil, err
		}
	}
	var opts []Option
	if cfg.Logger != nil {
		opts = append(opts, WithLogger(cfg.Logger))
	}
	if cfg.Metrics != nil {
		opts = append(opts, WithMetrics(cfg.Metrics))
	}
	svc, err := NewService(cfg.Store, append(opts, cfg.Options...)...)
	if err != nil {
		return nil, err
	}
	s := &Server{svc: svc, store: cfg.Store, stopped: make(chan struct{}), gAddr: gLis.Addr().String()}
	s.grpc, s.health = newGRPCServer(svc, cfg)
	if hLis != nil {
		h, err := newHTTPHandler(svc, cfg.Auth, cfg.Logger, cfg.SSEKeepAlive)
		if err != nil {
			svc.Close()
			return nil, err
		}
		s.web = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		scheme := "http"
		if cfg.TLS != nil {
			scheme = "https"
		}
		s.hURL = scheme + "://" + hLis.Addr().String()
	}
	s.run(func() error {
		// A Shutdown that comes before Serve starts is a clean stop too.
		if err := s.grpc.Serve(gLis); !errors.Is(err, grpc.ErrServerStopped) {
			return err
		}
		return nil
	})
	if s.web != nil {
		s.run(func() error { return serveHTTP(s.web, hLis, cfg.TLS) })
	}
	if aLis != nil {
		s.admin = &http.Server{Handler: admin.Handler(s.ready, cfg.Metrics), ReadHeaderTimeout: 10 * time.Second}
		s.adminAddr = aLis.Addr().String()
		s.run(func() error { return serveHTTP(s.admin, aLis, nil) })
	}
	return s, nil
}

// newGRPCServer builds the gRPC server. Interceptors, outermost first:
// recovery (so a panic in one below cannot kill the process), the request
// id and call log, authentication, recovery again innermost (a panic in
// the service becomes INTERNAL with ErrorInfo).
func newGRPCServer(svc *Service, cfg Config) (*grpc.Server, *health.Server) {
	recoverOpt := recovery.WithRecoveryHandler(func(p any) error {
		return a2agrpc.NewError(a2agrpc.ReasonInternal, "").WithCause(fmt.Errorf("panic: %v", p))
	})
	unary := []grpc.UnaryServerInterceptor{recovery.UnaryServerInterceptor(recoverOpt)}
	stream := []grpc.StreamServerInterceptor{recovery.StreamServerInterceptor(recoverOpt)}
	if cfg.Logger != nil {
		lu, ls := calllog.GRPC(cfg.Logger)
		unary = append(unary, calllog.UnaryID, lu)
		stream = append(stream, calllog.StreamID, ls)
	}
	if cfg.Auth != nil {
		au, as := cfg.Auth.GRPCInterceptors()
		unary, stream = slices.Concat(unary, au), slices.Concat(stream, as)
	}
	unary = append(unary, recovery.UnaryServerInterceptor(recoverOpt))
	stream = append(stream, recovery.StreamServerInterceptor(recoverOpt))
	opts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		// As the agents' servers do: find dead peers (and the watches they
		// hold) within a minute, and refuse clients that ping too often.
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	}
	if cfg.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg.TLS)))
	}
	gs := grpc.NewServer(opts...)
	registryv1.RegisterRegistryServiceServer(gs, svc)
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(registryv1.RegistryService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	return gs, hs
}

// run serves in a goroutine; Wait learns when one fails or all have ended.
func (s *Server) run(serve func() error) {
	s.mu.Lock()
	s.running++
	s.mu.Unlock()
	go func() {
		err := serve()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.running--
		first := s.serr == nil && err != nil
		if first {
			s.serr = err
		}
		if first || s.running == 0 {
			select {
			case <-s.stopped:
			default:
				close(s.stopped)
			}
		}
	}()
}

// serveHTTP serves on l, over TLS when tc is set; a shutdown is no error.
func serveHTTP(web *http.Server, l net.Listener, tc *tls.Config) error {
	var err error
	if tc == nil {
		err = web.Serve(l)
	} else {
		web.TLSConfig = tc
		err = web.ServeTLS(l, "", "")
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ready is the admin readiness: not once shutdown began, nor while the
// store does not answer.
func (s *Server) ready(ctx context.Context) error {
	s.mu.Lock()
	q := s.quiesced
	s.mu.Unlock()
	if q {
		return errors.New("shutting down")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		return fmt.Errorf("registry store: %w", err)
	}
	return nil
}

// Service is the registry service, for calling it in process.
func (s *Server) Service() *Service { return s.svc }

// Addr is the gRPC listen address (host:port).
func (s *Server) Addr() string { return s.gAddr }

// URL is the REST base URL ("" without REST).
func (s *Server) URL() string { return s.hURL }

// AdminAddr is the admin listener's address ("" without one).
func (s *Server) AdminAddr() string { return s.adminAddr }

// Wait blocks until a listener fails (it returns the error; call Shutdown
// to stop the rest) or Shutdown has stopped them all (nil).
func (s *Server) Wait() error {
	<-s.stopped
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serr
}

// Shutdown stops gracefully: health turns NOT_SERVING, every watch (gRPC
// and SSE) ends with UNAVAILABLE so its client watches another replica,
// the background work stops, then unary calls in flight finish until ctx
// ends, when the rest is cut. The store stays open.
func (s *Server) Shutdown(ctx context.Context) error {
	s.once.Do(func() { s.err = s.shutdown(ctx) })
	return s.err
}

func (s *Server) shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.quiesced = true
	s.mu.Unlock()
	s.health.Shutdown()
	s.svc.Close()
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	var err error
	select {
	case <-stopped:
	case <-ctx.Done():
		s.grpc.Stop()
		<-stopped
		err = ctx.Err()
	}
	for _, web := range []*http.Server{s.web, s.admin} {
		if web == nil {
			continue
		}
		if e := web.Shutdown(ctx); e != nil {
			web.Close()
			err = errors.Join(err, fmt.Errorf("registry: HTTP shutdown: %w", e))
		}
	}
	return err
}
