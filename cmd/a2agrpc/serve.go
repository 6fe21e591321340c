package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/examples/echo"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/registry"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/grpcserver"
	"github.com/a2agrpc/a2agrpc/server/host"
	"github.com/a2agrpc/a2agrpc/server/httpserver"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
	"github.com/a2agrpc/a2agrpc/server/webhook"
)

// runServe runs the echo agent until the context ends (SIGINT/SIGTERM),
// then shuts down gracefully.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	grpcAddr := fs.String("grpc-addr", "127.0.0.1:50051", "gRPC listen address (host:port; port 0 picks a free port)")
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "HTTP listen address for HTTP+JSON, SSE and the Agent Card (empty: no HTTP)")
	onePort := fs.String("addr", "", "serve gRPC and HTTP on this single address instead of -grpc-addr and -http-addr (slower gRPC; see BENCHMARKS.md)")
	fs.StringVar(onePort, "one-port", "", "the same as -addr (older name)")
	advertise := fs.String("advertise", "", "host:port put in the Agent Card for the gRPC interface (default: the listen address)")
	advertiseHTTP := fs.String("advertise-http", "", "base URL put in the Agent Card for HTTP+JSON and JSON-RPC (default: http://<HTTP listen address>, with the host of -advertise if given)")
	reflection := fs.Bool("reflection", true, "serve gRPC server reflection")
	drain := fs.Duration("shutdown-timeout", 10*time.Second, "how long a graceful shutdown waits for calls in flight")
	delay := fs.Duration("shutdown-delay", 0, "on SIGTERM/SIGINT, report not ready (/readyz 503, gRPC health NOT_SERVING) and keep serving this long before draining, so load balancers stop sending new calls first")
	adminAddr := fs.String("admin-addr", "", "serve /healthz, /readyz and Prometheus /metrics on this address (e.g. 127.0.0.1:9090; empty: no admin listener)")
	logFormat := fs.String("log-format", "text", "log format on stderr: text or json")
	logLevel := fs.String("log-level", "info", "least severe level logged: debug (every call), info (failed calls), warn or error")
	verbose := fs.Bool("v", false, "the same as -log-level debug")
	storeSpec := fs.String("store", defaultStore, storeUsage)
	maxTasks := fs.Int("max-tasks", taskstore.DefaultMaxTasks, "tasks the in-memory store keeps at most")
	retention := fs.Duration("task-retention", 7*24*time.Hour, "how long finished tasks are kept")
	lease := fs.Duration("runner-lease", server.DefaultRunnerLease, "durable stores: how long tasks of a server that died stay WORKING before another (or the restarted) server fails them")
	pushAllow := fs.String("push-allow", "", "comma-separated addresses, CIDR prefixes or host names (*.example.com) that push notification webhooks may target although internal (loopback, private, link-local); by default only public addresses are called")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060) for profiling")
	registryAddr := fs.String("registry", "", "gRPC address (host:port) of a discovery registry (a2agrpc registry) to register the agent with while it serves: heartbeats keep it listed, shutdown deregisters it")
	registryTTL := fs.Duration("registry-ttl", 0, "lease asked of -registry (0: the registry's default); heartbeats come every third of it")
	extendedFile := fs.String("extended-card", "", "JSON Agent Card served by GetExtendedAgentCard to authenticated callers (needs -client-ca, -jwt-* or -api-keys); its interfaces, security schemes and signature are filled in as the public card's")
	var secFlags securityFlags
	secFlags.register(fs)
	if err := flagsFromEnv(fs); err != nil {
		fmt.Fprintln(stderr, "a2agrpc:", err)
		return errUsage
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	sec, err := secFlags.open(ctx)
	if err != nil {
		return err
	}
	defer sec.Close()
	var extended *a2av1.AgentCard
	if *extendedFile != "" {
		if sec.authn == nil {
			return usageError{errors.New("-extended-card is served to authenticated callers only: configure -client-ca, -jwt-* or -api-keys")}
		}
		if extended, err = readCardFile(*extendedFile); err != nil {
			return usageError{fmt.Errorf("-extended-card: %w", err)}
		}
	}
	store, closeStore, err := openStore(ctx, storeSettings{spec: *storeSpec, maxTasks: *maxTasks, retention: *retention})
	if err != nil {
		return fmt.Errorf("opening the task store: %w", err)
	}
	defer func() {
		if err := closeStore(); err != nil {
			fmt.Fprintln(stderr, "a2agrpc: closing the task store:", err)
		}
	}()
	policy, err := webhook.NewPolicy(a2agrpc.SplitList(*pushAllow)...)
	if err != nil {
		return err
	}
	cfg := host.Config{
		GRPCAddr: *grpcAddr, HTTPAddr: *httpAddr, AdvertiseGRPC: *advertise, AdvertiseHTTP: *advertiseHTTP,
		Card: echo.Card(nil), PrepareCard: sec.card, TLS: sec.tls,
		Handler: append([]server.Option{
			server.WithTaskStore(store), server.WithRunnerLease(*lease), server.WithWebhooks(webhook.WithPolicy(policy)),
		}, sec.handlerOptions()...),
		GRPC: append(sec.grpcOptions(), grpcserver.WithReflection(*reflection)),
		HTTP: sec.httpOptions(),
	}
	if extended != nil {
		cfg.ExtendedCard = func(context.Context, *server.CallInfo) (*a2av1.AgentCard, error) { return extended, nil }
	}
	if *onePort != "" {
		cfg.GRPCAddr, cfg.OnePort = *onePort, true
	} else if *httpAddr == "" {
		cfg.HTTPAddr = "-"
	}
	if *verbose {
		*logLevel = "debug"
	}
	if cfg.Logger, err = newLogger(*logFormat, *logLevel, stderr); err != nil {
		return err
	}
	if *adminAddr != "" {
		cfg.AdminAddr, cfg.Metrics = *adminAddr, prometheus.NewRegistry()
		cfg.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	tracer, stopTracing, err := startTracing(ctx, stderr)
	if err != nil {
		return err
	}
	defer stopTracing()
	cfg.Tracer = tracer
	if *pprofAddr != "" {
		stopPprof, err := servePprof(*pprofAddr)
		if err != nil {
			return err
		}
		defer stopPprof()
	}
	if *registryAddr != "" {
		rc, err := registry.Dial(*registryAddr)
		if err != nil {
			return usageError{fmt.Errorf("-registry: %w", err)}
		}
		defer rc.Close()
		req := &registryv1.RegisterAgentRequest{}
		if *registryTTL > 0 {
			req.Ttl = durationpb.New(*registryTTL)
		}
		cfg.Register = registry.SelfRegister(rc, req, registry.KeepLogger(cfg.Logger))
	}
	agent, err := host.Start(echo.Executor, cfg)
	if err != nil {
		return err
	}
	card := agent.Card()
	if cfg.OnePort {
		fmt.Fprintf(stdout, "a2agrpc: serving %q (A2A %s) on gRPC and HTTP, one port %s\n", card.GetName(), a2agrpc.ProtocolVersion, agent.GRPCAddr())
	} else {
		fmt.Fprintf(stdout, "a2agrpc: serving %q (A2A %s) on gRPC %s\n", card.GetName(), a2agrpc.ProtocolVersion, agent.GRPCAddr())
	}
	if u := agent.URL(); u != "" {
		fmt.Fprintf(stdout, "a2agrpc: HTTP+JSON, JSON-RPC (%s) and the Agent Card (%s) on %s\n", httpserver.JSONRPCPath, httpserver.WellKnownCardPath, u)
	}
	if a := agent.AdminAddr(); a != "" {
		fmt.Fprintf(stdout, "a2agrpc: %s, %s and %s on http://%s\n", host.HealthzPath, host.ReadyzPath, host.MetricsPath, a)
	}

	stopped := make(chan error, 1)
	go func() { stopped <- agent.Wait() }()
	select {
	case err := <-stopped:
		sctx, cancel := context.WithTimeout(context.Background(), *drain)
		defer cancel()
		return errors.Join(err, agent.Shutdown(sctx))
	case <-ctx.Done():
	}
	agent.Quiesce()
	if *delay > 0 {
		fmt.Fprintf(stdout, "a2agrpc: not ready; draining in %s\n", *delay)
		select {
		case <-time.After(*delay):
		case err := <-stopped:
			fmt.Fprintln(stderr, "a2agrpc: a listener failed while quiescing:", err)
		}
	}
	fmt.Fprintln(stdout, "a2agrpc: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	if err := agent.Shutdown(sctx); err != nil {
		fmt.Fprintln(stderr, "a2agrpc: shutdown:", err)
	}
	return nil
}
