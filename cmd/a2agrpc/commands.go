package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
)

// command is one "a2agrpc <name>" subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands is the one list of subcommands; usage and dispatch both read it.
func commands() map[string]command {
	return map[string]command{
		"version":   {summary: "print the build and protocol versions", run: runVersion},
		"serve":     {summary: "run the echo agent over gRPC, the mesh stream, HTTP+JSON/SSE and JSON-RPC", run: runServe},
		"bench":     {summary: "drive an A2A endpoint with concurrent workers and report throughput and latency", run: runBench},
		"baseline":  {summary: "serve the bare grpc-go echo that benchmarks compare against", run: runBaseline},
		"certs":     {summary: "create a development CA, a server certificate and client certificates for mutual TLS", run: runCerts},
		"apikey":    {summary: "create an API key and the hashed line for the server's key file", run: runAPIKey},
		"gateway":   {summary: "serve HTTP+JSON/SSE, JSON-RPC and the Agent Card in front of any A2A gRPC agent", run: runGateway},
		"card":      {summary: "fetch (and with -card-keys verify) an agent's Agent Card", run: runCard},
		"send":      {summary: "send a message to an agent (-stream shows live progress)", run: runSend},
		"get":       {summary: "show a task", run: runGet},
		"list":      {summary: "list tasks", run: runList},
		"cancel":    {summary: "cancel a task", run: runCancel},
		"subscribe": {summary: "stream a running task's updates", run: runSubscribe},
		"workflow":  {summary: "run (or check) a multi-agent workflow file, showing each step's progress", run: runWorkflow},
		"registry":  {summary: "run the discovery registry: agents register and heartbeat, callers search and watch by capability", run: runRegistry},
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `a2agrpc — an A2A v1.0 agent server and client (gRPC, HTTP+JSON, JSON-RPC)

Usage:
  a2agrpc <command> [flags]

Commands:
`)
	cmds := commands()
	for _, name := range slices.Sorted(maps.Keys(cmds)) {
		fmt.Fprintf(w, "  %-10s %s\n", name, cmds[name].summary)
	}
	fmt.Fprint(w, `  help       print this help

Run "a2agrpc <command> -h" for the flags of a command.

Exit codes: 0 success; 1 the agent answered with an error (or another
failure); 2 bad command line; 3 the agent could not be reached or timed
out; 4 the task ended FAILED, REJECTED or CANCELED; 5 the agent refused the
credentials.
`)
}
