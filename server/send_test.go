package server_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
)

func TestSendMessage_blockingReturnsCompletedTaskWithArtifacts(t *testing.T) {
	h := newHandler(t, echo)
	req := sendReq("hello world!")
	task := mustSend(t, h, context.Background(), req)
	if state(task) != a2av1.TaskState_TASK_STATE_COMPLETED {
		t.Fatalf("state = %v, want COMPLETED", state(task))
	}
	if task.GetId() == "" || task.GetContextId() == "" {
		t.Errorf("task id %q, context id %q: both must be set", task.GetId(), task.GetContextId())
	}
	if len(task.GetArtifacts()) != 1 || len(task.GetArtifacts()[0].GetParts()) != 3 {
		t.Fatalf("artifacts = %v, want one artifact of three chunks", task.GetArtifacts())
	}
	var got strings.Builder
	for _, p := range task.GetArtifacts()[0].GetParts() {
		got.WriteString(p.GetText())
	}
	if got.String() != "hello world!" {
		t.Errorf("echoed %q", got.String())
	}
	h0 := task.GetHistory()
	if len(h0) != 1 || h0[0].GetMessageId() != req.GetMessage().GetMessageId() || h0[0].GetTaskId() != task.GetId() || h0[0].GetContextId() != task.GetContextId() {
		t.Errorf("history = %v, want the user message with task and context ids", h0)
	}
	if req.GetMessage().GetTaskId() != "" {
		t.Error("the caller's request message was modified")
	}
	ts := task.GetStatus().GetTimestamp().AsTime()
	if ts.IsZero() || ts.Nanosecond()%int(time.Millisecond) != 0 || ts.Location() != time.UTC {
		t.Errorf("status timestamp %v: want UTC, millisecond precision", ts)
	}
	got2, err := h.GetTask(context.Background(), &a2av1.GetTaskRequest{Id: task.GetId()})
	if err != nil || !proto.Equal(got2, task) {
		t.Errorf("GetTask = %v, %v; want the same task", got2, err)
	}
}

func TestSendMessage_directReplyCreatesNoTask(t *testing.T) {
	h := newHandler(t, server.ExecutorFunc(func(_ context.Context, req *server.Request, w *server.TaskWriter) error {
		return w.Reply(server.TextPart("re: " + req.Text()))
	}))
	resp, err := h.SendMessage(context.Background(), sendReq("hi"))
	if err != nil {
		t.Fatal(err)
	}
	m := resp.GetMessage()
	if m == nil || m.GetParts()[0].GetText() != "re: hi" || m.GetRole() != a2av1.Role_ROLE_AGENT || m.GetContextId() == "" || m.GetTaskId() != "" {
		t.Fatalf("response = %v, want an agent message with a context id and no task id", resp)
	}
	list, err := h.ListTasks(context.Background(), &a2av1.ListTasksRequest{})
	if err != nil || len(list.GetTasks()) != 0 {
		t.Errorf("ListTasks = %v, %v; a direct reply must not create a task", list, err)
	}
}

func TestSendMessage_returnImmediately(t *testing.T) {
	g := newGate()
	h := newHandler(t, g)
	req := sendReq("x")
	req.Configuration = &a2av1.SendMessageConfiguration{ReturnImmediately: true}
	task := mustSend(t, h, context.Background(), req)
	if s := state(task); IsTerminalOrInterrupted(s) {
		t.Fatalf("returnImmediately returned a task in %v; want it before the agent finished", s)
	}
	<-g.started
	close(g.release)
	waitFor(t, "task completion", func() bool {
		got, err := h.GetTask(context.Background(), &a2av1.GetTaskRequest{Id: task.GetId()})
		return err == nil && state(got) == a2av1.TaskState_TASK_STATE_COMPLETED
	})
}

func IsTerminalOrInterrupted(s a2av1.TaskState) bool {
	return server.IsTerminal(s) || server.IsInterrupted(s)
}

func TestSendMessage_historyLength(t *testing.T) {
	// A two-turn task: user, agent question, user answer, agent final words.
	h := newHandler(t, greeter)
	first := mustSend(t, h, context.Background(), sendReq("hi"))
	tests := []struct {
		name string
		n    *int32
		want int
	}{
		{"unset_means_all", nil, 4},
		{"zero_means_none", proto.Int32(0), 0},
		{"two_most_recent", proto.Int32(2), 2},
		{"more_than_exists", proto.Int32(10), 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := followUp(first.GetId(), "ada")
			if tt.name != "unset_means_all" {
				// Only the first subtest sends the follow-up; the rest read.
				got, err := h.GetTask(context.Background(), &a2av1.GetTaskRequest{Id: first.GetId(), HistoryLength: tt.n})
				if err != nil {
					t.Fatal(err)
				}
				if len(got.GetHistory()) != tt.want {
					t.Fatalf("GetTask history = %d messages, want %d", len(got.GetHistory()), tt.want)
				}
				if tt.want == 0 && got.History != nil {
					t.Error("history must be absent (nil), not empty")
				}
				if tt.want == 2 && got.GetHistory()[1].GetParts()[0].GetText() != "hello ada" {
					t.Errorf("not the most recent messages: %v", got.GetHistory())
				}
				return
			}
			req.Configuration = &a2av1.SendMessageConfiguration{HistoryLength: tt.n}
			task := mustSend(t, h, context.Background(), req)
			if len(task.GetHistory()) != tt.want {
				t.Fatalf("send history = %d messages, want %d", len(task.GetHistory()), tt.want)
			}
		})
	}
	zero := followUp(first.GetId(), "again")
	zero.Configuration = &a2av1.SendMessageConfiguration{HistoryLength: proto.Int32(0)}
	_, err := h.SendMessage(context.Background(), zero)
	wantReason(t, err, a2agrpc.ReasonUnsupportedOperation) // the task is completed now
}

func TestSendMessage_multiTurn(t *testing.T) {
	var turns atomic.Int32
	h := newHandler(t, server.ExecutorFunc(func(_ context.Context, req *server.Request, w *server.TaskWriter) error {
		turns.Add(1)
		if req.Task == nil {
			return w.RequireInput("which city?")
		}
		if req.Task.GetId() != req.TaskID || req.Task.GetHistory()[len(req.Task.GetHistory())-1].GetMessageId() != req.Message.GetMessageId() {
			t.Errorf("follow-up execution sees task %v", req.Task)
		}
		return w.Complete("weather in " + req.Text() + ": sunny")
	}))
	ctx := context.Background()
	withCtx := sendReq("weather?")
	withCtx.Message.ContextId = "conversation-7"
	first := mustSend(t, h, ctx, withCtx)
	if state(first) != a2av1.TaskState_TASK_STATE_INPUT_REQUIRED || first.GetContextId() != "conversation-7" {
		t.Fatalf("first turn: %v in context %q, want INPUT_REQUIRED in the client's context", state(first), first.GetContextId())
	}
	if q := first.GetStatus().GetMessage(); q.GetParts()[0].GetText() != "which city?" || q.GetTaskId() != first.GetId() || q.GetContextId() != "conversation-7" {
		t.Errorf("status message = %v", q)
	}

	t.Run("context_mismatch_is_invalid_params", func(t *testing.T) {
		req := followUp(first.GetId(), "Paris")
		req.Message.ContextId = "another"
		e := wantReason(t, sendErr(h, req), a2agrpc.ReasonInvalidParams)
		if e.Metadata["field"] != "message.contextId" {
			t.Errorf("field = %q", e.Metadata["field"])
		}
	})
	t.Run("unknown_task_is_not_found", func(t *testing.T) {
		wantReason(t, sendErr(h, followUp("no-such-task", "x")), a2agrpc.ReasonTaskNotFound)
	})
	t.Run("other_caller_sees_not_found", func(t *testing.T) {
		_, err := h.SendMessage(asCaller("mallory"), followUp(first.GetId(), "x"))
		wantReason(t, err, a2agrpc.ReasonTaskNotFound)
	})

	second := mustSend(t, h, ctx, followUp(first.GetId(), "Paris"))
	if second.GetId() != first.GetId() || second.GetContextId() != "conversation-7" || state(second) != a2av1.TaskState_TASK_STATE_COMPLETED {
		t.Fatalf("second turn = %v", second)
	}
	if n := len(second.GetHistory()); n != 4 {
		t.Errorf("history has %d messages, want 4 (user, agent, user, agent)", n)
	}
	t.Run("message_to_terminal_task_rejected", func(t *testing.T) {
		wantReason(t, sendErr(h, followUp(first.GetId(), "again")), a2agrpc.ReasonUnsupportedOperation)
	})
	if turns.Load() != 2 {
		t.Errorf("agent ran %d times, want 2", turns.Load())
	}
}

func sendErr(h *server.Handler, req *a2av1.SendMessageRequest) error {
	_, err := h.SendMessage(context.Background(), req)
	return err
}

func TestSendMessage_followUpWhileRunningIsRejected(t *testing.T) {
	g := newGate()
	h := newHandler(t, g)
	req := sendReq("x")
	req.Configuration = &a2av1.SendMessageConfiguration{ReturnImmediately: true}
	task := mustSend(t, h, context.Background(), req)
	<-g.started
	wantReason(t, sendErr(h, followUp(task.GetId(), "more")), a2agrpc.ReasonUnsupportedOperation)
	close(g.release)
}

func TestSendMessage_blockingReturnsAtInterruptedStates(t *testing.T) {
	for _, st := range []a2av1.TaskState{a2av1.TaskState_TASK_STATE_INPUT_REQUIRED, a2av1.TaskState_TASK_STATE_AUTH_REQUIRED} {
		t.Run(st.String(), func(t *testing.T) {
			release := make(chan struct{})
			h := newHandler(t, server.ExecutorFunc(func(ctx context.Context, _ *server.Request, w *server.TaskWriter) error {
				if err := w.Status(st, server.AgentMessage(server.TextPart("need something"))); err != nil {
					return err
				}
				<-release // the agent is still running (e.g. waiting for credentials)
				return nil
			}))
			task := mustSend(t, h, context.Background(), sendReq("x"))
			if state(task) != st {
				t.Errorf("state = %v, want %v", state(task), st)
			}
			close(release)
		})
	}
}

func TestSendMessage_callerGivesUpTaskCarriesOn(t *testing.T) {
	g := newGate()
	h := newHandler(t, g)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := h.SendMessage(ctx, sendReq("x")); done <- err }()
	req := <-g.started
	cancel()
	wantReason(t, <-done, a2agrpc.ReasonCanceled)
	close(g.release)
	waitFor(t, "the task to complete after the caller left", func() bool {
		got, err := h.GetTask(context.Background(), &a2av1.GetTaskRequest{Id: req.TaskID})
		return err == nil && state(got) == a2av1.TaskState_TASK_STATE_COMPLETED
	})
}

func TestSendMessage_agentOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		exec       server.ExecutorFunc
		wantState  a2av1.TaskState
		wantReason a2agrpc.Reason // request error instead of a task
		wantText   string         // status message text
	}{
		{
			name:      "nil_without_events_completes",
			exec:      func(context.Context, *server.Request, *server.TaskWriter) error { return nil },
			wantState: a2av1.TaskState_TASK_STATE_COMPLETED,
		},
		{
			name: "plain_error_fails_task_without_leaking_it",
			exec: func(_ context.Context, _ *server.Request, w *server.TaskWriter) error {
				_ = w.Working("")
				return errors.New("db password is hunter2")
			},
			wantState: a2av1.TaskState_TASK_STATE_FAILED, wantText: "the agent failed",
		},
		{
			name: "a2a_error_before_events_fails_request",
			exec: func(context.Context, *server.Request, *server.TaskWriter) error {
				return a2agrpc.NewError(a2agrpc.ReasonContentTypeNotSupported, "only images")
			},
			wantReason: a2agrpc.ReasonContentTypeNotSupported,
		},
		{
			name: "a2a_error_after_events_fails_task_with_its_message",
			exec: func(_ context.Context, _ *server.Request, w *server.TaskWriter) error {
				_ = w.Working("")
				return a2agrpc.NewError(a2agrpc.ReasonInternal, "quota exceeded")
			},
			wantState: a2av1.TaskState_TASK_STATE_FAILED, wantText: "quota exceeded",
		},
		{
			name:      "panic_fails_task_not_server",
			exec:      func(context.Context, *server.Request, *server.TaskWriter) error { panic("boom") },
			wantState: a2av1.TaskState_TASK_STATE_FAILED, wantText: "the agent failed unexpectedly",
		},
		{
			name: "reject",
			exec: func(_ context.Context, _ *server.Request, w *server.TaskWriter) error {
				return w.Reject("not my job")
			},
			wantState: a2av1.TaskState_TASK_STATE_REJECTED, wantText: "not my job",
		},
		{
			name: "writes_after_terminal_are_refused",
			exec: func(_ context.Context, _ *server.Request, w *server.TaskWriter) error {
				_ = w.Complete("done")
				if err := w.Working("more"); !errors.Is(err, server.ErrTaskFinished) {
					return errors.New("write after completion was accepted")
				}
				return nil
			},
			wantState: a2av1.TaskState_TASK_STATE_COMPLETED, wantText: "done",
		},
		{
			name: "invalid_artifact_is_refused",
			exec: func(_ context.Context, _ *server.Request, w *server.TaskWriter) error {
				if err := w.Artifact(&a2av1.Artifact{ArtifactId: "a"}); !errors.Is(err, a2agrpc.ErrInvalidAgentResponse) {
					return errors.New("artifact without parts was accepted")
				}
				return w.Complete("ok")
			},
			wantState: a2av1.TaskState_TASK_STATE_COMPLETED, wantText: "ok",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHandler(t, tt.exec)
			resp, err := h.SendMessage(context.Background(), sendReq("x"))
			if tt.wantReason != "" {
				wantReason(t, err, tt.wantReason)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			task := resp.GetTask()
			if state(task) != tt.wantState {
				t.Fatalf("state = %v, want %v (%v)", state(task), tt.wantState, task.GetStatus())
			}
			if got := task.GetStatus().GetMessage().GetParts(); tt.wantText != "" && (len(got) == 0 || got[0].GetText() != tt.wantText) {
				t.Errorf("status message = %v, want %q", got, tt.wantText)
			}
		})
	}
}

func TestSendMessage_acceptedOutputModesReachTheAgent(t *testing.T) {
	h := newHandler(t, server.ExecutorFunc(func(_ context.Context, req *server.Request, w *server.TaskWriter) error {
		if req.Accepts("text/plain") {
			return w.Reply(server.TextPart("text"))
		}
		p, _ := server.DataPart(map[string]any{"kind": "json"})
		return w.Reply(p)
	}))
	for _, tt := range []struct {
		modes []string
		want  string
	}{
		{nil, "text"},
		{[]string{"text/*"}, "text"},
		{[]string{"application/json"}, "data"},
		{[]string{"text/plain; charset=utf-8"}, "text"},
	} {
		req := sendReq("x")
		req.Configuration = &a2av1.SendMessageConfiguration{AcceptedOutputModes: tt.modes}
		resp, err := h.SendMessage(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		got := "text"
		if resp.GetMessage().GetParts()[0].GetData() != nil {
			got = "data"
		}
		if got != tt.want {
			t.Errorf("modes %v: agent answered %s, want %s", tt.modes, got, tt.want)
		}
	}
}
