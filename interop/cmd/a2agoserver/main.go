// Command a2agoserver runs an a2a-go v2.4.0 server (a2asrv) so that the
// interop suite can drive it with a2agrpc's own client: it is the
// third-party peer for "our client against their server".
//
// It lives in a binary of its own because a2a-go registers the same
// lf.a2a.v1 protobuf names as a2agrpc's generated package; the client under
// test runs in another process (cmd/a2agrpcclient) and reaches this one over
// the network only.
//
// The agent behaves like a2agrpc's echo agent:
//
//   - a message is answered with a task that completes with one text
//     artifact ("echo") echoing the input, delivered in three chunks (the
//     second and third with append, the third with lastChunk);
//   - "/hold" keeps the task WORKING until it is canceled;
//   - "/message" is answered with a Message instead of a task.
//
// It serves gRPC on one loopback port, and HTTP+JSON (at /), JSON-RPC (at
// /jsonrpc) and the Agent Card (at /.well-known/agent-card.json) on
// another, both chosen by the system, and prints the HTTP base URL as its
// first line on stdout. SIGINT or SIGTERM stops it.
package main

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	a2agrpc "github.com/a2aproject/a2a-go/v2/a2agrpc/v1"
	"github.com/a2aproject/a2a-go/v2/a2asrv"
	"github.com/a2aproject/a2a-go/v2/a2asrv/push"
	"google.golang.org/grpc"
)

// Inputs with a special meaning to the agent.
const (
	hold    = "/hold"
	message = "/message"
)

// JSONRPCPath is where the JSON-RPC binding is served.
const jsonrpcPath = "/jsonrpc"

func main() {
	if err := run(); err != nil {
		log.Fatal("a2agoserver: ", err)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	httpLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + httpLis.Addr().String()

	caps := a2a.AgentCapabilities{Streaming: true, PushNotifications: true, ExtendedAgentCard: true}
	card := &a2a.AgentCard{
		Name:        "a2a-go interop echo",
		Description: "Echoes the text of each message back as an artifact streamed in three chunks.",
		Version:     "1.0.0",
		SupportedInterfaces: []*a2a.AgentInterface{
			a2a.NewAgentInterface(grpcLis.Addr().String(), a2a.TransportProtocolGRPC),
			a2a.NewAgentInterface(base, a2a.TransportProtocolHTTPJSON),
			a2a.NewAgentInterface(base+jsonrpcPath, a2a.TransportProtocolJSONRPC),
		},
		Capabilities:       caps,
		DefaultInputModes:  []string{"text/plain"},
		DefaultOutputModes: []string{"text/plain"},
		Skills: []a2a.AgentSkill{{
			ID: "echo", Name: "Echo", Description: "Repeats the message text.", Tags: []string{"echo"},
		}},
	}
	extended := *card
	extended.Name = card.Name + " (extended)"

	handler := a2asrv.NewHandler(echoAgent{},
		a2asrv.WithCapabilityChecks(&caps),
		a2asrv.WithExtendedAgentCard(&extended),
		a2asrv.WithPushNotifications(push.NewInMemoryStore(), push.NewHTTPPushSender(nil)),
		// a2a-go's in-memory task store lists only the tasks of a named
		// user and refuses ListTasks without one.
		a2asrv.WithCallInterceptors(fixedUser{}),
	)

	gs := grpc.NewServer()
	a2agrpc.NewHandler(handler).RegisterWith(gs)
	mux := http.NewServeMux()
	mux.Handle(a2asrv.WellKnownAgentCardPath, a2asrv.NewStaticAgentCardHandler(card))
	mux.Handle(jsonrpcPath, a2asrv.NewJSONRPCHandler(handler))
	mux.Handle("/", a2asrv.NewRESTHandler(handler))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	errc := make(chan error, 2)
	go func() { errc <- gs.Serve(grpcLis) }()
	go func() { errc <- hs.Serve(httpLis) }()
	fmt.Println(base)

	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gs.Stop() // streams held open by "/hold" tasks would stall GracefulStop
	if serr := hs.Shutdown(sctx); serr != nil && !errors.Is(serr, context.DeadlineExceeded) {
		err = errors.Join(err, serr)
	}
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, grpc.ErrServerStopped) {
		err = nil
	}
	return err
}

// fixedUser authenticates every call as the same user.
type fixedUser struct {
	a2asrv.PassthroughCallInterceptor
}

func (fixedUser) Before(ctx context.Context, callCtx *a2asrv.CallContext, _ *a2asrv.Request) (context.Context, any, error) {
	callCtx.User = a2asrv.NewAuthenticatedUser("interop", nil)
	return ctx, nil, nil
}

// echoAgent is the agent; see the package comment.
type echoAgent struct{}

func (echoAgent) Execute(ctx context.Context, ec *a2asrv.ExecutorContext) iter.Seq2[a2a.Event, error] {
	return func(yield func(a2a.Event, error) bool) {
		text := textOf(ec.Message)
		if text == message {
			reply := a2a.NewMessage(a2a.MessageRoleAgent, a2a.NewTextPart(text))
			reply.ContextID = ec.ContextID
			yield(reply, nil)
			return
		}
		if ec.StoredTask == nil {
			task := a2a.NewSubmittedTask(ec, ec.Message)
			task.Status.State = a2a.TaskStateWorking
			if !yield(task, nil) {
				return
			}
		} else if !yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateWorking, nil), nil) {
			return
		}
		if text == hold {
			<-ctx.Done() // the cancellation ends the task
			return
		}
		third := len(text) / 3
		chunks := [3]string{text[:third], text[third : 2*third], text[2*third:]}
		for i, c := range chunks {
			ev := &a2a.TaskArtifactUpdateEvent{
				TaskID: ec.TaskID, ContextID: ec.ContextID,
				Append: i > 0, LastChunk: i == len(chunks)-1,
				Artifact: &a2a.Artifact{ID: "echo", Parts: a2a.ContentParts{a2a.NewTextPart(c)}},
			}
			if !yield(ev, nil) {
				return
			}
		}
		yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateCompleted, nil), nil)
	}
}

func (echoAgent) Cancel(_ context.Context, ec *a2asrv.ExecutorContext) iter.Seq2[a2a.Event, error] {
	return func(yield func(a2a.Event, error) bool) {
		if ec.StoredTask == nil {
			yield(nil, a2a.ErrTaskNotFound)
			return
		}
		yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateCanceled, nil), nil)
	}
}

// textOf joins the text parts of m.
func textOf(m *a2a.Message) string {
	if m == nil {
		return ""
	}
	var s string
	for _, p := range m.Parts {
		s += p.Text()
	}
	return s
}
