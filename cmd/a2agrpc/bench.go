package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"google.golang.org/grpc"

	"github.com/a2agrpc/a2agrpc/examples/echo"
	"github.com/a2agrpc/a2agrpc/internal/grpcecho"
	"github.com/a2agrpc/a2agrpc/internal/loadgen"
)

// runBench drives an endpoint with closed-loop workers and prints what it
// measured.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", "grpc", "endpoint kind: grpc (A2A gRPC), mesh (a2agrpc mesh stream), rest (HTTP+JSON and SSE), jsonrpc (JSON-RPC 2.0), grpc-raw (the bare grpc-go baseline served by the baseline command)")
	addr := fs.String("addr", "127.0.0.1:50051", "endpoint: host:port for grpc, mesh and grpc-raw; the base URL for rest (http://127.0.0.1:8080); the endpoint URL for jsonrpc (http://127.0.0.1:8080/jsonrpc)")
	mode := fs.String("mode", "unary", "unary (blocking send of the echo task), stream (5-event streaming send), or idle (hold -streams idle SubscribeToTask streams and report server memory per stream; needs -server-pid)")
	streams := fs.Int("streams", 10_000, "idle mode: subscriptions to hold open")
	c := fs.Int("c", 16, "concurrent closed-loop workers")
	d := fs.Duration("d", 5*time.Second, "measured window")
	warmup := fs.Duration("warmup", time.Second, "warm-up before the window")
	conns := fs.Int("conns", 1, "connections (workers share them round-robin)")
	pid := fs.Int("server-pid", 0, "server process id, to report its CPU time per call (Linux)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *mode == "idle" {
		res, err := loadgen.IdleStreams(ctx, *addr, *streams, 900, *pid, echo.Hold)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(map[string]any{"target": *target, "mode": "idle", "streams": res.Streams,
				"rssBefore": res.RSSBefore, "rssAfter": res.RSSAfter, "bytesPerStream": res.BytesPerStream})
		}
		fmt.Fprintf(stdout, "%s idle: %d SubscribeToTask streams held; server RSS %.1f MiB -> %.1f MiB, %.1f KiB per stream\n",
			*target, res.Streams, float64(res.RSSBefore)/(1<<20), float64(res.RSSAfter)/(1<<20), res.BytesPerStream/1024)
		return nil
	}
	var (
		t   loadgen.Target
		err error
	)
	switch *target {
	case "grpc":
		t, err = loadgen.NewGRPC(*addr, *conns)
	case "mesh":
		t, err = loadgen.NewMesh(*addr, *conns, *c)
	case "grpc-raw":
		t, err = loadgen.NewRaw(*addr, *conns)
	case "rest":
		t = loadgen.NewREST(*addr, *c)
	case "jsonrpc":
		t = loadgen.NewJSONRPC(*addr, *c)
	default:
		fmt.Fprintf(stderr, "a2agrpc bench: unknown -target %q\n", *target)
		return errUsage
	}
	if err != nil {
		return err
	}
	defer t.Close()
	res, err := loadgen.Run(ctx, t, loadgen.Config{
		Mode: loadgen.Mode(*mode), Concurrency: *c, Duration: *d, Warmup: *warmup, ServerPID: *pid,
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{
			"target": *target, "mode": res.Mode, "c": res.Concurrency, "conns": *conns,
			"calls": res.Calls, "events": res.Events, "errors": res.Errors, "seconds": res.Elapsed.Seconds(),
			"rate": res.Rate(), "eventRate": res.EventRate(),
			"p50us": micros(res.Latency.P50), "p90us": micros(res.Latency.P90), "p99us": micros(res.Latency.P99),
			"ttfeP50us": micros(res.TTFE.P50), "ttfeP99us": micros(res.TTFE.P99),
			"serverCPUus": micros(res.ServerCPUPerCall()),
			"loadCPUpct":  100 * res.LoadCPU.Seconds() / res.Elapsed.Seconds(),
		})
	}
	fmt.Fprintln(stdout, loadgen.Format(*target, res))
	return nil
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// runBaseline serves the bare grpc-go echo that `make bench` compares with.
func runBaseline(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:50052", "listen address")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	s := grpc.NewServer()
	grpcecho.Register(s)
	fmt.Fprintf(stdout, "a2agrpc: bare grpc-go echo baseline on %s\n", lis.Addr())
	go func() { <-ctx.Done(); s.GracefulStop() }()
	return s.Serve(lis)
}
