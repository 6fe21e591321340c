package router_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/client"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/router"
)

// TestAgentDies: an agent cut off mid-run fails the calls in flight to it
// without their messages being sent anywhere else; the calls after go to
// the living agents, its breaker being open; after OpenFor the breaker is
// half-open, and once the agent is back a trial call closes it.
func TestAgentDies(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{client.TransportMesh, client.TransportGRPC} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			testAgentDies(t, transport)
		})
	}
}

func testAgentDies(t *testing.T, transport string) {
	p := startN(t, 3, nil)
	const openFor = 2 * time.Second
	r := newRouter(t, router.Static(p.endpoints()...), router.WithClientOptions(client.WithTransports(transport)),
		router.WithBreaker(router.Breaker{Failures: 1, OpenFor: openFor, HalfOpen: 1}))
	rt := r.Route(echoSkill, router.Policy{})
	ctx := context.Background()
	victim := p.agents[0]

	// Six slow sends, two per agent.
	type result struct {
		req *a2av1.SendMessageRequest
		err error
	}
	results := make(chan result, 6)
	var wg sync.WaitGroup
	for range 6 {
		req := message(slowText)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := rt.SendMessage(ctx, req)
			results <- result{req, err}
		}()
	}
	eventually(t, "six slow sends to arrive", func() bool {
		n := 0
		for _, c := range p.rec.perAgent() {
			n += c
		}
		return n == 6
	})
	if n := p.rec.perAgent()[victim.name]; n != 2 {
		t.Fatalf("the victim got %d of the slow sends, want 2", n)
	}

	victim.proxy.kill()
	// The victim's two calls fail now; the others finish once released.
	var failed []result
	for len(failed) < 2 {
		select {
		case res := <-results:
			if res.err == nil {
				t.Fatalf("a call finished before the gate opened")
			}
			failed = append(failed, res)
		case <-time.After(10 * time.Second):
			t.Fatal("the calls to the dead agent did not fail")
		}
	}
	for _, f := range failed {
		if !errors.Is(f.err, a2agrpc.ErrUnavailable) {
			t.Errorf("a call cut off: %v, want UNAVAILABLE", f.err)
		}
		if got := p.rec.agentsOf(f.req.GetMessage().GetMessageId()); len(got) != 1 || got[0] != victim.name {
			t.Errorf("a failed message was executed by %v, want only by %s", got, victim.name)
		}
	}
	if s := breakerOf(r, victim.name); s != router.BreakerOpen {
		t.Fatalf("victim's breaker %s, want open", s)
	}
	p.open()
	wg.Wait()
	close(results)
	for res := range results {
		if res.err != nil {
			t.Errorf("a call to a living agent failed: %v", res.err)
		}
	}

	// The calls after go to the living agents.
	before := p.rec.perAgent()[victim.name]
	for range 9 {
		if _, err := rt.SendMessage(ctx, message("after")); err != nil {
			t.Fatalf("a call after the death failed: %v", err)
		}
	}
	if n := p.rec.perAgent()[victim.name]; n != before {
		t.Errorf("the dead agent got %d calls", n-before)
	}
	if s := breakerOf(r, victim.name); s != router.BreakerOpen {
		t.Fatalf("victim's breaker %s after the failover, want still open (OpenFor %v)", s, openFor)
	}

	// Half-open after OpenFor; the agent comes back; a trial call closes it.
	eventually(t, "the breaker to half-open", func() bool { return breakerOf(r, victim.name) == router.BreakerHalfOpen })
	victim.proxy.revive()
	for i := 0; breakerOf(r, victim.name) != router.BreakerClosed; i++ {
		if i == 10 {
			t.Fatalf("no trial call closed the breaker: %s", breakerOf(r, victim.name))
		}
		if _, err := rt.SendMessage(ctx, message("trial")); err != nil {
			t.Fatalf("a call after the return failed: %v", err)
		}
	}
	p.rec.once(t)
}

// TestCallerErrorsKeepBreakerClosed: answers about the request
// (TASK_NOT_FOUND, INVALID_PARAMS) say nothing of the endpoint's health.
func TestCallerErrorsKeepBreakerClosed(t *testing.T) {
	t.Parallel()
	p := startN(t, 1, nil)
	r := newRouter(t, router.Static(p.endpoints()...),
		router.WithBreaker(router.Breaker{Failures: 1, OpenFor: time.Minute, HalfOpen: 1}))
	rt := r.Route(echoSkill, router.Policy{SharedState: true})
	ctx := context.Background()
	for range 3 {
		_, err := rt.GetTask(ctx, &a2av1.GetTaskRequest{Id: "no-such-task"})
		isA2A(t, err, a2agrpc.ErrTaskNotFound)
		_, err = rt.SendMessage(ctx, &a2av1.SendMessageRequest{Message: &a2av1.Message{MessageId: "x"}}) // no parts
		isA2A(t, err, a2agrpc.ErrInvalidParams)
	}
	if s := breakerOf(r, "a0"); s != router.BreakerClosed {
		t.Fatalf("breaker %s after caller errors, want closed", s)
	}
	// A canceled caller is not counted either.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := rt.GetTask(cctx, &a2av1.GetTaskRequest{Id: "t"}); err == nil {
		t.Fatal("a canceled call succeeded")
	}
	if s := breakerOf(r, "a0"); s != router.BreakerClosed {
		t.Fatalf("breaker %s after a canceled call, want closed", s)
	}
}

// TestSendFailsOverOnlyWhenNothingWasSent: a send whose endpoint's breaker
// is open, or whose card yields no client, goes to another endpoint; a
// send that failed on the wire is returned, not repeated.
func TestSendFailsOverOnlyWhenNothingWasSent(t *testing.T) {
	t.Parallel()
	p := startN(t, 2, nil)
	broken := router.Endpoint{ID: "broken", Card: &a2av1.AgentCard{
		Name: "broken", Skills: p.agents[0].card.GetSkills(), DefaultInputModes: []string{"text/plain"}, DefaultOutputModes: []string{"text/plain"},
		SupportedInterfaces: []*a2av1.AgentInterface{{Url: "not a url", ProtocolBinding: "GRPC", ProtocolVersion: "1.0"}},
	}}
	r := newRouter(t, router.Static(broken, p.agents[0].endpoint(), p.agents[1].endpoint()),
		router.WithBreaker(router.Breaker{Failures: 1, OpenFor: time.Minute, HalfOpen: 1}))
	rt := r.Route(echoSkill, router.Policy{Retry: router.Retry{MaxAttempts: 5, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond}})
	ctx := context.Background()

	// The broken card's endpoint comes first in the rotation: the send
	// moves on, and the breaker keeps it out of the next ones.
	for range 4 {
		if _, err := rt.SendMessage(ctx, message("hi")); err != nil {
			t.Fatalf("send with an unusable endpoint in the pool: %v", err)
		}
	}
	if s := breakerOf(r, "broken"); s != router.BreakerOpen {
		t.Errorf("breaker of the unusable endpoint: %s, want open", s)
	}

	// Every send fails on the wire with UNAVAILABLE: returned at once.
	for _, a := range p.agents {
		a.fail("SendMessage", -1)
	}
	_, err := rt.SendMessage(ctx, message("lost"))
	isA2A(t, err, a2agrpc.ErrUnavailable)
	if n := p.agents[0].callsOf("SendMessage") + p.agents[1].callsOf("SendMessage"); n != 4+1 {
		t.Errorf("%d SendMessage calls reached the agents, want 5 (4 + 1 never repeated)", n)
	}
}
