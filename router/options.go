package router

import (
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/a2agrpc/a2agrpc/client"
)

// Option configures a [Router].
type Option func(*config)

type config struct {
	clientOpts  []client.Option
	policy      Policy
	breaker     Breaker
	rules       []Rule
	now         func() time.Time
	rand        *rand.Rand
	logger      *slog.Logger
	registerer  prometheus.Registerer
	affinityMax int
	affinityTTL time.Duration
}

// Affinity defaults: how many task → endpoint entries the router keeps, and
// for how long an entry lives after it was last used.
const (
	DefaultAffinitySize = 100_000
	DefaultAffinityTTL  = time.Hour
)

func defaultConfig() config {
	return config{
		policy:      DefaultPolicy,
		breaker:     DefaultBreaker,
		now:         time.Now,
		logger:      slog.New(slog.DiscardHandler),
		affinityMax: DefaultAffinitySize,
		affinityTTL: DefaultAffinityTTL,
	}
}

// WithClientOptions passes options to every endpoint's client
// (client.WithTLS, client.WithTokenSource, client.WithTransports, ...).
// The router adds client.WithRetry with a single attempt and
// client.WithoutResume after them: retries and stream resumption are the
// router's, so that they can move to another endpoint and feed its
// breakers, and are not multiplied by the client's own.
func WithClientOptions(opts ...client.Option) Option {
	return func(c *config) { c.clientOpts = append(c.clientOpts, opts...) }
}

// WithPolicy sets the default policy, which the policies of routes and
// rules inherit from field by field ([DefaultPolicy] by default; zero
// fields of p take DefaultPolicy's values).
func WithPolicy(p Policy) Option {
	return func(c *config) { c.policy = p.over(DefaultPolicy) }
}

// WithBreaker sets the circuit breaker of every endpoint
// ([DefaultBreaker] by default).
func WithBreaker(b Breaker) Option {
	return func(c *config) { c.breaker = b }
}

// WithRules sets the rules that [Router.SendMessage] and
// [Router.SendStreamingMessage] route by, in order: the first that matches
// wins (see [Rule]). Repeated use appends.
func WithRules(rules ...Rule) Option {
	return func(c *config) { c.rules = append(c.rules, slices.Clone(rules)...) }
}

// WithClock replaces time.Now for the expiry of task affinity, for tests.
// Backoff waits and the breakers' OpenFor use real time.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// WithRand sets the source of the retry jitter, for repeatable tests (the
// router serialises its use). Nil keeps the default, the global source.
func WithRand(r *rand.Rand) Option {
	return func(c *config) { c.rand = r }
}

// WithLogger receives the router's events: breakers opening and closing,
// endpoints that cannot be used, endpoints dropped. Nil logs nothing (the
// default).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithMetrics registers the router's Prometheus series with reg (default:
// none are kept):
//
//   - a2a_router_calls_total{route,endpoint,operation,outcome}: attempts
//     made, outcome "ok" or the A2A error reason in lower case
//     ("unavailable", "task_not_found"...); "circuit_open" counts the
//     attempts an open breaker turned away before anything was sent;
//   - a2a_router_retries_total{route,operation}: retries and stream
//     resumptions;
//   - a2a_router_in_flight{endpoint}: calls and open streams now;
//   - a2a_router_breaker_state{endpoint}: 0 closed, 1 half-open, 2 open.
//
// An endpoint's series are removed when it is dropped. Registration fails
// [New] when reg already holds these series (two routers on one registry
// need prometheus.WrapRegistererWith labels); [Router.Close] unregisters
// them.
func WithMetrics(reg prometheus.Registerer) Option {
	return func(c *config) { c.registerer = reg }
}

// WithAffinity bounds the task → endpoint map: at most size entries (the
// least recently used go first), each forgotten ttl after it was last
// learned or used. Zero or negative values keep [DefaultAffinitySize] and
// [DefaultAffinityTTL].
func WithAffinity(size int, ttl time.Duration) Option {
	return func(c *config) {
		if size > 0 {
			c.affinityMax = size
		}
		if ttl > 0 {
			c.affinityTTL = ttl
		}
	}
}
