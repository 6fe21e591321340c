// Command hello is the smallest complete A2A program: it serves a greeting
// agent on loopback, then greets it once over each transport the Go client
// speaks — the multiplexed mesh stream, plain gRPC, HTTP+JSON and JSON-RPC —
// and shuts the agent down.
//
//	go run ./examples/hello
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc/client"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/host"
)

// transports are the four ways a client can reach an agent served by host,
// in the order the example tries them.
var transports = []string{client.TransportMesh, client.TransportGRPC, client.TransportREST, client.TransportJSONRPC}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, "world"); err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
}

// run serves the greeter, greets name over every transport, printing one
// line per transport, and stops the agent again.
func run(ctx context.Context, out io.Writer, name string) (err error) {
	agent, err := host.Start(greeter, host.Config{Card: card()})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, shutdown(agent)) }()
	fmt.Fprintf(out, "agent %q: HTTP %s, gRPC %s\n", agent.Card().GetName(), agent.URL(), agent.GRPCAddr())
	for _, t := range transports {
		used, reply, err := greet(ctx, agent.URL(), t, name)
		if err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
		fmt.Fprintf(out, "%-9s -> %s\n", used, reply)
	}
	return nil
}

// greeter answers every message with a direct reply instead of a task:
// a greeting has no progress to report and nothing to look up later, so a
// task would only cost the server storage.
var greeter = server.ExecutorFunc(func(_ context.Context, req *server.Request, w *server.TaskWriter) error {
	return w.Reply(server.TextPart(greeting(req.Text())))
})

// greeting is what the agent says to name.
func greeting(name string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "stranger"
	}
	return "Hello, " + name + "!"
}

// card describes the greeter; host fills in the interfaces it serves.
func card() *a2av1.AgentCard {
	return &a2av1.AgentCard{
		Name:               "hello",
		Description:        "Greets whoever writes to it.",
		Version:            "1.0.0",
		Capabilities:       &a2av1.AgentCapabilities{Streaming: proto.Bool(true)},
		DefaultInputModes:  []string{"text/plain"},
		DefaultOutputModes: []string{"text/plain"},
		Skills: []*a2av1.AgentSkill{{
			Id: "greet", Name: "Greet", Description: "Says hello to the name it is sent.",
			Tags: []string{"demo"}, Examples: []string{"world"},
		}},
	}
}

// greet connects to the agent at baseURL the way any A2A client does —
// through its Agent Card — restricted to one transport, and sends name. It
// returns the transport the client reports using, so the output proves
// which one carried the call, and the reply.
func greet(ctx context.Context, baseURL, transport, name string) (used, reply string, err error) {
	c, err := client.New(ctx, baseURL, client.WithTransports(transport))
	if err != nil {
		return "", "", err
	}
	defer c.Close()
	resp, err := c.SendMessage(ctx, &a2av1.SendMessageRequest{Message: userMessage(name)})
	if err != nil {
		return "", "", err
	}
	reply, err = replyText(resp)
	return c.Transport(), reply, err
}

// userMessage is a one-part text message from the user.
func userMessage(text string) *a2av1.Message {
	return &a2av1.Message{MessageId: uuid.NewString(), Role: a2av1.Role_ROLE_USER,
		Parts: []*a2av1.Part{server.TextPart(text)}}
}

// replyText extracts the text of an answer. The greeter replies with a
// message, but an A2A client must accept a task as well, so both are read.
func replyText(resp *a2av1.SendMessageResponse) (string, error) {
	var parts []*a2av1.Part
	switch {
	case resp.GetMessage() != nil:
		parts = resp.GetMessage().GetParts()
	case resp.GetTask() != nil:
		for _, a := range resp.GetTask().GetArtifacts() {
			parts = append(parts, a.GetParts()...)
		}
	}
	var texts []string
	for _, p := range parts {
		texts = append(texts, p.GetText())
	}
	if len(texts) == 0 {
		return "", fmt.Errorf("the agent answered without text: %v", resp)
	}
	return strings.Join(texts, ""), nil
}

// shutdown stops the agent, giving calls in flight a few seconds.
func shutdown(agent *host.Agent) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return agent.Shutdown(ctx)
}
