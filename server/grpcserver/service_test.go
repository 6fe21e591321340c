package grpcserver_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/examples/echo"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/grpcserver"
)

func TestA2AService_everyRPC(t *testing.T) {
	card := echo.Card(nil)
	card.Capabilities.ExtendedAgentCard = proto.Bool(true)
	ts := start(t, setup{card: card, grpc: []grpcserver.Option{grpcserver.WithIdentity(func(context.Context) string { return "tester" })}, handler: []server.Option{server.WithExtendedAgentCard(
		func(context.Context, *server.CallInfo) (*a2av1.AgentCard, error) {
			c := echo.Card(nil)
			c.Name = "extended"
			return c, nil
		})}})
	ctx := context.Background()

	resp, err := ts.a2a.SendMessage(ctx, send("hello grpc!"))
	if err != nil {
		t.Fatal(err)
	}
	task := resp.GetTask()
	if task.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_COMPLETED || len(task.GetArtifacts()) != 1 {
		t.Fatalf("SendMessage = %v", task)
	}

	stream, err := ts.a2a.SendStreamingMessage(ctx, send("stream me"))
	if err != nil {
		t.Fatal(err)
	}
	evs, err := recvAll(t, stream.Recv)
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds(evs); got != "task:TASK_STATE_WORKING artifact artifact artifact status:TASK_STATE_COMPLETED" {
		t.Errorf("SendStreamingMessage = %s", got)
	}

	got, err := ts.a2a.GetTask(ctx, &a2av1.GetTaskRequest{Id: task.GetId(), HistoryLength: proto.Int32(0)})
	if err != nil || got.GetId() != task.GetId() || got.History != nil {
		t.Errorf("GetTask = %v, %v", got, err)
	}

	list, err := ts.a2a.ListTasks(ctx, &a2av1.ListTasksRequest{PageSize: proto.Int32(1)})
	if err != nil || len(list.GetTasks()) != 1 || list.GetTotalSize() != 2 || list.GetNextPageToken() == "" {
		t.Errorf("ListTasks = %v, %v", list, err)
	}

	waiting, err := ts.a2a.SendMessage(ctx, sendNow("wait"))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := ts.a2a.SubscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: waiting.GetTask().GetId()})
	if err != nil {
		t.Fatal(err)
	}
	first, err := sub.Recv()
	if err != nil || first.GetTask().GetId() != waiting.GetTask().GetId() {
		t.Fatalf("first subscribe event = %v, %v", first, err)
	}
	canceled, err := ts.a2a.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: waiting.GetTask().GetId()})
	if err != nil || canceled.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_CANCELED {
		t.Fatalf("CancelTask = %v, %v", canceled, err)
	}
	rest, err := recvAll(t, sub.Recv)
	if err != nil || kinds(rest) != "status:TASK_STATE_WORKING status:TASK_STATE_CANCELED" && kinds(rest) != "status:TASK_STATE_CANCELED" {
		t.Errorf("subscription after cancel = %s, %v", kinds(rest), err)
	}

	cfg, err := ts.a2a.CreateTaskPushNotificationConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: task.GetId(), Url: "https://hooks.example.com/a2a"})
	if err != nil || cfg.GetId() == "" {
		t.Fatalf("CreateTaskPushNotificationConfig = %v, %v", cfg, err)
	}
	if c, err := ts.a2a.GetTaskPushNotificationConfig(ctx, &a2av1.GetTaskPushNotificationConfigRequest{TaskId: task.GetId(), Id: cfg.GetId()}); err != nil || c.GetUrl() != cfg.GetUrl() {
		t.Errorf("GetTaskPushNotificationConfig = %v, %v", c, err)
	}
	if l, err := ts.a2a.ListTaskPushNotificationConfigs(ctx, &a2av1.ListTaskPushNotificationConfigsRequest{TaskId: task.GetId()}); err != nil || len(l.GetConfigs()) != 1 {
		t.Errorf("ListTaskPushNotificationConfigs = %v, %v", l, err)
	}
	if _, err := ts.a2a.DeleteTaskPushNotificationConfig(ctx, &a2av1.DeleteTaskPushNotificationConfigRequest{TaskId: task.GetId(), Id: cfg.GetId()}); err != nil {
		t.Errorf("DeleteTaskPushNotificationConfig: %v", err)
	}
	if c, err := ts.a2a.GetExtendedAgentCard(ctx, &a2av1.GetExtendedAgentCardRequest{}); err != nil || c.GetName() != "extended" {
		t.Errorf("GetExtendedAgentCard = %v, %v", c, err)
	}
}

// TestErrors_everyReason triggers each A2A error over real gRPC and checks
// the v1.0.1 status code and the ErrorInfo.
func TestErrors_everyReason(t *testing.T) {
	ctx := context.Background()
	required := "https://example.com/ext/required"
	withVersion := func(v string) context.Context { return metadata.AppendToOutgoingContext(ctx, "a2a-version", v) }

	plain := start(t, setup{})
	noPush := echo.Card(nil)
	noPush.Capabilities.PushNotifications = nil
	noPush.Capabilities.ExtendedAgentCard = proto.Bool(true)
	limited := start(t, setup{card: noPush})
	needsExt := echo.Card(nil, &a2av1.AgentExtension{Uri: required, Required: true})
	strict := start(t, setup{card: needsExt})

	done, err := plain.a2a.SendMessage(ctx, send("echo"))
	if err != nil {
		t.Fatal(err)
	}
	doneID := done.GetTask().GetId()
	pdf := send("x")
	pdf.Message.Parts = []*a2av1.Part{{Content: &a2av1.Part_Url{Url: "https://x/doc.pdf"}, MediaType: "application/pdf"}}
	toDone := send("more")
	toDone.Message.TaskId = doneID

	tests := []struct {
		reason a2agrpc.Reason
		code   codes.Code
		call   func() error
	}{
		{a2agrpc.ReasonTaskNotFound, codes.NotFound, func() error {
			_, err := plain.a2a.GetTask(ctx, &a2av1.GetTaskRequest{Id: "missing"})
			return err
		}},
		{a2agrpc.ReasonTaskNotCancelable, codes.FailedPrecondition, func() error {
			_, err := plain.a2a.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: doneID})
			return err
		}},
		{a2agrpc.ReasonPushNotificationNotSupported, codes.FailedPrecondition, func() error {
			_, err := limited.a2a.ListTaskPushNotificationConfigs(ctx, &a2av1.ListTaskPushNotificationConfigsRequest{TaskId: "t"})
			return err
		}},
		{a2agrpc.ReasonUnsupportedOperation, codes.FailedPrecondition, func() error {
			_, err := plain.a2a.SendMessage(ctx, toDone)
			return err
		}},
		{a2agrpc.ReasonContentTypeNotSupported, codes.InvalidArgument, func() error {
			_, err := plain.a2a.SendMessage(ctx, pdf)
			return err
		}},
		{a2agrpc.ReasonInvalidAgentResponse, codes.Internal, func() error {
			_, err := plain.a2a.SendMessage(ctx, send("bad-artifact"))
			return err
		}},
		{a2agrpc.ReasonExtendedAgentCardNotConfigured, codes.FailedPrecondition, func() error {
			_, err := limited.a2a.GetExtendedAgentCard(ctx, &a2av1.GetExtendedAgentCardRequest{})
			return err
		}},
		{a2agrpc.ReasonExtensionSupportRequired, codes.FailedPrecondition, func() error {
			_, err := strict.a2a.SendMessage(ctx, send("echo"))
			return err
		}},
		{a2agrpc.ReasonVersionNotSupported, codes.FailedPrecondition, func() error {
			_, err := plain.a2a.GetTask(withVersion("0.3"), &a2av1.GetTaskRequest{Id: doneID})
			return err
		}},
		{a2agrpc.ReasonInvalidParams, codes.InvalidArgument, func() error {
			_, err := plain.a2a.SendMessage(ctx, &a2av1.SendMessageRequest{})
			return err
		}},
		{a2agrpc.ReasonUnsupportedOperation, codes.FailedPrecondition, func() error {
			s, err := plain.a2a.SubscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: doneID})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.reason), func(t *testing.T) {
			st := wantStatus(t, tt.call(), tt.code, tt.reason)
			if tt.reason == a2agrpc.ReasonInvalidParams {
				found := false
				for _, d := range st.Details() {
					if br, ok := d.(*errdetails.BadRequest); ok && br.GetFieldViolations()[0].GetField() == "message" {
						found = true
					}
				}
				if !found {
					t.Error("invalid params without a BadRequest naming the field")
				}
			}
		})
	}
	// A version the server serves, and the activated extension, work.
	var header metadata.MD
	ok := metadata.AppendToOutgoingContext(withVersion("1.0"), "a2a-extensions", required)
	if _, err := strict.a2a.SendMessage(ok, send("echo"), grpc.Header(&header)); err != nil {
		t.Fatal(err)
	}
	if got := header.Get("a2a-extensions"); len(got) != 1 || got[0] != required {
		t.Errorf("response a2a-extensions = %v, want [%s]", got, required)
	}
	stream, err := strict.a2a.SendStreamingMessage(ok, send("echo"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := stream.Header()
	if err != nil || len(h.Get("a2a-extensions")) != 1 {
		t.Errorf("stream header a2a-extensions = %v, %v", h.Get("a2a-extensions"), err)
	}
	if _, err := recvAll(t, stream.Recv); err != nil {
		t.Fatal(err)
	}
}

func TestDeadlinesAndCancellation(t *testing.T) {
	// One goroutine per call, so goroutine counts show what calls hold.
	ts := start(t, setup{grpc: []grpcserver.Option{grpcserver.WithStreamWorkers(0)}})
	t.Run("deadline_on_blocking_send", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := ts.a2a.SendMessage(ctx, send("wait"))
		if c := status.Code(err); c != codes.DeadlineExceeded {
			t.Fatalf("code = %v, want DeadlineExceeded", c)
		}
		// The accepted task carries on after the caller gave up (the server
		// may notice the deadline a moment after the client).
		var list *a2av1.ListTasksResponse
		deadline := time.Now().Add(5 * time.Second)
		for {
			var err error
			list, err = ts.a2a.ListTasks(context.Background(), &a2av1.ListTasksRequest{Status: a2av1.TaskState_TASK_STATE_WORKING})
			if err == nil && len(list.GetTasks()) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("working tasks = %v, %v", list.GetTasks(), err)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if _, err := ts.a2a.CancelTask(context.Background(), &a2av1.CancelTaskRequest{Id: list.GetTasks()[0].GetId()}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("cancelled_subscriptions_are_released", func(t *testing.T) {
		resp, err := ts.a2a.SendMessage(context.Background(), sendNow("wait"))
		if err != nil {
			t.Fatal(err)
		}
		id := resp.GetTask().GetId()
		warmUp(t, ts)
		before := runtime.NumGoroutine()
		ctx, cancel := context.WithCancel(context.Background())
		for range 50 {
			s, err := ts.a2a.SubscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: id})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Recv(); err != nil {
				t.Fatal(err)
			}
		}
		if runtime.NumGoroutine() < before+50 {
			t.Fatalf("50 open streams but only %d more goroutines", runtime.NumGoroutine()-before)
		}
		cancel()
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before+5 {
			if time.Now().After(deadline) {
				t.Fatalf("goroutines: %d before, %d after the client cancelled", before, runtime.NumGoroutine())
			}
			time.Sleep(10 * time.Millisecond)
		}
		if _, err := ts.a2a.CancelTask(context.Background(), &a2av1.CancelTaskRequest{Id: id}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestOversizedMessage(t *testing.T) {
	ts := start(t, setup{grpc: []grpcserver.Option{grpcserver.WithMaxRecvMsgSize(1 << 10)}})
	_, err := ts.a2a.SendMessage(context.Background(), send(strings.Repeat("x", 4<<10)))
	if c := status.Code(err); c != codes.ResourceExhausted || !strings.Contains(err.Error(), "larger than max") {
		t.Fatalf("err = %v, want ResourceExhausted naming the size limit", err)
	}
	if _, err := ts.a2a.SendMessage(context.Background(), send("small")); err != nil {
		t.Errorf("the connection is unusable after an oversized message: %v", err)
	}
}

func TestHealthAndReflection(t *testing.T) {
	ts := start(t, setup{})
	hc := healthpb.NewHealthClient(ts.conn)
	for _, svc := range []string{"", "lf.a2a.v1.A2AService", "a2agrpc.mesh.v1.MeshService"} {
		r, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health %q = %v, %v", svc, r, err)
		}
	}
	services := func(ts *testServer) (string, error) {
		s, err := rpb.NewServerReflectionClient(ts.conn).ServerReflectionInfo(context.Background())
		if err != nil {
			return "", err
		}
		defer s.CloseSend()
		// A stream the server refuses may fail Send with io.EOF; the
		// status is what Recv returns.
		_ = s.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}})
		r, err := s.Recv()
		if err != nil {
			return "", err
		}
		return fmt.Sprint(r.GetListServicesResponse().GetService()), nil
	}
	got, err := services(ts)
	if err != nil || !strings.Contains(got, "lf.a2a.v1.A2AService") || !strings.Contains(got, "a2agrpc.mesh.v1.MeshService") {
		t.Errorf("reflection lists %s, %v", got, err)
	}
	off := start(t, setup{grpc: []grpcserver.Option{grpcserver.WithReflection(false)}})
	if _, err := services(off); status.Code(err) != codes.Unimplemented {
		t.Errorf("reflection with WithReflection(false): %v, want Unimplemented", err)
	}
}

// A reader that stops reading is cut off once its bounded queue is full; the
// agent finishes and the server does not buffer the whole stream.
func TestSlowReader(t *testing.T) {
	ts := start(t, setup{handler: []server.Option{server.WithStreamBuffer(32)}})
	stream, err := ts.a2a.SendStreamingMessage(context.Background(), send("flood"))
	if err != nil {
		t.Fatal(err)
	}
	// Do not read while the agent writes 2000 × 16 KiB (32 MiB).
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := ts.a2a.ListTasks(context.Background(), &a2av1.ListTasksRequest{Status: a2av1.TaskState_TASK_STATE_COMPLETED})
		if err == nil && len(list.GetTasks()) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the agent was blocked by a reader that does not read")
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, err = recvAll(t, stream.Recv)
	wantStatus(t, err, codes.ResourceExhausted, a2agrpc.ReasonResourceExhausted)
}
