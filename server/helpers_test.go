package server_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echo is the benchmark workload: it streams the input back as one artifact
// in three chunks and completes.
var echo = server.ExecutorFunc(func(_ context.Context, req *server.Request, w *server.TaskWriter) error {
	text := req.Text()
	if err := w.Working(""); err != nil {
		return err
	}
	third := len(text) / 3
	chunks := []string{text[:third], text[third : 2*third], text[2*third:]}
	for i, c := range chunks {
		if err := w.ArtifactChunk(server.TextArtifact("echo", c), i > 0, i == len(chunks)-1); err != nil {
			return err
		}
	}
	return nil
})

// greeter asks for a name on the first turn and greets on the second.
var greeter = server.ExecutorFunc(func(_ context.Context, req *server.Request, w *server.TaskWriter) error {
	if req.Task == nil {
		return w.RequireInput("what is your name?")
	}
	return w.Complete("hello " + req.Text())
})

func newHandler(t testing.TB, exec server.Executor, opts ...server.Option) *server.Handler {
	t.Helper()
	h, err := server.NewHandler(exec, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h
}

func userMessage(text string) *a2av1.Message {
	return &a2av1.Message{MessageId: uuid.NewString(), Role: a2av1.Role_ROLE_USER, Parts: []*a2av1.Part{server.TextPart(text)}}
}

func sendReq(text string) *a2av1.SendMessageRequest {
	return &a2av1.SendMessageRequest{Message: userMessage(text)}
}

func followUp(taskID, text string) *a2av1.SendMessageRequest {
	m := userMessage(text)
	m.TaskId = taskID
	return &a2av1.SendMessageRequest{Message: m}
}

// asCaller returns a context for a caller with the given identity.
func asCaller(caller string) context.Context {
	return server.WithCallInfo(context.Background(), &server.CallInfo{Caller: caller})
}

func mustSend(t testing.TB, h *server.Handler, ctx context.Context, req *a2av1.SendMessageRequest) *a2av1.Task {
	t.Helper()
	resp, err := h.SendMessage(ctx, req)
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	if resp.GetTask() == nil {
		t.Fatalf("SendMessage returned %v, want a task", resp)
	}
	return resp.GetTask()
}

func wantReason(t testing.TB, err error, want a2agrpc.Reason) *a2agrpc.Error {
	t.Helper()
	var e *a2agrpc.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want an *a2agrpc.Error with reason %s", err, err, want)
	}
	if e.Reason != want {
		t.Fatalf("reason = %s (%v), want %s", e.Reason, err, want)
	}
	return e
}

func state(t *a2av1.Task) a2av1.TaskState { return t.GetStatus().GetState() }

// collect reads a whole stream.
func collect(seq func(func(server.Event, error) bool)) ([]*a2av1.StreamResponse, error) {
	var out []*a2av1.StreamResponse
	for ev, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, ev.Response)
	}
	return out, nil
}

// kinds summarises a stream as event kinds, e.g. "task status artifact".
func kinds(evs []*a2av1.StreamResponse) string {
	var s string
	for i, ev := range evs {
		if i > 0 {
			s += " "
		}
		switch p := ev.GetPayload().(type) {
		case *a2av1.StreamResponse_Task:
			s += "task:" + short(p.Task.GetStatus().GetState())
		case *a2av1.StreamResponse_Message:
			s += "message"
		case *a2av1.StreamResponse_StatusUpdate:
			s += "status:" + short(p.StatusUpdate.GetStatus().GetState())
		case *a2av1.StreamResponse_ArtifactUpdate:
			s += "artifact"
		}
	}
	return s
}

func short(s a2av1.TaskState) string {
	return map[a2av1.TaskState]string{
		a2av1.TaskState_TASK_STATE_SUBMITTED: "submitted", a2av1.TaskState_TASK_STATE_WORKING: "working",
		a2av1.TaskState_TASK_STATE_COMPLETED: "completed", a2av1.TaskState_TASK_STATE_FAILED: "failed",
		a2av1.TaskState_TASK_STATE_CANCELED: "canceled", a2av1.TaskState_TASK_STATE_INPUT_REQUIRED: "input",
		a2av1.TaskState_TASK_STATE_REJECTED: "rejected", a2av1.TaskState_TASK_STATE_AUTH_REQUIRED: "auth",
	}[s]
}

// gate is an executor that waits for release before completing, and reports
// when it started.
type gate struct {
	started chan *server.Request
	release chan struct{}
}

func newGate() *gate {
	return &gate{started: make(chan *server.Request, 16), release: make(chan struct{})}
}

func (g *gate) Execute(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
	if err := w.Working("started"); err != nil {
		return err
	}
	g.started <- req
	select {
	case <-g.release:
		return w.Artifact(server.TextArtifact("result", "done"))
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
