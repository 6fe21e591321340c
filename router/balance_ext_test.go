package router_test

import (
	"context"
	"iter"
	"sync"
	"testing"

	"github.com/a2agrpc/a2agrpc/client"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/router"
)

// TestRoundRobin: calls in sequence are spread evenly, over the mesh
// stream (the client's default) as over plain gRPC.
func TestRoundRobin(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{client.TransportMesh, client.TransportGRPC} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			p := startN(t, 3, nil)
			r := newRouter(t, router.Static(p.endpoints()...), router.WithClientOptions(client.WithTransports(transport)))
			rt := r.Route(echoSkill, router.Policy{Balance: router.RoundRobin})
			ctx := context.Background()
			for range 30 {
				resp, err := rt.SendMessage(ctx, message("hello"))
				if err != nil {
					t.Fatal(err)
				}
				if s := resp.GetTask().GetStatus().GetState(); s != a2av1.TaskState_TASK_STATE_COMPLETED {
					t.Fatalf("task state %v", s)
				}
			}
			for name, n := range p.rec.perAgent() {
				if n != 10 {
					t.Errorf("agent %s got %d messages, want 10: %v", name, n, p.rec.perAgent())
				}
			}
			p.rec.once(t)
		})
	}
}

// TestLeastOutstanding: an endpoint held busy by a slow call, and another
// by an open stream, get no calls while an idle one is there.
func TestLeastOutstanding(t *testing.T) {
	t.Parallel()
	p := startN(t, 3, nil)
	r := newRouter(t, router.Static(p.endpoints()...))
	rt := r.Route(echoSkill, router.Policy{Balance: router.LeastOutstanding})
	ctx := context.Background()

	// A slow blocking send holds one endpoint.
	slow := message(slowText)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := rt.SendMessage(ctx, slow); err != nil {
			t.Errorf("slow send: %v", err)
		}
	}()
	eventually(t, "the slow send to arrive", func() bool { return len(p.rec.agentsOf(slow.GetMessage().GetMessageId())) == 1 })

	// A slow stream, kept open after its first event, holds another.
	stream := message(slowText)
	next, stop := iter.Pull2(rt.SendStreamingMessage(ctx, stream))
	defer stop()
	if _, err, ok := next(); !ok || err != nil {
		t.Fatalf("first stream event: %v %v", err, ok)
	}
	busy := map[string]bool{
		p.rec.agentsOf(slow.GetMessage().GetMessageId())[0]:   true,
		p.rec.agentsOf(stream.GetMessage().GetMessageId())[0]: true,
	}
	if len(busy) != 2 {
		t.Fatalf("the slow send and the stream went to the same agent: %v", busy)
	}
	before := p.rec.perAgent()
	for range 12 {
		if _, err := rt.SendMessage(ctx, message("quick")); err != nil {
			t.Fatal(err)
		}
	}
	after := p.rec.perAgent()
	for name := range busy {
		if after[name] != before[name] {
			t.Errorf("busy agent %s got %d calls while another was idle", name, after[name]-before[name])
		}
	}
	for _, s := range r.Endpoints() {
		if busy[s.ID] && s.InFlight != 1 {
			t.Errorf("endpoint %s has %d calls in flight, want 1", s.ID, s.InFlight)
		}
	}

	p.open()
	wg.Wait()
	for _, err := range iterRest(next) {
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
	}
	eventually(t, "no call in flight", func() bool {
		for _, s := range r.Endpoints() {
			if s.InFlight != 0 {
				return false
			}
		}
		return true
	})
	p.rec.once(t)
}

// iterRest collects the remaining pairs of a pulled iterator.
func iterRest(next func() (*a2av1.StreamResponse, error, bool)) []error {
	var errs []error
	for {
		_, err, ok := next()
		if !ok {
			return errs
		}
		errs = append(errs, err)
	}
}
