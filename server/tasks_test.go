package server_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
)

// stateFromText lets a test choose each task's final state by its text.
var stateFromText = server.ExecutorFunc(func(_ context.Context, req *server.Request, w *server.TaskWriter) error {
	_ = w.Artifact(server.TextArtifact("out", req.Text()))
	switch req.Text() {
	case "fail":
		return w.Fail("failed on purpose")
	case "ask":
		return w.RequireInput("?")
	}
	return nil
})

func TestListTasks(t *testing.T) {
	h := newHandler(t, stateFromText)
	ctx := context.Background()
	var ids []string // oldest first
	for i, text := range []string{"a", "fail", "ask", "b", "c"} {
		req := sendReq(text)
		req.Message.ContextId = fmt.Sprintf("ctx-%d", i%2)
		ids = append(ids, mustSend(t, h, ctx, req).GetId())
		time.Sleep(2 * time.Millisecond) // distinct millisecond timestamps
	}
	mustSend(t, h, asCaller("other"), sendReq("not yours"))
	mid, _ := h.GetTask(ctx, &a2av1.GetTaskRequest{Id: ids[2]})

	tests := []struct {
		name      string
		req       *a2av1.ListTasksRequest
		wantIDs   []string
		wantTotal int32
		wantSize  int32
	}{
		{"newest_first_default_page", &a2av1.ListTasksRequest{}, []string{ids[4], ids[3], ids[2], ids[1], ids[0]}, 5, 50},
		{"page_size", &a2av1.ListTasksRequest{PageSize: proto.Int32(2)}, []string{ids[4], ids[3]}, 5, 2},
		{"context_filter", &a2av1.ListTasksRequest{ContextId: "ctx-1"}, []string{ids[3], ids[1]}, 2, 50},
		{"status_filter", &a2av1.ListTasksRequest{Status: a2av1.TaskState_TASK_STATE_COMPLETED}, []string{ids[4], ids[3], ids[0]}, 3, 50},
		{"timestamp_filter_inclusive", &a2av1.ListTasksRequest{StatusTimestampAfter: mid.GetStatus().GetTimestamp()}, []string{ids[4], ids[3], ids[2]}, 3, 50},
		{"future_timestamp", &a2av1.ListTasksRequest{StatusTimestampAfter: timestamppb.New(time.Now().Add(time.Hour))}, nil, 0, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := h.ListTasks(ctx, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, task := range resp.GetTasks() {
				got = append(got, task.GetId())
				if task.Artifacts != nil {
					t.Errorf("task %s has artifacts without includeArtifacts", task.GetId())
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.wantIDs) || resp.GetTotalSize() != tt.wantTotal || resp.GetPageSize() != tt.wantSize {
				t.Errorf("got %v total=%d size=%d, want %v total=%d size=%d", got, resp.GetTotalSize(), resp.GetPageSize(), tt.wantIDs, tt.wantTotal, tt.wantSize)
			}
		})
	}

	t.Run("cursor_paging_visits_each_task_once", func(t *testing.T) {
		var seen []string
		token := ""
		for range 10 {
			resp, err := h.ListTasks(ctx, &a2av1.ListTasksRequest{PageSize: proto.Int32(2), PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, task := range resp.GetTasks() {
				seen = append(seen, task.GetId())
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		if fmt.Sprint(seen) != fmt.Sprint([]string{ids[4], ids[3], ids[2], ids[1], ids[0]}) {
			t.Errorf("pages visited %v", seen)
		}
	})
	t.Run("include_artifacts_and_history_length", func(t *testing.T) {
		resp, err := h.ListTasks(ctx, &a2av1.ListTasksRequest{IncludeArtifacts: proto.Bool(true), HistoryLength: proto.Int32(0), PageSize: proto.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		task := resp.GetTasks()[0]
		if len(task.GetArtifacts()) != 1 || task.History != nil {
			t.Errorf("artifacts %d, history %v; want 1 artifact and no history", len(task.GetArtifacts()), task.History)
		}
	})
	t.Run("tenant_scopes_the_list", func(t *testing.T) {
		resp, err := h.ListTasks(ctx, &a2av1.ListTasksRequest{Tenant: "acme"})
		if err != nil || len(resp.GetTasks()) != 0 {
			t.Errorf("tenant acme sees %v, %v", resp.GetTasks(), err)
		}
		if _, err := h.GetTask(ctx, &a2av1.GetTaskRequest{Tenant: "acme", Id: ids[0]}); err == nil {
			t.Error("task visible through another tenant")
		}
	})
	t.Run("caller_isolation", func(t *testing.T) {
		resp, err := h.ListTasks(asCaller("other"), &a2av1.ListTasksRequest{})
		if err != nil || len(resp.GetTasks()) != 1 || resp.GetTotalSize() != 1 {
			t.Errorf("other caller lists %v, %v; want only its own task", resp.GetTasks(), err)
		}
		if _, err := h.GetTask(asCaller("other"), &a2av1.GetTaskRequest{Id: ids[0]}); err == nil {
			t.Error("GetTask leaks another caller's task")
		}
	})
}

func TestCancelTask(t *testing.T) {
	ctx := context.Background()

	t.Run("running_task", func(t *testing.T) {
		g := newGate()
		h := newHandler(t, g)
		req := sendReq("x")
		req.Configuration = &a2av1.SendMessageConfiguration{ReturnImmediately: true}
		task := mustSend(t, h, ctx, req)
		<-g.started
		sub, stop := pull(h.SubscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: task.GetId()}))
		defer stop()
		sub() // current task
		got, err := h.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: task.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		if state(got) != a2av1.TaskState_TASK_STATE_CANCELED {
			t.Fatalf("state = %v, want CANCELED", state(got))
		}
		ev, err, _ := sub()
		if err != nil || ev.Response.GetStatusUpdate().GetStatus().GetState() != a2av1.TaskState_TASK_STATE_CANCELED {
			t.Errorf("subscriber got %v, %v; want the CANCELED status", ev.Response, err)
		}
		if _, err, ok := sub(); ok {
			t.Errorf("stream continues after cancel: %v", err)
		}
		_, err = h.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: task.GetId()})
		wantReason(t, err, a2agrpc.ReasonTaskNotCancelable)
	})

	t.Run("agent_context_and_hook", func(t *testing.T) {
		var hookCalls atomic.Int32
		ctxDone := make(chan error, 1)
		exec := &cancelAware{
			hook: func(task *a2av1.Task) error { hookCalls.Add(1); return nil },
			run: func(ctx context.Context, w *server.TaskWriter) error {
				_ = w.Working("")
				<-ctx.Done()
				ctxDone <- ctx.Err()
				return ctx.Err()
			},
		}
		h := newHandler(t, exec)
		req := sendReq("x")
		req.Configuration = &a2av1.SendMessageConfiguration{ReturnImmediately: true}
		task := mustSend(t, h, ctx, req)
		waitFor(t, "the agent to start", func() bool {
			got, _ := h.GetTask(ctx, &a2av1.GetTaskRequest{Id: task.GetId()})
			return state(got) == a2av1.TaskState_TASK_STATE_WORKING
		})
		if _, err := h.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: task.GetId()}); err != nil {
			t.Fatal(err)
		}
		if err := <-ctxDone; err == nil {
			t.Error("agent context not cancelled")
		}
		if hookCalls.Load() != 1 {
			t.Errorf("cancel hook called %d times, want 1", hookCalls.Load())
		}
		got, _ := h.GetTask(ctx, &a2av1.GetTaskRequest{Id: task.GetId()})
		if state(got) != a2av1.TaskState_TASK_STATE_CANCELED {
			t.Errorf("state after the agent returned = %v, want CANCELED", state(got))
		}
	})

	t.Run("hook_refuses", func(t *testing.T) {
		release := make(chan struct{})
		exec := &cancelAware{
			hook: func(*a2av1.Task) error { return a2agrpc.ErrTaskNotCancelable },
			run: func(ctx context.Context, w *server.TaskWriter) error {
				_ = w.Working("")
				<-release
				return nil
			},
		}
		h := newHandler(t, exec)
		req := sendReq("x")
		req.Configuration = &a2av1.SendMessageConfiguration{ReturnImmediately: true}
		task := mustSend(t, h, ctx, req)
		_, err := h.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: task.GetId()})
		wantReason(t, err, a2agrpc.ReasonTaskNotCancelable)
		close(release)
	})

	t.Run("interrupted_task_without_execution", func(t *testing.T) {
		h := newHandler(t, stateFromText)
		task := mustSend(t, h, ctx, sendReq("ask"))
		got, err := h.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: task.GetId()})
		if err != nil || state(got) != a2av1.TaskState_TASK_STATE_CANCELED {
			t.Fatalf("CancelTask = %v, %v", got, err)
		}
		wantReason(t, sendErr(h, followUp(task.GetId(), "late answer")), a2agrpc.ReasonUnsupportedOperation)
	})

	t.Run("errors", func(t *testing.T) {
		h := newHandler(t, stateFromText)
		done := mustSend(t, h, ctx, sendReq("a"))
		for _, tt := range []struct {
			name string
			ctx  context.Context
			id   string
			want a2agrpc.Reason
		}{
			{"terminal", ctx, done.GetId(), a2agrpc.ReasonTaskNotCancelable},
			{"unknown", ctx, "nope", a2agrpc.ReasonTaskNotFound},
			{"missing_id", ctx, "", a2agrpc.ReasonInvalidParams},
			{"other_caller", asCaller("x"), done.GetId(), a2agrpc.ReasonTaskNotFound},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := h.CancelTask(tt.ctx, &a2av1.CancelTaskRequest{Id: tt.id})
				wantReason(t, err, tt.want)
			})
		}
	})
}

type cancelAware struct {
	hook func(*a2av1.Task) error
	run  func(context.Context, *server.TaskWriter) error
}

func (c *cancelAware) Execute(ctx context.Context, _ *server.Request, w *server.TaskWriter) error {
	return c.run(ctx, w)
}

func (c *cancelAware) Cancel(_ context.Context, task *a2av1.Task) error { return c.hook(task) }

func TestClose(t *testing.T) {
	g := newGate()
	h, err := server.NewHandler(g)
	if err != nil {
		t.Fatal(err)
	}
	req := sendReq("x")
	req.Configuration = &a2av1.SendMessageConfiguration{ReturnImmediately: true}
	task := mustSend(t, h, context.Background(), req)
	<-g.started
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := h.Close(ctx); err == nil {
		t.Error("Close returned nil although an execution had to be interrupted")
	}
	got, err := h.GetTask(context.Background(), &a2av1.GetTaskRequest{Id: task.GetId()})
	if err != nil || state(got) != a2av1.TaskState_TASK_STATE_FAILED || got.GetStatus().GetMessage().GetParts()[0].GetText() != "interrupted: the server shut down" {
		t.Errorf("task after shutdown = %v, %v", got.GetStatus(), err)
	}
	wantReason(t, sendErr(h, sendReq("late")), a2agrpc.ReasonUnavailable)
}
