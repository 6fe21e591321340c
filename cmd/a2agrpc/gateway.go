package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/client"
	"github.com/a2agrpc/a2agrpc/gateway"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/a2ajson"
	"github.com/a2agrpc/a2agrpc/server/admin"
	"github.com/a2agrpc/a2agrpc/server/httpserver"
)

// runGateway serves the HTTP bindings of an A2A agent reached over gRPC,
// with the operator features of serve: an admin listener (liveness,
// readiness that follows the agent, metrics), request logs, tracing from
// the OTEL_* variables and a graceful shutdown in two steps.
func runGateway(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("gateway", "", stderr)
	target := fs.String("target", "", "host:port of the A2A gRPC agent to front (or -registry)")
	var pool poolFlags
	pool.register(fs)
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "HTTP listen address")
	advertise := fs.String("advertise-http", "", "base URL put in the Agent Card (default: http(s)://<listen address>)")
	cardFile := fs.String("card", "", "JSON Agent Card describing the agent (name, skills, capabilities); its interfaces are replaced by the gateway's. Default: a minimal card with streaming on")
	forward := fs.String("forward", strings.Join(gateway.DefaultForward, ","), "request headers passed on to the agent (with tracing on, the gateway sends its own trace context instead of traceparent and tracestate)")
	certFile := fs.String("tls-cert", "", "PEM certificate: serve HTTPS")
	keyFile := fs.String("tls-key", "", "PEM private key of -tls-cert")
	adminAddr := fs.String("admin-addr", "", "serve /healthz, /readyz (ready while the agent answers its gRPC health check) and Prometheus /metrics on this address (e.g. 127.0.0.1:9091; empty: no admin listener)")
	logFormat := fs.String("log-format", "text", "log format on stderr: text or json")
	logLevel := fs.String("log-level", "info", "least severe level logged: debug (every request), info (failed requests), warn or error")
	verbose := fs.Bool("v", false, "the same as -log-level debug")
	drain := fs.Duration("shutdown-timeout", 10*time.Second, "how long a graceful shutdown waits for requests in flight")
	delay := fs.Duration("shutdown-delay", 0, "on SIGTERM/SIGINT, report not ready (/readyz 503) and keep serving this long before draining, so load balancers stop sending new requests first")
	var up clientFlags // TLS towards the agent
	fs.StringVar(&up.ca, "ca", "", "PEM CA bundle verifying the agent's certificate (implies TLS to the agent)")
	fs.StringVar(&up.cert, "cert", "", "PEM client certificate presented to the agent (mutual TLS)")
	fs.StringVar(&up.key, "key", "", "PEM private key of -cert")
	fs.StringVar(&up.serverName, "server-name", "", "name verified in the agent's certificate (implies TLS)")
	if err := flagsFromEnv(fs); err != nil {
		fmt.Fprintln(stderr, "a2agrpc:", err)
		return errUsage
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if (*target == "") == (pool.registry == "") {
		fs.Usage()
		return usageError{errors.New("gateway: give -target (one agent) or -registry (a pool), not both")}
	}
	if err := pool.check(); err != nil {
		return usageError{err}
	}
	var serveTLS *tls.Config
	if *certFile != "" || *keyFile != "" {
		pair, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return usageError{fmt.Errorf("-tls-cert/-tls-key: %w", err)}
		}
		serveTLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	}
	upTLS, err := up.tlsConfig()
	if err != nil {
		return usageError{err}
	}
	if *verbose {
		*logLevel = "debug"
	}
	logger, err := newLogger(*logFormat, *logLevel, stderr)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return err
	}
	defer lis.Close()
	var adminLis net.Listener
	if *adminAddr != "" {
		if adminLis, err = net.Listen("tcp", *adminAddr); err != nil {
			return fmt.Errorf("admin listener: %w", err)
		}
		defer adminLis.Close()
	}
	tracer, stopTracing, err := startTracing(ctx, stderr)
	if err != nil {
		return err
	}
	defer stopTracing()

	base := strings.TrimRight(*advertise, "/")
	if base == "" {
		base = "http://" + lis.Addr().String()
		if serveTLS != nil {
			base = "https://" + lis.Addr().String()
		}
	}
	var opts []client.Option
	if upTLS != nil {
		opts = append(opts, client.WithTLS(upTLS))
	}
	hopts := []httpserver.Option{httpserver.WithLogger(logger)}
	fwd := a2agrpc.SplitList(*forward)
	if tracer != nil {
		// otelhttp (httpserver.WithTracerProvider) has already continued
		// the caller's traceparent and tracestate in the gateway's server
		// span, and the client's gRPC instrumentation sends the trace
		// context of its own client span, a child of that one. Passing the
		// raw headers on as well would replace it, and the agent's spans
		// would hang off the caller's, skipping the gateway's.
		opts = append(opts, client.WithTracerProvider(tracer))
		hopts = append(hopts, httpserver.WithTracerProvider(tracer))
		fwd = withoutTraceContext(fwd)
	}
	if fwd == nil {
		fwd = []string{} // -forward "": pass nothing on
	}
	var reg *prometheus.Registry
	if adminLis != nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		hopts = append(hopts, httpserver.WithMetrics(reg))
	}
	var remote *gateway.Remote
	upstream := "agent at " + *target
	if pool.registry != "" {
		disc, err := openDiscovery(ctx, pool.registry, logger, opts)
		if err != nil {
			return err
		}
		defer disc.Close()
		var card *a2av1.AgentCard
		if remote, card, err = pool.remote(ctx, disc, *cardFile, base); err != nil {
			return err
		}
		upstream = fmt.Sprintf("agents offering %s (registry %s; card of %q)", pool.describe(), pool.registry, card.GetName())
	} else {
		card, err := gatewayCard(*cardFile, "A2A agent at "+*target, base)
		if err != nil {
			return err
		}
		agent := &a2av1.AgentCard{Name: card.GetName(), SupportedInterfaces: []*a2av1.AgentInterface{
			{Url: *target, ProtocolBinding: a2agrpc.BindingGRPC, ProtocolVersion: a2agrpc.ProtocolVersion}}}
		if remote, err = gateway.NewRemote(agent, card, opts...); err != nil {
			return err
		}
	}
	defer remote.Close()
	h, err := gateway.New(remote, fwd, hopts...)
	if err != nil {
		return err
	}

	// Ready while not shutting down and the agent answers: a gateway
	// without its agent could only fail the calls it gets.
	var quiesced atomic.Bool
	ready := func(ctx context.Context) error {
		if quiesced.Load() {
			return errors.New("shutting down")
		}
		if err := remote.Ping(ctx); err != nil {
			return fmt.Errorf("%s: %w", upstream, err)
		}
		return nil
	}
	served := make(chan error, 2)
	web := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, TLSConfig: serveTLS}
	go func() {
		var err error
		if serveTLS != nil {
			err = web.ServeTLS(lis, "", "")
		} else {
			err = web.Serve(lis)
		}
		served <- err
	}()
	var adminSrv *http.Server
	if adminLis != nil {
		adminSrv = &http.Server{Handler: admin.Handler(ready, reg), ReadHeaderTimeout: 10 * time.Second}
		go func() { served <- adminSrv.Serve(adminLis) }()
	}
	fmt.Fprintf(stdout, "a2agrpc: gateway for %s: HTTP+JSON, JSON-RPC (%s) and the Agent Card on %s\n",
		upstream, httpserver.JSONRPCPath, base)
	if adminLis != nil {
		fmt.Fprintf(stdout, "a2agrpc: %s, %s and %s on http://%s\n", admin.HealthzPath, admin.ReadyzPath, admin.MetricsPath, adminLis.Addr())
	}

	var failed error
	select {
	case failed = <-served:
	case <-ctx.Done():
		// Readiness turns off first; the gateway keeps serving for the
		// delay, so load balancers notice before connections are refused.
		quiesced.Store(true)
		if *delay > 0 {
			fmt.Fprintf(stdout, "a2agrpc: not ready; draining in %s\n", *delay)
			select {
			case <-time.After(*delay):
			case failed = <-served:
			}
		}
	}
	fmt.Fprintln(stdout, "a2agrpc: shutting down")
	// The admin listener stops last, so probes see the drain through.
	sctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	h.Drain() // subscriptions end with UNAVAILABLE; streams of sends end with their task
	if err := web.Shutdown(sctx); err != nil {
		// Streams that outlast the timeout are cut; their clients
		// resubscribe through another gateway.
		web.Close()
	}
	h.Close()
	if adminSrv != nil {
		actx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := adminSrv.Shutdown(actx); err != nil {
			adminSrv.Close()
		}
	}
	if failed != nil && !errors.Is(failed, http.ErrServerClosed) {
		return failed
	}
	return nil
}

// withoutTraceContext drops the W3C trace context headers from a forward
// list, whatever their case.
func withoutTraceContext(names []string) []string {
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool {
		return strings.EqualFold(n, "traceparent") || strings.EqualFold(n, "tracestate")
	})
}

// gatewayCard is the card the gateway serves: the given one (or a minimal
// one named name) with the gateway's own interfaces.
func gatewayCard(file, name, base string) (*a2av1.AgentCard, error) {
	card := &a2av1.AgentCard{
		Name:               name,
		Description:        "An A2A gRPC agent served over HTTP by the a2agrpc gateway.",
		Version:            "1.0.0",
		Capabilities:       &a2av1.AgentCapabilities{Streaming: proto.Bool(true)},
		DefaultInputModes:  []string{"text/plain"},
		DefaultOutputModes: []string{"text/plain"},
	}
	if file != "" {
		var err error
		if card, err = readCardFile(file); err != nil {
			return nil, fmt.Errorf("-card: %w", err)
		}
	}
	return withGatewayInterfaces(card, base), nil
}

// readCardFile reads a JSON Agent Card.
func readCardFile(file string) (*a2av1.AgentCard, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	card := &a2av1.AgentCard{}
	if err := a2ajson.Unmarshal(raw, card); err != nil {
		return nil, fmt.Errorf("%s is not an Agent Card: %w", file, err)
	}
	return card, nil
}

// withGatewayInterfaces replaces card's interfaces with the gateway's.
func withGatewayInterfaces(card *a2av1.AgentCard, base string) *a2av1.AgentCard {
	v := a2agrpc.ProtocolVersion
	card.SupportedInterfaces = []*a2av1.AgentInterface{
		{Url: base, ProtocolBinding: a2agrpc.BindingREST, ProtocolVersion: v},
		{Url: base + httpserver.JSONRPCPath, ProtocolBinding: a2agrpc.BindingJSONRPC, ProtocolVersion: v},
	}
	card.Signatures = nil // a signature over the agent's own card no longer matches
	return card
}
