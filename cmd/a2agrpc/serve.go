package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/examples/echo"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/grpcserver"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// runServe runs the echo agent until the context ends (SIGINT/SIGTERM),
// then shuts down gracefully.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	grpcAddr := fs.String("grpc-addr", "127.0.0.1:50051", "gRPC listen address (host:port; port 0 picks a free port)")
	advertise := fs.String("advertise", "", "host:port put in the Agent Card for the gRPC interface (default: the listen address)")
	reflection := fs.Bool("reflection", true, "serve gRPC server reflection")
	drain := fs.Duration("shutdown-timeout", 10*time.Second, "how long a graceful shutdown waits for calls in flight")
	verbose := fs.Bool("v", false, "log agent failures to stderr")
	maxTasks := fs.Int("max-tasks", taskstore.DefaultMaxTasks, "tasks the in-memory store keeps at most")
	retention := fs.Duration("task-retention", taskstore.DefaultTerminalRetention, "how long finished tasks are kept")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060) for profiling")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	lis, err := net.Listen("tcp", *grpcAddr)
	if err != nil {
		return err
	}
	addr := lis.Addr().String()
	if *advertise != "" {
		addr = *advertise
	}
	card := echo.Card([]*a2av1.AgentInterface{{
		Url: addr, ProtocolBinding: a2agrpc.BindingGRPC, ProtocolVersion: a2agrpc.ProtocolVersion,
	}}, grpcserver.MeshExtension())
	store := taskstore.NewMemory(taskstore.WithMaxTasks(*maxTasks), taskstore.WithTerminalRetention(*retention))
	hopts := []server.Option{server.WithAgentCard(card), server.WithTaskStore(store)}
	if *verbose {
		hopts = append(hopts, server.WithLogger(slog.New(slog.NewTextHandler(stderr, nil))))
	}
	h, err := server.NewHandler(echo.Executor, hopts...)
	if err != nil {
		lis.Close()
		return err
	}
	srv, err := grpcserver.New(h, grpcserver.WithReflection(*reflection))
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
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	fmt.Fprintf(stdout, "a2agrpc: serving %q (A2A %s) on gRPC %s\n", card.GetName(), a2agrpc.ProtocolVersion, lis.Addr())

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "a2agrpc: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintln(stderr, "a2agrpc: shutdown:", err)
	}
	<-served
	return nil
}
