package sqlitestore

import "time"

// Defaults of [Open].
const (
	// DefaultTerminalRetention is long compared to the in-memory store's
	// hour: keeping finished tasks costs disk, not memory, and clients that
	// come back after a restart or a weekend still find their results.
	DefaultTerminalRetention = 7 * 24 * time.Hour
	// DefaultInterruptedRetention bounds how long a task may wait for its
	// caller (INPUT_REQUIRED, AUTH_REQUIRED) before it counts as abandoned.
	DefaultInterruptedRetention = 24 * time.Hour
	// DefaultMaxEventsPerTask bounds one task's event log, so a task that
	// streams without end cannot fill the disk.
	DefaultMaxEventsPerTask = 10_000
	// DefaultBusyTimeout is how long a statement waits for a lock held by
	// another connection of this process (a reader during a checkpoint)
	// before failing with [taskstore.ErrUnavailable].
	DefaultBusyTimeout = 5 * time.Second
	// DefaultSweepInterval is how often expired tasks are deleted. Expired
	// tasks are invisible at once; the sweep only reclaims their space.
	DefaultSweepInterval = time.Minute
)

// Option configures [Open].
type Option func(*config)

type config struct {
	retention        time.Duration
	idleRetention    time.Duration
	maxEventsPerTask int
	fullSync         bool
	busyTimeout      time.Duration
	sweepInterval    time.Duration
	now              func() time.Time
}

func defaultConfig() config {
	return config{
		retention:        DefaultTerminalRetention,
		idleRetention:    DefaultInterruptedRetention,
		maxEventsPerTask: DefaultMaxEventsPerTask,
		busyTimeout:      DefaultBusyTimeout,
		sweepInterval:    DefaultSweepInterval,
		now:              time.Now,
	}
}

// WithTerminalRetention sets how long a task is kept after it first reaches
// a terminal state (default [DefaultTerminalRetention]). Expiry is computed
// from the stored time at every read, so a changed retention applies to the
// tasks already stored too. d <= 0 keeps the default.
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

// WithMaxEventsPerTask bounds the event log kept per task (default
// [DefaultMaxEventsPerTask]); the oldest events are dropped first, and
// Events then reports [taskstore.ErrEventsTruncated] for positions before
// the oldest kept. n <= 0 keeps the default.
func WithMaxEventsPerTask(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxEventsPerTask = n
		}
	}
}

// WithFullSync makes every commit wait until the write-ahead log is on
// stable storage (PRAGMA synchronous=FULL), so acknowledged updates also
// survive a power loss or an operating-system crash, at the price of one
// fsync per write. Without it (synchronous=NORMAL) acknowledged updates
// survive a crash of the process but the last few may be lost with the
// machine.
func WithFullSync() Option {
	return func(c *config) { c.fullSync = true }
}

// WithBusyTimeout sets how long a statement waits for a lock (default
// [DefaultBusyTimeout]). d <= 0 keeps the default.
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.busyTimeout = d
		}
	}
}

// WithSweepInterval sets how often expired tasks are deleted (default
// [DefaultSweepInterval]). d <= 0 keeps the default.
func WithSweepInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.sweepInterval = d
		}
	}
}

// WithClock replaces time.Now, for tests of retention and leases.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}
