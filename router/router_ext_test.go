package router_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/client"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/router"
)

// TestStatic: the static pool filters by agentfilter.MatchesCard and keeps
// the caller's cards from later changes.
func TestStatic(t *testing.T) {
	t.Parallel()
	card := func(name, skill string) *a2av1.AgentCard {
		return &a2av1.AgentCard{Name: name, DefaultInputModes: []string{"text/plain"}, DefaultOutputModes: []string{"text/plain"},
			Skills:              []*a2av1.AgentSkill{{Id: skill}},
			SupportedInterfaces: []*a2av1.AgentInterface{{Url: name + ":1", ProtocolBinding: "GRPC"}}}
	}
	tr := card("t", "translate")
	res := router.Static(router.Endpoint{ID: "t1", Card: tr}, router.Endpoint{Card: card("s", "summarize")}, router.Endpoint{ID: "none"})
	tr.Name = "changed"
	got, err := res.Resolve(context.Background(), &registryv1.AgentFilter{SkillId: "translate"})
	if err != nil || len(got) != 1 || got[0].ID != "t1" || got[0].Card.GetName() != "t" {
		t.Fatalf("translate resolved to %v, %v", got, err)
	}
	all, _ := res.Resolve(context.Background(), nil)
	if len(all) != 2 || all[1].ID != "s:1" {
		t.Fatalf("nil filter resolved to %v; want both cards, the second named by its URL", all)
	}
}

// TestNew refuses bad configuration with an error, never a panic.
func TestNew(t *testing.T) {
	t.Parallel()
	res := router.Static()
	for name, opts := range map[string][]router.Option{
		"bad_policy":       {router.WithPolicy(router.Policy{Retry: router.Retry{Multiplier: 0.5}})},
		"bad_breaker":      {router.WithBreaker(router.Breaker{})},
		"rule_without_cap": {router.WithRules(router.Rule{Name: "x"})},
		"bad_part_kind":    {router.WithRules(router.Rule{Capability: echoSkill, Match: router.Match{PartKind: "video"}})},
		"duplicate_names":  {router.WithRules(router.Rule{Name: "a", Capability: echoSkill}, router.Rule{Name: "a", Capability: echoSkill})},
		"crossed_backoffs": {router.WithRules(router.Rule{Capability: echoSkill, Policy: router.Policy{Retry: router.Retry{InitialBackoff: time.Hour}}})},
	} {
		if r, err := router.New(res, opts...); err == nil {
			r.Close()
			t.Errorf("%s: New succeeded", name)
		}
	}
	if _, err := router.New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
	r, err := router.New(res)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// A route with an invalid policy fails its calls, loudly.
	bad := r.Route(echoSkill, router.Policy{Retry: router.Retry{MaxAttempts: -1}})
	if _, err := bad.GetTask(context.Background(), &a2av1.GetTaskRequest{Id: "x"}); err == nil || !strings.Contains(err.Error(), "invalid policy") {
		t.Errorf("call on a route with an invalid policy: %v", err)
	}
	// No endpoint offers the capability: UNAVAILABLE.
	_, err = r.Route(echoSkill, router.Policy{}).SendMessage(context.Background(), message("x"))
	isA2A(t, err, a2agrpc.ErrUnavailable)
}

// swappable is a resolver whose endpoints the test changes.
type swappable struct {
	mu  sync.Mutex
	eps []router.Endpoint
	err error
}

func (s *swappable) set(eps ...router.Endpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.eps = eps
}

func (s *swappable) Resolve(_ context.Context, f *registryv1.AgentFilter) ([]router.Endpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	return router.Static(s.eps...).Resolve(context.Background(), f)
}

// TestEndpointsFollowResolutions: an endpoint that leaves the resolutions
// is dropped (after its call in flight ends), one that comes back is used
// again, a resolver error fails the call as UNAVAILABLE.
func TestEndpointsFollowResolutions(t *testing.T) {
	t.Parallel()
	p := startN(t, 2, nil)
	res := &swappable{}
	res.set(p.endpoints()...)
	r := newRouter(t, res)
	rt := r.Route(echoSkill, router.Policy{})
	ctx := context.Background()
	for range 2 {
		if _, err := rt.SendMessage(ctx, message("hi")); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(r.Endpoints()); n != 2 {
		t.Fatalf("%d endpoints, want 2", n)
	}

	// a1 holds a slow stream, then leaves the pool.
	slow := message(slowText)
	var events []*a2av1.StreamResponse
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		var once sync.Once
		for ev, err := range r.Route(&registryv1.AgentFilter{Name: "a1"}, router.Policy{}).SendStreamingMessage(ctx, slow) {
			if err != nil {
				done <- err
				return
			}
			events = append(events, ev)
			once.Do(func() { close(started) })
		}
		done <- nil
	}()
	<-started
	res.set(p.agents[0].endpoint())
	for range 4 {
		if _, err := rt.SendMessage(ctx, message("only a0")); err != nil {
			t.Fatal(err)
		}
	}
	// The other route still resolves a1 until it is asked again.
	if _, err := r.Route(&registryv1.AgentFilter{Name: "a1"}, router.Policy{}).SendMessage(ctx, message("x")); !errors.Is(err, a2agrpc.ErrUnavailable) {
		t.Fatalf("a1's route after a1 left: %v, want UNAVAILABLE", err)
	}
	if eps := r.Endpoints(); len(eps) != 1 || eps[0].ID != "a0" {
		t.Fatalf("endpoints %v, want only a0", eps)
	}
	// The stream on the dropped endpoint's client carries on to its end.
	p.open()
	if err := <-done; err != nil {
		t.Fatalf("stream on a dropped endpoint: %v", err)
	}
	if s := events[len(events)-1].GetStatusUpdate().GetStatus().GetState(); s != a2av1.TaskState_TASK_STATE_COMPLETED {
		t.Errorf("stream ended with %v", events[len(events)-1])
	}
	if n := p.rec.perAgent()["a1"]; n != 2 {
		t.Errorf("a1 got %d messages, want 2 (one plain, one slow)", n)
	}

	// Back, with a new card (same agent, new card pointer and content).
	card := proto.Clone(p.agents[1].card).(*a2av1.AgentCard)
	card.Version = "2"
	res.set(p.agents[0].endpoint(), router.Endpoint{ID: "a1", Card: card})
	for range 4 {
		if _, err := rt.SendMessage(ctx, message("both")); err != nil {
			t.Fatal(err)
		}
	}
	if n := p.rec.perAgent()["a1"]; n != 4 {
		t.Errorf("a1 got %d messages, want 4", n)
	}

	res.mu.Lock()
	res.err = errors.New("registry down")
	res.mu.Unlock()
	_, err := rt.SendMessage(ctx, message("x"))
	isA2A(t, err, a2agrpc.ErrUnavailable)
	p.rec.once(t)
}

// TestMetrics: calls by route, endpoint, operation and outcome; breaker
// state and calls in flight by endpoint; all gone on Close.
func TestMetrics(t *testing.T) {
	t.Parallel()
	p := startN(t, 1, nil)
	reg := prometheus.NewRegistry()
	r, err := router.New(router.Static(p.endpoints()...), router.WithMetrics(reg),
		router.WithClientOptions(client.WithTransports(client.TransportGRPC)),
		router.WithBreaker(router.Breaker{Failures: 1, OpenFor: time.Minute, HalfOpen: 1}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := router.New(router.Static(), router.WithMetrics(reg)); err == nil {
		t.Error("a second router registered the same series")
	}
	rt := r.Route(echoSkill, router.Policy{Retry: router.Retry{MaxAttempts: 1}})
	ctx := context.Background()
	if _, err := rt.SendMessage(ctx, message("hi")); err != nil {
		t.Fatal(err)
	}
	_, _ = rt.GetTask(ctx, &a2av1.GetTaskRequest{Id: "nope"})
	p.agents[0].fail("GetTask", 1)
	_, _ = rt.GetTask(ctx, &a2av1.GetTaskRequest{Id: "nope"}) // UNAVAILABLE opens the breaker
	_, _ = rt.GetTask(ctx, &a2av1.GetTaskRequest{Id: "nope"}) // turned away

	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"a2a_router_calls_total", map[string]string{"route": "skill_id=echo", "endpoint": "a0", "operation": "SendMessage", "outcome": "ok"}, 1},
		{"a2a_router_calls_total", map[string]string{"route": "skill_id=echo", "endpoint": "a0", "operation": "GetTask", "outcome": "task_not_found"}, 1},
		{"a2a_router_calls_total", map[string]string{"route": "skill_id=echo", "endpoint": "a0", "operation": "GetTask", "outcome": "unavailable"}, 1},
		{"a2a_router_calls_total", map[string]string{"route": "skill_id=echo", "endpoint": "a0", "operation": "GetTask", "outcome": "circuit_open"}, 1},
		{"a2a_router_breaker_state", map[string]string{"endpoint": "a0"}, 2},
		{"a2a_router_in_flight", map[string]string{"endpoint": "a0"}, 0},
	} {
		got, ok := metricValue(t, reg, c.name, c.labels)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if mfs, err := reg.Gather(); err != nil || len(mfs) != 0 {
		t.Errorf("%d families left after Close (%v)", len(mfs), err)
	}
	_, err = rt.SendMessage(ctx, message("after close"))
	isA2A(t, err, a2agrpc.ErrUnavailable)
}

// metricValue reads the counter or gauge name{labels} from reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue(), true
			}
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}
