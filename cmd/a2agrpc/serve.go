package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/examples/echo"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/grpcserver"
	"github.com/a2agrpc/a2agrpc/server/httpserver"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
	"github.com/a2agrpc/a2agrpc/server/webhook"
)

// splitList splits a comma-separated flag value, dropping empty entries.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// runServe runs the echo agent until the context ends (SIGINT/SIGTERM),
// then shuts down gracefully.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	grpcAddr := fs.String("grpc-addr", "127.0.0.1:50051", "gRPC listen address (host:port; port 0 picks a free port)")
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "HTTP listen address for HTTP+JSON, SSE and the Agent Card (empty: no HTTP)")
	onePort := fs.String("one-port", "", "serve gRPC and HTTP on this single address instead of -grpc-addr and -http-addr (slower gRPC; see BENCHMARKS.md)")
	advertise := fs.String("advertise", "", "host:port put in the Agent Card for the gRPC interface (default: the listen address)")
	advertiseHTTP := fs.String("advertise-http", "", "base URL put in the Agent Card for HTTP+JSON and JSON-RPC (default: http://<HTTP listen address>, with the host of -advertise if given)")
	reflection := fs.Bool("reflection", true, "serve gRPC server reflection")
	drain := fs.Duration("shutdown-timeout", 10*time.Second, "how long a graceful shutdown waits for calls in flight")
	verbose := fs.Bool("v", false, "log agent failures to stderr")
	storeSpec := fs.String("store", defaultStore, storeUsage)
	maxTasks := fs.Int("max-tasks", taskstore.DefaultMaxTasks, "tasks the in-memory store keeps at most")
	retention := fs.Duration("task-retention", 7*24*time.Hour, "how long finished tasks are kept")
	lease := fs.Duration("runner-lease", server.DefaultRunnerLease, "durable stores: how long tasks of a server that died stay WORKING before another (or the restarted) server fails them")
	pushAllow := fs.String("push-allow", "", "comma-separated addresses, CIDR prefixes or host names (*.example.com) that push notification webhooks may target although internal (loopback, private, link-local); by default only public addresses are called")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060) for profiling")
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
	if *onePort != "" {
		*grpcAddr, *httpAddr = *onePort, ""
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
	lis, err := net.Listen("tcp", *grpcAddr)
	if err != nil {
		return err
	}
	addr := lis.Addr().String()
	if *advertise != "" {
		addr = *advertise
	}
	interfaces := []*a2av1.AgentInterface{{
		Url: addr, ProtocolBinding: a2agrpc.BindingGRPC, ProtocolVersion: a2agrpc.ProtocolVersion,
	}}
	var httpLis net.Listener
	httpBase := func(l net.Listener) string {
		if *advertiseHTTP != "" {
			return strings.TrimRight(*advertiseHTTP, "/")
		}
		host, port, _ := net.SplitHostPort(l.Addr().String())
		if *advertise != "" {
			host, _, _ = net.SplitHostPort(*advertise)
		}
		return sec.urlScheme() + "://" + net.JoinHostPort(host, port)
	}
	if *onePort != "" {
		base := httpBase(lis)
		interfaces = append(interfaces,
			&a2av1.AgentInterface{Url: base, ProtocolBinding: a2agrpc.BindingREST, ProtocolVersion: a2agrpc.ProtocolVersion},
			&a2av1.AgentInterface{Url: base + httpserver.JSONRPCPath, ProtocolBinding: a2agrpc.BindingJSONRPC, ProtocolVersion: a2agrpc.ProtocolVersion})
	}
	if *httpAddr != "" {
		if httpLis, err = net.Listen("tcp", *httpAddr); err != nil {
			lis.Close()
			return err
		}
		base := httpBase(httpLis)
		interfaces = append(interfaces,
			&a2av1.AgentInterface{Url: base, ProtocolBinding: a2agrpc.BindingREST, ProtocolVersion: a2agrpc.ProtocolVersion},
			&a2av1.AgentInterface{Url: base + httpserver.JSONRPCPath, ProtocolBinding: a2agrpc.BindingJSONRPC, ProtocolVersion: a2agrpc.ProtocolVersion})
	}
	card, err := sec.card(echo.Card(interfaces, grpcserver.MeshExtension()))
	if err != nil {
		lis.Close()
		return err
	}
	policy, err := webhook.NewPolicy(splitList(*pushAllow)...)
	if err != nil {
		lis.Close()
		return err
	}
	hopts := []server.Option{
		server.WithAgentCard(card), server.WithTaskStore(store), server.WithRunnerLease(*lease),
		server.WithWebhooks(webhook.WithPolicy(policy)),
	}
	hopts = append(hopts, sec.handlerOptions()...)
	if *verbose {
		hopts = append(hopts, server.WithLogger(slog.New(slog.NewTextHandler(stderr, nil))))
	}
	h, err := server.NewHandler(echo.Executor, hopts...)
	if err != nil {
		lis.Close()
		return err
	}
	srv, err := grpcserver.New(h, append(sec.grpcOptions(), grpcserver.WithReflection(*reflection))...)
	if err != nil {
		lis.Close()
		return err
	}
	if *pprofAddr != "" {
		stopPprof, err := servePprof(*pprofAddr)
		if err != nil {
			lis.Close()
			return err
		}
		defer stopPprof()
	}
	served := make(chan error, 2)
	var (
		web *http.Server
		hs  *httpserver.Server
	)
	if *onePort != "" {
		if hs, err = httpserver.New(h, sec.httpOptions()...); err != nil {
			lis.Close()
			return err
		}
		web = &http.Server{Handler: httpserver.OnePort(srv.GRPCServer(), hs), ReadHeaderTimeout: 10 * time.Second}
		web.Protocols = new(http.Protocols)
		web.Protocols.SetHTTP1(true)
		web.Protocols.SetUnencryptedHTTP2(sec.tls == nil)
		web.Protocols.SetHTTP2(sec.tls != nil)
		go func() {
			err := sec.serveHTTP(web, lis)
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			served <- err
		}()
		fmt.Fprintf(stdout, "a2agrpc: serving %q (A2A %s) on gRPC and HTTP, one port %s\n", card.GetName(), a2agrpc.ProtocolVersion, lis.Addr())
	} else {
		go func() { served <- srv.Serve(lis) }()
		fmt.Fprintf(stdout, "a2agrpc: serving %q (A2A %s) on gRPC %s\n", card.GetName(), a2agrpc.ProtocolVersion, lis.Addr())
	}
	if httpLis != nil {
		if hs, err = httpserver.New(h, sec.httpOptions()...); err != nil {
			httpLis.Close()
			srv.Stop()
			return err
		}
		web = &http.Server{Handler: hs, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := sec.serveHTTP(web, httpLis); !errors.Is(err, http.ErrServerClosed) {
				served <- err
			}
		}()
		fmt.Fprintf(stdout, "a2agrpc: HTTP+JSON, JSON-RPC (%s) and the Agent Card (%s) on %s://%s\n", httpserver.JSONRPCPath, httpserver.WellKnownCardPath, sec.urlScheme(), httpLis.Addr())
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "a2agrpc: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	// Order: end the HTTP subscriptions, then stop gRPC and the agents (which
	// ends the streams of sends), then close the now idle HTTP connections.
	if hs != nil {
		hs.Drain()
	}
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintln(stderr, "a2agrpc: shutdown:", err)
	}
	if web != nil {
		// The agents have stopped, so the remaining HTTP streams are ending:
		// give them a moment of their own rather than what is left of sctx.
		hctx, hcancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer hcancel()
		if err := web.Shutdown(hctx); err != nil {
			fmt.Fprintln(stderr, "a2agrpc: HTTP shutdown:", err)
			web.Close()
		}
	}
	<-served
	return nil
}
