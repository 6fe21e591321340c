// Package host runs an A2A agent on real listeners: the gRPC service and
// mesh stream on one address, HTTP+JSON with SSE, JSON-RPC and the Agent
// Card on another (or everything on one port), with an Agent Card whose
// supportedInterfaces name exactly what is served. It is what
// `a2agrpc serve` and the examples are built on, and the shortest way to
// put an [server.Executor] on the network:
//
//	agent, err := host.Start(myExecutor, host.Config{Card: card})
//	...
//	defer agent.Shutdown(context.Background())
//
// Everything finer (interceptors, auth, stores, limits) is passed through
// to the packages that own it: server, grpcserver and httpserver.
package host

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/grpcserver"
	"github.com/a2agrpc/a2agrpc/server/httpserver"
)

// Config says where and how to serve. The zero value serves gRPC and HTTP
// on free loopback ports, in plaintext, with a minimal card.
type Config struct {
	// GRPCAddr is the gRPC listen address (host:port; port 0 picks one).
	// Default "127.0.0.1:0".
	GRPCAddr string
	// HTTPAddr is the HTTP listen address. Default "127.0.0.1:0"; "-"
	// serves no HTTP (and then the card is only reachable over gRPC's
	// GetExtendedAgentCard, if configured).
	HTTPAddr string
	// OnePort serves gRPC and HTTP together on GRPCAddr (HTTPAddr is
	// ignored). gRPC is slower that way: see BENCHMARKS.md.
	OnePort bool
	// AdvertiseGRPC is the host:port put in the card for gRPC (default:
	// the listen address). AdvertiseHTTP is the base URL for HTTP+JSON and
	// JSON-RPC (default: scheme://<listen address>, with the host of
	// AdvertiseGRPC when that is set).
	AdvertiseGRPC, AdvertiseHTTP string
	// Card describes the agent. Its supportedInterfaces are replaced by
	// the served ones, and the mesh extension is added to its
	// capabilities. Nil: a card named "a2agrpc agent".
	Card *a2av1.AgentCard
	// PrepareCard, if set, gets the final card (interfaces filled) before
	// it is served: to add security schemes or a signature.
	PrepareCard func(*a2av1.AgentCard) (*a2av1.AgentCard, error)
	// ExtendedCard, if set, returns the extended Agent Card that
	// GetExtendedAgentCard serves to authenticated callers (the public
	// card then declares capabilities.extendedAgentCard). What it returns
	// is finished like the public card — the served interfaces and the
	// mesh extension filled in, then PrepareCard, so the extended card
	// carries the same security schemes and signature — on each call.
	ExtendedCard server.ExtendedCardFunc
	// TLS, if set, serves both gRPC and HTTP over TLS.
	TLS *tls.Config
	// Handler, GRPC and HTTP pass options to server.NewHandler,
	// grpcserver.New and httpserver.New. WithAgentCard is added by Start.
	Handler []server.Option
	GRPC    []grpcserver.Option
	HTTP    []httpserver.Option

	// Logger receives the call logs of both listeners and the agent's
	// failures (see package calllog). Nil: nothing is logged.
	Logger *slog.Logger
	// Metrics, if set, collects the A2A, gRPC and HTTP series (see
	// server.WithMetrics, grpcserver.WithMetrics, httpserver.WithMetrics)
	// and is served at /metrics on the admin listener.
	Metrics *prometheus.Registry
	// Tracer, if set, traces calls on every binding and agent executions.
	Tracer trace.TracerProvider
	// AdminAddr, if set, is the listen address of the admin HTTP server:
	// /healthz, /readyz and /metrics (see the *Path constants). Keep it
	// off the public network.
	AdminAddr string
	// HealthInterval is how often a task store kept outside the process
	// (one implementing taskstore.Pinger) is pinged to set gRPC health:
	// NOT_SERVING while it does not answer, so gRPC load balancers and
	// probes, which do not read /readyz, stop sending calls that could
	// only fail. Zero means [DefaultHealthInterval]; negative turns the
	// probe off, leaving gRPC health to Quiesce and Shutdown.
	HealthInterval time.Duration
	// Register, if set, announces the agent to a discovery registry:
	// Start calls it with the final card (after PrepareCard) once the
	// listeners are bound, and fails if it fails; Shutdown calls the stop
	// function it returned first, before draining, so that callers stop
	// being sent here while the agent still answers. registry.SelfRegister
	// returns one.
	Register func(ctx context.Context, card *a2av1.AgentCard) (stop func(context.Context) error, err error)
}

// Agent is a served agent.
type Agent struct {
	h     *server.Handler
	card  *a2av1.AgentCard
	grpc  *grpcserver.Server
	hs    *httpserver.Server
	web   *http.Server
	gAddr string
	hURL  string

	admin     *http.Server // nil without Config.AdminAddr
	adminAddr string

	// healthMu orders store probe results against Quiesce, so that a ping
	// finishing late cannot turn gRPC health back on after it.
	healthMu    sync.Mutex
	quiesced    atomic.Bool
	probeCancel context.CancelFunc // nil without a store probe
	probeDone   chan struct{}      // closed when the probe has returned

	unregister func(context.Context) error // nil without Config.Register

	mu      sync.Mutex
	running int           // serving goroutines still running
	serr    error         // the first serving error
	stopped chan struct{} // closed by the first failure or the last return

	once sync.Once
	err  error
}

// Start listens and serves until Shutdown. It returns once the listeners
// are bound, so the agent's addresses are known and reachable.
func Start(exec server.Executor, cfg Config) (*Agent, error) {
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = "127.0.0.1:0"
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = "127.0.0.1:0"
	}
	lis, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return nil, err
	}
	var httpLis, adminLis net.Listener
	closeAll := func() {
		for _, l := range []net.Listener{lis, httpLis, adminLis} {
			if l != nil {
				l.Close()
			}
		}
	}
	if !cfg.OnePort && cfg.HTTPAddr != "-" {
		if httpLis, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			closeAll()
			return nil, err
		}
	}
	if cfg.AdminAddr != "" {
		if adminLis, err = net.Listen("tcp", cfg.AdminAddr); err != nil {
			closeAll()
			return nil, fmt.Errorf("host: admin listener: %w", err)
		}
	}
	a, err := start(exec, cfg, lis, httpLis)
	if err != nil {
		closeAll()
		return nil, err
	}
	if adminLis != nil {
		a.serveAdmin(cfg, adminLis)
	}
	if cfg.Register != nil {
		ctx, cancel := context.WithTimeout(context.Background(), registerTimeout)
		defer cancel()
		if a.unregister, err = cfg.Register(ctx, a.card); err != nil {
			return nil, errors.Join(fmt.Errorf("host: registering the agent: %w", err), a.Shutdown(context.Background()))
		}
	}
	return a, nil
}

// registerTimeout bounds Config.Register in Start, deregisterTimeout its
// stop function in Shutdown.
const (
	registerTimeout   = 30 * time.Second
	deregisterTimeout = 2 * time.Second
)

func start(exec server.Executor, cfg Config, lis, httpLis net.Listener) (*Agent, error) {
	a := &Agent{stopped: make(chan struct{})}
	a.gAddr = reachable(lis.Addr().String())
	if cfg.AdvertiseGRPC != "" {
		a.gAddr = cfg.AdvertiseGRPC
	}
	switch {
	case cfg.OnePort:
		a.hURL = httpBase(cfg, lis)
	case httpLis != nil:
		a.hURL = httpBase(cfg, httpLis)
	}
	card, err := a.buildCard(cfg)
	if err != nil {
		return nil, err
	}
	a.card = card
	observeOptions(&cfg)
	hopts := append(cfg.Handler, server.WithAgentCard(card))
	if cfg.ExtendedCard != nil {
		hopts = append(hopts, server.WithExtendedAgentCard(a.extendedCard(cfg)))
	}
	if a.h, err = server.NewHandler(exec, hopts...); err != nil {
		return nil, err
	}
	gopts := cfg.GRPC
	if cfg.TLS != nil {
		gopts = append([]grpcserver.Option{grpcserver.WithGRPCOptions(grpc.Creds(credentials.NewTLS(cfg.TLS)))}, gopts...)
	}
	if a.grpc, err = grpcserver.New(a.h, gopts...); err != nil {
		return nil, errors.Join(err, a.h.Close(context.Background()))
	}
	if a.hURL != "" {
		if a.hs, err = httpserver.New(a.h, cfg.HTTP...); err != nil {
			a.grpc.Stop()
			return nil, err
		}
	}
	a.serve(cfg, lis, httpLis)
	a.startProbe(cfg)
	return a, nil
}

// serve starts the servers' goroutines.
func (a *Agent) serve(cfg Config, lis, httpLis net.Listener) {
	if cfg.OnePort {
		a.web = &http.Server{Handler: httpserver.OnePort(a.grpc.GRPCServer(), a.hs), ReadHeaderTimeout: 10 * time.Second}
		a.web.Protocols = new(http.Protocols)
		a.web.Protocols.SetHTTP1(true)
		a.web.Protocols.SetUnencryptedHTTP2(cfg.TLS == nil)
		a.web.Protocols.SetHTTP2(cfg.TLS != nil)
		a.run(func() error { return serveHTTP(a.web, lis, cfg.TLS) })
		return
	}
	a.run(func() error { return a.grpc.Serve(lis) })
	if httpLis != nil {
		a.web = &http.Server{Handler: a.hs, ReadHeaderTimeout: 10 * time.Second}
		a.run(func() error { return serveHTTP(a.web, httpLis, cfg.TLS) })
	}
}

// run serves in a goroutine; Wait learns when it fails or all have ended.
func (a *Agent) run(serve func() error) {
	a.mu.Lock()
	a.running++
	a.mu.Unlock()
	go func() {
		err := serve()
		a.mu.Lock()
		defer a.mu.Unlock()
		a.running--
		first := a.serr == nil && err != nil
		if first {
			a.serr = err
		}
		if first || a.running == 0 {
			select {
			case <-a.stopped:
			default:
				close(a.stopped)
			}
		}
	}()
}

// serveHTTP serves web on l, over TLS when tc is set; a shutdown is not an
// error.
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

// httpBase is the advertised base URL of the HTTP listener l.
func httpBase(cfg Config, l net.Listener) string {
	if cfg.AdvertiseHTTP != "" {
		return strings.TrimRight(cfg.AdvertiseHTTP, "/")
	}
	host, port, _ := net.SplitHostPort(reachable(l.Addr().String()))
	if cfg.AdvertiseGRPC != "" {
		host, _, _ = net.SplitHostPort(cfg.AdvertiseGRPC)
	}
	scheme := "http"
	if cfg.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// reachable replaces a wildcard listen host (0.0.0.0, ::) by this
// machine's host name: a card naming a wildcard address cannot be dialled
// from anywhere else. Set the Advertise fields when the name is not what
// clients resolve (containers, NAT).
func reachable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
		return addr
	}
	name, err := os.Hostname()
	if err != nil || name == "" {
		name = "localhost"
	}
	return net.JoinHostPort(name, port)
}

// buildCard fills the served interfaces into the configured card.
func (a *Agent) buildCard(cfg Config) (*a2av1.AgentCard, error) {
	card := &a2av1.AgentCard{Name: "a2agrpc agent", Description: "An A2A agent served by a2agrpc.", Version: "1.0.0",
		Capabilities: &a2av1.AgentCapabilities{Streaming: proto.Bool(true)}}
	if cfg.Card != nil {
		card = proto.Clone(cfg.Card).(*a2av1.AgentCard)
	}
	if cfg.ExtendedCard != nil {
		if card.Capabilities == nil {
			card.Capabilities = &a2av1.AgentCapabilities{}
		}
		card.Capabilities.ExtendedAgentCard = proto.Bool(true)
	}
	return a.finishCard(cfg, card)
}

// extendedCard serves cfg.ExtendedCard's cards finished as the public one
// is: an extended card missing the interfaces, or the security schemes and
// signature the public card has, would tell an authenticated caller less,
// and a verifying client would reject it.
func (a *Agent) extendedCard(cfg Config) server.ExtendedCardFunc {
	return func(ctx context.Context, call *server.CallInfo) (*a2av1.AgentCard, error) {
		card, err := cfg.ExtendedCard(ctx, call)
		if err != nil || card == nil {
			return card, err
		}
		card = proto.Clone(card).(*a2av1.AgentCard)
		if card.Capabilities == nil {
			card.Capabilities = &a2av1.AgentCapabilities{}
		}
		card.Capabilities.ExtendedAgentCard = proto.Bool(true)
		return a.finishCard(cfg, card)
	}
}

// finishCard fills the served interfaces and the mesh extension into card
// (which it may modify) and applies cfg.PrepareCard.
func (a *Agent) finishCard(cfg Config, card *a2av1.AgentCard) (*a2av1.AgentCard, error) {
	v := a2agrpc.ProtocolVersion
	card.SupportedInterfaces = []*a2av1.AgentInterface{{Url: a.gAddr, ProtocolBinding: a2agrpc.BindingGRPC, ProtocolVersion: v}}
	if a.hURL != "" {
		card.SupportedInterfaces = append(card.SupportedInterfaces,
			&a2av1.AgentInterface{Url: a.hURL, ProtocolBinding: a2agrpc.BindingREST, ProtocolVersion: v},
			&a2av1.AgentInterface{Url: a.hURL + httpserver.JSONRPCPath, ProtocolBinding: a2agrpc.BindingJSONRPC, ProtocolVersion: v})
	}
	if card.Capabilities == nil {
		card.Capabilities = &a2av1.AgentCapabilities{}
	}
	if !hasExtension(card, a2agrpc.MeshExtensionURI) {
		card.Capabilities.Extensions = append(card.Capabilities.Extensions, grpcserver.MeshExtension())
	}
	if cfg.PrepareCard != nil {
		return cfg.PrepareCard(card)
	}
	return card, nil
}

func hasExtension(card *a2av1.AgentCard, uri string) bool {
	for _, e := range card.GetCapabilities().GetExtensions() {
		if e.GetUri() == uri {
			return true
		}
	}
	return false
}

// Card is the card served (do not modify it).
func (a *Agent) Card() *a2av1.AgentCard { return a.card }

// URL is the HTTP base URL ("" without HTTP); the card is at
// URL()+"/.well-known/agent-card.json".
func (a *Agent) URL() string { return a.hURL }

// GRPCAddr is the advertised gRPC address.
func (a *Agent) GRPCAddr() string { return a.gAddr }

// Handler is the agent's engine, for calling it in process.
func (a *Agent) Handler() *server.Handler { return a.h }

// Wait blocks until a server fails (then it returns the error; call
// Shutdown to stop the rest) or Shutdown has stopped them all (nil).
func (a *Agent) Wait() error {
	<-a.stopped
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.serr
}

// Shutdown stops gracefully: HTTP subscriptions end first (with an
// UNAVAILABLE event, so clients resubscribe elsewhere), then gRPC drains
// its calls and the agents stop (ending the streams of sends), then the
// idle HTTP connections close. When ctx ends first, what remains is cut.
// Clients holding idle HTTP/2 connections over TLS delay the end by up to a
// second (net/http waits for them to leave after its GOAWAY); close them
// first where that matters.
func (a *Agent) Shutdown(ctx context.Context) error {
	a.once.Do(func() { a.err = a.shutdown(ctx) })
	return a.err
}

func (a *Agent) shutdown(ctx context.Context) error {
	var regErr error
	if a.unregister != nil {
		// Bounded: a registry that does not answer must not eat the
		// budget the calls in flight need to drain (the lease expires
		// by itself anyway).
		rctx, cancel := context.WithTimeout(ctx, deregisterTimeout)
		if regErr = a.unregister(rctx); regErr != nil {
			regErr = fmt.Errorf("host: deregistering the agent: %w", regErr)
		}
		cancel()
	}
	a.stopProbe()
	a.Quiesce()
	if a.hs != nil {
		a.hs.Drain()
	}
	err := a.grpc.Shutdown(ctx)
	if a.web != nil {
		// The agents have stopped, so the remaining HTTP streams are
		// ending: give them a moment of their own.
		hctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if e := a.web.Shutdown(hctx); e != nil {
			a.web.Close()
			err = errors.Join(err, fmt.Errorf("host: HTTP shutdown: %w", e))
		}
	}
	if a.hs != nil {
		a.hs.Close() // its metrics leave the registry with the handler's
	}
	if a.admin != nil {
		actx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if e := a.admin.Shutdown(actx); e != nil {
			a.admin.Close()
		}
	}
	return errors.Join(regErr, err)
}
