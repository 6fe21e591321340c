package webhook

import (
	"io"
	"log/slog"
	"time"
)

// Defaults. Attempts are spaced 5 s, 10 s, 20 s, … (before jitter) up to
// 10 minutes apart; with 8 attempts a notification is given up after at
// most about 10½ minutes of failures (about half that on average), which
// rides out a receiver restart or a short outage without keeping stale
// notifications for long.
const (
	DefaultAttemptTimeout = 10 * time.Second
	DefaultMaxAttempts    = 8
	DefaultBackoffBase    = 5 * time.Second
	DefaultBackoffMax     = 10 * time.Minute
	DefaultPollInterval   = time.Second
	DefaultConcurrency    = 16
)

// Option configures a [Deliverer]. Options given out-of-range values
// (zero, negative, nil) leave the default in place.
type Option func(*config)

type config struct {
	policy         Policy
	client         ClientOptions
	attemptTimeout time.Duration
	maxAttempts    int
	backoff        backoff
	pollInterval   time.Duration
	concurrency    int
	log            *slog.Logger
	onResult       []func(Result)
}

func defaultConfig() config {
	return config{
		attemptTimeout: DefaultAttemptTimeout,
		maxAttempts:    DefaultMaxAttempts,
		backoff:        backoff{base: DefaultBackoffBase, max: DefaultBackoffMax, jitter: fullJitter},
		pollInterval:   DefaultPollInterval,
		concurrency:    DefaultConcurrency,
		log:            slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// WithPolicy sets which targets may be contacted. The default is the zero
// [Policy]: public addresses only.
func WithPolicy(p Policy) Option {
	return func(c *config) { c.policy = p }
}

// WithClientOptions sets the proxy and TLS settings of the HTTP client. Its
// Timeout is ignored: [WithAttemptTimeout] governs.
func WithClientOptions(o ClientOptions) Option {
	return func(c *config) { c.client = o }
}

// WithAttemptTimeout bounds one attempt, from dialing to the end of the
// response. A2A suggests 10–30 s.
func WithAttemptTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.attemptTimeout = d
		}
	}
}

// WithMaxAttempts sets how many attempts a notification gets before it is
// given up (and dropped from the outbox).
func WithMaxAttempts(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxAttempts = n
		}
	}
}

// WithBackoff sets the delay ceiling after the first failed attempt (base)
// and the largest delay (max), which also caps a receiver's Retry-After.
func WithBackoff(base, max time.Duration) Option {
	return func(c *config) {
		if base > 0 {
			c.backoff.base = base
		}
		if max > 0 {
			c.backoff.max = max
		}
	}
}

// WithPollInterval sets how often the outbox is checked without a
// [Deliverer.Notify]. Polling is what picks up retries that come due and
// notifications queued by other processes sharing the store.
func WithPollInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.pollInterval = d
		}
	}
}

// WithConcurrency bounds the attempts in flight at once, and so the
// connections open to receivers.
func WithConcurrency(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.concurrency = n
		}
	}
}

// WithLogger sets where give-ups, retries (at debug level) and store
// failures are logged. Log lines never contain tokens, credentials or URL
// paths. The default discards them.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.log = l
		}
	}
}

// WithOnResult calls fn after every attempt, once its outcome is recorded
// in the outbox. fn is called from several goroutines at once and must not
// block for long: it holds up a delivery worker. Hooks given by several
// options all run, in the order given (the server's metrics use one).
func WithOnResult(fn func(Result)) Option {
	return func(c *config) {
		if fn != nil {
			c.onResult = append(c.onResult, fn)
		}
	}
}

// withJitter replaces full jitter, so tests can make delays exact.
func withJitter(fn func(time.Duration) time.Duration) Option {
	return func(c *config) { c.backoff.jitter = fn }
}
