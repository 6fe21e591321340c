package sqlitereg

import "github.com/a2agrpc/a2agrpc/registry/regstore/internal/fanout"

// Option configures [Open].
type Option func(*config)

type config struct {
	watchBuffer int
	fullSync    bool
}

func defaultConfig() config {
	return config{watchBuffer: fanout.DefaultBuffer}
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

// WithFullSync makes every commit wait for an fsync (synchronous=FULL).
// Without it (synchronous=NORMAL) a commit survives the process crashing
// but a power loss may lose the last few; for a registry that costs little,
// since an agent whose registration or renewal was lost re-registers on its
// next heartbeat.
func WithFullSync() Option {
	return func(c *config) { c.fullSync = true }
}
