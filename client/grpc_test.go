package client

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// grpcTransportMaker builds the transport under test over a test server's
// connection.
type grpcTransportMaker func(ts *grpcTestServer, p params) transport

func grpcMaker(ts *grpcTestServer, p params) transport { return newGRPC(ts.conn, p) }

func TestGRPC_operations(t *testing.T) { grpcSuiteOperations(t, grpcMaker) }

func TestGRPC_errors(t *testing.T) { grpcSuiteErrors(t, grpcMaker) }

func TestGRPC_contextEnds(t *testing.T) { grpcSuiteContextEnds(t, grpcMaker) }

func TestGRPC_extensionsReachTheAgent(t *testing.T) { grpcSuiteExtensions(t, grpcMaker) }

// grpcSuiteOperations runs every operation once against a real server.
func grpcSuiteOperations(t *testing.T, mk grpcTransportMaker) {
	ts := startGRPC(t, grpcSetup{})
	tr := mk(ts, grpcTestParams())
	defer tr.close()
	ctx := context.Background()

	t.Run("send", func(t *testing.T) {
		resp, err := tr.sendMessage(ctx, grpcSendReq("hello there"))
		if err != nil {
			t.Fatal(err)
		}
		task := resp.GetTask()
		if task.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_COMPLETED || grpcArtifactText(task) != "hello there" {
			t.Errorf("send answered %v", resp)
		}
	})

	t.Run("stream", func(t *testing.T) {
		evs, err := collectStream(tr.sendStreamingMessage(ctx, grpcSendReq("streamed")))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := grpcEventKinds(evs), "task:TASK_STATE_WORKING artifact artifact artifact status:TASK_STATE_COMPLETED"; got != want {
			t.Errorf("events = %s, want %s", got, want)
		}
		grpcCheckSequences(t, tr, evs)
	})

	var taskID string
	t.Run("get and list", func(t *testing.T) {
		resp, err := tr.sendMessage(ctx, grpcSendReq("to get"))
		if err != nil {
			t.Fatal(err)
		}
		taskID = resp.GetTask().GetId()
		task, err := tr.getTask(ctx, &a2av1.GetTaskRequest{Id: taskID})
		if err != nil || task.GetId() != taskID || grpcArtifactText(task) != "to get" {
			t.Fatalf("getTask = %v, %v", task, err)
		}
		list, err := tr.listTasks(ctx, &a2av1.ListTasksRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(list.GetTasks(), func(t *a2av1.Task) bool { return t.GetId() == taskID }) {
			t.Errorf("listTasks (%d tasks) lacks %s", len(list.GetTasks()), taskID)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		resp, err := tr.sendMessage(ctx, grpcSendNowReq("wait"))
		if err != nil {
			t.Fatal(err)
		}
		task, err := tr.cancelTask(ctx, &a2av1.CancelTaskRequest{Id: resp.GetTask().GetId()})
		if err != nil {
			t.Fatal(err)
		}
		if task.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_CANCELED {
			t.Errorf("cancelled task is %v", task.GetStatus().GetState())
		}
		_, err = tr.cancelTask(ctx, &a2av1.CancelTaskRequest{Id: task.GetId()})
		if !errors.Is(err, a2agrpc.ErrTaskNotCancelable) {
			t.Errorf("second cancel: %v, want TaskNotCancelable", err)
		}
	})

	t.Run("subscribe", func(t *testing.T) {
		resp, err := tr.sendMessage(ctx, grpcSendNowReq("wait"))
		if err != nil {
			t.Fatal(err)
		}
		id := resp.GetTask().GetId()
		var evs []event
		for ev, err := range tr.subscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: id}, -1) {
			if err != nil {
				t.Fatal(err)
			}
			evs = append(evs, ev)
			if len(evs) == 1 {
				// Subscribed: end the task so the stream ends.
				if _, err := tr.cancelTask(ctx, &a2av1.CancelTaskRequest{Id: id}); err != nil {
					t.Fatal(err)
				}
			}
		}
		// The task is SUBMITTED or WORKING when the subscription starts,
		// depending on how far its agent got; its WORKING status may come
		// next, then the cancellation ends the stream.
		switch got := grpcEventKinds(evs); got {
		case "task:TASK_STATE_WORKING status:TASK_STATE_CANCELED",
			"task:TASK_STATE_SUBMITTED status:TASK_STATE_CANCELED",
			"task:TASK_STATE_SUBMITTED status:TASK_STATE_WORKING status:TASK_STATE_CANCELED":
		default:
			t.Errorf("subscription = %s, want the task's snapshot then status:TASK_STATE_CANCELED", got)
		}
	})

	t.Run("push configs", func(t *testing.T) {
		cfg := &a2av1.TaskPushNotificationConfig{TaskId: taskID, Id: "p1", Url: "https://push.example.com/hook"}
		created, err := tr.createPushConfig(ctx, cfg)
		if err != nil || created.GetId() != "p1" || created.GetUrl() != cfg.GetUrl() {
			t.Fatalf("create = %v, %v", created, err)
		}
		got, err := tr.getPushConfig(ctx, &a2av1.GetTaskPushNotificationConfigRequest{TaskId: taskID, Id: "p1"})
		if err != nil || got.GetUrl() != cfg.GetUrl() {
			t.Fatalf("get = %v, %v", got, err)
		}
		list, err := tr.listPushConfigs(ctx, &a2av1.ListTaskPushNotificationConfigsRequest{TaskId: taskID})
		if err != nil || len(list.GetConfigs()) != 1 {
			t.Fatalf("list = %v, %v", list, err)
		}
		if err := tr.deletePushConfig(ctx, &a2av1.DeleteTaskPushNotificationConfigRequest{TaskId: taskID, Id: "p1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.getPushConfig(ctx, &a2av1.GetTaskPushNotificationConfigRequest{TaskId: taskID, Id: "p1"}); err == nil {
			t.Error("get after delete succeeded")
		}
	})

	t.Run("extended card unsupported", func(t *testing.T) {
		_, err := tr.getExtendedAgentCard(ctx, &a2av1.GetExtendedAgentCardRequest{})
		if !errors.Is(err, a2agrpc.ErrUnsupportedOperation) {
			t.Errorf("extended card without the capability: %v, want UnsupportedOperation", err)
		}
	})

	t.Run("metadata", func(t *testing.T) {
		// Metadata the caller put in ctx travels too (for the mesh, in the
		// stream's metadata, taken when it opened).
		mdCtx := metadata.AppendToOutgoingContext(ctx, "x-caller", "kept")
		if _, err := tr.getTask(mdCtx, &a2av1.GetTaskRequest{Id: taskID}); err != nil {
			t.Fatal(err)
		}
		method := grpcMethodGetTask
		if _, ok := tr.(*meshTransport); ok {
			method = grpcMethodConnect
		}
		md := ts.rec.lastMD(method)
		if v := md.Get("x-test-header"); len(v) != 1 || v[0] != "present" {
			t.Errorf("x-test-header = %q in %v", v, md)
		}
		if v := md.Get(a2agrpc.MetadataVersion); len(v) != 1 || v[0] != a2agrpc.ProtocolVersion {
			t.Errorf("%s = %q", a2agrpc.MetadataVersion, v)
		}
		if _, ok := tr.(*grpcTransport); ok {
			if v := md.Get("x-caller"); len(v) != 1 || v[0] != "kept" {
				t.Errorf("the caller's own metadata x-caller = %q, want kept", v)
			}
		}
	})
}

// grpcSuiteErrors checks that the server's errors arrive as the A2A errors it
// sent, service parameters included.
func grpcSuiteErrors(t *testing.T, mk grpcTransportMaker) {
	ts := startGRPC(t, grpcSetup{})
	tr := mk(ts, grpcTestParams())
	defer tr.close()
	ctx := context.Background()

	_, err := tr.getTask(ctx, &a2av1.GetTaskRequest{Id: "no-such-task"})
	if !errors.Is(err, a2agrpc.ErrTaskNotFound) {
		t.Errorf("unknown task: %v, want TaskNotFound", err)
	}
	var e *a2agrpc.Error
	if !errors.As(err, &e) || e.Metadata["taskId"] != "no-such-task" {
		t.Errorf("unknown task error %#v lacks its ErrorInfo metadata", e)
	}
	_, err = collectStream(tr.subscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: "no-such-task"}, -1))
	if !errors.Is(err, a2agrpc.ErrTaskNotFound) {
		t.Errorf("subscribing to an unknown task: %v, want TaskNotFound", err)
	}
	_, err = tr.sendMessage(ctx, &a2av1.SendMessageRequest{})
	if !errors.Is(err, a2agrpc.ErrInvalidParams) {
		t.Errorf("empty send: %v, want InvalidParams", err)
	}

	// A2A-Version reaches the server: an unknown one is refused.
	bad := mk(ts, params{headers: func(context.Context) (map[string]string, error) {
		return map[string]string{a2agrpc.HeaderVersion: "9.9"}, nil
	}})
	defer bad.close()
	if _, err := bad.getTask(ctx, &a2av1.GetTaskRequest{Id: "x"}); !errors.Is(err, a2agrpc.ErrVersionNotSupported) {
		t.Errorf("A2A-Version 9.9: %v, want VersionNotSupported", err)
	}

	// A failing header source fails the call with its error.
	failing := mk(ts, params{headers: func(context.Context) (map[string]string, error) {
		return nil, a2agrpc.NewError(a2agrpc.ReasonUnauthenticated, "no token")
	}})
	defer failing.close()
	if _, err := failing.getTask(ctx, &a2av1.GetTaskRequest{Id: "x"}); !errors.Is(err, a2agrpc.ErrUnauthenticated) {
		t.Errorf("failing header source: %v, want Unauthenticated", err)
	}

	// Extended card: the capability without a configured card.
	card := grpcTestCard()
	card.Capabilities.ExtendedAgentCard = proto.Bool(true)
	ts2 := startGRPC(t, grpcSetup{card: card})
	tr2 := mk(ts2, grpcTestParams())
	defer tr2.close()
	if _, err := tr2.getExtendedAgentCard(ctx, &a2av1.GetExtendedAgentCardRequest{}); !errors.Is(err, a2agrpc.ErrExtendedAgentCardNotConfigured) {
		t.Errorf("extended card not configured: %v, want ExtendedAgentCardNotConfigured", err)
	}
}

// grpcSuiteContextEnds checks that a call whose ctx ends returns the ctx error.
func grpcSuiteContextEnds(t *testing.T, mk grpcTransportMaker) {
	ts := startGRPC(t, grpcSetup{})
	tr := mk(ts, grpcTestParams())
	defer tr.close()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := tr.sendMessage(ctx, grpcSendReq("wait")) // blocks until the task ends, which it never does
	var e *a2agrpc.Error
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &e) {
		t.Errorf("blocking send past the deadline: %v (%T), want an *a2agrpc.Error wrapping DeadlineExceeded", err, err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	var evs []event
	for ev, err := range tr.sendStreamingMessage(ctx, grpcSendReq("wait")) {
		if err != nil {
			if !errors.Is(err, context.Canceled) || !errors.As(err, &e) {
				t.Errorf("stream after cancel: %v (%T), want an *a2agrpc.Error wrapping Canceled", err, err)
			}
			break
		}
		evs = append(evs, ev)
		cancel()
	}
	if len(evs) != 1 {
		t.Errorf("stream yielded %d events before the cancel", len(evs))
	}

	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if _, err := tr.getTask(done, &a2av1.GetTaskRequest{Id: "x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("call with a cancelled ctx: %v, want Canceled", err)
	}
}

// grpcSuiteExtensions checks that each call's A2A-Extensions reach the agent.
func grpcSuiteExtensions(t *testing.T, mk grpcTransportMaker) {
	ts := startGRPC(t, grpcSetup{})
	tr := mk(ts, grpcTestParams())
	defer tr.close()
	cases := map[string][]string{
		"none": nil,
		"one":  {grpcTestExtA},
		"both": {grpcTestExtA, grpcTestExtB},
	}
	for key, ext := range cases {
		ctx := withGRPCTestExtensions(context.Background(), ext...)
		if _, err := tr.sendMessage(ctx, grpcSendReq("record "+key)); err != nil {
			t.Fatal(err)
		}
		req := ts.rec.agentRequest(key)
		if req == nil {
			t.Fatalf("agent never saw %q", key)
		}
		if !slices.Equal(req.Extensions, ext) {
			t.Errorf("%s: agent saw extensions %q, want %q", key, req.Extensions, ext)
		}
	}
}

// Breaking out of a stream cancels the RPC: the server's handler returns.
func TestGRPC_breakCancelsServerSide(t *testing.T) {
	ts := startGRPC(t, grpcSetup{})
	tr := newGRPC(ts.conn, grpcTestParams())
	ctx := context.Background()
	resp, err := tr.sendMessage(ctx, grpcSendNowReq("wait"))
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range tr.subscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: resp.GetTask().GetId()}, -1) {
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	select {
	case m := <-ts.rec.ended:
		if m != grpcMethodSubscribe {
			t.Errorf("ended: %s, want %s", m, grpcMethodSubscribe)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the subscription is still running on the server after the client broke out")
	}
}

// A server that is down gives UNAVAILABLE, wrapping gRPC's own error.
func TestGRPC_unavailable(t *testing.T) {
	ts := startGRPC(t, grpcSetup{})
	tr := newGRPC(ts.conn, grpcTestParams())
	ts.stop(t)
	_, err := tr.getTask(context.Background(), &a2av1.GetTaskRequest{Id: "x"})
	var e *a2agrpc.Error
	if !errors.Is(err, a2agrpc.ErrUnavailable) || !errors.As(err, &e) || errors.Unwrap(e) == nil {
		t.Fatalf("server down: %v, want UNAVAILABLE wrapping the gRPC error", err)
	}
	_, err = collectStream(tr.sendStreamingMessage(context.Background(), grpcSendReq("x")))
	if !errors.Is(err, a2agrpc.ErrUnavailable) {
		t.Errorf("stream with the server down: %v, want UNAVAILABLE", err)
	}
}

// grpcCheckSequences checks the sequence numbers of a stream's events: the
// gRPC binding has none, the mesh numbers them in increasing order.
func grpcCheckSequences(t *testing.T, tr transport, evs []event) {
	t.Helper()
	_, mesh := tr.(*meshTransport)
	var last int64
	for i, ev := range evs {
		switch {
		case !mesh && ev.seq != 0:
			t.Errorf("event %d has sequence %d on plain gRPC", i, ev.seq)
		case mesh && ev.seq <= last:
			t.Errorf("event %d has sequence %d after %d", i, ev.seq, last)
		}
		last = ev.seq
	}
}

func grpcArtifactText(task *a2av1.Task) string {
	var b strings.Builder
	for _, a := range task.GetArtifacts() {
		for _, p := range a.GetParts() {
			b.WriteString(p.GetText())
		}
	}
	return b.String()
}
