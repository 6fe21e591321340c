package pgstore

import (
	"math"
	"time"
)

// Defaults of the PostgreSQL store. Retention is longer than the in-memory
// store's because a durable store is where clients come back to days later
// to read a result or resume a stream.
const (
	DefaultTerminalRetention    = 7 * 24 * time.Hour
	DefaultInterruptedRetention = 24 * time.Hour
	DefaultMaxEventsPerTask     = 10_000
	DefaultSweepInterval        = time.Minute
	// DefaultConnectTimeout applies when the DSN sets no connect_timeout,
	// so that a request against an unreachable database fails with
	// ErrUnavailable instead of hanging until its own deadline.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultStatementTimeout bounds every statement the store runs (but
	// migrations) when the DSN sets no statement_timeout: a statement
	// stuck behind a lock or an overloaded server fails with ErrUnavailable
	// and frees its connection, instead of holding a pool slot for as long
	// as its caller waits (a blocking send may wait for minutes).
	DefaultStatementTimeout = 30 * time.Second
)

// Option configures [Open].
type Option func(*config)

type config struct {
	retention     time.Duration
	idleRetention time.Duration
	maxEvents     int
	sweepInterval time.Duration
	schema        string
	stmtTimeout   time.Duration
}

func defaultConfig() config {
	return config{
		retention:     DefaultTerminalRetention,
		idleRetention: DefaultInterruptedRetention,
		maxEvents:     DefaultMaxEventsPerTask,
		sweepInterval: DefaultSweepInterval,
		stmtTimeout:   DefaultStatementTimeout,
	}
}

// WithTerminalRetention sets how long a task stays readable after it
// reaches a terminal state (default [DefaultTerminalRetention]). The expiry
// is stored with the task when it is written, so a new value applies to
// tasks as they are next written. d <= 0 keeps the default.
func WithTerminalRetention(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.retention = d
		}
	}
}

// WithInterruptedRetention sets how long a task may wait for its caller
// (INPUT_REQUIRED, AUTH_REQUIRED) before it is dropped as abandoned (default
// [DefaultInterruptedRetention]). d <= 0 keeps the default.
func WithInterruptedRetention(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.idleRetention = d
		}
	}
}

// WithMaxEventsPerTask bounds the event log kept per task for stream
// resumption (default [DefaultMaxEventsPerTask]); the oldest events are
// dropped first. n <= 0 keeps the default; the bound is at most
// math.MaxInt32, the range of the counter the database keeps.
func WithMaxEventsPerTask(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxEvents = min(n, math.MaxInt32)
		}
	}
}

// WithSweepInterval sets how often expired tasks are deleted (default
// [DefaultSweepInterval]). Expired tasks are invisible at once whatever the
// interval; sweeping only reclaims their space. d <= 0 keeps the default.
func WithSweepInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.sweepInterval = d
		}
	}
}

// WithStatementTimeout sets the server-side statement_timeout of the
// store's connections (default [DefaultStatementTimeout]); d < 0 sets none,
// leaving the server's setting. A statement_timeout in the DSN (as a
// parameter or in options=-c...) takes precedence. A statement that runs
// out of time fails with [taskstore.ErrUnavailable].
func WithStatementTimeout(d time.Duration) Option {
	return func(c *config) {
		switch {
		case d > 0:
			c.stmtTimeout = max(d, time.Millisecond) // the setting's unit; 0 would mean none
		case d < 0:
			c.stmtTimeout = d
		}
	}
}

// WithSchema keeps the store's tables in the named PostgreSQL schema,
// created if needed, by setting search_path on every connection. It lets
// several deployments, or parallel tests, share one database without seeing
// each other's tasks or notifications. Without it the tables live in the
// first schema of the DSN's search_path (normally public).
func WithSchema(name string) Option {
	return func(c *config) { c.schema = name }
}
