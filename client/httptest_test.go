package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/google/uuid"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/httpserver"
)

// Shared fixtures of the HTTP transport tests: a real a2agrpc HTTP server
// on a loopback port, an agent that records what reached it, and the
// suite both HTTP transports pass.

// callerHeader names the caller to the test server's identity function,
// which stands in for authentication (the extended card needs a caller).
const callerHeader = "X-Test-Caller"

// testExtension is an extension the test card declares, so the server
// activates it when asked.
const testExtension = "https://example.com/ext/test/v1"

// testAgent echoes ("echo" or anything else), holds ("hold": WORKING and
// one artifact, then waits to be canceled), and records the service
// parameters each execution saw.
type testAgent struct {
	mu   sync.Mutex
	seen []*server.CallInfo
}

func (a *testAgent) Execute(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
	info := server.CallInfoFrom(ctx)
	a.mu.Lock()
	a.seen = append(a.seen, &server.CallInfo{Version: info.Version, Extensions: info.Extensions, Caller: info.Caller})
	a.mu.Unlock()
	if err := w.Working(""); err != nil {
		return err
	}
	if err := w.Artifact(server.TextArtifact("echo", req.Text())); err != nil {
		return err
	}
	if req.Text() == "hold" {
		<-ctx.Done()
		return context.Cause(ctx)
	}
	return nil
}

// last is the service parameters of the latest execution.
func (a *testAgent) last() *server.CallInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.seen) == 0 {
		return &server.CallInfo{}
	}
	return a.seen[len(a.seen)-1]
}

// testServer is a running HTTP server of an A2A agent.
type testServer struct {
	url   string // base URL, no trailing slash
	agent *testAgent
	h     *server.Handler
	hs    *httpserver.Server
	// inFlight counts requests whose handler has not returned, to see a
	// stream the client left actually end on the server.
	inFlight atomic.Int64
}

// testCard declares streaming, push notifications, the extended card and
// testExtension.
func testCard() *a2av1.AgentCard {
	return &a2av1.AgentCard{
		Name: "client test agent", Description: "records calls", Version: "1.0.0",
		Capabilities: &a2av1.AgentCapabilities{
			Streaming:         proto.Bool(true),
			PushNotifications: proto.Bool(true),
			ExtendedAgentCard: proto.Bool(true),
			Extensions:        []*a2av1.AgentExtension{{Uri: testExtension}},
		},
		DefaultInputModes:  []string{"text/plain"},
		DefaultOutputModes: []string{"text/plain"},
	}
}

// startHTTP serves a testAgent over HTTP on 127.0.0.1:0: the card of
// testCard, an extended card for any caller named in callerHeader, and
// opts.
func startHTTP(t *testing.T, opts ...server.Option) *testServer {
	t.Helper()
	agent := &testAgent{}
	extended := func(_ context.Context, call *server.CallInfo) (*a2av1.AgentCard, error) {
		card := testCard()
		card.Name = "extended for " + call.Caller
		return card, nil
	}
	opts = append([]server.Option{server.WithAgentCard(testCard()), server.WithExtendedAgentCard(extended)}, opts...)
	h, err := server.NewHandler(agent, opts...)
	if err != nil {
		t.Fatal(err)
	}
	hs, err := httpserver.New(h, httpserver.WithIdentity(func(r *http.Request) string { return r.Header.Get(callerHeader) }))
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{agent: agent, h: h, hs: hs}
	ts.url = listen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.inFlight.Add(1)
		defer ts.inFlight.Add(-1)
		hs.ServeHTTP(w, r)
	}), hs.Drain)
	t.Cleanup(func() {
		// Held tasks never finish by themselves: give running agents a
		// moment, then Close cancels them.
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_ = h.Close(ctx)
	})
	return ts
}

// listen serves handler on a loopback port until the test ends and returns
// its base URL; beforeShutdown (if any) runs first, to end open streams.
func listen(t *testing.T, handler http.Handler, beforeShutdown ...func()) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	t.Cleanup(func() {
		for _, f := range beforeShutdown {
			f()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + lis.Addr().String()
}

// waitIdle waits until no request is being served, which is how a test
// sees that a stream the client left has ended on the server too.
func (s *testServer) waitIdle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.inFlight.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests still in flight", s.inFlight.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testParams sends A2A-Version, the test extension and a caller name,
// the way the Client's header source does.
func testParams(caller string) params {
	return params{headers: func(context.Context) (map[string]string, error) {
		return map[string]string{
			a2agrpc.HeaderVersion:    a2agrpc.ProtocolVersion,
			a2agrpc.HeaderExtensions: testExtension,
			callerHeader:             caller,
		}, nil
	}}
}

func textMessage(text string) *a2av1.Message {
	return &a2av1.Message{MessageId: uuid.NewString(), Role: a2av1.Role_ROLE_USER,
		Parts: []*a2av1.Part{{Content: &a2av1.Part_Text{Text: text}}}}
}

// collectStream drains a stream, returning its events and the error that
// ended it.
func collectStream(s stream) ([]event, error) {
	var out []event
	for ev, err := range s {
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// eventKind names an event for comparisons: "task", "message",
// "artifact", or "status:<STATE>".
func eventKind(r *a2av1.StreamResponse) string {
	switch {
	case r.GetTask() != nil:
		return "task"
	case r.GetMessage() != nil:
		return "message"
	case r.GetArtifactUpdate() != nil:
		return "artifact"
	case r.GetStatusUpdate() != nil:
		return "status:" + r.GetStatusUpdate().GetStatus().GetState().String()
	}
	return "?"
}

func kindsOf(evs []event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = eventKind(ev.resp)
	}
	return out
}

// wantReason fails unless err is an *a2agrpc.Error with the reason.
func wantReason(t *testing.T, err error, r a2agrpc.Reason) *a2agrpc.Error {
	t.Helper()
	var e *a2agrpc.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want an *a2agrpc.Error with reason %s", err, err, r)
	}
	if e.Reason != r {
		t.Fatalf("reason %s (%v), want %s", e.Reason, err, r)
	}
	return e
}

// transportSuite runs every operation of a transport against a real
// server; mk builds the transport for the server's base URL.
func transportSuite(t *testing.T, mk func(base string, p params) transport) {
	t.Run("operations", func(t *testing.T) {
		for _, tenant := range []string{"", "acme corp"} {
			t.Run("tenant="+tenant, func(t *testing.T) { testOperations(t, mk, tenant) })
		}
	})
	t.Run("push configs", func(t *testing.T) { testPushConfigs(t, mk) })
	t.Run("service parameters", func(t *testing.T) { testServiceParameters(t, mk) })
	t.Run("streams", func(t *testing.T) { testStreams(t, mk) })
	t.Run("resumption", func(t *testing.T) { testResumption(t, mk) })
	t.Run("leaving a stream", func(t *testing.T) { testLeaveStream(t, mk) })
	t.Run("errors", func(t *testing.T) { testErrors(t, mk) })
	t.Run("cancellation", func(t *testing.T) { testCancellation(t, mk) })
	t.Run("unreachable", func(t *testing.T) { testUnreachable(t, mk) })
	t.Run("mid-stream error", func(t *testing.T) { testMidStreamError(t, mk) })
	t.Run("rate limited", func(t *testing.T) { testRateLimited(t, mk) })
}

func testOperations(t *testing.T, mk func(string, params) transport, tenant string) {
	srv := startHTTP(t)
	tr := mk(srv.url, testParams("alice"))
	ctx := t.Context()
	resp, err := tr.sendMessage(ctx, &a2av1.SendMessageRequest{Tenant: tenant, Message: textMessage("hello")})
	if err != nil {
		t.Fatal(err)
	}
	task := resp.GetTask()
	if task.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_COMPLETED || len(task.GetArtifacts()) != 1 {
		t.Fatalf("sendMessage: %v", resp)
	}

	got, err := tr.getTask(ctx, &a2av1.GetTaskRequest{Tenant: tenant, Id: task.GetId(), HistoryLength: proto.Int32(0)})
	if err != nil || got.GetId() != task.GetId() || got.History != nil {
		t.Fatalf("getTask with historyLength 0: %v, %v", got, err)
	}
	got, err = tr.getTask(ctx, &a2av1.GetTaskRequest{Tenant: tenant, Id: task.GetId()})
	if err != nil || len(got.GetHistory()) == 0 {
		t.Fatalf("getTask: %v, %v", got, err)
	}
	other := "elsewhere"
	if tenant != "" {
		other = ""
	}
	_, err = tr.getTask(ctx, &a2av1.GetTaskRequest{Tenant: other, Id: task.GetId()})
	if !errors.Is(err, a2agrpc.ErrTaskNotFound) {
		t.Errorf("task of tenant %q from tenant %q: %v", tenant, other, err)
	}

	list, err := tr.listTasks(ctx, &a2av1.ListTasksRequest{
		Tenant: tenant, PageSize: proto.Int32(10), Status: a2av1.TaskState_TASK_STATE_COMPLETED,
		ContextId: task.GetContextId(), IncludeArtifacts: proto.Bool(true), HistoryLength: proto.Int32(0),
	})
	if err != nil || len(list.GetTasks()) != 1 || len(list.GetTasks()[0].GetArtifacts()) != 1 || list.GetTasks()[0].History != nil {
		t.Fatalf("listTasks: %v, %v", list, err)
	}
	list, err = tr.listTasks(ctx, &a2av1.ListTasksRequest{Tenant: tenant, Status: a2av1.TaskState_TASK_STATE_WORKING})
	if err != nil || len(list.GetTasks()) != 0 {
		t.Errorf("listTasks of WORKING tasks: %v, %v", list, err)
	}

	_, err = tr.cancelTask(ctx, &a2av1.CancelTaskRequest{Tenant: tenant, Id: task.GetId()})
	if !errors.Is(err, a2agrpc.ErrTaskNotCancelable) {
		t.Errorf("cancel a completed task: %v", err)
	}
	held := sendHold(t, tr, tenant)
	canceled, err := tr.cancelTask(ctx, &a2av1.CancelTaskRequest{Tenant: tenant, Id: held.GetId()})
	if err != nil || canceled.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_CANCELED {
		t.Errorf("cancelTask: %v, %v", canceled, err)
	}

	card, err := tr.getExtendedAgentCard(ctx, &a2av1.GetExtendedAgentCardRequest{Tenant: tenant})
	if err != nil || card.GetName() != "extended for alice" {
		t.Errorf("getExtendedAgentCard: %v, %v", card.GetName(), err)
	}
	if err := tr.close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

// sendHold starts a held task and returns it once its artifact is
// written, so that its event log holds events 1 (created), 2 (WORKING)
// and 3 (the artifact).
func sendHold(t *testing.T, tr transport, tenant string) *a2av1.Task {
	t.Helper()
	resp, err := tr.sendMessage(t.Context(), &a2av1.SendMessageRequest{
		Tenant: tenant, Message: textMessage("hold"),
		Configuration: &a2av1.SendMessageConfiguration{ReturnImmediately: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		task, err := tr.getTask(t.Context(), &a2av1.GetTaskRequest{Tenant: tenant, Id: resp.GetTask().GetId()})
		if err != nil {
			t.Fatal(err)
		}
		if len(task.GetArtifacts()) > 0 {
			return task
		}
		if time.Now().After(deadline) {
			t.Fatalf("held task never got its artifact: %v", task)
		}
	}
}

func testPushConfigs(t *testing.T, mk func(string, params) transport) {
	srv := startHTTP(t)
	tr := mk(srv.url, testParams("alice"))
	ctx := t.Context()
	for _, tenant := range []string{"", "acme"} {
		resp, err := tr.sendMessage(ctx, &a2av1.SendMessageRequest{Tenant: tenant, Message: textMessage("x")})
		if err != nil {
			t.Fatal(err)
		}
		taskID := resp.GetTask().GetId()
		cfg, err := tr.createPushConfig(ctx, &a2av1.TaskPushNotificationConfig{Tenant: tenant, TaskId: taskID, Url: "https://hooks.example.com/a2a", Token: "tok"})
		if err != nil || cfg.GetId() == "" || cfg.GetTaskId() != taskID {
			t.Fatalf("createPushConfig: %v, %v", cfg, err)
		}
		got, err := tr.getPushConfig(ctx, &a2av1.GetTaskPushNotificationConfigRequest{Tenant: tenant, TaskId: taskID, Id: cfg.GetId()})
		if err != nil || got.GetUrl() != "https://hooks.example.com/a2a" || got.GetToken() != "tok" {
			t.Fatalf("getPushConfig: %v, %v", got, err)
		}
		list, err := tr.listPushConfigs(ctx, &a2av1.ListTaskPushNotificationConfigsRequest{Tenant: tenant, TaskId: taskID, PageSize: 10})
		if err != nil || len(list.GetConfigs()) != 1 {
			t.Fatalf("listPushConfigs: %v, %v", list, err)
		}
		if err := tr.deletePushConfig(ctx, &a2av1.DeleteTaskPushNotificationConfigRequest{Tenant: tenant, TaskId: taskID, Id: cfg.GetId()}); err != nil {
			t.Fatalf("deletePushConfig: %v", err)
		}
		_, err = tr.getPushConfig(ctx, &a2av1.GetTaskPushNotificationConfigRequest{Tenant: tenant, TaskId: taskID, Id: cfg.GetId()})
		if !errors.Is(err, a2agrpc.ErrTaskNotFound) {
			t.Errorf("deleted push config: %v", err)
		}
	}
}

func testServiceParameters(t *testing.T, mk func(string, params) transport) {
	srv := startHTTP(t)
	tr := mk(srv.url, testParams("bob"))
	if _, err := tr.sendMessage(t.Context(), &a2av1.SendMessageRequest{Message: textMessage("x")}); err != nil {
		t.Fatal(err)
	}
	seen := srv.agent.last()
	if seen.Version != a2agrpc.ProtocolVersion || !slices.Equal(seen.Extensions, []string{testExtension}) || seen.Caller != "bob" {
		t.Errorf("the agent saw version %q, extensions %v, caller %q", seen.Version, seen.Extensions, seen.Caller)
	}
	// The same over a stream.
	tr = mk(srv.url, testParams("carol"))
	if _, err := collectStream(tr.sendStreamingMessage(t.Context(), &a2av1.SendMessageRequest{Message: textMessage("y")})); err != nil {
		t.Fatal(err)
	}
	if seen := srv.agent.last(); seen.Caller != "carol" || !slices.Equal(seen.Extensions, []string{testExtension}) {
		t.Errorf("over a stream the agent saw extensions %v, caller %q", seen.Extensions, seen.Caller)
	}
	// A failing header source fails the call before anything is sent.
	broken := params{headers: func(context.Context) (map[string]string, error) {
		return nil, a2agrpc.NewError(a2agrpc.ReasonUnauthenticated, "no token")
	}}
	_, err := mk(srv.url, broken).getTask(t.Context(), &a2av1.GetTaskRequest{Id: "x"})
	wantReason(t, err, a2agrpc.ReasonUnauthenticated)
}

func testStreams(t *testing.T, mk func(string, params) transport) {
	srv := startHTTP(t)
	tr := mk(srv.url, testParams("alice"))
	for _, tenant := range []string{"", "acme"} {
		evs, err := collectStream(tr.sendStreamingMessage(t.Context(), &a2av1.SendMessageRequest{Tenant: tenant, Message: textMessage("stream me")}))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := kindsOf(evs), []string{"task", "artifact", "status:TASK_STATE_COMPLETED"}; !slices.Equal(got, want) {
			t.Errorf("stream %v, want %v", got, want)
		}
		for i, ev := range evs {
			if ev.seq != int64(i+1) {
				t.Errorf("event %d has seq %d", i, ev.seq)
			}
		}
	}
}

func testResumption(t *testing.T, mk func(string, params) transport) {
	srv := startHTTP(t)
	tr := mk(srv.url, testParams("alice"))
	for _, tenant := range []string{"", "acme"} {
		held := sendHold(t, tr, tenant)
		req := &a2av1.SubscribeToTaskRequest{Tenant: tenant, Id: held.GetId()}

		// A fresh subscription starts with the task as it is now.
		ctx, cancel := context.WithCancel(t.Context())
		for ev, err := range tr.subscribeToTask(ctx, req, -1) {
			if err != nil || eventKind(ev.resp) != "task" || ev.seq != 3 {
				t.Errorf("fresh subscription: first event %v seq %d, %v", ev.resp, ev.seq, err)
			}
			break
		}
		cancel()

		// Resuming after event 1 replays exactly what followed it, then
		// goes on live until the task ends.
		var evs []event
		for ev, err := range tr.subscribeToTask(t.Context(), req, 1) {
			if err != nil {
				t.Fatalf("resumed subscription: %v", err)
			}
			evs = append(evs, ev)
			if len(evs) == 2 {
				if _, err := tr.cancelTask(t.Context(), &a2av1.CancelTaskRequest{Tenant: tenant, Id: held.GetId()}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if got, want := kindsOf(evs), []string{"status:TASK_STATE_WORKING", "artifact", "status:TASK_STATE_CANCELED"}; !slices.Equal(got, want) {
			t.Errorf("resumed after 1: %v, want %v", got, want)
		}
		for i, ev := range evs {
			if ev.seq != int64(i+2) {
				t.Errorf("resumed event %d has seq %d, want %d", i, ev.seq, i+2)
			}
		}
	}
}

func testLeaveStream(t *testing.T, mk func(string, params) transport) {
	srv := startHTTP(t)
	tr := mk(srv.url, testParams("alice"))
	held := sendHold(t, tr, "")
	n := 0
	for _, err := range tr.subscribeToTask(t.Context(), &a2av1.SubscribeToTaskRequest{Id: held.GetId()}, -1) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		break
	}
	if n != 1 {
		t.Fatalf("%d events before leaving", n)
	}
	// Leaving closed the response, so the server's handler returned
	// although the task still runs.
	srv.waitIdle(t)
	if task, err := tr.getTask(t.Context(), &a2av1.GetTaskRequest{Id: held.GetId()}); err != nil || task.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_WORKING {
		t.Errorf("the task after the subscriber left: %v, %v", task, err)
	}
}

func testErrors(t *testing.T, mk func(string, params) transport) {
	srv := startHTTP(t)
	tr := mk(srv.url, testParams("alice"))
	ctx := t.Context()
	_, err := tr.getTask(ctx, &a2av1.GetTaskRequest{Id: "no-such-task"})
	if !errors.Is(err, a2agrpc.ErrTaskNotFound) {
		t.Errorf("unknown task: %v", err)
	}
	_, err = tr.cancelTask(ctx, &a2av1.CancelTaskRequest{Id: "no-such-task"})
	if !errors.Is(err, a2agrpc.ErrTaskNotFound) {
		t.Errorf("cancel an unknown task: %v", err)
	}
	_, err = collectStream(tr.subscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: "no-such-task"}, -1))
	if !errors.Is(err, a2agrpc.ErrTaskNotFound) {
		t.Errorf("subscribe to an unknown task: %v", err)
	}
	_, err = tr.sendMessage(ctx, &a2av1.SendMessageRequest{Message: &a2av1.Message{Role: a2av1.Role_ROLE_USER}})
	if e := wantReason(t, err, a2agrpc.ReasonInvalidParams); e.Metadata["field"] == "" {
		t.Errorf("invalid params without the field: %+v", e)
	}
	_, err = collectStream(tr.sendStreamingMessage(ctx, &a2av1.SendMessageRequest{}))
	wantReason(t, err, a2agrpc.ReasonInvalidParams)
	_, err = tr.getTask(ctx, &a2av1.GetTaskRequest{})
	wantReason(t, err, a2agrpc.ReasonInvalidParams)
	_, err = tr.listTasks(ctx, &a2av1.ListTasksRequest{PageSize: proto.Int32(1000)})
	wantReason(t, err, a2agrpc.ReasonInvalidParams)
	// No caller: the extended card is for authenticated callers only.
	_, err = mk(srv.url, params{}).getExtendedAgentCard(ctx, &a2av1.GetExtendedAgentCardRequest{})
	wantReason(t, err, a2agrpc.ReasonUnauthenticated)
}

func testCancellation(t *testing.T, mk func(string, params) transport) {
	srv := startHTTP(t)
	tr := mk(srv.url, testParams("alice"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := tr.getTask(ctx, &a2av1.GetTaskRequest{Id: "x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled call: %v", err)
	}
	held := sendHold(t, tr, "")
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	var err error
	n := 0
	for _, err = range tr.subscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: held.GetId()}, -1) {
		if err != nil {
			break
		}
		n++
		cancel() // mid-stream
	}
	if n != 1 || !errors.Is(err, context.Canceled) {
		t.Errorf("stream canceled after %d events: %v", n, err)
	}
	var e *a2agrpc.Error
	if !errors.As(err, &e) {
		t.Errorf("cancellation %v (%T) is not an *a2agrpc.Error", err, err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if _, err := tr.listTasks(ctx, &a2av1.ListTasksRequest{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("call past its deadline: %v", err)
	}
}

func testUnreachable(t *testing.T, mk func(string, params) transport) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + lis.Addr().String()
	_ = lis.Close() // nothing listens there any more: connections are refused
	tr := mk(addr, testParams("alice"))
	_, err = tr.getTask(t.Context(), &a2av1.GetTaskRequest{Id: "x"})
	if e := wantReason(t, err, a2agrpc.ReasonUnavailable); errors.Unwrap(e) == nil {
		t.Errorf("unavailable without its cause: %v", e)
	}
	_, err = collectStream(tr.sendStreamingMessage(t.Context(), &a2av1.SendMessageRequest{Message: textMessage("x")}))
	wantReason(t, err, a2agrpc.ReasonUnavailable)
}

func testMidStreamError(t *testing.T, mk func(string, params) transport) {
	srv := startHTTP(t)
	tr := mk(srv.url, testParams("alice"))
	held := sendHold(t, tr, "")
	var evs []event
	var err error
	for ev, e := range tr.subscribeToTask(t.Context(), &a2av1.SubscribeToTaskRequest{Id: held.GetId()}, -1) {
		if err = e; err != nil {
			break
		}
		evs = append(evs, ev)
		srv.hs.Drain() // ends following streams with an UNAVAILABLE error event
	}
	if len(evs) != 1 || !errors.Is(err, a2agrpc.ErrUnavailable) {
		t.Errorf("drained stream: %d events, then %v", len(evs), err)
	}
}

func testRateLimited(t *testing.T, mk func(string, params) transport) {
	srv := startHTTP(t, server.WithRateLimit(0.001, 1))
	tr := mk(srv.url, testParams("alice"))
	var err error
	for range 3 {
		if _, err = tr.listTasks(t.Context(), &a2av1.ListTasksRequest{}); err != nil {
			break
		}
	}
	if e := wantReason(t, err, a2agrpc.ReasonResourceExhausted); e.RetryAfter <= 0 {
		t.Errorf("rate limited without a delay: %+v", e)
	}
}
