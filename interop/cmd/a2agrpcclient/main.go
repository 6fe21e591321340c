// Command a2agrpcclient drives an A2A agent with a2agrpc's own client over
// one transport and reports, per check, whether the agent answered as the
// A2A v1.0 specification says.
//
// It exists for the interop suite's "our client against their server"
// half: the suite starts a2a-go's server (cmd/a2agoserver) and runs this
// binary once per transport. Our client and a2a-go cannot share a process
// (both register the lf.a2a.v1 protobuf names), so the checks run here and
// the test reads their results from stdout: one JSON line, an array of
// {"check": name, "result": "ok" or the failure}, in the order they ran.
//
// The agent is expected to behave like a2agrpc's echo agent: a message is
// answered with a COMPLETED task carrying one text artifact that echoes it
// in three chunks; "/hold" stays WORKING until canceled; "/message" is
// answered with a Message; the extended card is configured.
//
//	a2agrpcclient -url http://127.0.0.1:8080 -transport GRPC
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime/debug"
	"time"

	"github.com/a2agrpc/a2agrpc/client"
)

// result is one line item of the output.
type result struct {
	Check  string `json:"check"`
	Result string `json:"result"`
}

// checkTimeout bounds each check.
const checkTimeout = 30 * time.Second

func main() {
	base := flag.String("url", "", "base URL of the agent (serving /.well-known/agent-card.json)")
	transport := flag.String("transport", client.TransportGRPC, "transport to use: GRPC, HTTP+JSON or JSONRPC")
	flag.Parse()
	if *base == "" {
		log.Fatal("a2agrpcclient: -url is required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	c, err := client.New(ctx, *base, client.WithTransports(*transport))
	cancel()
	if err != nil {
		log.Fatal("a2agrpcclient: ", err)
	}
	defer c.Close()
	if c.Transport() != *transport {
		log.Fatalf("a2agrpcclient: the client chose %s, not %s", c.Transport(), *transport)
	}
	e := &env{c: c, base: *base, transport: *transport}
	var out []result
	for _, ch := range checks {
		out = append(out, result{Check: ch.name, Result: run(e, ch)})
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		log.Fatal("a2agrpcclient: ", err)
	}
}

// run runs one check under its own deadline; a panic is a failure of that
// check only.
func run(e *env, ch check) (res string) {
	defer func() {
		if p := recover(); p != nil {
			res = fmt.Sprintf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	if err := ch.run(ctx, e); err != nil {
		return err.Error()
	}
	return "ok"
}
