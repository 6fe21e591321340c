package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/examples/echo"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/grpcserver"
)

// Test extensions declared by the test agent's card, so the handler
// activates them when a caller asks.
const (
	grpcTestExtA = "urn:a2agrpc:test:a"
	grpcTestExtB = "urn:a2agrpc:test:b"
)

// grpcTestServer is a real a2agrpc gRPC server (A2A service and mesh) on
// 127.0.0.1 with one client connection to it. It can be stopped and
// started again on the same address, the connection staying the same, to
// test what clients do when a server goes away.
type grpcTestServer struct {
	addr  string
	conn  *grpc.ClientConn
	setup grpcSetup
	rec   *grpcRecorder

	mu   sync.Mutex
	srv  *grpcserver.Server
	h    *server.Handler
	done chan error
}

// grpcSetup configures a test server; the zero value serves grpcTestAgent with
// streaming, push notifications and the mesh enabled.
type grpcSetup struct {
	card    *a2av1.AgentCard
	handler []server.Option
	grpc    []grpcserver.Option
}

func grpcTestCard() *a2av1.AgentCard {
	return echo.Card(nil, grpcserver.MeshExtension(),
		&a2av1.AgentExtension{Uri: grpcTestExtA}, &a2av1.AgentExtension{Uri: grpcTestExtB})
}

// startGRPC starts a server and connects to it; everything is torn down
// when the test ends.
func startGRPC(t testing.TB, s grpcSetup) *grpcTestServer {
	t.Helper()
	if s.card == nil {
		s.card = grpcTestCard()
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &grpcTestServer{addr: lis.Addr().String(), setup: s, rec: newGRPCRecorder()}
	ts.serve(t, lis)
	ts.conn, err = grpc.NewClient(ts.addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// Reconnect quickly after a restart.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 20 * time.Millisecond, Multiplier: 1.5, MaxDelay: 200 * time.Millisecond},
			MinConnectTimeout: time.Second,
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ts.conn.Close()
		ts.stop(t)
	})
	return ts
}

// serve starts a fresh handler and server on lis.
func (ts *grpcTestServer) serve(t testing.TB, lis net.Listener) {
	t.Helper()
	exec := server.ExecutorFunc(func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
		return grpcTestAgent(ctx, req, w, ts.rec)
	})
	h, err := server.NewHandler(exec, append([]server.Option{server.WithAgentCard(ts.setup.card)}, ts.setup.handler...)...)
	if err != nil {
		t.Fatal(err)
	}
	opts := append([]grpcserver.Option{grpcserver.WithInterceptors(
		[]grpc.UnaryServerInterceptor{ts.rec.unary}, []grpc.StreamServerInterceptor{ts.rec.stream})}, ts.setup.grpc...)
	srv, err := grpcserver.New(h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	ts.mu.Lock()
	ts.srv, ts.h, ts.done = srv, h, done
	ts.mu.Unlock()
}

// stop closes every connection at once (no goodbye to clients) and
// interrupts the running agents.
func (ts *grpcTestServer) stop(t testing.TB) {
	t.Helper()
	ts.mu.Lock()
	srv, done := ts.srv, ts.done
	ts.srv = nil
	ts.mu.Unlock()
	if srv == nil {
		return
	}
	srv.Stop()
	if err := <-done; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		t.Errorf("Serve: %v", err)
	}
}

// restart starts a new server on the address of the stopped one.
func (ts *grpcTestServer) restart(t testing.TB) {
	t.Helper()
	var lis net.Listener
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; {
		if lis, err = net.Listen("tcp", ts.addr); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen again on %s: %v", ts.addr, err)
	}
	ts.serve(t, lis)
}

// grpcTestAgent behaves according to the message text, so that one server
// produces every outcome the tests need:
//
//	"wait"         WORKING until the task is cancelled
//	"steps N"      WORKING, N artifact chunks, then WORKING until cancelled
//	"flood N"      N artifact chunks as fast as possible, then COMPLETED
//	"record KEY"   stores what the agent saw under KEY, then echoes
//	anything else  the echo agent (5 events when streamed)
func grpcTestAgent(ctx context.Context, req *server.Request, w *server.TaskWriter, rec *grpcRecorder) error {
	text := req.Text()
	word, arg, _ := strings.Cut(text, " ")
	var n int
	fmt.Sscan(arg, &n)
	switch word {
	case "wait":
		if err := w.Working("waiting"); err != nil {
			return err
		}
		<-ctx.Done()
		return context.Cause(ctx)
	case "steps":
		if err := w.Working("stepping"); err != nil {
			return err
		}
		for i := range n {
			if err := w.ArtifactChunk(server.TextArtifact("steps", fmt.Sprint(i)), i > 0, false); err != nil {
				return err
			}
		}
		<-ctx.Done()
		return context.Cause(ctx)
	case "flood":
		for i := range n {
			if err := w.ArtifactChunk(server.TextArtifact("flood", "x"), i > 0, i == n-1); err != nil {
				return err
			}
		}
		return nil
	case "record":
		rec.agentSaw(arg, req)
	}
	return echo.Executor(ctx, req, w)
}

// grpcRecorder remembers what reached the server: the incoming metadata of
// every RPC, the RPCs that ended, and what the agent saw.
type grpcRecorder struct {
	mu     sync.Mutex
	md     map[string][]metadata.MD // by full method name
	agent  map[string]*server.Request
	ended  chan string // full method names of finished streaming RPCs
	starts map[string]int
}

func newGRPCRecorder() *grpcRecorder {
	return &grpcRecorder{md: map[string][]metadata.MD{}, agent: map[string]*server.Request{},
		ended: make(chan string, 1024), starts: map[string]int{}}
}

func (r *grpcRecorder) saw(ctx context.Context, method string) {
	md, _ := metadata.FromIncomingContext(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.md[method] = append(r.md[method], md.Copy())
	r.starts[method]++
}

func (r *grpcRecorder) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	r.saw(ctx, info.FullMethod)
	return next(ctx, req)
}

func (r *grpcRecorder) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
	r.saw(ss.Context(), info.FullMethod)
	err := next(srv, ss)
	select {
	case r.ended <- info.FullMethod:
	default:
	}
	return err
}

// lastMD is the metadata of the last call of method.
func (r *grpcRecorder) lastMD(method string) metadata.MD {
	r.mu.Lock()
	defer r.mu.Unlock()
	if calls := r.md[method]; len(calls) > 0 {
		return calls[len(calls)-1]
	}
	return nil
}

func (r *grpcRecorder) count(method string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.starts[method]
}

func (r *grpcRecorder) agentSaw(key string, req *server.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.agent[key] = req
}

func (r *grpcRecorder) agentRequest(key string) *server.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.agent[key]
}

const (
	grpcMethodConnect   = "/a2agrpc.mesh.v1.MeshService/Connect"
	grpcMethodSubscribe = "/lf.a2a.v1.A2AService/SubscribeToTask"
	grpcMethodGetTask   = "/lf.a2a.v1.A2AService/GetTask"
)

type grpcCallExtKey struct{}

// grpcTestParams sends A2A-Version, a fixed test header and the extensions
// listed in ctx by withGRPCTestExtensions, as the Client's header source does.
func grpcTestParams() params {
	return params{headers: func(ctx context.Context) (map[string]string, error) {
		h := map[string]string{a2agrpc.HeaderVersion: a2agrpc.ProtocolVersion, "X-Test-Header": "present"}
		if ext, _ := ctx.Value(grpcCallExtKey{}).([]string); len(ext) > 0 {
			h[a2agrpc.HeaderExtensions] = strings.Join(ext, ", ")
		}
		return h, nil
	}}
}

func withGRPCTestExtensions(ctx context.Context, uris ...string) context.Context {
	return context.WithValue(ctx, grpcCallExtKey{}, uris)
}

func grpcSendReq(text string) *a2av1.SendMessageRequest {
	return &a2av1.SendMessageRequest{Message: textMessage(text)}
}

// grpcSendNowReq returns as soon as the task exists, for agents that keep it
// open.
func grpcSendNowReq(text string) *a2av1.SendMessageRequest {
	r := grpcSendReq(text)
	r.Configuration = &a2av1.SendMessageConfiguration{ReturnImmediately: true}
	return r
}

// grpcEventKinds summarises events, e.g. "task:TASK_STATE_WORKING artifact".
func grpcEventKinds(evs []event) string {
	var parts []string
	for _, ev := range evs {
		switch p := ev.resp.GetPayload().(type) {
		case *a2av1.StreamResponse_Task:
			parts = append(parts, "task:"+p.Task.GetStatus().GetState().String())
		case *a2av1.StreamResponse_Message:
			parts = append(parts, "message")
		case *a2av1.StreamResponse_StatusUpdate:
			parts = append(parts, "status:"+p.StatusUpdate.GetStatus().GetState().String())
		case *a2av1.StreamResponse_ArtifactUpdate:
			parts = append(parts, "artifact")
		}
	}
	return strings.Join(parts, " ")
}

// grpcEventually retries f until it returns nil or 10 s have passed.
func grpcEventually(t testing.TB, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after 10s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
