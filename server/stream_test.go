package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
)

func TestSendStreamingMessage_shapes(t *testing.T) {
	tests := []struct {
		name string
		exec server.ExecutorFunc
		want string
	}{
		{"echo_is_five_events", echo.Execute, "task:working artifact artifact artifact status:completed"},
		{
			"direct_reply_is_one_message",
			func(_ context.Context, _ *server.Request, w *server.TaskWriter) error {
				return w.Reply(server.TextPart("hi"))
			},
			"message",
		},
		{
			"artifact_first_creates_working_task",
			func(_ context.Context, _ *server.Request, w *server.TaskWriter) error {
				return w.Artifact(server.TextArtifact("a", "x"))
			},
			"task:working artifact status:completed",
		},
		{
			"immediate_completion_is_one_task",
			func(_ context.Context, _ *server.Request, w *server.TaskWriter) error { return w.Complete("done") },
			"task:completed",
		},
		{
			"stream_ends_at_input_required",
			func(_ context.Context, _ *server.Request, w *server.TaskWriter) error {
				_ = w.Working("")
				return w.RequireInput("more?")
			},
			"task:working status:input",
		},
		{
			"failure_is_a_status_event",
			func(_ context.Context, _ *server.Request, w *server.TaskWriter) error {
				_ = w.Working("")
				return fmt.Errorf("broken")
			},
			"task:working status:failed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHandler(t, tt.exec)
			evs, err := collect(h.SendStreamingMessage(context.Background(), sendReq("abcdef")))
			if err != nil {
				t.Fatal(err)
			}
			if got := kinds(evs); got != tt.want {
				t.Errorf("stream = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSendStreamingMessage_eventsCarryIDsAndSequence(t *testing.T) {
	h := newHandler(t, echo)
	var last int64
	var taskID string
	for ev, err := range h.SendStreamingMessage(context.Background(), sendReq("abcdef")) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Seq <= last {
			t.Errorf("sequence %d after %d: must grow", ev.Seq, last)
		}
		last = ev.Seq
		switch p := ev.Response.GetPayload().(type) {
		case *a2av1.StreamResponse_Task:
			taskID = p.Task.GetId()
		case *a2av1.StreamResponse_ArtifactUpdate:
			if p.ArtifactUpdate.GetTaskId() != taskID || p.ArtifactUpdate.GetContextId() == "" {
				t.Errorf("artifact update ids: %v", p.ArtifactUpdate)
			}
		case *a2av1.StreamResponse_StatusUpdate:
			if p.StatusUpdate.GetTaskId() != taskID || p.StatusUpdate.GetContextId() == "" {
				t.Errorf("status update ids: %v", p.StatusUpdate)
			}
		}
	}
	// The log keeps what the stream showed (for resumption).
	evs, err := h.Store().Events(context.Background(), taskID, 0)
	if err == nil && len(evs) > 0 {
		t.Errorf("terminal task still holds %d logged events", len(evs))
	}
}

func TestSendStreamingMessage_followUpStartsWithCurrentTask(t *testing.T) {
	h := newHandler(t, greeter)
	first := mustSend(t, h, context.Background(), sendReq("hello"))
	evs, err := collect(h.SendStreamingMessage(context.Background(), followUp(first.GetId(), "bob")))
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds(evs); got != "task:working status:completed" {
		t.Fatalf("stream = %q", got)
	}
	if n := len(evs[0].GetTask().GetHistory()); n != 3 {
		t.Errorf("first event's task has %d history messages, want 3 (incl. the new one)", n)
	}
}

func TestSubscribeToTask(t *testing.T) {
	g := newGate()
	h := newHandler(t, g)
	req := sendReq("x")
	req.Configuration = &a2av1.SendMessageConfiguration{ReturnImmediately: true}
	task := mustSend(t, h, context.Background(), req)
	<-g.started

	// Several subscribers see the same events in the same order.
	const subs = 3
	results := make([]string, subs)
	var ready, done sync.WaitGroup
	for i := range subs {
		ready.Add(1)
		done.Go(func() {
			first := true
			var evs []*a2av1.StreamResponse
			for ev, err := range h.SubscribeToTask(context.Background(), &a2av1.SubscribeToTaskRequest{Id: task.GetId()}) {
				if err != nil {
					t.Error(err)
					return
				}
				if first {
					ready.Done()
					first = false
				}
				evs = append(evs, ev.Response)
			}
			results[i] = kinds(evs)
		})
	}
	ready.Wait()
	close(g.release)
	done.Wait()
	for i, got := range results {
		if got != "task:working artifact status:completed" {
			t.Errorf("subscriber %d saw %q", i, got)
		}
	}

	t.Run("terminal_task_is_unsupported", func(t *testing.T) {
		_, err := collect(h.SubscribeToTask(context.Background(), &a2av1.SubscribeToTaskRequest{Id: task.GetId()}))
		wantReason(t, err, a2agrpc.ReasonUnsupportedOperation)
	})
	t.Run("unknown_task_is_not_found", func(t *testing.T) {
		_, err := collect(h.SubscribeToTask(context.Background(), &a2av1.SubscribeToTaskRequest{Id: "nope"}))
		wantReason(t, err, a2agrpc.ReasonTaskNotFound)
	})
	t.Run("missing_id_is_invalid", func(t *testing.T) {
		_, err := collect(h.SubscribeToTask(context.Background(), &a2av1.SubscribeToTaskRequest{}))
		wantReason(t, err, a2agrpc.ReasonInvalidParams)
	})
	t.Run("other_caller_sees_not_found", func(t *testing.T) {
		_, err := collect(h.SubscribeToTask(asCaller("eve"), &a2av1.SubscribeToTaskRequest{Id: task.GetId()}))
		wantReason(t, err, a2agrpc.ReasonTaskNotFound)
	})
}

// A subscription outlives an INPUT_REQUIRED pause and follows the next turn.
func TestSubscribeToTask_acrossInterruption(t *testing.T) {
	h := newHandler(t, server.ExecutorFunc(func(_ context.Context, req *server.Request, w *server.TaskWriter) error {
		if req.Task == nil {
			return w.RequireInput("name?")
		}
		_ = w.Artifact(server.TextArtifact("greeting", "hi "+req.Text()))
		return nil
	}))
	first := mustSend(t, h, context.Background(), sendReq("hello"))
	events := make(chan string, 10)
	go func() {
		defer close(events)
		for ev, err := range h.SubscribeToTask(context.Background(), &a2av1.SubscribeToTaskRequest{Id: first.GetId()}) {
			if err != nil {
				events <- "error: " + err.Error()
				return
			}
			events <- kinds([]*a2av1.StreamResponse{ev.Response})
		}
	}()
	if got := <-events; got != "task:input" {
		t.Fatalf("first event %q, want the current task", got)
	}
	mustSend(t, h, context.Background(), followUp(first.GetId(), "ann"))
	var rest []string
	for e := range events {
		rest = append(rest, e)
	}
	if fmt.Sprint(rest) != "[status:working artifact status:completed]" {
		t.Errorf("after the follow-up the subscriber saw %v", rest)
	}
}

// A subscriber that stops reading is cut off with RESOURCE_EXHAUSTED; the
// agent and the other subscribers are not slowed down. The agent writes in
// batches smaller than the buffer and waits for the fast reader between
// batches, so the test does not depend on scheduling.
func TestSubscribeToTask_slowConsumerIsCutOff(t *testing.T) {
	const buffer, batch, batches = 8, 4, 10
	const events = batch * batches
	start, working := make(chan struct{}), make(chan struct{})
	fastRead := make(chan int, events+2)
	h := newHandler(t, server.ExecutorFunc(func(_ context.Context, _ *server.Request, w *server.TaskWriter) error {
		_ = w.Working("")
		close(working)
		<-start
		for i := range events {
			if err := w.ArtifactChunk(server.TextArtifact("a", fmt.Sprint(i)), i > 0, i == events-1); err != nil {
				return err
			}
			if (i+1)%batch == 0 {
				for n := 0; n < i+2; { // the fast reader has the task event and i+1 chunks
					n = <-fastRead
				}
			}
		}
		return nil
	}), server.WithStreamBuffer(buffer))
	req := sendReq("x")
	req.Configuration = &a2av1.SendMessageConfiguration{ReturnImmediately: true}
	task := mustSend(t, h, context.Background(), req)
	<-working

	slowNext, slowStop := pull(h.SubscribeToTask(context.Background(), &a2av1.SubscribeToTaskRequest{Id: task.GetId()}))
	defer slowStop()
	if _, err, _ := slowNext(); err != nil { // the current task
		t.Fatal(err)
	}
	fast := make(chan int, 1)
	subscribed := make(chan struct{})
	go func() {
		n := 0
		for _, err := range h.SubscribeToTask(context.Background(), &a2av1.SubscribeToTaskRequest{Id: task.GetId()}) {
			if err != nil {
				t.Error(err)
				break
			}
			if n == 0 {
				close(subscribed)
			}
			n++
			fastRead <- n
		}
		fast <- n
	}()
	<-subscribed
	close(start)
	if n := <-fast; n != 1+events+1 {
		t.Errorf("fast subscriber got %d events, want %d", n, events+2)
	}
	var err error
	for err == nil {
		var ok bool
		if _, err, ok = slowNext(); !ok {
			break
		}
	}
	wantReason(t, err, a2agrpc.ReasonResourceExhausted)
	got, _ := h.GetTask(context.Background(), &a2av1.GetTaskRequest{Id: task.GetId()})
	if state(got) != a2av1.TaskState_TASK_STATE_COMPLETED || len(got.GetArtifacts()[0].GetParts()) != events {
		t.Errorf("agent was disturbed: %v with %d parts", state(got), len(got.GetArtifacts()[0].GetParts()))
	}
}

func pull(seq func(func(server.Event, error) bool)) (func() (server.Event, error, bool), func()) {
	next, stop := iterPull2(seq)
	return next, stop
}
