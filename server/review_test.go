package server_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
)

// slowToReturn asks for input, then takes a while to return from Execute,
// so a quick caller answers while the previous turn is still winding down.
var slowToReturn = server.ExecutorFunc(func(_ context.Context, req *server.Request, w *server.TaskWriter) error {
	if req.Task == nil {
		err := w.RequireInput("name?")
		time.Sleep(20 * time.Millisecond)
		return err
	}
	return w.Complete("hello " + req.Text())
})

func TestFollowUp_immediatelyAfterInputRequired(t *testing.T) {
	h := newHandler(t, slowToReturn)
	ctx := context.Background()
	for i := range 20 {
		first := mustSend(t, h, ctx, sendReq("hi"))
		var second *a2av1.Task
		if i%2 == 0 {
			second = mustSend(t, h, ctx, followUp(first.GetId(), "ann"))
		} else {
			evs, err := collect(h.SendStreamingMessage(ctx, followUp(first.GetId(), "ann")))
			if err != nil {
				t.Fatalf("streaming follow-up %d: %v", i, err)
			}
			second, _ = h.GetTask(ctx, &a2av1.GetTaskRequest{Id: first.GetId()})
			if kinds(evs) != "task:working status:completed" {
				t.Errorf("stream = %s", kinds(evs))
			}
		}
		if state(second) != a2av1.TaskState_TASK_STATE_COMPLETED {
			t.Fatalf("follow-up %d: state %v", i, state(second))
		}
	}
}

func TestCancel_immediatelyAfterInputRequired(t *testing.T) {
	h := newHandler(t, slowToReturn)
	first := mustSend(t, h, context.Background(), sendReq("hi"))
	got, err := h.CancelTask(context.Background(), &a2av1.CancelTaskRequest{Id: first.GetId()})
	if err != nil || state(got) != a2av1.TaskState_TASK_STATE_CANCELED {
		t.Fatalf("CancelTask = %v, %v", got.GetStatus(), err)
	}
}

func TestFollowUp_inlinePushConfigIsStored(t *testing.T) {
	h := newHandler(t, greeter)
	ctx := context.Background()
	first := mustSend(t, h, ctx, sendReq("hi"))
	req := followUp(first.GetId(), "ann")
	req.Configuration = &a2av1.SendMessageConfiguration{TaskPushNotificationConfig: &a2av1.TaskPushNotificationConfig{Url: "https://hooks.example.com/x"}}
	mustSend(t, h, ctx, req)
	list, err := h.ListTaskPushNotificationConfigs(ctx, &a2av1.ListTaskPushNotificationConfigsRequest{TaskId: first.GetId()})
	if err != nil || len(list.GetConfigs()) != 1 || list.GetConfigs()[0].GetTaskId() != first.GetId() {
		t.Errorf("configs after an inline follow-up config = %v, %v", list.GetConfigs(), err)
	}
}

func TestVersionIsCheckedBeforeCapabilities(t *testing.T) {
	off := cardWith(func(c *a2av1.AgentCard) { c.Capabilities = &a2av1.AgentCapabilities{} })
	h := newHandler(t, echo, server.WithAgentCard(off))
	ctx := server.WithCallInfo(context.Background(), &server.CallInfo{Version: "0.3"})
	_, err := collect(h.SendStreamingMessage(ctx, sendReq("x")))
	wantReason(t, err, a2agrpc.ReasonVersionNotSupported)
	_, err = collect(h.SubscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: "x"}))
	wantReason(t, err, a2agrpc.ReasonVersionNotSupported)
}

func TestValidation_longContextIDNamesItsField(t *testing.T) {
	h := newHandler(t, echo)
	req := sendReq("x")
	req.Message.ContextId = strings.Repeat("c", 600)
	e := wantReason(t, sendErr(h, req), a2agrpc.ReasonInvalidParams)
	if e.Metadata["field"] != "message.contextId" {
		t.Errorf("field = %q", e.Metadata["field"])
	}
}

func TestExtendedCard_requiresAuthenticatedCaller(t *testing.T) {
	card := cardWith(func(c *a2av1.AgentCard) { c.Capabilities.ExtendedAgentCard = proto.Bool(true) })
	h := newHandler(t, echo, server.WithAgentCard(card), server.WithExtendedAgentCard(
		func(context.Context, *server.CallInfo) (*a2av1.AgentCard, error) { return card, nil }))
	_, err := h.GetExtendedAgentCard(context.Background(), &a2av1.GetExtendedAgentCardRequest{})
	wantReason(t, err, a2agrpc.ReasonUnauthenticated)
}

func TestStreamingHistoryLengthAppliesToTheFirstEvent(t *testing.T) {
	h := newHandler(t, echo)
	req := sendReq("abc")
	req.Configuration = &a2av1.SendMessageConfiguration{HistoryLength: proto.Int32(0)}
	evs, err := collect(h.SendStreamingMessage(context.Background(), req))
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].GetTask() == nil || evs[0].GetTask().History != nil {
		t.Errorf("first event = %v, want a task without history", evs[0])
	}
}

// ResubscribeToTask replays the events a reconnecting client missed.
func TestResubscribeToTask(t *testing.T) {
	step := make(chan struct{})
	h := newHandler(t, server.ExecutorFunc(func(_ context.Context, _ *server.Request, w *server.TaskWriter) error {
		_ = w.Working("")
		for i := range 3 {
			<-step
			_ = w.ArtifactChunk(server.TextArtifact("a", fmt.Sprint(i)), i > 0, i == 2)
		}
		<-step
		return nil
	}))
	ctx := context.Background()
	req := sendReq("x")
	req.Configuration = &a2av1.SendMessageConfiguration{ReturnImmediately: true}
	task := mustSend(t, h, ctx, req)
	next, stop := pull(h.SubscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: task.GetId()}))
	first, _, _ := next()
	step <- struct{}{}
	seen, _, _ := next()
	for seen.Response.GetArtifactUpdate() == nil { // skip the WORKING status
		seen, _, _ = next()
	}
	stop() // the client disconnects; artifacts 1 and 2 happen meanwhile
	step <- struct{}{}
	step <- struct{}{}
	waitFor(t, "two more chunks", func() bool {
		got, _ := h.GetTask(ctx, &a2av1.GetTaskRequest{Id: task.GetId()})
		return len(got.GetArtifacts()) == 1 && len(got.GetArtifacts()[0].GetParts()) == 3
	})
	resumed, stop2 := pull(h.ResubscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: task.GetId()}, seen.Seq))
	defer stop2()
	var got []string
	for range 2 {
		ev, err, _ := resumed()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.Response.GetArtifactUpdate().GetArtifact().GetParts()[0].GetText())
	}
	if fmt.Sprint(got) != "[1 2]" || first.Seq >= seen.Seq {
		t.Errorf("resumed with chunks %v, want the two missed ones [1 2]", got)
	}
	step <- struct{}{} // completion
	ev, err, _ := resumed()
	if err != nil || ev.Response.GetStatusUpdate().GetStatus().GetState() != a2av1.TaskState_TASK_STATE_COMPLETED {
		t.Errorf("live event after the replay = %v, %v", ev.Response, err)
	}
	// Resuming a task that ended meanwhile yields its final state once.
	evs, err := collect(h.ResubscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: task.GetId()}, seen.Seq))
	if err != nil || kinds(evs) != "task:completed" {
		t.Errorf("resume after the end = %s, %v", kinds(evs), err)
	}
	if _, err := collect(h.ResubscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: "nope"}, 3)); !errors.Is(err, a2agrpc.ErrTaskNotFound) {
		t.Errorf("resume of unknown task = %v", err)
	}
}

// A blocking send's task is built privately, but a long-running one becomes
// visible to other calls within the reveal bound while its caller waits.
func TestBlockingSend_longTaskBecomesVisible(t *testing.T) {
	g := newGate()
	h := newHandler(t, g)
	done := make(chan *a2av1.Task, 1)
	go func() { done <- mustSend(t, h, context.Background(), sendReq("x")) }()
	req := <-g.started
	waitFor(t, "the running task to be listed", func() bool {
		list, err := h.ListTasks(context.Background(), &a2av1.ListTasksRequest{Status: a2av1.TaskState_TASK_STATE_WORKING})
		return err == nil && len(list.GetTasks()) == 1 && list.GetTasks()[0].GetId() == req.TaskID
	})
	sub, stop := pull(h.SubscribeToTask(context.Background(), &a2av1.SubscribeToTaskRequest{Id: req.TaskID}))
	defer stop()
	if ev, err, _ := sub(); err != nil || ev.Response.GetTask() == nil {
		t.Fatalf("subscribe to the revealed task: %v, %v", ev.Response, err)
	}
	close(g.release)
	if task := <-done; state(task) != a2av1.TaskState_TASK_STATE_COMPLETED || len(task.GetArtifacts()) != 1 {
		t.Errorf("blocking send returned %v", task)
	}
	var last *a2av1.StreamResponse
	for {
		ev, err, ok := sub()
		if !ok || err != nil {
			break
		}
		last = ev.Response
	}
	if last.GetStatusUpdate().GetStatus().GetState() != a2av1.TaskState_TASK_STATE_COMPLETED {
		t.Errorf("subscriber's last event = %v, want COMPLETED", last)
	}
}
