package pgreg

import (
	"time"

	"github.com/a2agrpc/a2agrpc/registry/regstore/internal/fanout"
)

// Defaults of the PostgreSQL store.
const (
	// DefaultChangeRetention is how long logged changes are kept. A
	// listener reads them within moments of their commit; a listener
	// further behind than this resyncs.
	DefaultChangeRetention = 10 * time.Minute
	// DefaultConnectTimeout applies when the DSN sets no connect_timeout,
	// so that an unreachable database fails calls with
	// regstore.ErrUnavailable rather than hanging until their deadlines.
	DefaultConnectTimeout = 10 * time.Second
)

// Option configures [Open].
type Option func(*config)

type config struct {
	schema          string
	watchBuffer     int
	changeRetention time.Duration
}

func defaultConfig() config {
	return config{watchBuffer: fanout.DefaultBuffer, changeRetention: DefaultChangeRetention}
}

// WithSchema keeps the store's tables in the named schema, created if
// needed, by setting search_path on every connection. Without it they live
// in the first schema of the DSN's search_path (normally public).
func WithSchema(name string) Option {
	return func(c *config) { c.schema = name }
}

// WithWatchBuffer sets how many changes a watcher may fall behind by before
// its pending changes are dropped for a single resync (default 256). n < 1
// keeps the default.
func WithWatchBuffer(n int) Option {
	return func(c *config) {
		if n >= 1 {
			c.watchBuffer = n
		}
	}
}

// WithChangeRetention sets how long logged changes are kept (default
// [DefaultChangeRetention]). d <= 0 keeps the default.
func WithChangeRetention(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.changeRetention = d
		}
	}
}
