package router_test

import (
	"context"
	"iter"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/router"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// patientRetry resubscribes for a couple of seconds: long enough for a cut
// agent to come back.
var patientRetry = router.Retry{MaxAttempts: 50, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}

// lenientBreaker keeps the breakers out of the way of resumption tests.
var lenientBreaker = router.WithBreaker(router.Breaker{Failures: 1000, OpenFor: time.Second, HalfOpen: 1})

// TestStreamsResume: a subscription, and a streaming send whose task is
// known, that drop when their agent is cut off resume by subscription once
// it is back; the message is never sent again.
func TestStreamsResume(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"subscribe", "send"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			p := startN(t, 2, nil)
			r := newRouter(t, router.Static(p.endpoints()...), lenientBreaker)
			rt := r.Route(echoSkill, router.Policy{Retry: patientRetry})
			ctx := context.Background()

			req := message(slowText)
			var events iter.Seq2[*a2av1.StreamResponse, error]
			if kind == "subscribe" {
				resp, err := rt.SendMessage(ctx, immediately(req))
				if err != nil {
					t.Fatal(err)
				}
				events = rt.SubscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: resp.GetTask().GetId()})
			} else {
				events = rt.SendStreamingMessage(ctx, req)
			}
			next, stop := iter.Pull2(events)
			defer stop()
			first, err, _ := next()
			if err != nil || first.GetTask() == nil {
				t.Fatalf("first event %v, %v; want the task", first, err)
			}
			eventually(t, "the agent to work", func() bool { return len(p.rec.agentsOf(req.GetMessage().GetMessageId())) == 1 })
			owner := p.byName(p.rec.agentsOf(req.GetMessage().GetMessageId())[0])
			subscribes := owner.callsOf("SubscribeToTask")

			owner.proxy.kill()
			revived := make(chan struct{})
			go func() {
				defer close(revived)
				time.Sleep(200 * time.Millisecond)
				owner.proxy.revive()
			}()
			ev, err, ok := next()
			<-revived
			for ok && err == nil && ev.GetTask() == nil { // an update that was already on its way
				ev, err, ok = next()
			}
			if !ok || err != nil {
				t.Fatalf("after the cut: %v, %v; want the task again", err, ok)
			}
			if ev.GetTask().GetId() != first.GetTask().GetId() {
				t.Fatalf("resumed with task %s, want %s", ev.GetTask().GetId(), first.GetTask().GetId())
			}
			if owner.callsOf("SubscribeToTask") <= subscribes {
				t.Errorf("no resubscription reached the owner")
			}

			p.open()
			var last *a2av1.StreamResponse
			for {
				ev, err, ok := next()
				if !ok {
					break
				}
				if err != nil {
					t.Fatalf("stream after resumption: %v", err)
				}
				last = ev
			}
			if s := last.GetStatusUpdate().GetStatus().GetState(); s != a2av1.TaskState_TASK_STATE_COMPLETED {
				t.Errorf("last event %v, want COMPLETED", last)
			}
			p.rec.once(t)
		})
	}
}

// TestSubscriptionMovesWithSharedState: with a shared store, a dropped
// subscription resumes on another replica, without waiting for the first.
func TestSubscriptionMovesWithSharedState(t *testing.T) {
	t.Parallel()
	p := startN(t, 3, taskstore.NewMemory())
	r := newRouter(t, router.Static(p.endpoints()...), lenientBreaker)
	rt := r.Route(echoSkill, router.Policy{SharedState: true, Retry: patientRetry})
	ctx := context.Background()

	req := immediately(message(slowText))
	resp, err := rt.SendMessage(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetTask().GetId()
	next, stop := iter.Pull2(rt.SubscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: id}))
	defer stop()
	if _, err, _ := next(); err != nil {
		t.Fatal(err)
	}
	var home *testAgent
	for _, a := range p.agents {
		if a.callsOf("SubscribeToTask") == 1 {
			home = a
		}
	}
	if home == nil {
		t.Fatal("no agent got the subscription")
	}
	home.proxy.kill()
	ev, err, ok := next()
	if !ok || err != nil || ev.GetTask().GetId() != id {
		t.Fatalf("after the cut: %v %v %v; want the task from a replica", ev, err, ok)
	}
	moved := 0
	for _, a := range p.agents {
		if a != home {
			moved += a.callsOf("SubscribeToTask")
		}
	}
	if moved != 1 {
		t.Errorf("%d subscriptions reached the other replicas, want 1", moved)
	}
}

// TestSubscribeUnknownTask: no agent has the task: TASK_NOT_FOUND, not a
// retry loop.
func TestSubscribeUnknownTask(t *testing.T) {
	t.Parallel()
	p := startN(t, 2, nil)
	r := newRouter(t, router.Static(p.endpoints()...))
	rt := r.Route(echoSkill, router.Policy{})
	n := 0
	for _, err := range rt.SubscribeToTask(context.Background(), &a2av1.SubscribeToTaskRequest{Id: "nope"}) {
		n++
		isA2A(t, err, a2agrpc.ErrTaskNotFound)
	}
	if n != 1 {
		t.Errorf("%d events, want one error", n)
	}
}
