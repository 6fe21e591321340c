package grpcserver_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/examples/echo"
	meshv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/mesh/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/grpcserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testServer is a real gRPC server on 127.0.0.1 with a client connection.
type testServer struct {
	srv  *grpcserver.Server
	h    *server.Handler
	conn *grpc.ClientConn
	a2a  a2av1.A2AServiceClient
	mesh meshv1.MeshServiceClient
	done chan error
}

type setup struct {
	exec    server.Executor
	card    *a2av1.AgentCard
	handler []server.Option
	grpc    []grpcserver.Option
	dial    []grpc.DialOption
}

func start(t testing.TB, s setup) *testServer {
	t.Helper()
	if s.exec == nil {
		s.exec = scripted
	}
	if s.card == nil {
		s.card = echo.Card(nil, grpcserver.MeshExtension())
	}
	h, err := server.NewHandler(s.exec, append([]server.Option{server.WithAgentCard(s.card)}, s.handler...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := grpcserver.New(h, s.grpc...)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{srv: srv, h: h, done: make(chan error, 1)}
	go func() { ts.done <- srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, s.dial...)...)
	if err != nil {
		t.Fatal(err)
	}
	ts.conn, ts.a2a, ts.mesh = conn, a2av1.NewA2AServiceClient(conn), meshv1.NewMeshServiceClient(conn)
	t.Cleanup(func() {
		conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-ts.done; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ts
}

// scripted behaves according to the message text, so one server can
// produce every outcome:
//
//	"echo ..."      the echo agent
//	"ask"           INPUT_REQUIRED
//	"wait"          WORKING until the context ends (cancel, shutdown)
//	"bad-artifact"  an invalid artifact before any event
//	"flood N"       N large artifact chunks as fast as possible
//	"reply"         a direct message
var scripted = server.ExecutorFunc(func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
	text := req.Text()
	switch {
	case text == "ask":
		return w.RequireInput("what else?")
	case text == "wait":
		if err := w.Working("waiting"); err != nil {
			return err
		}
		<-ctx.Done()
		return context.Cause(ctx)
	case text == "bad-artifact":
		return w.Artifact(&a2av1.Artifact{ArtifactId: "x"})
	case text == "reply":
		return w.Reply(server.TextPart("direct"))
	case strings.HasPrefix(text, "flood"):
		chunk := strings.Repeat("x", 16<<10)
		for i := range 2000 {
			if err := w.ArtifactChunk(server.TextArtifact("flood", chunk), i > 0, i == 1999); err != nil {
				return err
			}
		}
		return nil
	}
	return echo.Executor(ctx, req, w)
})

func msg(text string) *a2av1.Message {
	return &a2av1.Message{MessageId: uuid.NewString(), Role: a2av1.Role_ROLE_USER, Parts: []*a2av1.Part{server.TextPart(text)}}
}

func send(text string) *a2av1.SendMessageRequest {
	return &a2av1.SendMessageRequest{Message: msg(text)}
}

func sendNow(text string) *a2av1.SendMessageRequest {
	r := send(text)
	r.Configuration = &a2av1.SendMessageConfiguration{ReturnImmediately: true}
	return r
}

// wantStatus checks a gRPC error's code and its ErrorInfo.
func wantStatus(t testing.TB, err error, code codes.Code, reason a2agrpc.Reason) *status.Status {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || err == nil {
		t.Fatalf("error = %v, want a gRPC status %v/%s", err, code, reason)
	}
	if st.Code() != code {
		t.Fatalf("code = %v (%s), want %v", st.Code(), st.Message(), code)
	}
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		if d, ok := d.(*errdetails.ErrorInfo); ok {
			info = d
		}
	}
	if info == nil || info.GetReason() != string(reason) || info.GetDomain() != a2agrpc.ErrorDomain {
		t.Fatalf("ErrorInfo = %v, want reason %s in domain %s", info, reason, a2agrpc.ErrorDomain)
	}
	return st
}

func recvAll[T any](t testing.TB, recv func() (*T, error)) ([]*T, error) {
	t.Helper()
	var out []*T
	for {
		m, err := recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		out = append(out, m)
	}
}

func kinds(evs []*a2av1.StreamResponse) string {
	var parts []string
	for _, ev := range evs {
		switch p := ev.GetPayload().(type) {
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
