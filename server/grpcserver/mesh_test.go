package grpcserver_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/examples/echo"
	meshv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/mesh/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/grpcserver"
)

// meshConn is a test client: it routes response frames to per-request
// channels so tests can check multiplexing.
type meshConn struct {
	t      testing.TB
	stream grpc.BidiStreamingClient[meshv1.Request, meshv1.Response]
	sendMu sync.Mutex

	mu        sync.Mutex
	byID      map[uint64]chan *meshv1.Response
	unrouted  chan *meshv1.Response // heartbeats, pongs
	closedErr chan error
}

func openMesh(t testing.TB, ts *testServer, ctx context.Context) *meshConn {
	t.Helper()
	stream, err := ts.mesh.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := &meshConn{t: t, stream: stream, byID: map[uint64]chan *meshv1.Response{},
		unrouted: make(chan *meshv1.Response, 100), closedErr: make(chan error, 1)}
	go func() {
		for {
			r, err := stream.Recv()
			if err != nil {
				c.closedErr <- err
				return
			}
			if r.GetRequestId() == 0 {
				c.unrouted <- r
				continue
			}
			c.mu.Lock()
			ch := c.byID[r.GetRequestId()]
			c.mu.Unlock()
			if ch == nil {
				t.Errorf("frame for unknown request %d: %v", r.GetRequestId(), r)
				continue
			}
			ch <- r
		}
	}()
	return c
}

func (c *meshConn) do(req *meshv1.Request) chan *meshv1.Response {
	ch := make(chan *meshv1.Response, 4096)
	if req.GetRequestId() != 0 {
		c.mu.Lock()
		if existing := c.byID[req.GetRequestId()]; existing != nil {
			ch = existing
		} else {
			c.byID[req.GetRequestId()] = ch
		}
		c.mu.Unlock()
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if err := c.stream.Send(req); err != nil {
		c.t.Fatalf("send frame: %v", err)
	}
	return ch
}

func next(t testing.TB, ch chan *meshv1.Response) *meshv1.Response {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no response frame within 10s")
		return nil
	}
}

func meshErr(t testing.TB, r *meshv1.Response, code codes.Code, reason a2agrpc.Reason) {
	t.Helper()
	if r.GetError() == nil {
		t.Fatalf("frame %v, want an error %v/%s", r, code, reason)
	}
	wantStatus(t, status.ErrorProto(r.GetError()), code, reason)
}

func TestMesh_multiplexesOperations(t *testing.T) {
	ts := start(t, setup{})
	c := openMesh(t, ts, context.Background())
	const sends, streams = 40, 10
	var wg sync.WaitGroup
	for i := range sends {
		id := uint64(1000 + i)
		text := fmt.Sprintf("echo message number %03d", i)
		wg.Go(func() {
			r := next(t, c.do(&meshv1.Request{RequestId: id, Operation: &meshv1.Request_SendMessage{SendMessage: send(text)}}))
			var got string
			for _, p := range r.GetSendMessage().GetTask().GetArtifacts()[0].GetParts() {
				got += p.GetText()
			}
			if got != text {
				t.Errorf("request %d got %q, want %q (responses crossed?)", id, got, text)
			}
		})
	}
	for i := range streams {
		id := uint64(2000 + i)
		wg.Go(func() {
			ch := c.do(&meshv1.Request{RequestId: id, Operation: &meshv1.Request_SendStreamingMessage{SendStreamingMessage: send("streamed")}})
			var evs []*a2av1.StreamResponse
			var lastSeq int64
			for {
				r := next(t, ch)
				if r.GetEnd() != nil {
					break
				}
				if r.GetEvent() == nil {
					t.Errorf("request %d: unexpected frame %v", id, r)
					return
				}
				if r.GetSequence() <= lastSeq {
					t.Errorf("request %d: sequence %d after %d", id, r.GetSequence(), lastSeq)
				}
				lastSeq = r.GetSequence()
				evs = append(evs, r.GetEvent())
			}
			if got := kinds(evs); got != "task:TASK_STATE_WORKING artifact artifact artifact status:TASK_STATE_COMPLETED" {
				t.Errorf("request %d stream = %s", id, got)
			}
		})
	}
	wg.Wait()

	// Every other operation, with its result kind.
	resp := next(t, c.do(&meshv1.Request{RequestId: 1, Operation: &meshv1.Request_SendMessage{SendMessage: send("echo")}}))
	taskID := resp.GetSendMessage().GetTask().GetId()
	ops := []struct {
		req   *meshv1.Request
		check func(*meshv1.Response) bool
	}{
		{&meshv1.Request{Operation: &meshv1.Request_GetTask{GetTask: &a2av1.GetTaskRequest{Id: taskID}}},
			func(r *meshv1.Response) bool { return r.GetTask().GetId() == taskID }},
		{&meshv1.Request{Operation: &meshv1.Request_ListTasks{ListTasks: &a2av1.ListTasksRequest{}}},
			func(r *meshv1.Response) bool { return r.GetListTasks().GetTotalSize() == sends+streams+1 }},
		{&meshv1.Request{Operation: &meshv1.Request_CreateTaskPushNotificationConfig{CreateTaskPushNotificationConfig: &a2av1.TaskPushNotificationConfig{TaskId: taskID, Id: "p", Url: "https://x"}}},
			func(r *meshv1.Response) bool { return r.GetPushConfig().GetId() == "p" }},
		{&meshv1.Request{Operation: &meshv1.Request_GetTaskPushNotificationConfig{GetTaskPushNotificationConfig: &a2av1.GetTaskPushNotificationConfigRequest{TaskId: taskID, Id: "p"}}},
			func(r *meshv1.Response) bool { return r.GetPushConfig().GetUrl() == "https://x" }},
		{&meshv1.Request{Operation: &meshv1.Request_ListTaskPushNotificationConfigs{ListTaskPushNotificationConfigs: &a2av1.ListTaskPushNotificationConfigsRequest{TaskId: taskID}}},
			func(r *meshv1.Response) bool { return len(r.GetPushConfigs().GetConfigs()) == 1 }},
		{&meshv1.Request{Operation: &meshv1.Request_DeleteTaskPushNotificationConfig{DeleteTaskPushNotificationConfig: &a2av1.DeleteTaskPushNotificationConfigRequest{TaskId: taskID, Id: "p"}}},
			func(r *meshv1.Response) bool { return r.GetDeleted() != nil }},
		{&meshv1.Request{Operation: &meshv1.Request_CancelTask{CancelTask: &a2av1.CancelTaskRequest{Id: taskID}}},
			func(r *meshv1.Response) bool {
				return r.GetError().GetCode() == int32(codes.FailedPrecondition) // completed: not cancelable
			}},
		{&meshv1.Request{Operation: &meshv1.Request_GetExtendedAgentCard{GetExtendedAgentCard: &a2av1.GetExtendedAgentCardRequest{}}},
			func(r *meshv1.Response) bool { return r.GetError().GetCode() == int32(codes.FailedPrecondition) }},
	}
	for i, op := range ops {
		op.req.RequestId = uint64(10 + i)
		if r := next(t, c.do(op.req)); !op.check(r) {
			t.Errorf("operation %T answered %v", op.req.GetOperation(), r)
		}
	}
	if err := c.stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if err := <-c.closedErr; err != io.EOF {
		t.Errorf("stream ended with %v after the client closed its side, want a clean end", err)
	}
}

func TestMesh_cancelLimitsAndBadFrames(t *testing.T) {
	ts := start(t, setup{grpc: []grpcserver.Option{grpcserver.WithMeshLimits(2, -1)}})
	c := openMesh(t, ts, context.Background())
	waitReq := func(id uint64) chan *meshv1.Response {
		return c.do(&meshv1.Request{RequestId: id, Operation: &meshv1.Request_SendMessage{SendMessage: send("wait")}})
	}
	first, second := waitReq(1), waitReq(2)
	time.Sleep(50 * time.Millisecond) // both are in flight now
	meshErr(t, next(t, waitReq(3)), codes.ResourceExhausted, a2agrpc.ReasonResourceExhausted)

	c.do(&meshv1.Request{RequestId: 1, Operation: &meshv1.Request_Cancel{Cancel: &emptypb.Empty{}}})
	meshErr(t, next(t, first), codes.Canceled, a2agrpc.ReasonCanceled)

	// The stream survives: a new request works while 2 is still in flight.
	if r := next(t, c.do(&meshv1.Request{RequestId: 4, Operation: &meshv1.Request_SendMessage{SendMessage: send("reply")}})); r.GetSendMessage().GetMessage() == nil {
		t.Errorf("request after cancel = %v", r)
	}
	// A new request under an id in flight is reported on id 0: an error on
	// id 2 would read as request 2's final frame.
	c.do(&meshv1.Request{RequestId: 2, Operation: &meshv1.Request_SendMessage{SendMessage: send("x")}})
	dup := next(t, c.unrouted)
	meshErr(t, dup, codes.InvalidArgument, a2agrpc.ReasonInvalidRequest)
	if md := errInfoMeta(t, dup); md["requestId"] != "2" {
		t.Errorf("duplicate-id error metadata = %v, want requestId 2", md)
	}
	meshErr(t, next(t, c.do(&meshv1.Request{RequestId: 5})), codes.InvalidArgument, a2agrpc.ReasonInvalidRequest)
	meshErr(t, next(t, c.do(&meshv1.Request{RequestId: 6, Operation: &meshv1.Request_GetTask{GetTask: &a2av1.GetTaskRequest{Id: "nope"}}})),
		codes.NotFound, a2agrpc.ReasonTaskNotFound)
	c.do(&meshv1.Request{Operation: &meshv1.Request_Ping{Ping: &emptypb.Empty{}}})
	if r := next(t, c.unrouted); r.GetPong() == nil {
		t.Errorf("ping answered with %v", r)
	}
	// Request 2's agent is still waiting; cancel it through the stream.
	c.do(&meshv1.Request{RequestId: 2, Operation: &meshv1.Request_Cancel{Cancel: &emptypb.Empty{}}})
	meshErr(t, next(t, second), codes.Canceled, a2agrpc.ReasonCanceled)
	cancelWorking(t, ts)
}

// cancelWorking cancels tasks left running by "wait" requests.
func cancelWorking(t testing.TB, ts *testServer) {
	list, err := ts.a2a.ListTasks(context.Background(), &a2av1.ListTasksRequest{Status: a2av1.TaskState_TASK_STATE_WORKING})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range list.GetTasks() {
		if _, err := ts.a2a.CancelTask(context.Background(), &a2av1.CancelTaskRequest{Id: task.GetId()}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMesh_heartbeats(t *testing.T) {
	ts := start(t, setup{grpc: []grpcserver.Option{grpcserver.WithMeshLimits(0, 20*time.Millisecond)}})
	c := openMesh(t, ts, context.Background())
	for range 3 {
		if r := next(t, c.unrouted); r.GetHeartbeat() == nil {
			t.Fatalf("idle stream got %v, want heartbeats", r)
		}
	}
	c.stream.CloseSend()
	<-c.closedErr
}

// The client going away (cancel) releases every request of the stream.
func TestMesh_clientGoneReleasesEverything(t *testing.T) {
	ts := start(t, setup{})
	warmUp(t, ts)
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	c := openMesh(t, ts, ctx)
	resp := next(t, c.do(&meshv1.Request{RequestId: 1, Operation: &meshv1.Request_SendMessage{SendMessage: sendNow("wait")}}))
	taskID := resp.GetSendMessage().GetTask().GetId()
	for i := range 20 {
		ch := c.do(&meshv1.Request{RequestId: uint64(10 + i), Operation: &meshv1.Request_SubscribeToTask{SubscribeToTask: &a2av1.SubscribeToTaskRequest{Id: taskID}}})
		if r := next(t, ch); r.GetEvent().GetTask() == nil {
			t.Fatalf("subscription %d first frame %v", i, r)
		}
	}
	cancel()
	<-c.closedErr
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+3 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d before the stream, %d after the client left\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancelWorking(t, ts)
}

// Server shutdown: a mesh stream refuses new requests, ends its
// subscriptions with UNAVAILABLE, and closes with UNAVAILABLE.
func TestMesh_shutdown(t *testing.T) {
	ts := start(t, setup{})
	c := openMesh(t, ts, context.Background())
	resp := next(t, c.do(&meshv1.Request{RequestId: 1, Operation: &meshv1.Request_SendMessage{SendMessage: sendNow("wait")}}))
	sub := c.do(&meshv1.Request{RequestId: 2, Operation: &meshv1.Request_SubscribeToTask{SubscribeToTask: &a2av1.SubscribeToTaskRequest{Id: resp.GetSendMessage().GetTask().GetId()}}})
	next(t, sub) // the current task
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- ts.srv.Shutdown(ctx) }()
	for {
		r := next(t, sub)
		if r.GetError() != nil {
			meshErr(t, r, codes.Unavailable, a2agrpc.ReasonUnavailable)
			break
		}
	}
	err := <-c.closedErr
	wantStatus(t, err, codes.Unavailable, a2agrpc.ReasonUnavailable)
	// The agent of the "wait" task ignores everything but its context, so
	// the handler interrupts it when the deadline passes.
	if err := <-stopped; err != nil && err != context.DeadlineExceeded {
		t.Errorf("Shutdown: %v", err)
	}
}

// warmUp opens the lazily dialled connection so goroutine counts taken
// afterwards do not include its transport.
func warmUp(t testing.TB, ts *testServer) {
	t.Helper()
	if _, err := ts.a2a.GetTask(context.Background(), &a2av1.GetTaskRequest{Id: "warm-up"}); status.Code(err) != codes.NotFound {
		t.Fatalf("warm-up call: %v", err)
	}
}

func errInfoMeta(t testing.TB, r *meshv1.Response) map[string]string {
	t.Helper()
	for _, d := range status.FromProto(r.GetError()).Details() {
		if info, ok := d.(interface{ GetMetadata() map[string]string }); ok {
			return info.GetMetadata()
		}
	}
	return nil
}

// Once a request's final frame arrives, its id is free and it no longer
// counts toward the limit, even for a client that sends the next request
// immediately.
func TestMesh_idFreeAtFinalFrame(t *testing.T) {
	ts := start(t, setup{grpc: []grpcserver.Option{grpcserver.WithMeshLimits(1, -1)}})
	c := openMesh(t, ts, context.Background())
	for i := range 300 {
		ch := c.do(&meshv1.Request{RequestId: 7, Operation: &meshv1.Request_GetTask{GetTask: &a2av1.GetTaskRequest{Id: "nope"}}})
		r := next(t, ch)
		if r.GetError().GetCode() != int32(codes.NotFound) {
			t.Fatalf("request %d: %v, want NotFound (not a limit or duplicate-id error)", i, r)
		}
	}
	c.stream.CloseSend()
	<-c.closedErr
}

func TestMesh_activatedExtensionsOnEveryFirstFrame(t *testing.T) {
	const ext = "https://example.com/ext/opt"
	ts := start(t, setup{card: echo.Card(nil, &a2av1.AgentExtension{Uri: ext})})
	c := openMesh(t, ts, context.Background())
	ok := next(t, c.do(&meshv1.Request{RequestId: 1, Extensions: []string{ext}, Operation: &meshv1.Request_SendMessage{SendMessage: send("reply")}}))
	failed := next(t, c.do(&meshv1.Request{RequestId: 2, Extensions: []string{ext}, Operation: &meshv1.Request_GetTask{GetTask: &a2av1.GetTaskRequest{Id: "nope"}}}))
	for _, r := range []*meshv1.Response{ok, failed} {
		if len(r.GetActivatedExtensions()) != 1 || r.GetActivatedExtensions()[0] != ext {
			t.Errorf("frame %v: activated extensions %v, want [%s]", r.GetResult(), r.GetActivatedExtensions(), ext)
		}
	}
	c.stream.CloseSend()
	<-c.closedErr
}

// A subscription with resume_after replays exactly the events after that
// sequence number, as SSE's Last-Event-ID does, then follows live ones.
// The task stays open (event logs of finished tasks may be discarded), so
// the test ends it by cancelling.
func TestMesh_subscribeResumesAfterSequence(t *testing.T) {
	steps := server.ExecutorFunc(func(ctx context.Context, _ *server.Request, w *server.TaskWriter) error {
		if err := w.Working("stepping"); err != nil {
			return err
		}
		for i := range 3 {
			if err := w.ArtifactChunk(server.TextArtifact("steps", fmt.Sprint(i)), i > 0, false); err != nil {
				return err
			}
		}
		<-ctx.Done()
		return context.Cause(ctx)
	})
	ts := start(t, setup{exec: steps})
	c := openMesh(t, ts, context.Background())
	type seqEvent struct {
		seq  int64
		kind string
	}
	read := func(ch chan *meshv1.Response, n int) []seqEvent {
		t.Helper()
		var out []seqEvent
		for len(out) < n {
			r := next(t, ch)
			if r.GetEvent() == nil {
				t.Fatalf("frame %v, want an event", r)
			}
			out = append(out, seqEvent{r.GetSequence(), kinds([]*a2av1.StreamResponse{r.GetEvent()})})
		}
		return out
	}
	sendFrames := c.do(&meshv1.Request{RequestId: 1, Operation: &meshv1.Request_SendStreamingMessage{SendStreamingMessage: send("go")}})
	first := next(t, sendFrames)
	taskID := first.GetEvent().GetTask().GetId()
	seen := append([]seqEvent{{first.GetSequence(), "task:TASK_STATE_WORKING"}}, read(sendFrames, 3)...)

	// The client saw the task and the first chunk, then lost the stream.
	after := seen[1].seq
	resumed := c.do(&meshv1.Request{RequestId: 2, ResumeAfter: after,
		Operation: &meshv1.Request_SubscribeToTask{SubscribeToTask: &a2av1.SubscribeToTaskRequest{Id: taskID}}})
	if got, want := read(resumed, 2), seen[2:]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("resumed after seq %d: %v, want %v", after, got, want)
	}
	// Live events follow the replay, then the end.
	if _, err := ts.a2a.CancelTask(context.Background(), &a2av1.CancelTaskRequest{Id: taskID}); err != nil {
		t.Fatal(err)
	}
	if got := read(resumed, 1); got[0].seq <= seen[3].seq || got[0].kind != "status:TASK_STATE_CANCELED" {
		t.Errorf("live event after the replay = %v, want CANCELED after seq %d", got, seen[3].seq)
	}
	if r := next(t, resumed); r.GetEnd() == nil {
		t.Errorf("resumed subscription frame %v, want end", r)
	}
	// The original streaming send ends too, with the cancellation.
	for {
		if r := next(t, sendFrames); r.GetEnd() != nil || r.GetError() != nil {
			break
		}
	}
	c.stream.CloseSend()
	<-c.closedErr
}
