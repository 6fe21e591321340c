package router_test

import (
	"context"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/examples/echo"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/router"
)

// TestTaskAffinity: without shared state, a task's calls go to the agent
// that holds it, learned from the send; a router that does not know a task
// asks the agents in turn, once; no agent knowing it is TASK_NOT_FOUND.
func TestTaskAffinity(t *testing.T) {
	t.Parallel()
	p := startN(t, 3, nil)
	r := newRouter(t, router.Static(p.endpoints()...))
	rt := r.Route(echoSkill, router.Policy{})
	ctx := context.Background()

	owners := map[string]*testAgent{} // task id → agent
	for range 6 {
		req := immediately(message(echo.Hold))
		resp, err := rt.SendMessage(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		owners[resp.GetTask().GetId()] = p.byName(p.rec.ownerOf(t, req.GetMessage().GetMessageId()))
	}
	for id, owner := range owners {
		task, err := rt.GetTask(ctx, &a2av1.GetTaskRequest{Id: id})
		if err != nil {
			t.Fatalf("GetTask %s: %v", id, err)
		}
		if task.GetId() != id {
			t.Fatalf("GetTask %s returned %s", id, task.GetId())
		}
		if _, err := rt.ListTaskPushNotificationConfigs(ctx, &a2av1.ListTaskPushNotificationConfigsRequest{TaskId: id}); err != nil {
			t.Fatalf("ListTaskPushNotificationConfigs %s: %v", id, err)
		}
		_ = owner
	}
	for _, a := range p.agents {
		if n := a.callsOf("GetTask"); n != 2 {
			t.Errorf("agent %s got %d GetTask calls, want 2 (its own tasks, no probing)", a.name, n)
		}
	}

	// Cancel each task through the route: the owner cancels it.
	for id := range owners {
		task, err := rt.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: id})
		if err != nil {
			t.Fatalf("CancelTask %s: %v", id, err)
		}
		if s := task.GetStatus().GetState(); s != a2av1.TaskState_TASK_STATE_CANCELED {
			t.Errorf("task %s is %v after CancelTask", id, s)
		}
	}
	for _, a := range p.agents {
		if n := a.callsOf("CancelTask"); n != 2 {
			t.Errorf("agent %s got %d CancelTask calls, want 2", a.name, n)
		}
	}

	// A fresh router knows no task: it looks for it, then remembers.
	fresh := newRouter(t, router.Static(p.endpoints()...)).Route(echoSkill, router.Policy{})
	var id string
	for tid, owner := range owners {
		if owner == p.agents[2] {
			id = tid
		}
	}
	before := map[string]int{}
	for _, a := range p.agents {
		before[a.name] = a.callsOf("GetTask")
	}
	for range 2 {
		if _, err := fresh.GetTask(ctx, &a2av1.GetTaskRequest{Id: id}); err != nil {
			t.Fatalf("GetTask on a fresh router: %v", err)
		}
	}
	for _, a := range p.agents {
		want := 1 // asked once while looking for it
		if a == p.agents[2] {
			want = 2 // found, then asked directly
		}
		if n := a.callsOf("GetTask") - before[a.name]; n != want {
			t.Errorf("agent %s got %d GetTask calls, want %d", a.name, n, want)
		}
	}

	_, err := fresh.GetTask(ctx, &a2av1.GetTaskRequest{Id: "no-such-task"})
	isA2A(t, err, a2agrpc.ErrTaskNotFound)
	_, err = fresh.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: "no-such-task"})
	isA2A(t, err, a2agrpc.ErrTaskNotFound)

	// Listing is refused: no one agent holds all the tasks.
	_, err = rt.ListTasks(ctx, &a2av1.ListTasksRequest{})
	isA2A(t, err, a2agrpc.ErrUnsupportedOperation)
}

// TestFollowUpGoesToTheTask: a message continuing a task goes to the agent
// that holds it, also through Router.SendMessage, whose rules it would not
// match.
func TestFollowUpGoesToTheTask(t *testing.T) {
	t.Parallel()
	p := startN(t, 3, nil)
	r := newRouter(t, router.Static(p.endpoints()...), router.WithRules(router.Rule{
		Name: "echo", Match: router.Match{Skill: "echo"}, Capability: echoSkill,
	}))
	ctx := context.Background()
	for range 2 { // move the rotation on, so that luck cannot pass the test
		req := message("/message hi") // echo answers with a message, no task
		req.Message.Metadata = skillMetadata("echo")
		if _, err := r.SendMessage(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	start := message(askText)
	start.Message.Metadata = skillMetadata("echo")
	resp, err := r.SendMessage(ctx, start)
	if err != nil {
		t.Fatal(err)
	}
	if s := resp.GetTask().GetStatus().GetState(); s != a2av1.TaskState_TASK_STATE_INPUT_REQUIRED {
		t.Fatalf("task %v, want INPUT_REQUIRED", s)
	}
	id := resp.GetTask().GetId()
	owner := p.rec.ownerOf(t, start.GetMessage().GetMessageId())
	if rt, err := r.RouteFor(&a2av1.SendMessageRequest{Message: &a2av1.Message{TaskId: id}}); err != nil || rt.Name() != "echo" {
		t.Fatalf("RouteFor a follow-up: %v, %v", rt, err)
	}
	for range 3 {
		follow := message("more")
		follow.Message.TaskId = id
		resp, err := r.SendMessage(ctx, follow)
		if err != nil {
			t.Fatalf("follow-up: %v", err)
		}
		if got := p.rec.agentsOf(follow.GetMessage().GetMessageId()); len(got) != 1 || got[0] != owner {
			t.Fatalf("the follow-up reached %v, want %s", got, owner)
		}
		if s := resp.GetTask().GetStatus().GetState(); s != a2av1.TaskState_TASK_STATE_INPUT_REQUIRED {
			t.Fatalf("task %v after a follow-up, want INPUT_REQUIRED", s)
		}
	}
	p.rec.once(t)
}

// skillMetadata names the skill a message asks for.
func skillMetadata(skill string) *structpb.Struct {
	return &structpb.Struct{Fields: map[string]*structpb.Value{router.SkillMetadataKey: structpb.NewStringValue(skill)}}
}
