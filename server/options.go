package server

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
	"github.com/a2agrpc/a2agrpc/server/webhook"
)

// Option configures a [Handler].
type Option func(*config)

type config struct {
	card             *a2av1.AgentCard
	extendedCard     ExtendedCardFunc
	store            taskstore.Store
	log              *slog.Logger
	streamBuffer     int
	executionTimeout time.Duration
	maxPushConfigs   int
	pushArtifacts    bool
	runnerLease      time.Duration
	webhookOpts      []webhook.Option
	ratePerSecond    float64
	rateBurst        int
	metrics          prometheus.Registerer
	tracer           trace.TracerProvider
}

// ExtendedCardFunc returns the extended Agent Card for an authenticated
// caller; it may differ per caller.
type ExtendedCardFunc func(ctx context.Context, call *CallInfo) (*a2av1.AgentCard, error)

// Defaults.
const (
	DefaultStreamBuffer          = 1024
	DefaultMaxPushConfigsPerTask = 16
)

func defaultConfig() config {
	return config{
		streamBuffer:   DefaultStreamBuffer,
		maxPushConfigs: DefaultMaxPushConfigsPerTask,
		runnerLease:    DefaultRunnerLease,
		log:            slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// WithAgentCard sets the public Agent Card. Its capabilities gate the
// optional operations (streaming, push notifications, extended card) and its
// extensions drive A2A-Extensions negotiation. Without it the handler uses a
// minimal card that enables streaming and push notifications.
func WithAgentCard(card *a2av1.AgentCard) Option {
	return func(c *config) {
		if card != nil {
			c.card = card
		}
	}
}

// WithExtendedAgentCard serves GetExtendedAgentCard through f. The public
// card must declare capabilities.extendedAgentCard for it to be reachable.
func WithExtendedAgentCard(f ExtendedCardFunc) Option {
	return func(c *config) { c.extendedCard = f }
}

// WithTaskStore sets where tasks are kept (default: a
// [taskstore.NewMemory] store with its default bounds).
func WithTaskStore(s taskstore.Store) Option {
	return func(c *config) {
		if s != nil {
			c.store = s
		}
	}
}

// WithLogger sets where agent failures and panics are logged (default:
// nowhere).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.log = l
		}
	}
}

// WithStreamBuffer bounds how many events may wait for one slow stream
// consumer (default [DefaultStreamBuffer]). A consumer that falls further
// behind is cut off with RESOURCE_EXHAUSTED and may resubscribe; the agent
// and other consumers are never slowed down. n <= 0 keeps the default.
func WithStreamBuffer(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.streamBuffer = n
		}
	}
}

// WithExecutionTimeout bounds one Execute call; when it expires the agent's
// context is cancelled (default: no bound). d <= 0 means no bound.
func WithExecutionTimeout(d time.Duration) Option {
	return func(c *config) { c.executionTimeout = max(d, 0) }
}

// WithMaxPushConfigsPerTask bounds the webhook registrations per task
// (default [DefaultMaxPushConfigsPerTask]). n <= 0 keeps the default.
func WithMaxPushConfigsPerTask(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxPushConfigs = n
		}
	}
}

// WithPushArtifactUpdates also sends artifact updates to push notification
// webhooks; by default only status changes are sent.
func WithPushArtifactUpdates(on bool) Option {
	return func(c *config) { c.pushArtifacts = on }
}

// WithRunnerLease sets how long this process's runner lease lasts in a
// durable store (default [DefaultRunnerLease]): the longest a task whose
// process died stays WORKING before a live process fails it. Shorter
// leases recover sooner but cost more store writes (one per third of the
// lease). d <= 0 keeps the default.
func WithRunnerLease(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.runnerLease = d
		}
	}
}

// WithWebhooks configures push notification delivery: above all the
// address policy ([webhook.WithPolicy]; by default only public addresses
// are called), and attempts, backoff and timeouts. Delivery runs whenever
// the card promises push notifications and the store has an outbox (every
// store in this module does).
func WithWebhooks(opts ...webhook.Option) Option {
	return func(c *config) { c.webhookOpts = append(c.webhookOpts, opts...) }
}

// WithRateLimit allows each caller perSecond operations per second on
// average and burst at once (token bucket); further calls fail with
// RESOURCE_EXHAUSTED and a retry delay (gRPC RetryInfo, HTTP 429 with
// Retry-After). Callers are told apart by principal, anonymous ones by
// network address. perSecond <= 0 means no limit (the default).
func WithRateLimit(perSecond float64, burst int) Option {
	return func(c *config) { c.ratePerSecond, c.rateBurst = perSecond, burst }
}
