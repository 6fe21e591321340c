package httpserver

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/promset"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/grpcserver"
)

// Option configures [New].
type Option func(*config)

type config struct {
	identity  IdentityFunc
	auth      AuthFunc
	maxBody   int64
	keepAlive time.Duration
	logger    *slog.Logger
	metrics   prometheus.Registerer
	tracer    trace.TracerProvider
}

// Defaults of [New].
const (
	DefaultMaxBody   = 4 << 20
	DefaultKeepAlive = 15 * time.Second
)

// WithIdentity sets how the caller's identity is read from a request
// (default: anonymous).
func WithIdentity(f IdentityFunc) Option { return func(c *config) { c.identity = f } }

// WithAuth authenticates every A2A route (REST, SSE and JSON-RPC) with f.
// The Agent Card and the OpenAPI document stay public, as clients need them
// to learn how to authenticate.
func WithAuth(f AuthFunc) Option { return func(c *config) { c.auth = f } }

// WithMaxBody bounds request bodies (default 4 MiB, like the gRPC server's
// message limit); larger ones get 413. n <= 0 keeps the default.
func WithMaxBody(n int64) Option {
	return func(c *config) {
		if n > 0 {
			c.maxBody = n
		}
	}
}

// WithKeepAlive sets the interval of SSE keep-alive comments on idle
// streams (default 15 s; 0 disables them).
func WithKeepAlive(d time.Duration) Option { return func(c *config) { c.keepAlive = max(d, 0) } }

// Server is the HTTP side of an A2A agent: mount it on any http.Server.
type Server struct {
	h     server.API
	cfg   config
	mux   *http.ServeMux
	entry http.Handler // mux, observed (observe.go)
	rest  *runtime.ServeMux
	drain context.Context
	stop  context.CancelCauseFunc

	metrics *promset.Set // nil without WithMetrics
}

// New builds the HTTP handler: the REST routes of every A2A operation (and
// their /{tenant} forms; GET and POST for :subscribe), SSE for the streaming
// ones, JSON-RPC 2.0 at [JSONRPCPath], and the Agent Card at
// [WellKnownCardPath].
func New(h server.API, opts ...Option) (*Server, error) {
	if h == nil {
		return nil, errors.New("httpserver: nil Handler")
	}
	cfg := config{maxBody: DefaultMaxBody, keepAlive: DefaultKeepAlive}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.auth != nil && cfg.identity == nil {
		// Authenticated but anonymous to the handler: every caller would
		// own every task.
		return nil, errors.New("httpserver: WithAuth needs WithIdentity, or tasks are shared by all callers")
	}
	s := &Server{h: h, cfg: cfg, mux: http.NewServeMux()}
	s.drain, s.stop = context.WithCancelCause(context.Background())
	s.rest = runtime.NewServeMux(append(marshalerOptions(),
		runtime.WithErrorHandler(gatewayError),
		runtime.WithRoutingErrorHandler(routingError),
		runtime.WithForwardResponseOption(activatedExtensions),
		// A2A headers travel in the call's CallInfo (see withParams), so the
		// gateway forwards no headers as metadata and echoes none back.
		runtime.WithIncomingHeaderMatcher(func(string) (string, bool) { return "", false }),
		runtime.WithOutgoingHeaderMatcher(func(string) (string, bool) { return "", false }),
	)...)
	if err := a2av1.RegisterA2AServiceHandlerServer(context.Background(), s.rest, grpcserver.NewService(h)); err != nil {
		return nil, err
	}
	// Registered after the generated routes, so they take precedence.
	for _, r := range []struct {
		method, path string
		h            runtime.HandlerFunc
	}{
		{http.MethodPost, "/message:send", s.send},
		{http.MethodPost, "/{tenant}/message:send", s.send},
		{http.MethodPost, "/message:stream", s.sendStream},
		{http.MethodPost, "/{tenant}/message:stream", s.sendStream},
		{http.MethodGet, "/tasks/{id}:subscribe", s.subscribe},
		{http.MethodPost, "/tasks/{id}:subscribe", s.subscribe},
		{http.MethodGet, "/{tenant}/tasks/{id}:subscribe", s.subscribe},
		{http.MethodPost, "/{tenant}/tasks/{id}:subscribe", s.subscribe},
	} {
		if err := s.rest.HandlePath(r.method, r.path, r.h); err != nil {
			return nil, err
		}
	}
	card, err := newCardHandler(h.AgentCard())
	if err != nil {
		return nil, err
	}
	var m *httpMetrics
	if cfg.metrics != nil {
		if m, err = newHTTPMetrics(cfg.metrics); err != nil {
			return nil, err
		}
		s.metrics = m.set
	}
	s.mux.Handle(WellKnownCardPath, m.instrument("card", card))
	s.mux.Handle(OpenAPIPath, m.instrument("openapi", openAPIHandler()))
	rpc := m.instrument("jsonrpc", withParams(cfg, true, http.HandlerFunc(s.jsonrpc)))
	s.mux.Handle(JSONRPCPath, rpc)
	s.mux.Handle(JSONRPCPath+"/", rpc)
	s.mux.Handle("/", m.instrument("rest", withParams(cfg, false, s.rest)))
	s.entry = observe(cfg, s.mux)
	return s, nil
}

// errDraining ends following streams when the server shuts down.
var errDraining = a2agrpc.NewError(a2agrpc.ReasonUnavailable, "server is shutting down; reconnect and resubscribe")

// Drain ends every SSE stream that only follows a task (subscriptions, in
// both bindings) with an UNAVAILABLE error event, so that
// http.Server.Shutdown is not held up by streams that would otherwise stay
// open; call it first when shutting down. Streams of sends end with their
// task.
func (s *Server) Drain() { s.stop(errDraining) }

// Close drains the server (see Drain) and unregisters its metrics
// ([WithMetrics]), so a new server can register them on the same registry.
// Call it once the http.Server serving it has shut down.
func (s *Server) Close() {
	s.Drain()
	s.metrics.Unregister()
}

// follow derives a context for a following stream that ends on Drain.
func (s *Server) follow(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(s.drain, func() { cancel(errDraining) })
	return ctx, func() { stop(); cancel(nil) }
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.entry.ServeHTTP(w, r) }
