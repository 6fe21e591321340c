package router_test

import (
	"context"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/examples/echo"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/router"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// fastRetry retries quickly, for tests.
var fastRetry = router.Retry{MaxAttempts: 4, InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}

// TestRetrySafeOperations: GetTask, the push config reads and
// GetExtendedAgentCard are retried after a transient UNAVAILABLE, on the
// task's endpoint when the state is not shared.
func TestRetrySafeOperations(t *testing.T) {
	t.Parallel()
	p := startN(t, 3, nil)
	r := newRouter(t, router.Static(p.endpoints()...))
	rt := r.Route(echoSkill, router.Policy{Retry: fastRetry})
	ctx := context.Background()

	resp, err := rt.SendMessage(ctx, message("hello"))
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetTask().GetId()
	owner := p.byName(p.rec.ownerOf(t, resp.GetTask().GetHistory()[0].GetMessageId()))

	owner.fail("GetTask", 2)
	task, err := rt.GetTask(ctx, &a2av1.GetTaskRequest{Id: id})
	if err != nil {
		t.Fatalf("GetTask after two transient failures: %v", err)
	}
	if task.GetId() != id {
		t.Fatalf("got task %s, want %s", task.GetId(), id)
	}
	if n := owner.callsOf("GetTask"); n != 3 {
		t.Errorf("the owner got %d GetTask calls, want 3 (2 failed + 1)", n)
	}
	for _, a := range p.agents {
		if a != owner && a.callsOf("GetTask") != 0 {
			t.Errorf("agent %s was asked for a task it does not hold", a.name)
		}
	}

	owner.fail("ListTaskPushNotificationConfigs", 1)
	if _, err := rt.ListTaskPushNotificationConfigs(ctx, &a2av1.ListTaskPushNotificationConfigsRequest{TaskId: id}); err != nil {
		t.Fatalf("ListTaskPushNotificationConfigs after a transient failure: %v", err)
	}

	// Retries run out: the last error is returned.
	owner.fail("GetTask", -1)
	before := owner.callsOf("GetTask")
	_, err = rt.GetTask(ctx, &a2av1.GetTaskRequest{Id: id})
	isA2A(t, err, a2agrpc.ErrUnavailable)
	if n := owner.callsOf("GetTask") - before; n != fastRetry.MaxAttempts {
		t.Errorf("%d attempts, want MaxAttempts %d", n, fastRetry.MaxAttempts)
	}
}

// TestNeverRepeated: sends and push config writes fail with the first
// attempt's error, even a retryable one; an agent never sees them twice.
func TestNeverRepeated(t *testing.T) {
	t.Parallel()
	p := startN(t, 1, nil)
	a := p.agents[0]
	r := newRouter(t, router.Static(p.endpoints()...),
		router.WithBreaker(router.Breaker{Failures: 100, OpenFor: time.Minute, HalfOpen: 1}))
	rt := r.Route(echoSkill, router.Policy{Retry: fastRetry})
	ctx := context.Background()

	resp, err := rt.SendMessage(ctx, message("hello"))
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetTask().GetId()

	for _, m := range []string{"SendMessage", "SendStreamingMessage", "CreateTaskPushNotificationConfig", "DeleteTaskPushNotificationConfig"} {
		a.fail(m, -1)
	}
	before := map[string]int{}
	for _, m := range []string{"SendMessage", "SendStreamingMessage", "CreateTaskPushNotificationConfig", "DeleteTaskPushNotificationConfig"} {
		before[m] = a.callsOf(m)
	}
	_, err = rt.SendMessage(ctx, message("again"))
	isA2A(t, err, a2agrpc.ErrUnavailable)
	for _, err := range rt.SendStreamingMessage(ctx, message("again")) {
		isA2A(t, err, a2agrpc.ErrUnavailable)
	}
	_, err = rt.CreateTaskPushNotificationConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: id, Url: "https://example.com/hook"})
	isA2A(t, err, a2agrpc.ErrUnavailable)
	err = rt.DeleteTaskPushNotificationConfig(ctx, &a2av1.DeleteTaskPushNotificationConfigRequest{TaskId: id, Id: "x"})
	isA2A(t, err, a2agrpc.ErrUnavailable)
	for m, n := range before {
		if got := a.callsOf(m) - n; got != 1 {
			t.Errorf("%s reached the agent %d times, want once", m, got)
		}
	}
}

// TestSharedStateRetriesElsewhere: with a shared task store, a retry goes
// to another replica, a task's calls may go to any, and ListTasks works.
func TestSharedStateRetriesElsewhere(t *testing.T) {
	t.Parallel()
	p := startN(t, 3, taskstore.NewMemory())
	r := newRouter(t, router.Static(p.endpoints()...))
	rt := r.Route(echoSkill, router.Policy{SharedState: true, Retry: fastRetry})
	ctx := context.Background()

	resp, err := rt.SendMessage(ctx, message("shared"))
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetTask().GetId()
	owner := p.byName(p.rec.ownerOf(t, resp.GetTask().GetHistory()[0].GetMessageId()))

	// The task's last endpoint is asked first; it fails; a replica answers.
	owner.fail("GetTask", 1)
	if _, err := rt.GetTask(ctx, &a2av1.GetTaskRequest{Id: id}); err != nil {
		t.Fatalf("GetTask with the owner failing once: %v", err)
	}
	others := 0
	for _, a := range p.agents {
		if a != owner {
			others += a.callsOf("GetTask")
		}
	}
	if owner.callsOf("GetTask") != 1 || others != 1 {
		t.Errorf("owner got %d GetTask calls and the others %d, want 1 and 1", owner.callsOf("GetTask"), others)
	}

	list, err := rt.ListTasks(ctx, &a2av1.ListTasksRequest{})
	if err != nil {
		t.Fatalf("ListTasks with shared state: %v", err)
	}
	if len(list.GetTasks()) != 1 {
		t.Errorf("ListTasks returned %d tasks, want 1", len(list.GetTasks()))
	}
}

// TestAttemptTimeout: Policy.Timeout bounds each attempt of a unary call
// and a stream's wait for its first event; a send that timed out is not
// repeated.
func TestAttemptTimeout(t *testing.T) {
	t.Parallel()
	p := startN(t, 1, nil)
	r := newRouter(t, router.Static(p.endpoints()...))
	rt := r.Route(echoSkill, router.Policy{Timeout: 300 * time.Millisecond, Retry: fastRetry})
	ctx := context.Background()

	silent := message(silentText)
	_, err := rt.SendMessage(ctx, silent)
	isA2A(t, err, errDeadline)
	for _, err := range rt.SendStreamingMessage(ctx, message(silentText)) {
		isA2A(t, err, errDeadline)
	}
	if n := p.agents[0].callsOf("SendMessage"); n != 1 {
		t.Errorf("the timed-out send reached the agent %d times, want once", n)
	}
	// A stream whose first event comes in time lasts longer than Timeout.
	hold := immediately(message(echo.Hold))
	var id string
	n := 0
	canceled := make(chan struct{})
	for ev, err := range rt.SendStreamingMessage(ctx, hold) {
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		n++
		if id == "" {
			id = ev.GetTask().GetId()
			go func() {
				defer close(canceled)
				time.Sleep(500 * time.Millisecond)
				if _, err := rt.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: id}); err != nil {
					t.Errorf("cancel: %v", err)
				}
			}()
		}
	}
	<-canceled
	if n < 2 {
		t.Errorf("the stream ended after %d events", n)
	}
	p.rec.once(t)
}

// TestCancelRetriedAfterLostAnswer: a cancel that took effect but whose
// answer was lost is retried; the retry, finding the task no longer
// cancelable, returns the canceled task.
func TestCancelRetriedAfterLostAnswer(t *testing.T) {
	t.Parallel()
	p := startN(t, 1, nil)
	a := p.agents[0]
	r := newRouter(t, router.Static(p.endpoints()...))
	rt := r.Route(echoSkill, router.Policy{Retry: fastRetry})
	ctx := context.Background()
	resp, err := rt.SendMessage(ctx, immediately(message(echo.Hold)))
	if err != nil {
		t.Fatal(err)
	}
	a.lose("CancelTask", 1)
	task, err := rt.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: resp.GetTask().GetId()})
	if err != nil {
		t.Fatalf("CancelTask after a lost answer: %v", err)
	}
	if s := task.GetStatus().GetState(); s != a2av1.TaskState_TASK_STATE_CANCELED {
		t.Errorf("task %v, want CANCELED", s)
	}
	if n := a.callsOf("CancelTask"); n != 2 {
		t.Errorf("%d CancelTask calls, want 2", n)
	}
	// A task canceled before the first attempt stays an error.
	_, err = rt.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: resp.GetTask().GetId()})
	isA2A(t, err, a2agrpc.ErrTaskNotCancelable)
}
