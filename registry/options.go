package registry

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/a2agrpc/a2agrpc/cardsign"
	"github.com/a2agrpc/a2agrpc/client"
)

// Defaults of [NewService].
const (
	// DefaultTTL is the lease of a registration that asks for none: long
	// enough that a heartbeat every third of it survives a few lost ones,
	// short enough that callers stop being sent to a dead agent within
	// half a minute.
	DefaultTTL = 30 * time.Second
	// MinTTL and MaxTTL bound the lease an agent may ask for. Shorter
	// leases would make heartbeats a load of their own; longer ones would
	// keep dead agents listed for too long.
	MinTTL = 5 * time.Second
	MaxTTL = time.Hour
	// DefaultSweepInterval is how often expired registrations are removed:
	// an agent stays listed at most this long after its lease ended.
	DefaultSweepInterval = time.Second
	// DefaultProbeConcurrency bounds the health probes in flight at once.
	DefaultProbeConcurrency = 16
	// DefaultWatchBuffer is how many changes a watcher may fall behind by
	// before its stream is ended (UNAVAILABLE) for it to watch again.
	DefaultWatchBuffer = 1024
	// DefaultFetchTimeout bounds the fetch of a card named by card_url.
	DefaultFetchTimeout = 10 * time.Second
)

// Option configures [NewService].
type Option func(*config)

type config struct {
	defaultTTL, minTTL, maxTTL time.Duration
	sweepEvery                 time.Duration
	probeEvery, probeTimeout   time.Duration
	probeConcurrency           int
	probeOpts                  []client.Option
	cardKeys                   *cardsign.KeySet
	requireSigned              bool
	httpClient                 *http.Client
	fetchTimeout               time.Duration
	now                        func() time.Time
	logger                     *slog.Logger
	metrics                    prometheus.Registerer
	watchBuffer                int
}

func defaultConfig() config {
	return config{
		defaultTTL: DefaultTTL, minTTL: MinTTL, maxTTL: MaxTTL,
		sweepEvery:       DefaultSweepInterval,
		probeConcurrency: DefaultProbeConcurrency,
		fetchTimeout:     DefaultFetchTimeout,
		now:              time.Now,
		logger:           slog.New(slog.DiscardHandler),
		watchBuffer:      DefaultWatchBuffer,
	}
}

// WithDefaultTTL sets the lease of registrations that ask for none
// ([DefaultTTL]). It is clamped to the bounds of [WithTTLBounds].
func WithDefaultTTL(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.defaultTTL = d
		}
	}
}

// WithTTLBounds sets the least and the greatest lease a registration may
// ask for ([MinTTL], [MaxTTL]); a request outside them is clamped, not
// refused, so agents configured for another registry still register.
func WithTTLBounds(least, most time.Duration) Option {
	return func(c *config) {
		if least > 0 && most >= least {
			c.minTTL, c.maxTTL = least, most
		}
	}
}

// WithSweepInterval sets how often expired registrations are removed
// ([DefaultSweepInterval]). Every replica sweeps; the store hands each
// expired registration to exactly one of them.
func WithSweepInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.sweepEvery = d
		}
	}
}

// WithProbes turns on active health checks: every interval each registered
// agent is asked whether it is healthy (grpc.health.v1 over gRPC, its
// Agent Card over HTTP; see client.Client.CheckHealth), each check bounded
// by timeout (0: the interval, at most 5 s). A failed check marks the agent
// UNHEALTHY, so searches and watches leave it out, and a passed one
// HEALTHY. Agents registered by card_url, which cannot heartbeat, have
// their lease renewed by each passed check; others still need heartbeats.
// interval 0 (the default) turns probes off.
func WithProbes(interval, timeout time.Duration) Option {
	return func(c *config) {
		c.probeEvery, c.probeTimeout = max(interval, 0), max(timeout, 0)
	}
}

// WithProbeConcurrency bounds the probes in flight at once
// ([DefaultProbeConcurrency]).
func WithProbeConcurrency(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.probeConcurrency = n
		}
	}
}

// WithProbeClientOptions sets the client options of health probes: TLS
// roots and client certificates to reach agents served over (mutual) TLS,
// above all. Probes send no credentials (see client.Client.CheckHealth).
func WithProbeClientOptions(opts ...client.Option) Option {
	return func(c *config) { c.probeOpts = append(c.probeOpts, opts...) }
}

// WithCardKeys sets the keys signed cards are verified against. A signed
// card that verifies with none of them is refused; without keys, signed
// cards are registered with card_verified false.
func WithCardKeys(keys *cardsign.KeySet) Option {
	return func(c *config) { c.cardKeys = keys }
}

// WithRequireSignedCards refuses cards without a signature. Combine it
// with [WithCardKeys]: a signature nothing checks proves nothing.
func WithRequireSignedCards(on bool) Option {
	return func(c *config) { c.requireSigned = on }
}

// WithHTTPClient sets the HTTP client that fetches cards named by card_url
// (default: one of package client's, with no credentials).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) { c.httpClient = hc }
}

// WithFetchTimeout bounds one card fetch ([DefaultFetchTimeout]).
func WithFetchTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.fetchTimeout = d
		}
	}
}

// WithClock sets the clock leases are measured with (default time.Now),
// for tests. Timers (sweeps, probes) still run on real time.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// WithLogger logs registrations, expiries, health changes and store
// trouble (default: nothing).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithMetrics registers the registry's series with reg:
// a2agrpc_registry_registrations{status} (a gauge of this replica's view),
// a2agrpc_registry_expirations_total (the expiries this replica swept) and
// a2agrpc_registry_probes_total{result}. They are unregistered by Close.
func WithMetrics(reg prometheus.Registerer) Option {
	return func(c *config) { c.metrics = reg }
}

// WithWatchBuffer sets how many changes a watcher may fall behind by
// ([DefaultWatchBuffer]) before its stream ends with UNAVAILABLE.
func WithWatchBuffer(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.watchBuffer = n
		}
	}
}

// clampTTL applies the bounds; 0 is the default lease.
func (c *config) clampTTL(d time.Duration) time.Duration {
	if d == 0 {
		d = c.defaultTTL
	}
	return min(max(d, c.minTTL), c.maxTTL)
}

// probeTimeoutOrDefault bounds one probe.
func (c *config) probeTimeoutOrDefault() time.Duration {
	if c.probeTimeout > 0 {
		return c.probeTimeout
	}
	return min(c.probeEvery, 5*time.Second)
}
