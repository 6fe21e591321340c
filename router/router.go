package router

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/client"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/registry/agentfilter"
)

// Router sends A2A calls to the agents that offer a capability. It owns one
// client per endpoint, shared by all its routes, one circuit breaker per
// endpoint and the task → endpoint affinity. It is safe for concurrent use;
// make one per process and keep it.
type Router struct {
	res        Resolver
	cfg        config
	clientOpts []client.Option
	aff        *affinity
	met        *metrics
	log        *slog.Logger
	rules      []ruleRoute

	randMu sync.Mutex    // cfg.rand is not safe for concurrent use
	picks  atomic.Uint64 // endpoints leased so far, to order picks in time

	mu     sync.Mutex
	closed bool
	eps    map[string]*endpoint   // live endpoints by ID
	states map[string]*routeState // by capability
}

// ruleRoute is a rule with the route it sends to.
type ruleRoute struct {
	rule  Rule
	route *Route
}

// New returns a router over the endpoints res resolves. It does no I/O:
// endpoint clients are made on first use. It fails on an invalid default
// policy, breaker or rule, or when the metrics cannot be registered.
func New(res Resolver, opts ...Option) (*Router, error) {
	if res == nil {
		return nil, errors.New("router: nil resolver")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.policy.Validate(); err != nil {
		return nil, fmt.Errorf("router: default policy: %w", err)
	}
	if err := cfg.breaker.Validate(); err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	r := &Router{
		res: res, cfg: cfg, log: cfg.logger,
		aff:    newAffinity(cfg.affinityMax, cfg.affinityTTL, cfg.now),
		eps:    make(map[string]*endpoint),
		states: make(map[string]*routeState),
		// The router's own options come last so that they win: see
		// WithClientOptions.
		clientOpts: append(slices.Clone(cfg.clientOpts), client.WithRetry(client.RetryPolicy{MaxAttempts: 1}), client.WithoutResume()),
	}
	names := map[string]int{}
	for i, rule := range cfg.rules {
		if rule.Name == "" {
			rule.Name = fmt.Sprintf("rule-%d", i)
		}
		if j, dup := names[rule.Name]; dup {
			return nil, fmt.Errorf("router: rules %d and %d are both named %q", j, i, rule.Name)
		}
		names[rule.Name] = i
		if err := rule.validate(); err != nil {
			return nil, fmt.Errorf("router: rule %q: %w", rule.Name, err)
		}
		rt := r.newRoute(rule.Name, rule.Capability, rule.Policy)
		if rt.err != nil {
			return nil, fmt.Errorf("router: rule %q: %w", rule.Name, rt.err)
		}
		r.rules = append(r.rules, ruleRoute{rule: rule, route: rt})
	}
	if cfg.registerer != nil {
		m, err := newMetrics(cfg.registerer, r)
		if err != nil {
			return nil, fmt.Errorf("router: metrics: %w", err)
		}
		r.met = m
	}
	return r, nil
}

// Route returns the route to the agents offering f, called per p laid over
// the router's default policy (see [Policy]). A nil or empty f matches
// every endpoint the resolver knows. Routes are cheap and may be made per
// call, but those of one capability share their balancer rotation, so
// keeping them is just as good. A policy that fails [Policy.Validate]
// yields a route whose every call fails with that error.
//
// The router keeps a little state per distinct capability, its rotation
// and its last resolution, for as long as it lives: capabilities are meant
// to be few (rules, configured routes), not made up per request.
func (r *Router) Route(f *registryv1.AgentFilter, p Policy) *Route {
	return r.newRoute(agentfilter.Describe(f), f, p)
}

func (r *Router) newRoute(name string, f *registryv1.AgentFilter, p Policy) *Route {
	if f == nil {
		f = &registryv1.AgentFilter{}
	}
	f = proto.Clone(f).(*registryv1.AgentFilter)
	key, _ := proto.MarshalOptions{Deterministic: true}.Marshal(f)
	r.mu.Lock()
	st := r.states[string(key)]
	if st == nil {
		st = &routeState{ids: map[string]bool{}}
		r.states[string(key)] = st
	}
	r.mu.Unlock()
	rt := &Route{r: r, name: name, filter: f, policy: p.over(r.cfg.policy), state: st}
	if err := rt.policy.Validate(); err != nil {
		rt.err = a2agrpc.Errorf(a2agrpc.ReasonInternal, "router: route %s has an invalid policy: %v", name, err)
	}
	return rt
}

// RouteFor is the route [Router.SendMessage] takes for req: the route
// that created the task req's message continues, when the router knows it;
// else the route of the first rule that matches. No match is an
// UNSUPPORTED_OPERATION error.
func (r *Router) RouteFor(req *a2av1.SendMessageRequest) (*Route, error) {
	if own, ok := r.aff.get(req.GetMessage().GetTaskId()); ok && own.route != nil {
		return own.route, nil
	}
	for _, rr := range r.rules {
		if rr.rule.Match.matches(req) {
			return rr.route, nil
		}
	}
	return nil, noRule(req)
}

// SendMessage sends req through the route [Router.RouteFor] picks; see
// [Route.SendMessage].
func (r *Router) SendMessage(ctx context.Context, req *a2av1.SendMessageRequest) (*a2av1.SendMessageResponse, error) {
	rt, err := r.RouteFor(req)
	if err != nil {
		return nil, err
	}
	return rt.SendMessage(ctx, req)
}

// SendStreamingMessage streams req through the route [Router.RouteFor]
// picks; see [Route.SendStreamingMessage].
func (r *Router) SendStreamingMessage(ctx context.Context, req *a2av1.SendMessageRequest) iter.Seq2[*a2av1.StreamResponse, error] {
	rt, err := r.RouteFor(req)
	if err != nil {
		return func(yield func(*a2av1.StreamResponse, error) bool) { yield(nil, err) }
	}
	return rt.SendStreamingMessage(ctx, req)
}

// EndpointStatus is what the router knows of one endpoint.
type EndpointStatus struct {
	// ID is the endpoint's ID, as the resolver gave it.
	ID string
	// Breaker is the state of its circuit breaker.
	Breaker BreakerState
	// InFlight counts its calls in flight, open streams included.
	InFlight int
}

// Endpoints lists the endpoints of the last resolutions, sorted by ID.
func (r *Router) Endpoints() []EndpointStatus {
	r.mu.Lock()
	out := make([]EndpointStatus, 0, len(r.eps))
	for _, e := range r.eps {
		out = append(out, EndpointStatus{ID: e.id, Breaker: stateOf(e.brk.State()), InFlight: int(e.inflight.Load())})
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b EndpointStatus) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Close closes every endpoint's client: calls in flight fail, and later
// calls fail with UNAVAILABLE. It unregisters the metrics.
func (r *Router) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	eps := r.eps
	r.eps = map[string]*endpoint{}
	r.mu.Unlock()
	var errs []error
	for _, e := range eps {
		e.replaced.Store(true)
		errs = append(errs, e.close())
	}
	r.met.unregister()
	return errors.Join(errs...)
}

// errClosed fails calls on a closed router.
var errClosed = a2agrpc.NewError(a2agrpc.ReasonUnavailable, "router: closed")

// float is a uniform random number in [0, 1) for the retry jitter.
func (r *Router) float() float64 {
	if r.cfg.rand == nil {
		return rand.Float64()
	}
	r.randMu.Lock()
	defer r.randMu.Unlock()
	return r.cfg.rand.Float64()
}
